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
// (a quota moves, a session may have closed). So the server remembers each
// request for a while: while it is in progress a duplicate is dropped, and
// once it is answered a duplicate gets the same reply bytes again.
//
// Only answered requests are remembered. A request that got no reply (the
// store was down) is forgotten at once, so the NAS's retransmit is handled
// afresh and may succeed.

// dedupKey identifies a request. RFC 5080 names source address, code,
// identifier and Request Authenticator; the hash of the whole packet makes
// two different requests that share those (a NAS that reuses identifiers
// with a poor random source) distinct. It holds no pointers, so that the
// index, which holds a hundred thousand of them, costs the garbage
// collector nothing.
type dedupKey struct {
	addr [16]byte // the source address, IPv4 mapped into IPv6
	port uint16
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

// cacheShard keeps its entries by value in arrival order, which is also
// expiry order since every entry lives for the same window, and finds them
// through an index of sequence numbers: no allocation per request, and
// nothing for the garbage collector to chase but the replies.
type cacheShard struct {
	mu  sync.Mutex
	max int
	// index maps the hash of a key (sum, which covers all of it) to the
	// sequence number of its entry, where the whole key is compared: a
	// small, pointer-free map is a few cache misses cheaper per request
	// than one keyed by the whole key.
	index map[uint64]uint64
	// fifo[i] has the sequence number base+i; fifo[:head] are gone.
	// Entries forgotten early stay in it until they reach the head.
	fifo []cacheEntry
	head int
	base uint64
}

type cacheEntry struct {
	key     dedupKey
	created int64 // Unix nanoseconds
	state   entryState
	reply   []byte
}

type entryState uint8

const (
	entryInProgress entryState = iota
	entryAnswered
	entryForgotten // unanswered, removed from the index
)

// cacheRef refers to an entry a caller must finish.
type cacheRef struct {
	sh  *cacheShard
	seq uint64
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
		c.shards[i].index = make(map[uint64]uint64)
	}
	return c
}

// key returns the key of pkt, a packet already cut to its Length, from
// src.
func (c *responseCache) key(src netip.AddrPort, pkt []byte) dedupKey {
	k := dedupKey{addr: src.Addr().As16(), port: src.Port(), code: pkt[0], id: pkt[1]}
	copy(k.auth[:], pkt[4:headerLen])
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.Write(k.addr[:])
	h.WriteByte(byte(k.port >> 8))
	h.WriteByte(byte(k.port))
	h.Write(pkt)
	k.sum = h.Sum64()
	return k
}

func (c *responseCache) shard(k dedupKey) *cacheShard {
	return &c.shards[k.sum%cacheShards]
}

// begin looks k up. For a new request it records it as in progress and
// returns a reference to its entry, which the caller must pass to finish.
// For an answered one it returns the reply to send again.
func (c *responseCache) begin(k dedupKey) (cacheRef, cacheState, []byte) {
	sh := c.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := c.now().UnixNano()
	for sh.head < len(sh.fifo) && now-sh.fifo[sh.head].created >= int64(c.window) {
		sh.pop()
	}
	if seq, ok := sh.index[k.sum]; ok {
		// Another key with the same 64-bit hash (by chance: the seed is
		// secret) takes over the slot; the older request merely loses
		// its duplicate protection.
		if e := &sh.fifo[seq-sh.base]; e.key == k {
			if e.state == entryAnswered {
				return cacheRef{}, cacheAnswered, e.reply
			}
			return cacheRef{}, cacheInProgress, nil
		}
	}
	// Over the cap the oldest go first, answered or not: memory stays
	// bounded whatever arrives.
	for sh.head < len(sh.fifo) && len(sh.fifo)-sh.head >= sh.max {
		sh.pop()
	}
	seq := sh.base + uint64(len(sh.fifo))
	sh.fifo = append(sh.fifo, cacheEntry{key: k, created: now})
	sh.index[k.sum] = seq
	return cacheRef{sh: sh, seq: seq}, cacheNew, nil
}

// finish records the reply sent for the entry of r; a nil reply (nothing
// was sent) forgets the request so that a retransmit is handled anew. The
// reply must not be modified afterwards.
func (c *responseCache) finish(r cacheRef, reply []byte) {
	sh := r.sh
	if sh == nil {
		return
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if r.seq < sh.base+uint64(sh.head) {
		return // evicted meanwhile
	}
	e := &sh.fifo[r.seq-sh.base]
	if reply == nil {
		if sh.index[e.key.sum] == r.seq {
			delete(sh.index, e.key.sum)
		}
		e.state = entryForgotten
		return
	}
	e.reply, e.state = reply, entryAnswered
}

// pop removes the oldest entry of the fifo.
func (sh *cacheShard) pop() {
	e := &sh.fifo[sh.head]
	if seq := sh.base + uint64(sh.head); e.state != entryForgotten && sh.index[e.key.sum] == seq {
		delete(sh.index, e.key.sum)
	}
	*e = cacheEntry{} // let the reply go
	sh.head++
	// Reclaim the consumed front once it is the larger half.
	if sh.head >= 1024 && sh.head*2 >= len(sh.fifo) {
		n := copy(sh.fifo, sh.fifo[sh.head:])
		clear(sh.fifo[n:])
		sh.fifo = sh.fifo[:n]
		sh.base += uint64(sh.head)
		sh.head = 0
	}
}

// len returns the number of remembered requests, for tests.
func (c *responseCache) len() int {
	n := 0
	for i := range c.shards {
		c.shards[i].mu.Lock()
		n += len(c.shards[i].index)
		c.shards[i].mu.Unlock()
	}
	return n
}
