package config

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Defaults of a [webhook NAME] section.
const (
	DefaultWebhookBatchSize    = 100
	DefaultWebhookTimeout      = 10 * time.Second
	DefaultWebhookPollInterval = 30 * time.Second
)

// WebhookStart says where a new webhook starts in the suppression list: the
// first time bounced delivers to a webhook name, it has no position yet.
type WebhookStart string

// The starts of a new webhook.
const (
	// WebhookStartNow delivers what changes from the first run on (default).
	WebhookStartNow WebhookStart = "now"
	// WebhookStartBeginning first delivers every suppression on record.
	WebhookStartBeginning WebhookStart = "beginning"
)

// Webhook is one [webhook NAME] section: a URL that `bounced run` POSTs the
// changes of the suppression list to, signed with a shared secret.
type Webhook struct {
	// Name identifies the webhook in logs, in its cursor (its position in
	// the suppression list, kept in PostgreSQL) and in its advisory lock.
	// Renaming it starts a new cursor.
	Name string
	Line int // line of the section header, for messages

	URL            string       // http or https; plain http only to loopback unless AllowPlaintext
	AllowPlaintext bool         // allow http to a non-loopback host
	Secret         SecretSource // the HMAC key; from secret_env or secret_file
	BatchSize      int          // events per request at most
	Timeout        time.Duration
	PollInterval   time.Duration // look for changes this often even without a NOTIFY
	Start          WebhookStart
}

// decodeWebhookSection decodes the section s, [webhook NAME], unless it has
// no name or one of the webhooks before it has the same.
func decodeWebhookSection(d *decoder, s *section, before []Webhook) (Webhook, bool) {
	if s.name == "" {
		*d.problems = append(*d.problems, fmt.Errorf("line %d: a webhook section needs a name: [webhook NAME]", s.line))
		return Webhook{}, false
	}
	for _, w := range before {
		if w.Name == s.name {
			*d.problems = append(*d.problems, fmt.Errorf("line %d: webhook %q defined twice (first on line %d)", s.line, s.name, w.Line))
			return Webhook{}, false
		}
	}
	d.prefix = fmt.Sprintf("webhook %q: ", s.name)
	return decodeWebhook(d, s), true
}

// decodeWebhook decodes the section s, [webhook NAME].
func decodeWebhook(d *decoder, s *section) Webhook {
	w := Webhook{
		Name:         s.name,
		Line:         s.line,
		BatchSize:    DefaultWebhookBatchSize,
		Timeout:      DefaultWebhookTimeout,
		PollInterval: DefaultWebhookPollInterval,
		Start:        WebhookStartNow,
		Secret:       SecretSource{Kind: "secret"},
	}
	for _, e := range s.entries {
		switch e.key {
		case "url":
			w.URL = e.value
		case "allow_plaintext":
			w.AllowPlaintext = d.bool(e)
		case "secret_env":
			w.Secret.Env = e.value
		case "secret_file":
			w.Secret.File = e.value
		case "secret":
			d.fail(e, "secrets do not belong in the file: use secret_env or secret_file")
		case "batch_size":
			w.BatchSize = d.int(e, 1, 1000)
		case "timeout":
			w.Timeout = d.duration(e, DefaultWebhookTimeout)
		case "poll_interval":
			w.PollInterval = d.duration(e, DefaultWebhookPollInterval)
		case "start":
			w.Start = WebhookStart(d.oneOf(e, string(WebhookStartNow), string(WebhookStartBeginning)))
		default:
			d.fail(e, "unknown setting")
		}
	}
	w.validate(d)
	return w
}

func (w *Webhook) validate(d *decoder) {
	fail := func(format string, args ...any) {
		*d.problems = append(*d.problems, fmt.Errorf("line %d: %s%s", w.Line, d.prefix, fmt.Sprintf(format, args...)))
	}
	if w.URL == "" {
		fail("url is required")
	} else if u, err := url.Parse(w.URL); err != nil {
		// url.Error quotes the URL: say what is wrong without it, in case
		// it carries a token.
		var reason error = err
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			reason = ue.Err
		}
		fail("url is not a URL: %v", reason)
	} else {
		switch {
		case u.Scheme != "https" && u.Scheme != "http":
			fail("url must be https:// (or http:// to loopback), not %q", u.Scheme)
		case u.Host == "":
			fail("url has no host")
		case u.User != nil:
			fail("url must not carry a user or password: the signature authenticates bounced")
		case u.Scheme == "http" && !w.AllowPlaintext && !IsLoopback(u.Hostname()):
			fail("url is plain http to %s, which would expose the suppression list: use https, or set allow_plaintext = true", u.Hostname())
		}
	}
	if w.Secret.Env == "" && w.Secret.File == "" {
		fail("secret_env or secret_file is required: the key the requests are signed with")
	}
	if w.Secret.Env != "" && w.Secret.File != "" {
		fail("set only one of secret_env and secret_file")
	}
}

// checkSecret reads w's secret, as CheckEnvironment does for every secret.
func (w Webhook) checkSecret() error {
	s, err := w.Secret.Read()
	if err != nil {
		return fmt.Errorf("webhook %q: %w", w.Name, err)
	}
	if s.Reveal() == "" {
		return fmt.Errorf("webhook %q: secret is empty", w.Name)
	}
	return nil
}

// Redacted returns the URL without its query, for logs and messages: a
// receiver may take a token in the query string.
func (w Webhook) Redacted() string {
	u, err := url.Parse(w.URL)
	if err != nil {
		return "(bad url)"
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.User = "", false, "", nil
	return u.String()
}
