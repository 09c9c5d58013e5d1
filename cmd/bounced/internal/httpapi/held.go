package httpapi

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/bounced/bounced/store"
)

// heldPage is the body of GET /v1/suppressions/held.
type heldPage struct {
	Held []store.HeldSuppression `json:"held"`
	// NextCursor fetches the next page; "" on the last one.
	NextCursor string `json:"next_cursor"`
}

// listHeld serves GET /v1/suppressions/held?limit=N&cursor=C&since=RFC3339:
// the suppressions the brake held, with their evidence, ordered by address
// and paged like GET /v1/suppressions (since: held after it).
func (a *API) listHeld(w http.ResponseWriter, r *http.Request) {
	opts, ok := pageOptions(w, r)
	if !ok {
		return
	}
	limit := opts.Limit
	opts.Limit++ // one more tells whether there is a next page
	p := heldPage{Held: make([]store.HeldSuppression, 0, min(limit, 256))}
	more := false
	ctx, cancel := a.dbContext(r)
	defer cancel()
	err := a.store.EachHeld(ctx, opts, func(h store.HeldSuppression) error {
		if len(p.Held) == limit {
			more = true
			return nil
		}
		p.Held = append(p.Held, h)
		return nil
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if more {
		p.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(p.Held[limit-1].Address))
	}
	writeJSON(w, http.StatusOK, p)
}

// heldRequest is the body of POST /v1/suppressions/held/release and
// /discard: the addresses, or all; and why, for the audit.
type heldRequest struct {
	Addresses []string `json:"addresses"`
	All       bool     `json:"all"`
	Reason    string   `json:"reason"`
}

// selection reads a heldRequest, answering 400 when it names nothing or
// both addresses and all.
func (a *API) selection(w http.ResponseWriter, r *http.Request) (store.HeldSelection, string, bool) {
	var req heldRequest
	if !a.decode(w, r, &req, false) {
		return store.HeldSelection{}, "", false
	}
	switch {
	case req.All && len(req.Addresses) > 0:
		writeError(w, http.StatusBadRequest, `name addresses or "all": true, not both`)
		return store.HeldSelection{}, "", false
	case !req.All && len(req.Addresses) == 0:
		writeError(w, http.StatusBadRequest, `addresses or all is required: {"addresses": ["a@example.com", ...]} or {"all": true}`)
		return store.HeldSelection{}, "", false
	case len(req.Addresses) > MaxCheckAddresses:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%d addresses: at most %d per request", len(req.Addresses), MaxCheckAddresses))
		return store.HeldSelection{}, "", false
	}
	return store.HeldSelection{Addresses: req.Addresses, All: req.All}, strings.TrimSpace(req.Reason), true
}

// releaseHeld serves POST /v1/suppressions/held/release: the held
// suppressions named go in force (and to the webhooks), recorded in the
// audit with actor "api". It answers with what was released, or 404 when
// none of them is held.
func (a *API) releaseHeld(w http.ResponseWriter, r *http.Request) {
	sel, why, ok := a.selection(w, r)
	if !ok {
		return
	}
	if why == "" {
		why = "released through the API"
	}
	ctx, cancel := a.dbContext(r)
	defer cancel()
	res, err := a.store.ReleaseHeld(ctx, sel, Actor, why)
	switch {
	case errors.Is(err, store.ErrNotHeld):
		writeError(w, http.StatusNotFound, "none of the addresses is held")
	case err != nil:
		a.fail(w, r, err)
	default:
		a.log.Info("held suppressions released through the API", "released", len(res.Released), "expired", len(res.Expired))
		writeJSON(w, http.StatusOK, res)
	}
}

// discardHeld serves POST /v1/suppressions/held/discard: the held
// suppressions named are dropped without going in force (their bounces
// stay recorded), audited with actor "api". A reason is required.
func (a *API) discardHeld(w http.ResponseWriter, r *http.Request) {
	sel, why, ok := a.selection(w, r)
	if !ok {
		return
	}
	if why == "" {
		writeError(w, http.StatusBadRequest, `a reason is required: say why these suppressions are dropped ({"reason": "..."})`)
		return
	}
	ctx, cancel := a.dbContext(r)
	defer cancel()
	gone, err := a.store.DiscardHeld(ctx, sel, Actor, why)
	switch {
	case errors.Is(err, store.ErrNotHeld):
		writeError(w, http.StatusNotFound, "none of the addresses is held")
	case err != nil:
		a.fail(w, r, err)
	default:
		a.log.Info("held suppressions discarded through the API", "discarded", len(gone), "why", why)
		writeJSON(w, http.StatusOK, struct {
			Discarded []string `json:"discarded"`
		}{gone})
	}
}
