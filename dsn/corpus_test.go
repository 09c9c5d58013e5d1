package dsn

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// corpusLabel is one expected recipient result (see ../shared/corpus/score).
type corpusLabel struct {
	File          string   `json:"file"`
	Index         int      `json:"index"`
	Recipient     string   `json:"recipient"`
	Status        string   `json:"status"`
	SMTPCode      int      `json:"smtp_code"`
	Reasons       []string `json:"reasons"`
	Side          string   `json:"side"`
	Hard          *bool    `json:"hard"`
	SisimaiReason string   `json:"sisimai_reason"`
}

func readLabels(tb testing.TB, path string) []corpusLabel {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatalf("opening labels: %v", err)
	}
	defer f.Close()
	var labels []corpusLabel
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var l corpusLabel
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			tb.Fatalf("reading %s: %v", path, err)
		}
		labels = append(labels, l)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("reading %s: %v", path, err)
	}
	return labels
}

// corpusScore holds the metrics of ../shared/corpus/score (sisimai mode).
type corpusScore struct {
	records, detected            int
	recipientOK, recipientN      int
	statusOK, statusN            int
	codeOK, codeN                int
	reasonOK, reasonN            int
	wrongfulSuppress, missedHard int
	// extraSuppress counts results with verdict suppress that pair with no
	// label: an address the message does not name as failed (a fragment,
	// our own sender, a header quoted from the original).
	extraSuppress int
	byPeerReason  map[string][2]int // ok, n
	misses        []string
}

func pct(a, b int) float64 {
	if b == 0 {
		return 100
	}
	return 100 * float64(a) / float64(b)
}

// scoreCorpus parses every labelled message and scores the results the way
// the corpus's score script does: each label is paired with the result of
// the same file and recipient, else with the next unused result of the file.
func scoreCorpus(tb testing.TB, emails string, labels []corpusLabel) corpusScore {
	tb.Helper()
	results := make(map[string][]Result)
	for _, l := range labels {
		if _, done := results[l.File]; done {
			continue
		}
		f, err := os.Open(filepath.Join(emails, l.File))
		if err != nil {
			tb.Fatalf("opening %s: %v", l.File, err)
		}
		rep, err := Parse(f, Options{})
		f.Close()
		if err != nil {
			tb.Errorf("parsing %s: %v", l.File, err)
			results[l.File] = nil
			continue
		}
		results[l.File] = rep.Results()
	}
	byFile := make(map[string][]corpusLabel)
	for _, l := range labels {
		byFile[l.File] = append(byFile[l.File], l)
	}
	s := corpusScore{byPeerReason: make(map[string][2]int)}
	files := make([]string, 0, len(byFile))
	for f := range byFile {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, file := range files {
		ls := byFile[file]
		sort.Slice(ls, func(i, j int) bool { return ls[i].Index < ls[j].Index })
		preds := results[file]
		used := make([]bool, len(preds))
		for _, l := range ls {
			s.records++
			var got *Result
			want := strings.ToLower(l.Recipient)
			for i := range preds {
				if want != "" && !used[i] && strings.ToLower(preds[i].Recipient) == want {
					got, used[i] = &preds[i], true
					break
				}
			}
			for i := range preds {
				if got == nil && !used[i] {
					got, used[i] = &preds[i], true
				}
			}
			if got == nil {
				got = &Result{}
			}
			miss := func(field string, want, have any) {
				s.misses = append(s.misses, fmt.Sprintf("%s#%d %s: want %v, got %v", file, l.Index, field, want, have))
			}
			if got.Recipient != "" {
				s.detected++
			} else {
				miss("detected", want, "nothing")
			}
			if want != "" {
				s.recipientN++
				if strings.ToLower(got.Recipient) == want {
					s.recipientOK++
				} else {
					miss("recipient", want, got.Recipient)
				}
			}
			if l.Status != "" {
				s.statusN++
				if got.Status == l.Status {
					s.statusOK++
				} else {
					miss("status", l.Status, got.Status)
				}
			}
			if l.SMTPCode != 0 {
				s.codeN++
				if got.SMTPCode == l.SMTPCode {
					s.codeOK++
				} else {
					miss("smtp_code", l.SMTPCode, got.SMTPCode)
				}
			}
			br := s.byPeerReason[l.SisimaiReason]
			br[1]++
			if len(l.Reasons) > 0 {
				s.reasonN++
				ok := false
				for _, r := range l.Reasons {
					ok = ok || Reason(r) == got.Reason
				}
				if ok {
					s.reasonOK++
					br[0]++
				} else {
					miss("reason", strings.Join(l.Reasons, "|"), got.Reason)
				}
			}
			s.byPeerReason[l.SisimaiReason] = br
			if l.Side != "recipient" && got.Verdict == VerdictSuppress {
				s.wrongfulSuppress++
				miss("wrongful_suppress", l.SisimaiReason, got.Reason)
			}
			if l.Hard != nil && *l.Hard && got.Verdict != VerdictSuppress {
				s.missedHard++
				miss("missed_hard", l.SisimaiReason, got.Verdict)
			}
		}
		for i := range preds {
			if !used[i] && preds[i].Verdict == VerdictSuppress {
				s.extraSuppress++
				s.misses = append(s.misses, fmt.Sprintf("%s extra_suppress: %s", file, preds[i].Recipient))
			}
		}
	}
	return s
}

func (s corpusScore) report(tb testing.TB) {
	tb.Helper()
	tb.Logf("score: records=%d detected=%.1f%% recipient=%.1f%% status=%.1f%% smtp_code=%.1f%% reason=%.1f%% wrongful_suppress=%d missed_hard=%d extra_suppress=%d",
		s.records, pct(s.detected, s.records), pct(s.recipientOK, s.recipientN), pct(s.statusOK, s.statusN),
		pct(s.codeOK, s.codeN), pct(s.reasonOK, s.reasonN), s.wrongfulSuppress, s.missedHard, s.extraSuppress)
	reasons := make([]string, 0, len(s.byPeerReason))
	for r := range s.byPeerReason {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	var b strings.Builder
	b.WriteString("reason right, by the peer's label:\n")
	for _, r := range reasons {
		fmt.Fprintf(&b, "  %-18s %d/%d\n", r, s.byPeerReason[r][0], s.byPeerReason[r][1])
	}
	tb.Log(b.String())
	if testing.Verbose() {
		tb.Log("misses:\n  " + strings.Join(s.misses, "\n  "))
	}
}

// corpusBar is the bar a corpus score must meet.
type corpusBar struct {
	detected, recipient, status, smtpCode, reason float64
	wrongfulSuppress, missedHard, extraSuppress   int
}

func (s corpusScore) check(tb testing.TB, bar corpusBar) {
	tb.Helper()
	checkPct := func(name string, got, min float64) {
		if got < min {
			tb.Errorf("%s = %.1f%%, below the bar of %.1f%%", name, got, min)
		}
	}
	checkPct("detected", pct(s.detected, s.records), bar.detected)
	checkPct("recipient", pct(s.recipientOK, s.recipientN), bar.recipient)
	checkPct("status", pct(s.statusOK, s.statusN), bar.status)
	checkPct("smtp_code", pct(s.codeOK, s.codeN), bar.smtpCode)
	checkPct("reason", pct(s.reasonOK, s.reasonN), bar.reason)
	if s.wrongfulSuppress > bar.wrongfulSuppress {
		tb.Errorf("wrongful_suppress = %d, above the bar of %d", s.wrongfulSuppress, bar.wrongfulSuppress)
	}
	if s.missedHard > bar.missedHard {
		tb.Errorf("missed_hard = %d, above the bar of %d", s.missedHard, bar.missedHard)
	}
	if s.extraSuppress > bar.extraSuppress {
		tb.Errorf("extra_suppress = %d, above the bar of %d", s.extraSuppress, bar.extraSuppress)
	}
}

// TestCorpus scores the parser on the real bounces of ../shared/corpus
// against the bar of issue 12: detected ≥ 98.5 %, reason ≥ 92 %, no
// wrongful and no extra suppression (an address the message does not name
// as failed), at most two missed hard bounces.
// The two missed hard bounces left are not
// parsing failures but decisions:
//   - lhost-opensmtpd-12 is an "Action: delayed" warning ("No MX found"):
//     DESIGN.md makes every delay warning reason delayed, a soft bounce.
//   - rhost-aol-06 and lhost-postfix-17 carry the same 5.4.4 "Malformed or
//     unexpected name server reply"; the labels call one a hard host_unknown
//     and the other a transient network error. Suppressing both would be a
//     wrongful suppression, the costlier mistake; we suppress neither.
func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	s := scoreCorpus(t, filepath.Join(dir, "emails"), readLabels(t, filepath.Join(dir, "labels.jsonl")))
	s.report(t)
	s.check(t, corpusBar{detected: 98.5, recipient: 97, status: 97, smtpCode: 95, reason: 92, wrongfulSuppress: 0, missedHard: 2, extraSuppress: 0})
}

// TestCorpusRig scores the bounces that real Postfix and Exim wrote for
// rejections of known kinds.
//
// The reason bar is 93.3 % (56 of 60), what it was before issue 12, so it
// cannot drop; not 95 %: the four remaining misses (56 of 60
// right) are replies whose rig label contradicts the main corpus's label for
// the same reply text, so no rule can satisfy both:
//   - Yahoo's "554 5.7.9 Message not accepted for policy reasons" (Postfix
//     and Exim): the rig says auth_failure, the main corpus says
//     policy_rejected three times (lhost-dragonfly-03, lhost-postfix-66,
//     rhost-yahooinc-01).
//   - Yahoo's "421 4.7.0 [TSS04] ... temporarily deferred due to unexpected
//     volume or user complaints" (Postfix and Exim, given up on): the rig
//     says expired, greylisted or server_error, the main corpus blocklisted
//     (lhost-opensmtpd-13) or a policy rejection (rhost-yahooinc-02). We
//     answer blocklisted: an alert, never a suppression.
func TestCorpusRig(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "rig")
	s := scoreCorpus(t, filepath.Join(dir, "emails"), readLabels(t, filepath.Join(dir, "labels.jsonl")))
	s.report(t)
	s.check(t, corpusBar{detected: 100, recipient: 100, status: 100, smtpCode: 100, reason: 93.3, wrongfulSuppress: 0, missedHard: 0, extraSuppress: 0})
}

// tbRecorder is a testing.TB that records failures instead of failing.
type tbRecorder struct {
	testing.TB
	errors []string
}

func (r *tbRecorder) Helper() {}

func (r *tbRecorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// TestCorpusBarBites checks that a score below each bar fails the corpus
// tests, extra suppressions included.
func TestCorpusBarBites(t *testing.T) {
	bar := corpusBar{detected: 98.5, reason: 92, missedHard: 2}
	good := corpusScore{records: 100, detected: 99, reasonOK: 92, reasonN: 100, missedHard: 2}
	for name, s := range map[string]corpusScore{
		"detected":          func() corpusScore { s := good; s.detected = 98; return s }(),
		"reason":            func() corpusScore { s := good; s.reasonOK = 91; return s }(),
		"wrongful_suppress": func() corpusScore { s := good; s.wrongfulSuppress = 1; return s }(),
		"missed_hard":       func() corpusScore { s := good; s.missedHard = 3; return s }(),
		"extra_suppress":    func() corpusScore { s := good; s.extraSuppress = 1; return s }(),
	} {
		r := &tbRecorder{TB: t}
		s.check(r, bar)
		if len(r.errors) != 1 || !strings.HasPrefix(r.errors[0], name) {
			t.Errorf("%s below the bar: errors %q", name, r.errors)
		}
	}
	r := &tbRecorder{TB: t}
	good.check(r, bar)
	if len(r.errors) != 0 {
		t.Errorf("a score at the bar fails: %q", r.errors)
	}
}
