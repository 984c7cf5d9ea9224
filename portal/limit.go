package portal

import (
	"net/netip"
	"sync"
	"time"

	"hotspot/session"
)

// limiter bounds accept attempts per device and client address, and per
// device in all. It keys on the MAC from the verified form, not on the
// client IP alone: behind a CoovaChilli NAS that NATs, every phone in a
// square shares one address, and one IP limit would lock out the square.
// A MAC in a valid token was attested by the NAS, so an attacker cannot
// mint fresh devices to escape the limit, only replay forms. The client
// address (an IPv6 client's /64, which one host may hold whole) is part of
// the key because the NAS's signed redirect goes over the open network in
// clear: a stranger who replays a device's form from elsewhere spends an
// allowance of their own, not the device's. The device's total across
// addresses (perDevice times the allowance) bounds what replays from many
// addresses can write to the store; locking a device out that way takes
// that many addresses replaying at once.
//
// It counts in fixed windows, which is crude at the edges but needs no
// per-key timers; the maps are cleared every window and capped, so memory
// stays bounded whatever arrives.
type limiter struct {
	mu      sync.Mutex
	window  time.Duration
	max     int // attempts per device and address, and window
	cap     int // keys per window; past it, new keys are not counted
	start   time.Time
	counts  map[limitKey]int
	devices map[session.MAC]int // attempts per device, from every address
}

// perDevice is how many allowances of attempts a device has in all, from
// every address together.
const perDevice = 4

// limitKey is what the limiter counts attempts of: a device, from one
// client address.
type limitKey struct {
	mac  session.MAC
	from netip.Addr
}

func newLimiter(window time.Duration, max, cap int) *limiter {
	return &limiter{window: window, max: max, cap: cap, counts: map[limitKey]int{}, devices: map[session.MAC]int{}}
}

// allow records an attempt for m from the client address from at now, and
// reports whether it is within the limit.
func (l *limiter) allow(m session.MAC, from netip.Addr, now time.Time) bool {
	k := limitKey{m, clientKey(from)}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= l.window || now.Before(l.start) {
		clear(l.counts)
		clear(l.devices)
		l.start = now
	}
	n, seen := l.counts[k]
	total, known := l.devices[m]
	if n >= l.max || total >= perDevice*l.max {
		return false
	}
	if !seen && len(l.counts) >= l.cap {
		// Past the cap, failing open for devices not counted yet: the
		// keys are NAS-attested devices, and refusing them would turn a
		// burst of real visitors into an outage. A device counted
		// already keeps its total.
		if known {
			l.devices[m] = total + 1
		}
		return true
	}
	l.counts[k] = n + 1
	l.devices[m] = total + 1
	return true
}

// rateWindow allows max events per key and fixed window (crude at the
// edges, but no per-key timers). It is cleared every window and capped at
// cap keys; past the cap, keys not counted yet are let through uncounted,
// so that a burst of visitors is not turned away for want of memory.
type rateWindow[K comparable] struct {
	mu     sync.Mutex
	length time.Duration
	max    int
	cap    int
	start  time.Time
	counts map[K]int
}

func newRateWindow[K comparable](length time.Duration, max, cap int) *rateWindow[K] {
	return &rateWindow[K]{length: length, max: max, cap: cap, counts: map[K]int{}}
}

// allow records an event of k at now and reports whether it is within the
// limit.
func (w *rateWindow[K]) allow(k K, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if now.Sub(w.start) >= w.length || now.Before(w.start) {
		clear(w.counts)
		w.start = now
	}
	n, seen := w.counts[k]
	switch {
	case n >= w.max:
		return false
	case !seen && len(w.counts) >= w.cap:
		return true
	}
	w.counts[k] = n + 1
	return true
}

// clientKey is the address a client is counted under: an IPv6 client's
// /64, which one host may hold whole.
func clientKey(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		a = netip.PrefixFrom(a, 64).Masked().Addr()
	}
	return a
}
