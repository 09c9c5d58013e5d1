package main

import (
	"context"
	"fmt"
)

func runParse(ctx context.Context, e env, args []string) int {
	fmt.Fprintln(e.stderr, "bounced parse: not built yet")
	return 1
}
