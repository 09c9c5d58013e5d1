package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bounced/bounced/cmd/bounced/internal/export"
	"github.com/bounced/bounced/store"
)

// page is the body of GET /v1/suppressions.
type page struct {
	Suppressions []store.Suppression `json:"suppressions"`
	// NextCursor fetches the next page; "" on the last one.
	NextCursor string `json:"next_cursor"`
}

// list serves GET /v1/suppressions?limit=N&cursor=C&since=RFC3339: the
// suppressions in force ordered by address (case-insensitively), a page at a
// time. The cursor is the last address of the page, base64url-encoded so
// that clients treat it as opaque.
func (a *API) list(w http.ResponseWriter, r *http.Request) {
	opts, ok := pageOptions(w, r)
	if !ok {
		return
	}

	// One more than the page tells whether there is a next page, so the
	// last page never comes with a cursor to an empty one.
	limit := opts.Limit
	opts.Limit++
	p := page{Suppressions: make([]store.Suppression, 0, min(limit, 256))}
	more := false
	ctx, cancel := a.dbContext(r)
	defer cancel()
	err := a.store.EachSuppression(ctx, opts, func(sp store.Suppression) error {
		if len(p.Suppressions) == limit {
			more = true
			return nil
		}
		p.Suppressions = append(p.Suppressions, sp)
		return nil
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if more {
		p.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(p.Suppressions[limit-1].Address))
	}
	writeJSON(w, http.StatusOK, p)
}

// pageOptions reads the paging parameters of a list (limit, cursor, since),
// answering 400 when one is bad.
func pageOptions(w http.ResponseWriter, r *http.Request) (store.ListOptions, bool) {
	q := r.URL.Query()
	opts := store.ListOptions{Limit: DefaultPageSize}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit %q: want a whole number from 1 to %d", v, MaxPageSize))
			return opts, false
		}
		opts.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		after, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(after) == 0 {
			writeError(w, http.StatusBadRequest, "cursor: not a cursor returned by this API (next_cursor)")
			return opts, false
		}
		opts.After = string(after)
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("since %q: want an RFC 3339 time such as 2024-05-01T00:00:00Z", v))
			return opts, false
		}
		opts.Since = t
	}
	return opts, true
}

// get serves GET /v1/suppressions/{address}: the suppression in force of
// the address (in any form store.NormalizeAddress accepts), 404 when there
// is none, 400 when it is not an address.
func (a *API) get(w http.ResponseWriter, r *http.Request) {
	addr, ok := pathAddress(w, r)
	if !ok {
		return
	}
	ctx, cancel := a.dbContext(r)
	defer cancel()
	found, err := a.store.Suppressed(ctx, []string{addr})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	sp, ok := found[addr]
	if !ok {
		writeError(w, http.StatusNotFound, addr+" is not suppressed")
		return
	}
	writeJSON(w, http.StatusOK, sp)
}

// pathAddress returns the {address} of the path, answering 400 when it is
// not an email address.
func pathAddress(w http.ResponseWriter, r *http.Request) (string, bool) {
	addr := r.PathValue("address")
	if _, _, ok := store.NormalizeAddress(addr); !ok {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%q is not an email address", addr))
		return "", false
	}
	return addr, true
}

// checkRequest is the body of POST /v1/suppressions/check.
type checkRequest struct {
	Addresses []string `json:"addresses"`
}

// checkResult is the answer for one address of a check.
type checkResult struct {
	Address    string     `json:"address"`
	Suppressed bool       `json:"suppressed"`
	Reason     string     `json:"reason,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
}

// invalidAddress names an address of a check that is not an address.
type invalidAddress struct {
	Index   int    `json:"index"`
	Address string `json:"address"`
}

// check serves POST /v1/suppressions/check: for every address, in request
// order, whether it is suppressed, why and until when (no expires_at:
// permanently). Addresses are compared in their normalised form
// (store.NormalizeAddress): padding, angle brackets, a trailing dot, case
// and the Unicode or punycode form of the domain do not matter. When any
// address cannot be normalised the whole request is refused with 400,
// naming each one (index and address): an address that could not be
// checked is never answered "not suppressed".
func (a *API) check(w http.ResponseWriter, r *http.Request) {
	var req checkRequest
	if !a.decode(w, r, &req, false) {
		return
	}
	if req.Addresses == nil {
		writeError(w, http.StatusBadRequest, `addresses is required: {"addresses": ["a@example.com", ...]}`)
		return
	}
	if len(req.Addresses) > MaxCheckAddresses {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%d addresses: at most %d per request", len(req.Addresses), MaxCheckAddresses))
		return
	}
	var invalid []invalidAddress
	for i, addr := range req.Addresses {
		if _, _, ok := store.NormalizeAddress(addr); !ok {
			invalid = append(invalid, invalidAddress{Index: i, Address: addr})
		}
	}
	if len(invalid) > 0 {
		writeJSON(w, http.StatusBadRequest, struct {
			Error   string           `json:"error"`
			Invalid []invalidAddress `json:"invalid"`
		}{fmt.Sprintf("%d of the addresses are not email addresses (see invalid); nothing was checked", len(invalid)), invalid})
		return
	}
	ctx, cancel := a.dbContext(r)
	defer cancel()
	found, err := a.store.Suppressed(ctx, req.Addresses)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	results := make([]checkResult, len(req.Addresses))
	for i, addr := range req.Addresses {
		res := checkResult{Address: addr}
		if sp, ok := found[addr]; ok {
			res.Suppressed, res.Reason, res.ExpiresAt = true, sp.Reason, sp.ExpiresAt
		}
		results[i] = res
	}
	writeJSON(w, http.StatusOK, struct {
		Results []checkResult `json:"results"`
	}{results})
}

// exportCSV serves GET /v1/suppressions.csv: the same CSV as `bounced
// suppressions export --format csv`, streamed.
func (a *API) exportCSV(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), ExportTimeout)
	defer cancel()
	// The server's write timeout is for answers of one query; the export
	// may stream for as long as ExportTimeout. (ErrNotSupported outside a
	// net/http server: nothing to extend.)
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(ExportTimeout + 10*time.Second))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="suppressions.csv"`)
	cw := &countingWriter{w: w}
	err := export.CSV(ctx, a.store, cw)
	if err == nil {
		return
	}
	if cw.n == 0 {
		w.Header().Del("Content-Disposition")
		a.fail(w, r, err)
		return
	}
	// The status line is gone: breaking the connection is the only way
	// left to tell the client that the export is incomplete.
	a.log.Error("CSV export failed part way", "written_bytes", cw.n, "err", err)
	panic(http.ErrAbortHandler)
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// addRequest is the body of POST /v1/suppressions.
type addRequest struct {
	Address string `json:"address"`
	Reason  string `json:"reason"`
	Note    string `json:"note"`
}

// add serves POST /v1/suppressions: suppress an address by hand,
// permanently, recorded in the audit with actor "api". It answers 201 with
// the suppression.
func (a *API) add(w http.ResponseWriter, r *http.Request) {
	var req addRequest
	if !a.decode(w, r, &req, false) {
		return
	}
	if req.Address == "" || req.Reason == "" {
		writeError(w, http.StatusBadRequest, `address and reason are required: {"address": "a@example.com", "reason": "complaint", "note": "why"}`)
		return
	}
	if req.Note == "" {
		req.Note = "added through the API"
	}
	ctx, cancel := a.dbContext(r)
	defer cancel()
	sp, err := a.store.AddSuppression(ctx, req.Address, req.Reason, Actor, req.Note)
	switch {
	case errors.Is(err, store.ErrBadAddress):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%q is not an email address", req.Address))
	case errors.Is(err, store.ErrNoteTooLong):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("note is longer than %d characters", store.MaxNoteLength))
	case errors.Is(err, store.ErrUnknownReason):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown reason %q: use a reason identifier such as complaint or user_unknown (`bounced explain`)", req.Reason))
	case err != nil:
		a.fail(w, r, err)
	default:
		a.log.Info("suppression added through the API", "address", sp.Address, "reason", sp.Reason)
		writeJSON(w, http.StatusCreated, sp)
	}
}

// liftRequest is the optional body of DELETE /v1/suppressions/{address}.
type liftRequest struct {
	Reason string `json:"reason"`
	Why    string `json:"why"`
}

// lift serves DELETE /v1/suppressions/{address}?reason=TEXT (or a JSON body
// with reason or why): lift the suppression, recorded in the audit with
// actor "api". It answers with the suppression as it was, or 404.
func (a *API) lift(w http.ResponseWriter, r *http.Request) {
	addr, ok := pathAddress(w, r)
	if !ok {
		return
	}
	var req liftRequest
	if !a.decode(w, r, &req, true) {
		return
	}
	why := strings.TrimSpace(firstNonEmpty(r.URL.Query().Get("reason"), r.URL.Query().Get("why"), req.Reason, req.Why))
	if why == "" {
		writeError(w, http.StatusBadRequest, `a reason is required: say why the address may be mailed again (?reason=... or {"reason": "..."})`)
		return
	}
	ctx, cancel := a.dbContext(r)
	defer cancel()
	sp, err := a.store.LiftSuppression(ctx, addr, Actor, why)
	switch {
	case errors.Is(err, store.ErrNotSuppressed):
		writeError(w, http.StatusNotFound, addr+" is not suppressed")
	case errors.Is(err, store.ErrNoteTooLong):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("reason is longer than %d characters", store.MaxNoteLength))
	case err != nil:
		a.fail(w, r, err)
	default:
		a.log.Info("suppression lifted through the API", "address", sp.Address, "why", why)
		writeJSON(w, http.StatusOK, sp)
	}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// decode reads the JSON request body into v, answering 413 for a body over
// MaxBodyBytes and 400 for anything that is not one JSON object of v's
// fields. An empty body is fine when optional. It reports whether the
// handler may go on.
func (a *API) decode(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	return a.decodeUpTo(w, r, v, optional, MaxBodyBytes)
}

// decodeUpTo is decode with a bound of limit bytes on the body.
func (a *API) decodeUpTo(w http.ResponseWriter, r *http.Request, v any, optional bool, limit int64) bool {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		// Exactly one value: trailing data is a malformed request.
		if _, err = dec.Token(); err == io.EOF {
			err = nil
		} else if err == nil {
			err = errors.New("unexpected data after the JSON object")
		}
	}
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		return true
	case errors.Is(err, io.EOF) && optional:
		return true
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", tooLarge.Limit))
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "request body is empty: want a JSON object")
	default:
		writeError(w, http.StatusBadRequest, "request body is not valid JSON: "+err.Error())
	}
	return false
}
