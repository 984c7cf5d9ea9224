package session

// Admin queries: the network team's views across devices. They read the
// sorted-set indexes of session keys by last update that Account has
// written (index.go: a NAS's open sessions, the closed ones, an AP's) and the
// device's use hash, which names its unclosed sessions. The
// indexes are never the source of truth: every session returned is read
// from its own hash, and an index member whose session has expired is
// skipped and removed.

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// SessionState selects sessions by state in a SessionFilter.
type SessionState string

// Session states. StateAny selects both.
const (
	StateAny    SessionState = ""
	StateActive SessionState = "active"
	StateClosed SessionState = "closed"
)

// Page sizes of Sessions.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

const (
	// scanBudget bounds the index entries one call of Sessions examines,
	// so that a filter which rarely matches costs a bounded amount per
	// request. A page that ran out of budget holds fewer sessions than
	// asked for and its cursor continues the scan.
	scanBudget = 5000
	// scanBatch is how many index entries are read (and how many session
	// hashes are fetched, pipelined) per round trip.
	scanBatch = 200
	// statsMaxSessions bounds the sessions Stats reads; beyond it the
	// result is marked truncated.
	statsMaxSessions = 500_000
	// pseudonymLen is the length of a MAC pseudonym: 16 bytes, base64url.
	pseudonymLen = 22
	// maxCursorLen bounds what ParseCursor decodes.
	maxCursorLen = 1024
)

// ErrBadCursor is returned by ParseCursor for a cursor it did not make.
var ErrBadCursor = errors.New("session: invalid cursor")

// SessionFilter selects sessions for Sessions. Zero fields select
// everything; the filters combine with "and".
type SessionFilter struct {
	// AP is the access point: the Called-Station-Id without the SSID.
	AP string
	// NAS is the name of the NAS.
	NAS string
	// Device is a device's MAC pseudonym (Store.MACHash); sessions of
	// other devices are left out.
	Device string
	// State selects active or closed sessions.
	State SessionState
	// Limit is the page size: 0 means DefaultPageSize; it is capped at
	// MaxPageSize.
	Limit int
	// After continues a listing from a previous page's Next.
	After Cursor
}

// SessionPage is one page of sessions, the most recently updated first.
type SessionPage struct {
	Sessions []Session
	// Next continues the listing; it is zero when there is nothing more.
	// A page may hold fewer sessions than asked for and still have a
	// Next, when the filters matched few of the sessions examined.
	Next Cursor
}

// Cursor is a position in a listing of sessions: the last update and the
// key of the last session examined. It is opaque to clients. Sessions are
// ordered by last update, so a session that reports while an admin pages
// through a listing moves to its front: it may be missed by that listing,
// but nothing is ever shown twice on later pages.
type Cursor struct {
	score int64
	key   string
}

// IsZero reports whether c is the start of a listing.
func (c Cursor) IsZero() bool { return c.key == "" }

// String returns the cursor's opaque, URL-safe form; "" for the zero
// cursor.
func (c Cursor) String() string {
	if c.IsZero() {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.score, 10) + ":" + c.key))
}

// ParseCursor reads what Cursor.String returned. The empty string is the
// zero cursor.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	if len(s) > maxCursorLen {
		return Cursor{}, ErrBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, ErrBadCursor
	}
	num, key, ok := strings.Cut(string(b), ":")
	if !ok || num == "" || len(num) > 19 || strings.Trim(num, "0123456789") != "" {
		return Cursor{}, ErrBadCursor
	}
	score, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return Cursor{}, ErrBadCursor
	}
	// The key is only compared with index members, never read, but a
	// cursor that names no session key is not one we made.
	if _, err := sessionKeyOf(sessionID(key)); err != nil {
		return Cursor{}, ErrBadCursor
	}
	return Cursor{score: score, key: key}, nil
}

// before reports whether the index entry (score, key) comes after c in a
// listing, newest first: Redis orders equal scores by key, reversed.
func (c Cursor) before(score int64, key string) bool {
	return c.IsZero() || score < c.score || (score == c.score && key < c.key)
}

// ValidPseudonym reports whether p has the form of a MAC pseudonym as
// Store.MACHash returns it.
func ValidPseudonym(p string) bool {
	if len(p) != pseudonymLen {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// MACHash returns the pseudonym of the session's device, which its ID
// carries, so that it is known for closed sessions too.
func (s Session) MACHash() string {
	key, err := sessionKeyOf(s.ID)
	if err != nil {
		return ""
	}
	tag, _, _ := strings.Cut(key, ":s:")
	return strings.TrimSuffix(strings.TrimPrefix(tag, "{d:"), "}")
}

// activeWindow is how long after its last update an active session can
// still exist: Account gives it the live TTL of its policy (three interim
// intervals and a minute); this is the longest of any policy, plus a
// minute for clock skew between instances.
func (s *Store) activeWindow() time.Duration {
	w := liveTTL(s.cfg.Policy)
	for _, p := range s.cfg.Policies {
		w = max(w, liveTTL(p))
	}
	return w + time.Minute
}

// Sessions returns a page of the sessions that f selects, the most
// recently updated first. Sessions are kept for the retention period after
// their last update.
func (s *Store) Sessions(ctx context.Context, f SessionFilter) (SessionPage, error) {
	switch f.State {
	case StateAny, StateActive, StateClosed:
	default:
		return SessionPage{}, fmt.Errorf("session: list sessions: unknown state %q", f.State)
	}
	if f.Limit < 0 {
		return SessionPage{}, fmt.Errorf("session: list sessions: negative limit %d", f.Limit)
	}
	if f.Limit == 0 {
		f.Limit = DefaultPageSize
	}
	f.Limit = min(f.Limit, MaxPageSize)
	s.flushIndexes(ctx)
	if f.Device != "" {
		return s.deviceSessions(ctx, f)
	}
	idxs, err := s.indexes(ctx, f)
	if err != nil {
		return SessionPage{}, unavailable("list sessions", err)
	}
	var minScore int64 = -1
	if f.State == StateActive {
		minScore = s.now().Add(-s.activeWindow()).Unix()
	}
	var (
		page    SessionPage
		pos     = f.After // the last entry examined
		scanned int
		more    bool
		stale   []indexEntry
		// shown: a session may be in two of the indexes merged for a
		// moment while it closes.
		shown = map[string]bool{}
	)
	err = s.walkIndexes(ctx, idxs, f.After, minScore, min(scanBatch, f.Limit+1), func(batch []indexEntry) (bool, error) {
		hashes, err := s.loadSessions(ctx, batch)
		if err != nil {
			return false, err
		}
		for i, e := range batch {
			if e.staleIn(hashes[i]["state"]) {
				stale = append(stale, e)
			} else if sess := parseSession(e.key, hashes[i]); !shown[e.key] && f.matches(sess) {
				shown[e.key] = true
				if len(page.Sessions) == f.Limit {
					// One more match than the page holds: there is a next
					// page, and it starts after the page's last session.
					more = true
					return false, nil
				}
				page.Sessions = append(page.Sessions, sess)
			}
			pos = Cursor{score: e.score, key: e.key}
			if scanned++; scanned >= scanBudget {
				more = true
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return SessionPage{}, unavailable("list sessions", err)
	}
	if more {
		page.Next = pos
	}
	s.removeStale(ctx, stale)
	return page, nil
}

// indexes are the indexes that a listing under f walks, merged: an AP's;
// else the open sessions of the NAS named (or of every NAS) unless only
// closed ones are wanted, and the closed sessions unless only active ones
// are (a NAS's closed sessions are picked from them by the filter).
func (s *Store) indexes(ctx context.Context, f SessionFilter) ([]string, error) {
	if f.AP != "" {
		return []string{apSessionsKey(f.AP)}, nil
	}
	var idxs []string
	if f.State != StateClosed {
		if f.NAS != "" {
			idxs = append(idxs, nasOpenKey(f.NAS))
		} else {
			nases, err := s.rdb.SMembers(ctx, nasesKey).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return nil, err
			}
			slices.Sort(nases)
			for _, n := range nases {
				idxs = append(idxs, nasOpenKey(n))
			}
		}
	}
	if f.State != StateActive {
		idxs = append(idxs, closedSessionsKey)
	}
	return idxs, nil
}

// matches applies the filters that the index chosen did not.
func (f SessionFilter) matches(sess Session) bool {
	switch {
	case f.AP != "" && sess.AP != f.AP,
		f.NAS != "" && sess.NAS != f.NAS,
		f.State == StateActive && !sess.Active,
		f.State == StateClosed && sess.Active:
		return false
	}
	return true
}

// deviceSessions lists one device's sessions: its use hash holds the
// unclosed ones, its closed-sessions set the others. A device has few
// sessions in the retention period, so they are sorted and paged in
// memory.
func (s *Store) deviceSessions(ctx context.Context, f SessionFilter) (SessionPage, error) {
	if !ValidPseudonym(f.Device) {
		return SessionPage{}, nil
	}
	tag := "{d:" + f.Device + "}"
	scores := map[string]int64{}
	fields, err := s.rdb.HKeys(ctx, useKey(tag)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return SessionPage{}, unavailable("list device sessions", err)
	}
	for _, f := range fields {
		if strings.Contains(f, ":") { // a session, not a ledger
			scores[tag+":s:"+f] = -1 // the hash's updated field stands in for the score
		}
	}
	if f.State != StateActive {
		closed, err := s.rdb.ZRangeWithScores(ctx, closedKey(tag), 0, -1).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return SessionPage{}, unavailable("list device sessions", err)
		}
		for _, z := range closed {
			if m, ok := z.Member.(string); ok {
				scores[tag+":s:"+m] = int64(z.Score)
			}
		}
	}
	entries := make([]indexEntry, 0, len(scores))
	for k, sc := range scores {
		if strings.HasPrefix(k, tag+":s:") {
			entries = append(entries, indexEntry{key: k, score: sc})
		}
	}
	var found []indexEntry
	var sessions []Session
	for batch := range slices.Chunk(entries, scanBatch) {
		hashes, err := s.loadSessions(ctx, batch)
		if err != nil {
			return SessionPage{}, unavailable("list device sessions", err)
		}
		for i, e := range batch {
			if len(hashes[i]) == 0 {
				continue
			}
			sess := parseSession(e.key, hashes[i])
			if e.score < 0 {
				e.score = sess.UpdatedAt.Unix()
			}
			if f.matches(sess) && f.After.before(e.score, e.key) {
				found = append(found, e)
				sessions = append(sessions, sess)
			}
		}
	}
	order := make([]int, len(found))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		ea, eb := found[a], found[b]
		if ea.score != eb.score {
			return cmp.Compare(eb.score, ea.score)
		}
		return strings.Compare(eb.key, ea.key)
	})
	var page SessionPage
	for _, i := range order {
		if len(page.Sessions) == f.Limit {
			last := found[order[f.Limit-1]]
			page.Next = Cursor{score: last.score, key: last.key}
			break
		}
		page.Sessions = append(page.Sessions, sessions[i])
	}
	return page, nil
}

// indexEntry is one member of a session index and its score, the Unix
// time of the session's last update.
type indexEntry struct {
	key   string
	score int64
	src   string // the index it was read from
}

// staleIn reports whether the session an entry names, read as h, does not
// belong in the index the entry came from: it expired, or it is closed but
// still in its NAS's open index (another instance wrote an earlier record
// of it after its Stop). Readers skip such entries and remove them.
func (e indexEntry) staleIn(state string) bool {
	return state == "" || (state != "active" && isNASOpenKey(e.src))
}

// walkIndexes calls visit with the entries of the indexes idxs, merged
// into one order, newest first, from after on and down to minScore (-1:
// all), in batches of up to scanBatch, until visit returns false or the
// indexes are exhausted. Each index is read a batch per round trip; each
// of its batches starts at the last entry taken from it (not at an
// offset), so entries that move while the walk goes on shift nothing.
func (s *Store) walkIndexes(ctx context.Context, idxs []string, after Cursor, minScore int64, first int, visit func([]indexEntry) (bool, error)) error {
	var stop any = "-inf"
	if minScore >= 0 {
		stop = minScore
	}
	its := make([]*indexIter, len(idxs))
	for i, idx := range idxs {
		its[i] = &indexIter{rdb: s.rdb, key: idx, stop: stop, pos: after}
	}
	// The first batch of every index in one round trip, of the size the
	// caller expects to need (a page), so that many NASes cost one round
	// trip, not one each.
	if err := fillIters(ctx, s.rdb, its, first); err != nil {
		return err
	}
	for {
		batch := make([]indexEntry, 0, scanBatch)
		for len(batch) < scanBatch {
			var next *indexIter
			for _, it := range its {
				e, ok, err := it.peek(ctx)
				if err != nil {
					return err
				}
				if ok && (next == nil || e.precedes(next.buf[0])) {
					next = it
				}
			}
			if next == nil {
				break
			}
			batch = append(batch, next.pop())
		}
		if len(batch) == 0 {
			return nil
		}
		if more, err := visit(batch); err != nil || !more {
			return err
		}
	}
}

// precedes reports whether e comes before f in an index walk (newest
// first, then by key, descending).
func (e indexEntry) precedes(f indexEntry) bool {
	return Cursor{score: e.score, key: e.key}.before(f.score, f.key)
}

// indexIter reads one index for walkIndexes, a batch at a time.
type indexIter struct {
	rdb  redis.UniversalClient
	key  string
	stop any
	pos  Cursor // the last entry taken
	// offset skips entries at pos.score, when a whole batch of them was
	// taken already.
	offset int64
	buf    []indexEntry
	done   bool
}

// peek returns the index's next entry.
func (it *indexIter) peek(ctx context.Context) (indexEntry, bool, error) {
	for len(it.buf) == 0 && !it.done {
		zs, err := it.rdb.ZRangeArgsWithScores(ctx, it.args(scanBatch)).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return indexEntry{}, false, err
		}
		it.absorb(zs)
	}
	if len(it.buf) == 0 {
		return indexEntry{}, false, nil
	}
	return it.buf[0], true, nil
}

// fillIters reads the first n entries of every index in one round trip.
// An index whose first entries were all taken already (a run of equal
// scores at the cursor) is read on by peek.
func fillIters(ctx context.Context, rdb redis.UniversalClient, its []*indexIter, n int) error {
	if len(its) < 2 {
		return nil // peek reads it
	}
	cmds := make([]*redis.ZSliceCmd, len(its))
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, it := range its {
			cmds[i] = p.ZRangeArgsWithScores(ctx, it.args(n))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	for i, it := range its {
		it.absorb(cmds[i].Val())
	}
	return nil
}

// args are the ZRANGE arguments of the next n entries.
func (it *indexIter) args(n int) redis.ZRangeArgs {
	var start any = "+inf"
	if !it.pos.IsZero() {
		start = it.pos.score
	}
	return redis.ZRangeArgs{
		Key: it.key, Start: start, Stop: it.stop, ByScore: true, Rev: true,
		Offset: it.offset, Count: int64(n),
	}
}

// absorb takes zs, the batch read at the iterator's cursor: none means
// the index is done; a batch whose entries were all taken already (a run
// of equal scores longer than a batch) moves the offset past it, for the
// next read to go on behind it.
func (it *indexIter) absorb(zs []redis.Z) {
	if len(zs) == 0 {
		it.done = true
		return
	}
	it.take(zs)
	if len(it.buf) == 0 {
		it.offset += int64(len(zs))
		return
	}
	it.offset = 0
}

// take buffers the entries of zs after the position.
func (it *indexIter) take(zs []redis.Z) {
	for _, z := range zs {
		k, _ := z.Member.(string)
		if e := (indexEntry{key: k, score: int64(z.Score), src: it.key}); it.pos.before(e.score, e.key) {
			it.buf = append(it.buf, e)
		}
	}
}

// pop takes the entry peek returned.
func (it *indexIter) pop() indexEntry {
	e := it.buf[0]
	it.buf = it.buf[1:]
	it.pos = Cursor{score: e.score, key: e.key}
	return e
}

// loadSessions reads the hashes of the sessions in batch in one round
// trip (see readSessions).
func (s *Store) loadSessions(ctx context.Context, batch []indexEntry) ([]map[string]string, error) {
	keys := make([]string, len(batch))
	for i, e := range batch {
		keys[i] = e.key
	}
	return s.readSessions(ctx, keys)
}

// removeStale removes stale entries (see staleIn) from the indexes they
// were read from, in one round trip. It is best effort: the indexes are
// trimmed by score anyway, and readers skip such entries.
func (s *Store) removeStale(ctx context.Context, stale []indexEntry) {
	if len(stale) == 0 {
		return
	}
	bySrc := map[string][]any{}
	for _, e := range stale {
		bySrc[e.src] = append(bySrc[e.src], e.key)
	}
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for idx, members := range bySrc {
			p.ZRem(ctx, idx, members...)
		}
		return nil
	})
}

// Stats are the sessions that reported in the current day (local time),
// overall and per NAS and AP.
type Stats struct {
	// Since is the start of the day.
	Since time.Time
	Total StatsRow
	// NAS and AP are sorted by name; sessions without an AP are counted
	// only in their NAS and the total.
	NAS []StatsRow
	AP  []StatsRow
	// Truncated is true when there were more sessions than Stats reads;
	// the numbers then cover the most recently updated ones.
	Truncated bool
}

// StatsRow sums the sessions of one NAS, one AP, or all.
type StatsRow struct {
	Name string
	// ActiveSessions are the sessions open now.
	ActiveSessions int
	// Sessions are all sessions that reported since the start of the day.
	Sessions int
	// InputOctets and OutputOctets are those sessions' totals (from the
	// NAS's view: input is what devices sent). A session that began
	// before midnight counts with all its octets.
	InputOctets  uint64
	OutputOctets uint64
}

func (r *StatsRow) add(active bool, in, out uint64) {
	r.Sessions++
	if active {
		r.ActiveSessions++
	}
	r.InputOctets += in
	r.OutputOctets += out
}

// Stats sums the sessions that reported since the start of the current
// day. It reads every such session (pipelined, a batch per round trip), so
// it costs in proportion to the day's sessions.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	s.flushIndexes(ctx)
	now := s.now()
	since := s.windowEnd(now).AddDate(0, 0, -1)
	st := Stats{Since: since, Total: StatsRow{Name: "total"}}
	byNAS, byAP := map[string]*StatsRow{}, map[string]*StatsRow{}
	row := func(m map[string]*StatsRow, name string) *StatsRow {
		r := m[name]
		if r == nil {
			r = &StatsRow{Name: name}
			m[name] = r
		}
		return r
	}
	idxs, err := s.indexes(ctx, SessionFilter{})
	if err != nil {
		return Stats{}, unavailable("stats", err)
	}
	var stale []indexEntry
	err = s.walkIndexes(ctx, idxs, Cursor{}, since.Unix(), scanBatch, func(batch []indexEntry) (bool, error) {
		cmds := make([]*redis.SliceCmd, len(batch))
		uses := make([]*redis.StringCmd, len(batch))
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, e := range batch {
				uk, f := useField(e.key)
				cmds[i], uses[i] = p.HMGet(ctx, e.key, "state", "ap", "in", "out"), p.HGet(ctx, uk, f)
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return false, err
		}
		for i, c := range cmds {
			v := c.Val()
			if len(v) != 4 {
				continue
			}
			str := func(i int) string { x, _ := v[i].(string); return x }
			if batch[i].staleIn(str(0)) {
				stale = append(stale, batch[i])
				continue
			}
			h := withUse(map[string]string{"state": str(0), "in": str(2), "out": str(3)}, uses[i].Val())
			num := func(f string) uint64 { n, _ := strconv.ParseUint(h[f], 10, 64); return n }
			active, in, out := h["state"] == "active", num("in"), num("out")
			nas, _ := sessionWhere(batch[i].key)
			st.Total.add(active, in, out)
			row(byNAS, nas).add(active, in, out)
			if ap := str(1); ap != "" {
				row(byAP, ap).add(active, in, out)
			}
		}
		if st.Total.Sessions >= statsMaxSessions {
			st.Truncated = true
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return Stats{}, unavailable("stats", err)
	}
	s.removeStale(ctx, stale)
	st.NAS, st.AP = sortedRows(byNAS), sortedRows(byAP)
	return st, nil
}

func sortedRows(m map[string]*StatsRow) []StatsRow {
	rows := make([]StatsRow, 0, len(m))
	for _, r := range m {
		rows = append(rows, *r)
	}
	slices.SortFunc(rows, func(a, b StatsRow) int { return strings.Compare(a.Name, b.Name) })
	return rows
}

// ActiveSessions counts the open sessions of each NAS named in nases that
// reported within the time an active session lives, in one round trip.
// It reads the per-NAS sets of open sessions that Accounting-On/Off uses.
func (s *Store) ActiveSessions(ctx context.Context, nases []string) (map[string]int64, error) {
	s.flushIndexes(ctx)
	from := strconv.FormatInt(s.now().Add(-s.activeWindow()).Unix(), 10)
	cmds := make([]*redis.IntCmd, len(nases))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, n := range nases {
			cmds[i] = p.ZCount(ctx, nasOpenKey(n), from, "+inf")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, unavailable("count active sessions", err)
	}
	out := make(map[string]int64, len(nases))
	for i, n := range nases {
		out[n] = cmds[i].Val()
	}
	return out, nil
}
