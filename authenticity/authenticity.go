// Package authenticity decides whether a parsed bounce answers mail we sent
// (DESIGN.md, "Authenticity"), and what that means for its verdicts. It is
// the one place that does so: `bounced parse -config -mailbox`, `bounced
// once` and `bounced run` all parse through Policy.Parse, so an operator
// checking a message offline sees the verdict the daemon gives.
//
// For each failed recipient the bounce names, the signed return paths the
// bounce was delivered to (dsn.Report.DeliveredTo, and the returned
// original's Return-Path) are checked with the mailbox's keys:
//
//   - verified: one of them checks out for this recipient;
//   - invalid: one of them is a signed form of our return path, and none
//     checks out (another recipient's tag, altered, expired, future);
//   - unsigned: none is a signed form of our return path, or no key is
//     configured.
//
// With a key, a result that is not verified (unless unsigned and trusted)
// keeps its reason, scope, permanence, status and diagnostic, so that it is
// stored as evidence and shows in reports, but a verdict that would act on
// the list (suppress, soft) becomes ignore: bounced does not act on a
// failure nothing shows we caused. An alert (a sender-side incident) stays
// an alert; it suppresses nobody. Our own addresses (the return path, its
// tagged forms, the own domains) get verdict ignore whatever the key.
package authenticity

import (
	"errors"
	"io"
	"strings"
	"time"

	"github.com/bounced/bounced/config"
	"github.com/bounced/bounced/dsn"
	"github.com/bounced/bounced/returnpath"
)

// Policy is one mailbox's authenticity policy. The zero value verifies
// nothing and protects no address: every result is unsigned, as without a
// key.
type Policy struct {
	// ReturnPath is the plain return path, "" when not configured. It and
	// its tagged forms are never a failed recipient.
	ReturnPath string
	// Scheme verifies tags; nil means no key: every result is unsigned and
	// acted on.
	Scheme *returnpath.Scheme
	// TrustUnsigned acts on unsigned results even with a key.
	TrustUnsigned bool
	// OwnDomains are lower-case domains whose addresses are never a failed
	// recipient.
	OwnDomains []string
	// Now returns the time signatures are checked at; nil means time.Now.
	Now func() time.Time
}

// ForMailbox returns the policy of a configured mailbox, reading its
// return-path keys.
func ForMailbox(m *config.Mailbox) (*Policy, error) {
	s, err := m.ReturnPathScheme()
	if err != nil {
		return nil, err
	}
	return &Policy{
		ReturnPath:    m.ReturnPath,
		Scheme:        s,
		TrustUnsigned: m.UnsignedBounces == config.UnsignedTrust,
		OwnDomains:    m.OwnDomains,
	}, nil
}

// Parse is dsn.Parse followed by Apply: the parser of every command that
// classifies bounces for a mailbox. Its signature is imapwatch.ParseFunc.
func (p *Policy) Parse(r io.Reader, opts dsn.Options) (*dsn.Report, error) {
	rep, err := dsn.Parse(r, opts)
	if err != nil {
		return rep, err
	}
	p.Apply(rep)
	return rep, nil
}

// Apply sets the Authenticity of every recipient of rep and applies the
// policy to its verdict; it may name the recipient of a report whose text
// named none, from a verified VERP tag.
func (p *Policy) Apply(rep *dsn.Report) {
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	tags := p.signedReturnPaths(rep)
	if p.Scheme != nil {
		p.nameRecipient(rep, tags, now)
	}
	for i := range rep.Recipients {
		r := &rep.Recipients[i]
		r.Authenticity = p.check(tags, r.Address, now)
		acts := r.Verdict == dsn.VerdictSuppress || r.Verdict == dsn.VerdictSoft
		switch {
		case !acts:
		case p.IsOwn(r.Address):
			r.Verdict = dsn.VerdictIgnore
		case p.Scheme == nil, r.Authenticity == dsn.AuthenticityVerified:
		case r.Authenticity == dsn.AuthenticityUnsigned && p.TrustUnsigned:
		default:
			r.Verdict = dsn.VerdictIgnore
		}
	}
}

// signedReturnPaths returns the addresses rep was delivered to that have
// the shape of a signed return path, taken apart, at most
// dsn.MaxDeliveredTo+1 of them.
func (p *Policy) signedReturnPaths(rep *dsn.Report) []returnpath.Address {
	var out []returnpath.Address
	add := func(a string) {
		if parsed, err := returnpath.Parse(a); err == nil {
			out = append(out, parsed)
		}
	}
	for _, a := range rep.DeliveredTo {
		add(a)
	}
	if rep.Original.ReturnPath != "" {
		add(rep.Original.ReturnPath)
	}
	return out
}

// check returns the authenticity of a result for recipient.
func (p *Policy) check(tags []returnpath.Address, recipient string, now time.Time) dsn.Authenticity {
	if p.Scheme == nil || recipient == "" {
		return dsn.AuthenticityUnsigned
	}
	result := dsn.AuthenticityUnsigned
	for _, a := range tags {
		err := p.Scheme.VerifyAddress(a, recipient, now)
		switch {
		case err == nil:
			return dsn.AuthenticityVerified
		case errors.Is(err, returnpath.ErrInvalid):
			result = dsn.AuthenticityInvalid
		}
	}
	return result
}

// nameRecipient fills in the recipient of a bounce whose text names none
// (no recipient, or one without an address) from a verified VERP tag that
// carries it, and classifies it as the parser would have.
func (p *Policy) nameRecipient(rep *dsn.Report, tags []returnpath.Address, now time.Time) {
	switch rep.Kind {
	case dsn.KindDSN, dsn.KindNonStandard, dsn.KindARF:
	default:
		return
	}
	if len(rep.Recipients) > 1 || len(rep.Recipients) == 1 && rep.Recipients[0].Address != "" {
		return
	}
	for _, a := range tags {
		if a.Recipient == "" || p.Scheme.VerifyAddress(a, a.Recipient, now) != nil {
			continue
		}
		if len(rep.Recipients) == 0 {
			r := dsn.Recipient{}
			if rep.Kind != dsn.KindARF {
				r.Action = dsn.ActionFailed
			}
			rep.Recipients = append(rep.Recipients, r)
		}
		r := &rep.Recipients[0]
		r.Address = a.Recipient
		status := r.Status
		if r.StatusInferred {
			status = ""
		}
		r.Classification = dsn.Classify(dsn.Evidence{
			Kind: rep.Kind, Action: r.Action, Status: status, SMTPCode: r.SMTPCode,
			Diagnostic: r.Diagnostic, FeedbackType: rep.FeedbackType,
		})
		if status == "" {
			r.Status, r.StatusInferred = dsn.InferStatus(r.Classification, r.SMTPCode), true
			if r.Status == "" {
				r.StatusInferred = false
			}
		}
		return
	}
}

// IsOwn reports whether address is one of ours: the return path or a
// tagged form of it, or an address at one of the own domains. Such an
// address is never a failed recipient.
func (p *Policy) IsOwn(address string) bool {
	if p.ReturnPath != "" && returnpath.IsReturnPath(address, p.ReturnPath) {
		return true
	}
	at := strings.LastIndexByte(address, '@')
	if at < 0 {
		return false
	}
	domain := address[at+1:]
	for _, d := range p.OwnDomains {
		if strings.EqualFold(domain, d) {
			return true
		}
	}
	return false
}
