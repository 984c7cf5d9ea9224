package session

import (
	"context"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"hotspot/internal/redistest"
)

// The tests here check where acctScript keeps an open session (see the key
// layout in scripts.go): its counters in the device's use hash, its key
// written only when it is new or has moved.

func useBackends(t *testing.T, f func(t *testing.T, rdb redis.UniversalClient, s *Store, clk *fixedClock)) {
	useBackendsCfg(t, Config{MACHashKey: "a-mac-hash-key-for-tests", TermsVersion: "t1"}, f)
}

func useBackendsCfg(t *testing.T, cfg Config, f func(t *testing.T, rdb redis.UniversalClient, s *Store, clk *fixedClock)) {
	run := func(t *testing.T, rdb redis.UniversalClient) {
		clk := &fixedClock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
		s, err := NewStore(rdb, cfg, clk.now)
		if err != nil {
			t.Fatal(err)
		}
		f(t, rdb, s, clk)
	}
	t.Run("redis-server", func(t *testing.T) { run(t, redistest.Start(t).Client(t)) })
	t.Run("embedded", func(t *testing.T) {
		m := miniredis.RunT(t)
		c := redis.NewClient(&redis.Options{Addr: m.Addr()})
		t.Cleanup(func() { c.Close() })
		run(t, c)
	})
}

type fixedClock struct{ t time.Time }

func (c *fixedClock) now() time.Time { return c.t }

var useMAC = MAC{0x02, 0, 0, 0, 0, 0x1}

func useRecord(st AcctStatus, in uint64) AcctRecord {
	return AcctRecord{Status: st, NAS: "nas1", SessionID: "s1", MAC: useMAC, AP: "AP-1", SSID: "Free", IP: "10.1.0.5", NASIP: "127.0.0.1", Username: "u1", InputOctets: in}
}

func mustAcct(t *testing.T, s *Store, r AcctRecord) Usage {
	t.Helper()
	u, err := s.Account(context.Background(), r)
	if err != nil {
		t.Fatalf("Account(%s, %d) = %v", r.Status, r.InputOctets, err)
	}
	return u
}

// TestSessionKeyWrittenWhenMoved: an interim of a known session that has
// not moved leaves its key's fields alone; one from another AP or address
// writes them, and the client-address entry follows the address.
func TestSessionKeyWrittenWhenMoved(t *testing.T) {
	useBackends(t, func(t *testing.T, rdb redis.UniversalClient, s *Store, clk *fixedClock) {
		ctx := context.Background()
		r := useRecord(AcctStart, 0)
		mustAcct(t, s, r)
		sk := sessionKey(s.deviceTag(useMAC), "nas1", "s1")
		// A field the script would write if it wrote the key.
		rdb.HSet(ctx, sk, "ssid", "marker")
		r.Status, r.InputOctets = AcctInterim, 1000
		mustAcct(t, s, r)
		if got := rdb.HGet(ctx, sk, "ssid").Val(); got != "marker" {
			t.Errorf("after an interim from where the session was: ssid %q, want the key left alone", got)
		}
		r.AP, r.IP, r.InputOctets = "AP-2", "10.1.0.9", 2000
		mustAcct(t, s, r)
		h := rdb.HGetAll(ctx, sk).Val()
		if h["ap"] != "AP-2" || h["ip"] != "10.1.0.9" || h["ssid"] != "Free" {
			t.Errorf("after an interim from AP-2: %v, want ap AP-2, ip 10.1.0.9, ssid Free", h)
		}
		if _, sess, err := s.DeviceStatusByIP(ctx, "nas1", netip.MustParseAddr("10.1.0.9")); err != nil || sess.AcctSessionID != "s1" || sess.InputOctets != 2000 {
			t.Errorf("DeviceStatusByIP(new address) = %q, %d, %v, want s1 with 2000 in", sess.AcctSessionID, sess.InputOctets, err)
		}
	})
}

// TestUnmarkAddress: when writing the client-address entry fails, the
// record fails (the NAS sends it again) and the script's note that the
// entry was written is undone, so that the retransmit writes it.
func TestUnmarkAddress(t *testing.T) {
	useBackends(t, func(t *testing.T, rdb redis.UniversalClient, s *Store, clk *fixedClock) {
		ctx := context.Background()
		r := useRecord(AcctInterim, 10)
		ip := netip.MustParseAddr(r.IP)
		ik, _ := s.addressField(ip, "nas1")
		// The address's hash is a string: writing the entry fails.
		rdb.Set(ctx, ik, "in the way", time.Hour)
		if _, err := s.Account(ctx, r); err == nil {
			t.Fatal("Account succeeded although the client-address entry could not be written")
		}
		rdb.Del(ctx, ik)
		mustAcct(t, s, r) // the NAS's retransmit
		if _, sess, err := s.DeviceStatusByIP(ctx, "nas1", ip); err != nil || sess.InputOctets != 10 {
			t.Errorf("after the retransmit: DeviceStatusByIP = %d in, %v, want the session with 10 in", sess.InputOctets, err)
		}
	})
}

// TestEarlierLayout: a session written by a build that kept an open
// session's counters in its key (and "in out t updated" in the use hash)
// goes on from what was counted, without counting it again.
func TestEarlierLayout(t *testing.T) {
	useBackends(t, func(t *testing.T, rdb redis.UniversalClient, s *Store, clk *fixedClock) {
		ctx := context.Background()
		d := s.deviceTag(useMAC)
		sk := sessionKey(d, "nas1", "s1")
		now := clk.t.Unix()
		rdb.HSet(ctx, sk, "in", 1000, "out", 0, "time", 60, "updated", now, "started", now-60, "mac", useMAC.String(),
			"ap", "AP-1", "ssid", "Free", "ip", "10.1.0.5", "nasip", "127.0.0.1", "state", "active", "ipx", now+1920)
		rdb.Expire(ctx, sk, 16*time.Minute)
		rdb.HSet(ctx, useKey(d), "nas1:s1", "1000 0 60 1795695600", s.ledgerOf(d, WindowDay, clk.t).id, "1000 0 60")
		rdb.Expire(ctx, useKey(d), time.Hour)
		r := useRecord(AcctInterim, 1500)
		r.SessionTime = 120
		if u := mustAcct(t, s, r); u.Input != 1500 || u.Online != 120*time.Second {
			t.Errorf("day's use %d, %v, want 1500, 2m0s: only the increase counted", u.Input, u.Online)
		}
		sess, err := s.Session(ctx, sessionID(sk))
		if err != nil || !sess.Active || sess.InputOctets != 1500 || sess.SessionTime != 120 || sess.StartedAt.Unix() != now-60 {
			t.Errorf("Session = %+v, %v, want active with 1500 in, 120 s, started as before", sess, err)
		}
		if ttl := rdb.TTL(ctx, useKey(d)).Val(); ttl < 7*24*time.Hour {
			t.Errorf("use hash TTL %v, want the retention period", ttl)
		}
		r.Status, r.InputOctets = AcctStop, 1600
		if u := mustAcct(t, s, r); u.Input != 1600 {
			t.Errorf("day's use after Stop %d, want 1600", u.Input)
		}
		h := rdb.HGetAll(ctx, sk).Val()
		if h["state"] != "closed" || h["in"] != "1600" || h["mac"] != "" || h["ipx"] != "" {
			t.Errorf("closed session %v, want closed with in 1600, no mac, no ipx", h)
		}
	})
}

// TestCloseNASCounters: a session that Accounting-On closes keeps the
// counters the use hash had of it, in its key.
func TestCloseNASCounters(t *testing.T) {
	useBackends(t, func(t *testing.T, rdb redis.UniversalClient, s *Store, clk *fixedClock) {
		ctx := context.Background()
		r := useRecord(AcctInterim, 4000)
		r.SessionTime = 300
		mustAcct(t, s, r)
		clk.t = clk.t.Add(time.Minute)
		if n, err := s.CloseNAS(ctx, "nas1", netip.Addr{}, 0); n != 1 || err != nil {
			t.Fatalf("CloseNAS = %d, %v, want 1 closed", n, err)
		}
		sk := sessionKey(s.deviceTag(useMAC), "nas1", "s1")
		sess, err := s.Session(ctx, sessionID(sk))
		if err != nil || sess.Active || sess.InputOctets != 4000 || sess.SessionTime != 300 {
			t.Errorf("Session = %+v, %v, want closed with 4000 in, 300 s", sess, err)
		}
		uk, f := useField(sk)
		if rdb.HExists(ctx, uk, f).Val() {
			t.Error("the closed session is still in the use hash")
		}
	})
}

// TestDetailsAnyBytes: the details packed into one argument come out as
// they went in, whatever bytes they hold (digits, colons, NUL, newline).
func TestDetailsAnyBytes(t *testing.T) {
	useBackends(t, func(t *testing.T, rdb redis.UniversalClient, s *Store, clk *fixedClock) {
		r := useRecord(AcctStart, 0)
		r.Username, r.AP, r.SSID, r.IP = "5:ab\x00:c\n", "3:x:y", "", "::1"
		r.Throttled = true
		mustAcct(t, s, r)
		sess, err := s.Session(context.Background(), sessionID(sessionKey(s.deviceTag(useMAC), "nas1", "s1")))
		if err != nil || sess.Username != r.Username || sess.AP != r.AP || sess.SSID != "" || sess.IP != "::1" || sess.NASIP != r.NASIP || sess.MAC != useMAC || sess.Enforced != ActionThrottle {
			t.Errorf("Session = %+v, %v, want the record's details", sess, err)
		}
	})
}

// TestSessionIDWithMAC: an Acct-Session-Id with the device's MAC in it
// (Cisco's) names the session's key without it; the open session keeps
// it for CoA, the closed one does not; and a session an earlier build
// counted under the clear ID goes on from what it counted.
func TestSessionIDWithMAC(t *testing.T) {
	useBackends(t, func(t *testing.T, rdb redis.UniversalClient, s *Store, clk *fixedClock) {
		ctx := context.Background()
		const cisco = "58b62226/02:00:00:00:00:01/5804651"
		d := s.deviceTag(useMAC)
		// An earlier build counted 700 octets of it, under the clear ID.
		rdb.HSet(ctx, useKey(d), "nas1:"+cisco, "700 0 60 "+strconv.FormatInt(clk.t.Unix(), 10))
		r := useRecord(AcctInterim, 1000)
		r.SessionID = cisco
		if u := mustAcct(t, s, r); u.Input != 300 {
			t.Errorf("day's use %d, want 300: what the earlier build counted is not counted again", u.Input)
		}
		if rdb.HExists(ctx, useKey(d), "nas1:"+cisco).Val() {
			t.Error("the clear ID's field is still in the use hash")
		}
		sk := sessionKey(d, "nas1", "58b62226/*/5804651")
		sess, err := s.Session(ctx, sessionID(sk))
		if err != nil || sess.AcctSessionID != cisco || sess.LogSessionID() != "58b62226/*/5804651" || sess.InputOctets != 1000 {
			t.Fatalf("open session = %q (logged as %q), %d in, %v, want %q", sess.AcctSessionID, sess.LogSessionID(), sess.InputOctets, err, cisco)
		}
		// Enforcement and the status page read it through the device.
		if st, err := s.DeviceStatus(ctx, useMAC, Where{NAS: "nas1"}); err != nil || len(st.Sessions) != 1 || st.Sessions[0].AcctSessionID != cisco {
			t.Errorf("DeviceStatus = %+v, %v, want the session with its Acct-Session-Id", st.Sessions, err)
		}
		r.Status, r.InputOctets = AcctStop, 1100
		if u := mustAcct(t, s, r); u.Input != 400 {
			t.Errorf("day's use %d, want 400", u.Input)
		}
		sess, err = s.Session(ctx, sessionID(sk))
		if err != nil || sess.AcctSessionID != "58b62226/*/5804651" || sess.Active {
			t.Errorf("closed session = %q, active %v, %v, want the ID without the MAC", sess.AcctSessionID, sess.Active, err)
		}
		if v := rdb.HGet(ctx, sk, "asid").Val(); v != "" {
			t.Errorf("closed session keeps asid %q", v)
		}
		// Accounting-On closes a session: it keeps no asid either.
		r3 := useRecord(AcctStart, 0)
		r3.SessionID = "58b62228/02:00:00:00:00:01/5804653"
		mustAcct(t, s, r3)
		sk3 := sessionKey(d, "nas1", "58b62228/*/5804653")
		if rdb.HGet(ctx, sk3, "asid").Val() != r3.SessionID {
			t.Fatal("the open session keeps no asid")
		}
		clk.t = clk.t.Add(time.Minute)
		if n, err := s.CloseNAS(ctx, "nas1", netip.Addr{}, 0); n != 1 || err != nil {
			t.Fatalf("CloseNAS = %d, %v, want 1", n, err)
		}
		if v := rdb.HGet(ctx, sk3, "asid").Val(); v != "" {
			t.Errorf("the session Accounting-On closed keeps asid %q", v)
		}
		r.InputOctets = 1100
		// A session the earlier build closed, under its clear ID: its late
		// Stop counts only what is new.
		const cisco2 = "58b62227/02:00:00:00:00:01/5804652"
		rdb.HSet(ctx, sessionKey(d, "nas1", cisco2), "state", "closed", "in", 5000, "out", 0, "time", 60, "updated", clk.t.Unix())
		r.SessionID, r.InputOctets = cisco2, 5000
		if u := mustAcct(t, s, r); u.Input != 400 {
			t.Errorf("after the earlier build's closed session's late Stop: day's use %d, want 400", u.Input)
		}
		r.InputOctets = 5500
		if u := mustAcct(t, s, r); u.Input != 900 {
			t.Errorf("after a later Stop with 500 more: day's use %d, want 900", u.Input)
		}
	})
}

// TestUseHashTidied: the fields of sessions that went silent without a
// Stop stay in the device's use hash until a record of the device, once
// the hash's hourly renewal is due, finds them last counted a retention
// period ago; earlier days' ledgers go then too.
func TestUseHashTidied(t *testing.T) {
	cfg := Config{MACHashKey: "a-mac-hash-key-for-tests", TermsVersion: "t1", Retention: 48 * time.Hour}
	useBackendsCfg(t, cfg, func(t *testing.T, rdb redis.UniversalClient, s *Store, clk *fixedClock) {
		ctx := context.Background()
		rec := func(st AcctStatus, sid string, in uint64) AcctRecord {
			r := useRecord(st, in)
			r.SessionID = sid
			return r
		}
		uk := useKey(s.deviceTag(useMAC))
		has := func(field string) bool { return rdb.HExists(ctx, uk, field).Val() }
		mustAcct(t, s, rec(AcctStart, "gone", 0))
		mustAcct(t, s, rec(AcctInterim, "gone", 100))
		gone := "nas1:" + MaskMAC("gone", useMAC)

		// Two days later, within the retention period: kept.
		clk.t = clk.t.Add(47 * time.Hour)
		mustAcct(t, s, rec(AcctStart, "new", 0))
		if !has(gone) {
			t.Fatalf("after 47h: the silent session's field is gone, want it kept for the retention period")
		}
		// An hour and a half later, past it: the next record that renews
		// the hash drops it, and the ledgers of earlier days.
		clk.t = clk.t.Add(90 * time.Minute)
		mustAcct(t, s, rec(AcctInterim, "new", 100))
		if has(gone) {
			t.Errorf("after 48.5h: the silent session's field is still there")
		}
		if !has("nas1:" + MaskMAC("new", useMAC)) {
			t.Errorf("the open session's field was dropped")
		}
		for _, f := range rdb.HKeys(ctx, uk).Val() {
			if f[0] == 'd' && f != "d20261128" {
				t.Errorf("ledger %s of an earlier day is still there", f)
			}
		}
	})
}

// TestAddressHashTTL: a client-address hash lives two of the longest live
// TTL of any policy from its last write, so that a write under a policy
// with short interims never cuts short an entry written under one with
// long interims.
func TestAddressHashTTL(t *testing.T) {
	useBackendsCfg(t, Config{
		MACHashKey: "a-mac-hash-key-for-tests", TermsVersion: "t1",
		Policy:   Policy{InterimInterval: 5 * time.Minute},
		Policies: []Policy{{Name: "slow", Match: Match{NAS: []string{"nas-slow"}}, InterimInterval: 30 * time.Minute}},
	}, func(t *testing.T, rdb redis.UniversalClient, s *Store, clk *fixedClock) {
		ctx := context.Background()
		for i := range 2 * addressTidyEvery { // with the writes that tidy
			r := useRecord(AcctStart, 0)
			r.SessionID = "s" + strconv.Itoa(i)
			mustAcct(t, s, r)
			key, _ := s.addressBucket(netip.MustParseAddr(r.IP))
			// 2 × (3 × 30m + 1m + 1m of clock skew)
			if ttl := rdb.TTL(ctx, key).Val(); ttl < 184*time.Minute-time.Minute || ttl > 184*time.Minute {
				t.Fatalf("write %d: address hash TTL %v, want 184m", i, ttl)
			}
		}
	})
}
