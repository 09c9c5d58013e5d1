package statuspage_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// BenchmarkPages serves every page over HTTP against a database seeded with
// BOUNCED_BENCH_EVENTS events (default 1,000,000) over 30 days, and reports
// per page the median and the longest time of a request (ms-median,
// ms-max), and the page's weight
// (bytes/page). A page over 150 KB fails the benchmark. Run it once: the
// seeding takes a few minutes.
//
//	go test ./cmd/bounced/internal/statuspage -run '^$' -bench BenchmarkPages -benchtime 30x -count 1
func BenchmarkPages(b *testing.B) {
	events := 1_000_000
	if s := os.Getenv("BOUNCED_BENCH_EVENTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("BOUNCED_BENCH_EVENTS: %v", err)
		}
		events = n
	}
	st := newStore(b)
	start := time.Now()
	seed(b, st, events)
	b.Logf("seeded %d events in %s", events, time.Since(start).Round(time.Second))

	mux := http.NewServeMux()
	newPage(b, st, nil).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &http.Client{Timeout: time.Minute}

	for _, page := range []string{"/", "/incidents", "/domains", "/suppressions", "/suppressions?q=gmail.com",
		"/suppressions?q=user12", "/suppressions?after=user5", "/mailboxes", "/signin"} {
		b.Run(page, func(b *testing.B) {
			var (
				times  []time.Duration
				weight int
			)
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodGet, srv.URL+page, nil)
				req.Header.Set("Authorization", "Bearer "+testToken)
				t0 := time.Now()
				res, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				body, err := io.ReadAll(res.Body)
				res.Body.Close()
				times = append(times, time.Since(t0))
				if err != nil || res.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: %s, %v", page, res.Status, err)
				}
				weight = len(body)
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms-median")
			b.ReportMetric(float64(times[len(times)-1].Microseconds())/1000, "ms-max")
			b.ReportMetric(float64(weight), "bytes/page")
			if weight > 150<<10 {
				b.Errorf("%s weighs %s bytes, more than 150 KB", page, fmt.Sprint(weight))
			}
		})
	}
}
