package session

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrUnavailable wraps every failure to reach Redis, so callers can tell
// "the store is down" (answer nothing, show a 503) from a decision.
var ErrUnavailable = errors.New("session: store unavailable")

// Store keeps grants, remembered devices, sessions and the usage ledger in
// Redis. All keys of one device carry the hash tag {d:<pseudonym>}, so each
// RADIUS request is one script on one slot, also on Redis Cluster.
type Store struct {
	rdb   redis.UniversalClient
	cfg   Config
	loc   *time.Location
	hash  *MACHasher
	now   func() time.Time
	auth  *redis.Script
	acct  *redis.Script
	close *redis.Script
}

// NewStore returns a Store on rdb. now is the clock; nil means time.Now.
// NewStore does not talk to Redis: scripts are loaded on first use.
func NewStore(rdb redis.UniversalClient, cfg Config, now func() time.Time) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	loc, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	h, err := NewMACHasher([]byte(cfg.MACHashKey))
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Store{
		rdb: rdb, cfg: cfg, loc: loc, hash: h, now: now,
		auth:  redis.NewScript(authScript),
		acct:  redis.NewScript(acctScript),
		close: redis.NewScript(closeScript),
	}, nil
}

// Config returns the store's configuration with defaults filled in.
func (s *Store) Config() Config { return s.cfg }

// MACHash returns the pseudonym of m, for logs and keys.
func (s *Store) MACHash(m MAC) string { return s.hash.Hash(m) }

// Preload loads the Lua scripts into Redis so the hot path can use
// EVALSHA from the first request. It also checks that Redis answers.
func (s *Store) Preload(ctx context.Context) error {
	for _, sc := range []*redis.Script{s.auth, s.acct, s.close} {
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			return unavailable("load script", err)
		}
	}
	return nil
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return unavailable("ping", err)
	}
	return nil
}

func unavailable(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
}

// Key layout. d is the device's tag, "{d:<pseudonym>}".
func (s *Store) deviceTag(m MAC) string          { return "{d:" + s.hash.Hash(m) + "}" }
func grantKey(d, user string) string             { return d + ":g:" + user }
func rememberKey(d string) string                { return d + ":rem" }
func useKey(d, window string) string             { return d + ":use:" + window }
func openKey(d string) string                    { return d + ":open" }
func sessionKey(d, nas, sessionID string) string { return d + ":s:" + nas + ":" + sessionID }
func nasOpenKey(nas string) string               { return "nas:{" + nas + "}:open" }

// Index keys of the admin views (sorted sets of session keys by last
// update). Each is its own slot; they are never the source of truth.
const allSessionsKey = "idx:{sessions}"

func nasSessionsKey(nas string) string { return "idx:{nas:" + nas + "}" }
func apSessionsKey(ap string) string   { return "idx:{ap:" + ap + "}" }

func (s *Store) sessionIndexes(nas, ap string) []string {
	idx := []string{allSessionsKey, nasSessionsKey(nas)}
	if ap != "" {
		idx = append(idx, apSessionsKey(ap))
	}
	return idx
}

// window returns the name of the day that t falls in, in the store's zone.
func (s *Store) window(t time.Time) string { return t.In(s.loc).Format("20060102") }

// windowEnd returns when the day that t falls in ends.
func (s *Store) windowEnd(t time.Time) time.Time {
	l := t.In(s.loc)
	return time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, s.loc)
}

// Grant is a set of credentials the portal hands to the NAS for one device.
type Grant struct {
	Username string
	Password string
	Expires  time.Time
}

// grantAlphabet avoids look-alike characters; 16 characters from 32 give
// 80 bits, and 16 bytes is what the CoovaChilli PAP login form carries.
const grantAlphabet = "abcdefghjkmnpqrstuvwxyz23456789AB"

func randomString(prefix string, n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session: random: %w", err)
	}
	for i := range b {
		b[i] = grantAlphabet[int(b[i])%32]
	}
	return prefix + string(b), nil
}

// CreateGrant stores fresh credentials bound to mac and the NAS named nas
// and remembers the device as having accepted the current terms, both in
// one transaction: either everything is stored or nothing.
func (s *Store) CreateGrant(ctx context.Context, mac MAC, nas string) (Grant, error) {
	if mac.IsZero() || nas == "" {
		return Grant{}, errors.New("session: create grant: MAC and NAS are required")
	}
	user, err := randomString("hs-", 12)
	if err != nil {
		return Grant{}, err
	}
	pass, err := randomString("", 16)
	if err != nil {
		return Grant{}, err
	}
	now := s.now()
	d := s.deviceTag(mac)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		gk := grantKey(d, user)
		p.HSet(ctx, gk, "pw", pass, "nas", nas)
		p.Expire(ctx, gk, s.cfg.GrantTTL)
		rk := rememberKey(d)
		p.HSet(ctx, rk, "terms", s.cfg.TermsVersion, "until", now.Add(s.cfg.RememberFor).Unix())
		p.Expire(ctx, rk, s.cfg.RememberFor)
		return nil
	})
	if err != nil {
		return Grant{}, unavailable("create grant", err)
	}
	return Grant{Username: user, Password: pass, Expires: now.Add(s.cfg.GrantTTL)}, nil
}

// Forget removes the device's remembered record, so it sees the terms again.
func (s *Store) Forget(ctx context.Context, mac MAC) error {
	if err := s.rdb.Del(ctx, rememberKey(s.deviceTag(mac))).Err(); err != nil {
		return unavailable("forget device", err)
	}
	return nil
}

// Credentials checks a password from an Access-Request; the RADIUS layer
// implements it for PAP and CHAP.
type Credentials interface {
	Match(password string) bool
}

// AuthRequest is what the store needs to decide an Access-Request.
type AuthRequest struct {
	// NAS is the name of the NAS the request came from.
	NAS string
	// MAC is the device, from Calling-Station-Id.
	MAC MAC
	// Username is the grant's username; ignored for MAC authentication.
	Username string
	// MACAuth marks a MAC-authentication request (User-Name is the MAC).
	MACAuth bool
	// Credentials checks the grant's password; ignored for MAC auth.
	Credentials Credentials
}

// RejectReason says why an Access-Request was refused, for the
// Reply-Message and the metrics.
type RejectReason string

// Reject reasons.
const (
	RejectNone       RejectReason = ""
	RejectNoGrant    RejectReason = "unknown or expired credentials"
	RejectPassword   RejectReason = "wrong password"
	RejectOtherNAS   RejectReason = "credentials were issued for another NAS"
	RejectNotKnown   RejectReason = "device has not accepted the terms of use"
	RejectQuotaSpent RejectReason = "daily data allowance used up"
)

// Decision is the answer to an Access-Request.
type Decision struct {
	Reason RejectReason // RejectNone when accepted
	Policy Policy
	// Remaining is the data left in the current day; -1 when unlimited.
	Remaining int64
	// SessionTimeout is the policy's, capped at the end of the day when the
	// device has a daily quota, so the next day's NAS login starts afresh.
	SessionTimeout time.Duration
}

// Accepted reports whether the request is accepted.
func (d Decision) Accepted() bool { return d.Reason == RejectNone }

// Authorize decides an Access-Request with one Redis round trip. A non-nil
// error means the store could not be asked; the caller must not answer.
func (s *Store) Authorize(ctx context.Context, r AuthRequest) (Decision, error) {
	now := s.now()
	d := s.deviceTag(r.MAC)
	mode, gk := "mac", rememberKey(d)
	if !r.MACAuth {
		mode, gk = "grant", grantKey(d, r.Username)
	}
	res, err := s.auth.Run(ctx, s.rdb, []string{gk, rememberKey(d), useKey(d, s.window(now))}, mode).StringSlice()
	if err != nil {
		return Decision{}, unavailable("authorize", err)
	}
	if len(res) != 5 {
		return Decision{}, fmt.Errorf("session: authorize: script returned %d values", len(res))
	}
	pw, nas, terms := res[0], res[1], res[2]
	dec := Decision{Policy: s.cfg.Policy, Remaining: -1, SessionTimeout: s.cfg.Policy.SessionTimeout}
	switch {
	case r.MACAuth && terms != s.cfg.TermsVersion:
		dec.Reason = RejectNotKnown
		return dec, nil
	case !r.MACAuth && pw == "":
		dec.Reason = RejectNoGrant
		return dec, nil
	case !r.MACAuth && nas != r.NAS:
		dec.Reason = RejectOtherNAS
		return dec, nil
	case !r.MACAuth && (r.Credentials == nil || !r.Credentials.Match(pw)):
		dec.Reason = RejectPassword
		return dec, nil
	}
	if limit := int64(s.cfg.Policy.DataPerDay); limit > 0 {
		in, _ := strconv.ParseInt(res[3], 10, 64)
		out, _ := strconv.ParseInt(res[4], 10, 64)
		dec.Remaining = max(limit-in-out, 0)
		if dec.Remaining == 0 {
			dec.Reason = RejectQuotaSpent
			return dec, nil
		}
		untilMidnight := s.windowEnd(now).Sub(now).Truncate(time.Second) + time.Second
		if dec.SessionTimeout == 0 || untilMidnight < dec.SessionTimeout {
			dec.SessionTimeout = untilMidnight
		}
	}
	return dec, nil
}

// AcctStatus is the Acct-Status-Type of an accounting record we store.
type AcctStatus string

// Accounting status types that carry a session's counters.
const (
	AcctStart   AcctStatus = "start"
	AcctInterim AcctStatus = "interim"
	AcctStop    AcctStatus = "stop"
)

// AcctRecord is one Accounting-Request for a session.
type AcctRecord struct {
	Status    AcctStatus
	NAS       string
	SessionID string // Acct-Session-Id, unique per NAS
	MAC       MAC
	Username  string
	AP        string // Called-Station-Id
	SSID      string
	IP        string // Framed-IP-Address
	// NASIP is the address the NAS's packets come from; CoA and
	// Disconnect-Requests go there.
	NASIP string
	// InputOctets and OutputOctets are the session's cumulative totals,
	// Gigawords already folded in. Input is from the NAS's view: what the
	// device sent.
	InputOctets  uint64
	OutputOctets uint64
	SessionTime  uint32
}

// Usage is a device's use of the current day after an accounting update.
type Usage struct {
	Input, Output int64
	// Limit is the policy's daily limit; 0 means unlimited.
	Limit int64
}

// Total is input plus output.
func (u Usage) Total() int64 { return u.Input + u.Output }

// Account stores an accounting record in one round trip: the session's
// totals rise to the new maximum and only the increase is added to the
// device's day, so retransmits, duplicates and out-of-order interims never
// count twice.
func (s *Store) Account(ctx context.Context, r AcctRecord) (Usage, error) {
	if r.MAC.IsZero() || r.SessionID == "" || r.NAS == "" {
		return Usage{}, errors.New("session: account: MAC, session ID and NAS are required")
	}
	switch r.Status {
	case AcctStart, AcctInterim, AcctStop:
	default:
		return Usage{}, fmt.Errorf("session: account: unknown status %q", r.Status)
	}
	if strings.ContainsAny(r.SessionID, "{}") {
		return Usage{}, errors.New("session: account: session ID may not contain braces")
	}
	u, err := s.account(ctx, r)
	if isNoScript(err) {
		// The scripts were flushed (Redis restarted): load them, retry once.
		if err = s.Preload(ctx); err == nil {
			u, err = s.account(ctx, r)
		}
	}
	if err != nil {
		return Usage{}, unavailable("account", err)
	}
	return u, nil
}

func (s *Store) account(ctx context.Context, r AcctRecord) (Usage, error) {
	now := s.now()
	d := s.deviceTag(r.MAC)
	sk := sessionKey(d, r.NAS, r.SessionID)
	live := 3*s.cfg.Policy.InterimInterval + time.Minute
	var res *redis.Cmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		res = s.acct.EvalSha(ctx, p, []string{sk, useKey(d, s.window(now)), openKey(d)},
			string(r.Status), r.InputOctets, r.OutputOctets, now.Unix(),
			int64(live/time.Second), int64((s.cfg.Retention+24*time.Hour)/time.Second),
			r.NAS, r.SessionID, r.MAC.String(), r.AP, r.SSID, r.IP, r.Username, r.SessionTime, r.NASIP)
		// The per-NAS index lets Accounting-On/Off find the NAS's sessions.
		// It is an index, not the truth: best effort, in the same round trip.
		if r.Status == AcctStop {
			p.ZRem(ctx, nasOpenKey(r.NAS), sk)
		} else {
			p.ZAdd(ctx, nasOpenKey(r.NAS), redis.Z{Score: float64(now.Unix()), Member: sk})
			p.Expire(ctx, nasOpenKey(r.NAS), s.cfg.Retention)
		}
		// Admin views: every session by last update, overall, per NAS and
		// per AP. Members whose session key expired are skipped on read and
		// trimmed by score here.
		z := redis.Z{Score: float64(now.Unix()), Member: sk}
		oldest := strconv.FormatInt(now.Add(-s.cfg.Retention).Unix(), 10)
		for _, idx := range s.sessionIndexes(r.NAS, r.AP) {
			p.ZAdd(ctx, idx, z)
			p.ZRemRangeByScore(ctx, idx, "-inf", "("+oldest)
			p.Expire(ctx, idx, s.cfg.Retention)
		}
		return nil
	})
	if err != nil {
		return Usage{}, err
	}
	vals, err := res.Int64Slice()
	if err != nil || len(vals) != 2 {
		return Usage{}, fmt.Errorf("session: account: script result %v: %v", vals, err)
	}
	return Usage{Input: vals[0], Output: vals[1], Limit: int64(s.cfg.Policy.DataPerDay)}, nil
}

func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

// CloseNAS closes every open session of the NAS named nas, for
// Accounting-On and Accounting-Off: the NAS restarted and its sessions are
// gone. It returns how many sessions it closed.
func (s *Store) CloseNAS(ctx context.Context, nas string) (int, error) {
	idx := nasOpenKey(nas)
	keys, err := s.rdb.ZRange(ctx, idx, 0, -1).Result()
	if err != nil {
		return 0, unavailable("close NAS sessions", err)
	}
	closed := 0
	now := s.now().Unix()
	keep := int64((s.cfg.Retention + 24*time.Hour) / time.Second)
	for _, sk := range keys {
		d, _, ok := strings.Cut(sk, ":s:")
		if !ok {
			continue
		}
		n, err := s.close.Run(ctx, s.rdb, []string{sk, openKey(d)}, now, keep).Int()
		if err != nil {
			return closed, unavailable("close session", err)
		}
		closed += n
		if err := s.rdb.ZRem(ctx, idx, sk).Err(); err != nil {
			return closed, unavailable("close NAS sessions", err)
		}
	}
	return closed, nil
}
