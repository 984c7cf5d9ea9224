package session

import (
	"strings"
	"testing"
	"time"
)

func TestWindowSpan(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, berlin) }
	tests := []struct {
		name       string
		w          Window
		t          time.Time
		start, end time.Time
		id         string
		length     time.Duration
	}{
		{"ordinary day", WindowDay, at(2026, 11, 26, 12, 0), at(2026, 11, 26, 0, 0), at(2026, 11, 27, 0, 0), "d20261126", 24 * time.Hour},
		{"just after midnight", WindowDay, at(2026, 11, 27, 0, 0), at(2026, 11, 27, 0, 0), at(2026, 11, 28, 0, 0), "d20261127", 24 * time.Hour},
		{"just before midnight", WindowDay, at(2026, 11, 26, 23, 59), at(2026, 11, 26, 0, 0), at(2026, 11, 27, 0, 0), "d20261126", 24 * time.Hour},
		// Spring forward: 02:00 CET becomes 03:00 CEST, the day has 23 hours.
		{"spring DST day, before the change", WindowDay, at(2026, 3, 29, 1, 30), at(2026, 3, 29, 0, 0), at(2026, 3, 30, 0, 0), "d20260329", 23 * time.Hour},
		{"spring DST day, after the change", WindowDay, at(2026, 3, 29, 3, 30), at(2026, 3, 29, 0, 0), at(2026, 3, 30, 0, 0), "d20260329", 23 * time.Hour},
		// Fall back: 03:00 CEST becomes 02:00 CET, the day has 25 hours.
		{"autumn DST day, first 02:30", WindowDay, time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), at(2026, 10, 25, 0, 0), at(2026, 10, 26, 0, 0), "d20261025", 25 * time.Hour},
		{"autumn DST day, second 02:30", WindowDay, time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), at(2026, 10, 25, 0, 0), at(2026, 10, 26, 0, 0), "d20261025", 25 * time.Hour},
		{"autumn DST day, 23:59", WindowDay, at(2026, 10, 25, 23, 59), at(2026, 10, 25, 0, 0), at(2026, 10, 26, 0, 0), "d20261025", 25 * time.Hour},
		{"day in UTC terms before local midnight", WindowDay, time.Date(2026, 11, 26, 23, 30, 0, 0, time.UTC), at(2026, 11, 27, 0, 0), at(2026, 11, 28, 0, 0), "d20261127", 24 * time.Hour},
		{"week from Thursday", WindowWeek, at(2026, 11, 26, 12, 0), at(2026, 11, 23, 0, 0), at(2026, 11, 30, 0, 0), "w20261123", 7 * 24 * time.Hour},
		{"week from Sunday", WindowWeek, at(2026, 11, 29, 23, 0), at(2026, 11, 23, 0, 0), at(2026, 11, 30, 0, 0), "w20261123", 7 * 24 * time.Hour},
		{"week from Monday midnight", WindowWeek, at(2026, 11, 30, 0, 0), at(2026, 11, 30, 0, 0), at(2026, 12, 7, 0, 0), "w20261130", 7 * 24 * time.Hour},
		{"week across spring DST", WindowWeek, at(2026, 3, 29, 12, 0), at(2026, 3, 23, 0, 0), at(2026, 3, 30, 0, 0), "w20260323", 7*24*time.Hour - time.Hour},
		{"week across autumn DST", WindowWeek, at(2026, 10, 21, 12, 0), at(2026, 10, 19, 0, 0), at(2026, 10, 26, 0, 0), "w20261019", 7*24*time.Hour + time.Hour},
		{"week across the year", WindowWeek, at(2027, 1, 1, 12, 0), at(2026, 12, 28, 0, 0), at(2027, 1, 4, 0, 0), "w20261228", 7 * 24 * time.Hour},
		{"month", WindowMonth, at(2026, 11, 26, 12, 0), at(2026, 11, 1, 0, 0), at(2026, 12, 1, 0, 0), "m202611", 30 * 24 * time.Hour},
		{"month of spring DST", WindowMonth, at(2026, 3, 31, 23, 59), at(2026, 3, 1, 0, 0), at(2026, 4, 1, 0, 0), "m202603", 31*24*time.Hour - time.Hour},
		{"month of autumn DST", WindowMonth, at(2026, 10, 1, 0, 0), at(2026, 10, 1, 0, 0), at(2026, 11, 1, 0, 0), "m202610", 31*24*time.Hour + time.Hour},
		{"December", WindowMonth, at(2026, 12, 31, 23, 59), at(2026, 12, 1, 0, 0), at(2027, 1, 1, 0, 0), "m202612", 31 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end := windowSpan(tt.w, tt.t, berlin)
			if !start.Equal(tt.start) || !end.Equal(tt.end) {
				t.Errorf("windowSpan(%s, %v) = %v, %v, want %v, %v", tt.w, tt.t, start, end, tt.start, tt.end)
			}
			if got := windowID(tt.w, start); got != tt.id {
				t.Errorf("windowID(%s, %v) = %q, want %q", tt.w, start, got, tt.id)
			}
			if got := end.Sub(start); got != tt.length {
				t.Errorf("window %s at %v lasts %v, want %v", tt.w, tt.t, got, tt.length)
			}
		})
	}
}

func TestPolicyFor(t *testing.T) {
	cfg := Config{
		MACHashKey: "test-key-0123456789", TermsVersion: "v1",
		Policy: Policy{Data: 100 << 20, OverQuota: ActionDisconnect},
		Policies: []Policy{
			{Name: "library-guests", Match: Match{Group: []string{"libraries"}, SSID: []string{"Guest"}}},
			{Name: "libraries", Match: Match{Group: []string{"libraries"}}},
			{Name: "tram", Match: Match{NAS: []string{"tram-1", "tram-2"}}},
			{Name: "events", Match: Match{SSID: []string{"Event"}}},
		},
		NASGroups: map[string]string{"lib-a": "libraries", "lib-b": "libraries", "tram-1": "", "tram-2": "", "markt": ""},
	}
	s, err := NewStore(nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		where Where
		want  string
	}{
		{Where{NAS: "markt", SSID: "FreeWiFi"}, "default"},
		{Where{NAS: "lib-a", SSID: "FreeWiFi"}, "libraries"},
		{Where{NAS: "lib-b", SSID: "Guest"}, "library-guests"},
		{Where{NAS: "tram-2"}, "tram"},
		{Where{NAS: "tram-2", SSID: "Event"}, "tram"}, // first match wins
		{Where{NAS: "markt", SSID: "Event"}, "events"},
		{Where{NAS: "unknown", SSID: "Guest"}, "default"},
		{Where{}, "default"},
	}
	for _, tt := range tests {
		if got := s.PolicyFor(tt.where); got.Name != tt.want {
			t.Errorf("PolicyFor(%+v) = %q, want %q", tt.where, got.Name, tt.want)
		}
	}
	// Defaults are filled in for every policy.
	if p := s.PolicyFor(Where{NAS: "tram-1"}); p.Window != WindowDay || p.InterimInterval != DefaultInterimInterval {
		t.Errorf("PolicyFor(tram-1) = window %q, interim %v, want day, %v", p.Window, p.InterimInterval, DefaultInterimInterval)
	}
	if got := windowsInUse(s.cfg.Policy, s.cfg.Policies); len(got) != 1 || got[0] != WindowDay {
		t.Errorf("windowsInUse = %v, want [day]", got)
	}
}

func TestPolicyLevel(t *testing.T) {
	throttle := Policy{Data: 100, OverQuota: ActionThrottle, ThrottleDown: 1e6, OnlineTime: time.Hour}
	disconnect := Policy{Data: 100, OverQuota: ActionDisconnect}
	tests := []struct {
		p      Policy
		data   int64
		online time.Duration
		want   int
		reason string
	}{
		{throttle, 99, 0, levelNone, ""},
		{throttle, 100, 0, levelThrottle, "data"},
		{throttle, 100, time.Hour, levelDisconnect, "online time"},
		{throttle, 0, time.Hour, levelDisconnect, "online time"},
		{disconnect, 100, time.Hour, levelDisconnect, "data"},
		{disconnect, 1 << 40, 0, levelDisconnect, "data"},
		{Policy{}, 1 << 40, 1000 * time.Hour, levelNone, ""},
	}
	for _, tt := range tests {
		if got, reason := tt.p.level(tt.data, tt.online); got != tt.want || reason != tt.reason {
			t.Errorf("%+v.level(%d, %v) = %d, %q, want %d, %q", tt.p, tt.data, tt.online, got, reason, tt.want, tt.reason)
		}
	}
}

func TestValidatePolicies(t *testing.T) {
	groups := map[string]string{"markt": "", "lib": "libraries"}
	ok := Policy{Name: "default", Window: WindowDay, InterimInterval: 5 * time.Minute}
	tests := []struct {
		name  string
		def   Policy
		rules []Policy
		want  []string // "" for none
	}{
		{"minimal", ok, nil, nil},
		{"throttle", with(ok, func(p *Policy) {
			p.Data, p.OverQuota, p.ThrottleDown, p.BandwidthDown = 1<<30, ActionThrottle, 1e6, 10e6
		}), nil, nil},
		{"rules", ok, []Policy{with(ok, func(p *Policy) { p.Name, p.Match = "lib", Match{Group: []string{"libraries"}, NAS: []string{"lib"}} })}, nil},
		{"bad name", with(ok, func(p *Policy) { p.Name = "a b" }), nil, []string{`policy.name "a b"`}},
		{"negative", with(ok, func(p *Policy) {
			p.Data, p.OnlineTime, p.SessionTimeout, p.IdleTimeout, p.BandwidthUp = -1, -1, -1, -1, -1
		}), nil,
			[]string{"policy.data must not be negative", "policy.online_time must not be negative", "policy.session_timeout", "policy.idle_timeout", "bandwidths must not be negative"}},
		{"interim", with(ok, func(p *Policy) { p.InterimInterval = 30 * time.Second }), nil, []string{"policy.interim_interval 30s is below 1m"}},
		{"throttle up not slower", with(ok, func(p *Policy) {
			p.Data, p.OverQuota, p.ThrottleUp, p.BandwidthUp = 1, ActionThrottle, 2e6, 2e6
		}), nil, []string{"policy.throttle_up 2Mbit/s is not below bandwidth_up 2Mbit/s"}},
		{"over_quota without data", with(ok, func(p *Policy) { p.OverQuota = ActionDisconnect }), nil, []string{`policy.over_quota "disconnect" has no effect without data`}},
		{"unknown refs", ok, []Policy{with(ok, func(p *Policy) {
			p.Name, p.Match = "x", Match{NAS: []string{"nope"}, Group: []string{"nogroup"}, SSID: []string{""}}
		})},
			[]string{`policies[0].match.nas: no NAS is called "nope"`, `policies[0].match.group: no NAS is in group "nogroup"`, "policies[0].match.ssid: an empty SSID"}},
		{"duplicate default name", ok, []Policy{with(ok, func(p *Policy) { p.Match = Match{SSID: []string{"x"}} })}, []string{`policies[0].name "default" is also the name of policy`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var msgs []string
			for _, err := range validatePolicies(tt.def, tt.rules, groups) {
				msgs = append(msgs, err.Error())
			}
			all := strings.Join(msgs, "\n")
			if len(tt.want) == 0 && len(msgs) > 0 {
				t.Errorf("validatePolicies = %s, want no errors", all)
			}
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("validatePolicies = %q, want an error containing %q", all, w)
				}
			}
		})
	}
	// Without a NAS table, names are not checked.
	if errs := validatePolicies(ok, []Policy{with(ok, func(p *Policy) { p.Name, p.Match = "x", Match{NAS: []string{"nope"}} })}, nil); len(errs) != 0 {
		t.Errorf("validatePolicies without groups = %v, want none", errs)
	}
}

func with(p Policy, f func(*Policy)) Policy {
	f(&p)
	return p
}
