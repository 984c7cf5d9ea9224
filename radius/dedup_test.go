package radius

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func testPacket(id byte, extra ...byte) []byte {
	b := append([]byte{1, id, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}, extra...)
	b[3] = byte(len(b))
	return b
}

var (
	nasAddr   = netip.MustParseAddrPort("10.1.2.3:40000")
	otherAddr = netip.MustParseAddrPort("10.1.2.3:40001")
)

func TestResponseCacheStates(t *testing.T) {
	clock := newFakeClock()
	c := newResponseCache(30*time.Second, 1000, clock.Now)
	k := c.key(nasAddr, testPacket(7))

	e, st, _ := c.begin(k)
	if st != cacheNew || e.sh == nil {
		t.Fatalf("begin(new) = %v, want cacheNew", st)
	}
	if _, st, _ := c.begin(k); st != cacheInProgress {
		t.Fatalf("begin(in progress) = %v, want cacheInProgress", st)
	}
	reply := []byte("reply")
	c.finish(e, reply)
	clock.Advance(29 * time.Second)
	if _, st, got := c.begin(k); st != cacheAnswered || !bytes.Equal(got, reply) {
		t.Fatalf("begin(answered) = %v, %q, want cacheAnswered, %q", st, got, reply)
	}
	clock.Advance(time.Second)
	if _, st, _ := c.begin(k); st != cacheNew {
		t.Fatalf("begin(after the window) = %v, want cacheNew", st)
	}
}

func TestResponseCacheKey(t *testing.T) {
	c := newResponseCache(time.Minute, 1000, newFakeClock().Now)
	base := c.key(nasAddr, testPacket(7))
	tests := []struct {
		name string
		key  dedupKey
		same bool
	}{
		{"same packet", c.key(nasAddr, testPacket(7)), true},
		{"other source port", c.key(otherAddr, testPacket(7)), false},
		{"other identifier", c.key(nasAddr, testPacket(8)), false},
		{"other content, same header fields", c.key(nasAddr, func() []byte { p := testPacket(7, 1, 3, 'x'); p[3] = 20; return p }()), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.key == base; got != tt.same {
				t.Errorf("key equal = %v, want %v", got, tt.same)
			}
		})
	}
}

func TestResponseCacheForgetsUnanswered(t *testing.T) {
	c := newResponseCache(time.Minute, 1000, newFakeClock().Now)
	k := c.key(nasAddr, testPacket(1))
	e, _, _ := c.begin(k)
	c.finish(e, nil)
	if _, st, _ := c.begin(k); st != cacheNew {
		t.Errorf("begin(after no reply) = %v, want cacheNew: the retransmit must be handled", st)
	}
}

func TestResponseCacheBounded(t *testing.T) {
	clock := newFakeClock()
	const size = cacheShards * 4
	c := newResponseCache(time.Hour, size, clock.Now)
	var first dedupKey
	for i := range 10 * size {
		k := c.key(nasAddr, testPacket(byte(i), byte(i>>8), byte(i>>16)))
		if i == 0 {
			first = k
		}
		e, st, _ := c.begin(k)
		if st != cacheNew {
			t.Fatalf("begin(#%d) = %v, want cacheNew", i, st)
		}
		if i%3 == 0 {
			c.finish(e, nil) // leaves a stale fifo slot behind
		} else {
			c.finish(e, []byte{1})
		}
	}
	if n := c.len(); n > size {
		t.Errorf("cache holds %d entries, cap %d", n, size)
	}
	for i := range c.shards {
		sh := &c.shards[i]
		if live := len(sh.fifo) - sh.head; live > sh.max {
			t.Errorf("shard %d fifo holds %d, cap %d", i, live, sh.max)
		}
	}
	if _, st, _ := c.begin(first); st != cacheNew {
		t.Errorf("oldest entry survived eviction: %v", st)
	}
}

func TestResponseCacheExpiryCompacts(t *testing.T) {
	clock := newFakeClock()
	c := newResponseCache(time.Second, 1<<20, clock.Now)
	for i := range 50_000 {
		e, _, _ := c.begin(c.key(nasAddr, testPacket(byte(i), byte(i>>8), byte(i>>16))))
		c.finish(e, []byte{1})
		clock.Advance(time.Millisecond)
	}
	// About a second's worth (1000 entries) is alive, plus what shards not
	// visited since have yet to expire; the fifos must not keep the other
	// 49000 slots.
	if n := c.len(); n > 1100 {
		t.Errorf("cache holds %d entries, want about 1000", n)
	}
	total := 0
	for i := range c.shards {
		total += len(c.shards[i].fifo)
	}
	if total > 4*1024*cacheShards {
		t.Errorf("fifos hold %d slots, want them compacted", total)
	}
}

// BenchmarkResponseCache measures a request's way through a full cache (the
// default 100k entries, each request new), as under a sustained load.
func BenchmarkResponseCache(b *testing.B) {
	clock := newFakeClock()
	c := newResponseCache(DefaultDuplicateWindow, defaultCacheSize, clock.Now)
	pkts := make([][]byte, 4096)
	for i := range pkts {
		pkts[i] = testPacket(byte(i), 0, 0, 0, 0)
	}
	reply := make([]byte, 100)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p := pkts[i%len(pkts)]
		binary.BigEndian.PutUint32(p[20:], uint32(i)) // a new request each time
		k := c.key(nasAddr, p)
		e, st, _ := c.begin(k)
		if st != cacheNew {
			b.Fatalf("begin = %v", st)
		}
		c.finish(e, reply)
		i++
		if i%64 == 0 {
			clock.Advance(time.Millisecond)
		}
	}
}

// TestResponseCacheHashCollision: two requests whose keys share the 64-bit
// hash never get each other's reply; the later one takes the slot.
func TestResponseCacheHashCollision(t *testing.T) {
	c := newResponseCache(time.Minute, 1000, newFakeClock().Now)
	k1 := dedupKey{id: 1, sum: 42}
	k2 := dedupKey{id: 2, sum: 42}
	e1, st, _ := c.begin(k1)
	if st != cacheNew {
		t.Fatalf("begin(k1) = %v, want cacheNew", st)
	}
	c.finish(e1, []byte("reply 1"))
	e2, st, got := c.begin(k2)
	if st != cacheNew || got != nil {
		t.Fatalf("begin(k2) = %v, %q, want cacheNew and no reply: k1's reply is not k2's", st, got)
	}
	c.finish(e2, []byte("reply 2"))
	if _, st, got := c.begin(k2); st != cacheAnswered || string(got) != "reply 2" {
		t.Errorf("begin(k2 again) = %v, %q, want cacheAnswered, reply 2", st, got)
	}
	// k1 lost its slot: a retransmit of it is handled anew, never
	// answered with k2's reply.
	if _, st, got := c.begin(k1); st != cacheNew || got != nil {
		t.Errorf("begin(k1 again) = %v, %q, want cacheNew", st, got)
	}
}
