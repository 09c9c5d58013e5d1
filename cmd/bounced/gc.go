package main

import "runtime/debug"

// The garbage collector's defaults suit a program whose live heap is most of
// its memory. bounced's is not: a batch of parsed reports is a few MiB that
// live for a moment, and with the default GOGC of 100 the collector runs
// every few hundred messages and takes about a fifth of the daemon's CPU.
// Letting the heap grow to five times the live data before collecting
// roughly halves that. A soft memory limit of 80 MiB keeps the process
// small whatever the batch size: the live data of two batches in hand stays
// far below it (parse-ahead holds at most 16 MiB of messages per batch), so
// the limit only makes the collector work harder when the heap nears it.
//
// An operator's GOGC or GOMEMLIMIT always wins: the defaults apply only to
// the setting the environment leaves out.
const (
	defaultGCPercent   = 400
	defaultMemoryLimit = 80 << 20
)

// tuneGC applies the defaults above for the settings getenv leaves unset.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}
