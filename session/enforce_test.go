package session_test

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"hotspot/session"
)

func onNAS(r session.AcctRecord, nas, nasIP string) session.AcctRecord {
	r.NAS, r.NASIP = nas, nasIP
	return r
}

func claim(t *testing.T, s *session.Store) []session.Enforcement {
	t.Helper()
	es, err := s.ClaimEnforcement(context.Background(), macA)
	if err != nil {
		t.Fatalf("ClaimEnforcement: %v", err)
	}
	slices.SortFunc(es, func(a, b session.Enforcement) int { return cmp.Compare(a.Session.NAS, b.Session.NAS) })
	return es
}

// TestEnforcementDisconnect walks a device of a disconnect policy over its
// quota with sessions on two NASes: both are claimed once, an ACK is kept,
// a missing answer is tried again after the lease, a NAK 503 closes the
// session.
func TestEnforcementDisconnect(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s, clk := newStore(t, rdb, testConfig())
		if _, err := s.CreateGrant(ctx, macA, "nas-a"); err != nil {
			t.Fatal(err)
		}
		a := func(st session.AcctStatus, in, out uint64) session.AcctRecord {
			return onNAS(acct(st, "a1", in, out), "nas-a", "127.0.0.1")
		}
		b := func(st session.AcctStatus, in, out uint64) session.AcctRecord {
			return onNAS(acct(st, "b1", in, out), "nas-b", "127.0.0.2")
		}
		mustAccount(t, s, a(session.AcctStart, 0, 0))
		if u := mustAccount(t, s, a(session.AcctInterim, 10*mib, 50*mib)); u.Enforce {
			t.Errorf("60 MiB of 100: Enforce = true, want false")
		}
		mustAccount(t, s, b(session.AcctStart, 0, 0))
		if got := claim(t, s); len(got) != 0 {
			t.Errorf("ClaimEnforcement under quota = %d sessions, want none", len(got))
		}
		u := mustAccount(t, s, b(session.AcctInterim, 1*mib, 40*mib))
		if !u.Enforce || u.Total() != 101*mib {
			t.Fatalf("101 MiB of 100: Enforce = %v, total %d, want true, %d", u.Enforce, u.Total(), 101*mib)
		}
		got := claim(t, s)
		if len(got) != 2 {
			t.Fatalf("ClaimEnforcement = %d sessions, want 2", len(got))
		}
		for i, want := range []struct{ nas, ip, sid string }{{"nas-a", "127.0.0.1", "a1"}, {"nas-b", "127.0.0.2", "b1"}} {
			e := got[i]
			if e.Action != session.ActionDisconnect || e.Session.NAS != want.nas || e.Session.NASIP != want.ip ||
				e.Session.AcctSessionID != want.sid || e.Session.MAC != macA || e.Reason != "data" || e.Policy != "default" || !e.Session.Active {
				t.Errorf("claimed %d = %+v, want disconnect of %s on %s (%s)", i, e, want.sid, want.nas, want.ip)
			}
		}
		// Leased: neither another claim nor the next interim gets them.
		if again := claim(t, s); len(again) != 0 {
			t.Errorf("second ClaimEnforcement = %d sessions, want none (leased)", len(again))
		}
		if u := mustAccount(t, s, b(session.AcctInterim, 1*mib, 41*mib)); u.Enforce {
			t.Errorf("interim while leased: Enforce = true, want false")
		}
		// nas-a acknowledges, nas-b does not answer.
		if err := s.FinishEnforcement(ctx, got[0], session.DynAuthResult{ACK: true}, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishEnforcement(ctx, got[1], session.DynAuthResult{}, errors.New("no answer")); err != nil {
			t.Fatal(err)
		}
		sa, err := s.Session(ctx, got[0].Session.ID)
		if err != nil || sa.Enforced != session.ActionDisconnect || sa.DynAuth != "ack disconnect" {
			t.Errorf("acknowledged session: enforced %q, outcome %q, %v, want disconnect, ack disconnect", sa.Enforced, sa.DynAuth, err)
		}
		clk.Set(clk.Now().Add(61 * time.Second))
		if u := mustAccount(t, s, b(session.AcctInterim, 1*mib, 42*mib)); !u.Enforce {
			t.Errorf("interim after the lease: Enforce = false, want true (nas-b never answered)")
		}
		got = claim(t, s)
		if len(got) != 1 || got[0].Session.NAS != "nas-b" {
			t.Fatalf("ClaimEnforcement after the lease = %+v, want nas-b's session only", got)
		}
		// nas-b no longer knows the session.
		if err := s.FinishEnforcement(ctx, got[0], session.DynAuthResult{ErrorCause: 503}, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.CloseLostSession(ctx, got[0].Session.ID); err != nil {
			t.Fatal(err)
		}
		sb, err := s.Session(ctx, got[0].Session.ID)
		if err != nil || sb.Active || sb.DynAuth != "nak 503" || !sb.MAC.IsZero() || sb.OutputOctets != 42*mib {
			t.Errorf("lost session = active %v, outcome %q, MAC %v, out %d, %v, want closed, nak 503, no MAC, counters kept", sb.Active, sb.DynAuth, sb.MAC, sb.OutputOctets, err)
		}
		if err := s.CloseLostSession(ctx, got[0].Session.ID); err != nil {
			t.Errorf("CloseLostSession twice = %v, want nil", err)
		}
		if err := s.CloseLostSession(ctx, "bm90IGEgc2Vzc2lvbg"); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("CloseLostSession(bad id) = %v, want ErrNotFound", err)
		}
		clk.Set(clk.Now().Add(61 * time.Second))
		if u := mustAccount(t, s, a(session.AcctInterim, 10*mib, 51*mib)); u.Enforce {
			t.Errorf("interim after everything was acted on: Enforce = true, want false")
		}
		if got := claim(t, s); len(got) != 0 {
			t.Errorf("ClaimEnforcement at the end = %+v, want none", got)
		}
		if d := macAuth(t, s, "nas-b"); d.Reason != session.RejectQuotaSpent {
			t.Errorf("login over quota = %q, want %q", d.Reason, session.RejectQuotaSpent)
		}
	})
}

// TestEnforcementThrottleOneDirection: a direction without a throttle rate
// keeps its normal rate, in the CoA as at login.
func TestEnforcementThrottleOneDirection(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		cfg := throttleConfig()
		cfg.Policy.ThrottleUp = 0
		s, _ := newStore(t, rdb, cfg)
		if _, err := s.CreateGrant(context.Background(), macA, "nas1"); err != nil {
			t.Fatal(err)
		}
		mustAccount(t, s, onNAS(acct(session.AcctInterim, "s1", 0, 101*mib), "nas1", "127.0.0.1"))
		if got := claim(t, s); len(got) != 1 || got[0].Down != 1e6 || got[0].Up != 2e6 {
			t.Errorf("ClaimEnforcement = %+v, want a throttle to 1 Mbit/s down, 2 Mbit/s (normal) up", got)
		}
		if d := macAuth(t, s, "nas1"); d.Policy.BandwidthDown != 1e6 || d.Policy.BandwidthUp != 2e6 {
			t.Errorf("login = %v/%v, want 1 Mbit/s down, 2 Mbit/s up", d.Policy.BandwidthDown, d.Policy.BandwidthUp)
		}
	})
}

func throttleConfig() session.Config {
	cfg := testConfig()
	cfg.Policy.OverQuota = session.ActionThrottle
	cfg.Policy.ThrottleDown, cfg.Policy.ThrottleUp = 1e6, 256e3
	cfg.Policy.OnlineTime = 3 * time.Hour
	return cfg
}

// TestEnforcementThrottle: a throttle policy slows running sessions once,
// accepts logins at the throttled rate, and a session accepted throttled
// (its Class echoed) needs no CoA; used-up online time still disconnects.
func TestEnforcementThrottle(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s, _ := newStore(t, rdb, throttleConfig())
		if _, err := s.CreateGrant(ctx, macA, "nas1"); err != nil {
			t.Fatal(err)
		}
		r := onNAS(acct(session.AcctInterim, "s1", 50*mib, 51*mib), "nas1", "127.0.0.1")
		if u := mustAccount(t, s, r); !u.Enforce {
			t.Fatal("over quota: Enforce = false, want true")
		}
		got := claim(t, s)
		if len(got) != 1 || got[0].Action != session.ActionThrottle || got[0].Down != 1e6 || got[0].Up != 256e3 {
			t.Fatalf("ClaimEnforcement = %+v, want one throttle to 1 Mbit/s / 256 kbit/s", got)
		}
		if err := s.FinishEnforcement(ctx, got[0], session.DynAuthResult{ACK: true}, nil); err != nil {
			t.Fatal(err)
		}
		if u := mustAccount(t, s, onNAS(acct(session.AcctInterim, "s1", 60*mib, 51*mib), "nas1", "127.0.0.1")); u.Enforce {
			t.Errorf("interim of a throttled session: Enforce = true, want false")
		}
		d := macAuth(t, s, "nas2")
		if !d.Accepted() || !d.Throttled || d.Remaining != -1 || d.Policy.BandwidthDown != 1e6 || d.Policy.BandwidthUp != 256e3 {
			t.Errorf("login over quota = %+v, want accepted throttled at 1 Mbit/s / 256 kbit/s, unlimited data", d)
		}
		// The new session comes up throttled already.
		t2 := onNAS(acct(session.AcctStart, "s2", 0, 0), "nas2", "127.0.0.2")
		t2.Throttled = true
		if u := mustAccount(t, s, t2); u.Enforce {
			t.Errorf("Start of a session accepted throttled: Enforce = true, want false")
		}
		// Online time used up: disconnect, throttled or not.
		t2.Status, t2.SessionTime = session.AcctInterim, 3*3600
		if u := mustAccount(t, s, t2); !u.Enforce {
			t.Errorf("online time used up: Enforce = false, want true")
		}
		got = claim(t, s)
		if len(got) != 2 || got[0].Action != session.ActionDisconnect || got[1].Action != session.ActionDisconnect || got[0].Reason != "online time" {
			t.Errorf("ClaimEnforcement = %+v, want both sessions disconnected for online time", got)
		}
		if d := macAuth(t, s, "nas2"); d.Reason != session.RejectTimeSpent {
			t.Errorf("login with no online time left = %q, want %q", d.Reason, session.RejectTimeSpent)
		}
	})
}

// TestEnforcementPerSessionPolicy: each session is judged by its own
// policy; a session under an unlimited policy is left alone.
func TestEnforcementPerSessionPolicy(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		cfg := testConfig()
		cfg.Policies = []session.Policy{{Name: "open", Match: session.Match{NAS: []string{"nas-open"}}}}
		s, _ := newStore(t, rdb, cfg)
		mustAccount(t, s, onNAS(acct(session.AcctStart, "o1", 0, 0), "nas-open", "127.0.0.3"))
		if u := mustAccount(t, s, onNAS(acct(session.AcctInterim, "o1", 0, 200*mib), "nas-open", "127.0.0.3")); u.Enforce || u.Limit != 0 || u.Policy != "open" {
			t.Errorf("unlimited policy: usage %+v, want no limit, no enforcement", u)
		}
		if u := mustAccount(t, s, onNAS(acct(session.AcctStart, "d1", 0, 0), "nas1", "127.0.0.1")); !u.Enforce {
			t.Errorf("default policy at 200 MiB: Enforce = false, want true")
		}
		got := claim(t, s)
		if len(got) != 1 || got[0].Session.NAS != "nas1" {
			t.Errorf("ClaimEnforcement = %+v, want only the session on nas1", got)
		}
	})
}
