// Package webhook delivers the changes of the suppression list to the
// webhooks of the configuration: JSON POSTs signed with HMAC-SHA256, at least
// once and in order, from a cursor kept in PostgreSQL, so that nothing is
// lost across restarts, receiver outages and replicas.
//
// One Deliverer per webhook. It claims the webhook (a PostgreSQL advisory
// lock, so one replica delivers at a time), reads the changes after the
// webhook's cursor (store.Changes), POSTs them in batches and moves the
// cursor only after a 2xx answer. A failed batch is sent again, with
// exponential backoff and jitter, until it is acknowledged: never skipped.
// It wakes on NOTIFY from the store and polls as a safety net.
package webhook

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/store"
)

// Event is one change of the suppression list as the receiver gets it.
// Suppressions that expire are not announced (ExpiresAt says when); a
// suppression renewed or extended while in force is not announced again.
type Event struct {
	// Type is "suppressed" (the suppression started and is in force) or
	// "unsuppressed" (it was lifted by hand).
	Type string `json:"type"`
	// ID and ActiveSince together name one suppression of an address
	// (the id stays when the address is suppressed again; active_since
	// does not): the key receivers dedupe "suppressed" events by. An
	// "unsuppressed" event is keyed by ID and LiftedAt.
	ID          int64      `json:"id"`
	Address     string     `json:"address"`
	Reason      string     `json:"reason"`
	Scope       string     `json:"scope"`
	Manual      bool       `json:"manual"`
	ExpiresAt   *time.Time `json:"expires_at"` // null: permanent
	ActiveSince time.Time  `json:"active_since"`
	LiftedAt    *time.Time `json:"lifted_at,omitempty"`
}

// Payload is the JSON body of one request.
type Payload struct {
	Webhook  string  `json:"webhook"`
	Delivery string  `json:"delivery"`
	Events   []Event `json:"events"`
}

// Options tune a Deliverer. The zero value is usable.
type Options struct {
	// Logger receives the delivery log; nil discards it.
	Logger *slog.Logger
	// Client sends the requests; nil means a client that follows no
	// redirects (a 3xx is a failure: a POST must not turn into a GET).
	// Each request is bounded by the webhook's Timeout in any case.
	Client *http.Client
	// MinBackoff and MaxBackoff bound the wait before the next attempt
	// after a failure: it doubles from MinBackoff up to MaxBackoff, with
	// jitter. Defaults: 1s and 5m.
	MinBackoff, MaxBackoff time.Duration
	// Observer, when set, is told how long each request took and whether
	// it was acknowledged (for metrics).
	Observer Observer
}

// Observer learns how each request to a webhook went, for metrics. It must
// return quickly. *metrics.Metrics (cmd/bounced/internal/metrics)
// implements it.
type Observer interface {
	// ObserveDelivery is called after each attempt at a delivery that was
	// not cut short by shutdown: the webhook's name, how long the request
	// took, and nil when the receiver acknowledged it with a 2xx.
	ObserveDelivery(webhook string, d time.Duration, err error)
}

// Defaults of Options.
const (
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 5 * time.Minute
)

// Deliverer delivers the changes of the suppression list to one webhook.
type Deliverer struct {
	hook       config.Webhook
	st         *store.Store
	log        *slog.Logger
	client     *http.Client
	minBackoff time.Duration
	maxBackoff time.Duration
	observer   Observer
}

// New returns the Deliverer of the webhook w, reading from st. Run starts it.
func New(w config.Webhook, st *store.Store, opts Options) *Deliverer {
	d := &Deliverer{hook: w, st: st, client: opts.Client, minBackoff: opts.MinBackoff, maxBackoff: opts.MaxBackoff, observer: opts.Observer}
	if d.client == nil {
		d.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if d.minBackoff <= 0 {
		d.minBackoff = DefaultMinBackoff
	}
	if d.maxBackoff <= 0 {
		d.maxBackoff = DefaultMaxBackoff
	}
	d.maxBackoff = max(d.maxBackoff, d.minBackoff)
	if d.hook.BatchSize <= 0 {
		d.hook.BatchSize = config.DefaultWebhookBatchSize
	}
	if d.hook.Timeout <= 0 {
		d.hook.Timeout = config.DefaultWebhookTimeout
	}
	if d.hook.PollInterval <= 0 {
		d.hook.PollInterval = config.DefaultWebhookPollInterval
	}
	if d.hook.Start == "" {
		d.hook.Start = config.WebhookStartNow
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d.log = logger.With("webhook", w.Name)
	return d
}

// errLost means the claim on the webhook was lost: another replica may be
// delivering now.
var errLost = errors.New("claim on the webhook lost")

// Run delivers until ctx is done, then returns. It never gives up: it
// claims the webhook whenever it can (while another replica holds it, it
// tries again every poll interval) and retries every failure. On return the
// claim is released; a request in flight is abandoned and its batch, not
// acknowledged, is sent again by whoever delivers next.
func (d *Deliverer) Run(ctx context.Context) {
	d.log.Info("webhook starting", "url", d.hook.Redacted(), "batch_size", d.hook.BatchSize,
		"timeout", d.hook.Timeout, "poll_interval", d.hook.PollInterval, "start", d.hook.Start)
	standby := false
	for failures := 0; ctx.Err() == nil; {
		claim, ok, err := d.st.ClaimWebhook(ctx, d.hook.Name)
		wait := d.hook.PollInterval
		switch {
		case err != nil:
			if ctx.Err() != nil {
				break
			}
			failures++
			wait = d.backoff(failures)
			d.log.Warn("webhook cannot be claimed", "err", err, "retry_in", wait)
		case !ok:
			if !standby {
				d.log.Info("webhook delivered by another replica; standing by")
				standby = true
			}
		default:
			standby, failures = false, 0
			d.log.Info("webhook claimed: delivering")
			err := d.deliver(ctx, claim)
			claim.Release()
			if ctx.Err() != nil {
				break
			}
			failures++
			wait = d.backoff(failures)
			d.log.Warn("webhook claim lost; claiming again", "err", err, "retry_in", wait)
		}
		sleep(ctx, wait)
	}
	d.log.Info("webhook stopped")
}

// deliver delivers while claim holds: it returns nil when ctx is done and an
// error when the claim is lost.
func (d *Deliverer) deliver(ctx context.Context, claim *store.WebhookClaim) error {
	var pos store.ChangePosition
	err := d.persist(ctx, claim, "reading the cursor", func(ctx context.Context) (err error) {
		pos, err = d.st.WebhookCursor(ctx, d.hook.Name, store.CursorStart(d.hook.Start))
		return err
	})
	if err != nil {
		return err
	}
	settle := time.Duration(0)
	for {
		var changes []store.SuppressionChange
		var held bool
		err := d.persist(ctx, claim, "reading changes", func(ctx context.Context) (err error) {
			changes, held, err = d.st.Changes(ctx, pos, d.hook.BatchSize)
			return err
		})
		if err != nil {
			return err
		}
		if len(changes) > 0 {
			next := changes[len(changes)-1].Position
			events := eventsOf(changes)
			if len(events) > 0 {
				if err := d.post(ctx, claim, events); err != nil {
					return err
				}
			}
			if err := d.advance(ctx, claim, next, len(events)); err != nil {
				return err
			}
			pos = next
			continue
		}
		// Nothing to send: wait for a NOTIFY or the poll. Changes held
		// back behind a running transaction are asked for again soon.
		wait := d.hook.PollInterval
		if held {
			settle = min(max(2*settle, 10*time.Millisecond), time.Second, wait)
			wait = settle
		} else {
			settle = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-claim.Lost():
			t.Stop()
			return fmt.Errorf("%w: %w", errLost, claim.Err())
		case <-claim.Notified():
			t.Stop()
		case <-t.C:
		}
	}
}

// eventsOf turns changes into events, leaving out the suppressions that
// have expired since they started.
func eventsOf(changes []store.SuppressionChange) []Event {
	events := make([]Event, 0, len(changes))
	for _, c := range changes {
		if c.Kind == store.ChangeExpired {
			continue
		}
		events = append(events, Event{
			Type:        string(c.Kind),
			ID:          c.ID,
			Address:     c.Address,
			Reason:      c.Reason,
			Scope:       c.Scope,
			Manual:      c.Manual,
			ExpiresAt:   utc(c.ExpiresAt),
			ActiveSince: c.ActiveSince.UTC(),
			LiftedAt:    utc(c.LiftedAt),
		})
	}
	return events
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// post sends events as one batch until the receiver acknowledges it with a
// 2xx. It returns nil then, the context's error when ctx is done first, and
// an error wrapping errLost when the claim is lost.
func (d *Deliverer) post(ctx context.Context, claim *store.WebhookClaim, events []Event) error {
	delivery := newDeliveryID()
	body, err := json.Marshal(Payload{Webhook: d.hook.Name, Delivery: delivery, Events: events})
	if err != nil {
		return fmt.Errorf("encoding delivery %s: %w", delivery, err)
	}
	log := d.log.With("delivery", delivery, "events", len(events))
	for attempt := 1; ; attempt++ {
		// A replica that lost its claim must not send: another one may be
		// sending the same batch, and later ones.
		if held, err := claim.Held(ctx); err == nil && !held {
			return fmt.Errorf("%w: before delivery %s", errLost, delivery)
		}
		start := time.Now()
		status, err := d.send(ctx, delivery, body)
		if d.observer != nil && ctx.Err() == nil {
			d.observer.ObserveDelivery(d.hook.Name, time.Since(start), err)
		}
		if err == nil {
			log.Info("webhook delivered", "status", status, "attempt", attempt, "took", time.Since(start).Round(time.Millisecond))
			return nil
		}
		if ctx.Err() != nil {
			log.Info("webhook delivery abandoned at shutdown; it will be sent again", "attempt", attempt)
			return ctx.Err()
		}
		wait := d.backoff(attempt)
		log.Warn("webhook delivery failed", "status", status, "attempt", attempt, "err", err, "retry_in", wait)
		if err := retryAfter(ctx, claim, wait); err != nil {
			return err
		}
	}
}

// send makes one attempt at a delivery, signed now. It returns the status
// code (0 when there was no answer) and an error unless it was 2xx.
func (d *Deliverer) send(ctx context.Context, delivery string, body []byte) (int, error) {
	secret, err := d.hook.Secret.Read()
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, d.hook.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.hook.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("building the request: %w", err)
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bounced")
	req.Header.Set(HeaderWebhook, d.hook.Name)
	req.Header.Set(HeaderDelivery, delivery)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign([]byte(secret.Reveal()), ts, body))
	resp, err := d.client.Do(req)
	if err != nil {
		// A url.Error repeats the URL, query and all: name it redacted.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("POST %s: %w", d.hook.Redacted(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		return resp.StatusCode, nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	return resp.StatusCode, fmt.Errorf("receiver answered %s: %q", resp.Status, bytes.TrimSpace(snippet))
}

// advance saves the cursor after an acknowledged batch. The first attempt
// runs even when ctx is done, so that an acknowledged batch is not sent
// again after a shutdown that came just after it.
func (d *Deliverer) advance(ctx context.Context, claim *store.WebhookClaim, to store.ChangePosition, delivered int) error {
	first, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	err := d.st.AdvanceWebhookCursor(first, d.hook.Name, to, delivered)
	cancel()
	if err == nil {
		return nil
	}
	d.log.Warn("webhook cursor not saved", "err", err)
	return d.persist(ctx, claim, "saving the cursor", func(ctx context.Context) error {
		return d.st.AdvanceWebhookCursor(ctx, d.hook.Name, to, delivered)
	})
}

// persist runs fn, a database step, until it succeeds, backing off between
// failures. It returns the context's error when ctx is done first, and an
// error wrapping errLost when the claim is lost.
func (d *Deliverer) persist(ctx context.Context, claim *store.WebhookClaim, what string, fn func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := d.backoff(attempt)
		d.log.Warn("webhook database step failed", "step", what, "attempt", attempt, "err", err, "retry_in", wait)
		if err := retryAfter(ctx, claim, wait); err != nil {
			return err
		}
	}
}

// backoff returns the wait after the attempt-th failure in a row: doubling
// from minBackoff up to maxBackoff, then drawn from its upper half, so that
// replicas and webhooks do not retry in step.
func (d *Deliverer) backoff(attempt int) time.Duration {
	w := d.minBackoff
	for i := 1; i < attempt && w < d.maxBackoff; i++ {
		w *= 2
	}
	w = min(w, d.maxBackoff)
	return w/2 + rand.N(w/2+1)
}

// newDeliveryID returns a random identifier for a batch.
func newDeliveryID() string {
	var b [12]byte
	_, _ = cryptorand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// retryAfter waits before the next attempt: nil once wait has passed, ctx's
// error when ctx is done first, errLost when the claim is lost meanwhile.
func retryAfter(ctx context.Context, claim *store.WebhookClaim, wait time.Duration) error {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-claim.Lost():
		return fmt.Errorf("%w: %w", errLost, claim.Err())
	case <-t.C:
		return nil
	}
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
