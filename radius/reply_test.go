package radius

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
	"time"

	"layeh.com/radius"

	"hotspot/session"
)

// attrNames names the attributes our replies carry, by vendor and type
// (vendor 0 for the standard ones).
var attrNames = map[[2]uint32]string{
	{0, 18}:     "Reply-Message",
	{0, 27}:     "Session-Timeout",
	{0, 28}:     "Idle-Timeout",
	{0, 85}:     "Acct-Interim-Interval",
	{14559, 3}:  "ChilliSpot-Max-Total-Octets",
	{14559, 4}:  "ChilliSpot-Bandwidth-Max-Up",
	{14559, 5}:  "ChilliSpot-Bandwidth-Max-Down",
	{14559, 23}: "ChilliSpot-Max-Total-Gigawords",
	{14122, 7}:  "WISPr-Bandwidth-Max-Up",
	{14122, 8}:  "WISPr-Bandwidth-Max-Down",
	{14988, 8}:  "Mikrotik-Rate-Limit",
	{14988, 17}: "Mikrotik-Total-Limit",
	{14988, 18}: "Mikrotik-Total-Limit-Gigawords",
}

var stringAttrs = map[string]bool{"Reply-Message": true, "Mikrotik-Rate-Limit": true}

// describe renders attributes as "Name=value" for readable comparisons.
func describe(t testing.TB, attrs radius.Attributes) []string {
	t.Helper()
	var out []string
	for _, a := range attrs {
		key, val := [2]uint32{0, uint32(a.Type)}, []byte(a.Attribute)
		if a.Type == 26 {
			if len(val) < 6 || int(val[5]) != len(val)-4 {
				t.Fatalf("malformed Vendor-Specific % x", val)
			}
			key = [2]uint32{binary.BigEndian.Uint32(val), uint32(val[4])}
			val = val[6:]
		}
		name, ok := attrNames[key]
		if !ok {
			name = fmt.Sprintf("Attr-%d.%d", key[0], key[1])
		}
		switch {
		case stringAttrs[name]:
			out = append(out, name+"="+string(val))
		case len(val) == 4:
			out = append(out, fmt.Sprintf("%s=%d", name, binary.BigEndian.Uint32(val)))
		default:
			out = append(out, fmt.Sprintf("%s=% x", name, val))
		}
	}
	return out
}

func TestRenderLimits(t *testing.T) {
	policy := func(up, down session.BitRate) session.Policy {
		return session.Policy{BandwidthUp: up, BandwidthDown: down}
	}
	const gib = 1 << 30
	tests := []struct {
		name string
		kind session.NASKind
		d    session.Decision
		want []string
	}{
		{"coova limits", session.KindCoovaChilli,
			session.Decision{Policy: policy(2_000_000, 10_000_000), Remaining: 500 << 20},
			[]string{
				"ChilliSpot-Bandwidth-Max-Up=2000", "ChilliSpot-Bandwidth-Max-Down=10000",
				"WISPr-Bandwidth-Max-Up=2000000", "WISPr-Bandwidth-Max-Down=10000000",
				"ChilliSpot-Max-Total-Octets=524288000",
			}},
		{"coova gigawords", session.KindCoovaChilli,
			session.Decision{Remaining: 5*gib + 7},
			[]string{"ChilliSpot-Max-Total-Octets=1073741831", "ChilliSpot-Max-Total-Gigawords=1"}},
		{"coova exactly 4 GiB", session.KindCoovaChilli,
			session.Decision{Remaining: 4 * gib},
			[]string{"ChilliSpot-Max-Total-Octets=0", "ChilliSpot-Max-Total-Gigawords=1"}},
		{"coova just below 4 GiB", session.KindCoovaChilli,
			session.Decision{Remaining: 4*gib - 1},
			[]string{"ChilliSpot-Max-Total-Octets=4294967295"}},
		{"coova unlimited", session.KindCoovaChilli,
			session.Decision{Remaining: -1}, nil},
		{"coova zero remaining renders nothing", session.KindCoovaChilli,
			session.Decision{Remaining: 0}, nil},
		{"coova below 1 kbit/s is 1 kbit/s, never 0", session.KindCoovaChilli,
			session.Decision{Policy: policy(500, 0), Remaining: -1},
			[]string{"ChilliSpot-Bandwidth-Max-Up=1", "WISPr-Bandwidth-Max-Up=500"}},
		{"coova only down", session.KindCoovaChilli,
			session.Decision{Policy: policy(0, 1_000_000), Remaining: -1},
			[]string{"ChilliSpot-Bandwidth-Max-Down=1000", "WISPr-Bandwidth-Max-Down=1000000"}},
		{"coova huge rate clamps", session.KindCoovaChilli,
			session.Decision{Policy: policy(0, 10_000_000_000), Remaining: -1},
			[]string{"ChilliSpot-Bandwidth-Max-Down=10000000", "WISPr-Bandwidth-Max-Down=4294967295"}},
		{"mikrotik limits", session.KindMikrotik,
			session.Decision{Policy: policy(2_000_000, 10_000_000), Remaining: 100 << 20},
			[]string{"Mikrotik-Rate-Limit=2000k/10000k", "Mikrotik-Total-Limit=104857600"}},
		{"mikrotik gigawords", session.KindMikrotik,
			session.Decision{Remaining: 9 * gib},
			[]string{"Mikrotik-Total-Limit=1073741824", "Mikrotik-Total-Limit-Gigawords=2"}},
		{"mikrotik only down", session.KindMikrotik,
			session.Decision{Policy: policy(0, 10_000_000), Remaining: -1},
			[]string{"Mikrotik-Rate-Limit=0/10000k"}},
		{"mikrotik unlimited", session.KindMikrotik,
			session.Decision{Remaining: -1}, nil},
		{"generic", session.KindGeneric,
			session.Decision{Policy: policy(2_000_000, 10_000_000), Remaining: 100 << 20},
			[]string{"WISPr-Bandwidth-Max-Up=2000000", "WISPr-Bandwidth-Max-Down=10000000"}},
		{"unknown kind is generic", "",
			session.Decision{Policy: policy(1000, 0), Remaining: -1},
			[]string{"WISPr-Bandwidth-Max-Up=1000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attrs, err := renderLimits(tt.kind, tt.d)
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(t, attrs); !slices.Equal(got, tt.want) {
				t.Errorf("renderLimits(%q, %+v) =\n  %q\nwant\n  %q", tt.kind, tt.d, got, tt.want)
			}
		})
	}
}

func TestRenderAccept(t *testing.T) {
	tests := []struct {
		name string
		d    session.Decision
		want []string
	}{
		{"all timeouts", session.Decision{
			SessionTimeout: 2 * time.Hour, Remaining: -1,
			Policy: session.Policy{IdleTimeout: 10 * time.Minute, InterimInterval: 5 * time.Minute},
		}, []string{"Session-Timeout=7200", "Idle-Timeout=600", "Acct-Interim-Interval=300"}},
		{"none", session.Decision{Remaining: -1}, nil},
		{"partial second rounds up, never to 0", session.Decision{
			SessionTimeout: 1500 * time.Millisecond, Remaining: -1,
		}, []string{"Session-Timeout=2"}},
		{"limits follow the timeouts", session.Decision{
			SessionTimeout: time.Minute, Remaining: 1000,
			Policy: session.Policy{BandwidthUp: 1_000_000},
		}, []string{"Session-Timeout=60", "WISPr-Bandwidth-Max-Up=1000000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attrs, err := renderAccept(session.KindGeneric, tt.d)
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(t, attrs); !slices.Equal(got, tt.want) {
				t.Errorf("renderAccept(%+v) =\n  %q\nwant\n  %q", tt.d, got, tt.want)
			}
		})
	}
}
