package session_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"hotspot/internal/redistest"
	"hotspot/session"
)

const mib = 1 << 20

// macAuth asks for a MAC-authentication login of macA on nas.
func macAuth(t *testing.T, s *session.Store, nas string) session.Decision {
	t.Helper()
	d, err := s.Authorize(context.Background(), session.AuthRequest{NAS: nas, MAC: macA, MACAuth: true})
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	return d
}

func mustAccount(t *testing.T, s *session.Store, r session.AcctRecord) session.Usage {
	t.Helper()
	u, err := s.Account(context.Background(), r)
	if err != nil {
		t.Fatalf("Account(%+v): %v", r, err)
	}
	return u
}

// TestLedgerWindowReset: the day's ledger starts afresh at local midnight,
// also on the days the clocks change, and a session that runs across
// midnight counts what it uses after it in the new day.
func TestLedgerWindowReset(t *testing.T) {
	at := func(y int, m time.Month, d, h, min, sec int) time.Time {
		return time.Date(y, m, d, h, min, sec, 0, berlin)
	}
	tests := []struct {
		name string
		// before and sameDay are in one day; after is in the next.
		before, sameDay, after time.Time
		// timeout is the Session-Timeout at before, capped at midnight.
		timeout time.Duration
	}{
		{"ordinary day", at(2026, 11, 26, 0, 30, 0), at(2026, 11, 26, 23, 59, 59), at(2026, 11, 27, 0, 0, 0), 23*time.Hour + 30*time.Minute + time.Second},
		// 2026-03-29: 02:00 CET → 03:00 CEST, 23 hours.
		{"spring DST day", at(2026, 3, 29, 1, 0, 0), at(2026, 3, 29, 23, 59, 59), at(2026, 3, 30, 0, 0, 0), 22*time.Hour + time.Second},
		{"spring DST day after the change", at(2026, 3, 29, 3, 0, 0), at(2026, 3, 29, 23, 59, 59), at(2026, 3, 30, 0, 0, 1), 21*time.Hour + time.Second},
		// 2026-10-25: 03:00 CEST → 02:00 CET, 25 hours; 02:30 happens twice.
		{"autumn DST day", at(2026, 10, 25, 0, 30, 0), time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), at(2026, 10, 26, 0, 0, 0), 24*time.Hour + 30*time.Minute + time.Second},
		{"autumn DST day, first 02:30", time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), at(2026, 10, 25, 23, 59, 59), at(2026, 10, 26, 0, 0, 0), 22*time.Hour + 30*time.Minute + time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backends(t, func(t *testing.T, rdb redis.UniversalClient) {
				cfg := testConfig()
				cfg.Policy.SessionTimeout = 0 // only the day's end caps it
				s, clk := newStore(t, rdb, cfg)
				if _, err := s.CreateGrant(context.Background(), macA, "nas1"); err != nil {
					t.Fatal(err)
				}
				clk.Set(tt.before)
				if d := macAuth(t, s, "nas1"); d.SessionTimeout != tt.timeout {
					t.Errorf("Session-Timeout at %v = %v, want %v (until local midnight)", tt.before, d.SessionTimeout, tt.timeout)
				}
				mustAccount(t, s, acct(session.AcctStart, "s1", 0, 0))
				mustAccount(t, s, acct(session.AcctInterim, "s1", 10*mib, 20*mib))
				clk.Set(tt.sameDay)
				if u := mustAccount(t, s, acct(session.AcctInterim, "s1", 10*mib, 30*mib)); u.Total() != 40*mib {
					t.Errorf("total at %v = %d, want %d (same day)", tt.sameDay, u.Total(), 40*mib)
				}
				if d := macAuth(t, s, "nas1"); d.Remaining != 60*mib {
					t.Errorf("remaining at %v = %d, want %d", tt.sameDay, d.Remaining, 60*mib)
				}
				clk.Set(tt.after)
				if d := macAuth(t, s, "nas1"); d.Remaining != 100*mib {
					t.Errorf("remaining at %v = %d, want a fresh %d", tt.after, d.Remaining, 100*mib)
				}
				// The session runs on: only what it used since midnight counts.
				if u := mustAccount(t, s, acct(session.AcctInterim, "s1", 15*mib, 35*mib)); u.Total() != 10*mib {
					t.Errorf("total at %v = %d, want %d (the new day's part)", tt.after, u.Total(), 10*mib)
				}
			})
		})
	}
}

// TestLedgerWindows: a policy counting per week or month shares the ledger
// with the daily one; each resets at its own boundary.
func TestLedgerWindows(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		cfg := testConfig()
		cfg.Policies = []session.Policy{
			{Name: "weekly", Match: session.Match{NAS: []string{"nas-w"}}, Window: session.WindowWeek, Data: 1000 * mib, OverQuota: session.ActionDisconnect},
			{Name: "monthly", Match: session.Match{NAS: []string{"nas-m"}}, Window: session.WindowMonth, Data: 5000 * mib, OverQuota: session.ActionDisconnect},
		}
		s, clk := newStore(t, rdb, cfg)
		if _, err := s.CreateGrant(context.Background(), macA, "nas1"); err != nil {
			t.Fatal(err)
		}
		remaining := func(nas string) int64 { return macAuth(t, s, nas).Remaining }
		// Sunday 2026-03-29 (the spring DST day), 12:00.
		clk.Set(time.Date(2026, 3, 29, 12, 0, 0, 0, berlin))
		u := mustAccount(t, s, acct(session.AcctInterim, "s1", 0, 30*mib))
		if u.Policy != "default" || u.Limit != 100*mib {
			t.Errorf("Account on nas1: policy %q, limit %d, want default, %d", u.Policy, u.Limit, 100*mib)
		}
		if got := []int64{remaining("nas1"), remaining("nas-w"), remaining("nas-m")}; got[0] != 70*mib || got[1] != 970*mib || got[2] != 4970*mib {
			t.Errorf("Sunday: remaining day/week/month = %v MiB, want 70/970/4970", []int64{got[0] / mib, got[1] / mib, got[2] / mib})
		}
		// Monday: new day, new week, same month.
		clk.Set(time.Date(2026, 3, 30, 8, 0, 0, 0, berlin))
		mustAccount(t, s, acct(session.AcctInterim, "s1", 0, 40*mib))
		if got := []int64{remaining("nas1"), remaining("nas-w"), remaining("nas-m")}; got[0] != 90*mib || got[1] != 990*mib || got[2] != 4960*mib {
			t.Errorf("Monday: remaining day/week/month = %v MiB, want 90/990/4960", []int64{got[0] / mib, got[1] / mib, got[2] / mib})
		}
		// Wednesday 1 April: new day, same week, new month.
		clk.Set(time.Date(2026, 4, 1, 0, 0, 0, 0, berlin))
		mustAccount(t, s, acct(session.AcctInterim, "s1", 0, 45*mib))
		if got := []int64{remaining("nas1"), remaining("nas-w"), remaining("nas-m")}; got[0] != 95*mib || got[1] != 985*mib || got[2] != 4995*mib {
			t.Errorf("1 April: remaining day/week/month = %v MiB, want 95/985/4995", []int64{got[0] / mib, got[1] / mib, got[2] / mib})
		}
		// Accounting from the weekly NAS reports the week.
		if u := mustAccount(t, s, session.AcctRecord{Status: session.AcctInterim, NAS: "nas-w", SessionID: "w1", MAC: macA, OutputOctets: 5 * mib}); u.Policy != "weekly" || u.Total() != 20*mib {
			t.Errorf("Account on nas-w = policy %q, total %d MiB, want weekly, 20", u.Policy, u.Total()/mib)
		}
	})
}

// TestLedgerOnlineTime: Acct-Session-Time counts like the octets, once
// per increase, summed over sessions; the allowance caps Session-Timeout
// and, used up, rejects the device whatever the data says.
func TestLedgerOnlineTime(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		cfg := testConfig()
		cfg.Policy.OnlineTime = 2 * time.Hour
		cfg.Policy.SessionTimeout = 90 * time.Minute
		s, clk := newStore(t, rdb, cfg)
		if _, err := s.CreateGrant(context.Background(), macA, "nas1"); err != nil {
			t.Fatal(err)
		}
		t0 := clk.Now()
		rec := func(st session.AcctStatus, sid string, secs uint32) session.AcctRecord {
			r := acct(st, sid, 1, 1)
			r.SessionTime = secs
			return r
		}
		// s1 runs from 0 to 50 min; the device roams at 31 min, and s2
		// runs from 31 to 40 min, while s1 waits out its idle timeout:
		// 50 minutes online, not 59.
		steps := []struct {
			at   time.Duration
			rec  session.AcctRecord
			want time.Duration
		}{
			{0, rec(session.AcctStart, "s1", 0), 0},
			{30 * time.Minute, rec(session.AcctInterim, "s1", 1800), 30 * time.Minute},
			{30 * time.Minute, rec(session.AcctInterim, "s1", 1800), 30 * time.Minute}, // duplicate
			{31 * time.Minute, rec(session.AcctInterim, "s1", 1200), 30 * time.Minute}, // late
			{31 * time.Minute, rec(session.AcctStart, "s2", 0), 30 * time.Minute},
			{40 * time.Minute, rec(session.AcctInterim, "s2", 540), 39 * time.Minute},
			{50 * time.Minute, rec(session.AcctStop, "s1", 3000), 50 * time.Minute},
		}
		for i, st := range steps {
			clk.Set(t0.Add(st.at))
			if u := mustAccount(t, s, st.rec); u.Online != st.want || u.OnlineLimit != 2*time.Hour {
				t.Fatalf("step %d: online = %v of %v, want %v of 2h", i, u.Online, u.OnlineLimit, st.want)
			}
		}
		if d := macAuth(t, s, "nas1"); !d.Accepted() || d.SessionTimeout != 70*time.Minute {
			t.Errorf("after 50 min of 2h: Authorize = %q, Session-Timeout %v, want accept, 70m (the time left)", d.Reason, d.SessionTimeout)
		}
		// s2 goes on alone: all of its time from 50 min on is new.
		clk.Set(t0.Add(120 * time.Minute))
		if u := mustAccount(t, s, rec(session.AcctInterim, "s2", 5340)); u.Online != 2*time.Hour || !u.Enforce {
			t.Errorf("after 2h: online %v, enforce %v, want 2h, true", u.Online, u.Enforce)
		}
		if d := macAuth(t, s, "nas1"); d.Reason != session.RejectTimeSpent {
			t.Errorf("after 2h: Authorize = %q, want %q", d.Reason, session.RejectTimeSpent)
		}
	})
}

// TestLedgerOnlineTimeQueued: a session's records that a NAS queued and
// sends at once, without Acct-Delay-Time and out of order, count all of
// the session's time.
func TestLedgerOnlineTimeQueued(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		cfg := testConfig()
		cfg.Policy.OnlineTime = 24 * time.Hour
		s, clk := newStore(t, rdb, cfg)
		rec := func(sid string, secs uint32) session.AcctRecord {
			r := acct(session.AcctInterim, sid, 1, 1)
			r.SessionTime = secs
			return r
		}
		mustAccount(t, s, rec("s1", 60))
		clk.Set(clk.Now().Add(time.Hour))
		for _, secs := range []uint32{600, 300, 900} {
			mustAccount(t, s, rec("s1", secs))
		}
		if u := mustAccount(t, s, rec("s1", 900)); u.Online != 15*time.Minute {
			t.Errorf("online %v, want 15m0s", u.Online)
		}
		// Another device: b1 was online from 0 to 10 minutes. b2's first
		// record, at 15, says 10 minutes; its next, queued with it, 20:
		// b2 began at -5, so only the 5 minutes before b1 began are new.
		t1 := clk.Now().Add(time.Hour)
		recB := func(sid string, mins uint32) session.AcctRecord {
			r := rec(sid, mins*60)
			r.MAC = macB
			return r
		}
		clk.Set(t1.Add(10 * time.Minute))
		mustAccount(t, s, recB("b1", 10))
		clk.Set(t1.Add(15 * time.Minute))
		mustAccount(t, s, recB("b2", 10))
		if u := mustAccount(t, s, recB("b2", 20)); u.Online != 20*time.Minute {
			t.Errorf("device B: online %v, want 20m0s", u.Online)
		}
	})
}

// TestLedgerOnlineTimeRoaming: where a policy limits online time, it counts
// once while a device's sessions overlap. The device roams from AP-A's session to
// AP-B's at 12 minutes; the old session stays open until its idle timeout
// (it stops at 22 minutes). Online from 0 to 27 minutes: 27 minutes, not
// the 37 its sessions' times add up to. The spans kept stay few.
func TestLedgerOnlineTimeRoaming(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		cfg := testConfig()
		cfg.Policy.OnlineTime = 24 * time.Hour
		s, clk := newStore(t, rdb, cfg)
		t0 := clk.Now()
		rec := func(st session.AcctStatus, sid string, mins uint32) session.AcctRecord {
			r := acct(st, sid, 1, 1)
			r.SessionTime = mins * 60
			return r
		}
		steps := []struct {
			at   int // minutes
			rec  session.AcctRecord
			want int // minutes online
		}{
			{0, rec(session.AcctStart, "A", 0), 0},
			{5, rec(session.AcctInterim, "A", 5), 5},
			{10, rec(session.AcctInterim, "A", 10), 10},
			{12, rec(session.AcctStart, "B", 0), 10},
			{15, rec(session.AcctInterim, "A", 15), 15},
			{17, rec(session.AcctInterim, "B", 5), 17},
			{20, rec(session.AcctInterim, "A", 20), 20},
			{22, rec(session.AcctStop, "A", 22), 22},
			{22, rec(session.AcctInterim, "B", 10), 22},
			{27, rec(session.AcctInterim, "B", 15), 27},
		}
		for i, st := range steps {
			clk.Set(t0.Add(time.Duration(st.at) * time.Minute))
			if u := mustAccount(t, s, st.rec); u.Online != time.Duration(st.want)*time.Minute {
				t.Fatalf("step %d (%d min, %s): online %v, want %d min", i, st.at, st.rec.SessionID, u.Online, st.want)
			}
		}
		// The same on another device, after a record that says it was
		// delayed for 127 years (its minute counts, the rest the same).
		bogus := rec(session.AcctInterim, "Z", 1)
		bogus.MAC, bogus.Delay = macB, 4e9*time.Second
		clk.Set(t0)
		mustAccount(t, s, bogus)
		for i, st := range steps {
			clk.Set(t0.Add(time.Duration(st.at) * time.Minute))
			st.rec.MAC = macB
			if u := mustAccount(t, s, st.rec); u.Online != time.Duration(st.want+1)*time.Minute {
				t.Fatalf("after a bogus delay, step %d (%d min, %s): online %v, want %d min", i, st.at, st.rec.SessionID, u.Online, st.want+1)
			}
		}
		// Ten more sessions, one after the other with gaps: each counts
		// in full, and no more than four spans are kept.
		for i := range 10 {
			clk.Set(t0.Add(time.Duration(40+10*i) * time.Minute))
			mustAccount(t, s, rec(session.AcctStop, fmt.Sprintf("C%d", i), 5))
		}
		if u := mustAccount(t, s, rec(session.AcctInterim, "B", 15)); u.Online != 77*time.Minute {
			t.Errorf("after ten more sessions of 5 min: online %v, want 1h17m0s", u.Online)
		}
		keys := []string{useKeyOf(t, rdb, s, macA)}
		if w := strings.Fields(rdb.HGet(context.Background(), keys[0], "w").Val()); len(w) == 0 || len(w) > 8 {
			t.Errorf("spans kept: %v, want one to four", w)
		}
		// Two hours later, the spans before are dropped.
		clk.Set(clk.Now().Add(2 * time.Hour))
		mustAccount(t, s, rec(session.AcctStop, "D", 5))
		if w := strings.Fields(rdb.HGet(context.Background(), keys[0], "w").Val()); len(w) != 2 {
			t.Errorf("spans kept two hours later: %v, want one", w)
		}
	})
}

// TestLedgerStopAfterExpiry: a session that stopped reporting expires, so
// it never holds a device's slot; its Stop, arriving later, still counts
// what it used since its last interim, and only that.
func TestLedgerStopAfterExpiry(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s, _ := newStore(t, rdb, testConfig())
		mustAccount(t, s, acct(session.AcctStart, "s1", 0, 0))
		mustAccount(t, s, acct(session.AcctInterim, "s1", 10*mib, 20*mib))
		expire(t, rdb, "*:s:nas1:s1")
		st, err := s.DeviceStatus(ctx, macA, session.Where{NAS: "nas1"})
		if err != nil || len(st.Sessions) != 0 {
			t.Errorf("DeviceStatus after expiry: %d open sessions, %v, want none", len(st.Sessions), err)
		}
		if u := mustAccount(t, s, acct(session.AcctStop, "s1", 12*mib, 25*mib)); u.Total() != 37*mib {
			t.Errorf("Stop after expiry: total %d MiB, want 37 (30 before, 7 since)", u.Total()/mib)
		}
		if u := mustAccount(t, s, acct(session.AcctStop, "s1", 12*mib, 25*mib)); u.Total() != 37*mib {
			t.Errorf("Stop again: total %d MiB, want 37", u.Total()/mib)
		}
		// An interim after expiry reopens nothing twice either.
		mustAccount(t, s, acct(session.AcctInterim, "s2", 1*mib, 0))
		expire(t, rdb, "*:s:nas1:s2")
		if u := mustAccount(t, s, acct(session.AcctInterim, "s2", 2*mib, 0)); u.Total() != 39*mib {
			t.Errorf("interim after expiry: total %d MiB, want 39", u.Total()/mib)
		}
	})
}

// TestLedgerLargeCounters: counters up to MaxCounter survive the trip
// through the open hash exactly, as a session expires while silent and
// reports again.
func TestLedgerLargeCounters(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		s, _ := newStore(t, rdb, testConfig())
		const big = session.MaxCounter - 10
		mustAccount(t, s, acct(session.AcctInterim, "s1", big, 0))
		expire(t, rdb, "*:s:nas1:s1")
		if u := mustAccount(t, s, acct(session.AcctInterim, "s1", big+3, 0)); u.Input != big+3 {
			t.Errorf("after expiry: input %d, want %d (%d before, 3 since)", u.Input, int64(big+3), int64(big))
		}
	})
}

// expire deletes the keys matching pattern, as their TTL would.
func expire(t *testing.T, rdb redis.UniversalClient, pattern string) {
	t.Helper()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, pattern).Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys %q = %v, %v, want one", pattern, keys, err)
	}
	if err := rdb.Del(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
}

// TestLedgerGigawords: counters past 4 GiB (Gigawords folded in) count
// exactly, and what is left past 4 GiB is reported whole.
func TestLedgerGigawords(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		cfg := testConfig()
		cfg.Policy.Data = 20 << 30
		s, _ := newStore(t, rdb, cfg)
		if _, err := s.CreateGrant(context.Background(), macA, "nas1"); err != nil {
			t.Fatal(err)
		}
		mustAccount(t, s, acct(session.AcctInterim, "s1", 1<<32+5, 3<<32+7))
		mustAccount(t, s, acct(session.AcctInterim, "s1", 1<<32+5, 3<<32+7)) // duplicate
		u := mustAccount(t, s, acct(session.AcctInterim, "s1", 1<<32+5, 3<<32+6))
		if want := int64(4<<32 + 12); u.Total() != want {
			t.Errorf("total = %d, want %d", u.Total(), want)
		}
		if d := macAuth(t, s, "nas1"); d.Remaining != 20<<30-(4<<32+12) {
			t.Errorf("remaining = %d, want %d", d.Remaining, int64(20<<30-(4<<32+12)))
		}
	})
}

// TestLedgerConcurrent: many goroutines send the interims of several
// sessions of one device on several NASes at once, each interim twice and
// in any order, against a real redis-server: every window's total is exact.
func TestLedgerConcurrent(t *testing.T) {
	t.Run("summed", func(t *testing.T) { testLedgerConcurrent(t, false) })
	t.Run("once", func(t *testing.T) { testLedgerConcurrent(t, true) })
}

// testLedgerConcurrent: with once, a policy limits online time, which
// then counts once where the sessions overlap.
func testLedgerConcurrent(t *testing.T, once bool) {
	rdb := redistest.Start(t).Client(t)
	ctx := context.Background()
	cfg := testConfig()
	if once {
		cfg.Policy.OnlineTime = 24 * time.Hour
	}
	cfg.Policies = []session.Policy{{Name: "weekly", Match: session.Match{NAS: []string{"nas-w"}}, Window: session.WindowWeek}}
	s, _ := newStore(t, rdb, cfg)
	nases := []string{"nas1", "nas2", "nas-w"}
	const sessions, interims = 6, 40
	var wg sync.WaitGroup
	for i := range sessions {
		for j := 1; j <= interims; j++ {
			for range 2 {
				wg.Go(func() {
					// The j-th interim of each session happened j minutes
					// in; all arrive now, in any order, saying so.
					r := session.AcctRecord{
						Status: session.AcctInterim, NAS: nases[i%len(nases)], SessionID: fmt.Sprintf("s%d", i), MAC: macA,
						InputOctets: uint64(j * 100), OutputOctets: uint64(j*1000) + 1<<32, SessionTime: uint32(j * 60),
						Delay: time.Duration(interims-j) * time.Minute,
					}
					if _, err := s.Account(ctx, r); err != nil {
						t.Error(err)
					}
				})
			}
		}
	}
	wg.Wait()
	wantData := int64(sessions * (interims*1100 + 1<<32))
	// Without a policy that limits online time, the sessions' times add
	// up; with one, the time they ran side by side counts once.
	wantTime := time.Duration(sessions*interims) * time.Minute
	if once {
		wantTime = time.Duration(interims) * time.Minute
	}
	// A record with zero counters of an existing session changes nothing
	// and reports the totals: s0 is on nas1 (daily), s2 on nas-w (weekly).
	for nas, sid := range map[string]string{"nas1": "s0", "nas-w": "s2"} {
		u, err := s.Account(ctx, session.AcctRecord{Status: session.AcctInterim, NAS: nas, SessionID: sid, MAC: macA})
		if err != nil {
			t.Fatal(err)
		}
		if u.Total() != wantData || u.Online != wantTime {
			t.Errorf("%s (%s): total %d, online %v, want %d, %v", nas, u.Policy, u.Total(), u.Online, wantData, wantTime)
		}
	}
	st, err := s.DeviceStatus(ctx, macA, session.Where{NAS: "nas2"})
	if err != nil || len(st.Sessions) != sessions || st.DataUsed != wantData {
		t.Errorf("DeviceStatus = %d sessions, %d used, %v, want %d, %d", len(st.Sessions), st.DataUsed, err, sessions, wantData)
	}
	for _, sess := range st.Sessions {
		if !strings.HasPrefix(sess.AcctSessionID, "s") || sess.SessionTime != interims*60 {
			t.Errorf("session %s: time %d, want %d", sess.AcctSessionID, sess.SessionTime, interims*60)
		}
	}
}

// TestLedgerRetention: a day's ledger is dropped when the device's next
// day starts, and the device's use hash lives the retention period from
// its last record; a week's ledger is a key that lives its window's end
// plus the retention period.
func TestLedgerRetention(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		cfg := testConfig()
		cfg.Retention = 48 * time.Hour
		cfg.Policies = []session.Policy{{Name: "weekly", Match: session.Match{NAS: []string{"nas-w"}}, Window: session.WindowWeek}}
		s, clk := newStore(t, rdb, cfg)
		day := clk.Now() // Thursday 2026-11-26, 12:00 in Berlin
		use := func() (key string, ledgers []string) {
			keys := rdb.Keys(ctx, "{d:*}:use").Val()
			if len(keys) != 1 {
				t.Fatalf("use hashes %v, want one", keys)
			}
			for _, f := range rdb.HKeys(ctx, keys[0]).Val() {
				if !strings.Contains(f, ":") && f != "x" {
					ledgers = append(ledgers, f)
				}
			}
			return keys[0], ledgers
		}
		mustAccount(t, s, acct(session.AcctInterim, "s1", mib, 0))
		if _, got := use(); !slices.Equal(got, []string{"d20261126"}) {
			t.Errorf("first day: ledgers %v, want [d20261126]", got)
		}
		clk.Set(day.AddDate(0, 0, 1))
		mustAccount(t, s, acct(session.AcctInterim, "s2", mib, 0))
		k, got := use()
		if !slices.Equal(got, []string{"d20261127"}) {
			t.Errorf("next day: ledgers %v, want only [d20261127]", got)
		}
		if ttl := rdb.TTL(ctx, k).Val(); ttl < 48*time.Hour-time.Minute || ttl > 49*time.Hour {
			t.Errorf("use hash TTL %v, want the retention period (48h) from the last record, and up to an hour more", ttl)
		}
		// The TTL is set an hour longer than needed, and set again (with
		// "x", when it runs out) only when less than the retention period
		// would be left.
		x := rdb.HGet(ctx, k, "x").Val()
		if want := strconv.FormatInt(clk.Now().Add(49*time.Hour).Unix(), 10); x != want {
			t.Errorf("use hash expires at %s, want %s", x, want)
		}
		clk.Set(clk.Now().Add(59 * time.Minute))
		mustAccount(t, s, acct(session.AcctInterim, "s2", 2*mib, 0))
		if got := rdb.HGet(ctx, k, "x").Val(); got != x {
			t.Errorf("after 59 minutes: use hash expires at %s, want %s still", got, x)
		}
		clk.Set(clk.Now().Add(2 * time.Minute))
		mustAccount(t, s, acct(session.AcctInterim, "s2", 3*mib, 0))
		if got, want := rdb.HGet(ctx, k, "x").Val(), strconv.FormatInt(clk.Now().Add(49*time.Hour).Unix(), 10); got != want {
			t.Errorf("after 61 minutes: use hash expires at %s, want %s", got, want)
		}
		// The week ends on Monday 2026-11-30 at midnight, 84 hours after
		// the first record, which made its ledger; it is kept 48 hours
		// more. (Redis's clock does not follow the test's.)
		wk := rdb.Keys(ctx, "{d:*}:use:w*").Val()
		if len(wk) != 1 {
			t.Fatalf("week ledgers %v, want one", wk)
		}
		if ttl := rdb.TTL(ctx, wk[0]).Val(); ttl < 131*time.Hour || ttl > 132*time.Hour {
			t.Errorf("week ledger TTL %v, want 132h (84h to the week's end + 48h)", ttl)
		}
	})
}

// TestLedgerClockSkewAtMidnight: an instance whose clock is behind
// another's, at midnight, counts into the day that its clock says, and
// does not drop the ledger of the day the other instance has begun.
func TestLedgerClockSkewAtMidnight(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ahead, aheadClk := newStore(t, rdb, testConfig())
		behind, behindClk := newStore(t, rdb, testConfig())
		aheadClk.Set(time.Date(2026, 11, 27, 0, 0, 10, 0, berlin))
		behindClk.Set(time.Date(2026, 11, 26, 23, 59, 55, 0, berlin))
		mustAccount(t, ahead, acct(session.AcctStart, "s1", 0, 0))
		mustAccount(t, ahead, acct(session.AcctInterim, "s1", 20*mib, 30*mib))
		// A new session of the device, on the instance that is behind.
		mustAccount(t, behind, acct(session.AcctStart, "s2", 0, 0))
		mustAccount(t, behind, acct(session.AcctInterim, "s2", 1*mib, 1*mib))
		if u := mustAccount(t, ahead, acct(session.AcctInterim, "s1", 25*mib, 35*mib)); u.Total() != 60*mib {
			t.Errorf("the new day's total = %d MiB, want 60 (the instance behind dropped it)", u.Total()/mib)
		}
	})
}

// TestReusedSessionID: a NAS whose session counter restarted sends a Start
// under the ID of a session it closed earlier. That is a new session: it
// counts from 0 and is enforced. A Start that merely arrives late, within
// a live TTL of the Stop or with an Acct-Delay-Time that says it happened
// before, changes nothing.
func TestReusedSessionID(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		s, clk := newStore(t, rdb, testConfig()) // 100 MiB a day, live TTL 16 min
		t0 := clk.Now()
		mustAccount(t, s, acct(session.AcctStart, "s1", 0, 0))
		mustAccount(t, s, acct(session.AcctStop, "s1", 40*mib, 50*mib))

		clk.Set(t0.Add(5 * time.Minute))
		if u := mustAccount(t, s, acct(session.AcctStart, "s1", 0, 0)); u.Total() != 90*mib {
			t.Errorf("a late Start 5 min after the Stop: total %d MiB, want 90", u.Total()/mib)
		}
		clk.Set(t0.Add(30 * time.Minute))
		late := acct(session.AcctStart, "s1", 0, 0)
		late.Delay = 28 * time.Minute
		mustAccount(t, s, late)
		// Still the old, closed session: below its counters nothing counts.
		if u := mustAccount(t, s, acct(session.AcctInterim, "s1", 10*mib, 20*mib)); u.Total() != 90*mib {
			t.Errorf("after a Start delayed 28 min: total %d MiB, want 90", u.Total()/mib)
		}

		// More than a live TTL after the last record of the old session.
		clk.Set(t0.Add(50 * time.Minute))
		mustAccount(t, s, acct(session.AcctStart, "s1", 0, 0))
		u := mustAccount(t, s, acct(session.AcctInterim, "s1", 10*mib, 20*mib))
		if u.Total() != 120*mib || !u.Enforce {
			t.Errorf("the new session's interim: total %d MiB, enforce %v; want 120, true", u.Total()/mib, u.Enforce)
		}
		if n, _ := s.ActiveSessions(context.Background(), []string{"nas1"}); n["nas1"] != 1 {
			t.Errorf("the new session under the old ID: %v open sessions, want 1", n)
		}
	})
}

// TestReusedSessionIDAfterRestart: a NAS that restarted begins its session
// counter anew, so the first IDs after its Accounting-On are those of the
// sessions it closed. A Start that happened after the restart is a new
// session, at once; one that happened before it (delayed) is not.
func TestReusedSessionIDAfterRestart(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s, clk := newStore(t, rdb, testConfig()) // 100 MiB a day
		t0 := clk.Now()
		mustAccount(t, s, acct(session.AcctStart, "1", 0, 0))
		mustAccount(t, s, acct(session.AcctInterim, "1", 40*mib, 50*mib))
		clk.Set(t0.Add(time.Minute))
		if n, err := s.CloseNAS(ctx, "nas1", netip.Addr{}, 0); n != 1 || err != nil {
			t.Fatalf("CloseNAS = %d, %v; want 1", n, err)
		}
		clk.Set(t0.Add(2 * time.Minute))
		late := acct(session.AcctStart, "1", 0, 0)
		late.Delay = 90 * time.Second // happened before the restart
		mustAccount(t, s, late)
		if u := mustAccount(t, s, acct(session.AcctInterim, "1", 5*mib, 5*mib)); u.Total() != 90*mib {
			t.Errorf("after a Start from before the restart: total %d MiB, want 90", u.Total()/mib)
		}
		mustAccount(t, s, acct(session.AcctStart, "1", 0, 0))
		u := mustAccount(t, s, acct(session.AcctInterim, "1", 10*mib, 20*mib))
		if u.Total() != 120*mib || !u.Enforce {
			t.Errorf("the new session 1: total %d MiB, enforce %v; want 120, true", u.Total()/mib, u.Enforce)
		}
		if n, _ := s.ActiveSessions(ctx, []string{"nas1"}); n["nas1"] != 1 {
			t.Errorf("after the restart: %v open sessions, want the new one", n)
		}
	})
}

// useKeyOf returns the key of m's use hash.
func useKeyOf(t *testing.T, rdb redis.UniversalClient, s *session.Store, m session.MAC) string {
	t.Helper()
	k := "{d:" + s.MACHash(m) + "}:use"
	if rdb.Exists(context.Background(), k).Val() != 1 {
		t.Fatalf("no use hash %q", k)
	}
	return k
}
