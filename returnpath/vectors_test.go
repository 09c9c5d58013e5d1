package returnpath

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// TestREADMEVectors checks the test vectors of the README, where a campaign
// tool's author reads the algorithm, against the package: the block after
// the marker line, one vector a line.
func TestREADMEVectors(t *testing.T) {
	f, err := os.Open("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		lines  [][]string
		inside bool
		marker bool
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "<!-- returnpath test vectors -->":
			marker = true
		case marker && !inside && line == "```text":
			inside = true
		case inside && line == "```":
			inside, marker = false, false
		case inside:
			lines = append(lines, strings.Fields(line))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(lines) < 10 {
		t.Fatalf("found %d vector lines in README.md, want the block after the marker", len(lines))
	}

	var key []byte
	var s *Scheme
	date := func(v string) time.Time {
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			t.Fatalf("bad date %q: %v", v, err)
		}
		return d
	}
	counts := map[string]int{}
	for _, f := range lines {
		counts[f[0]]++
		want := func(n int) {
			if len(f) != n {
				t.Fatalf("vector %q: want %d fields", f, n)
			}
		}
		switch f[0] {
		case "key":
			want(2)
			key = []byte(f[1])
		case "return-path":
			want(2)
			if s, err = New(Config{ReturnPath: f[1], Keys: [][]byte{key}}); err != nil {
				t.Fatal(err)
			}
		case "hmac":
			want(3)
			m := hmac.New(sha256.New, key)
			m.Write([]byte(f[1]))
			if got := hex.EncodeToString(m.Sum(nil)); got != f[2] {
				t.Errorf("HMAC(%q) = %s, README says %s", f[1], got, f[2])
			}
			// The MAC input is the one Tag makes.
			parts := strings.SplitN(f[1], ":", 3)
			var day int64
			for _, c := range []byte(parts[1]) {
				day = day<<4 | int64(unhex(c))
			}
			if tag := Tag(key, parts[2], day); tag != parts[1]+f[2][:2*MACBytes] {
				t.Errorf("Tag(%s, %d) = %s, README's HMAC gives %s", parts[2], day, tag, parts[1]+f[2][:2*MACBytes])
			}
		case "sign", "verp":
			want(4)
			sign := s.Sign
			if f[0] == "verp" {
				sign = s.SignVERP
			}
			got, err := sign(f[2], date(f[1]).Add(13*time.Hour))
			if err != nil || got != f[3] {
				t.Errorf("%s(%s) on %s = %q, %v; README says %s", f[0], f[2], f[1], got, err, f[3])
			}
		case "verify":
			want(5)
			err := s.Verify(f[2], f[3], date(f[1]).Add(23*time.Hour))
			got := "verified"
			switch {
			case errors.Is(err, ErrInvalid):
				got = "invalid"
			case errors.Is(err, ErrUnsigned):
				got = "unsigned"
			case err != nil:
				got = err.Error()
			}
			if got != f[4] {
				t.Errorf("Verify(%s, %s) on %s = %s (%v); README says %s", f[2], f[3], f[1], got, err, f[4])
			}
		default:
			t.Errorf("unknown vector %q", f)
		}
	}
	for _, kind := range []string{"hmac", "sign", "verp", "verify"} {
		if counts[kind] == 0 {
			t.Errorf("README has no %s vector", kind)
		}
	}
}
