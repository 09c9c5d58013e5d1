// Package dsn parses bounce messages and classifies each failed recipient.
//
// It is pure: bytes in, values out. It reads only the reader it is given and
// does no logging, no database and no network I/O. Parse turns one raw RFC 5322
// message into a Report; Classify turns a recipient's status, reply code and
// diagnostic text into a Classification (reason, scope, permanence, verdict).
package dsn

import "time"

// Kind says what sort of message a Report was read from.
type Kind string

// The kinds of message Parse recognises. The identifiers are a public
// interface: they are stored in PostgreSQL and printed by `bounced parse`.
const (
	KindDSN          Kind = "dsn"          // RFC 3464 / RFC 6533 delivery status notification
	KindNonStandard  Kind = "non_standard" // an MTA's own bounce text, no machine-readable report
	KindARF          Kind = "arf"          // RFC 5965 abuse feedback report, or a mail client's unsubscribe request
	KindAutoReply    Kind = "auto_reply"   // RFC 3834 automatic reply, vacation notice
	KindUnrecognized Kind = "unrecognized" // none of the above
)

// Action is the RFC 3464 section 2.3.3 Action field of a recipient.
type Action string

// The actions of RFC 3464 section 2.3.3.
const (
	ActionFailed    Action = "failed"
	ActionDelayed   Action = "delayed"
	ActionDelivered Action = "delivered"
	ActionRelayed   Action = "relayed"
	ActionExpanded  Action = "expanded"
)

// Reason says why delivery to one recipient failed. Every recipient gets
// exactly one. The identifiers are a public interface (stored, exported and
// used in SQL reports): changing one is a migration, not a refactor.
type Reason string

// The reasons of the DESIGN.md reason table.
const (
	ReasonUserUnknown        Reason = "user_unknown"
	ReasonMailboxDisabled    Reason = "mailbox_disabled"
	ReasonHostUnknown        Reason = "host_unknown"
	ReasonBadRecipientSyntax Reason = "bad_recipient_syntax"
	ReasonMailboxFull        Reason = "mailbox_full"
	ReasonComplaint          Reason = "complaint"
	ReasonAuthFailure        Reason = "auth_failure"
	ReasonBlocklisted        Reason = "blocklisted"
	ReasonSpamContent        Reason = "spam_content"
	ReasonPolicyRejected     Reason = "policy_rejected"
	ReasonBadSenderAddress   Reason = "bad_sender_address"
	ReasonRelayDenied        Reason = "relay_denied"
	ReasonMessageTooLarge    Reason = "message_too_large"
	ReasonVirus              Reason = "virus"
	ReasonRateLimited        Reason = "rate_limited"
	ReasonGreylisted         Reason = "greylisted"
	ReasonServerError        Reason = "server_error"
	ReasonNetworkError       Reason = "network_error"
	ReasonExpired            Reason = "expired"
	ReasonDelayed            Reason = "delayed"
	ReasonAutoReply          Reason = "auto_reply"
	ReasonDelivered          Reason = "delivered"
	ReasonUnknown            Reason = "unknown"
)

// Scope says who has to act on a failure.
type Scope string

// The scopes of DESIGN.md.
const (
	ScopeRecipient Scope = "recipient" // the address is the problem: clean the list
	ScopeSender    Scope = "sender"    // the sending setup or reputation is the problem
	ScopeTransient Scope = "transient" // retry later
	ScopeNone      Scope = "none"      // not a failure
)

// Verdict is the list-hygiene decision for one recipient result.
type Verdict string

// The verdicts of DESIGN.md.
const (
	VerdictSuppress Verdict = "suppress" // suppress the address now
	VerdictSoft     Verdict = "soft"     // count it; suppress after repeated soft bounces
	VerdictAlert    Verdict = "alert"    // a sender-side incident: never suppress the recipient
	VerdictIgnore   Verdict = "ignore"   // not a failure
)

// Authenticity says whether a bounce provably answers mail we sent
// (DESIGN.md, "Authenticity"). The identifiers are a public interface.
type Authenticity string

// The authenticities of DESIGN.md.
const (
	// AuthenticityVerified: the bounce was delivered to a signed return path
	// whose signature, recipient and time window check out.
	AuthenticityVerified Authenticity = "verified"
	// AuthenticityInvalid: a signed return path that does not check out.
	AuthenticityInvalid Authenticity = "invalid"
	// AuthenticityUnsigned: no signed return path (no key configured, or the
	// sender did not sign).
	AuthenticityUnsigned Authenticity = "unsigned"
)

// Classification is what Classify decides for one recipient.
type Classification struct {
	Reason    Reason
	Scope     Scope
	Permanent bool
	Verdict   Verdict
}

// Report is everything Parse learned from one message. Its strings are valid
// UTF-8 without NUL bytes, whatever the message held.
type Report struct {
	Kind Kind

	// Per-message DSN fields (RFC 3464 section 2.2), empty when absent.
	ReportingMTA       string
	ArrivalDate        time.Time
	OriginalEnvelopeID string

	// FeedbackType is the ARF Feedback-Type (RFC 5965), for KindARF.
	FeedbackType string

	// Subject and From are the bounce message's own headers.
	Subject string
	From    string

	// Original describes the message that bounced, as far as it was returned.
	Original Original

	// Recipients holds one entry per recipient the message reports on, in
	// the order they appear. It may be empty when none could be found.
	Recipients []Recipient

	// RecipientsDropped counts the recipients the message reports on
	// beyond what the parser keeps (the delivery-status parts are read up
	// to a bound, whatever their size): they are not in Recipients.
	RecipientsDropped int

	// DeliveredTo holds the addresses the bounce itself was delivered to,
	// as its header names them: To (MTAs address a bounce to the envelope
	// sender), Delivered-To, X-Original-To and Envelope-To, in that order,
	// without repeats, at most MaxDeliveredTo of them. A signed return path
	// is looked for there. Like everything in a bounce, they are claims.
	DeliveredTo []string
}

// MaxDeliveredTo bounds Report.DeliveredTo: a header naming thousands of
// addresses must not cost thousands of signature checks.
const MaxDeliveredTo = 8

// Original describes the returned original message.
type Original struct {
	MessageID string
	From      string
	// Sender and ReplyTo are the original's Sender and Reply-To fields:
	// like From, they name our side, never a failed recipient.
	Sender  string
	ReplyTo string
	// ListAddresses are the mail addresses of the original's List-Post,
	// List-Owner, List-Help, List-Subscribe and List-Unsubscribe fields
	// (RFC 2369): a list's own addresses, never a failed recipient.
	ListAddresses []string
	To            string
	Subject       string
	// ReturnPath is the returned original's Return-Path address, without
	// angle brackets: where a complaint (ARF) finds the signed return path
	// the original was sent with.
	ReturnPath string
	// Headers holds the configured correlation headers found in the
	// original (canonical header name to first value).
	Headers map[string]string
}

// Recipient is one per-recipient result, classified.
type Recipient struct {
	// Address is the failed recipient (Final-Recipient, else the best
	// address found), domain lower-cased, local part as sent.
	Address string
	// OriginalRecipient is the RFC 3464 Original-Recipient, if given.
	OriginalRecipient string
	Action            Action
	// Status is an RFC 3463 enhanced status code such as "5.1.1".
	Status string
	// StatusInferred is true when the message carried no usable enhanced
	// status and Status was inferred from the reply code and text.
	StatusInferred bool
	// SMTPCode is the SMTP reply code (RFC 5321), 0 when unknown.
	SMTPCode        int
	Diagnostic      string
	RemoteMTA       string
	LastAttemptDate time.Time
	WillRetryUntil  time.Time
	// Extra keeps per-recipient fields this package does not model, for audit.
	Extra map[string]string
	// Authenticity is set by the caller that checks the return path; empty
	// means unsigned.
	Authenticity Authenticity

	Classification
}

// Result is one line of the parse contract (`bounced parse --json`): a
// recipient result flattened together with the message it came from. The JSON
// field names are a public interface.
type Result struct {
	File              string            `json:"file,omitempty"`
	Kind              Kind              `json:"kind"`
	Recipient         string            `json:"recipient"`
	Status            string            `json:"status"`
	StatusInferred    bool              `json:"status_inferred,omitempty"`
	SMTPCode          int               `json:"smtp_code,omitempty"`
	Action            Action            `json:"action,omitempty"`
	Reason            Reason            `json:"reason"`
	Scope             Scope             `json:"scope"`
	Permanent         bool              `json:"permanent"`
	Verdict           Verdict           `json:"verdict"`
	Authenticity      Authenticity      `json:"authenticity"`
	Diagnostic        string            `json:"diagnostic,omitempty"`
	RemoteMTA         string            `json:"remote_mta,omitempty"`
	ReportingMTA      string            `json:"reporting_mta,omitempty"`
	FeedbackType      string            `json:"feedback_type,omitempty"`
	OriginalMessageID string            `json:"original_message_id,omitempty"`
	OriginalFrom      string            `json:"original_from,omitempty"`
	OriginalHeaders   map[string]string `json:"original_headers,omitempty"`
	// RecipientsDropped is the report's RecipientsDropped, on each of its
	// results: the message named that many more recipients than it has
	// results.
	RecipientsDropped int `json:"recipients_dropped,omitempty"`
}

// Results flattens the report into one Result per recipient, the shape of the
// parse contract. A report without recipients still yields one Result, with
// an empty Recipient and the reason unknown, so that no message goes
// unaccounted for.
func (r *Report) Results() []Result {
	base := Result{
		Kind:              r.Kind,
		ReportingMTA:      r.ReportingMTA,
		FeedbackType:      r.FeedbackType,
		OriginalMessageID: r.Original.MessageID,
		OriginalFrom:      r.Original.From,
		OriginalHeaders:   r.Original.Headers,
		RecipientsDropped: r.RecipientsDropped,
	}
	if len(r.Recipients) == 0 {
		res := base
		res.Reason, res.Scope, res.Verdict = ReasonUnknown, ScopeNone, VerdictIgnore
		res.Authenticity = AuthenticityUnsigned
		return []Result{res}
	}
	out := make([]Result, 0, len(r.Recipients))
	for _, rc := range r.Recipients {
		res := base
		res.Recipient = rc.Address
		res.Status = rc.Status
		res.StatusInferred = rc.StatusInferred
		res.SMTPCode = rc.SMTPCode
		res.Action = rc.Action
		res.Reason = rc.Reason
		res.Scope = rc.Scope
		res.Permanent = rc.Permanent
		res.Verdict = rc.Verdict
		res.Authenticity = rc.Authenticity
		if res.Authenticity == "" {
			res.Authenticity = AuthenticityUnsigned
		}
		res.Diagnostic = rc.Diagnostic
		res.RemoteMTA = rc.RemoteMTA
		out = append(out, res)
	}
	return out
}
