// Command testsum reads `go test -json` on standard input, prints what a
// plain `go test` would (each package's result line, the output of failed
// tests and build errors), and ends with one line counting the tests that
// passed, failed and skipped, with why they skipped:
//
//	go test -json ./... | go run ./internal/testenv/testsum
//
// Its exit status is 1 when a test or a build failed. With -no-skips it is
// also 1 when a test skipped, unless its name matches -allow (the tests
// that run only when asked, such as the long benchmarks). CI uses that.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // build output and build failures
}

// skipReason matches the message a test logged: "    file_test.go:12: why".
var skipReason = regexp.MustCompile(`^\s+\S+\.go:\d+: (.*)$`)

func main() {
	noSkips := flag.Bool("no-skips", false, "fail when a test skipped (except those -allow matches)")
	allow := flag.String("allow", "", "regular expression of the test names that may skip with -no-skips")
	flag.Parse()
	var allowRE *regexp.Regexp
	if *allow != "" {
		var err error
		if allowRE, err = regexp.Compile(*allow); err != nil {
			fmt.Fprintf(os.Stderr, "testsum: -allow: %v\n", err)
			os.Exit(2)
		}
	}
	s, err := summarise(os.Stdin, os.Stdout, allowRE)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testsum: %v\n", err)
		os.Exit(2)
	}
	fmt.Println(s.line())
	if s.failed > 0 || s.buildFailed > 0 || (*noSkips && len(s.disallowed) > 0) {
		if *noSkips && len(s.disallowed) > 0 {
			fmt.Printf("testsum: %d test(s) skipped that must run: %s\n", len(s.disallowed), strings.Join(s.disallowed, ", "))
		}
		os.Exit(1)
	}
}

// summary is what the run came to.
type summary struct {
	passed, failed, skipped, buildFailed int
	reasons                              map[string]int // skip reason → tests
	disallowed                           []string       // skipped tests -allow does not match
}

// summarise copies what matters of the events in r to w and counts them.
func summarise(r io.Reader, w io.Writer, allow *regexp.Regexp) (summary, error) {
	s := summary{reasons: map[string]int{}}
	output := map[string][]string{} // package + test → its output so far
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			fmt.Fprintf(w, "%s\n", line) // not an event: pass it on
			continue
		}
		key := e.Package + "\x00" + e.Test
		switch e.Action {
		case "build-output":
			fmt.Fprint(w, e.Output)
		case "build-fail":
			s.buildFailed++
		case "output":
			if e.Test == "" {
				fmt.Fprint(w, e.Output) // ok/FAIL lines, package-level output
			} else {
				output[key] = append(output[key], e.Output)
			}
		case "pass":
			if e.Test != "" {
				s.passed++
			}
			delete(output, key)
		case "fail":
			if e.Test != "" {
				s.failed++
				fmt.Fprint(w, strings.Join(output[key], ""))
			}
			delete(output, key)
		case "skip":
			if e.Test == "" {
				break // a package without tests
			}
			s.skipped++
			reason := "no reason given"
			for _, o := range output[key] {
				if m := skipReason.FindStringSubmatch(strings.TrimRight(o, "\n")); m != nil {
					reason = m[1]
				}
			}
			s.reasons[reason]++
			if allow == nil || !allow.MatchString(e.Test) {
				s.disallowed = append(s.disallowed, e.Package+"."+e.Test)
			}
			delete(output, key)
		}
	}
	return s, sc.Err()
}

// line is the one-line summary.
func (s summary) line() string {
	out := fmt.Sprintf("tests: %d passed, %d failed, %d skipped", s.passed, s.failed, s.skipped)
	if s.buildFailed > 0 {
		out += fmt.Sprintf(", %d package(s) did not build", s.buildFailed)
	}
	if len(s.reasons) == 0 {
		return out
	}
	reasons := make([]string, 0, len(s.reasons))
	for r := range s.reasons {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if s.reasons[reasons[i]] != s.reasons[reasons[j]] {
			return s.reasons[reasons[i]] > s.reasons[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = fmt.Sprintf("%d: %s", s.reasons[r], r)
	}
	return out + " (" + strings.Join(parts, "; ") + ")"
}
