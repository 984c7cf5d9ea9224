package session

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Where is what chooses a device's policy: the NAS it is on and the SSID.
type Where struct {
	NAS  string
	SSID string
}

// DeviceStatus is what a device has used and has left in the current
// window, for the portal's status pages, the RFC 8908 API and the admin API.
type DeviceStatus struct {
	Remembered      bool
	RememberedUntil time.Time
	// Policy is the name of the policy that applies.
	Policy string
	// DataUsed is both directions in the current window.
	DataUsed int64
	// DataLimit is the policy's limit; 0 means unlimited.
	DataLimit int64
	// DataRemaining is what is left; -1 means unlimited.
	DataRemaining int64
	TimeUsed      time.Duration
	// TimeLimit is the online time per window; 0 means unlimited.
	TimeLimit time.Duration
	// TimeRemaining is what is left; -1 means unlimited.
	TimeRemaining time.Duration
	// WindowEnd is when the quota resets.
	WindowEnd time.Time
	// QuotaExceeded is true when data or time is used up.
	QuotaExceeded bool
	// Action is what the policy does over quota: "throttle" or "disconnect".
	Action string
	// Sessions are the device's open sessions.
	Sessions []Session

	// Window is the policy's window: "day", "week" or "month".
	Window Window
	// WindowStart is when the current window began.
	WindowStart time.Time
	// Throttled is true when the data is used up and the policy throttles:
	// the device is online at BandwidthDown and BandwidthUp.
	Throttled bool
	// BandwidthDown and BandwidthUp are the device's rates now (the
	// throttled ones when Throttled), seen from the device; 0 is unlimited.
	BandwidthDown, BandwidthUp BitRate
	// SessionTimeout is the policy's longest session; 0 means none.
	SessionTimeout time.Duration
	// At is when the status was read.
	At time.Time
}

// SessionEnd returns when sess, one of the device's sessions, ends at the
// latest, going by what the Access-Accept said: the policy's
// Session-Timeout after the session began, the online time left, the end
// of the window when the policy has an allowance. It is zero when nothing
// ends the session.
func (d DeviceStatus) SessionEnd(sess Session) time.Time {
	var end time.Time
	earlier := func(t time.Time) {
		if end.IsZero() || t.Before(end) {
			end = t
		}
	}
	if d.SessionTimeout > 0 && !sess.StartedAt.IsZero() {
		earlier(sess.StartedAt.Add(d.SessionTimeout))
	}
	if d.TimeRemaining >= 0 {
		earlier(d.At.Add(d.TimeRemaining))
	}
	if d.DataLimit > 0 || d.TimeLimit > 0 {
		earlier(d.WindowEnd)
	}
	return end
}

// DeviceStatus returns the status of the device mac under the policy
// chosen by where, in one round trip.
func (s *Store) DeviceStatus(ctx context.Context, mac MAC, where Where) (DeviceStatus, error) {
	if mac.IsZero() {
		return DeviceStatus{}, errors.New("session: device status: MAC is required")
	}
	now := s.now()
	dev, err := s.readDevice(ctx, s.deviceTag(mac), now)
	if err != nil {
		return DeviceStatus{}, err
	}
	return s.status(dev, s.PolicyFor(where), now), nil
}

// DeviceStatusByIP returns the status of the device that holds the client
// address ip in an open session, and that session, as the NAS reported it
// in accounting (Framed-IP-Address and Framed-IPv6-Address: a dual-stack
// client is found by either). nas, when not empty, names the NAS the
// client is behind; without it the address must be held on one NAS only,
// since NASes may hand out the same private addresses. The policy is the
// session's. ErrNotFound means no open session holds the address.
func (s *Store) DeviceStatusByIP(ctx context.Context, nas string, ip netip.Addr) (DeviceStatus, Session, error) {
	if !ip.IsValid() {
		return DeviceStatus{}, Session{}, ErrNotFound
	}
	now := s.now()
	// With the NAS known, its entry is one field; else every NAS's entry
	// of the address is among the fields of its hash.
	var entries map[string]string
	ik, prefix := s.addressBucket(ip)
	if nas != "" {
		_, f := s.addressField(ip, nas)
		v, err := s.rdb.HGet(ctx, ik, f).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return DeviceStatus{}, Session{}, unavailable("find client address", err)
		}
		if err == nil {
			entries = map[string]string{f: v}
		}
	} else {
		var err error
		if entries, err = s.rdb.HGetAll(ctx, ik).Result(); err != nil && !errors.Is(err, redis.Nil) {
			return DeviceStatus{}, Session{}, unavailable("find client address", err)
		}
	}
	var candidates []string
	for f, v := range entries {
		n, ok := strings.CutPrefix(f, prefix)
		if !ok {
			continue // another address
		}
		exp, key, ok := strings.Cut(v, " ")
		until, err := strconv.ParseInt(exp, 10, 64)
		if !ok || err != nil || until <= now.Unix() || (nas != "" && n != nas) {
			continue
		}
		if sk := sessionOfAddress(n, key); tagOf(sk) != "" {
			candidates = append(candidates, sk)
		}
	}
	// An entry outlives its session by up to a live TTL, and one NAS's
	// address may be another's: only sessions that are open and still
	// hold the address count, and only one may.
	var (
		found   bool
		st      DeviceStatus
		holding Session
	)
	for _, sk := range candidates {
		dev, err := s.readDevice(ctx, tagOf(sk), now)
		if err != nil {
			return DeviceStatus{}, Session{}, err
		}
		i := slices.IndexFunc(dev.open, func(o openSession) bool { return o.key == sk })
		if i < 0 {
			continue
		}
		sess := parseSession(sk, dev.open[i].h)
		pol := s.PolicyFor(Where{NAS: sess.NAS, SSID: sess.SSID})
		// An open session lives a live TTL after its last record (its key
		// expires then; this holds it to that on any Redis clock).
		if a := ip.Unmap().String(); !sess.Active || !now.Before(sess.UpdatedAt.Add(liveTTL(pol))) || sess.IP != a && sess.IP6 != a {
			continue
		}
		if found {
			return DeviceStatus{}, Session{}, ErrNotFound // ambiguous
		}
		found, st, holding = true, s.status(dev, pol, now), sess
	}
	if !found {
		return DeviceStatus{}, Session{}, ErrNotFound
	}
	return st, holding, nil
}

// status computes a device's status under pol from what readDevice read.
func (s *Store) status(dev device, pol Policy, now time.Time) DeviceStatus {
	start, end := windowSpan(pol.Window, now, s.loc)
	u := dev.use[pol.Window]
	st := DeviceStatus{
		Remembered: dev.terms == s.cfg.TermsVersion && dev.until.After(now),
		Policy:     pol.Name, Window: pol.Window, WindowStart: start, WindowEnd: end,
		DataUsed: u.in + u.out, DataLimit: int64(pol.Data), DataRemaining: -1,
		TimeUsed: u.online, TimeLimit: pol.OnlineTime, TimeRemaining: -1,
		Action:        string(pol.OverQuota),
		BandwidthDown: pol.BandwidthDown, BandwidthUp: pol.BandwidthUp,
		SessionTimeout: pol.SessionTimeout,
		At:             now,
	}
	if st.Remembered {
		st.RememberedUntil = dev.until
	}
	if pol.Data > 0 {
		st.DataRemaining = max(int64(pol.Data)-st.DataUsed, 0)
	}
	if pol.OnlineTime > 0 {
		st.TimeRemaining = max(pol.OnlineTime-st.TimeUsed, 0)
	}
	lvl, reason := pol.level(st.DataUsed, st.TimeUsed)
	st.QuotaExceeded = lvl > levelNone || (pol.Data > 0 && st.DataRemaining == 0)
	if lvl == levelThrottle && reason == "data" {
		st.Throttled = true
		st.BandwidthDown, st.BandwidthUp = pol.throttledRates()
	}
	for _, o := range dev.open {
		if sess := parseSession(o.key, o.h); sess.Active {
			st.Sessions = append(st.Sessions, sess)
		}
	}
	slices.SortFunc(st.Sessions, func(a, b Session) int { return a.StartedAt.Compare(b.StartedAt) })
	return st
}

// device is what deviceScript reads of one device.
type device struct {
	terms string
	until time.Time
	use   map[Window]windowUse
	open  []openSession
}

type windowUse struct {
	in, out int64
	online  time.Duration
}

type openSession struct {
	key string
	h   map[string]string
}

// readDevice reads the device d in one round trip.
func (s *Store) readDevice(ctx context.Context, d string, now time.Time) (device, error) {
	keys := []string{rememberKey(d), useKey(d)}
	args := make([]any, 0, 2*len(s.windows))
	for _, w := range s.windows {
		lg := s.ledgerOf(d, w, now)
		where := 0
		if !lg.inHash {
			keys = append(keys, lg.key)
			where = len(keys)
		}
		args = append(args, lg.id, where)
	}
	raw, err := s.device.Run(ctx, s.rdb, keys, args...).Slice()
	if err != nil {
		return device{}, unavailable("read device", err)
	}
	bad := func() (device, error) {
		return device{}, fmt.Errorf("session: read device: unexpected script result")
	}
	if len(raw) < 3 || (len(raw)-3)%3 != 0 {
		return bad()
	}
	dev := device{use: make(map[Window]windowUse, len(s.windows))}
	dev.terms, _ = raw[0].(string)
	if u, _ := raw[1].(string); u != "" {
		if n, err := strconv.ParseInt(u, 10, 64); err == nil {
			dev.until = time.Unix(n, 0)
		}
	}
	use, ok := raw[2].([]any)
	if !ok || len(use) != 3*len(s.windows) {
		return bad()
	}
	num := func(v any) int64 {
		str, _ := v.(string)
		n, _ := strconv.ParseInt(str, 10, 64)
		return n
	}
	for i, w := range s.windows {
		dev.use[w] = windowUse{in: num(use[3*i]), out: num(use[3*i+1]), online: time.Duration(num(use[3*i+2])) * time.Second}
	}
	for i := 3; i+2 < len(raw); i += 3 {
		key, _ := raw[i].(string)
		flat, _ := raw[i+1].([]any)
		use, _ := raw[i+2].(string)
		h := make(map[string]string, len(flat)/2+4)
		for j := 0; j+1 < len(flat); j += 2 {
			k, _ := flat[j].(string)
			v, _ := flat[j+1].(string)
			h[k] = v
		}
		dev.open = append(dev.open, openSession{key: key, h: withUse(h, use)})
	}
	return dev, nil
}
