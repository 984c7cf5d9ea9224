package portal

import (
	"net/netip"
	"testing"
	"time"

	"hotspot/session"
)

var here = netip.MustParseAddr("10.1.0.5")

func TestLimiter(t *testing.T) {
	a, b, c := session.MAC{1}, session.MAC{2}, session.MAC{3}
	type step struct {
		mac  session.MAC
		at   time.Duration
		want bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"within the limit", []step{{a, 0, true}, {a, time.Second, true}}},
		{"over the limit", []step{{a, 0, true}, {a, 0, true}, {a, 0, false}}},
		{"per device", []step{{a, 0, true}, {a, 0, true}, {b, 0, true}, {b, 0, true}, {a, 0, false}}},
		{"next window", []step{{a, 0, true}, {a, 0, true}, {a, 59 * time.Second, false}, {a, time.Minute, true}}},
		{"clock went back", []step{{a, time.Minute, true}, {a, time.Minute, true}, {a, 0, true}}},
		// Past the cap, unknown devices go through uncounted; known ones
		// are still limited.
		{"cap", []step{{a, 0, true}, {b, 0, true}, {c, 0, true}, {c, 0, true}, {c, 0, true},
			{a, 0, true}, {a, 0, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLimiter(time.Minute, 2, 2)
			for i, s := range tt.steps {
				if got := l.allow(s.mac, here, t0.Add(s.at)); got != s.want {
					t.Errorf("step %d: allow(%v, +%v) = %v, want %v", i, s.mac, s.at, got, s.want)
				}
			}
			if len(l.counts) > l.cap {
				t.Errorf("limiter holds %d keys, cap %d", len(l.counts), l.cap)
			}
		})
	}
}

// TestLimiterPerClientAddress: the NAS's signed redirect crosses the open
// network in clear, so a stranger can replay a device's form from
// elsewhere; they spend an allowance of their own, not the device's.
func TestLimiterPerClientAddress(t *testing.T) {
	a := session.MAC{1}
	there := netip.MustParseAddr("203.0.113.9")
	l := newLimiter(time.Minute, 2, 10)
	for i, want := range []bool{true, true, false} {
		if got := l.allow(a, there, t0); got != want {
			t.Errorf("stranger's attempt %d = %v, want %v", i+1, got, want)
		}
	}
	for i, want := range []bool{true, true, false} {
		if got := l.allow(a, here, t0); got != want {
			t.Errorf("device's attempt %d = %v, want %v", i+1, got, want)
		}
	}
	// An IPv4-mapped IPv6 address is the IPv4 address.
	if l.allow(a, netip.AddrFrom16(here.As16()), t0) {
		t.Error("the device's address, IPv4-mapped, was not limited with it")
	}
}
