package session_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"hotspot/internal/redistest"
	"hotspot/session"
)

type password string

func (p password) Match(pw string) bool { return string(p) == pw }

func testConfig() session.Config {
	return session.Config{
		MACHashKey:   "test-key-0123456789",
		TermsVersion: "v1",
		Policy: session.Policy{
			Data:            100 << 20,
			OverQuota:       session.ActionDisconnect,
			SessionTimeout:  time.Hour,
			IdleTimeout:     10 * time.Minute,
			InterimInterval: 5 * time.Minute,
			BandwidthDown:   10e6,
			BandwidthUp:     2e6,
		},
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

var berlin, _ = time.LoadLocation("Europe/Berlin")

// backends runs f against a real redis-server and against the embedded
// store (miniredis), which must behave the same.
func backends(t *testing.T, f func(t *testing.T, rdb redis.UniversalClient)) {
	t.Run("redis-server", func(t *testing.T) {
		f(t, redistest.Start(t).Client(t))
	})
	t.Run("embedded", func(t *testing.T) {
		m := miniredis.RunT(t)
		c := redis.NewClient(&redis.Options{Addr: m.Addr()})
		t.Cleanup(func() { c.Close() })
		f(t, c)
	})
}

func newStore(t *testing.T, rdb redis.UniversalClient, cfg session.Config) (*session.Store, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, berlin)}
	s, err := session.NewStore(rdb, cfg, c.Now)
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	if err := s.Preload(context.Background()); err != nil {
		t.Fatalf("Preload: %v", err)
	}
	return s, c
}

var (
	macA = session.MAC{0x02, 0, 0, 0, 0, 0xa}
	macB = session.MAC{0x02, 0, 0, 0, 0, 0xb}
)

func TestAuthorize(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s, _ := newStore(t, rdb, testConfig())
		g, err := s.CreateGrant(ctx, macA, "nas1")
		if err != nil {
			t.Fatalf("CreateGrant: %v", err)
		}
		tests := []struct {
			name string
			req  session.AuthRequest
			want session.RejectReason
		}{
			{"grant", session.AuthRequest{NAS: "nas1", MAC: macA, Username: g.Username, Credentials: password(g.Password)}, session.RejectNone},
			{"wrong password", session.AuthRequest{NAS: "nas1", MAC: macA, Username: g.Username, Credentials: password("x")}, session.RejectPassword},
			{"no credentials", session.AuthRequest{NAS: "nas1", MAC: macA, Username: g.Username}, session.RejectPassword},
			{"other MAC", session.AuthRequest{NAS: "nas1", MAC: macB, Username: g.Username, Credentials: password(g.Password)}, session.RejectNoGrant},
			{"other NAS", session.AuthRequest{NAS: "nas2", MAC: macA, Username: g.Username, Credentials: password(g.Password)}, session.RejectOtherNAS},
			{"unknown user", session.AuthRequest{NAS: "nas1", MAC: macA, Username: "hs-nobody", Credentials: password(g.Password)}, session.RejectNoGrant},
			{"MAC auth remembered", session.AuthRequest{NAS: "nas2", MAC: macA, MACAuth: true}, session.RejectNone},
			{"MAC auth unknown", session.AuthRequest{NAS: "nas1", MAC: macB, MACAuth: true}, session.RejectNotKnown},
		}
		for _, tt := range tests {
			d, err := s.Authorize(ctx, tt.req)
			if err != nil || d.Reason != tt.want {
				t.Errorf("%s: Authorize() = %q, %v, want %q", tt.name, d.Reason, err, tt.want)
			}
			if tt.want == session.RejectNone && (d.Remaining != 100<<20 || d.SessionTimeout != time.Hour || d.Policy.BandwidthDown != 10e6) {
				t.Errorf("%s: Authorize() = %+v, want 100 MiB left, 1h, 10 Mbit/s", tt.name, d)
			}
		}
	})
}

func TestTermsVersionAndForget(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		cfg := testConfig()
		s, _ := newStore(t, rdb, cfg)
		if _, err := s.CreateGrant(ctx, macA, "nas1"); err != nil {
			t.Fatal(err)
		}
		cfg.TermsVersion = "v2"
		s2, _ := newStore(t, rdb, cfg)
		if d, _ := s2.Authorize(ctx, session.AuthRequest{NAS: "nas1", MAC: macA, MACAuth: true}); d.Reason != session.RejectNotKnown {
			t.Errorf("MAC auth after a new terms version = %q, want %q", d.Reason, session.RejectNotKnown)
		}
		if err := s.Forget(ctx, macA); err != nil {
			t.Fatal(err)
		}
		if d, _ := s.Authorize(ctx, session.AuthRequest{NAS: "nas1", MAC: macA, MACAuth: true}); d.Reason != session.RejectNotKnown {
			t.Errorf("MAC auth after Forget = %q, want %q", d.Reason, session.RejectNotKnown)
		}
	})
}

func acct(st session.AcctStatus, sid string, in, out uint64) session.AcctRecord {
	return session.AcctRecord{Status: st, NAS: "nas1", SessionID: sid, MAC: macA, AP: "AP-1", InputOctets: in, OutputOctets: out}
}

func TestAccountCountsOnce(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s, _ := newStore(t, rdb, testConfig())
		steps := []struct {
			rec       session.AcctRecord
			wantTotal int64
		}{
			{acct(session.AcctStart, "s1", 0, 0), 0},
			{acct(session.AcctInterim, "s1", 1000, 5000), 6000},
			{acct(session.AcctInterim, "s1", 1000, 5000), 6000},             // retransmit
			{acct(session.AcctInterim, "s1", 3000, 9000), 12000},            // next
			{acct(session.AcctInterim, "s1", 2000, 7000), 12000},            // late, out of order
			{acct(session.AcctInterim, "s1", 3000, 5<<32+10), 5<<32 + 3010}, // gigawords
			{acct(session.AcctStart, "s2", 0, 0), 5<<32 + 3010},             // second session adds
			{acct(session.AcctInterim, "s2", 100, 100), 5<<32 + 3210},
			{acct(session.AcctStop, "s1", 4000, 5<<32+10), 5<<32 + 4210},
			{acct(session.AcctInterim, "s1", 9000, 5<<32+10), 5<<32 + 9210}, // after Stop: bytes still count
		}
		for i, st := range steps {
			u, err := s.Account(ctx, st.rec)
			if err != nil || u.Total() != st.wantTotal {
				t.Fatalf("step %d: Account(%+v) total = %d, %v, want %d", i, st.rec, u.Total(), err, st.wantTotal)
			}
		}
		d, err := s.Authorize(ctx, session.AuthRequest{NAS: "nas1", MAC: macA, MACAuth: true})
		if err != nil {
			t.Fatal(err)
		}
		if d.Reason != session.RejectNotKnown {
			t.Errorf("MAC auth of a device that never accepted = %q, want %q", d.Reason, session.RejectNotKnown)
		}
	})
}

func TestQuotaAtLogin(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s, clk := newStore(t, rdb, testConfig())
		if _, err := s.CreateGrant(ctx, macA, "nas1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Account(ctx, acct(session.AcctInterim, "s1", 10<<20, 50<<20)); err != nil {
			t.Fatal(err)
		}
		d, _ := s.Authorize(ctx, session.AuthRequest{NAS: "nas2", MAC: macA, MACAuth: true})
		if !d.Accepted() || d.Remaining != 40<<20 {
			t.Errorf("after 60 MiB: Authorize = %q, remaining %d, want accept, %d", d.Reason, d.Remaining, 40<<20)
		}
		if _, err := s.Account(ctx, acct(session.AcctInterim, "s1", 10<<20, 90<<20)); err != nil {
			t.Fatal(err)
		}
		d, _ = s.Authorize(ctx, session.AuthRequest{NAS: "nas2", MAC: macA, MACAuth: true})
		if d.Reason != session.RejectQuotaSpent {
			t.Errorf("after 100 MiB: Authorize = %q, want %q", d.Reason, session.RejectQuotaSpent)
		}
		// Near midnight the session may not outlast the day.
		clk.Set(time.Date(2026, 11, 27, 23, 30, 0, 0, berlin))
		d, _ = s.Authorize(ctx, session.AuthRequest{NAS: "nas2", MAC: macA, MACAuth: true})
		if !d.Accepted() || d.SessionTimeout != 30*time.Minute+time.Second {
			t.Errorf("next day 23:30: Authorize = %q, timeout %v, want accept, 30m1s", d.Reason, d.SessionTimeout)
		}
	})
}

func TestAccountConcurrent(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	ctx := context.Background()
	s, _ := newStore(t, rdb, testConfig())
	const sessions, interims = 8, 50
	var wg sync.WaitGroup
	for i := range sessions {
		for j := 1; j <= interims; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Each session ends at in=interims*100, out=interims*1000,
				// whatever order the interims arrive in.
				r := acct(session.AcctInterim, fmt.Sprintf("s%d", i), uint64(j*100), uint64(j*1000))
				if _, err := s.Account(ctx, r); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	u, err := s.Account(ctx, acct(session.AcctInterim, "s0", 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(sessions * interims * 1100); u.Total() != want {
		t.Errorf("total after concurrent interims = %d, want %d", u.Total(), want)
	}
}

func TestCloseNAS(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s, clk := newStore(t, rdb, testConfig())
		ctrlA, ctrlB := netip.MustParseAddr("10.30.1.1"), netip.MustParseAddr("10.30.1.2")
		// One NAS entry, two controllers: a and b on A, c on B.
		for _, r := range []struct {
			sid  string
			from netip.Addr
		}{{"a", ctrlA}, {"b", ctrlA}, {"c", ctrlB}} {
			rec := acct(session.AcctStart, r.sid, 0, 0)
			rec.NASIP = r.from.String()
			if _, err := s.Account(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}
		stop := acct(session.AcctStop, "b", 1, 1)
		stop.NASIP = ctrlA.String()
		if _, err := s.Account(ctx, stop); err != nil {
			t.Fatal(err)
		}
		// Controller A restarts, a minute later: only its open session
		// closes.
		clk.Set(clk.Now().Add(time.Minute))
		n, err := s.CloseNAS(ctx, "nas1", ctrlA, 0)
		if err != nil || n != 1 {
			t.Errorf("CloseNAS(A) = %d, %v, want 1, nil", n, err)
		}
		if n, _ := s.CloseNAS(ctx, "nas1", ctrlA, 0); n != 0 {
			t.Errorf("second CloseNAS(A) = %d, want 0", n)
		}
		if n, _ := s.ActiveSessions(ctx, []string{"nas1"}); n["nas1"] != 1 {
			t.Errorf("after CloseNAS(A): active sessions = %v, want controller B's one", n)
		}
		if n, _ := s.CloseNAS(ctx, "nas1", ctrlB, 0); n != 1 {
			t.Errorf("CloseNAS(B) = %d, want 1", n)
		}
	})
}

// TestCloseNASSpares: an Accounting-On that arrives late (retransmitted
// with a new Acct-Delay-Time, or through another instance) closes the
// sessions the NAS had when it restarted, not those begun since, which
// would otherwise escape enforcement.
func TestCloseNASSpares(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s, clk := newStore(t, rdb, testConfig())
		start := clk.Now()
		mustAccount(t, s, acct(session.AcctStart, "old", 0, 0))
		restart := start.Add(time.Minute)
		clk.Set(restart.Add(20 * time.Second))
		mustAccount(t, s, acct(session.AcctStart, "new", 0, 0))
		clk.Set(restart.Add(40 * time.Second))
		if n, err := s.CloseNAS(ctx, "nas1", netip.Addr{}, 40*time.Second); n != 1 || err != nil {
			t.Errorf("CloseNAS at the restart = %d, %v, want 1 (the old session), nil", n, err)
		}
		// The NAS's first Accounting-On was answered; its retransmit
		// closes nothing.
		if n, err := s.CloseNAS(ctx, "nas1", netip.Addr{}, 40*time.Second); n != 0 || err != nil {
			t.Errorf("CloseNAS again = %d, %v, want 0, nil", n, err)
		}
		if n, _ := s.ActiveSessions(ctx, []string{"nas1"}); n["nas1"] != 1 {
			t.Errorf("active sessions = %v, want the new one", n)
		}
		// The new session is still enforced: over the allowance, the
		// device's sessions are to be acted on.
		if u := mustAccount(t, s, acct(session.AcctInterim, "new", 60*mib, 60*mib)); !u.Enforce {
			t.Errorf("interim over the allowance: Enforce = false, want true (%+v)", u)
		}
	})
}

// TestKeysPrivateAndExpiring checks the privacy rules on what is stored:
// every key has a TTL, no key holds a clear MAC, and a closed session no
// longer holds the clear MAC either.
func TestKeysPrivateAndExpiring(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	ctx := context.Background()
	s, _ := newStore(t, rdb, testConfig())
	if _, err := s.CreateGrant(ctx, macA, "nas1"); err != nil {
		t.Fatal(err)
	}
	// s1 is a MAC-authentication session: its User-Name is the MAC.
	macAuth := func(r session.AcctRecord) session.AcctRecord { r.Username = "02:00:00:00:00:0a"; return r }
	// s3 and s4 have Acct-Session-Ids with the MAC in them, as Cisco's
	// controllers send them; s3 ends.
	const s3, s4 = "58b62226/02:00:00:00:00:0a/5804651", "58b62227/02:00:00:00:00:0A/5804652"
	for _, r := range []session.AcctRecord{
		macAuth(acct(session.AcctStart, "s1", 0, 0)), macAuth(acct(session.AcctInterim, "s1", 5, 5)), acct(session.AcctStart, "s2", 0, 0),
		acct(session.AcctStart, s3, 0, 0), acct(session.AcctInterim, s4, 1, 1), acct(session.AcctStop, s3, 2, 2),
	} {
		if _, err := s.Account(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Account(ctx, macAuth(acct(session.AcctStop, "s1", 6, 6))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sessions(ctx, session.SessionFilter{}); err != nil { // writes the indexes
		t.Fatal(err)
	}
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	clear := []string{macA.String(), strings.ToLower(macA.String()), "02:00:00:00:00:0a", "02000000000a"}
	for _, k := range keys {
		ttl := rdb.TTL(ctx, k).Val()
		if ttl <= 0 {
			t.Errorf("key %q has TTL %v, want a positive TTL", k, ttl)
		}
		for _, c := range clear {
			if strings.Contains(strings.ToLower(k), strings.ToLower(c)) {
				t.Errorf("key %q contains the clear MAC", k)
			}
		}
		if rdb.Type(ctx, k).Val() == "zset" {
			for _, m := range rdb.ZRange(ctx, k, 0, -1).Val() {
				for _, c := range clear {
					if strings.Contains(strings.ToLower(m), strings.ToLower(c)) {
						t.Errorf("key %q member %q holds the clear MAC", k, m)
					}
				}
			}
		}
		if rdb.Type(ctx, k).Val() == "hash" {
			v := rdb.HGetAll(ctx, k).Val()
			// Only an open session's mac field (and, for s4, the
			// Acct-Session-Id CoA names it by) may hold the clear MAC.
			for f, val := range v {
				if strings.Contains(k, ":s:nas1:s2") && f == "mac" || strings.Contains(k, ":s:nas1:58b62227/*/") && (f == "mac" || f == "asid") {
					continue
				}
				for _, c := range clear {
					if strings.Contains(strings.ToLower(val), strings.ToLower(c)) {
						t.Errorf("key %q field %q holds the clear MAC %q", k, f, val)
					}
					if strings.Contains(strings.ToLower(f), strings.ToLower(c)) {
						t.Errorf("key %q has a field named with the clear MAC: %q", k, f)
					}
				}
			}
			if strings.Contains(k, ":s:nas1:s2") && v["mac"] != macA.String() {
				t.Errorf("open session %q holds MAC %q, want %q (operators and CoA need it)", k, v["mac"], macA)
			}
		}
	}
	if len(keys) < 5 {
		t.Errorf("only %d keys stored: %v", len(keys), keys)
	}
}

func TestUnavailable(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	s, err := session.NewStore(rdb, testConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.CreateGrant(ctx, macA, "nas1"); !errors.Is(err, session.ErrUnavailable) {
		t.Errorf("CreateGrant on a dead Redis = %v, want ErrUnavailable", err)
	}
	if _, err := s.Authorize(ctx, session.AuthRequest{NAS: "n", MAC: macA, MACAuth: true}); !errors.Is(err, session.ErrUnavailable) {
		t.Errorf("Authorize on a dead Redis = %v, want ErrUnavailable", err)
	}
	if _, err := s.Account(ctx, acct(session.AcctStart, "s", 0, 0)); !errors.Is(err, session.ErrUnavailable) {
		t.Errorf("Account on a dead Redis = %v, want ErrUnavailable", err)
	}
	if _, err := s.Account(ctx, session.AcctRecord{Status: session.AcctStart}); err == nil || errors.Is(err, session.ErrUnavailable) {
		t.Errorf("Account of an invalid record = %v, want a validation error", err)
	}
}

func TestScriptsReloadAfterFlush(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	ctx := context.Background()
	s, _ := newStore(t, rdb, testConfig())
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Account(ctx, acct(session.AcctStart, "s1", 1, 1)); err != nil {
		t.Errorf("Account after SCRIPT FLUSH = %v, want nil", err)
	}
}

// TestAccountOddInput: session IDs are the NAS's bytes and may hold
// anything, braces and glob characters included; counters the ledger cannot
// hold exactly are refused before anything is written.
func TestAccountOddInput(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s, _ := newStore(t, rdb, testConfig())
		for _, sid := range []string{"{x}:s:*", "}{", "a b\x00c", "::"} {
			if u, err := s.Account(ctx, acct(session.AcctInterim, sid, 10, 10)); err != nil {
				t.Errorf("Account(session ID %q) = %v, %v, want stored", sid, u, err)
			}
		}
		u, err := s.Account(ctx, acct(session.AcctInterim, "big", session.MaxCounter+1, 0))
		if err == nil || errors.Is(err, session.ErrUnavailable) {
			t.Errorf("Account(counter 2^53) = %v, %v, want a validation error", u, err)
		}
		u, err = s.Account(ctx, acct(session.AcctInterim, "sum", 0, 0))
		if err != nil || u.Total() != 4*20 {
			t.Errorf("day total = %d, %v, want %d: nothing of the refused record counted", u.Total(), err, 4*20)
		}
	})
}
