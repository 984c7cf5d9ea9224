package session

import (
	"context"
	"slices"
	"testing"
	"time"

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
	if s.reads == nil {
		t.Fatal("no autopipeliner on a *redis.Client")
	}
	script, err := NewStore(rdb, Config{MACHashKey: "a-mac-hash-key-for-tests", TermsVersion: "t1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	script.reads = nil
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
				keys := []string{g, r, lg.key}
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
