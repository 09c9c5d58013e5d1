package statuspage

import (
	"strconv"
	"strings"
	"time"

	"github.com/bounced/bounced/store"
)

// reasonOrder is the order of the reasons in the chart's stacks and legend:
// by scope (recipient, sender, transient, none), as in DESIGN.md.
var reasonOrder = []string{
	"user_unknown", "mailbox_disabled", "host_unknown", "bad_recipient_syntax", "mailbox_full", "complaint",
	"auth_failure", "blocklisted", "spam_content", "policy_rejected", "bad_sender_address", "relay_denied",
	"message_too_large", "virus", "rate_limited",
	"greylisted", "server_error", "network_error", "expired", "delayed",
	"auto_reply", "delivered", "unknown",
}

// reasonColours gives each reason a colour whose hue tells its scope:
// reds for the recipient (clean the list), ambers and browns for the
// sender (fix the sending), blues for transient failures, greys for the
// rest. Shades within a scope tell the reasons apart.
var reasonColours = map[string]string{
	"user_unknown": "#991b1b", "mailbox_disabled": "#dc2626", "host_unknown": "#f87171",
	"bad_recipient_syntax": "#fca5a5", "mailbox_full": "#be185d", "complaint": "#f472b6",
	"auth_failure": "#b45309", "blocklisted": "#f59e0b", "spam_content": "#fcd34d",
	"policy_rejected": "#92400e", "bad_sender_address": "#d97706", "relay_denied": "#78350f",
	"message_too_large": "#fbbf24", "virus": "#a16207", "rate_limited": "#fde68a",
	"greylisted": "#1e40af", "server_error": "#3b82f6", "network_error": "#93c5fd",
	"expired": "#1e3a8a", "delayed": "#60a5fa",
	"auto_reply": "#6b7280", "delivered": "#9ca3af", "unknown": "#d1d5db",
}

var reasonScope = map[string]string{}

func init() {
	scopes := []struct {
		scope   string
		reasons int
	}{{"recipient", 6}, {"sender", 9}, {"transient", 5}, {"none", 3}}
	i := 0
	for _, s := range scopes {
		for range s.reasons {
			reasonScope[reasonOrder[i]] = s.scope
			i++
		}
	}
}

// Chart geometry, in SVG user units.
const (
	chartLeft   = 56 // room for the axis labels
	chartTop    = 10
	chartHeight = 220
	barWidth    = 22
	barGap      = 6
	chartBottom = 40 // room for the day labels
)

// chart is the stacked bar chart of bounces per day, ready to be drawn.
type chart struct {
	Width, Height int
	Bars          []bar
	Ticks         []tick
	Legend        []legendGroup
	Total         int64
	Baseline      int // y of the zero line
	AxisX, LabelX int // x where the grid lines and their labels end
	Right         int // x where the grid lines end
}

type bar struct {
	X, LabelX int
	Label     string // the day, short
	ShowLabel bool
	Title     string // the day and its total, for hover
	Segments  []segment
}

type segment struct {
	X, W   int
	Y, H   int
	Colour string
	Title  string
}

type tick struct {
	Y     int
	Label string
}

type legendGroup struct {
	Scope   string
	Label   string
	Entries []legendEntry
}

type legendEntry struct {
	Reason, Label, Colour, Total string
}

// buildChart lays out the bounces of the days days ending today (UTC) as
// stacked bars.
func buildChart(l L, counts []store.DayReasonCount, today time.Time, days int) chart {
	start := today.AddDate(0, 0, 1-days)
	perDay := make([]map[string]int64, days)
	totals := make([]int64, days)
	byReason := make(map[string]int64)
	for _, c := range counts {
		i := int(c.Day.Sub(start).Hours() / 24)
		if i < 0 || i >= days {
			continue
		}
		if perDay[i] == nil {
			perDay[i] = make(map[string]int64)
		}
		perDay[i][c.Reason] += c.Bounces
		totals[i] += c.Bounces
		byReason[c.Reason] += c.Bounces
	}
	var peak, all int64
	for _, t := range totals {
		peak = max(peak, t)
		all += t
	}
	top := niceCeiling(peak)
	ch := chart{
		Width:    chartLeft + days*(barWidth+barGap) + 4,
		Height:   chartTop + chartHeight + chartBottom,
		Total:    all,
		Baseline: chartTop + chartHeight,
		Right:    chartLeft + days*(barWidth+barGap),
		AxisX:    chartLeft - 4,
		LabelX:   chartLeft - 6,
	}
	for k := 0; k <= 4; k++ {
		v := top * int64(k) / 4
		ch.Ticks = append(ch.Ticks, tick{Y: chartTop + chartHeight - scale(v, top), Label: l.Num(v)})
	}
	for i := range days {
		day := start.AddDate(0, 0, i)
		b := bar{
			X:         chartLeft + i*(barWidth+barGap) + barGap/2,
			Label:     l.Short(day),
			ShowLabel: (days-1-i)%5 == 0,
			Title:     l.Date(day) + ": " + l.Num(totals[i]),
		}
		b.LabelX = b.X + barWidth/2
		y := chartTop + chartHeight
		var cum int64
		for _, reason := range reasonOrder {
			n := perDay[i][reason]
			if n == 0 {
				continue
			}
			// Each segment spans from the scaled running total to the next,
			// so rounding never leaves gaps or overshoots the bar.
			lo := scale(cum, top)
			cum += n
			h := scale(cum, top) - lo
			if h == 0 {
				h = 1
			}
			b.Segments = append(b.Segments, segment{
				X: b.X, W: barWidth, Y: y - lo - h, H: h, Colour: reasonColours[reason],
				Title: l.Date(day) + " · " + l.Reason(reason) + ": " + l.Num(n),
			})
		}
		ch.Bars = append(ch.Bars, b)
	}
	for _, scope := range []string{"recipient", "sender", "transient", "none"} {
		g := legendGroup{Scope: scope, Label: l.T("scope." + scope)}
		for _, reason := range reasonOrder {
			if reasonScope[reason] != scope || byReason[reason] == 0 {
				continue
			}
			g.Entries = append(g.Entries, legendEntry{Reason: reason, Label: l.Reason(reason),
				Colour: reasonColours[reason], Total: l.Num(byReason[reason])})
		}
		if len(g.Entries) > 0 {
			ch.Legend = append(ch.Legend, g)
		}
	}
	return ch
}

// scale maps v in [0, top] to [0, chartHeight].
func scale(v, top int64) int {
	if top == 0 {
		return 0
	}
	return int(v * chartHeight / top)
}

// niceCeiling returns the top of the axis for a peak of n: four ticks
// whose step is 1, 2 or 5 times a power of ten.
func niceCeiling(n int64) int64 {
	step := max((n+3)/4, 1)
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= step {
				return 4 * m * p
			}
		}
	}
}

// sparkline returns the points of a polyline drawing values in a box of
// width w and height h, and the box's size.
type sparkline struct {
	Width, Height int
	Points        string
	Title         string
}

func buildSparkline(l L, values []int64, w, h int) sparkline {
	var peak int64
	for _, v := range values {
		peak = max(peak, v)
	}
	var pts []string
	for i, v := range values {
		x := 1
		if len(values) > 1 {
			x = 1 + i*(w-2)/(len(values)-1)
		}
		y := h - 1
		if peak > 0 {
			y = h - 1 - int(v*int64(h-2)/peak)
		}
		pts = append(pts, strconv.Itoa(x)+","+strconv.Itoa(y))
	}
	return sparkline{Width: w, Height: h, Points: strings.Join(pts, " "), Title: l.T("col.trend") + ": max " + l.Num(peak)}
}
