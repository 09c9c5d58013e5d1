// Package config reads and validates the bounced configuration file: the
// daemon's own settings, one section per watched mailbox and one per webhook.
//
// The format is a small INI dialect (see parseINI) so that the example file
// can carry comments and no dependency is needed. Secrets never appear in the
// file itself: it names an environment variable or a file to read them from.
package config

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Defaults applied to keys the file leaves out.
const (
	DefaultListen             = ":8080"
	DefaultSchedule           = "@every 1m"
	DefaultBatchSize          = 100
	DefaultMaxSize            = 25 << 20
	DefaultTimeout            = 30 * time.Second
	DefaultShutdownTimeout    = 30 * time.Second
	DefaultFolder             = "INBOX"
	DefaultProcessedFolder    = "Processed"
	DefaultUnrecognizedFolder = "Unrecognized"
	DefaultTokenLifetime      = 50 * time.Minute
	DefaultDBMaxConns         = 4
	DefaultMaxParallel        = 4
	DefaultTakeoverAfter      = 30 * time.Second

	// The brake on mass suppression (DESIGN.md, "Authenticity"): new
	// suppressions beyond these are held until released by hand.
	DefaultMaxSuppressionsPerMessage = 100
	DefaultMaxSuppressionsPerHour    = 5000
)

// TLSMode says how the IMAP connection is secured.
type TLSMode string

// The TLS modes.
const (
	TLSImplicit TLSMode = "implicit" // TLS from the first byte (port 993)
	TLSStartTLS TLSMode = "starttls" // plain connect, then STARTTLS (port 143)
	TLSNone     TLSMode = "none"     // plaintext: loopback only unless allow_plaintext
)

// AuthMethod says how bounced authenticates to the IMAP server.
type AuthMethod string

// The authentication methods.
const (
	AuthLogin   AuthMethod = "login"   // IMAP LOGIN with a password
	AuthPlain   AuthMethod = "plain"   // SASL PLAIN with a password
	AuthXOAUTH2 AuthMethod = "xoauth2" // SASL XOAUTH2 with a bearer token (Gmail, Microsoft 365)
)

// Disposition says what becomes of a message once its batch has committed.
type Disposition string

// The dispositions.
const (
	DispositionMove   Disposition = "move"   // move to the processed folder (default)
	DispositionFlag   Disposition = "flag"   // set \Seen and $Bounced, leave in place
	DispositionDelete Disposition = "delete" // delete; only when configured explicitly
	DispositionLeave  Disposition = "leave"  // touch nothing
)

// Config is a whole configuration file.
type Config struct {
	// Path is the file the configuration was read from.
	Path string
	// Listen is the address `bounced run` serves /healthz, /readyz and,
	// with APIToken set, the HTTP API and /metrics on.
	Listen string
	// APIToken says where the HTTP API's bearer tokens come from; when it
	// is not Configured the API and /metrics are not served.
	APIToken APITokenSource
	// LogFormat is "text" or "json".
	LogFormat string
	// LogLevel is the minimum level logged.
	LogLevel slog.Level
	// ShutdownTimeout bounds how long a running batch may take to finish
	// after SIGTERM before its connection is closed.
	ShutdownTimeout time.Duration
	// Mailboxes lists the watched mailboxes in file order.
	Mailboxes []Mailbox
	// Webhooks lists the [webhook NAME] sections in file order.
	Webhooks []Webhook

	// The soft-bounce policy (DESIGN.md, verdict soft): an address is
	// suppressed after SoftThreshold soft bounces within SoftWindow, for
	// SoftExpiry. Zero values leave the store's defaults (3, 14 days, 30 days).
	SoftThreshold int
	SoftWindow    time.Duration
	SoftExpiry    time.Duration

	// EventRetention is how long bounced run keeps bounce events before
	// pruning them (at least MinEventRetention); 0 keeps them forever.
	EventRetention time.Duration

	// Replica names this process among the replicas sharing one database:
	// in the lease table, the ledger and the metrics. Empty means the host
	// name (see ReplicaName).
	Replica string
	// DBMaxConns bounds the PostgreSQL sessions of the connection pool,
	// whatever the number of mailboxes.
	DBMaxConns int
	// MaxParallel bounds the passes one replica runs at once.
	MaxParallel int
	// TakeoverAfter bounds how long the mailboxes of a replica whose
	// heartbeat stopped stay unworked before the others take them over.
	TakeoverAfter time.Duration
}

// ReplicaName returns the configured replica name, else the host name,
// else "bounced".
func (cfg *Config) ReplicaName() string {
	if cfg.Replica != "" {
		return cfg.Replica
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "bounced"
}

// MinEventRetention is the shortest event_retention accepted: younger events
// may still count towards a soft-bounce suppression or a 7-day report. It
// equals store.MinRetention.
const MinEventRetention = 30 * 24 * time.Hour

// CheckEventRetention says why d is too short a retention for bounce
// events, or returns nil. The configuration and `bounced prune` both ask it.
func CheckEventRetention(d time.Duration) error {
	if d < MinEventRetention {
		return fmt.Errorf("at least %dd: younger events still count towards soft bounces and reports",
			int(MinEventRetention/(24*time.Hour)))
	}
	return nil
}

// Mailbox is one watched mailbox: where it is, how to log in, when to look
// and what to do with the messages.
type Mailbox struct {
	// Name identifies the mailbox in logs, in the ledger and checkpoint, and
	// in the advisory lock. Renaming it makes bounced rescan the mailbox (the
	// ledger keeps the counts right).
	Name string
	Line int // line of the section header, for messages

	Address            string  // host:port
	TLS                TLSMode // required unless the port is 993 (implicit) or 143 (starttls)
	CAFile             string  // PEM bundle to verify the server with, instead of the system roots
	ServerName         string  // name to verify the certificate against; defaults to the host
	InsecureSkipVerify bool    // do not verify the certificate (logged as a warning)
	AllowPlaintext     bool    // allow TLS none to a non-loopback host

	Username string
	Auth     AuthMethod
	Password SecretSource // for login and plain
	Token    TokenSource  // for xoauth2

	Folder             string // the mailbox to read, INBOX by default
	Schedule           string // cron expression or descriptor
	Idle               bool   // IDLE between ticks, to process new bounces within seconds
	BatchSize          int
	MaxSize            int64 // bytes of one message read at most
	Disposition        Disposition
	ProcessedFolder    string
	UnrecognizedFolder string
	Timeout            time.Duration // per network step
	CorrelationHeaders []string      // nil: the parser's defaults

	// ReturnPath is the plain return-path address mail is sent with,
	// bounces@example.com; its tagged forms are signed return paths
	// (package returnpath). It is never a failed recipient.
	ReturnPath string
	// ReturnPathKeys says where the signing keys come from; not Configured:
	// bounces are not verified, all are unsigned and acted on.
	ReturnPathKeys ReturnPathKeySource
	// ReturnPathMaxAge is how long a signature stays valid (whole days).
	ReturnPathMaxAge time.Duration
	// OwnDomains are the sending domains, lower-cased: no address at one
	// of them is ever a failed recipient.
	OwnDomains []string
	// UnsignedBounces says what an unsigned bounce does when a key is
	// configured.
	UnsignedBounces UnsignedPolicy
	// MaxSuppressionsPerMessage and MaxSuppressionsPerHour are the brake:
	// new suppressions beyond them (per bounce message, per hour of this
	// mailbox) are held, not put in force, until released by hand. 0
	// turns a limit off.
	MaxSuppressionsPerMessage int
	MaxSuppressionsPerHour    int
}

// Problems is every problem found in a configuration. Its Error lists them one
// per line.
type Problems []error

func (p Problems) Error() string {
	lines := make([]string, len(p))
	for i, err := range p {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the individual problems.
func (p Problems) Unwrap() []error { return p }

// Load reads and validates the configuration file at path. On failure the
// error is a Problems listing everything wrong with the file, not just the
// first thing. It reads no secrets; see CheckEnvironment.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	cfg, problems := Parse(data)
	if cfg != nil {
		cfg.Path = path
	}
	if len(problems) > 0 {
		return cfg, problems
	}
	return cfg, nil
}

// Parse decodes and validates a configuration file's contents. It returns the
// configuration as far as it could be read and every problem found.
func Parse(data []byte) (*Config, Problems) {
	sections, problems := parseINI(bytes.NewReader(data))
	cfg := &Config{
		Listen:          DefaultListen,
		LogFormat:       "text",
		LogLevel:        slog.LevelInfo,
		ShutdownTimeout: DefaultShutdownTimeout,
		DBMaxConns:      DefaultDBMaxConns,
		MaxParallel:     DefaultMaxParallel,
		TakeoverAfter:   DefaultTakeoverAfter,
	}
	seen := map[string]int{}
	for _, s := range sections {
		d := decoder{problems: &problems}
		switch s.kind {
		case "":
			d.prefix = ""
			cfg.decodeTop(&d, s)
		case "mailbox":
			if s.name == "" {
				problems = append(problems, fmt.Errorf("line %d: a mailbox section needs a name: [mailbox NAME]", s.line))
				continue
			}
			if first, dup := seen[s.name]; dup {
				problems = append(problems, fmt.Errorf("line %d: mailbox %q defined twice (first on line %d)", s.line, s.name, first))
				continue
			}
			seen[s.name] = s.line
			d.prefix = fmt.Sprintf("mailbox %q: ", s.name)
			cfg.Mailboxes = append(cfg.Mailboxes, decodeMailbox(&d, s))
		case "webhook":
			if w, ok := decodeWebhookSection(&d, s, cfg.Webhooks); ok {
				cfg.Webhooks = append(cfg.Webhooks, w)
			}
		default:
			problems = append(problems, fmt.Errorf("line %d: unknown section kind %q (want [mailbox NAME] or [webhook NAME])", s.line, s.kind))
		}
	}
	if len(cfg.Mailboxes) == 0 && len(problems) == 0 {
		problems = append(problems, errors.New("no [mailbox NAME] section: nothing to watch"))
	}
	return cfg, problems
}

func (cfg *Config) decodeTop(d *decoder, s *section) {
	var retention *entry
	defer func() {
		if retention != nil && cfg.EventRetention > 0 && cfg.SoftWindow >= cfg.EventRetention {
			d.fail(*retention, "must be longer than soft_window (%s): the events in the window still count", cfg.SoftWindow)
		}
	}()
	for _, e := range s.entries {
		switch e.key {
		case "listen":
			cfg.Listen = e.value
			if _, _, err := net.SplitHostPort(e.value); err != nil {
				d.fail(e, "not a host:port address: %v", err)
			}
		case "log_format":
			cfg.LogFormat = d.oneOf(e, "text", "json")
		case "log_level":
			if err := cfg.LogLevel.UnmarshalText([]byte(e.value)); err != nil {
				d.fail(e, "want debug, info, warn or error")
			}
		case "shutdown_timeout":
			cfg.ShutdownTimeout = d.duration(e, DefaultShutdownTimeout)
		case "soft_threshold":
			cfg.SoftThreshold = d.int(e, 1, 1000)
		case "soft_window":
			cfg.SoftWindow = d.duration(e, 0)
		case "soft_expiry":
			cfg.SoftExpiry = d.duration(e, 0)
		case "event_retention":
			retention = &e
			cfg.EventRetention = d.duration(e, 0)
			if cfg.EventRetention > 0 {
				if err := CheckEventRetention(cfg.EventRetention); err != nil {
					d.fail(e, "%v", err)
					cfg.EventRetention = 0
				}
			}
		case "api_token_env":
			cfg.APIToken.Env = e.value
			if cfg.APIToken.File != "" {
				d.fail(e, "set only one of api_token_env and api_token_file")
			}
		case "api_token_file":
			cfg.APIToken.File = e.value
			if cfg.APIToken.Env != "" {
				d.fail(e, "set only one of api_token_env and api_token_file")
			}
		case "api_token":
			d.fail(e, "tokens do not belong in the file: use api_token_env or api_token_file")
		case "replica":
			cfg.Replica = e.value
			if e.value == "" || strings.ContainsFunc(e.value, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
				d.fail(e, "want a name without spaces or control characters")
			}
		case "db_max_conns":
			cfg.DBMaxConns = d.int(e, 2, 1000)
		case "max_parallel_mailboxes":
			cfg.MaxParallel = d.int(e, 1, 10000)
		case "takeover_after":
			cfg.TakeoverAfter = d.duration(e, DefaultTakeoverAfter)
			if cfg.TakeoverAfter < time.Second {
				d.fail(e, "at least 1s: the heartbeat runs every quarter of it")
				cfg.TakeoverAfter = DefaultTakeoverAfter
			}
		default:
			d.fail(e, "unknown setting (mailbox settings belong in a [mailbox NAME] section)")
		}
	}
}

func decodeMailbox(d *decoder, s *section) Mailbox {
	m := Mailbox{
		Name:               s.name,
		Line:               s.line,
		Auth:               AuthLogin,
		Folder:             DefaultFolder,
		Schedule:           DefaultSchedule,
		BatchSize:          DefaultBatchSize,
		MaxSize:            DefaultMaxSize,
		Disposition:        DispositionMove,
		ProcessedFolder:    DefaultProcessedFolder,
		UnrecognizedFolder: DefaultUnrecognizedFolder,
		Timeout:            DefaultTimeout,
		Token:              TokenSource{Lifetime: DefaultTokenLifetime},
		ReturnPathMaxAge:   DefaultReturnPathMaxAge,
		UnsignedBounces:    UnsignedEvidence,

		MaxSuppressionsPerMessage: DefaultMaxSuppressionsPerMessage,
		MaxSuppressionsPerHour:    DefaultMaxSuppressionsPerHour,
	}
	for _, e := range s.entries {
		if m.decodeReturnPath(d, e) {
			continue
		}
		switch e.key {
		case "address":
			m.Address = e.value
		case "tls":
			m.TLS = TLSMode(d.oneOf(e, string(TLSImplicit), string(TLSStartTLS), string(TLSNone)))
		case "ca_file":
			m.CAFile = e.value
		case "server_name":
			m.ServerName = e.value
		case "insecure_skip_verify":
			m.InsecureSkipVerify = d.bool(e)
		case "allow_plaintext":
			m.AllowPlaintext = d.bool(e)
		case "username":
			m.Username = e.value
		case "auth":
			m.Auth = AuthMethod(d.oneOf(e, string(AuthLogin), string(AuthPlain), string(AuthXOAUTH2)))
		case "password_env":
			m.Password.Env = e.value
		case "password_file":
			m.Password.File = e.value
		case "password":
			d.fail(e, "passwords do not belong in the file: use password_env or password_file")
		case "token_file":
			m.Token.File = e.value
		case "token_command":
			m.Token.Command = e.value
		case "token_lifetime":
			m.Token.Lifetime = d.duration(e, DefaultTokenLifetime)
		case "folder":
			m.Folder = e.value
		case "schedule":
			m.Schedule = e.value
			if err := CheckSchedule(e.value); err != nil {
				d.fail(e, "%v", err)
			}
		case "idle":
			m.Idle = d.bool(e)
		case "batch_size":
			m.BatchSize = d.int(e, 1, 5000)
		case "max_size":
			m.MaxSize = d.size(e)
		case "disposition":
			m.Disposition = Disposition(d.oneOf(e, string(DispositionMove), string(DispositionFlag), string(DispositionDelete), string(DispositionLeave)))
		case "processed_folder":
			m.ProcessedFolder = e.value
		case "unrecognized_folder":
			m.UnrecognizedFolder = e.value
		case "timeout":
			m.Timeout = d.duration(e, DefaultTimeout)
		case "max_suppressions_per_message":
			m.MaxSuppressionsPerMessage = d.int(e, 0, maxSuppressionLimit)
		case "max_suppressions_per_hour":
			m.MaxSuppressionsPerHour = d.int(e, 0, maxSuppressionLimit)
		case "correlation_headers":
			m.CorrelationHeaders = []string{}
			for _, h := range strings.Split(e.value, ",") {
				if h = strings.TrimSpace(h); h != "" {
					m.CorrelationHeaders = append(m.CorrelationHeaders, h)
				}
			}
		default:
			d.fail(e, "unknown setting")
		}
	}
	m.validate(d, s.line)
	return m
}

// maxSuppressionLimit bounds the brake's settings: far above any real
// list's hourly bounces, low enough to catch a stray digit.
const maxSuppressionLimit = 10_000_000

func (m *Mailbox) validate(d *decoder, line int) {
	at := entry{line: line, key: "[mailbox]"}
	m.validateReturnPath(d, at)
	host, port, err := net.SplitHostPort(m.Address)
	switch {
	case m.Address == "":
		d.fail(at, "address is required (host:port)")
	case err != nil:
		d.fail(at, "address %q is not host:port: %v", m.Address, err)
	}
	if m.TLS == "" && err == nil {
		switch port {
		case "993":
			m.TLS = TLSImplicit
		case "143":
			m.TLS = TLSStartTLS
		default:
			d.fail(at, "tls is required with port %s: implicit (TLS from the start, like 993) or starttls (like 143)", port)
		}
	}
	if m.TLS == TLSNone && !m.AllowPlaintext && err == nil && !IsLoopback(host) {
		d.fail(at, "tls = none to %s would send the password in clear text: use implicit or starttls, or set allow_plaintext = true", host)
	}
	if m.TLS == TLSNone && (m.CAFile != "" || m.InsecureSkipVerify) {
		d.fail(at, "ca_file and insecure_skip_verify make no sense with tls = none")
	}
	if m.Username == "" {
		d.fail(at, "username is required")
	}
	switch m.Auth {
	case AuthLogin, AuthPlain:
		if m.Password.Env == "" && m.Password.File == "" {
			d.fail(at, "auth = %s needs password_env or password_file", m.Auth)
		}
		if m.Password.Env != "" && m.Password.File != "" {
			d.fail(at, "set only one of password_env and password_file")
		}
		if m.Token.File != "" || m.Token.Command != "" {
			d.fail(at, "token_file and token_command are for auth = xoauth2")
		}
	case AuthXOAUTH2:
		if m.Token.File == "" && m.Token.Command == "" {
			d.fail(at, "auth = xoauth2 needs token_file or token_command")
		}
		if m.Token.File != "" && m.Token.Command != "" {
			d.fail(at, "set only one of token_file and token_command")
		}
		if m.Password.Env != "" || m.Password.File != "" {
			d.fail(at, "password_env and password_file are for auth = login or plain")
		}
	}
	if m.Token.Lifetime <= 0 {
		d.fail(at, "token_lifetime must be positive")
	}
	if m.Folder == "" {
		d.fail(at, "folder must not be empty")
	}
	if m.MaxSize < 1024 && m.MaxSize != 0 {
		d.fail(at, "max_size must be at least 1KiB")
	}
	if m.Timeout <= 0 {
		d.fail(at, "timeout must be positive")
	}
	if m.Disposition == DispositionMove && m.ProcessedFolder == "" {
		d.fail(at, "disposition = move needs a processed_folder")
	}
	if m.Disposition != DispositionLeave && m.UnrecognizedFolder == "" {
		d.fail(at, "unrecognized_folder must not be empty: unrecognized messages are kept there")
	}
	for _, f := range []string{m.ProcessedFolder, m.UnrecognizedFolder} {
		if f != "" && strings.EqualFold(f, m.Folder) {
			d.fail(at, "folder %q cannot also be the processed or unrecognized folder", f)
		}
	}
}

// Uses says which parts of the configuration a command is about to use, so
// that CheckEnvironment asks only for what that command needs: a one-off
// `bounced once` from a cron job need not see the API token.
type Uses struct {
	Database bool // DATABASE_URL
	Daemon   bool // the HTTP API's tokens and the webhooks' secrets (bounced run)
	// SkipIMAP leaves out the mailboxes' IMAP secrets and CA files, for a
	// command that reads no mailbox (bounced parse -config, bounced
	// return-path). Return-path keys are checked whatever uses says.
	SkipIMAP bool
}

// CheckEnvironment checks what Load cannot see in the file alone: that every
// mailbox secret and return-path key can be read, that CA files hold
// certificates, and, as uses
// says, that DATABASE_URL is set and that the API's tokens and the webhooks'
// secrets can be read. It returns every problem found.
func (cfg *Config) CheckEnvironment(uses Uses) Problems {
	var problems Problems
	if uses.Database && os.Getenv("DATABASE_URL") == "" {
		problems = append(problems, errors.New("DATABASE_URL is not set in the environment"))
	}
	if uses.Daemon && cfg.APIToken.Configured() {
		if _, err := cfg.APIToken.Read(); err != nil {
			problems = append(problems, err)
		}
	}
	for _, m := range cfg.Mailboxes {
		if err := m.checkReturnPathKeys(); err != nil {
			problems = append(problems, err)
		}
		if uses.SkipIMAP {
			continue
		}
		prefix := fmt.Sprintf("mailbox %q: ", m.Name)
		switch m.Auth {
		case AuthLogin, AuthPlain:
			if s, err := m.Password.Read(); err != nil {
				problems = append(problems, fmt.Errorf("%s%w", prefix, err))
			} else if s.Reveal() == "" {
				problems = append(problems, fmt.Errorf("%spassword is empty", prefix))
			}
		case AuthXOAUTH2:
			if m.Token.File != "" {
				if _, err := os.Stat(m.Token.File); err != nil {
					problems = append(problems, fmt.Errorf("%stoken_file: %w", prefix, err))
				}
			}
		}
		if m.CAFile != "" {
			if _, err := LoadCAFile(m.CAFile); err != nil {
				problems = append(problems, fmt.Errorf("%s%w", prefix, err))
			}
		}
	}
	for _, w := range cfg.Webhooks {
		if !uses.Daemon {
			break
		}
		if err := w.checkSecret(); err != nil {
			problems = append(problems, err)
		}
	}
	return problems
}

// LoadCAFile reads a PEM bundle into a certificate pool.
func LoadCAFile(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("reading ca_file %s: no PEM certificate found", path)
	}
	return pool, nil
}

// IsLoopback reports whether host names this machine: "localhost" or a
// loopback IP address. It does no DNS lookup.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// decoder turns entries into typed values, recording problems.
type decoder struct {
	prefix   string
	problems *[]error
}

func (d *decoder) fail(e entry, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if e.key == "[mailbox]" {
		*d.problems = append(*d.problems, fmt.Errorf("line %d: %s%s", e.line, d.prefix, msg))
		return
	}
	*d.problems = append(*d.problems, fmt.Errorf("line %d: %s%s: %s", e.line, d.prefix, e.key, msg))
}

func (d *decoder) oneOf(e entry, allowed ...string) string {
	v := strings.ToLower(e.value)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	d.fail(e, "%q is not one of %s", e.value, strings.Join(allowed, ", "))
	return ""
}

func (d *decoder) bool(e entry) bool {
	v, err := strconv.ParseBool(e.value)
	if err != nil {
		d.fail(e, "%q is not true or false", e.value)
	}
	return v
}

func (d *decoder) int(e entry, min, max int) int {
	v, err := strconv.Atoi(e.value)
	if err != nil || v < min || v > max {
		d.fail(e, "%q is not a whole number from %d to %d", e.value, min, max)
	}
	return v
}

// duration returns e's duration, or def (after recording the problem) when
// it is not a positive one.
func (d *decoder) duration(e entry, def time.Duration) time.Duration {
	v, err := ParseDuration(e.value)
	if err != nil || v <= 0 {
		why := ""
		if err != nil && strings.Contains(err.Error(), "out of range") {
			why = fmt.Sprintf(" (at most %dd)", maxDays)
		}
		d.fail(e, "%q is not a positive duration such as 30s, 5m or 14d%s", e.value, why)
		return def
	}
	return v
}

// maxDays is the most whole days a time.Duration holds (about 292 years).
const maxDays = math.MaxInt64 / int64(24*time.Hour)

// ParseDuration is time.ParseDuration that also takes whole days ("14d"),
// the unit of the retention and soft-bounce settings. A number of days a
// time.Duration cannot hold is an error, not a wrapped-around value.
func ParseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(strings.TrimSpace(s), "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing days %q: %w", s, err)
		}
		if n > maxDays || n < -maxDays {
			return 0, fmt.Errorf("parsing days %q: out of range, at most %dd", s, maxDays)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// cronFields are the fields of a standard cron expression and the number of
// values each takes.
var cronFields = []struct {
	name string
	span int
}{{"minute", 60}, {"hour", 24}, {"day of month", 31}, {"month", 12}, {"day of week", 7}}

// CheckSchedule says why spec is not a schedule bounced accepts (the error
// starts with the quoted spec): it must
// parse as a standard cron expression or descriptor (robfig/cron), and a
// step ("*/N") must be smaller than its field's range: "*/99 * * * *",
// which cron reads as "at minute 0", is refused.
func CheckSchedule(spec string) error {
	if _, err := cron.ParseStandard(spec); err != nil {
		return fmt.Errorf("%q is not a valid cron expression: %w", spec, err)
	}
	fields := strings.Fields(spec)
	if len(fields) > 0 && (strings.HasPrefix(fields[0], "TZ=") || strings.HasPrefix(fields[0], "CRON_TZ=")) {
		fields = fields[1:]
	}
	if len(fields) != len(cronFields) {
		return nil // a descriptor such as @every 5m or @hourly
	}
	for i, f := range fields {
		for part := range strings.SplitSeq(f, ",") {
			_, step, ok := strings.Cut(part, "/")
			if !ok {
				continue
			}
			if n, err := strconv.Atoi(step); err == nil && n >= cronFields[i].span {
				return fmt.Errorf("%q: step %d in the %s field is not below its %d values (it would run once per %s only)",
					spec, n, cronFields[i].name, cronFields[i].span, map[int]string{0: "hour", 1: "day", 2: "month", 3: "year", 4: "week"}[i])
			}
		}
	}
	return nil
}

// sizeUnits maps the accepted size suffixes to their multipliers.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1000, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1000 * 1000, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1000 * 1000 * 1000, "gib": 1 << 30,
}

func (d *decoder) size(e entry) int64 {
	s := strings.TrimSpace(e.value)
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	mult, ok := sizeUnits[strings.ToLower(strings.TrimSpace(s[i:]))]
	if err != nil || !ok || n <= 0 {
		units := make([]string, 0, len(sizeUnits))
		for u := range sizeUnits {
			if u != "" {
				units = append(units, u)
			}
		}
		sort.Strings(units)
		d.fail(e, "%q is not a size such as 25MiB (units: %s)", e.value, strings.Join(units, ", "))
		return 0
	}
	return n * mult
}
