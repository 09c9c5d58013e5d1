package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/bounced/bounced/returnpath"
)

// DefaultReturnPathMaxAge is how long a signed return path stays valid when
// return_path_max_age is not set.
const DefaultReturnPathMaxAge = returnpath.DefaultMaxAge

// UnsignedPolicy says what becomes of a bounce that is not verified when a
// return-path key is configured (DESIGN.md, "Authenticity").
type UnsignedPolicy string

// The policies for unsigned bounces.
const (
	// UnsignedEvidence stores an unsigned bounce as evidence only: it
	// neither suppresses nor counts (the default).
	UnsignedEvidence UnsignedPolicy = "evidence"
	// UnsignedTrust acts on unsigned bounces as if verified, for senders
	// that cannot sign yet. Invalid ones are still only evidence.
	UnsignedTrust UnsignedPolicy = "trust"
)

// ReturnPathKeySource says where a mailbox's return-path keys come from: an
// environment variable holding one key, or several separated by white
// space, or a file with one key per line (blank lines and lines starting
// with # ignored). The first key signs, all verify. The keys never sit in
// the configuration file.
type ReturnPathKeySource struct {
	Env  string
	File string
}

// Configured reports whether a key source is set.
func (s ReturnPathKeySource) Configured() bool { return s.Env != "" || s.File != "" }

// Read returns the keys. It fails when the variable is unset, the file
// cannot be read, no key is found or a key is shorter than
// returnpath.MinKeyLength. Its errors never contain a key.
func (s ReturnPathKeySource) Read() ([]Secret, error) {
	return readSecretList(s.Env, s.File, returnPathKeys)
}

// returnPathKeys names the return-path keys for readSecretList.
var returnPathKeys = secretList{
	what:        "return-path key",
	one:         "key",
	envSetting:  "return_path_key_env",
	fileSetting: "return_path_key_file",
	minLen:      returnpath.MinKeyLength,
	shortHint:   " (make one with: openssl rand -hex 32)",
}

// ReturnPathScheme returns the mailbox's return-path signer and verifier,
// reading its keys, or nil when the mailbox has no key configured.
func (m *Mailbox) ReturnPathScheme() (*returnpath.Scheme, error) {
	if !m.ReturnPathKeys.Configured() {
		return nil, nil
	}
	secrets, err := m.ReturnPathKeys.Read()
	if err != nil {
		return nil, fmt.Errorf("mailbox %q: %w", m.Name, err)
	}
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		keys[i] = []byte(s.Reveal())
	}
	s, err := returnpath.New(returnpath.Config{ReturnPath: m.ReturnPath, Keys: keys, MaxAge: m.ReturnPathMaxAge})
	if err != nil {
		return nil, fmt.Errorf("mailbox %q: %w", m.Name, err)
	}
	return s, nil
}

// ForgeryWarning says how bounces to the mailbox can make forged
// suppressions, or returns "" when only verified bounces act.
func (m *Mailbox) ForgeryWarning() string {
	switch {
	case !m.ReturnPathKeys.Configured():
		return fmt.Sprintf("mailbox %q: suppressions can be forged: no return_path_key_env or return_path_key_file, so any bounce mailed to the return path acts (see README, \"Signed return paths\")", m.Name)
	case m.UnsignedBounces == UnsignedTrust:
		return fmt.Sprintf("mailbox %q: suppressions can be forged: unsigned_bounces = trust acts on bounces that are not signed; remove it once your mail is signed", m.Name)
	}
	return ""
}

// decodeReturnPath decodes e if it is one of the return-path settings, and
// reports whether it was.
func (m *Mailbox) decodeReturnPath(d *decoder, e entry) bool {
	switch e.key {
	case "return_path":
		m.ReturnPath = e.value
		if err := returnpath.CheckReturnPath(e.value); err != nil {
			d.fail(e, "%s", strings.TrimPrefix(err.Error(), "returnpath: "))
		}
	case "return_path_key_env":
		m.ReturnPathKeys.Env = e.value
	case "return_path_key_file":
		m.ReturnPathKeys.File = e.value
	case "return_path_key":
		d.fail(e, "keys do not belong in the file: use return_path_key_env or return_path_key_file")
	case "return_path_max_age":
		m.ReturnPathMaxAge = d.duration(e, DefaultReturnPathMaxAge)
		if m.ReturnPathMaxAge < 24*time.Hour || m.ReturnPathMaxAge%(24*time.Hour) != 0 {
			d.fail(e, "%q is not a whole number of days such as 30d", e.value)
			m.ReturnPathMaxAge = DefaultReturnPathMaxAge
		}
	case "own_domains":
		m.OwnDomains = nil
		for _, v := range strings.Split(e.value, ",") {
			v = strings.ToLower(strings.TrimSpace(v))
			if v == "" {
				continue
			}
			if err := returnpath.CheckReturnPath("x@" + v); err != nil {
				d.fail(e, "%q is not a domain name", v)
				continue
			}
			m.OwnDomains = append(m.OwnDomains, v)
		}
	case "unsigned_bounces":
		m.UnsignedBounces = UnsignedPolicy(d.oneOf(e, string(UnsignedEvidence), string(UnsignedTrust)))
	default:
		return false
	}
	return true
}

// validateReturnPath checks the return-path settings together.
func (m *Mailbox) validateReturnPath(d *decoder, at entry) {
	if m.ReturnPathKeys.Env != "" && m.ReturnPathKeys.File != "" {
		d.fail(at, "set only one of return_path_key_env and return_path_key_file")
	}
	if m.ReturnPathKeys.Configured() && m.ReturnPath == "" {
		d.fail(at, "a return-path key needs return_path, the address the tags are added to")
	}
}

// checkReturnPathKeys checks that the mailbox's keys can be read.
func (m *Mailbox) checkReturnPathKeys() error {
	if !m.ReturnPathKeys.Configured() || m.ReturnPath == "" {
		return nil
	}
	_, err := m.ReturnPathScheme()
	return err
}
