package httpapi

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/bounced/bounced/returnpath"
)

// Limits of POST /v1/return-paths.
const (
	// MaxSignAddresses is the most addresses one request may have signed;
	// more are refused with 413.
	MaxSignAddresses = 10000
	// maxSignBodyBytes bounds its body: room for MaxSignAddresses of the
	// longest addresses, quoted.
	maxSignBodyBytes = MaxSignAddresses*(returnpath.MaxRecipient+8) + 4096
)

// signRequest is the body of POST /v1/return-paths.
type signRequest struct {
	// Mailbox names the [mailbox NAME] whose return path and key sign; it
	// may be left out when only one mailbox has a key.
	Mailbox   string   `json:"mailbox"`
	Addresses []string `json:"addresses"`
	// VERP asks for the form that also carries the recipient, where it
	// fits.
	VERP bool `json:"verp"`
}

// signed is one address of the answer: its return path, or why it has
// none.
type signed struct {
	Address    string `json:"address"`
	ReturnPath string `json:"return_path,omitempty"`
	Error      string `json:"error,omitempty"`
}

// signReturnPaths serves POST /v1/return-paths: the signed envelope sender
// for each recipient, in the order given. An address that cannot be signed
// gets an error of its own; the others are still signed.
func (a *API) signReturnPaths(w http.ResponseWriter, r *http.Request) {
	var req signRequest
	if !a.decodeUpTo(w, r, &req, false, maxSignBodyBytes) {
		return
	}
	if req.Addresses == nil {
		writeError(w, http.StatusBadRequest, `addresses is required: {"addresses": ["a@example.com", ...]}`)
		return
	}
	if len(req.Addresses) > MaxSignAddresses {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%d addresses: at most %d per request", len(req.Addresses), MaxSignAddresses))
		return
	}
	name, s, status, msg := a.signer(req.Mailbox)
	if s == nil {
		writeError(w, status, msg)
		return
	}
	sign := s.Sign
	if req.VERP {
		sign = s.SignVERP
	}
	now := time.Now()
	out := make([]signed, len(req.Addresses))
	for i, addr := range req.Addresses {
		out[i].Address = addr
		rp, err := sign(addr, now)
		if err != nil {
			out[i].Error = strings.TrimPrefix(err.Error(), "returnpath: ")
			continue
		}
		out[i].ReturnPath = rp
	}
	writeJSON(w, http.StatusOK, struct {
		Mailbox     string   `json:"mailbox"`
		ReturnPaths []signed `json:"return_paths"`
	}{name, out})
}

// signer returns the mailbox named name, or the only one with a key, and
// its scheme; or nil and the status and message to answer with.
func (a *API) signer(name string) (string, *returnpath.Scheme, int, string) {
	if name != "" {
		if s, ok := a.signers[name]; ok {
			return name, s, 0, ""
		}
		return "", nil, http.StatusNotFound, fmt.Sprintf("mailbox %q has no return-path key (return_path_key_env or return_path_key_file)", name)
	}
	switch len(a.signers) {
	case 0:
		return "", nil, http.StatusNotFound, "no mailbox has a return-path key (return_path_key_env or return_path_key_file)"
	case 1:
		for n, s := range a.signers {
			return n, s, 0, ""
		}
	}
	names := make([]string, 0, len(a.signers))
	for n := range a.signers {
		names = append(names, n)
	}
	sort.Strings(names)
	return "", nil, http.StatusBadRequest, fmt.Sprintf("mailbox is required: %s have a return-path key", strings.Join(names, ", "))
}
