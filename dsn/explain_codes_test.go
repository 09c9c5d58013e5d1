package dsn

import (
	"strings"
	"testing"
)

// TestCodeGuides checks, per code of the seed article and per language, the
// facts the guide must teach: the article's causes and fixes and what
// bounced knows beyond them.
func TestCodeGuides(t *testing.T) {
	type facts struct {
		readings []Reason // in this order, first the most frequent
		words    []string // each must appear in meaning, why, fix or readings
	}
	want := map[string]map[string]facts{
		"5.7.26": {
			"en": {[]Reason{ReasonAuthFailure}, []string{"SPF", "DKIM", "DMARC", "v=spf1", "_domainkey", "_dmarc", "p=reject", "Authentication-Results", "alignment"}},
			"de": {[]Reason{ReasonAuthFailure}, []string{"SPF", "DKIM", "DMARC", "v=spf1", "_domainkey", "_dmarc", "p=reject", "Authentication-Results", "Alignment"}},
		},
		"550": {
			"en": {[]Reason{ReasonUserUnknown, ReasonMailboxDisabled, ReasonHostUnknown}, []string{"typos", "another channel", "double opt-in", "disabled", "domain no longer exists", "5.7.x"}},
			"de": {[]Reason{ReasonUserUnknown, ReasonMailboxDisabled, ReasonHostUnknown}, []string{"Tippfehler", "anderen Weg", "Double-Opt-in", "deaktiviert", "Domain des Empfängers existiert nicht mehr", "5.7.x"}},
		},
		"554": {
			"en": {[]Reason{ReasonBlocklisted, ReasonSpamContent, ReasonAuthFailure}, []string{"blocklist", "multi-list checker", "dig +short", "zen.spamhaus.org", "Request delisting", "check.spamhaus.org", "barracudacentral.org", "sender.office.com", "SpamCop", "24 hours", "spam tester", "SPF, DKIM and DMARC", "Postmaster Tools", "reputation"}},
			"de": {[]Reason{ReasonBlocklisted, ReasonSpamContent, ReasonAuthFailure}, []string{"Sperrliste", "Multi-Listen-Prüfer", "dig +short", "zen.spamhaus.org", "Entfernung (Delisting) beantragen", "check.spamhaus.org", "barracudacentral.org", "sender.office.com", "SpamCop", "24 Stunden", "Spam-Tester", "SPF, DKIM und DMARC", "Postmaster Tools", "Ruf"}},
		},
		"421": {
			"en": {[]Reason{ReasonServerError, ReasonRateLimited}, []string{"never permanent", "overloaded", "maintenance", "retries on its own", "queue", "smtp_destination_rate_delay", "authenticate"}},
			"de": {[]Reason{ReasonServerError, ReasonRateLimited}, []string{"nie dauerhaft", "überlastet", "gewartet", "erneut", "Warteschlange", "smtp_destination_rate_delay", "authentifizieren"}},
		},
		"450": {
			"en": {[]Reason{ReasonGreylisted, ReasonServerError}, []string{"never permanent", "greylisting", "300 seconds", "5 to 30 minutes", "retry settings", "same IP", "about a month", "SPF, DKIM and DMARC"}},
			"de": {[]Reason{ReasonGreylisted, ReasonServerError}, []string{"nie dauerhaft", "Greylisting", "300 Sekunden", "5 bis 30 Minuten", "Wiederholungseinstellungen", "derselben IP", "einen Monat", "SPF, DKIM und DMARC"}},
		},
		"451": {
			"en": {[]Reason{ReasonGreylisted, ReasonPolicyRejected}, []string{"never permanent", "greylisting", "few minutes", "Retry", "queue lifetime", "local policy", "SPF, DKIM and DMARC", "Temporary lookup failure"}},
			"de": {[]Reason{ReasonGreylisted, ReasonPolicyRejected}, []string{"nie dauerhaft", "Greylisting", "wenige Minuten", "Erneut senden", "Lebensdauer der Warteschlange", "lokalen Richtlinie", "SPF, DKIM und DMARC", "Temporary lookup failure"}},
		},
		"553": {
			"en": {[]Reason{ReasonBadSenderAddress, ReasonBadRecipientSyntax}, []string{"From header", "malformed", "extra spaces", "SPF and DKIM", "MX records", "5.1.3"}},
			"de": {[]Reason{ReasonBadSenderAddress, ReasonBadRecipientSyntax}, []string{"From-Header", "falsch formatiert", "Leerzeichen", "SPF und DKIM", "MX-Einträge", "5.1.3"}},
		},
		"552": {
			"en": {[]Reason{ReasonMailboxFull, ReasonMessageTooLarge}, []string{"5.2.2", "5.3.4", "quota", "Tell the recipient", "file-sharing", "SIZE", "soft bounce", "not suppressed"}},
			"de": {[]Reason{ReasonMailboxFull, ReasonMessageTooLarge}, []string{"5.2.2", "5.3.4", "Kontingent", "Empfänger über einen anderen Weg informieren", "Dateifreigabe", "SIZE", "Soft Bounce", "nicht gesperrt"}},
		},
	}
	if len(want) != len(GuidedCodes) {
		t.Fatalf("test covers %d codes, GuidedCodes has %d", len(want), len(GuidedCodes))
	}
	for _, code := range GuidedCodes {
		for _, lang := range Languages {
			f, ok := want[code][lang]
			if !ok {
				t.Errorf("%s/%s: no facts to check", code, lang)
				continue
			}
			ce, err := ExplainCode(code, lang)
			if err != nil {
				t.Fatalf("ExplainCode(%s, %s): %v", code, lang, err)
			}
			g := ce.Guide
			if g.Code != code || g.Meaning == "" || g.Why == "" || g.Fix == "" {
				t.Fatalf("%s/%s: guide %+v is incomplete", code, lang, g)
			}
			var all strings.Builder
			all.WriteString(g.Meaning + "\n" + g.Why + "\n" + g.Fix)
			for _, rd := range g.Readings {
				all.WriteString("\n" + rd.Decides)
			}
			for _, w := range f.words {
				if !strings.Contains(all.String(), w) {
					t.Errorf("%s/%s: guide does not mention %q", code, lang, w)
				}
			}
			if len(g.Readings) < len(f.readings) {
				t.Fatalf("%s/%s: %d readings, want at least %v", code, lang, len(g.Readings), f.readings)
			}
			for i, r := range f.readings {
				if g.Readings[i].Reason != r {
					t.Errorf("%s/%s: reading %d is %s, want %s", code, lang, i, g.Readings[i].Reason, r)
				}
			}
			if len(g.Readings) > 1 && !ce.Ambiguous {
				t.Errorf("%s/%s: %d readings but not ambiguous", code, lang, len(g.Readings))
			}
			// The fix is a list of numbered steps.
			for i, step := range strings.Split(g.Fix, "\n") {
				if !strings.HasPrefix(step, string(rune('1'+i))+". ") {
					t.Errorf("%s/%s: fix step %d is not numbered: %q", code, lang, i+1, step)
				}
			}
		}
	}
}

// TestCodeGuidesConsistent checks that both languages guide the same codes
// with the same readings, that every reading has a title and a decider, and
// that the German text is not the English one.
func TestCodeGuidesConsistent(t *testing.T) {
	for lang, guides := range codeGuides {
		if len(guides) != len(GuidedCodes) {
			t.Errorf("%s: %d guides, GuidedCodes has %d", lang, len(guides), len(GuidedCodes))
		}
		for _, code := range GuidedCodes {
			if _, ok := guides[code]; !ok {
				t.Errorf("%s: no guide for %s", lang, code)
			}
		}
	}
	for _, code := range GuidedCodes {
		en, de := codeGuides["en"][code], codeGuides["de"][code]
		if en.meaning == de.meaning || en.fix == de.fix || en.why == de.why {
			t.Errorf("%s: German guide equals English", code)
		}
		if len(en.readings) != len(de.readings) {
			t.Errorf("%s: %d English readings, %d German", code, len(en.readings), len(de.readings))
			continue
		}
		seen := map[Reason]bool{}
		for i := range en.readings {
			if en.readings[i].reason != de.readings[i].reason {
				t.Errorf("%s: reading %d is %s in English, %s in German", code, i, en.readings[i].reason, de.readings[i].reason)
			}
			if _, ok := reasonInfos[en.readings[i].reason]; !ok {
				t.Errorf("%s: reading %q is not a reason", code, en.readings[i].reason)
			}
			if seen[en.readings[i].reason] {
				t.Errorf("%s: reading %s twice", code, en.readings[i].reason)
			}
			seen[en.readings[i].reason] = true
			if en.readings[i].decides == "" || de.readings[i].decides == "" {
				t.Errorf("%s: reading %s says nothing about what decides", code, en.readings[i].reason)
			}
		}
		if !seen[mustExplainCode(t, code).Reason] && code != "550" {
			t.Errorf("%s: bounced's reading of the bare code (%s) is not among the readings", code, mustExplainCode(t, code).Reason)
		}
	}
}

func mustExplainCode(t *testing.T, code string) CodeExplanation {
	t.Helper()
	ce, err := ExplainCode(code, "en")
	if err != nil {
		t.Fatal(err)
	}
	return ce
}

// TestExplainCodeTransientNeverPermanent: a 4xx reply or a 4.x.x status is a
// transient failure (RFC 5321 4.2.1, RFC 3463 3.1), whatever reason its
// words would point to; 5xx keeps the reason's permanence.
func TestExplainCodeTransientNeverPermanent(t *testing.T) {
	for _, in := range []string{"451 4.7.1", "451", "450", "421", "421 4.7.0", "450 4.1.1", "4.7.1", "4.2.1", "452 4.2.2", "4.7.26", "454", "4.1.1"} {
		for _, lang := range Languages {
			ce, err := ExplainCode(in, lang)
			if err != nil {
				t.Fatalf("ExplainCode(%q): %v", in, err)
			}
			if ce.Permanent {
				t.Errorf("ExplainCode(%q, %s): Permanent = true for a transient code (reason %s)", in, lang, ce.Reason)
			}
		}
	}
	for in, perm := range map[string]bool{"554": true, "550 5.1.1": true, "5.7.26": true, "552": false, "552 5.3.4": true} {
		if ce := mustExplainCode(t, in); ce.Permanent != perm {
			t.Errorf("ExplainCode(%q): Permanent = %v, want %v", in, ce.Permanent, perm)
		}
	}
}

// TestExplainCodeGuideChoice: the enhanced status picks its own guide where
// it has one; a status that settles the reason (5.1.1, 5.3.4) takes no
// reply-code guide; a generic one (5.7.1) takes the reply code's guide.
func TestExplainCodeGuideChoice(t *testing.T) {
	for in, want := range map[string]string{
		"550 5.7.26": "5.7.26", "451 4.7.1": "451", "552 5.3.4": "", "554": "554",
		"5.7.26": "5.7.26", "5.1.1": "", "535": "", "550-5.1.1": "", "550 5.7.1": "550",
	} {
		if got := mustExplainCode(t, in).Guide.Code; got != want {
			t.Errorf("ExplainCode(%q).Guide.Code = %q, want %q", in, got, want)
		}
	}
	if ce := mustExplainCode(t, "552 5.3.4"); ce.Reason != ReasonMessageTooLarge {
		t.Errorf("552 5.3.4: reason %s, want message_too_large", ce.Reason)
	}
}
