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

// TestLimiterPerDevice: replays from many addresses are bounded by the
// device's total, an IPv6 client's /64 counts as one address, and past the
// key cap a device counted already keeps its total.
func TestLimiterPerDevice(t *testing.T) {
	a := session.MAC{1}
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}) }
	l := newLimiter(time.Minute, 2, 1000)
	for i := range perDevice {
		for range 2 {
			if !l.allow(a, addr(i), t0) {
				t.Fatalf("attempt from address %d refused within both limits", i)
			}
		}
	}
	if l.allow(a, addr(perDevice), t0) {
		t.Errorf("attempt %d of the device, from a fresh address, allowed; want the total (%d) to hold", 2*perDevice+1, 2*perDevice)
	}

	b := session.MAC{2}
	one, other := netip.MustParseAddr("2001:db8:1:2::1"), netip.MustParseAddr("2001:db8:1:2:ffff::9")
	if !l.allow(b, one, t0) || !l.allow(b, other, t0) || l.allow(b, netip.MustParseAddr("2001:db8:1:2::77"), t0) {
		t.Error("addresses of one /64 are not counted as one")
	}
	if !l.allow(b, netip.MustParseAddr("2001:db8:1:3::1"), t0) {
		t.Error("another /64 is counted with the first")
	}

	c := session.MAC{3}
	l = newLimiter(time.Minute, 2, 1) // one key
	l.allow(c, addr(0), t0)
	for i := 1; i < 2*perDevice; i++ {
		l.allow(c, addr(i), t0) // past the cap: uncounted keys, but the total
	}
	if l.allow(c, addr(99), t0) {
		t.Error("past the key cap, a device counted already went through beyond its total")
	}
	if !l.allow(session.MAC{4}, addr(0), t0) {
		t.Error("past the key cap, a device not counted yet was refused (it should fail open)")
	}
}

// TestRateWindow: max events per key and window; past cap keys in a window
// new keys pass uncounted (memory stays bounded, visitors are not turned
// away), and a new window, or a clock gone back, starts afresh.
func TestRateWindow(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	w := newRateWindow[int](time.Minute, 2, 3)
	for k := range 3 {
		for i := range 2 {
			if !w.allow(k, t0) {
				t.Fatalf("key %d, event %d: refused within the limit", k, i+1)
			}
		}
		if w.allow(k, t0) {
			t.Errorf("key %d: third event allowed, want refused", k)
		}
	}
	for range 5 {
		if !w.allow(99, t0) {
			t.Fatal("a key past the cap was refused; want it let through uncounted")
		}
	}
	if len(w.counts) != 3 {
		t.Errorf("%d keys counted, want the cap, 3", len(w.counts))
	}
	if !w.allow(0, t0.Add(time.Minute)) {
		t.Error("the next window still refuses key 0")
	}
	if !w.allow(0, t0.Add(time.Minute)) || w.allow(0, t0.Add(time.Minute)) {
		t.Error("the next window does not count key 0 afresh")
	}
	if !w.allow(0, t0) {
		t.Error("a clock gone back does not start a new window")
	}
}
