package session

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"hotspot/internal/redistest"
)

// TestAuthReadLikeScript: the Access-Request's reads through the
// autopipeliner return what authScript returns, for every state of the
// device's keys.
func TestAuthReadLikeScript(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	s, err := NewStore(rdb, Config{MACHashKey: "a-mac-hash-key-for-tests", TermsVersion: "t1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.pipes) == 0 {
		t.Fatal("no autopipeliner on a *redis.Client")
	}
	script, err := NewStore(rdb, Config{MACHashKey: "a-mac-hash-key-for-tests", TermsVersion: "t1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	script.pipes = nil
	ctx := context.Background()
	const g, r, u, m = "{d:x}:g:hs-1", "{d:x}:rem", "{d:x}:use", "{d:x}:use:m1"
	day := ledger{id: "d1", key: u, inHash: true}
	month := ledger{id: "m1", key: m}
	steps := []func(){
		func() {},
		func() { rdb.HSet(ctx, g, "pw", "secret", "nas", "chilli") },
		func() { rdb.HSet(ctx, r, "terms", "t1", "until", time.Now().Unix()) },
		func() { rdb.HSet(ctx, u, "d0", "1 2 3 4") },
		func() { rdb.HSet(ctx, u, day.id, "5 7 0 99") },
		func() { rdb.HSet(ctx, u, day.id, "5 7 60 99") },
		func() { rdb.HSet(ctx, u, day.id, "5 x 60 99") },
		func() { rdb.HSet(ctx, m, "in", 9, "out", 11) },
		func() { rdb.HSet(ctx, m, "t", 120) },
		func() { rdb.HDel(ctx, g, "nas") },
		func() { rdb.Del(ctx, r) },
	}
	for i, step := range steps {
		step()
		for _, mode := range []string{"grant", "mac"} {
			for _, lg := range []ledger{day, month} {
				keys := []string{g, lg.key}
				if mode == "mac" {
					keys[0] = r
				}
				got, err := s.authRead(ctx, mode, keys, lg)
				if err != nil {
					t.Fatal(err)
				}
				want, err := script.authRead(ctx, mode, keys, lg)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Errorf("step %d, %s, %s: autopipelined reads = %q, script = %q", i, mode, lg.id, got, want)
				}
			}
		}
	}
}

// pipelineCounter is a go-redis hook that counts the pipelines a client
// sends.
type pipelineCounter struct{ n atomic.Int64 }

func (c *pipelineCounter) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (c *pipelineCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (c *pipelineCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// TestPipelinesTakeTurns: with further clients, the RADIUS requests'
// commands go out through each client's autopipeliner in turn.
func TestPipelinesTakeTurns(t *testing.T) {
	rs := redistest.Start(t)
	var clients []redis.UniversalClient
	var counts []*pipelineCounter
	for range 3 {
		c := rs.Client(t)
		n := &pipelineCounter{}
		c.AddHook(n)
		clients = append(clients, c)
		counts = append(counts, n)
	}
	s, err := NewStore(clients[0], Config{MACHashKey: "a-mac-hash-key-for-tests", TermsVersion: "t1"}, nil, clients[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.pipes) != 3 {
		t.Fatalf("%d autopipeliners, want 3", len(s.pipes))
	}
	ctx := context.Background()
	mac := MAC{2, 0, 0, 0, 0, 1}
	for i := range 6 {
		if _, err := s.Account(ctx, AcctRecord{Status: AcctInterim, NAS: "nas1", SessionID: "s1", MAC: mac, InputOctets: uint64(i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authorize(ctx, AuthRequest{NAS: "nas1", MAC: mac, MACAuth: true}); err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range counts {
		if got := n.n.Load(); got < 2 {
			t.Errorf("client %d sent %d pipelines, want some of the 12 requests' (4 each)", i, got)
		}
	}
}
