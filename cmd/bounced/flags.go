package main

import (
	"errors"
	"flag"
	"fmt"
)

// newFlagSet returns a flag set that reports errors and prints its usage on
// e.stderr instead of exiting.
func newFlagSet(e env, name, argsUsage, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: bounced %s [flags] %s\n\n%s\n\nFlags:\n", name, argsUsage, about)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments
// (`remove a@b.example --reason "..."`), and returns the positional ones.
// When the command must stop, it returns stop true and the exit status: 0
// after -h (usage printed), 2 for a bad flag or a count of positional
// arguments other than want (-1: any), with the usage printed.
func parseFlags(fs *flag.FlagSet, args []string, want int) (pos []string, code int, stop bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0, true
			}
			return nil, 2, true
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if want >= 0 && len(pos) != want {
		if len(pos) > want {
			fmt.Fprintf(fs.Output(), "bounced %s: unexpected argument %q\n", fs.Name(), pos[want])
		} else {
			fmt.Fprintf(fs.Output(), "bounced %s: missing argument\n", fs.Name())
		}
		fs.Usage()
		return nil, 2, true
	}
	return pos, 0, false
}

// databaseFlag adds the --database-url flag shared by the database commands.
func databaseFlag(fs *flag.FlagSet) *string {
	return fs.String("database-url", "", "PostgreSQL URL (default: $DATABASE_URL, else the PG* variables)")
}
