package session_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"hotspot/session"
)

var macC = session.MAC{0x02, 0, 0, 0, 0, 0xc}

// rec is one accounting record of the query fixture.
type rec struct {
	at     time.Duration // after the fixture's start
	status session.AcctStatus
	mac    session.MAC
	nas    string
	sid    string
	ap     string
	in     uint64
}

// fixture stores the records in order with the clock at each record's
// time and returns the sessions' keys by sid, newest update first as the
// listings must order them.
func fixture(t *testing.T, s *session.Store, clk *clock, recs []rec) {
	t.Helper()
	start := clk.Now()
	for _, r := range recs {
		clk.Set(start.Add(r.at))
		_, err := s.Account(context.Background(), session.AcctRecord{
			Status: r.status, NAS: r.nas, SessionID: r.sid, MAC: r.mac, AP: r.ap,
			SSID: "FreeWiFi", IP: "10.0.0.1", InputOctets: r.in, OutputOctets: 2 * r.in, SessionTime: 60,
		})
		if err != nil {
			t.Fatalf("Account(%+v): %v", r, err)
		}
	}
}

// queryRecords: five sessions on two NASes and three APs; s3 is closed.
// Last updates: s5 > s4 > s3 > s2 > s1.
var queryRecords = []rec{
	{0, session.AcctStart, macA, "nas1", "s1", "AP-1", 0},
	{1 * time.Second, session.AcctStart, macB, "nas1", "s2", "AP-2", 0},
	{2 * time.Second, session.AcctStart, macA, "nas2", "s3", "AP-3", 0},
	{3 * time.Second, session.AcctStop, macA, "nas2", "s3", "AP-3", 300},
	{4 * time.Second, session.AcctInterim, macC, "nas2", "s4", "AP-3", 400},
	{5 * time.Second, session.AcctInterim, macB, "nas1", "s5", "AP-1", 500},
}

func sids(ss []session.Session) string {
	var out []string
	for _, s := range ss {
		out = append(out, s.AcctSessionID)
	}
	return strings.Join(out, ",")
}

// all pages through f and returns every session's sid in order.
func all(t *testing.T, s *session.Store, f session.SessionFilter) (string, int) {
	t.Helper()
	var got []session.Session
	pages := 0
	for {
		p, err := s.Sessions(context.Background(), f)
		if err != nil {
			t.Fatalf("Sessions(%+v): %v", f, err)
		}
		pages++
		got = append(got, p.Sessions...)
		if p.Next.IsZero() {
			break
		}
		// The cursor goes through its string form, as it does over HTTP.
		c, err := session.ParseCursor(p.Next.String())
		if err != nil || c != p.Next {
			t.Fatalf("ParseCursor(%q) = %v, %v, want %v", p.Next.String(), c, err, p.Next)
		}
		f.After = c
		if pages > 10000 {
			t.Fatal("paging does not end")
		}
	}
	return sids(got), pages
}

func TestSessionsFilters(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		s, clk := newStore(t, rdb, testConfig())
		fixture(t, s, clk, queryRecords)
		devA, devB := s.MACHash(macA), s.MACHash(macB)
		tests := []struct {
			name string
			f    session.SessionFilter
			want string
		}{
			{"all", session.SessionFilter{}, "s5,s4,s3,s2,s1"},
			{"ap", session.SessionFilter{AP: "AP-1"}, "s5,s1"},
			{"ap unknown", session.SessionFilter{AP: "AP-9"}, ""},
			{"nas", session.SessionFilter{NAS: "nas2"}, "s4,s3"},
			{"ap and nas", session.SessionFilter{AP: "AP-3", NAS: "nas1"}, ""},
			{"ap and nas match", session.SessionFilter{AP: "AP-3", NAS: "nas2"}, "s4,s3"},
			{"active", session.SessionFilter{State: session.StateActive}, "s5,s4,s2,s1"},
			{"closed", session.SessionFilter{State: session.StateClosed}, "s3"},
			{"device", session.SessionFilter{Device: devA}, "s3,s1"},
			{"device active", session.SessionFilter{Device: devA, State: session.StateActive}, "s1"},
			{"device closed", session.SessionFilter{Device: devA, State: session.StateClosed}, "s3"},
			{"device and ap", session.SessionFilter{Device: devB, AP: "AP-1"}, "s5"},
			{"device and nas", session.SessionFilter{Device: devA, NAS: "nas2"}, "s3"},
			{"device unknown", session.SessionFilter{Device: s.MACHash(session.MAC{2, 9, 9, 9, 9, 9})}, ""},
			{"device not a pseudonym", session.SessionFilter{Device: "{d:x}*"}, ""},
		}
		for _, tt := range tests {
			for _, limit := range []int{0, 1, 2} {
				f := tt.f
				f.Limit = limit
				if got, _ := all(t, s, f); got != tt.want {
					t.Errorf("%s, limit %d: Sessions = %q, want %q", tt.name, limit, got, tt.want)
				}
			}
		}
		// Paging by two: three pages, the last without a cursor.
		p, err := s.Sessions(context.Background(), session.SessionFilter{Limit: 2})
		if err != nil || sids(p.Sessions) != "s5,s4" || p.Next.IsZero() {
			t.Errorf("first page of 2 = %q, next %v, %v; want s5,s4 and a cursor", sids(p.Sessions), p.Next, err)
		}
		if _, pages := all(t, s, session.SessionFilter{Limit: 2}); pages != 3 {
			t.Errorf("pages of 2 over 5 sessions = %d, want 3", pages)
		}
		if _, pages := all(t, s, session.SessionFilter{Limit: 5}); pages != 1 {
			t.Errorf("pages of 5 over 5 sessions = %d, want 1 (no empty last page)", pages)
		}
	})
}

func TestSessionsFields(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		s, clk := newStore(t, rdb, testConfig())
		start := clk.Now()
		fixture(t, s, clk, queryRecords)
		p, err := s.Sessions(context.Background(), session.SessionFilter{Device: s.MACHash(macA)})
		if err != nil || len(p.Sessions) != 2 {
			t.Fatalf("Sessions(device A) = %d sessions, %v, want 2", len(p.Sessions), err)
		}
		closed, active := p.Sessions[0], p.Sessions[1]
		if closed.Active || !closed.MAC.IsZero() || closed.InputOctets != 300 || closed.OutputOctets != 600 ||
			!closed.StartedAt.Equal(start.Add(2*time.Second)) || !closed.UpdatedAt.Equal(start.Add(3*time.Second)) ||
			closed.NAS != "nas2" || closed.AP != "AP-3" || closed.SSID != "FreeWiFi" || closed.SessionTime != 60 {
			t.Errorf("closed session = %+v", closed)
		}
		if !active.Active || active.MAC != macA {
			t.Errorf("active session = %+v, want active with MAC %v", active, macA)
		}
		for _, sess := range p.Sessions {
			if got := sess.MACHash(); got != s.MACHash(macA) {
				t.Errorf("Session(%s).MACHash() = %q, want %q", sess.AcctSessionID, got, s.MACHash(macA))
			}
			one, err := s.Session(context.Background(), sess.ID)
			if err != nil || one != sess {
				t.Errorf("Session(%q) = %+v, %v, want %+v", sess.ID, one, err, sess)
			}
		}
		if got := (session.Session{ID: "!"}).MACHash(); got != "" {
			t.Errorf("MACHash of a bad ID = %q, want empty", got)
		}
	})
}

// TestSessionsActiveWindow: a session that stopped reporting long ago is
// not listed as active, even before its key expires.
func TestSessionsActiveWindow(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		s, clk := newStore(t, rdb, testConfig())
		fixture(t, s, clk, queryRecords)
		clk.Set(clk.Now().Add(30 * time.Minute))
		fixture(t, s, clk, []rec{{0, session.AcctStart, macC, "nas1", "s6", "AP-1", 0}})
		if got, _ := all(t, s, session.SessionFilter{State: session.StateActive}); got != "s6" {
			t.Errorf("active after 30 minutes = %q, want s6", got)
		}
		n, err := s.ActiveSessions(context.Background(), []string{"nas1", "nas2", "nas3"})
		if err != nil || n["nas1"] != 1 || n["nas2"] != 0 || n["nas3"] != 0 {
			t.Errorf("ActiveSessions = %v, %v, want nas1:1 nas2:0 nas3:0", n, err)
		}
	})
}

func TestActiveSessions(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		s, clk := newStore(t, rdb, testConfig())
		fixture(t, s, clk, queryRecords)
		n, err := s.ActiveSessions(context.Background(), []string{"nas1", "nas2"})
		if err != nil || n["nas1"] != 3 || n["nas2"] != 1 {
			t.Errorf("ActiveSessions = %v, %v, want nas1:3 nas2:1", n, err)
		}
		clk.Set(clk.Now().Add(time.Minute)) // the NAS restarts after its sessions' last records
		if _, err := s.CloseNAS(context.Background(), "nas1", netip.Addr{}, 0); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.ActiveSessions(context.Background(), []string{"nas1"}); n["nas1"] != 0 {
			t.Errorf("ActiveSessions after CloseNAS = %v, want nas1:0", n)
		}
	})
}

// TestSessionsTies pages through more sessions with the same last update
// than one round trip reads, open on three NASes and closed, so that the
// listing merges four indexes: every session exactly once.
func TestSessionsTies(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		s, clk := newStore(t, rdb, testConfig())
		var recs []rec
		const n = 450
		for i := range n {
			m := session.MAC{0x02, 1, 0, 0, byte(i >> 8), byte(i)}
			nas, sid := fmt.Sprintf("nas%d", i%3+1), fmt.Sprintf("t%03d", i)
			recs = append(recs, rec{0, session.AcctStart, m, nas, sid, "AP-1", 0})
			if i%4 == 0 {
				recs = append(recs, rec{0, session.AcctStop, m, nas, sid, "AP-1", 0})
			}
		}
		fixture(t, s, clk, recs)
		for _, limit := range []int{7, 100, session.MaxPageSize} {
			got, _ := all(t, s, session.SessionFilter{Limit: limit})
			ids := strings.Split(got, ",")
			seen := map[string]bool{}
			for _, id := range ids {
				if seen[id] {
					t.Errorf("limit %d: %s listed twice", limit, id)
				}
				seen[id] = true
			}
			if len(seen) != n {
				t.Errorf("limit %d: %d sessions listed, want %d", limit, len(seen), n)
			}
		}
		// Over the cap, a page holds MaxPageSize.
		p, err := s.Sessions(context.Background(), session.SessionFilter{Limit: 10 * session.MaxPageSize})
		if err != nil || len(p.Sessions) != n {
			t.Errorf("Sessions(limit %d) = %d sessions, %v, want %d", 10*session.MaxPageSize, len(p.Sessions), err, n)
		}
	})
}

// TestSessionsStaleAndBudget: index members whose session expired are
// skipped and removed; a page stops after its scan budget with a cursor
// that continues the listing.
func TestSessionsStaleAndBudget(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s, clk := newStore(t, rdb, testConfig())
		fixture(t, s, clk, []rec{{0, session.AcctStart, macA, "nas1", "old", "AP-1", 0}})
		// 6000 members newer than the one real session, with no hash.
		var zs []redis.Z
		for i := range 6000 {
			zs = append(zs, redis.Z{Score: float64(clk.Now().Unix() + 10), Member: fmt.Sprintf("{d:gone%04d}:s:nas1:x", i)})
		}
		if err := rdb.ZAdd(ctx, "nas:{nas1}:open", zs...).Err(); err != nil {
			t.Fatal(err)
		}
		p, err := s.Sessions(ctx, session.SessionFilter{})
		if err != nil || len(p.Sessions) != 0 || p.Next.IsZero() {
			t.Fatalf("first page over 6000 stale members = %q, next %v, %v; want none and a cursor", sids(p.Sessions), p.Next, err)
		}
		p, err = s.Sessions(ctx, session.SessionFilter{After: p.Next})
		if err != nil || sids(p.Sessions) != "old" || !p.Next.IsZero() {
			t.Errorf("second page = %q, next %v, %v; want old and no cursor", sids(p.Sessions), p.Next, err)
		}
		if n := rdb.ZCard(ctx, "nas:{nas1}:open").Val(); n != 1 {
			t.Errorf("index holds %d members after reading, want 1 (stale ones removed)", n)
		}
	})
}

func TestStats(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		s, clk := newStore(t, rdb, testConfig())
		today := clk.Now()
		// Yesterday's session is not counted today.
		clk.Set(today.AddDate(0, 0, -1))
		fixture(t, s, clk, []rec{{0, session.AcctStart, macC, "nas1", "y1", "AP-1", 9999}})
		clk.Set(today)
		fixture(t, s, clk, queryRecords)
		fixture(t, s, clk, []rec{{0, session.AcctStart, macC, "nas1", "noap", "", 1}})
		st, err := s.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Date(2026, 11, 26, 0, 0, 0, 0, berlin); !st.Since.Equal(want) {
			t.Errorf("Stats.Since = %v, want %v", st.Since, want)
		}
		row := func(name string, active, sessions int, in uint64) session.StatsRow {
			return session.StatsRow{Name: name, ActiveSessions: active, Sessions: sessions, InputOctets: in, OutputOctets: 2 * in}
		}
		want := session.Stats{
			Since: st.Since,
			Total: row("total", 5, 6, 1201),
			NAS:   []session.StatsRow{row("nas1", 4, 4, 501), row("nas2", 1, 2, 700)},
			AP:    []session.StatsRow{row("AP-1", 2, 2, 500), row("AP-2", 1, 1, 0), row("AP-3", 1, 2, 700)},
		}
		if fmt.Sprint(st) != fmt.Sprint(want) {
			t.Errorf("Stats() =\n%+v\nwant\n%+v", st, want)
		}
	})
}

func TestSessionsInvalid(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		s, _ := newStore(t, rdb, testConfig())
		for _, f := range []session.SessionFilter{{State: "open"}, {Limit: -1}} {
			if _, err := s.Sessions(context.Background(), f); err == nil || errors.Is(err, session.ErrUnavailable) {
				t.Errorf("Sessions(%+v) = %v, want a validation error", f, err)
			}
		}
	})
}

func TestQueriesUnavailable(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	s, err := session.NewStore(rdb, testConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	checks := map[string]error{}
	_, checks["Sessions"] = s.Sessions(ctx, session.SessionFilter{})
	_, checks["Sessions(device)"] = s.Sessions(ctx, session.SessionFilter{Device: s.MACHash(macA)})
	_, checks["Stats"] = s.Stats(ctx)
	_, checks["ActiveSessions"] = s.ActiveSessions(ctx, []string{"nas1"})
	for name, err := range checks {
		if !errors.Is(err, session.ErrUnavailable) {
			t.Errorf("%s on a dead Redis = %v, want ErrUnavailable", name, err)
		}
	}
}

func TestParseCursor(t *testing.T) {
	for _, bad := range []string{
		"!", "Zm9v", // "foo": no score
		b64("x:{d:a}:s:n:1"),                    // score not a number
		b64("-1:{d:a}:s:n:1"),                   // negative
		b64("1:idx:{sessions}"),                 // not a session key
		b64("99999999999999999999:{d:a}:s:n:1"), // overflow
		strings.Repeat("A", 2000),
	} {
		if c, err := session.ParseCursor(bad); !errors.Is(err, session.ErrBadCursor) {
			t.Errorf("ParseCursor(%q) = %v, %v, want ErrBadCursor", bad, c, err)
		}
	}
	if c, err := session.ParseCursor(""); err != nil || !c.IsZero() || c.String() != "" {
		t.Errorf("ParseCursor(\"\") = %v, %v, want the zero cursor", c, err)
	}
	c, err := session.ParseCursor(b64("1764154800:{d:a}:s:n:1"))
	if err != nil || c.IsZero() || c.String() != b64("1764154800:{d:a}:s:n:1") {
		t.Errorf("ParseCursor(valid) = %v (%q), %v", c, c.String(), err)
	}
}

func TestValidPseudonym(t *testing.T) {
	s, err := session.NewStore(nil, testConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := s.MACHash(macA); !session.ValidPseudonym(p) {
		t.Errorf("ValidPseudonym(MACHash(macA) = %q) = false", p)
	}
	for _, bad := range []string{"", "AA-BB-CC-DD-EE-FF", strings.Repeat("a", 21), strings.Repeat("a", 21) + "*", strings.Repeat("a", 23)} {
		if session.ValidPseudonym(bad) {
			t.Errorf("ValidPseudonym(%q) = true", bad)
		}
	}
}

func FuzzParseCursor(f *testing.F) {
	for _, s := range []string{"", b64("1764154800:{d:a}:s:n:1"), b64("0:{d:}:s:x"), "!!", b64("1:x")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := session.ParseCursor(s)
		if err != nil {
			return
		}
		again, err := session.ParseCursor(c.String())
		if err != nil || again != c {
			t.Errorf("ParseCursor(%q).String() = %q does not parse back: %v, %v", s, c.String(), again, err)
		}
	})
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// TestClosedSessionInOpenIndex: a closed session that an instance put back
// into its NAS's open index (an earlier record written after the Stop) is
// listed and counted once, and leaves the open index when read.
func TestClosedSessionInOpenIndex(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s, clk := newStore(t, rdb, testConfig())
		fixture(t, s, clk, queryRecords)
		before, err := s.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		keys := rdb.Keys(ctx, "*:s:nas2:s3").Val()
		if len(keys) != 1 {
			t.Fatalf("session s3: keys %v", keys)
		}
		if err := rdb.ZAdd(ctx, "nas:{nas2}:open", redis.Z{Score: float64(clk.Now().Unix() + 1), Member: keys[0]}).Err(); err != nil {
			t.Fatal(err)
		}
		got, _ := all(t, s, session.SessionFilter{Limit: 2})
		if strings.Count(got, "s3") != 1 {
			t.Errorf("listing %q: want s3 once", got)
		}
		if _, err := rdb.ZScore(ctx, "nas:{nas2}:open", keys[0]).Result(); !errors.Is(err, redis.Nil) {
			t.Errorf("s3 still in its NAS's open index after a listing (%v)", err)
		}
		rdb.ZAdd(ctx, "nas:{nas2}:open", redis.Z{Score: float64(clk.Now().Unix() + 1), Member: keys[0]})
		after, err := s.Stats(ctx)
		if err != nil || after.Total != before.Total {
			t.Errorf("Stats total with the stale entry = %+v, %v; want %+v", after.Total, err, before.Total)
		}
	})
}

// TestOpenSessionCounters: every reader shows an open session's latest
// counters and last record, and a closed one keeps them.
func TestOpenSessionCounters(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s, clk := newStore(t, rdb, testConfig())
		t0 := clk.Now()
		r := session.AcctRecord{Status: session.AcctStart, NAS: "nas1", SessionID: "c1", MAC: macA, AP: "AP-1", SSID: "FreeWiFi", IP: "10.0.0.7"}
		mustAccount(t, s, r)
		r.Status, r.AP, r.InputOctets, r.OutputOctets, r.SessionTime = session.AcctInterim, "AP-2", 1000, 2000, 60
		clk.Set(t0.Add(time.Minute))
		mustAccount(t, s, r)
		late := r
		late.InputOctets, late.OutputOctets, late.SessionTime = 900, 1900, 50
		clk.Set(t0.Add(2 * time.Minute))
		mustAccount(t, s, late) // out of order: counts nothing, but it is the last record

		check := func(what string, got session.Session, active bool, in, out uint64, secs uint32, updated time.Time) {
			t.Helper()
			if got.Active != active || got.InputOctets != in || got.OutputOctets != out || got.SessionTime != secs ||
				!got.UpdatedAt.Equal(updated) || got.AP != "AP-2" {
				t.Errorf("%s = active %v, %d in, %d out, %d s, updated %v, AP %q; want %v, %d, %d, %d, %v, AP-2",
					what, got.Active, got.InputOctets, got.OutputOctets, got.SessionTime, got.UpdatedAt, got.AP, active, in, out, secs, updated)
			}
		}
		p, err := s.Sessions(ctx, session.SessionFilter{Device: s.MACHash(macA)})
		if err != nil || len(p.Sessions) != 1 {
			t.Fatalf("Sessions = %d, %v; want 1", len(p.Sessions), err)
		}
		check("listed", p.Sessions[0], true, 1000, 2000, 60, t0.Add(2*time.Minute))
		one, err := s.Session(ctx, p.Sessions[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		check("Session", one, true, 1000, 2000, 60, t0.Add(2*time.Minute))
		_, held, err := s.DeviceStatusByIP(ctx, "nas1", netip.MustParseAddr("10.0.0.7"))
		if err != nil {
			t.Fatal(err)
		}
		check("DeviceStatusByIP", held, true, 1000, 2000, 60, t0.Add(2*time.Minute))
		st, err := s.Stats(ctx)
		if err != nil || st.Total.InputOctets != 1000 || st.Total.OutputOctets != 2000 || st.Total.ActiveSessions != 1 {
			t.Errorf("Stats = %+v, %v; want 1 active session, 1000 in, 2000 out", st.Total, err)
		}
		// Accounting-On: the NAS lost its sessions; the counters stay.
		clk.Set(t0.Add(3 * time.Minute))
		if n, err := s.CloseNAS(ctx, "nas1", netip.Addr{}, 0); n != 1 || err != nil {
			t.Fatalf("CloseNAS = %d, %v; want 1", n, err)
		}
		one, _ = s.Session(ctx, one.ID)
		check("closed by CloseNAS", one, false, 1000, 2000, 60, t0.Add(3*time.Minute))
		p, err = s.Sessions(ctx, session.SessionFilter{Device: s.MACHash(macA), State: session.StateClosed})
		if err != nil || len(p.Sessions) != 1 || p.Sessions[0] != one {
			t.Errorf("Sessions(device, closed) = %+v, %v; want the closed session", p.Sessions, err)
		}
		// A late interim of the closed session still counts its bytes.
		r.InputOctets, r.OutputOctets, r.SessionTime = 5000, 2000, 90
		clk.Set(t0.Add(4 * time.Minute))
		if u := mustAccount(t, s, r); u.Total() != 7000 {
			t.Errorf("day's total after a late interim = %d, want 7000", u.Total())
		}
		one, _ = s.Session(ctx, one.ID)
		check("closed, after a late interim", one, false, 5000, 2000, 90, t0.Add(4*time.Minute))
	})
}

// TestDeviceClosedSessionsTrimmed: a device's set of closed sessions drops
// those last updated a retention period ago when another one closes, and
// expires a retention period after the last.
func TestDeviceClosedSessionsTrimmed(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		cfg := testConfig()
		cfg.Retention = 48 * time.Hour
		s, clk := newStore(t, rdb, cfg)
		t0 := clk.Now()
		for i, at := range []time.Duration{0, time.Hour, 49 * time.Hour} {
			clk.Set(t0.Add(at))
			sid := fmt.Sprintf("t%d", i)
			mustAccount(t, s, session.AcctRecord{Status: session.AcctStart, NAS: "nas1", SessionID: sid, MAC: macA})
			mustAccount(t, s, session.AcctRecord{Status: session.AcctStop, NAS: "nas1", SessionID: sid, MAC: macA, InputOctets: 1})
		}
		key := "{d:" + s.MACHash(macA) + "}:closed"
		got, err := rdb.ZRange(ctx, key, 0, -1).Result()
		if err != nil || strings.Join(got, " ") != "nas1:t1 nas1:t2" {
			t.Errorf("closed sessions = %q, %v; want nas1:t1 nas1:t2 (t0 closed a retention period ago)", got, err)
		}
		if ttl := rdb.TTL(ctx, key).Val(); ttl <= 47*time.Hour || ttl > 48*time.Hour {
			t.Errorf("TTL of the closed sessions = %v, want the retention period", ttl)
		}
	})
}
