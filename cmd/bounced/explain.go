package main

import (
	"context"
	"fmt"
)

func runExplain(ctx context.Context, e env, args []string) int {
	fmt.Fprintln(e.stderr, "bounced explain: not built yet")
	return 1
}
