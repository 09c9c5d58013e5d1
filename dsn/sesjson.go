package dsn

import (
	"encoding/json"
	"strings"
)

// Amazon SES reports bounces, complaints and deliveries as JSON, which
// reaches a mailbox when an SNS topic has an email subscription: the text
// part is either the SES notification itself or an SNS envelope whose
// "Message" field holds it as a string.

// sesNotification is the part of an SES event notification that matters here.
type sesNotification struct {
	NotificationType string `json:"notificationType"`
	EventType        string `json:"eventType"`
	Bounce           *struct {
		BounceType        string `json:"bounceType"`
		ReportingMTA      string `json:"reportingMTA"`
		BouncedRecipients []struct {
			EmailAddress   string `json:"emailAddress"`
			Action         string `json:"action"`
			Status         string `json:"status"`
			DiagnosticCode string `json:"diagnosticCode"`
		} `json:"bouncedRecipients"`
	} `json:"bounce"`
	Complaint *struct {
		ComplaintFeedbackType string `json:"complaintFeedbackType"`
		ComplainedRecipients  []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"complainedRecipients"`
	} `json:"complaint"`
	Delivery *struct {
		Recipients   []string `json:"recipients"`
		SMTPResponse string   `json:"smtpResponse"`
		ReportingMTA string   `json:"reportingMTA"`
		RemoteMTAIP  string   `json:"remoteMtaIp"`
	} `json:"delivery"`
	Mail struct {
		MessageID     string `json:"messageId"`
		Source        string `json:"source"`
		CommonHeaders struct {
			MessageID string   `json:"messageId"`
			Subject   string   `json:"subject"`
			From      []string `json:"from"`
			To        []string `json:"to"`
		} `json:"commonHeaders"`
	} `json:"mail"`
}

// readSESNotification reads an SES notification from the text of a message,
// filling rep. It reports whether the text held one.
func readSESNotification(rep *Report, text string) bool {
	start := strings.IndexByte(text, '{')
	if start < 0 || !strings.Contains(text, `otificationType`) && !strings.Contains(text, `"eventType"`) {
		return false
	}
	var envelope struct {
		Message string `json:"Message"`
		sesNotification
	}
	if err := json.NewDecoder(strings.NewReader(text[start:])).Decode(&envelope); err != nil {
		// Mail gateways fold long lines, also inside JSON strings: unfold.
		unfolded := strings.ReplaceAll(strings.ReplaceAll(text[start:], "\r\n", "\n"), "\n ", "")
		if json.NewDecoder(strings.NewReader(unfolded)).Decode(&envelope) != nil {
			return false
		}
	}
	n := envelope.sesNotification
	if envelope.Message != "" {
		if err := json.Unmarshal([]byte(envelope.Message), &n); err != nil {
			return false
		}
	}
	kind := strings.ToLower(n.NotificationType)
	if kind == "" {
		kind = strings.ToLower(n.EventType)
	}
	rep.Original.MessageID = n.Mail.CommonHeaders.MessageID
	if rep.Original.MessageID == "" && n.Mail.MessageID != "" {
		rep.Original.MessageID = "<" + n.Mail.MessageID + ">"
	}
	rep.Original.Subject = n.Mail.CommonHeaders.Subject
	rep.Original.From = strings.Join(n.Mail.CommonHeaders.From, ", ")
	if rep.Original.From == "" {
		rep.Original.From = n.Mail.Source
	}
	rep.Original.To = strings.Join(n.Mail.CommonHeaders.To, ", ")

	switch {
	case kind == "bounce" && n.Bounce != nil:
		rep.Kind = KindDSN
		rep.ReportingMTA = typedValue(n.Bounce.ReportingMTA)
		for _, b := range n.Bounce.BouncedRecipients {
			r := Recipient{
				Address:    normalizeAddress(b.EmailAddress),
				Action:     parseAction(b.Action),
				Diagnostic: typedValue(b.DiagnosticCode),
			}
			if r.Action == "" {
				r.Action = ActionFailed
			}
			r.Status, _ = findStatus(b.Status)
			rep.Recipients = append(rep.Recipients, r)
		}
	case kind == "complaint" && n.Complaint != nil:
		rep.Kind = KindARF
		rep.FeedbackType = strings.ToLower(n.Complaint.ComplaintFeedbackType)
		if rep.FeedbackType == "" {
			rep.FeedbackType = "abuse"
		}
		for _, c := range n.Complaint.ComplainedRecipients {
			rep.Recipients = append(rep.Recipients, Recipient{Address: normalizeAddress(c.EmailAddress)})
		}
	case kind == "delivery" && n.Delivery != nil:
		rep.Kind = KindDSN
		rep.ReportingMTA = n.Delivery.ReportingMTA
		for _, a := range n.Delivery.Recipients {
			rep.Recipients = append(rep.Recipients, Recipient{
				Address:    normalizeAddress(a),
				Action:     ActionDelivered,
				Diagnostic: n.Delivery.SMTPResponse,
				RemoteMTA:  n.Delivery.RemoteMTAIP,
			})
		}
	default:
		return false
	}
	return len(rep.Recipients) > 0
}
