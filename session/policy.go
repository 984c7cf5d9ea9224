package session

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Window is the period that a policy's data and online-time allowances
// cover. Every window starts at local midnight in the configured time zone:
// a day at midnight, a week on Monday (ISO 8601), a month on its first.
// On daylight-saving change days a day is 23 or 25 hours long.
type Window string

// The windows a policy can count in.
const (
	WindowDay   Window = "day"
	WindowWeek  Window = "week"
	WindowMonth Window = "month"
)

// windows lists every window, in the order the ledger keeps them.
var windows = []Window{WindowDay, WindowWeek, WindowMonth}

// Action is what happens when a device has used up its data allowance.
type Action string

// The over-quota actions.
const (
	// ActionThrottle keeps the device online at the policy's throttled
	// rate until the window ends: a CoA-Request slows its running
	// sessions, and new logins are accepted at that rate.
	ActionThrottle Action = "throttle"
	// ActionDisconnect ends the device's sessions with a
	// Disconnect-Request and rejects its logins until the window ends.
	ActionDisconnect Action = "disconnect"
)

// DefaultPolicyName is the name of the default policy when the config
// gives it none.
const DefaultPolicyName = "default"

// Match selects where a policy applies. Within a field any entry may
// match; fields that are set must all match.
type Match struct {
	// NAS names NASes (nas[].name).
	NAS []string `yaml:"nas"`
	// SSID names SSIDs, as the NAS reports them in Called-Station-Id.
	SSID []string `yaml:"ssid"`
	// Group names location groups (nas[].group).
	Group []string `yaml:"group"`
}

// IsZero reports whether m sets nothing, and so would match everywhere.
func (m Match) IsZero() bool { return len(m.NAS) == 0 && len(m.SSID) == 0 && len(m.Group) == 0 }

func (m Match) matches(nas, group, ssid string) bool {
	return (len(m.NAS) == 0 || slices.Contains(m.NAS, nas)) &&
		(len(m.SSID) == 0 || slices.Contains(m.SSID, ssid)) &&
		(len(m.Group) == 0 || group != "" && slices.Contains(m.Group, group))
}

// Policy is what a device may use where it applies: the allowances per
// window, kept across every access point and NAS, and the limits put into
// every Access-Accept.
type Policy struct {
	// Name identifies the policy in logs, metrics and the status pages.
	Name string `yaml:"name"`
	// Match selects where the policy applies; only the policies of
	// Config.Policies have one, the default applies everywhere else.
	Match Match `yaml:"match"`
	// Window is what the allowances cover: day (default), week or month.
	Window Window `yaml:"window"`
	// Data is the data a device may transfer per window, both directions
	// together. 0 means unlimited.
	Data ByteSize `yaml:"data"`
	// OnlineTime is the time a device may be online per window, summed
	// over its sessions. 0 means unlimited. When it is used up the device
	// is disconnected, whatever OverQuota says: there is no slower time.
	OnlineTime time.Duration `yaml:"online_time"`
	// SessionTimeout ends a session after this long (Session-Timeout).
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// IdleTimeout ends a session after this long without traffic.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// InterimInterval is how often the NAS sends Interim-Updates; a
	// session silent for three intervals expires.
	InterimInterval time.Duration `yaml:"interim_interval"`
	// BandwidthDown and BandwidthUp limit the device's rate, seen from the
	// device: down is what it receives. 0 means unlimited.
	BandwidthDown BitRate `yaml:"bandwidth_down"`
	BandwidthUp   BitRate `yaml:"bandwidth_up"`
	// OverQuota is what happens when Data is used up: throttle or
	// disconnect. Required when Data is set.
	OverQuota Action `yaml:"over_quota"`
	// ThrottleDown and ThrottleUp are the rates of a throttled device; 0
	// leaves that direction at its normal rate.
	ThrottleDown BitRate `yaml:"throttle_down"`
	ThrottleUp   BitRate `yaml:"throttle_up"`
}

// throttledRates returns the rates of a throttled device: the throttle
// rates, and the normal rate of a direction without one.
func (p Policy) throttledRates() (down, up BitRate) {
	down, up = p.BandwidthDown, p.BandwidthUp
	if p.ThrottleDown > 0 {
		down = p.ThrottleDown
	}
	if p.ThrottleUp > 0 {
		up = p.ThrottleUp
	}
	return down, up
}

// limited reports whether p has an allowance, so that its sessions end
// with the window.
func (p Policy) limited() bool { return p.Data > 0 || p.OnlineTime > 0 }

func (p Policy) withDefaults() Policy {
	if p.Window == "" {
		p.Window = WindowDay
	}
	if p.InterimInterval == 0 {
		p.InterimInterval = DefaultInterimInterval
	}
	return p
}

// validate reports the problems of p, a policy called what in messages
// ("policy" or "policies[2]"). groups maps NAS names to their location
// group; nil skips checking the names in p.Match.
func (p Policy) validate(what string, groups map[string]string) []error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(what+format, args...))
	}
	if p.Name != "" && !validName(p.Name) {
		add(".name %q: use at most 64 letters, digits, '-', '_' and '.'", p.Name)
	}
	switch p.Window {
	case WindowDay, WindowWeek, WindowMonth:
	default:
		add(".window %q is not one of day, week, month", p.Window)
	}
	if p.Data < 0 {
		add(".data must not be negative")
	}
	if p.OnlineTime < 0 {
		add(".online_time must not be negative")
	} else if p.OnlineTime > 0 && p.OnlineTime < time.Minute {
		add(".online_time %v is below 1m", p.OnlineTime)
	}
	if p.SessionTimeout < 0 {
		add(".session_timeout must not be negative")
	}
	if p.IdleTimeout < 0 {
		add(".idle_timeout must not be negative")
	}
	if p.InterimInterval < time.Minute {
		add(".interim_interval %v is below 1m", p.InterimInterval)
	}
	if p.BandwidthDown < 0 || p.BandwidthUp < 0 || p.ThrottleDown < 0 || p.ThrottleUp < 0 {
		add(": bandwidths must not be negative")
	}
	switch {
	case p.OverQuota == "" && p.Data > 0:
		add(".over_quota is required with data: throttle or disconnect")
	case p.OverQuota == "":
	case p.OverQuota != ActionThrottle && p.OverQuota != ActionDisconnect:
		add(".over_quota %q is not one of throttle, disconnect", p.OverQuota)
	case p.Data == 0:
		add(".over_quota %q has no effect without data", p.OverQuota)
	}
	if p.OverQuota == ActionThrottle {
		if p.ThrottleDown <= 0 && p.ThrottleUp <= 0 {
			add(": over_quota throttle needs throttle_down or throttle_up")
		}
		if p.ThrottleDown > 0 && p.BandwidthDown > 0 && p.ThrottleDown >= p.BandwidthDown {
			add(".throttle_down %v is not below bandwidth_down %v", p.ThrottleDown, p.BandwidthDown)
		}
		if p.ThrottleUp > 0 && p.BandwidthUp > 0 && p.ThrottleUp >= p.BandwidthUp {
			add(".throttle_up %v is not below bandwidth_up %v", p.ThrottleUp, p.BandwidthUp)
		}
	} else if p.ThrottleDown != 0 || p.ThrottleUp != 0 {
		add(": throttle_down and throttle_up need over_quota throttle")
	}
	for _, n := range p.Match.NAS {
		if _, ok := groups[n]; groups != nil && !ok {
			add(".match.nas: no NAS is called %q", n)
		}
	}
	for _, g := range p.Match.Group {
		if groups != nil && !slices.Contains(mapValues(groups), g) {
			add(".match.group: no NAS is in group %q", g)
		}
	}
	for _, s := range p.Match.SSID {
		if s == "" {
			add(".match.ssid: an empty SSID never matches")
		}
	}
	return errs
}

func mapValues(m map[string]string) []string {
	v := make([]string, 0, len(m))
	for _, x := range m {
		v = append(v, x)
	}
	return v
}

// validName reports whether s can name a policy or a location group: it
// appears in logs, metrics and keys.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// validatePolicies checks the default policy def and the matched ones.
func validatePolicies(def Policy, rules []Policy, groups map[string]string) []error {
	var errs []error
	errs = append(errs, def.validate("policy", groups)...)
	if !def.Match.IsZero() {
		errs = append(errs, errors.New("policy.match: the default policy applies wherever no entry of policies matches; give match to those"))
	}
	names := map[string]string{def.Name: "policy"}
	for i, p := range rules {
		what := fmt.Sprintf("policies[%d]", i)
		errs = append(errs, p.validate(what, groups)...)
		switch {
		case p.Name == "":
			errs = append(errs, fmt.Errorf("%s.name is required", what))
		case names[p.Name] != "":
			errs = append(errs, fmt.Errorf("%s.name %q is also the name of %s", what, p.Name, names[p.Name]))
		default:
			names[p.Name] = what
		}
		if p.Match.IsZero() {
			errs = append(errs, fmt.Errorf("%s.match is required: a policy without one would apply everywhere (that is the default policy)", what))
		}
	}
	return errs
}

// NASGroups returns the location group of each NAS by name, for
// Config.NASGroups.
func NASGroups(nases []NAS) map[string]string {
	m := make(map[string]string, len(nases))
	for _, n := range nases {
		m[n.Name] = n.Group
	}
	return m
}

// PolicyFor returns the policy that applies to a device on the NAS and SSID
// of where: the first of the configured policies whose match selects it,
// else the default policy.
func (s *Store) PolicyFor(where Where) Policy {
	group := s.cfg.NASGroups[where.NAS]
	for _, p := range s.cfg.Policies {
		if p.Match.matches(where.NAS, group, where.SSID) {
			return p
		}
	}
	return s.cfg.Policy
}

// level is how hard a device must be limited under p with data and online
// time used in p's window: levelNone, levelThrottle or levelDisconnect.
// It is what the enforcement state of a session is compared with.
func (p Policy) level(data int64, online time.Duration) (lvl int, reason string) {
	if p.OnlineTime > 0 && online >= p.OnlineTime {
		return levelDisconnect, "online time"
	}
	if p.Data > 0 && data >= int64(p.Data) {
		if p.OverQuota == ActionThrottle {
			return levelThrottle, "data"
		}
		return levelDisconnect, "data"
	}
	return levelNone, ""
}

// Enforcement levels, as kept in a session's enf field: what its NAS has
// acknowledged.
const (
	levelNone       = 0
	levelThrottle   = 1
	levelDisconnect = 2
)

// windowSpan returns the start and the end of the window of kind w that t
// falls in, in loc. time.Date normalises the day arithmetic, so a window
// always starts and ends at local midnight, whatever the UTC offset did in
// between.
func windowSpan(w Window, t time.Time, loc *time.Location) (start, end time.Time) {
	l := t.In(loc)
	y, m, d := l.Date()
	switch w {
	case WindowWeek:
		back := (int(l.Weekday()) + 6) % 7 // days since Monday
		start = time.Date(y, m, d-back, 0, 0, 0, 0, loc)
		end = time.Date(y, m, d-back+7, 0, 0, 0, 0, loc)
	case WindowMonth:
		start = time.Date(y, m, 1, 0, 0, 0, 0, loc)
		end = time.Date(y, m+1, 1, 0, 0, 0, 0, loc)
	default:
		start = time.Date(y, m, d, 0, 0, 0, 0, loc)
		end = time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	}
	return start, end
}

// windowID names the window of kind w that starts at start, for keys:
// "d20261126", "w20261123" (its Monday), "m202611".
func windowID(w Window, start time.Time) string {
	switch w {
	case WindowWeek:
		return "w" + start.Format("20060102")
	case WindowMonth:
		return "m" + start.Format("200601")
	}
	return "d" + start.Format("20060102")
}

// windowsInUse returns the windows any of the policies counts in, in the
// ledger's order.
func windowsInUse(def Policy, rules []Policy) []Window {
	var ws []Window
	for _, w := range windows {
		used := def.Window == w
		for _, p := range rules {
			used = used || p.Window == w
		}
		if used {
			ws = append(ws, w)
		}
	}
	return ws
}

// limitsOnline reports whether a policy has an online-time allowance: then
// a device's online time counts once where its sessions overlap (see
// acctScript), which costs Redis a little more a record.
func limitsOnline(def Policy, rules []Policy) bool {
	if def.OnlineTime > 0 {
		return true
	}
	for _, p := range rules {
		if p.OnlineTime > 0 {
			return true
		}
	}
	return false
}
