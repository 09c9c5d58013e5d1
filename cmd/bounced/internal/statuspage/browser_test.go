package statuspage_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// ScreenshotDir is where TestBrowser writes its screenshots, one per page
// and language, for a person to look at (emptied at the start of each run).
// BOUNCED_SCREENSHOTS names another folder.
func screenshotDir() string {
	if d := os.Getenv("BOUNCED_SCREENSHOTS"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "bounced-statuspage-screenshots")
}

// chromium returns the path of headless Chromium (Debian's chromium
// package, or BOUNCED_CHROMIUM). Without it the test is skipped, or fails
// with CI=true.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("BOUNCED_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium is not installed (CI=true): the browser test needs Debian's chromium package")
	}
	t.Skip("Chromium is not installed: skipping the browser test")
	return ""
}

// consoleLine is how Chromium logs a console message (errors, CSP
// violations, resources that failed to load) with --enable-logging=stderr.
var consoleLine = regexp.MustCompile(`(?m)^.*:CONSOLE[:(].*$`)

// TestBrowser loads every page in headless Chromium, in English and in
// German (chosen by the browser's Accept-Language), against a database
// seeded with 100,000 events over 30 days. It writes a screenshot of each,
// and checks the chart, the tables, the language, that the markup seeded
// into diagnostics and an address stays text, and that the console stays
// empty: no error, no refused resource, no script run.
func TestBrowser(t *testing.T) {
	bin := chromium(t)
	st := newStore(t)
	start := time.Now()
	seed(t, st, 100_000)
	t.Logf("seeded 100,000 events in %s", time.Since(start).Round(time.Millisecond))

	// Chromium's command line cannot sign in through the form (the
	// handler tests do that); it sends the API's bearer header, as a
	// monitoring script would.
	mux := http.NewServeMux()
	newPage(t, st, nil).Register(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+testToken)
		mux.ServeHTTP(w, r)
	}))
	defer srv.Close()

	dir := screenshotDir()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	fmt.Fprintf(os.Stderr, "TestBrowser: screenshots in %s\n", dir)

	type check struct {
		path string
		// want are strings the page must contain in each language.
		want map[string][]string
		// rows are the table ids whose body must have at least min rows.
		rows map[string]int
	}
	checks := []check{
		{"/", map[string][]string{
			"en": {"Bounces per day, last 30 days, by reason", "Unknown user", "Recipient: clean the list", "Totals by verdict", "What to do"},
			"de": {"Bounces pro Tag, letzte 30 Tage, nach Grund", "Empfänger unbekannt", "Empfänger: Liste bereinigen", "Summen nach Urteil", "Was zu tun ist"},
		}, map[string]int{"verdicts": 4, "recent-incidents": 5}},
		{"/incidents", map[string][]string{
			"en": {"Sender-side incidents, last 7 days", "Authentication failed (SPF, DKIM, DMARC)", "What to do"},
			"de": {"Absenderseitige Vorfälle, letzte 7 Tage", "Authentifizierung gescheitert (SPF, DKIM, DMARC)", "Was zu tun ist"},
		}, map[string]int{"incidents-table": 20}},
		{"/domains", map[string][]string{
			"en": {"Most hard bounces", "Most soft bounces", "gmail.com"},
			"de": {"Die meisten harten Bounces", "Die meisten weichen Bounces", "gmail.com"},
		}, map[string]int{"domains-hard": 16, "domains-soft": 16}},
		{"/suppressions", map[string][]string{
			"en": {"Suppression list", "Next page", "Download the whole list as CSV", "&lt;script&gt;console.error(1)&lt;/script&gt;"},
			"de": {"Sperrliste", "Nächste Seite", "Ganze Liste als CSV herunterladen", "&lt;script&gt;console.error(1)&lt;/script&gt;"},
		}, map[string]int{"suppressions-table": 50}},
		{"/mailboxes", map[string][]string{
			"en": {"Mailboxes", "bounces", "support", "Unrecognized", "&lt;b&gt;bad&lt;/b&gt;"},
			"de": {"Postfächer", "bounces", "support", "Nicht erkannt", "&lt;b&gt;bad&lt;/b&gt;"},
		}, map[string]int{"mailboxes-table": 2}},
	}
	other := map[string]string{"en": ">Übersicht<", "de": ">Overview<"}
	for _, lang := range []string{"en", "de"} {
		for _, c := range checks {
			name := lang + strings.ReplaceAll(strings.TrimSuffix(c.path, "/"), "/", "-")
			if c.path == "/" {
				name = lang + "-overview"
			}
			shot := filepath.Join(dir, name+".png")
			dom, console := runChromium(t, bin, lang, srv.URL+c.path, shot)
			if lines := consoleLine.FindAllString(console, -1); len(lines) > 0 {
				t.Errorf("%s (%s): console messages:\n%s", c.path, lang, strings.Join(lines, "\n"))
			}
			if !strings.Contains(dom, `<html lang="`+lang+`">`) {
				t.Errorf("%s (%s): <html lang> is not %s", c.path, lang, lang)
			}
			if strings.Contains(dom, other[lang]) {
				t.Errorf("%s (%s): the navigation is in the other language", c.path, lang)
			}
			for _, w := range c.want[lang] {
				if !strings.Contains(dom, w) {
					t.Errorf("%s (%s): page lacks %q", c.path, lang, w)
				}
			}
			for id, min := range c.rows {
				if n := tableRows(dom, id); n < min {
					t.Errorf("%s (%s): table #%s has %d rows, want at least %d", c.path, lang, id, n, min)
				}
			}
			if strings.Contains(dom, "<script") {
				t.Errorf("%s (%s): a <script> element is in the DOM: markup from a bounce was not escaped", c.path, lang)
			}
			if c.path == "/" {
				checkChart(t, lang, dom)
			}
			if c.path == "/domains" && strings.Count(dom, "<polyline") < 32 {
				t.Errorf("/domains (%s): %d sparklines, want one per row", lang, strings.Count(dom, "<polyline"))
			}
			checkScreenshot(t, shot)
		}
	}
}

// runChromium loads url in a fresh headless Chromium with the language
// lang, writes a screenshot to shot, and returns the DOM after load and
// what Chromium logged.
func runChromium(t *testing.T, bin, lang, url, shot string) (dom, log string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-default-apps", "--hide-scrollbars",
		"--user-data-dir="+t.TempDir(), "--lang="+lang, "--accept-lang="+lang,
		"--enable-logging=stderr", "--v=0", "--window-size=1400,1600",
		"--screenshot="+shot, "--dump-dom", url)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s (%s): %v\n%s", url, lang, err, stderr.String())
	}
	t.Logf("%s (%s): loaded and shot in %s", url, lang, time.Since(start).Round(time.Millisecond))
	return stdout.String(), stderr.String()
}

// tableRows counts the rows in the body of the table with the id.
func tableRows(dom, id string) int {
	i := strings.Index(dom, `<table id="`+id+`"`)
	if i < 0 {
		return 0
	}
	table := dom[i:]
	if end := strings.Index(table, "</table>"); end >= 0 {
		table = table[:end]
	}
	body := table[max(strings.Index(table, "<tbody>"), 0):]
	return strings.Count(body, "<tr")
}

var (
	barRE     = regexp.MustCompile(`<g class="bar"><title>([^<]*)</title>`)
	segmentRE = regexp.MustCompile(`<rect x="\d+" y="\d+" width="\d+" height="(\d+)" fill="(#[0-9a-f]{6})"><title>([^<]*)</title></rect>`)
)

// checkChart checks the overview's chart: 30 bars, each with a hover
// total; stacked segments with hover numbers, in several colours; the
// legend naming the reasons of all four scopes' colours that occur.
func checkChart(t *testing.T, lang, dom string) {
	t.Helper()
	if !strings.Contains(dom, `<svg id="bounces-chart"`) {
		t.Errorf("overview (%s): no chart", lang)
		return
	}
	bars := barRE.FindAllStringSubmatch(dom, -1)
	if len(bars) != 30 {
		t.Errorf("overview (%s): %d bars, want 30", lang, len(bars))
	}
	segments := segmentRE.FindAllStringSubmatch(dom, -1)
	colours := make(map[string]bool)
	var tall int
	for _, s := range segments {
		colours[s[2]] = true
		if s[1] != "0" {
			tall++
		}
		if !regexp.MustCompile(`: [0-9][0-9.,]*$`).MatchString(s[3]) {
			t.Errorf("overview (%s): segment title %q has no number", lang, s[3])
			break
		}
	}
	if len(segments) < 30*10 || tall < 30*10 {
		t.Errorf("overview (%s): %d stacked segments (%d visible), want at least 10 per day", lang, len(segments), tall)
	}
	if len(colours) < 15 {
		t.Errorf("overview (%s): %d colours, want one per seeded reason", lang, len(colours))
	}
	if n := strings.Count(dom, `<li data-reason="`); n < 15 {
		t.Errorf("overview (%s): legend has %d reasons, want at least 15", lang, n)
	}
}

// checkScreenshot checks the screenshot is a PNG of the window's size.
func checkScreenshot(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Errorf("screenshot %s: %v", path, err)
		return
	}
	if cfg.Width < 1000 || cfg.Height < 1000 {
		t.Errorf("screenshot %s is %dx%d, want the 1400x1600 window", path, cfg.Width, cfg.Height)
	}
}
