package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The headers of a delivery.
const (
	// HeaderTimestamp carries the Unix time (seconds) the request was
	// signed at; every attempt is signed anew.
	HeaderTimestamp = "X-Bounced-Timestamp"
	// HeaderSignature carries "v1=" and the hex HMAC-SHA256, keyed with
	// the webhook's secret, of the timestamp, ".", and the body.
	HeaderSignature = "X-Bounced-Signature"
	// HeaderDelivery names the batch: the same on every attempt to deliver
	// it, new for a batch sent again after a restart.
	HeaderDelivery = "X-Bounced-Delivery"
	// HeaderWebhook carries the webhook's name from the configuration.
	HeaderWebhook = "X-Bounced-Webhook"
)

// Errors of Verify.
var (
	// ErrBadSignature: the signature is missing, malformed, or not made
	// with the secret over this timestamp and body.
	ErrBadSignature = errors.New("webhook signature does not match")
	// ErrStale: the timestamp is missing, malformed or outside the
	// tolerance (a replayed or much delayed request).
	ErrStale = errors.New("webhook timestamp outside the tolerance")
)

// Sign returns the value of HeaderSignature for body signed at the Unix time
// ts: "v1=" + hex(HMAC-SHA256(secret, "<ts>.<body>")).
func Sign(secret []byte, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a delivery as a receiver should: the timestamp header must
// be within tolerance of now, and one of the comma-separated "v1="
// signatures must match (compared in constant time). It is what README.md
// describes, for receivers written in Go and for the tests.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not a Unix time", ErrStale, HeaderTimestamp, timestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed %s from now", ErrStale, d.Round(time.Second))
	}
	want := []byte(Sign(secret, ts, body))
	for _, s := range strings.Split(signature, ",") {
		if hmac.Equal([]byte(strings.TrimSpace(s)), want) {
			return nil
		}
	}
	return ErrBadSignature
}
