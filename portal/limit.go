package portal

import (
	"net/netip"
	"sync"
	"time"

	"hotspot/session"
)

// limiter bounds accept attempts per device and client address. It keys
// on the MAC from the verified form, not on the client IP alone: behind a
// CoovaChilli NAS that NATs, every phone in a square shares one address,
// and one IP limit would lock out the square. A MAC in a valid token was
// attested by the NAS, so an attacker cannot mint fresh keys to escape the
// limit, only replay forms, and that is what the limit stops from flooding
// the store. The client address is part of the key because the NAS's
// signed redirect goes over the open network in clear: a stranger who
// replays a device's form from elsewhere spends an allowance of their
// own, not the device's, and cannot lock it out.
//
// It counts in fixed windows, which is crude at the edges but needs no
// per-key timers; the map is cleared every window and capped, so memory
// stays bounded whatever arrives.
type limiter struct {
	mu     sync.Mutex
	window time.Duration
	max    int // attempts per key and window
	cap    int // keys per window; past it, new keys are let through
	start  time.Time
	counts map[limitKey]int
}

// limitKey is what the limiter counts attempts of: a device, from one
// client address.
type limitKey struct {
	mac  session.MAC
	from netip.Addr
}

func newLimiter(window time.Duration, max, cap int) *limiter {
	return &limiter{window: window, max: max, cap: cap, counts: map[limitKey]int{}}
}

// allow records an attempt for m from the client address from at now, and
// reports whether it is within the limit.
func (l *limiter) allow(m session.MAC, from netip.Addr, now time.Time) bool {
	k := limitKey{m, from.Unmap()}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= l.window || now.Before(l.start) {
		clear(l.counts)
		l.start = now
	}
	n, seen := l.counts[k]
	if !seen && len(l.counts) >= l.cap {
		// Failing open: the keys are NAS-attested devices, and refusing
		// them would turn a burst of real visitors into an outage.
		return true
	}
	if n >= l.max {
		return false
	}
	l.counts[k] = n + 1
	return true
}
