package session

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// The admin views read three kinds of index, sorted sets of session keys
// scored by the Unix time of the session's last record: a NAS's open
// sessions (which the NAS's listings walk, Accounting-On/Off closes and
// the active-sessions gauge counts), the closed sessions of all NASes, and
// an AP's sessions. All sessions are the open ones of every NAS and the
// closed ones, merged; the NASes that had sessions are a set of their own.
// So a session is in two indexes, whatever its state: one index entry
// fewer per session than an index of all sessions next to them would take.
// Each index is its own hash slot, away from the device keys that are the
// truth, so an accounting record cannot update them in its script.
//
// Updating them with every record cost more than the record itself (a
// ZADD, a trim and an EXPIRE per index), so the records of the last
// indexInterval are gathered in memory and written together: one ZADD per
// index with all its members, and a trim per index at most once a minute.
// A record is answered once its script ran; its index entries follow
// within indexInterval. Readers of the indexes on this instance flush
// first, so they see every record this instance answered; another
// instance's records show up within indexInterval. An instance that dies
// loses at most that interval's entries, and an open session's next
// interim puts it back. Readers already skip members whose session has
// expired, and the indexes are trimmed by score, so a stale entry costs
// nothing but a lookup. A flush goes to Redis in round trips of
// indexChunk indexes' writes, one after the other, so that the RADIUS
// requests' scripts do not wait behind all of it at once: accounting's p99
// under make profile fell from 4.5–4.7 to 4.0–4.2 ms (three pairs of
// runs). An index's entries and its TTL go in the same round trip, so that
// a flush cut short between two leaves no index without a TTL (not in a
// MULTI/EXEC: a Cluster client refuses one across hash slots).

// Index keys.
const (
	closedSessionsKey = "idx:{closed}"
	nasesKey          = "idx:{nases}" // set of the NASes with open-session indexes
)

func apSessionsKey(ap string) string { return "idx:{ap:" + ap + "}" }
func nasOpenKey(nas string) string   { return "nas:{" + nas + "}:open" }

// isNASOpenKey reports whether key is a NAS's open-session index.
func isNASOpenKey(key string) bool { return strings.HasPrefix(key, "nas:{") }

const (
	// indexInterval is how long index entries wait to be written together.
	indexInterval = 100 * time.Millisecond
	// indexTrimEvery is how often an index is trimmed by score.
	indexTrimEvery = time.Minute
	// indexMaxPending bounds the entries waiting, should Redis be away;
	// beyond it, updates of further sessions are dropped and counted.
	indexMaxPending = 200_000
	// indexMaxTrimmed bounds the indexes whose last trim is remembered.
	indexMaxTrimmed = 50_000
	// indexChunk is how many indexes' writes go to Redis in one round
	// trip.
	indexChunk = 32
	// indexFlushTimeout bounds a flush that no caller waits for.
	indexFlushTimeout = 5 * time.Second
)

// indexEntryUpdate is what one session's latest record means for the
// indexes.
type indexEntryUpdate struct {
	nas, ap string
	at      int64 // the record's time, the score
	closed  bool  // the record closed the session
	anew    bool  // the record began the session anew under a closed one's ID
}

// indexer gathers index updates and writes them in batches.
type indexer struct {
	rdb redis.UniversalClient
	// retention and active are how long an index keeps an entry after
	// its session's last record: every index keeps closed sessions for
	// the retention period, the NAS's open index only for as long as a
	// silent session can still be active.
	retention, active time.Duration
	now               func() time.Time

	mu      sync.Mutex
	pending map[string]indexEntryUpdate // by session key
	armed   bool                        // a flush is scheduled
	timer   *time.Timer                 // the flush scheduled last
	closed  bool                        // no more flushes are scheduled

	flushing sync.Mutex           // one flush at a time
	trimmed  map[string]time.Time // index key → last trim; under flushing

	dropped atomic.Uint64 // updates dropped because too many waited
	failed  atomic.Uint64 // flushes that Redis refused
}

func newIndexer(rdb redis.UniversalClient, retention, active time.Duration, now func() time.Time) *indexer {
	return &indexer{
		rdb: rdb, retention: retention, active: active, now: now,
		pending: map[string]indexEntryUpdate{}, trimmed: map[string]time.Time{},
	}
}

// merge combines update u of a session with v, added before it: the later
// time, closed if either closed it (the records of concurrent requests
// may be added out of order, and every record of a closed session says
// closed), unless u began the session anew under a closed one's ID, and
// the AP where one knows it.
func (u indexEntryUpdate) merge(v indexEntryUpdate) indexEntryUpdate {
	if !u.anew {
		u.closed = u.closed || v.closed
	}
	u.at = max(u.at, v.at)
	if u.ap == "" {
		u.ap = v.ap
	}
	return u
}

// add records that session sk had a record at u.at; a later record of the
// same session is merged with it before it is written (a closed session
// stays closed unless a Start begins it anew, see merge). u.ap may be
// empty when the caller does not know it.
func (x *indexer) add(sk string, u indexEntryUpdate) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.put(sk, u)
	if !x.armed && !x.closed {
		// The timer's goroutine is owned by the indexer: close stops it,
		// and it ends with its flush.
		x.armed = true
		x.timer = time.AfterFunc(indexInterval, func() {
			ctx, cancel := context.WithTimeout(context.Background(), indexFlushTimeout)
			defer cancel()
			_ = x.flush(ctx) // counted in failed; the entries wait for the next flush
		})
	}
}

// put merges u into what is pending for sk, or drops it when too many
// sessions wait. x.mu must be held.
func (x *indexer) put(sk string, u indexEntryUpdate) {
	if old, ok := x.pending[sk]; ok {
		x.pending[sk] = u.merge(old)
		return
	}
	if len(x.pending) >= indexMaxPending {
		x.dropped.Add(1)
		return
	}
	x.pending[sk] = u
}

// close writes what is pending and schedules no more flushes; updates
// added later wait for an explicit flush.
func (x *indexer) close(ctx context.Context) error {
	x.mu.Lock()
	x.closed = true
	if x.timer != nil {
		x.timer.Stop()
	}
	x.mu.Unlock()
	return x.flush(ctx)
}

// take removes and returns what is pending.
func (x *indexer) take() map[string]indexEntryUpdate {
	x.mu.Lock()
	defer x.mu.Unlock()
	p := x.pending
	x.pending = map[string]indexEntryUpdate{}
	x.armed = false
	return p
}

// putBack returns entries a failed flush could not write, merged with
// newer records of the same sessions. No flush is scheduled for them: the
// next record schedules one, and readers flush first.
func (x *indexer) putBack(p map[string]indexEntryUpdate) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for sk, u := range p {
		x.put(sk, u)
	}
}

// flush writes what is pending, indexChunk writes a round trip.
func (x *indexer) flush(ctx context.Context) error {
	x.flushing.Lock()
	defer x.flushing.Unlock()
	p := x.take()
	if len(p) == 0 {
		return nil
	}
	adds := map[string][]redis.Z{}
	var closes map[string][]any // NAS open index → members to remove
	nases := map[string]bool{}
	for sk, u := range p {
		z := redis.Z{Score: float64(u.at), Member: sk}
		if u.ap != "" {
			adds[apSessionsKey(u.ap)] = append(adds[apSessionsKey(u.ap)], z)
		}
		if u.closed {
			if closes == nil {
				closes = map[string][]any{}
			}
			closes[nasOpenKey(u.nas)] = append(closes[nasOpenKey(u.nas)], sk)
			adds[closedSessionsKey] = append(adds[closedSessionsKey], z)
		} else {
			adds[nasOpenKey(u.nas)] = append(adds[nasOpenKey(u.nas)], z)
			nases[u.nas] = true
		}
	}
	now := x.now()
	var trims []string
	var cmds []func(pl redis.Pipeliner)
	for idx, members := range closes {
		cmds = append(cmds, func(pl redis.Pipeliner) { pl.ZRem(ctx, idx, members...) })
	}
	if len(nases) > 0 {
		names := make([]any, 0, len(nases))
		for n := range nases {
			names = append(names, n)
		}
		cmds = append(cmds, func(pl redis.Pipeliner) {
			pl.SAdd(ctx, nasesKey, names...)
			pl.Expire(ctx, nasesKey, x.retention)
		})
	}
	for idx, zs := range adds {
		trim := now.Sub(x.trimmed[idx]) >= indexTrimEvery
		keep := x.retention
		if isNASOpenKey(idx) {
			keep = x.active
		}
		if trim {
			trims = append(trims, idx)
		}
		cmds = append(cmds, func(pl redis.Pipeliner) {
			// GT: a record applied late (from the spool) never moves a
			// session back behind a newer one.
			pl.ZAddGT(ctx, idx, zs...)
			pl.Expire(ctx, idx, x.retention)
			if trim {
				pl.ZRemRangeByScore(ctx, idx, "-inf", "("+strconv.FormatInt(now.Add(-keep).Unix(), 10))
			}
		})
	}
	var err error
	for len(cmds) > 0 && err == nil {
		n := min(len(cmds), indexChunk)
		_, err = x.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
			for _, c := range cmds[:n] {
				c(pl)
			}
			return nil
		})
		cmds = cmds[n:]
	}
	if err != nil {
		x.failed.Add(1)
		x.putBack(p)
		return err
	}
	for _, idx := range trims {
		x.trimmed[idx] = now
	}
	if len(x.trimmed) > indexMaxTrimmed {
		// Forget indexes not touched lately (APs come and go); the next
		// touch trims them again, which costs nothing when there is
		// nothing to trim.
		for idx, t := range x.trimmed {
			if now.Sub(t) > indexTrimEvery {
				delete(x.trimmed, idx)
			}
		}
	}
	return nil
}
