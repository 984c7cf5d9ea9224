package session_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"hotspot/internal/redistest"
	"hotspot/session"
)

func TestDeviceStatus(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		cfg := throttleConfig()
		s, clk := newStore(t, rdb, cfg)
		now := clk.Now()
		st, err := s.DeviceStatus(ctx, macA, session.Where{NAS: "nas1"})
		if err != nil {
			t.Fatal(err)
		}
		if st.Remembered || st.DataUsed != 0 || st.DataRemaining != 100*mib || st.TimeRemaining != 3*time.Hour || st.QuotaExceeded || len(st.Sessions) != 0 {
			t.Errorf("unknown device: %+v, want not remembered, everything left", st)
		}
		if _, err := s.CreateGrant(ctx, macA, "nas1"); err != nil {
			t.Fatal(err)
		}
		r := onNAS(acct(session.AcctInterim, "s1", 10*mib, 50*mib), "nas1", "127.0.0.1")
		r.SessionTime, r.SSID, r.IP = 1800, "FreeWiFi", "10.1.0.5"
		mustAccount(t, s, r)
		st, err = s.DeviceStatus(ctx, macA, session.Where{NAS: "nas1", SSID: "FreeWiFi"})
		if err != nil {
			t.Fatal(err)
		}
		wantEnd := time.Date(2026, 11, 27, 0, 0, 0, 0, berlin)
		checks := []struct {
			name      string
			got, want any
		}{
			{"Remembered", st.Remembered, true},
			{"RememberedUntil", st.RememberedUntil.Unix(), now.Add(24 * time.Hour).Unix()},
			{"Policy", st.Policy, "default"},
			{"Window", st.Window, session.WindowDay},
			{"WindowStart", st.WindowStart.Unix(), time.Date(2026, 11, 26, 0, 0, 0, 0, berlin).Unix()},
			{"WindowEnd", st.WindowEnd.Unix(), wantEnd.Unix()},
			{"DataUsed", st.DataUsed, int64(60 * mib)},
			{"DataLimit", st.DataLimit, int64(100 * mib)},
			{"DataRemaining", st.DataRemaining, int64(40 * mib)},
			{"TimeUsed", st.TimeUsed, 30 * time.Minute},
			{"TimeLimit", st.TimeLimit, 3 * time.Hour},
			{"TimeRemaining", st.TimeRemaining, 150 * time.Minute},
			{"QuotaExceeded", st.QuotaExceeded, false},
			{"Throttled", st.Throttled, false},
			{"Action", st.Action, "throttle"},
			{"BandwidthDown", st.BandwidthDown, session.BitRate(10e6)},
			{"Sessions", len(st.Sessions), 1},
			{"Sessions[0].IP", st.Sessions[0].IP, "10.1.0.5"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("DeviceStatus %s = %v, want %v", c.name, c.got, c.want)
			}
		}
		// Session-Timeout 1h from the start at 12:00 ends it first.
		if end := st.SessionEnd(st.Sessions[0]); !end.Equal(now.Add(time.Hour)) {
			t.Errorf("SessionEnd = %v, want %v", end, now.Add(time.Hour))
		}
		r.OutputOctets = 95 * mib
		mustAccount(t, s, r)
		st, _ = s.DeviceStatus(ctx, macA, session.Where{NAS: "nas1"})
		if !st.QuotaExceeded || !st.Throttled || st.DataRemaining != 0 || st.BandwidthDown != 1e6 || st.BandwidthUp != 256e3 {
			t.Errorf("over quota: %+v, want exceeded, throttled at 1 Mbit/s / 256 kbit/s", st)
		}
		if _, err := s.DeviceStatus(ctx, session.MAC{}, session.Where{}); err == nil {
			t.Error("DeviceStatus of the zero MAC = nil error, want one")
		}
	})
}

func TestSessionEnd(t *testing.T) {
	at := time.Date(2026, 11, 26, 23, 0, 0, 0, berlin)
	midnight := time.Date(2026, 11, 27, 0, 0, 0, 0, berlin)
	sess := session.Session{StartedAt: at.Add(-50 * time.Minute)}
	tests := []struct {
		name string
		st   session.DeviceStatus
		want time.Time
	}{
		{"nothing limits", session.DeviceStatus{At: at, TimeRemaining: -1, WindowEnd: midnight}, time.Time{}},
		{"session timeout", session.DeviceStatus{At: at, TimeRemaining: -1, SessionTimeout: time.Hour, WindowEnd: midnight}, at.Add(10 * time.Minute)},
		{"online time", session.DeviceStatus{At: at, TimeLimit: time.Hour, TimeRemaining: 5 * time.Minute, SessionTimeout: time.Hour, WindowEnd: midnight}, at.Add(5 * time.Minute)},
		{"window end", session.DeviceStatus{At: at, DataLimit: 1, TimeRemaining: -1, SessionTimeout: 2 * time.Hour, WindowEnd: midnight}, midnight},
		{"unlimited ignores window end", session.DeviceStatus{At: at, TimeRemaining: -1, SessionTimeout: 2 * time.Hour, WindowEnd: midnight}, at.Add(70 * time.Minute)},
	}
	for _, tt := range tests {
		if got := tt.st.SessionEnd(sess); !got.Equal(tt.want) {
			t.Errorf("%s: SessionEnd = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDeviceStatusByIP(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s, clk := newStore(t, rdb, testConfig())
		ip := netip.MustParseAddr("10.1.0.5")
		find := func(nas string) (session.DeviceStatus, session.Session, error) {
			return s.DeviceStatusByIP(ctx, nas, ip)
		}
		if _, _, err := find(""); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("unknown address: %v, want ErrNotFound", err)
		}
		ra := onNAS(acct(session.AcctInterim, "a1", 1*mib, 9*mib), "nas-a", "127.0.0.1")
		ra.IP, ra.SSID = "10.1.0.5", "FreeWiFi"
		mustAccount(t, s, ra)
		for _, nas := range []string{"", "nas-a"} {
			st, sess, err := find(nas)
			if err != nil || sess.AcctSessionID != "a1" || sess.NAS != "nas-a" || st.DataUsed != 10*mib || st.DataRemaining != 90*mib {
				t.Errorf("DeviceStatusByIP(%q) = used %d, session %q on %q, %v, want a1 on nas-a with 10 MiB used", nas, st.DataUsed, sess.AcctSessionID, sess.NAS, err)
			}
		}
		if _, _, err := find("nas-b"); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("address on another NAS: %v, want ErrNotFound", err)
		}
		if _, _, err := s.DeviceStatusByIP(ctx, "", netip.MustParseAddr("10.1.0.6")); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("other address: %v, want ErrNotFound", err)
		}
		// Another device has the same private address behind nas-b.
		rb := session.AcctRecord{Status: session.AcctStart, NAS: "nas-b", SessionID: "b1", MAC: macB, IP: "10.1.0.5", NASIP: "127.0.0.2"}
		mustAccount(t, s, rb)
		if _, _, err := find(""); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("address held on two NASes, no NAS named: %v, want ErrNotFound", err)
		}
		if _, sess, err := find("nas-b"); err != nil || sess.MAC != macB {
			t.Errorf("DeviceStatusByIP(nas-b) = %v, %v, want macB's session", sess.MAC, err)
		}
		// Stop ends it at once; silence ends it with the session's TTL.
		rb.Status = session.AcctStop
		mustAccount(t, s, rb)
		if _, sess, err := find(""); err != nil || sess.MAC != macA {
			t.Errorf("after nas-b's Stop: %v, %v, want macA's session", sess.MAC, err)
		}
		clk.Set(clk.Now().Add(17 * time.Minute))
		if _, _, err := find(""); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("after 17 min of silence: %v, want ErrNotFound", err)
		}
		if _, _, err := s.DeviceStatusByIP(ctx, "", netip.Addr{}); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("invalid address: %v, want ErrNotFound", err)
		}
	})
}

// TestKeysPrivateAndExpiringWithPolicies repeats the privacy rules with
// every kind of key the quota features write: weekly and monthly ledgers,
// the seen record, the client-address index, enforcement state. No key
// names a clear MAC or client address, and every key has a TTL.
func TestKeysPrivateAndExpiringWithPolicies(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	ctx := context.Background()
	cfg := testConfig()
	cfg.Policies = []session.Policy{
		{Name: "w", Match: session.Match{NAS: []string{"nas-w"}}, Window: session.WindowWeek, Data: mib, OverQuota: session.ActionDisconnect},
		{Name: "m", Match: session.Match{SSID: []string{"M"}}, Window: session.WindowMonth},
	}
	s, _ := newStore(t, rdb, cfg)
	if _, err := s.CreateGrant(ctx, macA, "nas1"); err != nil {
		t.Fatal(err)
	}
	r := session.AcctRecord{Status: session.AcctInterim, NAS: "nas-w", SessionID: "s1", MAC: macA, IP: "10.77.0.5", NASIP: "127.0.0.1", OutputOctets: 2 * mib}
	mustAccount(t, s, r)
	es, err := s.ClaimEnforcement(ctx, macA)
	if err != nil || len(es) != 1 {
		t.Fatalf("ClaimEnforcement = %d, %v, want 1", len(es), err)
	}
	if err := s.FinishEnforcement(ctx, es[0], session.DynAuthResult{ErrorCause: 503}, nil); err != nil {
		t.Fatal(err)
	}
	// Write the admin indexes, so that their keys are checked too.
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	keys := rdb.Keys(ctx, "*").Val()
	var sawIP, sawUse, sawIndex, sawWeek, sawMonth bool
	for _, k := range keys {
		if ttl := rdb.TTL(ctx, k).Val(); ttl <= 0 {
			t.Errorf("key %q has TTL %v, want a positive TTL", k, ttl)
		}
		for _, clear := range []string{"10.77.0.5", "AA-BB", "02-00-00-00-00-0A", "02:00:00", "02000000000a"} {
			if strings.Contains(strings.ToUpper(k), strings.ToUpper(clear)) {
				t.Errorf("key %q holds %q in clear", k, clear)
			}
		}
		sawIP = sawIP || strings.HasPrefix(k, "ip:{")
		sawIndex = sawIndex || strings.HasPrefix(k, "idx:{")
		sawUse = sawUse || strings.HasPrefix(k, "{d:") && strings.HasSuffix(k, ":use")
		sawWeek = sawWeek || strings.Contains(k, ":use:w")
		sawMonth = sawMonth || strings.Contains(k, ":use:m")
	}
	if !sawIP || !sawUse || !sawIndex || !sawWeek || !sawMonth {
		t.Errorf("keys %v: want an address index, a use hash, weekly and monthly ledgers, session indexes", keys)
	}
}

// TestDeviceStatusByIPv6: an IPv6-only client's session (its address from
// Framed-IPv6-Address) is found by that address, in any spelling.
func TestDeviceStatusByIPv6(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s, _ := newStore(t, rdb, testConfig())
		r := onNAS(acct(session.AcctStart, "v6", 0, 0), "nas-a", "127.0.0.1")
		r.IP = "2001:db8:1:2::23"
		mustAccount(t, s, r)
		r.Status, r.InputOctets = session.AcctInterim, 3*mib
		mustAccount(t, s, r)
		for _, spelling := range []string{"2001:db8:1:2::23", "2001:0db8:0001:0002:0000:0000:0000:0023"} {
			st, sess, err := s.DeviceStatusByIP(ctx, "", netip.MustParseAddr(spelling))
			if err != nil || sess.AcctSessionID != "v6" || st.DataUsed != 3*mib {
				t.Errorf("DeviceStatusByIP(%s) = used %d, session %q, %v; want v6 with 3 MiB", spelling, st.DataUsed, sess.AcctSessionID, err)
			}
		}
		if _, _, err := s.DeviceStatusByIP(ctx, "", netip.MustParseAddr("2001:db8:1:2::24")); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("another address of the /64: %v, want ErrNotFound", err)
		}

		// A dual-stack client: found by either address, on Start, and
		// after it moved to other addresses, by the new ones only.
		d := onNAS(acct(session.AcctStart, "ds", 0, 0), "nas-a", "127.0.0.1")
		d.MAC = macB
		d.IP, d.IP6 = "10.1.0.9", "2001:db8:1:2::99"
		mustAccount(t, s, d)
		for _, a := range []string{"10.1.0.9", "2001:db8:1:2::99"} {
			if _, sess, err := s.DeviceStatusByIP(ctx, "nas-a", netip.MustParseAddr(a)); err != nil || sess.AcctSessionID != "ds" || sess.IP6 != "2001:db8:1:2::99" {
				t.Errorf("dual stack, DeviceStatusByIP(%s) = session %q (IPv6 %q), %v; want ds", a, sess.AcctSessionID, sess.IP6, err)
			}
		}
		d.Status, d.IP, d.IP6 = session.AcctInterim, "10.1.0.10", "2001:db8:1:2::100"
		mustAccount(t, s, d)
		for a, want := range map[string]bool{"10.1.0.10": true, "2001:db8:1:2::100": true, "10.1.0.9": false, "2001:db8:1:2::99": false} {
			_, sess, err := s.DeviceStatusByIP(ctx, "nas-a", netip.MustParseAddr(a))
			if found := err == nil && sess.AcctSessionID == "ds"; found != want {
				t.Errorf("after the move, DeviceStatusByIP(%s) found %v (%v), want %v", a, found, err, want)
			}
		}
		// It loses its IPv6 address: that no longer finds it.
		d.IP6 = ""
		mustAccount(t, s, d)
		if _, sess, err := s.DeviceStatusByIP(ctx, "nas-a", netip.MustParseAddr("2001:db8:1:2::100")); err == nil {
			t.Errorf("the IPv6 address it lost still finds session %q", sess.AcctSessionID)
		}
		if _, sess, err := s.DeviceStatusByIP(ctx, "nas-a", netip.MustParseAddr("10.1.0.10")); err != nil || sess.IP6 != "" {
			t.Errorf("its IPv4 address: session %q with IPv6 %q, %v; want found, no IPv6", sess.AcctSessionID, sess.IP6, err)
		}
	})
}
