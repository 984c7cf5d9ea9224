package session

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
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
	rdb  redis.UniversalClient
	cfg  Config
	loc  *time.Location
	hash *MACHasher
	tags *tagCache // device tags of recent MACs (see deviceTag)
	now  func() time.Time
	// windows are the windows the policies count in; every accounting
	// record is added to the ledger of each.
	windows []Window
	// onlineOnce is "1" when a policy limits online time, which then
	// counts once where a device's sessions overlap (see acctScript).
	onlineOnce string
	// pipes are the autopipeliners (their deferred face) of rdb and of
	// the further clients NewStore was given, where they have one: the
	// two reads of an Access-Request are queued on one together, and so
	// are an accounting record's script and client-address write (see
	// hot), so that the requests being handled at the same time share one
	// write and one read with Redis instead of a round trip each; plain
	// reads cost Redis half of what the same reads cost inside a script.
	// A lone request waits for nothing. Without one, authScript reads the
	// same in one round trip.
	//
	// One autopipeliner sends the commands of all requests in flight as
	// one batch and waits for the next to gather (go-redis expects each
	// answered caller to send its next command at once; ours first answer
	// a NAS and wait for its next packet), so Redis and the daemon take
	// turns: Redis works while the daemon has nothing to do, then the
	// other way round. Two, taken in turn, keep one batch gathering while
	// the other runs.
	pipes    []*redis.AutoPipeliner
	nextPipe atomic.Uint64
	// idx writes the admin views' indexes in batches (index.go).
	idx *indexer
	// spans holds the last window of each kind (see span).
	// (One per kind, made in NewStore: the map is only read after.)
	spans map[Window]*atomic.Pointer[windowOf]

	auth, acct, device, claim, finish, close, ipSet, unmark *redis.Script
	// addressWrites counts the writes of client-address entries, to tidy
	// their hashes every addressTidyEvery.
	addressWrites atomic.Uint64
}

// autoPipeliner is a go-redis client that can batch the commands of
// concurrent callers into pipelines (*redis.Client, *redis.ClusterClient).
type autoPipeliner interface {
	AsyncAutoPipeline() (*redis.AutoPipeliner, error)
}

// NewStore returns a Store on rdb. now is the clock; nil means time.Now.
// more are further clients of the same Redis, whose autopipelines take
// turns with rdb's on the RADIUS requests' commands (see Store.pipes); the
// caller closes them, after Store.Close. NewStore does not talk to Redis:
// scripts are loaded on first use.
func NewStore(rdb redis.UniversalClient, cfg Config, now func() time.Time, more ...redis.UniversalClient) (*Store, error) {
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
	// An autopipeliner is closed with its client.
	var pipes []*redis.AutoPipeliner
	for _, c := range append([]redis.UniversalClient{rdb}, more...) {
		if c, ok := c.(autoPipeliner); ok {
			if ap, err := c.AsyncAutoPipeline(); err == nil {
				pipes = append(pipes, ap)
			}
		}
	}
	st := &Store{
		rdb: rdb, cfg: cfg, loc: loc, hash: h, tags: newTagCache(tagCacheSlots), now: now, pipes: pipes,
		windows:    windowsInUse(cfg.Policy, cfg.Policies),
		onlineOnce: "0",
		auth:       redis.NewScript(authScript),
		acct:       redis.NewScript(acctScript),
		device:     redis.NewScript(deviceScript),
		claim:      redis.NewScript(claimScript),
		finish:     redis.NewScript(finishScript),
		close:      redis.NewScript(closeScript),
		ipSet:      redis.NewScript(ipSetScript),
		unmark:     redis.NewScript(unmarkScript),
	}
	if limitsOnline(cfg.Policy, cfg.Policies) {
		st.onlineOnce = "1"
	}
	st.idx = newIndexer(rdb, cfg.Retention, st.activeWindow(), now)
	st.spans = make(map[Window]*atomic.Pointer[windowOf], len(windows))
	for _, w := range windows {
		st.spans[w] = new(atomic.Pointer[windowOf])
	}
	return st, nil
}

// Close writes the index entries still waiting; the Redis client stays
// open (it is the caller's). Call it before closing the client.
func (s *Store) Close(ctx context.Context) error {
	if err := s.idx.close(ctx); err != nil {
		return unavailable("write session indexes", err)
	}
	return nil
}

// flushIndexes writes the index entries still waiting, so that a reader of
// the indexes sees every record this instance has answered. It is best
// effort: the indexes are never the truth, and a reader that Redis answers
// should not fail because a write was refused (the failure is counted in
// hotspot_session_index_write_failures_total, the entries wait for the
// next flush).
func (s *Store) flushIndexes(ctx context.Context) {
	_ = s.idx.flush(ctx)
}

// hot is what runs a RADIUS request's commands: the next autopipeliner in
// turn, so that the requests handled at the same time share one write and
// one read with Redis, or the client.
func (s *Store) hot() redis.Cmdable {
	if p := s.pipe(); p != nil {
		return p
	}
	return s.rdb
}

// pipe returns the next autopipeliner in turn, nil when there is none.
func (s *Store) pipe() *redis.AutoPipeliner {
	switch len(s.pipes) {
	case 0:
		return nil
	case 1:
		return s.pipes[0]
	}
	return s.pipes[s.nextPipe.Add(1)%uint64(len(s.pipes))]
}

// Config returns the store's configuration with defaults filled in.
func (s *Store) Config() Config { return s.cfg }

// MACHash returns the pseudonym of m, for logs and keys.
func (s *Store) MACHash(m MAC) string { return s.hash.Hash(m) }

// Preload loads the Lua scripts into Redis so the hot path can use
// EVALSHA from the first request. It also checks that Redis answers.
func (s *Store) Preload(ctx context.Context) error {
	for _, sc := range []*redis.Script{s.auth, s.acct, s.device, s.claim, s.finish, s.close, s.ipSet, s.unmark} {
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

// deviceTag returns the hash tag of m's keys, "{d:<pseudonym>}", from the
// cache of recent MACs when it can.
func (s *Store) deviceTag(m MAC) string {
	if t, ok := s.tags.get(m); ok {
		return t
	}
	t := "{d:" + s.hash.Hash(m) + "}"
	s.tags.put(m, t)
	return t
}

// Key layout. d is the device's tag (deviceTag).
func grantKey(d, user string) string             { return d + ":g:" + user }
func rememberKey(d string) string                { return d + ":rem" }
func useKey(d string) string                     { return d + ":use" }
func closedKey(d string) string                  { return d + ":closed" }
func ledgerKey(d, window string) string          { return d + ":use:" + window }
func sessionKey(d, nas, sessionID string) string { return d + ":s:" + nas + ":" + sessionID }

// The client-address index says which session holds a client IP address
// on each NAS. An address is named by a keyed hash, like a device; the
// entries of all addresses whose hash starts alike share one hash (4,096
// of them), so that an entry costs Redis a field, not a key: its field is
// "<address hash>:<NAS>", its value "<expires, Unix s> <entry>" (see
// addressOf). Expired entries are dropped by every addressTidyEvery-th
// write, a script; the others are a plain HSET and EXPIRE, and the hash
// expires when none was written for two of the longest live TTL (see
// setAddress). An EXPIRE lost after its HSET (a connection that broke
// between them) leaves the hash without a TTL until its next write, which
// sets it again.
func (s *Store) addressField(ip netip.Addr, nas string) (key, field string) {
	key, prefix := s.addressBucket(ip)
	return key, prefix + nas
}

// addressBucket returns the hash that holds ip's entries and their fields'
// prefix.
func (s *Store) addressBucket(ip netip.Addr) (key, prefix string) {
	h := s.hash.HashAddr(ip)
	return "ip:{" + h[:2] + "}", h + ":"
}

// addressTidyEvery: one write of an entry in this many also drops the
// expired entries of its hash.
const addressTidyEvery = 32

// An entry of the client-address index names its session by what the key
// does not say already: the device's pseudonym and the Acct-Session-Id
// ("<pseudonym>:<sid>"; the field is the NAS), which keeps the entry short
// enough for Redis's compact hash encoding.
func addressOf(sk string) string {
	rest, ok := strings.CutPrefix(sk, "{d:")
	if !ok {
		return ""
	}
	p, rest, _ := strings.Cut(rest, "}:s:")
	_, sid, _ := strings.Cut(rest, ":")
	return p + ":" + sid
}

// sessionOfAddress is the session key an entry of nas names.
func sessionOfAddress(nas, entry string) string {
	p, sid, ok := strings.Cut(entry, ":")
	if !ok || p == "" {
		return ""
	}
	return sessionKey("{d:"+p+"}", nas, sid)
}

// tagOf returns the device tag of a device's key.
func tagOf(key string) string {
	if i := strings.IndexByte(key, '}'); i > 0 && strings.HasPrefix(key, "{d:") {
		return key[:i+1]
	}
	return ""
}

// ledgerFields reads a day's ledger, "in out t", as input, output
// and online seconds; what is missing or malformed reads as "0".
func ledgerFields(v string) (in, out, t string) {
	in, out, t = "0", "0", "0"
	f := strings.Fields(v)
	ok := func(x string) bool {
		_, err := strconv.ParseUint(x, 10, 64)
		return err == nil
	}
	if len(f) >= 3 && ok(f[0]) && ok(f[1]) && ok(f[2]) {
		in, out, t = f[0], f[1], f[2]
	}
	return in, out, t
}

// windowEnd returns when the day that t falls in ends.
func (s *Store) windowEnd(t time.Time) time.Time {
	_, end := windowSpan(WindowDay, t, s.loc)
	return end
}

// ledger is one window's ledger of device d: a day's is a field of the
// device's use hash (key is that hash, inHash is true), a week's or a
// month's a hash of its own, kept for the retention period after the
// window ends (ttl, from now).
type ledger struct {
	id, key string
	inHash  bool
	end     time.Time
	ttl     time.Duration
}

// ledgerOf returns device d's ledger of the window of kind w that now
// falls in.
func (s *Store) ledgerOf(d string, w Window, now time.Time) ledger {
	sp := s.span(w, now)
	lg := ledger{id: sp.id, key: useKey(d), inHash: true, end: sp.end, ttl: sp.end.Sub(now) + s.cfg.Retention}
	if w != WindowDay {
		lg.key, lg.inHash = ledgerKey(d, sp.id), false
	}
	return lg
}

// useTTL is how long the device's use hash lives after a record: the
// retention period, and at least to the end of the current day, whose
// ledger it holds (a DST day may be longer than the retention period).
func (s *Store) useTTL(now time.Time) time.Duration {
	return max(s.keepTTL(), s.span(WindowDay, now).end.Sub(now))
}

// where says where a ledger is, for the scripts: "h" for the use hash,
// "k" for a key of its own.
func (lg ledger) where() string {
	if lg.inHash {
		return "h"
	}
	return "k"
}

// windowOf is one window: when it starts and ends, and its ID in keys.
type windowOf struct {
	start, end time.Time
	id         string
}

// span returns the window of kind w that now falls in. Every request needs
// it, and it changes at midnight at most, so the last one of each kind is
// kept.
func (s *Store) span(w Window, now time.Time) windowOf {
	c := s.spans[w]
	if c == nil {
		start, end := windowSpan(w, now, s.loc)
		return windowOf{start: start, end: end, id: windowID(w, start)}
	}
	if sp := c.Load(); sp != nil && !now.Before(sp.start) && now.Before(sp.end) {
		return *sp
	}
	start, end := windowSpan(w, now, s.loc)
	sp := &windowOf{start: start, end: end, id: windowID(w, start)}
	c.Store(sp)
	return *sp
}

// liveTTL is how long an open session of a policy lives without a record
// from its NAS: three interims and a minute.
func liveTTL(p Policy) time.Duration { return 3*p.InterimInterval + time.Minute }

// keepTTL is how long closed sessions and what was counted of open ones
// are kept.
func (s *Store) keepTTL() time.Duration { return s.cfg.Retention }

func secs(d time.Duration) int64 { return int64((d + time.Second - 1) / time.Second) }

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
	// SSID and AP are where the device is, from Called-Station-Id; the
	// SSID chooses the policy with the NAS.
	SSID, AP string
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
	RejectQuotaSpent RejectReason = "data allowance used up"
	RejectTimeSpent  RejectReason = "online time allowance used up"
)

// Decision is the answer to an Access-Request.
type Decision struct {
	Reason RejectReason // RejectNone when accepted
	// Policy is the policy that applies, with the throttled rates as its
	// bandwidths when Throttled.
	Policy Policy
	// Remaining is the data left in the current window; -1 when unlimited,
	// also for a throttled device, whose data is no longer counted down.
	Remaining int64
	// SessionTimeout is the policy's, capped by the online time left and,
	// when the policy has an allowance, by the end of the window, so that
	// the next window's login starts afresh.
	SessionTimeout time.Duration
	// Throttled is true when the device has used up its data and the
	// policy throttles: it is accepted at the throttled rates.
	Throttled bool
}

// Accepted reports whether the request is accepted.
func (d Decision) Accepted() bool { return d.Reason == RejectNone }

// authRead reads what an Access-Request needs, in one round trip, as
// authScript returns it (see there). keys, mode and the ledger are
// authScript's.
func (s *Store) authRead(ctx context.Context, mode string, keys []string, lg ledger) ([]string, error) {
	p := s.pipe()
	if p == nil {
		return s.auth.Run(ctx, s.rdb, keys, mode, lg.id, lg.where()).StringSlice()
	}
	var grant *redis.SliceCmd
	var terms *redis.StringCmd
	if mode == "grant" {
		grant = p.HMGet(ctx, keys[0], "pw", "nas")
	} else {
		terms = p.HGet(ctx, keys[0], "terms")
	}
	var day *redis.StringCmd
	var own *redis.SliceCmd
	if lg.inHash {
		day = p.HGet(ctx, keys[1], lg.id)
	} else {
		own = p.HMGet(ctx, keys[1], "in", "out", "t")
	}
	str := func(v any, missing string) string {
		if x, ok := v.(string); ok {
			return x
		}
		return missing
	}
	res := []string{"", "", "", "0", "0", "0"}
	if grant != nil {
		v, err := grant.Result()
		if err != nil {
			return nil, err
		}
		res[0], res[1] = str(v[0], ""), str(v[1], "")
	}
	if terms != nil {
		t, err := terms.Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		res[2] = t
	}
	if day != nil {
		u, err := day.Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		res[3], res[4], res[5] = ledgerFields(u)
		return res, nil
	}
	v, err := own.Result()
	if err != nil {
		return nil, err
	}
	res[3], res[4], res[5] = str(v[0], "0"), str(v[1], "0"), str(v[2], "0")
	return res, nil
}

// Authorize decides an Access-Request with one Redis round trip. A non-nil
// error means the store could not be asked; the caller must not answer.
func (s *Store) Authorize(ctx context.Context, r AuthRequest) (Decision, error) {
	now := s.now()
	pol := s.PolicyFor(Where{NAS: r.NAS, SSID: r.SSID})
	d := s.deviceTag(r.MAC)
	var mode, gk string
	if r.MACAuth {
		mode, gk = "mac", rememberKey(d)
	} else {
		mode, gk = "grant", grantKey(d, r.Username)
	}
	lg := s.ledgerOf(d, pol.Window, now)
	res, err := s.authRead(ctx, mode, []string{gk, lg.key}, lg)
	if err != nil {
		return Decision{}, unavailable("authorize", err)
	}
	if len(res) != 6 {
		return Decision{}, fmt.Errorf("session: authorize: script returned %d values", len(res))
	}
	pw, nas, terms := res[0], res[1], res[2]
	dec := Decision{Policy: pol, Remaining: -1, SessionTimeout: pol.SessionTimeout}
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
	if !pol.limited() {
		return dec, nil
	}
	in, _ := strconv.ParseInt(res[3], 10, 64)
	out, _ := strconv.ParseInt(res[4], 10, 64)
	online, _ := strconv.ParseInt(res[5], 10, 64)
	capAt := func(d time.Duration) {
		if dec.SessionTimeout == 0 || d < dec.SessionTimeout {
			dec.SessionTimeout = d
		}
	}
	if pol.OnlineTime > 0 {
		left := pol.OnlineTime - time.Duration(online)*time.Second
		if left <= 0 {
			dec.Reason = RejectTimeSpent
			return dec, nil
		}
		capAt(left)
	}
	if limit := int64(pol.Data); limit > 0 {
		dec.Remaining = max(limit-in-out, 0)
		if dec.Remaining == 0 {
			if pol.OverQuota != ActionThrottle {
				dec.Reason = RejectQuotaSpent
				return dec, nil
			}
			dec.Throttled, dec.Remaining = true, -1
			dec.Policy.BandwidthDown, dec.Policy.BandwidthUp = pol.throttledRates()
		}
	}
	// One second past the end, so that the session's last interim falls
	// into the next window rather than just before it.
	capAt(lg.end.Sub(now).Truncate(time.Second) + time.Second)
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
	IP        string // Framed-IP-Address, else Framed-IPv6-Address
	// IP6 is a dual-stack client's Framed-IPv6-Address (IP holds its
	// IPv4 address); the RFC 8908 API finds the client by either.
	IP6 string
	// NASIP is the address the NAS's packets come from; CoA and
	// Disconnect-Requests go there.
	NASIP string
	// InputOctets and OutputOctets are the session's cumulative totals,
	// Gigawords already folded in. Input is from the NAS's view: what the
	// device sent.
	InputOctets  uint64
	OutputOctets uint64
	// SessionTime is the session's cumulative online time in seconds.
	SessionTime uint32
	// Delay is how long the NAS has been trying to send the record
	// (Acct-Delay-Time): it happened that long before it arrived.
	Delay time.Duration
	// Throttled is true when the session was accepted at the throttled
	// rate (the NAS echoes the accept's Class), so it needs no CoA for it.
	Throttled bool
	// Received is when the record arrived, for one that is applied later
	// (from the spool, see Spool); zero means now. The record counts in
	// the windows of that time, and is its session's last record from
	// then.
	Received time.Time
}

// validate reports what makes r a record the store cannot take.
func (r AcctRecord) validate() error {
	if r.MAC.IsZero() || r.SessionID == "" || r.NAS == "" {
		return errors.New("session: account: MAC, session ID and NAS are required")
	}
	switch r.Status {
	case AcctStart, AcctInterim, AcctStop:
	default:
		return fmt.Errorf("session: account: unknown status %q", r.Status)
	}
	if r.InputOctets > MaxCounter || r.OutputOctets > MaxCounter {
		return fmt.Errorf("session: account: counters above %d bytes", uint64(MaxCounter))
	}
	return nil
}

// whereHash is the fingerprint of where the session is (AP, SSID, client
// address, NAS address), by which acctScript tells that the session moved
// without reading its key: FNV-1a, 64 bits, in base 36.
func (r AcctRecord) whereHash() string {
	h := fnv.New64a()
	var n [8]byte
	for _, v := range [...]string{r.AP, r.SSID, r.IP, r.NASIP} {
		// Each value after its length, so that no two lists of values
		// hash the same bytes.
		binary.BigEndian.PutUint64(n[:], uint64(len(v)))
		_, _ = h.Write(n[:])
		_, _ = io.WriteString(h, v)
	}
	// Only when there is one, so that a session without it keeps the
	// fingerprint it had before IPv6 addresses were kept.
	if r.IP6 != "" {
		binary.BigEndian.PutUint64(n[:], uint64(len(r.IP6)))
		_, _ = h.Write(n[:])
		_, _ = io.WriteString(h, r.IP6)
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

// details packs what acctScript writes into a session key that is new to
// it, or has moved, into one argument: each value as "<length>:<value>",
// so that any bytes may be in a value. sid is the session ID the key names
// (see keySessionID): when it is not r's, the details end with r's, which
// an open session keeps, and the field an earlier build counted the
// session under; the last is a dual-stack client's IPv6 address.
func (r AcctRecord) details(sid string) string {
	throttled := ""
	if r.Throttled {
		throttled = "1"
	}
	asid, legacy := "", ""
	if sid != r.SessionID {
		asid, legacy = r.SessionID, r.NAS+":"+r.SessionID
	}
	vals := [...]string{r.MAC.String(), r.Username, r.AP, r.SSID, r.IP, r.NASIP, throttled, asid, legacy, r.IP6}
	n := 0
	for _, v := range vals {
		n += len(v) + 4
	}
	b := make([]byte, 0, n)
	for _, v := range vals {
		b = strconv.AppendInt(b, int64(len(v)), 10)
		b = append(b, ':')
		b = append(b, v...)
	}
	return string(b)
}

// keySessionID is the session ID that r's session key names: its
// Acct-Session-Id without the device's MAC (see MaskMAC), which no key
// name may hold. While the session is open, its key keeps the
// Acct-Session-Id as it came ("asid"), which CoA and Disconnect-Requests
// name it by.
func keySessionID(r AcctRecord) string { return MaskMAC(r.SessionID, r.MAC) }

// MaxCounter is the largest session counter the ledger keeps exactly: the
// Lua scripts compute with doubles, exact up to 2^53.
const MaxCounter = 1<<53 - 1

// Usage is a device's use of the current window of its policy, after an
// accounting update.
type Usage struct {
	// Input and Output are the window's data so far, from the NAS's view.
	Input, Output int64
	// Limit is the policy's data allowance; 0 means unlimited.
	Limit int64
	// Online is the window's online time so far.
	Online time.Duration
	// OnlineLimit is the policy's online-time allowance; 0 means unlimited.
	OnlineLimit time.Duration
	// Policy is the name of the policy that applies to the session.
	Policy string
	// Enforce is true when the device has passed an allowance and one of
	// its open sessions has not been throttled or disconnected for it yet:
	// the caller should have the device enforced (see ClaimEnforcement).
	Enforce bool
	// Spooled is true when Redis could not be reached and the record was
	// kept in the spool, to be applied later (see Spooled); the rest is
	// then unknown.
	Spooled bool
}

// Total is input plus output.
func (u Usage) Total() int64 { return u.Input + u.Output }

// Account stores an accounting record in one round trip: the session's
// totals rise to the new maximum and only the increase is added to the
// device's ledgers, so retransmits, duplicates and out-of-order interims
// never count twice, not even after the session expired while silent.
func (s *Store) Account(ctx context.Context, r AcctRecord) (Usage, error) {
	if err := r.validate(); err != nil {
		return Usage{}, err
	}
	u, err := s.account(ctx, r)
	if isNoScript(err) {
		// The scripts were flushed (Redis restarted): load them, retry
		// once. Running the record twice changes nothing.
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
	if !r.Received.IsZero() && r.Received.Before(now) {
		now = r.Received
	}
	pol := s.PolicyFor(Where{NAS: r.NAS, SSID: r.SSID})
	d := s.deviceTag(r.MAC)
	sid := keySessionID(r)
	sk, field := sessionKey(d, r.NAS, sid), r.NAS+":"+sid
	live := liveTTL(pol)
	keys := []string{sk, useKey(d), closedKey(d)}
	args := make([]any, 16, 16+3*len(s.windows))
	at := -1 // the position of the policy's window among s.windows
	for i, w := range s.windows {
		lg := s.ledgerOf(d, w, now)
		where := 0
		if !lg.inHash {
			keys = append(keys, lg.key)
			where = len(keys)
		}
		args = append(args, lg.id, secs(lg.ttl), where)
		if w == pol.Window {
			at = i
		}
	}
	if at < 0 {
		return Usage{}, fmt.Errorf("session: account: policy %q's window is not in use", pol.Name)
	}
	args[0], args[1], args[2], args[3], args[4] = string(r.Status), r.InputOctets, r.OutputOctets, r.SessionTime, now.Unix()
	args[5], args[6], args[7], args[8], args[9] = secs(live), secs(s.keepTTL()), field, r.whereHash(), r.details(sid)
	args[10], args[11], args[12], args[13] = at+1, int64(pol.Data), secs(pol.OnlineTime), secs(s.useTTL(now))
	// When the record happened: it places the session's online time, and
	// for a Start, it tells a new session under an ID the NAS used before
	// from a late Start of the old one (see acctScript).
	// A delay counts as the retention period at most: a bogus one must
	// not put the record before 1970.
	args[14], args[15] = now.Add(-min(r.Delay, s.keepTTL())).Unix(), s.onlineOnce

	// The script, and the client-address entry of the RFC 8908 API where a
	// Start surely makes it, go out together; an interim writes it only
	// when the script says so (see acctScript). A Stop leaves it to expire:
	// lookups check that the session is open, and removing it cost a
	// script per session.
	hot := s.hot()
	res := s.acct.EvalSha(ctx, hot, keys, args...)
	var ipc []redis.Cmder
	if r.Status == AcctStart {
		ipc = s.setAddresses(ctx, hot, r, sk, now, live)
	}
	vals, err := res.Int64Slice()
	if err != nil {
		return Usage{}, err
	}
	if len(vals) != 2+3*len(s.windows) {
		return Usage{}, fmt.Errorf("session: account: script result %v", vals)
	}
	if ipc == nil && vals[1]&acctAddressDue != 0 {
		ipc = s.setAddresses(ctx, hot, r, sk, now, live)
	}
	for _, c := range ipc {
		if err := c.Err(); err != nil {
			// The script marked the entry written (see acctScript):
			// unmark it, so that the NAS's retransmit writes it. Best
			// effort.
			if vals[1]&acctAddressDue != 0 {
				_ = s.unmark.Run(context.WithoutCancel(ctx), s.rdb, []string{useKey(d)}, field).Err()
			}
			return Usage{}, err
		}
	}
	s.idx.add(sk, indexEntryUpdate{nas: r.NAS, ap: r.AP, at: now.Unix(), closed: vals[1]&acctClosed != 0, anew: vals[1]&acctAnew != 0})

	w := vals[2+3*at:]
	u := Usage{
		Input: w[0], Output: w[1], Online: time.Duration(w[2]) * time.Second,
		Limit: int64(pol.Data), OnlineLimit: pol.OnlineTime, Policy: pol.Name,
	}
	want, _ := pol.level(u.Total(), u.Online)
	u.Enforce = want > levelNone && int64(want) > vals[0]
	return u, nil
}

// The flags of acctScript's result.
const (
	acctAddressDue = 1 // the client-address entry must be written
	acctClosed     = 2 // the session is closed
	acctAnew       = 4 // a Start began the session anew under a closed one's ID
)

// setAddresses points the client-address index entries of r's client, its
// address and a dual-stack client's IPv6 one too, at the session sk. It
// returns the commands, queued.
func (s *Store) setAddresses(ctx context.Context, c redis.Cmdable, r AcctRecord, sk string, now time.Time, live time.Duration) []redis.Cmder {
	var cmds []redis.Cmder
	for _, a := range [...]string{r.IP, r.IP6} {
		if ip, err := netip.ParseAddr(a); err == nil {
			cmds = append(cmds, s.setAddress(ctx, c, ip, r.NAS, sk, now, live)...)
		}
	}
	return cmds
}

// setAddress points the client-address index entry of ip on nas at the
// session sk. The entry lives two live TTLs, and the acct script has it
// written again before that runs out; the hash lives two of the longest
// live TTL of any policy from its last write, as long as any of its
// entries (two plain commands, which cost Redis a third of a script). One
// write in addressTidyEvery also drops the hash's expired entries. It
// returns the commands, queued.
func (s *Store) setAddress(ctx context.Context, c redis.Cmdable, ip netip.Addr, nas, sk string, now time.Time, live time.Duration) []redis.Cmder {
	ik, f := s.addressField(ip, nas)
	v := strconv.FormatInt(now.Add(2*live).Unix(), 10) + " " + addressOf(sk)
	keep := secs(2 * s.activeWindow())
	if s.addressWrites.Add(1)%addressTidyEvery == 0 {
		return []redis.Cmder{s.ipSet.EvalSha(ctx, c, []string{ik}, f, v, keep, now.Unix(), "1")}
	}
	return []redis.Cmder{c.HSet(ctx, ik, f, v), c.Expire(ctx, ik, time.Duration(keep)*time.Second)}
}

func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

// CloseNAS closes the open sessions of the NAS named nas, for
// Accounting-On and Accounting-Off: the NAS restarted, or is going down,
// delay ago (the record's Acct-Delay-Time), and its sessions are gone.
// Only sessions reported from nasIP are closed (when it is valid: one NAS
// entry may cover several controllers), and only those without a record
// since the restart: a session that reported since is one the NAS has,
// begun after its restart, which a late or retransmitted Accounting-On
// must not close. A session under an ID that the NAS uses again after the
// restart (its counter began anew) is a new session (see acctScript). It
// returns how many sessions it closed.
func (s *Store) CloseNAS(ctx context.Context, nas string, nasIP netip.Addr, delay time.Duration) (int, error) {
	s.flushIndexes(ctx)
	idx := nasOpenKey(nas)
	from := ""
	if nasIP.IsValid() {
		from = nasIP.Unmap().String()
	}
	keys, err := s.rdb.ZRange(ctx, idx, 0, -1).Result()
	if err != nil {
		return 0, unavailable("close NAS sessions", err)
	}
	since := strconv.FormatInt(s.now().Add(-delay).Unix(), 10)
	closed := 0
	for _, sk := range keys {
		st, err := s.closeSession(ctx, sk, from, since)
		if err != nil {
			return closed, err
		}
		switch st {
		case sessionClosed:
			closed++
		case sessionNotOpen:
			// Closed or expired before: the index entry is stale.
			if err := s.rdb.ZRem(ctx, idx, sk).Err(); err != nil {
				return closed, unavailable("close NAS sessions", err)
			}
		}
	}
	return closed, nil
}

// CloseLostSession closes the session with the given ID, which its NAS
// answered a Disconnect- or CoA-Request for with Error-Cause 503
// (Session-Context-Not-Found): the NAS no longer has it, so no Stop will
// come. Its counters stay, as for any closed session. Closing a session
// that is closed already does nothing.
func (s *Store) CloseLostSession(ctx context.Context, id string) error {
	sk, err := sessionKeyOf(id)
	if err != nil {
		return err
	}
	if _, err := s.closeSession(ctx, sk, "", ""); err != nil {
		return err
	}
	return nil
}

// What closeSession did.
type closeResult int

const (
	sessionNotOpen   closeResult = iota // closed or expired already
	sessionClosed                       // was open, now closed
	sessionElsewhere                    // open, but reported from another address
	sessionNewer                        // open, with a record since the given time
)

// closeSession closes the open session sk, if it was reported from the
// NAS address from ("" for any) and had no record since the Unix time
// since ("" for no bound), and drops it from its NAS's index.
func (s *Store) closeSession(ctx context.Context, sk, from, since string) (closeResult, error) {
	d := tagOf(sk)
	if d == "" {
		return sessionNotOpen, nil
	}
	nas, err := s.close.Run(ctx, s.rdb, []string{sk, useKey(d), closedKey(d)}, s.now().Unix(), secs(s.keepTTL()), from, since).Text()
	switch {
	case err != nil:
		return sessionNotOpen, unavailable("close session", err)
	case nas == "":
		return sessionNotOpen, nil
	case nas == "=":
		return sessionElsewhere, nil
	case nas == "+":
		return sessionNewer, nil
	}
	s.idx.add(sk, indexEntryUpdate{nas: nas, at: s.now().Unix(), closed: true})
	return sessionClosed, nil
}
