package dsn

// Evidence is what Classify reads for one recipient.
type Evidence struct {
	Kind         Kind
	Action       Action
	Status       string // enhanced status as found in the message, "" if none
	SMTPCode     int    // SMTP reply code, 0 if none
	Diagnostic   string // the server's own words
	FeedbackType string // ARF Feedback-Type, for KindARF
}

// Classify decides the reason, scope, permanence and verdict for one
// recipient from its action, enhanced status, reply code and diagnostic text.
//
// Placeholder: the classification table lands with issue 2's classifier.
func Classify(ev Evidence) Classification {
	return Classification{Reason: ReasonUnknown, Scope: ScopeNone, Verdict: VerdictIgnore}
}

// InferStatus returns the RFC 3463 enhanced status that best stands for c when
// the message carried none, using the reply code's class where known.
func InferStatus(c Classification, smtpCode int) string {
	return ""
}
