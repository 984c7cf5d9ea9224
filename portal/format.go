package portal

import (
	"math"
	"strings"
	"time"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/number"
)

// Formatting in a catalog's language. Numbers go through x/text, so German
// gets "1,5", French "1 234" and Arabic its own digits; dates and
// durations are built from such numbers and the catalog's patterns, so
// every digit on a page is written the same way.

// fill replaces each {name} in pattern by its value; kv alternates names
// (without braces) and values.
func fill(pattern string, kv ...string) string {
	if len(kv) == 0 || !strings.Contains(pattern, "{") {
		return pattern
	}
	pairs := make([]string, 0, len(kv))
	for i := 0; i+1 < len(kv); i += 2 {
		pairs = append(pairs, "{"+kv[i]+"}", kv[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(pattern)
}

// integer writes n with the language's digits and grouping.
func (c *catalog) integer(n int64) string {
	return c.printer.Sprint(number.Decimal(n))
}

// digits writes n with the language's digits, at least width of them and
// without grouping: for years, days and hours.
func (c *catalog) digits(n, width int) string {
	return c.printer.Sprint(number.Decimal(n, number.MinIntegerDigits(width), number.NoSeparator()))
}

// plural returns the plural message key for n, e.g. "7 Tage".
func (c *catalog) plural(key string, n int64) string {
	forms := c.plurals[key]
	// MatchPlural takes an int; counts beyond it only happen for bugs.
	f := plural.Cardinal.MatchPlural(c.tag, int(min(n, math.MaxInt32)), 0, 0, 0, 0)
	s, ok := forms[f]
	if !ok {
		s = forms[plural.Other]
	}
	return fill(s, "n", c.integer(n))
}

const (
	mebibyte = 1 << 20
	gibibyte = 1 << 30
)

// bytes writes an amount of data in MB or GB (binary, as phones count),
// rounded down to one decimal below 10 and to whole units above, so a
// remaining allowance is never overstated.
func (c *catalog) bytes(n int64) string {
	n = max(n, 0)
	key, unit := "unit.mb", float64(mebibyte)
	if n >= gibibyte {
		key, unit = "unit.gb", gibibyte
	}
	x := float64(n) / unit
	if x < 10 {
		x = math.Floor(x*10) / 10
	} else {
		x = math.Floor(x)
	}
	return fill(c.msgs[key], "n", c.printer.Sprint(number.Decimal(x, number.MaxFractionDigits(1))))
}

// duration writes d in hours and minutes, rounded down to the minute.
func (c *catalog) duration(d time.Duration) string {
	mins := int64(max(d, 0) / time.Minute)
	h, m := mins/60, mins%60
	switch {
	case h == 0:
		return c.plural("unit.minutes", m)
	case m == 0:
		return c.plural("unit.hours", h)
	}
	return fill(c.msgs["format.duration"], "h", c.plural("unit.hours", h), "m", c.plural("unit.minutes", m))
}

// period writes a retention period: whole days when it is a number of days,
// else hours, rounded up so the page never promises a shorter period than
// the configured one.
func (c *catalog) period(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return c.plural("unit.days", int64(d/(24*time.Hour)))
	}
	return c.plural("unit.hours", int64((d+time.Hour-1)/time.Hour))
}

// datetime writes t, already in the portal's time zone, with the
// language's date pattern.
func (c *catalog) datetime(t time.Time) string {
	return fill(c.msgs["format.datetime"],
		"d", c.digits(t.Day(), 2), "m", c.digits(int(t.Month()), 2), "y", c.digits(t.Year(), 4),
		"H", c.digits(t.Hour(), 2), "M", c.digits(t.Minute(), 2))
}
