package main

import (
	"regexp"
	"strings"
	"testing"
)

// A go test -json stream: one pass, one failure, skips with and without a
// reason, a subtest skipping under a passing parent, a package without
// tests and a build failure.
const stream = `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"p","Test":"TestA","Output":"--- PASS: TestA (0.00s)\n"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"run","Package":"p","Test":"TestB"}
{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:9: want 1, got 2\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"--- FAIL: TestB (0.00s)\n"}
{"Action":"fail","Package":"p","Test":"TestB"}
{"Action":"output","Package":"p","Test":"TestC","Output":"    storetest.go:27: TEST_DATABASE_URL is not set: skipping PostgreSQL test\n"}
{"Action":"output","Package":"p","Test":"TestC","Output":"--- SKIP: TestC (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestC"}
{"Action":"output","Package":"p","Test":"TestD/sub","Output":"    x_test.go:3: TEST_DATABASE_URL is not set: skipping PostgreSQL test\n"}
{"Action":"skip","Package":"p","Test":"TestD/sub"}
{"Action":"pass","Package":"p","Test":"TestD"}
{"Action":"output","Package":"p","Test":"TestEndToEndThroughput","Output":"    e2e_bench_test.go:41: BOUNCED_BENCH_N unset\n"}
{"Action":"skip","Package":"p","Test":"TestEndToEndThroughput"}
{"Action":"output","Package":"p","Output":"FAIL\tp\t0.1s\n"}
{"Action":"fail","Package":"p"}
{"Action":"skip","Package":"q"}
{"ImportPath":"r","Action":"build-output","Output":"r/x.go:1:1: syntax error\n"}
{"ImportPath":"r","Action":"build-fail"}
`

func TestSummarise(t *testing.T) {
	var out strings.Builder
	s, err := summarise(strings.NewReader(stream), &out, regexp.MustCompile(`^TestEndToEndThroughput$`))
	if err != nil {
		t.Fatal(err)
	}
	if s.passed != 2 || s.failed != 1 || s.skipped != 3 || s.buildFailed != 1 {
		t.Errorf("counts %+v", s)
	}
	want := "tests: 2 passed, 1 failed, 3 skipped, 1 package(s) did not build (2: TEST_DATABASE_URL is not set: skipping PostgreSQL test; 1: BOUNCED_BENCH_N unset)"
	if got := s.line(); got != want {
		t.Errorf("line\n%s\nwant\n%s", got, want)
	}
	if strings.Join(s.disallowed, " ") != "p.TestC p.TestD/sub" {
		t.Errorf("disallowed skips %q", s.disallowed)
	}
	printed := out.String()
	for _, w := range []string{"want 1, got 2", "--- FAIL: TestB", "FAIL\tp\t0.1s", "syntax error"} {
		if !strings.Contains(printed, w) {
			t.Errorf("output lacks %q:\n%s", w, printed)
		}
	}
	if strings.Contains(printed, "PASS: TestA") {
		t.Errorf("output shows a passing test's output:\n%s", printed)
	}
}
