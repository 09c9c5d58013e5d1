package webhook

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	secret := []byte("s3cret")
	body := []byte(`{"webhook":"crm","events":[]}`)
	now := time.Unix(1_770_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := Sign(secret, now.Unix(), body)
	for _, c := range []struct {
		name      string
		secret    string
		ts, sig   string
		body      string
		now       time.Time
		wantError error
	}{
		{"good", "s3cret", ts, sig, string(body), now, nil},
		{"one of several", "s3cret", ts, "v1=00ff, " + sig, string(body), now, nil},
		{"a little late", "s3cret", ts, sig, string(body), now.Add(4 * time.Minute), nil},
		{"replayed later", "s3cret", ts, sig, string(body), now.Add(6 * time.Minute), ErrStale},
		{"from the future", "s3cret", ts, sig, string(body), now.Add(-6 * time.Minute), ErrStale},
		{"no timestamp", "s3cret", "", sig, string(body), now, ErrStale},
		{"other timestamp", "s3cret", strconv.FormatInt(now.Unix()+1, 10), sig, string(body), now, ErrBadSignature},
		{"other body", "s3cret", ts, sig, string(body) + " ", now, ErrBadSignature},
		{"other secret", "secret", ts, sig, string(body), now, ErrBadSignature},
		{"no signature", "s3cret", ts, "", string(body), now, ErrBadSignature},
		{"bare hex", "s3cret", ts, sig[3:], string(body), now, ErrBadSignature},
	} {
		err := Verify([]byte(c.secret), c.ts, c.sig, []byte(c.body), c.now, 5*time.Minute)
		if !errors.Is(err, c.wantError) || (c.wantError == nil) != (err == nil) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.wantError)
		}
	}
}

func ExampleSign() {
	// What bounced sends for this body at 2026-02-02 02:40:00 UTC, and
	// what the receiver recomputes to compare (as does
	// `printf %s "$ts.$body" | openssl dgst -sha256 -hmac "$secret"`).
	fmt.Println(Sign([]byte("s3cret"), 1770000000, []byte(`{"webhook":"crm","delivery":"d1","events":[]}`)))
	// Output: v1=4e09a978831276a269fdf3692084894d5f89b8ebb8d31d27836dd80eaf7140ee
}
