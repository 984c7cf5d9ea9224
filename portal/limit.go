package portal

import (
	"sync"
	"time"

	"hotspot/session"
)

// limiter bounds accept attempts per device. It keys on the MAC from the
// verified form rather than on the client IP: behind a CoovaChilli NAS
// that NATs, every phone in a square shares one address, and one IP limit
// would lock out the square. A MAC in a valid token was attested by the NAS,
// so an attacker cannot mint fresh keys to escape the limit, only replay
// forms, and that is what the limit stops from flooding the store.
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
	counts map[session.MAC]int
}

func newLimiter(window time.Duration, max, cap int) *limiter {
	return &limiter{window: window, max: max, cap: cap, counts: map[session.MAC]int{}}
}

// allow records an attempt for m at now and reports whether it is within
// the limit.
func (l *limiter) allow(m session.MAC, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= l.window || now.Before(l.start) {
		clear(l.counts)
		l.start = now
	}
	n, seen := l.counts[m]
	if !seen && len(l.counts) >= l.cap {
		// Failing open: the keys are NAS-attested devices, and refusing
		// them would turn a burst of real visitors into an outage.
		return true
	}
	if n >= l.max {
		return false
	}
	l.counts[m] = n + 1
	return true
}
