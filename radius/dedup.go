package radius

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"time"
)

// A NAS that hears no reply in time sends the same request again, byte for
// byte. RFC 5080 §2.2.2 asks servers to recognise such duplicates: answering
// one that is still being handled would run the store twice, and answering
// one that was answered with a fresh reply could give a different answer
// (a grant is single-use, a quota moves). So the server remembers each
// request for a while: while it is in progress a duplicate is dropped, and
// once it is answered a duplicate gets the same reply bytes again.
//
// Only answered requests are remembered. A request that got no reply (the
// store was down) is forgotten at once, so the NAS's retransmit is handled
// afresh and may succeed.

// dedupKey identifies a request. RFC 5080 names source address, code,
// identifier and Request Authenticator; the hash of the whole packet makes
// two different requests that share those (a NAS that reuses identifiers
// with a poor random source) distinct.
type dedupKey struct {
	src  netip.AddrPort
	code byte
	id   byte
	auth [16]byte
	sum  uint64
}

// cacheShards spreads the cache over independent locks; the workers would
// otherwise queue on one mutex at every packet.
const cacheShards = 16

// defaultCacheSize bounds the remembered requests (~100k × (key + reply)
// is a few tens of MB at most), far above what a city's NASes send within a
// DuplicateWindow.
const defaultCacheSize = 100_000

type responseCache struct {
	window time.Duration
	now    func() time.Time
	seed   maphash.Seed
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu      sync.Mutex
	max     int
	entries map[dedupKey]*cacheEntry
	// fifo holds entries in arrival order, which is also expiry order
	// since every entry lives for the same window. Entries removed early
	// stay in it until they reach the head; they are told apart by
	// entries[key] no longer pointing at them.
	fifo []*cacheEntry
	head int
}

type cacheEntry struct {
	key     dedupKey
	created time.Time
	done    bool
	reply   []byte
}

type cacheState int

const (
	cacheNew        cacheState = iota // the caller handles it and must call finish
	cacheInProgress                   // another worker is handling it
	cacheAnswered                     // answered; resend the cached reply
)

func newResponseCache(window time.Duration, size int, now func() time.Time) *responseCache {
	c := &responseCache{window: window, now: now, seed: maphash.MakeSeed()}
	per := max(size/cacheShards, 1)
	for i := range c.shards {
		c.shards[i].max = per
		c.shards[i].entries = make(map[dedupKey]*cacheEntry)
	}
	return c
}

// key returns the key of pkt, a packet already cut to its Length.
func (c *responseCache) key(src netip.AddrPort, pkt []byte) dedupKey {
	k := dedupKey{src: src, code: pkt[0], id: pkt[1], sum: maphash.Bytes(c.seed, pkt)}
	copy(k.auth[:], pkt[4:headerLen])
	return k
}

func (c *responseCache) shard(k dedupKey) *cacheShard {
	return &c.shards[k.sum%cacheShards]
}

// begin looks k up. For a new request it records it as in progress and
// returns its entry, which the caller must pass to finish. For an answered
// one it returns the reply to send again.
func (c *responseCache) begin(k dedupKey) (*cacheEntry, cacheState, []byte) {
	sh := c.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := c.now()
	for sh.head < len(sh.fifo) && now.Sub(sh.fifo[sh.head].created) >= c.window {
		sh.pop()
	}
	if e, ok := sh.entries[k]; ok {
		if e.done {
			return nil, cacheAnswered, e.reply
		}
		return nil, cacheInProgress, nil
	}
	// Over the cap the oldest go first, answered or not: memory stays
	// bounded whatever arrives.
	for sh.head < len(sh.fifo) && (len(sh.entries) >= sh.max || len(sh.fifo)-sh.head >= sh.max) {
		sh.pop()
	}
	e := &cacheEntry{key: k, created: now}
	sh.entries[k] = e
	sh.fifo = append(sh.fifo, e)
	return e, cacheNew, nil
}

// finish records the reply sent for e; a nil reply (nothing was sent)
// forgets the request so that a retransmit is handled anew. The reply must
// not be modified afterwards.
func (c *responseCache) finish(e *cacheEntry, reply []byte) {
	if e == nil {
		return
	}
	sh := c.shard(e.key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.entries[e.key] != e {
		return // evicted meanwhile
	}
	if reply == nil {
		delete(sh.entries, e.key)
		return
	}
	e.reply, e.done = reply, true
}

// pop removes the oldest entry of the fifo.
func (sh *cacheShard) pop() {
	e := sh.fifo[sh.head]
	sh.fifo[sh.head] = nil
	sh.head++
	if sh.entries[e.key] == e {
		delete(sh.entries, e.key)
	}
	// Reclaim the consumed front once it is the larger half.
	if sh.head >= 1024 && sh.head*2 >= len(sh.fifo) {
		n := copy(sh.fifo, sh.fifo[sh.head:])
		clear(sh.fifo[n:])
		sh.fifo = sh.fifo[:n]
		sh.head = 0
	}
}

// len returns the number of remembered requests, for tests.
func (c *responseCache) len() int {
	n := 0
	for i := range c.shards {
		c.shards[i].mu.Lock()
		n += len(c.shards[i].entries)
		c.shards[i].mu.Unlock()
	}
	return n
}
