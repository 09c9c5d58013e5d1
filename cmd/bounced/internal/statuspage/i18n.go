package statuspage

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Languages are the languages of the status page, the first the default.
var Languages = []string{"en", "de"}

// messages holds every label of the pages per language. TestMessages checks
// that both languages have every key.
var messages = map[string]map[string]string{
	"en": {
		"title":                "bounced status",
		"nav.overview":         "Overview",
		"nav.incidents":        "Sender-side incidents",
		"nav.domains":          "Recipient domains",
		"nav.suppressions":     "Suppressions",
		"nav.mailboxes":        "Mailboxes",
		"lang.switch":          "Language",
		"signin.title":         "Sign in",
		"signin.token":         "API token",
		"signin.submit":        "Sign in",
		"signin.help":          "Enter one of the API tokens of this bounced (api_token_env or api_token_file). The session lasts %s hours.",
		"signin.wrong":         "That token is not accepted.",
		"signin.expired":       "The form had expired. Please try again.",
		"signout":              "Sign out",
		"overview.chart":       "Bounces per day, last 30 days, by reason",
		"overview.chart.empty": "No bounces in the last 30 days.",
		"overview.verdicts":    "Totals by verdict, last 30 days",
		"overview.suppr":       "Suppression list",
		"overview.inforce":     "In force now",
		"overview.started":     "Put in force, last 30 days (still in force)",
		"overview.lifted":      "Lifted by hand, last 30 days",
		"overview.held":        "Held by the brake, waiting for release",
		"overview.total":       "All bounces, last 30 days",
		"overview.top":         "Sender-side incidents, last 24 hours",
		"overview.top.none":    "No sender-side incidents in the last 24 hours.",
		"overview.more":        "All incidents and their fixes",
		"legend":               "Legend",
		"col.verdict":          "Verdict",
		"col.bounces":          "Bounces",
		"col.share":            "Share",
		"col.reason":           "Reason",
		"col.domain":           "Recipient domain",
		"col.mta":              "Reporting MTA",
		"col.24h":              "Last 24 h",
		"col.7d":               "Last 7 days",
		"col.lastseen":         "Last seen",
		"col.fix":              "What to do",
		"col.hard":             "Hard bounces",
		"col.soft":             "Soft bounces",
		"col.perday":           "Per day",
		"col.hardshare":        "Hard share of the domain's bounces",
		"col.softshare":        "Soft share of the domain's bounces",
		"col.trend":            "30 days",
		"col.address":          "Address",
		"col.since":            "Since",
		"col.count":            "Bounces",
		"col.expires":          "Expires",
		"col.evidence":         "Evidence",
		"col.lift":             "Lift",
		"col.mailbox":          "Mailbox",
		"col.state":            "State",
		"col.lastpass":         "Last pass",
		"col.lastsuccess":      "Last success",
		"col.lasterror":        "Last error",
		"col.processed":        "Processed",
		"col.unrecognized":     "Unrecognized",
		"col.failed":           "Failed",
		"col.lastmessage":      "Last message stored",
		"col.checkpoint":       "Checkpoint (last UID)",
		"incidents.title":      "Sender-side incidents, last 7 days",
		"incidents.help":       "The receiver refused your sending, not the address: no recipient is suppressed. Fix the cause below; the counts fall when it is fixed.",
		"incidents.none":       "No sender-side incidents in the last 7 days.",
		"domains.title":        "Recipient domains, last 30 days",
		"domains.hard":         "Most hard bounces",
		"domains.soft":         "Most soft bounces",
		"domains.help":         "bounced sees bounces, not the mail that was delivered, so shares are of each domain's bounces; the sparkline shows all its bounces per day.",
		"domains.none":         "No bounces of this kind in the last 30 days.",
		"suppr.title":          "Suppression list",
		"suppr.search":         "Address or domain",
		"suppr.go":             "Search",
		"suppr.csv":            "Download the whole list as CSV",
		"suppr.none":           "No suppression in force matches.",
		"suppr.next":           "Next page",
		"suppr.first":          "First page",
		"suppr.why":            "Why (recorded in the audit)",
		"suppr.lift":           "Lift",
		"suppr.lifted":         "Lifted the suppression of %s.",
		"suppr.notsuppressed":  "%s is not suppressed.",
		"suppr.needreason":     "Say why the suppression is lifted.",
		"suppr.permanent":      "permanent",
		"suppr.manual":         "by hand",
		"mailboxes.title":      "Mailboxes",
		"mailboxes.none":       "No mailbox has been worked yet.",
		"mailboxes.help":       "Last pass and last error are those of this process since it started; the counts are all messages in the ledger.",
		"mailboxes.running":    "working",
		"mailboxes.ok":         "OK",
		"mailboxes.failing":    "failing",
		"mailboxes.idle":       "waiting",
		"mailboxes.notrun":     "not worked by this process",
		"never":                "never",
		"error.db":             "The database is unavailable. Try again later.",
		"error.internal":       "Something went wrong. The log says what.",
		"error.csrf":           "The form had expired or did not come from this page. Please try again.",
		"scope.recipient":      "Recipient: clean the list",
		"scope.sender":         "Sender: fix your sending",
		"scope.transient":      "Transient: retried",
		"scope.none":           "Not a failure",
		"verdict.suppress":     "Suppress (hard)",
		"verdict.soft":         "Soft (counted)",
		"verdict.alert":        "Alert (sender-side)",
		"verdict.ignore":       "Ignore",
	},
	"de": {
		"title":                "bounced-Status",
		"nav.overview":         "Übersicht",
		"nav.incidents":        "Absenderseitige Vorfälle",
		"nav.domains":          "Empfängerdomains",
		"nav.suppressions":     "Sperrliste",
		"nav.mailboxes":        "Postfächer",
		"lang.switch":          "Sprache",
		"signin.title":         "Anmelden",
		"signin.token":         "API-Token",
		"signin.submit":        "Anmelden",
		"signin.help":          "Geben Sie eines der API-Tokens dieses bounced ein (api_token_env oder api_token_file). Die Sitzung gilt %s Stunden.",
		"signin.wrong":         "Dieses Token wird nicht angenommen.",
		"signin.expired":       "Das Formular war abgelaufen. Bitte noch einmal.",
		"signout":              "Abmelden",
		"overview.chart":       "Bounces pro Tag, letzte 30 Tage, nach Grund",
		"overview.chart.empty": "Keine Bounces in den letzten 30 Tagen.",
		"overview.verdicts":    "Summen nach Urteil, letzte 30 Tage",
		"overview.suppr":       "Sperrliste",
		"overview.inforce":     "Jetzt gesperrt",
		"overview.started":     "Gesperrt in den letzten 30 Tagen (noch gültig)",
		"overview.lifted":      "Von Hand aufgehoben, letzte 30 Tage",
		"overview.held":        "Von der Bremse zurückgehalten, warten auf Freigabe",
		"overview.total":       "Alle Bounces, letzte 30 Tage",
		"overview.top":         "Absenderseitige Vorfälle, letzte 24 Stunden",
		"overview.top.none":    "Keine absenderseitigen Vorfälle in den letzten 24 Stunden.",
		"overview.more":        "Alle Vorfälle und was zu tun ist",
		"legend":               "Legende",
		"col.verdict":          "Urteil",
		"col.bounces":          "Bounces",
		"col.share":            "Anteil",
		"col.reason":           "Grund",
		"col.domain":           "Empfängerdomain",
		"col.mta":              "Meldender MTA",
		"col.24h":              "Letzte 24 Std.",
		"col.7d":               "Letzte 7 Tage",
		"col.lastseen":         "Zuletzt gesehen",
		"col.fix":              "Was zu tun ist",
		"col.hard":             "Harte Bounces",
		"col.soft":             "Weiche Bounces",
		"col.perday":           "Pro Tag",
		"col.hardshare":        "Harter Anteil an den Bounces der Domain",
		"col.softshare":        "Weicher Anteil an den Bounces der Domain",
		"col.trend":            "30 Tage",
		"col.address":          "Adresse",
		"col.since":            "Seit",
		"col.count":            "Bounces",
		"col.expires":          "Läuft ab",
		"col.evidence":         "Beleg",
		"col.lift":             "Aufheben",
		"col.mailbox":          "Postfach",
		"col.state":            "Zustand",
		"col.lastpass":         "Letzter Durchlauf",
		"col.lastsuccess":      "Letzter Erfolg",
		"col.lasterror":        "Letzter Fehler",
		"col.processed":        "Verarbeitet",
		"col.unrecognized":     "Nicht erkannt",
		"col.failed":           "Fehlgeschlagen",
		"col.lastmessage":      "Letzte Nachricht gespeichert",
		"col.checkpoint":       "Checkpoint (letzte UID)",
		"incidents.title":      "Absenderseitige Vorfälle, letzte 7 Tage",
		"incidents.help":       "Der Empfänger hat Ihren Versand abgelehnt, nicht die Adresse: niemand wird gesperrt. Beheben Sie die Ursache unten; die Zahlen sinken, sobald sie behoben ist.",
		"incidents.none":       "Keine absenderseitigen Vorfälle in den letzten 7 Tagen.",
		"domains.title":        "Empfängerdomains, letzte 30 Tage",
		"domains.hard":         "Die meisten harten Bounces",
		"domains.soft":         "Die meisten weichen Bounces",
		"domains.help":         "bounced sieht Bounces, nicht die zugestellte Post: Anteile beziehen sich auf die Bounces jeder Domain; die Sparkline zeigt alle ihre Bounces pro Tag.",
		"domains.none":         "Keine Bounces dieser Art in den letzten 30 Tagen.",
		"suppr.title":          "Sperrliste",
		"suppr.search":         "Adresse oder Domain",
		"suppr.go":             "Suchen",
		"suppr.csv":            "Ganze Liste als CSV herunterladen",
		"suppr.none":           "Keine gültige Sperre passt.",
		"suppr.next":           "Nächste Seite",
		"suppr.first":          "Erste Seite",
		"suppr.why":            "Warum (wird protokolliert)",
		"suppr.lift":           "Aufheben",
		"suppr.lifted":         "Die Sperre von %s ist aufgehoben.",
		"suppr.notsuppressed":  "%s ist nicht gesperrt.",
		"suppr.needreason":     "Bitte angeben, warum die Sperre aufgehoben wird.",
		"suppr.permanent":      "dauerhaft",
		"suppr.manual":         "von Hand",
		"mailboxes.title":      "Postfächer",
		"mailboxes.none":       "Noch kein Postfach bearbeitet.",
		"mailboxes.help":       "Letzter Durchlauf und letzter Fehler gelten für diesen Prozess seit seinem Start; die Zahlen umfassen alle Nachrichten im Verzeichnis.",
		"mailboxes.running":    "läuft",
		"mailboxes.ok":         "OK",
		"mailboxes.failing":    "gestört",
		"mailboxes.idle":       "wartet",
		"mailboxes.notrun":     "nicht von diesem Prozess bearbeitet",
		"never":                "nie",
		"error.db":             "Die Datenbank ist nicht erreichbar. Bitte später noch einmal.",
		"error.internal":       "Etwas ist schiefgegangen. Das Log sagt, was.",
		"error.csrf":           "Das Formular war abgelaufen oder kam nicht von dieser Seite. Bitte noch einmal.",
		"scope.recipient":      "Empfänger: Liste bereinigen",
		"scope.sender":         "Absender: Versand reparieren",
		"scope.transient":      "Vorübergehend: wird wiederholt",
		"scope.none":           "Kein Fehler",
		"verdict.suppress":     "Sperren (hart)",
		"verdict.soft":         "Weich (gezählt)",
		"verdict.alert":        "Warnung (Absender)",
		"verdict.ignore":       "Ignorieren",
	},
}

// reasonLabels names each reason of DESIGN.md in a few words per language.
var reasonLabels = map[string]map[string]string{
	"en": {
		"user_unknown": "Unknown user", "mailbox_disabled": "Mailbox disabled", "host_unknown": "Domain unknown",
		"bad_recipient_syntax": "Invalid address", "mailbox_full": "Mailbox full", "complaint": "Complaint",
		"auth_failure": "Authentication failed (SPF, DKIM, DMARC)", "blocklisted": "Blocklisted",
		"spam_content": "Rejected as spam", "policy_rejected": "Rejected by policy",
		"bad_sender_address": "Sender address rejected", "relay_denied": "Relay denied",
		"message_too_large": "Message too large", "virus": "Virus", "rate_limited": "Rate limited",
		"greylisted": "Greylisted", "server_error": "Server error", "network_error": "Network error",
		"expired": "Expired", "delayed": "Delayed", "auto_reply": "Auto-reply", "delivered": "Delivered",
		"unknown": "Unknown",
	},
	"de": {
		"user_unknown": "Empfänger unbekannt", "mailbox_disabled": "Postfach deaktiviert", "host_unknown": "Domain unbekannt",
		"bad_recipient_syntax": "Ungültige Adresse", "mailbox_full": "Postfach voll", "complaint": "Beschwerde",
		"auth_failure": "Authentifizierung gescheitert (SPF, DKIM, DMARC)", "blocklisted": "Auf einer Sperrliste",
		"spam_content": "Als Spam abgelehnt", "policy_rejected": "Durch Richtlinie abgelehnt",
		"bad_sender_address": "Absenderadresse abgelehnt", "relay_denied": "Relaying verweigert",
		"message_too_large": "Nachricht zu groß", "virus": "Virus", "rate_limited": "Gedrosselt",
		"greylisted": "Greylisting", "server_error": "Serverfehler", "network_error": "Netzwerkfehler",
		"expired": "Zustellung abgelaufen", "delayed": "Verzögert", "auto_reply": "Automatische Antwort",
		"delivered": "Zugestellt", "unknown": "Unbekannt",
	},
}

var monthNames = map[string][12]string{
	"en": {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
	"de": {"Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez."},
}

// L formats and translates for one language. Templates call its methods.
type L struct {
	Lang string
}

// T returns the label key in the language; a missing key shows as itself,
// which TestMessages prevents.
func (l L) T(key string) string {
	if s, ok := messages[l.Lang][key]; ok {
		return s
	}
	return key
}

// Tf returns the label key with its %s replaced by arg.
func (l L) Tf(key, arg string) string {
	return strings.Replace(l.T(key), "%s", arg, 1)
}

// Reason returns the name of a reason identifier in the language.
func (l L) Reason(reason string) string {
	if s, ok := reasonLabels[l.Lang][reason]; ok {
		return s
	}
	return reason
}

// Num formats n with the language's thousands separator.
func (l L) Num(n int64) string {
	sep := ","
	if l.Lang == "de" {
		sep = "."
	}
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// NumInt is Num for an int.
func (l L) NumInt(n int) string { return l.Num(int64(n)) }

// Percent formats part/whole as a percentage with one decimal in the
// language ("12.5 %", "12,5 %"); "–" when whole is 0.
func (l L) Percent(part, whole int64) string {
	if whole == 0 {
		return "–"
	}
	s := strconv.FormatFloat(float64(part)*100/float64(whole), 'f', 1, 64)
	if l.Lang == "de" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + "\u00a0%"
}

// PerDay formats n/days with one decimal in the language.
func (l L) PerDay(n int64, days int) string {
	s := strconv.FormatFloat(float64(n)/float64(days), 'f', 1, 64)
	if l.Lang == "de" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// Date formats the UTC day of t: "6 Dec 2026", "6. Dez. 2026".
func (l L) Date(t time.Time) string {
	t = t.UTC()
	m := monthNames[l.Lang][t.Month()-1]
	if l.Lang == "de" {
		return strconv.Itoa(t.Day()) + ". " + m + " " + strconv.Itoa(t.Year())
	}
	return strconv.Itoa(t.Day()) + " " + m + " " + strconv.Itoa(t.Year())
}

// Short formats the UTC day of t without the year: "6 Dec", "6.12.".
func (l L) Short(t time.Time) string {
	t = t.UTC()
	if l.Lang == "de" {
		return strconv.Itoa(t.Day()) + "." + strconv.Itoa(int(t.Month())) + "."
	}
	return strconv.Itoa(t.Day()) + " " + monthNames["en"][t.Month()-1]
}

// Time formats t in UTC with date and minute: "6 Dec 2026, 16:15 UTC";
// "never" (translated) for the zero time.
func (l L) Time(t time.Time) string {
	if t.IsZero() {
		return l.T("never")
	}
	return l.Date(t) + ", " + t.UTC().Format("15:04") + " UTC"
}

// DatePtr is Date for an optional time; nil gives "".
func (l L) DatePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return l.Date(*t)
}

// ISO formats t for a <time datetime> attribute.
func (l L) ISO(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// chooseLanguage returns the language of the request: the lang cookie (the
// switch) if it names one of Languages, else the best of Accept-Language,
// else English.
func chooseLanguage(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && known(c.Value) {
		return c.Value
	}
	return fromAcceptLanguage(r.Header.Get("Accept-Language"))
}

func known(lang string) bool {
	for _, l := range Languages {
		if l == lang {
			return true
		}
	}
	return false
}

// fromAcceptLanguage picks the language of Languages with the highest
// weight in an Accept-Language header (RFC 9110, 12.5.4), the earlier on a
// tie; English when none matches.
func fromAcceptLanguage(header string) string {
	best, bestQ := Languages[0], 0.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if !known(primary) {
			continue
		}
		q := 1.0
		if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				continue
			}
			q = f
		}
		if q > bestQ {
			best, bestQ = primary, q
		}
	}
	return best
}
