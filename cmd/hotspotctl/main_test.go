package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"hotspot/portal"
	"hotspot/session"
)

const (
	operatorToken = "operator-token-0123456789"
	viewerToken   = "viewer-token-0123456789"
)

var (
	t0   = time.Date(2026, 11, 26, 11, 0, 0, 0, time.UTC)
	macA = session.MAC{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01}
	macB = session.MAC{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x02}
)

// store is the real store on the embedded Redis with DeviceStatus faked
// (its implementation and tests belong to package session).
type store struct {
	*session.Store
	status session.DeviceStatus
}

func (s *store) DeviceStatus(context.Context, session.MAC, session.Where) (session.DeviceStatus, error) {
	return s.status, nil
}

// nas answers every Disconnect-Request with res.
type nas struct{ res session.DynAuthResult }

func (n *nas) Disconnect(context.Context, session.Session) (session.DynAuthResult, error) {
	return n.res, nil
}

type server struct {
	url   string
	store *store
	nas   *nas
	ids   map[string]string // session IDs by Acct-Session-Id
}

// newServer runs the real admin API on the embedded Redis with two
// sessions of device A (s1 active on nas1, s3 closed on nas2) and one of
// device B (s2 active on nas1).
func newServer(t *testing.T) *server {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	now := t0
	st, err := session.NewStore(rdb, session.Config{
		MACHashKey: "cli-test-mac-hash-key", TermsVersion: "v1", TimeZone: "UTC",
		Policy: session.Policy{InterimInterval: 5 * time.Minute},
	}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, r := range []session.AcctRecord{
		{Status: session.AcctStart, NAS: "nas1", SessionID: "s1", MAC: macA, AP: "AP-1", IP: "10.1.0.5", InputOctets: 1536, OutputOctets: 3 << 20, SessionTime: 3725},
		{Status: session.AcctStart, NAS: "nas1", SessionID: "s2", MAC: macB, AP: "AP-2", IP: "10.1.0.6"},
		{Status: session.AcctStart, NAS: "nas2", SessionID: "s3", MAC: macA, AP: "AP-1"},
		{Status: session.AcctStop, NAS: "nas2", SessionID: "s3", MAC: macA, AP: "AP-1", InputOctets: 10, OutputOctets: 20},
	} {
		now = t0.Add(time.Duration(i) * time.Minute)
		if _, err := st.Account(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	s := &server{store: &store{Store: st}, nas: &nas{res: session.DynAuthResult{ACK: true}}, ids: map[string]string{}}
	page, err := st.Sessions(ctx, session.SessionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sess := range page.Sessions {
		s.ids[sess.AcctSessionID] = sess.ID
	}
	admin, err := portal.NewAdmin(portal.AdminConfig{Tokens: []portal.AdminToken{
		{Name: "alice", Role: portal.RoleOperator, Hash: portal.HashToken(operatorToken)},
		{Name: "bob", Role: portal.RoleViewer, Hash: portal.HashToken(viewerToken)},
	}}, s.store, s.nas, prometheus.NewRegistry(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(admin.Handler())
	t.Cleanup(hs.Close)
	s.url = hs.URL
	return s
}

// ctl runs hotspotctl against s with token in the environment.
func (s *server) ctl(t *testing.T, token, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, env{
		stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut,
		getenv: func(k string) string {
			switch k {
			case "HOTSPOT_ADMIN_TOKEN":
				return token
			case "HOTSPOT_ADMIN_URL":
				return s.url
			}
			return ""
		},
		loc:  time.UTC,
		http: &http.Client{Timeout: 10 * time.Second},
	})
	return code, out.String(), errOut.String()
}

// columns checks that every line of a table starts each of the header's
// columns at the same offset, and returns the rows as fields.
func columns(t *testing.T, table string) [][]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	header := lines[0]
	var starts []int
	for i := range header {
		if header[i] != ' ' && (i == 0 || header[i-1] == ' ') {
			starts = append(starts, i)
		}
	}
	var rows [][]string
	for _, l := range lines[1:] {
		for _, s := range starts {
			if s >= len(l) || l[s] == ' ' || (s > 0 && l[s-1] != ' ') {
				t.Errorf("table not aligned at column %d:\n%s", s, table)
				return nil
			}
		}
		var row []string
		for i, s := range starts {
			end := len(l)
			if i+1 < len(starts) {
				end = starts[i+1]
			}
			row = append(row, strings.TrimSpace(l[s:end]))
		}
		rows = append(rows, row)
	}
	return rows
}

func TestSessionsList(t *testing.T) {
	s := newServer(t)
	hashA := s.store.MACHash(macA)
	code, out, errOut := s.ctl(t, operatorToken, "", "sessions", "list")
	if code != 0 {
		t.Fatalf("sessions list = %d, %s", code, errOut)
	}
	rows := columns(t, out)
	want := [][]string{
		{s.ids["s3"], hashA, "nas2", "AP-1", "-", "closed", "2026-11-26 11:02:00", "2026-11-26 11:03:00", "10 B", "20 B", "0:00:00"},
		{s.ids["s2"], "AA-BB-CC-DD-EE-02", "nas1", "AP-2", "10.1.0.6", "active", "2026-11-26 11:01:00", "2026-11-26 11:01:00", "0 B", "0 B", "0:00:00"},
		{s.ids["s1"], "AA-BB-CC-DD-EE-01", "nas1", "AP-1", "10.1.0.5", "active", "2026-11-26 11:00:00", "2026-11-26 11:00:00", "1.5 KiB", "3.0 MiB", "1:02:05"},
	}
	if got, _ := json.Marshal(rows); string(got) != mustJSON(want) {
		t.Errorf("sessions list =\n%s\nrows %s\nwant %s", out, got, mustJSON(want))
	}
	if !strings.HasPrefix(out, "ID ") || !strings.Contains(strings.SplitN(out, "\n", 2)[0], "UPDATED") {
		t.Errorf("sessions list header = %q", strings.SplitN(out, "\n", 2)[0])
	}

	// A viewer sees only pseudonyms.
	_, out, _ = s.ctl(t, viewerToken, "", "sessions", "list")
	if strings.Contains(out, "AA-BB-CC") || !strings.Contains(out, hashA) {
		t.Errorf("sessions list as viewer shows clear MACs or no pseudonyms:\n%s", out)
	}

	// Filters, before or after the common flags.
	for _, args := range [][]string{
		{"sessions", "list", "-mac", "aa:bb:cc:dd:ee:01", "-state", "active"},
		{"-o", "table", "sessions", "list", "-nas", "nas1", "-ap", "AP-1"},
	} {
		_, out, _ := s.ctl(t, operatorToken, "", args...)
		if rows := columns(t, out); len(rows) != 1 || rows[0][0] != s.ids["s1"] {
			t.Errorf("%v = %q, want s1 only", args, out)
		}
	}

	// Paging: a page of one says how to go on; -all follows the cursor.
	code, out, errOut = s.ctl(t, operatorToken, "", "sessions", "list", "-limit", "1")
	if code != 0 || len(columns(t, out)) != 1 || !strings.Contains(errOut, "-cursor ") {
		t.Errorf("sessions list -limit 1 = %d, %q, stderr %q", code, out, errOut)
	}
	cursor := strings.Fields(strings.SplitAfter(errOut, "-cursor ")[1])[0]
	_, out, _ = s.ctl(t, operatorToken, "", "sessions", "list", "-limit", "1", "-cursor", cursor)
	if rows := columns(t, out); len(rows) != 1 || rows[0][0] != s.ids["s2"] {
		t.Errorf("second page = %q, want s2", out)
	}
	_, out, errOut = s.ctl(t, operatorToken, "", "sessions", "list", "-limit", "1", "-all")
	if len(columns(t, out)) != 3 || errOut != "" {
		t.Errorf("sessions list -limit 1 -all = %q, stderr %q, want 3 rows", out, errOut)
	}

	// -o json is the API's document.
	for _, args := range [][]string{{"-o", "json", "sessions", "list"}, {"sessions", "list", "-limit", "1", "-all", "-o", "json"}} {
		code, out, _ = s.ctl(t, operatorToken, "", args...)
		var list portal.APISessionList
		if err := json.Unmarshal([]byte(out), &list); err != nil || code != 0 || len(list.Sessions) != 3 ||
			list.Sessions[2].MAC != "AA-BB-CC-DD-EE-01" || list.Sessions[2].OutputOctets != 3<<20 || list.NextCursor != "" {
			t.Errorf("%v = %d, %q (%v)", args, code, out, err)
		}
	}
}

func TestSessionsShowAndDisconnect(t *testing.T) {
	s := newServer(t)
	code, out, errOut := s.ctl(t, operatorToken, "", "sessions", "show", s.ids["s1"])
	if code != 0 {
		t.Fatalf("sessions show = %d, %s", code, errOut)
	}
	for _, want := range []string{"MAC:              AA-BB-CC-DD-EE-01", "State:            active", "Output:           3.0 MiB (3145728)", "Session time:     1:02:05", "Policy:           default"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("sessions show lacks %q:\n%s", want, out)
		}
	}
	_, out, _ = s.ctl(t, operatorToken, "", "sessions", "show", "-o", "json", s.ids["s1"])
	var one portal.APISession
	if err := json.Unmarshal([]byte(out), &one); err != nil || one.AcctSessionID != "s1" {
		t.Errorf("sessions show -o json = %q (%v)", out, err)
	}

	code, out, _ = s.ctl(t, operatorToken, "", "sessions", "disconnect", s.ids["s1"])
	if code != 0 || !strings.Contains(out, "Result:   ack") {
		t.Errorf("sessions disconnect = %d, %q, want 0 and ack", code, out)
	}
	s.nas.res = session.DynAuthResult{ErrorCause: 503}
	code, out, errOut = s.ctl(t, operatorToken, "", "-o", "json", "sessions", "disconnect", s.ids["s1"])
	var d portal.APIDisconnect
	if err := json.Unmarshal([]byte(out), &d); err != nil || code != 1 || d.Result != "nak" || d.ErrorCause != 503 || !strings.Contains(errOut, "Session Context Not Found") {
		t.Errorf("sessions disconnect (NAK) = %d, %q, stderr %q; want 1, nak 503", code, out, errOut)
	}
	for _, tc := range []struct {
		token, id, want string
	}{
		{viewerToken, s.ids["s1"], "403 forbidden"},
		{operatorToken, s.ids["s3"], "409 session_closed"},
		{operatorToken, "bm9wZQ", "404 not_found"},
	} {
		code, _, errOut := s.ctl(t, tc.token, "", "sessions", "disconnect", tc.id)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("sessions disconnect %s = %d, %q, want 1 and %q", tc.id, code, errOut, tc.want)
		}
	}
}

func TestDevices(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	page, _ := s.store.Sessions(ctx, session.SessionFilter{Device: s.store.MACHash(macA), State: session.StateActive})
	s.store.status = session.DeviceStatus{Remembered: true, RememberedUntil: t0.Add(24 * time.Hour), Policy: "default",
		DataUsed: 60 << 20, DataLimit: 100 << 20, DataRemaining: 40 << 20, TimeRemaining: -1,
		WindowEnd: t0.Add(13 * time.Hour), Sessions: page.Sessions}
	code, out, errOut := s.ctl(t, viewerToken, "", "devices", "show", "aa:bb:cc:dd:ee:01")
	if code != 0 {
		t.Fatalf("devices show = %d, %s", code, errOut)
	}
	for _, want := range []string{
		"MAC:               " + s.store.MACHash(macA), "Remembered until:  2026-11-27 11:00:00",
		"Data used:         60.0 MiB (62914560)", "Data left:         40.0 MiB (41943040)", "Time limit:        unlimited",
		"Open sessions:     1", s.ids["s1"] + "  nas1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("devices show lacks %q:\n%s", want, out)
		}
	}
	_, out, _ = s.ctl(t, operatorToken, "", "devices", "show", "aa:bb:cc:dd:ee:01", "-o", "json")
	var d portal.APIDevice
	if err := json.Unmarshal([]byte(out), &d); err != nil || d.MAC != "AA-BB-CC-DD-EE-01" || *d.DataLimit != 100<<20 || d.TimeLimit != nil {
		t.Errorf("devices show -o json = %q (%v)", out, err)
	}

	if _, err := s.store.CreateGrant(ctx, macA, "nas1"); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := s.ctl(t, viewerToken, "", "devices", "forget", "aa:bb:cc:dd:ee:01"); code != 1 || !strings.Contains(errOut, "403") {
		t.Errorf("devices forget as viewer = %d, %q, want 1 and 403", code, errOut)
	}
	code, out, _ = s.ctl(t, operatorToken, "", "devices", "forget", "aa:bb:cc:dd:ee:01")
	if code != 0 || !strings.Contains(out, "forgotten") {
		t.Errorf("devices forget = %d, %q", code, out)
	}
	if dec, _ := s.store.Authorize(ctx, session.AuthRequest{NAS: "nas1", MAC: macA, MACAuth: true}); dec.Reason != session.RejectNotKnown {
		t.Errorf("MAC auth after devices forget = %q, want %q", dec.Reason, session.RejectNotKnown)
	}
	if code, _, errOut := s.ctl(t, operatorToken, "", "devices", "show", "not-a-mac"); code != 1 || !strings.Contains(errOut, "400 bad_mac") {
		t.Errorf("devices show not-a-mac = %d, %q", code, errOut)
	}
}

func TestStats(t *testing.T) {
	s := newServer(t)
	code, out, errOut := s.ctl(t, viewerToken, "", "stats")
	want := `since 2026-11-26 00:00:00
SCOPE  NAME   ACTIVE  SESSIONS  IN       OUT
total  total  2       3         1.5 KiB  3.0 MiB
nas    nas1   2       2         1.5 KiB  3.0 MiB
nas    nas2   0       1         10 B     20 B
ap     AP-1   1       2         1.5 KiB  3.0 MiB
ap     AP-2   1       1         0 B      0 B
`
	if code != 0 || out != want {
		t.Errorf("stats = %d, stderr %q\n%s\nwant\n%s", code, errOut, out, want)
	}
	_, out, _ = s.ctl(t, viewerToken, "", "stats", "-o", "json")
	var st portal.APIStats
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Total.Sessions != 3 || len(st.AP) != 2 {
		t.Errorf("stats -o json = %q (%v)", out, err)
	}
}

func TestTokens(t *testing.T) {
	s := newServer(t)
	code, out, _ := s.ctl(t, "", "", "token", "new", "-name", "carol", "-role", "operator")
	token := strings.TrimPrefix(strings.SplitN(out, "\n", 2)[0], "token: ")
	if code != 0 || len(token) < 40 || !strings.Contains(out, "- name: carol\n      role: operator\n      hash: "+portal.HashToken(token)+"\n") {
		t.Errorf("token new = %d:\n%s", code, out)
	}
	_, out, _ = s.ctl(t, "", "", "token", "new", "-o", "json")
	var tok map[string]string
	if err := json.Unmarshal([]byte(out), &tok); err != nil || tok["hash"] != portal.HashToken(tok["token"]) || tok["role"] != "viewer" {
		t.Errorf("token new -o json = %q (%v)", out, err)
	}
	code, out, _ = s.ctl(t, "", "demo-operator-token\n", "token", "hash")
	if want := "sha256:61112491d046c3f6f8ab801f170d9b2d0c734a17ceff60dee92123fb507cfc3f\n"; code != 0 || out != want {
		t.Errorf("token hash = %d, %q, want %q", code, out, want)
	}
	if code, _, errOut := s.ctl(t, "", "short\n", "token", "hash"); code != 1 || !strings.Contains(errOut, "shorter") {
		t.Errorf("token hash of a short token = %d, %q", code, errOut)
	}
	if code, _, _ := s.ctl(t, "", "", "token", "new", "-role", "root"); code != 2 {
		t.Errorf("token new -role root = %d, want 2", code)
	}
	// A token file instead of the environment.
	path := filepath.Join(t.TempDir(), "token")
	os.WriteFile(path, []byte(viewerToken+"\n"), 0o600)
	if code, _, errOut := s.ctl(t, "", "", "-token-file", path, "stats"); code != 0 {
		t.Errorf("stats with -token-file = %d, %s", code, errOut)
	}
}

func TestErrors(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		name  string
		token string
		args  []string
		code  int
		want  string
	}{
		{"no command", operatorToken, nil, 2, "usage"},
		{"unknown command", operatorToken, []string{"sessions", "delete"}, 2, `unknown command "sessions delete"`},
		{"unknown noun", operatorToken, []string{"users"}, 2, `unknown command "users"`},
		{"missing ID", operatorToken, []string{"sessions", "show"}, 2, "usage: hotspotctl sessions show"},
		{"extra argument", operatorToken, []string{"stats", "now"}, 2, "usage"},
		{"bad output", operatorToken, []string{"-o", "yaml", "stats"}, 2, "want table or json"},
		{"bad flag", operatorToken, []string{"sessions", "list", "-colour", "blue"}, 2, "colour"},
		{"no token", "", []string{"stats"}, 1, "no token"},
		{"wrong token", "wrong-token-0123456789", []string{"stats"}, 1, "401 unauthorized"},
		{"bad filter", operatorToken, []string{"sessions", "list", "-state", "open"}, 1, "400 bad_request"},
		{"bad server", operatorToken, []string{"-server", "ftp://x", "stats"}, 1, "not an http or https URL"},
		{"server down", operatorToken, []string{"-server", "http://127.0.0.1:1", "stats"}, 1, "connection refused"},
		{"missing token file", operatorToken, []string{"-token-file", "/nonexistent/token", "stats"}, 1, "token file"},
	}
	for _, tt := range tests {
		code, _, errOut := s.ctl(t, tt.token, "", tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("%s: hotspotctl %v = %d, %q; want %d and %q", tt.name, tt.args, code, errOut, tt.code, tt.want)
		}
	}
	if code, _, errOut := s.ctl(t, operatorToken, "", "-h"); code != 0 || !strings.Contains(errOut, "sessions list") {
		t.Errorf("hotspotctl -h = %d, %q", code, errOut)
	}
}

func TestFormats(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 3 << 20: "3.0 MiB", 5 << 30: "5.0 GiB", 1 << 50: "1.0 PiB"} {
		if got := octets(n); got != want {
			t.Errorf("octets(%d) = %q, want %q", n, got, want)
		}
	}
	for s, want := range map[int64]string{0: "0:00:00", 59: "0:00:59", 3725: "1:02:05", 90000: "25:00:00", -5: "0:00:00"} {
		if got := duration(s); got != want {
			t.Errorf("duration(%d) = %q, want %q", s, got, want)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestUntrustedText: what NASes report (here an AP and a username with an
// escape sequence, a tab, a line break and a direction override) reaches
// the terminal escaped, and tables stay aligned.
func TestUntrustedText(t *testing.T) {
	s := newServer(t)
	const ap, user = "AP\x1b[2J\t\u202eX", "eve\nINFO ok"
	if _, err := s.store.Account(context.Background(), session.AcctRecord{
		Status: session.AcctStart, NAS: "nas3", SessionID: "s9", MAC: macB, AP: ap, Username: user, IP: "10.1.0.9",
	}); err != nil {
		t.Fatal(err)
	}
	page, err := s.store.Sessions(context.Background(), session.SessionFilter{NAS: "nas3"})
	if err != nil || len(page.Sessions) != 1 {
		t.Fatalf("Sessions(nas3) = %d, %v", len(page.Sessions), err)
	}
	const apShown, userShown = `AP\x1b[2J\x09\u202eX`, `eve\x0aINFO ok`
	for _, args := range [][]string{
		{"sessions", "list"},
		{"sessions", "show", page.Sessions[0].ID},
		{"stats"},
	} {
		code, out, errOut := s.ctl(t, operatorToken, "", args...)
		if code != 0 {
			t.Fatalf("%v = %d, %s", args, code, errOut)
		}
		if strings.ContainsAny(out, "\x1b\t\u202e") || !strings.Contains(out, apShown) {
			t.Errorf("%v printed the AP unescaped, or not as %s:\n%q", args, apShown, out)
		}
		cmd := strings.Join(args[:min(2, len(args))], " ")
		if cmd == "sessions show" && !strings.Contains(out, userShown+"\n") {
			t.Errorf("sessions show printed the username unescaped, or not as %s:\n%q", userShown, out)
		}
		if cmd == "sessions list" {
			columns(t, out)
		}
	}
	if got := cell(""); got != "-" {
		t.Errorf(`cell("") = %q, want "-"`, got)
	}
	if got := cell("Café ü 日本"); got != "Café ü 日本" {
		t.Errorf("cell changed printable text: %q", got)
	}
}
