package portal

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"hotspot/internal/redistest"
	"hotspot/session"
)

const (
	adminOperatorToken = "operator-token-0123456789"
	adminViewerToken   = "viewer-token-0123456789"
)

var (
	adminMACA = session.MAC{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01}
	adminMACB = session.MAC{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x02}
)

// adminStore is the real store on the embedded Redis, with DeviceStatus
// faked: the admin API's tests are about the API; the store's queries are
// tested against redis-server in package session.
type adminStore struct {
	*session.Store
	mu        sync.Mutex
	status    session.DeviceStatus
	statusErr error
	where     session.Where
	panic     bool
}

func (s *adminStore) DeviceStatus(_ context.Context, mac session.MAC, where session.Where) (session.DeviceStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.panic {
		panic("fake store exploded")
	}
	s.where = where
	return s.status, s.statusErr
}

// adminFakeNAS answers Disconnect-Requests as told and records them.
type adminFakeNAS struct {
	mu    sync.Mutex
	res   session.DynAuthResult
	err   error
	calls []session.Session
}

func (f *adminFakeNAS) Disconnect(ctx context.Context, sess session.Session) (session.DynAuthResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		return session.DynAuthResult{}, errors.New("fake NAS: Disconnect without a deadline")
	}
	f.calls = append(f.calls, sess)
	return f.res, f.err
}

// adminLogBuffer is a bytes.Buffer safe for the logger and the test at once.
type adminLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *adminLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// records returns the JSON log records written so far.
func (b *adminLogBuffer) records(t testing.TB) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

type adminEnv struct {
	admin *Admin
	store *adminStore
	nas   *adminFakeNAS
	reg   *prometheus.Registry
	log   *adminLogBuffer
	mr    *miniredis.Miniredis
	// clock is the store's time, in Unix nanoseconds.
	clock *atomic.Int64
	// ids are the session IDs of the fixture by Acct-Session-Id.
	ids map[string]string
	// router finds the OpenAPI operation of a request, to validate every
	// response the tests get against the document.
	router routers.Router
}

func newAdminEnv(t testing.TB, disconnecter bool) *adminEnv {
	t.Helper()
	mr, rdb := redistest.Embedded(t)
	clock := new(atomic.Int64)
	clock.Store(t0.UnixNano())
	st, err := session.NewStore(rdb, session.Config{
		MACHashKey:   "admin-test-mac-hash-key",
		TermsVersion: "v1",
		Policy:       session.Policy{Data: 100 << 20, OverQuota: session.ActionDisconnect, InterimInterval: 5 * time.Minute},
	}, func() time.Time { return time.Unix(0, clock.Load()) })
	if err != nil {
		t.Fatal(err)
	}
	e := &adminEnv{store: &adminStore{Store: st}, nas: &adminFakeNAS{}, reg: prometheus.NewRegistry(),
		log: &adminLogBuffer{}, mr: mr, ids: map[string]string{}, clock: clock}
	cfg := AdminConfig{Listen: "127.0.0.1:0", Tokens: []AdminToken{
		{Name: "alice", Role: RoleOperator, Hash: HashToken(adminOperatorToken)},
		{Name: "bob", Role: RoleViewer, Hash: HashToken(adminViewerToken)},
	}}
	var d Disconnecter
	if disconnecter {
		d = e.nas
	}
	logger := slog.New(slog.NewJSONHandler(e.log, nil))
	if e.admin, err = NewAdmin(cfg, e.store, d, e.reg, e.reg, logger); err != nil {
		t.Fatal(err)
	}
	e.seed(t)
	doc := loadAdminOpenAPI(t)
	if e.router, err = legacy.NewRouter(doc); err != nil {
		t.Fatal(err)
	}
	return e
}

// seed stores three sessions a second apart from t0 on: s1 (device A on
// nas1, AP-1, active), s2 (device B on nas1, AP-2, active) and s3 (device
// A on nas2, AP-1, closed). The clock stays at t0+3s.
func (e *adminEnv) seed(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	for i, r := range []session.AcctRecord{
		{Status: session.AcctStart, NAS: "nas1", SessionID: "s1", MAC: adminMACA, AP: "AP-1", SSID: "FreeWiFi", IP: "10.1.0.5", NASIP: "192.0.2.1", InputOctets: 100, OutputOctets: 1000},
		{Status: session.AcctStart, NAS: "nas1", SessionID: "s2", MAC: adminMACB, AP: "AP-2", SSID: "FreeWiFi", IP: "10.1.0.6", NASIP: "192.0.2.1"},
		{Status: session.AcctStart, NAS: "nas2", SessionID: "s3", MAC: adminMACA, AP: "AP-1", SSID: "FreeWiFi"},
		{Status: session.AcctStop, NAS: "nas2", SessionID: "s3", MAC: adminMACA, AP: "AP-1", SSID: "FreeWiFi", InputOctets: 5, OutputOctets: 7, SessionTime: 60},
	} {
		e.clock.Store(t0.Add(time.Duration(i) * time.Second).UnixNano())
		if _, err := e.store.Account(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	page, err := e.store.Sessions(ctx, session.SessionFilter{})
	if err != nil || len(page.Sessions) != 3 {
		t.Fatalf("fixture: %d sessions, %v", len(page.Sessions), err)
	}
	for _, s := range page.Sessions {
		e.ids[s.AcctSessionID] = s.ID
	}
}

// do sends a request with token (none when "") and returns the response,
// after checking it against the OpenAPI document when the request is one
// the document describes.
func (e *adminEnv) do(t testing.TB, method, target, token string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.admin.Handler().ServeHTTP(rec, req)
	e.checkOpenAPI(t, req, rec)
	return rec
}

func (e *adminEnv) checkOpenAPI(t testing.TB, req *http.Request, rec *httptest.ResponseRecorder) {
	t.Helper()
	route, params, err := e.router.FindRoute(req)
	if err != nil {
		return // not described: an unknown path or method
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s = %d %s: response does not match openapi.json: %v", req.Method, req.URL, rec.Code, rec.Body, err)
	}
}

// decode reads rec's JSON body into v.
func adminDecode[T any](t testing.TB, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	return v
}

// errorCode returns the error code of an error response.
func adminErrorCode(t testing.TB, rec *httptest.ResponseRecorder) string {
	t.Helper()
	return adminDecode[APIError](t, rec).Error.Code
}

func loadAdminOpenAPI(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI)
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI 3 document: %v", err)
	}
	return doc
}

func TestAdminAuth(t *testing.T) {
	e := newAdminEnv(t, true)
	e.nas.res = session.DynAuthResult{ACK: true}
	s1 := "/api/v1/sessions/" + e.ids["s1"]
	routes := []struct {
		method, path   string
		viewer, opcode int
	}{
		{"GET", "/api/v1/sessions", 200, 200},
		{"GET", s1, 200, 200},
		{"POST", s1 + "/disconnect", 403, 200},
		{"GET", "/api/v1/devices/aa:bb:cc:dd:ee:01", 200, 200},
		{"DELETE", "/api/v1/devices/aa:bb:cc:dd:ee:09", 403, 204},
		{"GET", "/api/v1/stats", 200, 200},
	}
	for _, r := range routes {
		for _, tc := range []struct {
			name, header string
			want         int
		}{
			{"no token", "", 401},
			{"basic auth", "Basic YWxpY2U6c2VjcmV0", 401},
			{"empty bearer", "Bearer ", 401},
			{"wrong token", "Bearer not-a-configured-token", 401},
			{"token prefix", "Bearer " + adminOperatorToken[:10], 401},
			{"viewer", "Bearer " + adminViewerToken, r.viewer},
			{"operator", "Bearer " + adminOperatorToken, r.opcode},
			{"operator, lower-case scheme", "bearer " + adminOperatorToken, r.opcode},
		} {
			req := httptest.NewRequest(r.method, r.path, nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := httptest.NewRecorder()
			e.admin.Handler().ServeHTTP(rec, req)
			e.checkOpenAPI(t, req, rec)
			if rec.Code != tc.want {
				t.Errorf("%s %s (%s) = %d %s, want %d", r.method, r.path, tc.name, rec.Code, rec.Body, tc.want)
				continue
			}
			switch tc.want {
			case 401:
				if got := adminErrorCode(t, rec); got != "unauthorized" || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s %s (%s): code %q, WWW-Authenticate %q", r.method, r.path, tc.name, got, rec.Header().Get("WWW-Authenticate"))
				}
			case 403:
				if got := adminErrorCode(t, rec); got != "forbidden" {
					t.Errorf("%s %s (%s): code %q, want forbidden", r.method, r.path, tc.name, got)
				}
			}
		}
	}
	// Health, readiness, metrics and the document need no token.
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"} {
		if rec := e.do(t, "GET", p, ""); rec.Code != 200 {
			t.Errorf("GET %s without a token = %d, want 200", p, rec.Code)
		}
	}
	// The refused operator actions are in the audit log, with who tried.
	var refused int
	for _, r := range e.log.records(t) {
		if r["logger"] == "audit" && r["msg"] == "admin: operator action refused" && r["who"] == "bob" {
			refused++
		}
	}
	if refused != 2 { // disconnect and forget, once each
		t.Errorf("audit log has %d refused operator actions by bob, want 2", refused)
	}
}

func TestAdminListSessions(t *testing.T) {
	e := newAdminEnv(t, true)
	hashA := e.store.MACHash(adminMACA)
	tests := []struct {
		query string
		want  string
	}{
		{"", "s3,s2,s1"},
		{"?ap=AP-1", "s3,s1"},
		{"?ap=AP-2", "s2"},
		{"?ap=AP-9", ""},
		{"?nas=nas1", "s2,s1"},
		{"?nas=nas2&ap=AP-1", "s3"},
		{"?state=active", "s2,s1"},
		{"?state=closed", "s3"},
		{"?mac=aa:bb:cc:dd:ee:01", "s3,s1"},
		{"?mac=AA-BB-CC-DD-EE-01", "s3,s1"},
		{"?mac=aabb.ccdd.ee01", "s3,s1"},
		{"?mac=AABBCCDDEE01", "s3,s1"},
		{"?mac=" + hashA, "s3,s1"},
		{"?mac=aa:bb:cc:dd:ee:01&state=active", "s1"},
		{"?mac=aa:bb:cc:dd:ee:02&nas=nas2", ""},
		{"?limit=500", "s3,s2,s1"},
	}
	for _, tt := range tests {
		for _, token := range []string{adminViewerToken, adminOperatorToken} {
			rec := e.do(t, "GET", "/api/v1/sessions"+tt.query, token)
			if rec.Code != 200 {
				t.Errorf("GET /api/v1/sessions%s = %d %s", tt.query, rec.Code, rec.Body)
				continue
			}
			list := adminDecode[APISessionList](t, rec)
			var got []string
			for _, s := range list.Sessions {
				got = append(got, s.AcctSessionID)
			}
			if strings.Join(got, ",") != tt.want || list.NextCursor != "" {
				t.Errorf("GET /api/v1/sessions%s = %q (next %q), want %q", tt.query, got, list.NextCursor, tt.want)
			}
		}
	}

	// Paging: one at a time, following next_cursor.
	var got []string
	next := "?limit=1"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		list := adminDecode[APISessionList](t, e.do(t, "GET", "/api/v1/sessions"+next, adminViewerToken))
		for _, s := range list.Sessions {
			got = append(got, s.AcctSessionID)
		}
		next = ""
		if list.NextCursor != "" {
			next = "?limit=1&cursor=" + url.QueryEscape(list.NextCursor)
		}
	}
	if strings.Join(got, ",") != "s3,s2,s1" {
		t.Errorf("paging by 1 = %q, want s3,s2,s1", got)
	}

	// What each role sees.
	for _, tc := range []struct {
		token, sid, wantMAC string
	}{
		{adminOperatorToken, "s1", "AA-BB-CC-DD-EE-01"},
		{adminOperatorToken, "s3", hashA}, // closed: the clear MAC is gone
		{adminViewerToken, "s1", hashA},
		{adminViewerToken, "s3", hashA},
	} {
		list := adminDecode[APISessionList](t, e.do(t, "GET", "/api/v1/sessions?mac="+hashA, tc.token))
		for _, s := range list.Sessions {
			if s.AcctSessionID == tc.sid && (s.MAC != tc.wantMAC || s.MACHash != hashA) {
				t.Errorf("%s as %s: mac %q, mac_hash %q, want %q, %q", tc.sid, tc.token, s.MAC, s.MACHash, tc.wantMAC, hashA)
			}
		}
	}
	for _, token := range []string{adminViewerToken, adminOperatorToken} {
		body := e.do(t, "GET", "/api/v1/sessions", token).Body.String()
		if clear := strings.Contains(body, "AA-BB-CC-DD-EE-0"); clear != (token == adminOperatorToken) {
			t.Errorf("listing as %s shows clear MACs: %v", token, clear)
		}
	}

	s1 := adminDecode[APISessionList](t, e.do(t, "GET", "/api/v1/sessions?state=active&ap=AP-1", adminOperatorToken)).Sessions[0]
	want := APISession{ID: e.ids["s1"], MAC: "AA-BB-CC-DD-EE-01", MACHash: hashA, NAS: "nas1", NASIP: "192.0.2.1",
		AcctSessionID: "s1", AP: "AP-1", SSID: "FreeWiFi", IP: "10.1.0.5", State: "active",
		StartedAt: t0.UTC(), UpdatedAt: t0.UTC(), InputOctets: 100, OutputOctets: 1000, Policy: "default"}
	if s1 != want {
		t.Errorf("session s1 =\n%+v\nwant\n%+v", s1, want)
	}
}

func TestAdminListSessionsBadQuery(t *testing.T) {
	e := newAdminEnv(t, true)
	for _, q := range []string{
		"?colour=blue",
		"?ap=AP-1&ap=AP-2",
		"?mac=zz:bb:cc:dd:ee:01",
		"?mac=aa:bb:cc:dd:ee",
		"?state=open",
		"?limit=0",
		"?limit=501",
		"?limit=ten",
		"?cursor=not-a-cursor",
		"?ap=" + strings.Repeat("x", 254),
		"?nas=%00",
		"?ap=%ff",
		"?%zz",
		"?ap=" + strings.Repeat("x", 5000),
	} {
		rec := e.do(t, "GET", "/api/v1/sessions"+q, adminViewerToken)
		if rec.Code != 400 || adminErrorCode(t, rec) != "bad_request" {
			t.Errorf("GET /api/v1/sessions%s = %d %s, want 400 bad_request", clipped(q), rec.Code, rec.Body)
		}
	}
}

func TestAdminGetSession(t *testing.T) {
	e := newAdminEnv(t, true)
	hashA := e.store.MACHash(adminMACA)
	for _, tc := range []struct {
		sid, token, wantMAC, wantState string
	}{
		{"s1", adminOperatorToken, "AA-BB-CC-DD-EE-01", "active"},
		{"s1", adminViewerToken, hashA, "active"},
		{"s3", adminOperatorToken, hashA, "closed"},
	} {
		rec := e.do(t, "GET", "/api/v1/sessions/"+e.ids[tc.sid], tc.token)
		s := adminDecode[APISession](t, rec)
		if rec.Code != 200 || s.AcctSessionID != tc.sid || s.MAC != tc.wantMAC || s.State != tc.wantState {
			t.Errorf("GET session %s = %d %+v, want mac %q, state %s", tc.sid, rec.Code, s, tc.wantMAC, tc.wantState)
		}
	}
	gone := adminB64("{d:AAAAAAAAAAAAAAAAAAAAAA}:s:nas1:gone")
	for _, id := range []string{gone, "not-an-id!", adminB64("idx:{sessions}")} {
		rec := e.do(t, "GET", "/api/v1/sessions/"+url.PathEscape(id), adminViewerToken)
		if rec.Code != 404 || adminErrorCode(t, rec) != "not_found" {
			t.Errorf("GET /api/v1/sessions/%s = %d %s, want 404 not_found", id, rec.Code, rec.Body)
		}
	}
}

func adminB64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestAdminDisconnect(t *testing.T) {
	tests := []struct {
		name       string
		sid        string
		res        session.DynAuthResult
		err        error
		wantStatus int
		wantCode   string // error code, or the result
		outcome    string // in the audit log
	}{
		{"ack", "s1", session.DynAuthResult{ACK: true}, nil, 200, "ack", "ack"},
		{"nak", "s1", session.DynAuthResult{ErrorCause: 503}, nil, 200, "nak", "nak"},
		{"no answer", "s1", session.DynAuthResult{}, fmt.Errorf("radius: disconnect: %w: no answer from 192.0.2.1:3799 after 3 attempts", ErrNoAnswer), 504, "nas_timeout", "no_answer"},
		{"deadline", "s1", session.DynAuthResult{}, context.DeadlineExceeded, 504, "nas_timeout", "no_answer"},
		{"send failed", "s1", session.DynAuthResult{}, errors.New("radius: no route to NAS"), 502, "nas_error", "error"},
		{"closed", "s3", session.DynAuthResult{ACK: true}, nil, 409, "session_closed", "refused"},
		{"unknown", "", session.DynAuthResult{ACK: true}, nil, 404, "not_found", "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAdminEnv(t, true)
			e.nas.res, e.nas.err = tt.res, tt.err
			id := e.ids[tt.sid]
			if tt.sid == "" {
				id = adminB64("{d:AAAAAAAAAAAAAAAAAAAAAA}:s:nas1:gone")
			}
			rec := e.do(t, "POST", "/api/v1/sessions/"+id+"/disconnect", adminOperatorToken)
			if rec.Code != tt.wantStatus {
				t.Fatalf("POST disconnect = %d %s, want %d", rec.Code, rec.Body, tt.wantStatus)
			}
			if rec.Code == 200 {
				d := adminDecode[APIDisconnect](t, rec)
				if d.Result != tt.wantCode || d.SessionID != id || d.NAS != "nas1" || d.ErrorCause != tt.res.ErrorCause {
					t.Errorf("POST disconnect = %+v, want result %s", d, tt.wantCode)
				}
				if tt.res.ErrorCause == 503 && d.ErrorCauseName != "Session Context Not Found" {
					t.Errorf("error_cause_name = %q, want Session Context Not Found", d.ErrorCauseName)
				}
			} else if got := adminErrorCode(t, rec); got != tt.wantCode {
				t.Errorf("POST disconnect: code %q, want %q", got, tt.wantCode)
			}
			// The NAS was asked only for an active session, with its MAC
			// and address.
			e.nas.mu.Lock()
			calls := e.nas.calls
			e.nas.mu.Unlock()
			if wantCalls := tt.sid == "s1"; (len(calls) == 1) != wantCalls {
				t.Errorf("Disconnect called %d times, want %v", len(calls), wantCalls)
			} else if wantCalls && (calls[0].MAC != adminMACA || calls[0].NASIP != "192.0.2.1" || calls[0].AcctSessionID != "s1") {
				t.Errorf("Disconnect(%+v), want s1 of %v at 192.0.2.1", calls[0], adminMACA)
			}
			// The audit log says who did what to which session, and how it
			// went, without the clear MAC.
			var found bool
			for _, r := range e.log.records(t) {
				if r["logger"] != "audit" || r["action"] != "disconnect" {
					continue
				}
				found = true
				if r["who"] != "alice" || r["role"] != "operator" || r["outcome"] != tt.outcome || r["session_id"] != id || r["time"] == nil {
					t.Errorf("audit record %v, want who alice, outcome %s, session %s", r, tt.outcome, id)
				}
			}
			if !found {
				t.Errorf("no audit record of the disconnect")
			}
			if strings.Contains(e.log.b.String(), "AA-BB-CC-DD-EE-01") {
				t.Errorf("the log holds the clear MAC:\n%s", e.log.b.String())
			}
		})
	}
	t.Run("not wired", func(t *testing.T) {
		e := newAdminEnv(t, false)
		rec := e.do(t, "POST", "/api/v1/sessions/"+e.ids["s1"]+"/disconnect", adminOperatorToken)
		if rec.Code != 501 || adminErrorCode(t, rec) != "not_implemented" {
			t.Errorf("POST disconnect without a Disconnecter = %d %s, want 501", rec.Code, rec.Body)
		}
		audited := false
		for _, r := range e.log.records(t) {
			audited = audited || (r["logger"] == "audit" && r["msg"] == "admin: disconnect" && r["outcome"] == "refused" && r["who"] == "alice")
		}
		if !audited {
			t.Errorf("no audit record of the refused disconnect:\n%s", e.log.b.String())
		}
	})
}

func TestAdminDevice(t *testing.T) {
	e := newAdminEnv(t, true)
	hashA := e.store.MACHash(adminMACA)
	until := t0.Add(24 * time.Hour)
	page, _ := e.store.Sessions(context.Background(), session.SessionFilter{Device: hashA, State: session.StateActive})
	e.store.status = session.DeviceStatus{
		Remembered: true, RememberedUntil: until, Policy: "default",
		DataUsed: 60 << 20, DataLimit: 100 << 20, DataRemaining: 40 << 20,
		TimeUsed: 90 * time.Minute, TimeRemaining: -1,
		WindowEnd: t0.Add(12 * time.Hour), Action: "throttle", Sessions: page.Sessions,
	}
	for _, tc := range []struct {
		token, wantMAC string
	}{{adminOperatorToken, "AA-BB-CC-DD-EE-01"}, {adminViewerToken, hashA}} {
		rec := e.do(t, "GET", "/api/v1/devices/aa-bb-cc-dd-ee-01?nas=nas1&ssid=FreeWiFi", tc.token)
		if rec.Code != 200 {
			t.Fatalf("GET device = %d %s", rec.Code, rec.Body)
		}
		d := adminDecode[APIDevice](t, rec)
		if d.MAC != tc.wantMAC || d.MACHash != hashA || !d.Remembered || d.RememberedUntil == nil || !d.RememberedUntil.Equal(until) ||
			d.DataUsed != 60<<20 || d.DataLimit == nil || *d.DataLimit != 100<<20 || d.DataRemaining == nil || *d.DataRemaining != 40<<20 ||
			d.TimeUsed != 5400 || d.TimeLimit != nil || d.TimeRemaining != nil || d.Action != "throttle" ||
			len(d.Sessions) != 1 || d.Sessions[0].AcctSessionID != "s1" || d.Sessions[0].MAC != tc.wantMAC {
			t.Errorf("GET device as %s = %s", tc.token, rec.Body)
		}
		// Unlimited is null, not 0 or -1.
		var raw map[string]any
		json.Unmarshal(rec.Body.Bytes(), &raw)
		if v, ok := raw["time_limit"]; !ok || v != nil {
			t.Errorf("time_limit = %v (present %v), want null", v, ok)
		}
		if e.store.where != (session.Where{NAS: "nas1", SSID: "FreeWiFi"}) {
			t.Errorf("DeviceStatus where = %+v, want nas1/FreeWiFi", e.store.where)
		}
	}
	for _, tc := range []struct {
		path, code string
		status     int
	}{
		{"/api/v1/devices/not-a-mac", "bad_mac", 400},
		{"/api/v1/devices/aa:bb:cc:dd:ee:01?colour=blue", "bad_request", 400},
		{"/api/v1/devices/aa:bb:cc:dd:ee:01?nas=%01", "bad_request", 400},
	} {
		rec := e.do(t, "GET", tc.path, adminViewerToken)
		if rec.Code != tc.status || adminErrorCode(t, rec) != tc.code {
			t.Errorf("GET %s = %d %s, want %d %s", tc.path, rec.Code, rec.Body, tc.status, tc.code)
		}
	}
	for err, want := range map[error]int{
		fmt.Errorf("%w: status: boom", session.ErrUnavailable): 503,
		session.ErrNotFound:                  404,
		errors.New("session: something odd"): 500,
	} {
		e.store.statusErr = err
		if rec := e.do(t, "GET", "/api/v1/devices/aa:bb:cc:dd:ee:01", adminViewerToken); rec.Code != want {
			t.Errorf("GET device with DeviceStatus error %v = %d, want %d", err, rec.Code, want)
		}
	}
}

func TestAdminForget(t *testing.T) {
	e := newAdminEnv(t, true)
	ctx := context.Background()
	if _, err := e.store.CreateGrant(ctx, adminMACA, "nas1"); err != nil {
		t.Fatal(err)
	}
	macAuth := session.AuthRequest{NAS: "nas1", MAC: adminMACA, MACAuth: true}
	if d, _ := e.store.Authorize(ctx, macAuth); !d.Accepted() {
		t.Fatalf("MAC auth before forgetting: %q", d.Reason)
	}
	if rec := e.do(t, "DELETE", "/api/v1/devices/aabbccddee01", adminViewerToken); rec.Code != 403 {
		t.Errorf("DELETE device as viewer = %d, want 403", rec.Code)
	}
	rec := e.do(t, "DELETE", "/api/v1/devices/aabbccddee01", adminOperatorToken)
	if rec.Code != 204 || rec.Body.Len() != 0 {
		t.Fatalf("DELETE device = %d %q, want 204 and no body", rec.Code, rec.Body)
	}
	if d, _ := e.store.Authorize(ctx, macAuth); d.Reason != session.RejectNotKnown {
		t.Errorf("MAC auth after forgetting = %q, want %q", d.Reason, session.RejectNotKnown)
	}
	if rec := e.do(t, "DELETE", "/api/v1/devices/nope", adminOperatorToken); rec.Code != 400 || adminErrorCode(t, rec) != "bad_mac" {
		t.Errorf("DELETE bad MAC = %d %s, want 400 bad_mac", rec.Code, rec.Body)
	}
	var done, refused int
	for _, r := range e.log.records(t) {
		if r["logger"] != "audit" || r["action"] != "forget" || r["who"] != "alice" {
			continue
		}
		switch r["outcome"] {
		case "done":
			done++
			if r["mac_hash"] != e.store.MACHash(adminMACA) {
				t.Errorf("audit record %v, want the device's pseudonym", r)
			}
		case "refused":
			refused++
		}
	}
	if done != 1 || refused != 1 {
		t.Errorf("audit log: %d forgets done, %d refused, want 1 and 1", done, refused)
	}
}

func TestAdminStats(t *testing.T) {
	e := newAdminEnv(t, true)
	rec := e.do(t, "GET", "/api/v1/stats", adminViewerToken)
	if rec.Code != 200 {
		t.Fatalf("GET stats = %d %s", rec.Code, rec.Body)
	}
	st := adminDecode[APIStats](t, rec)
	want := APIStats{
		Since: time.Date(2025, 6, 1, 0, 0, 0, 0, adminLoc(t, "Europe/Berlin")).UTC(),
		Total: APIStatsRow{Name: "total", ActiveSessions: 2, Sessions: 3, InputOctets: 105, OutputOctets: 1007},
		NAS: []APIStatsRow{
			{Name: "nas1", ActiveSessions: 2, Sessions: 2, InputOctets: 100, OutputOctets: 1000},
			{Name: "nas2", Sessions: 1, InputOctets: 5, OutputOctets: 7},
		},
		AP: []APIStatsRow{
			{Name: "AP-1", ActiveSessions: 1, Sessions: 2, InputOctets: 105, OutputOctets: 1007},
			{Name: "AP-2", ActiveSessions: 1, Sessions: 1},
		},
	}
	if fmt.Sprint(st) != fmt.Sprint(want) {
		t.Errorf("GET stats =\n%+v\nwant\n%+v", st, want)
	}
	if rec := e.do(t, "GET", "/api/v1/stats?x=1", adminViewerToken); rec.Code != 400 {
		t.Errorf("GET stats?x=1 = %d, want 400", rec.Code)
	}
}

func adminLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestAdminStoreDown: with Redis gone every API call answers 503 with a
// JSON error, and readiness says so.
func TestAdminStoreDown(t *testing.T) {
	e := newAdminEnv(t, true)
	s1 := e.ids["s1"]
	e.mr.Close()
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/sessions"},
		{"GET", "/api/v1/sessions?mac=aa:bb:cc:dd:ee:01"},
		{"GET", "/api/v1/sessions/" + s1},
		{"POST", "/api/v1/sessions/" + s1 + "/disconnect"},
		{"DELETE", "/api/v1/devices/aa:bb:cc:dd:ee:01"},
		{"GET", "/api/v1/stats"},
	} {
		rec := e.do(t, r.method, r.path, adminOperatorToken)
		if rec.Code != 503 || adminErrorCode(t, rec) != "store_unavailable" {
			t.Errorf("%s %s with Redis down = %d %s, want 503 store_unavailable", r.method, r.path, rec.Code, rec.Body)
		}
	}
	if rec := e.do(t, "GET", "/readyz", ""); rec.Code != 503 {
		t.Errorf("GET /readyz with Redis down = %d, want 503", rec.Code)
	}
	if rec := e.do(t, "GET", "/healthz", ""); rec.Code != 200 {
		t.Errorf("GET /healthz with Redis down = %d, want 200", rec.Code)
	}
}

func TestAdminUnknownRoutes(t *testing.T) {
	e := newAdminEnv(t, true)
	for _, tc := range []struct {
		method, path, code string
		status             int
	}{
		{"GET", "/api/v1/nothing", "not_found", 404},
		{"GET", "/api/v2/sessions", "not_found", 404},
		{"PUT", "/api/v1/stats", "method_not_allowed", 405},
		{"GET", "/api/v1/sessions/x/disconnect", "method_not_allowed", 405},
	} {
		rec := e.do(t, tc.method, tc.path, adminOperatorToken)
		if rec.Code != tc.status || adminErrorCode(t, rec) != tc.code {
			t.Errorf("%s %s = %d %s, want %d %s", tc.method, tc.path, rec.Code, rec.Body, tc.status, tc.code)
		}
	}
}

func TestAdminPanicRecovered(t *testing.T) {
	e := newAdminEnv(t, true)
	e.store.panic = true
	rec := e.do(t, "GET", "/api/v1/devices/aa:bb:cc:dd:ee:01", adminViewerToken)
	if rec.Code != 500 || adminErrorCode(t, rec) != "internal" {
		t.Errorf("a panicking handler = %d %s, want 500 internal", rec.Code, rec.Body)
	}
	if rec := e.do(t, "GET", "/healthz", ""); rec.Code != 200 {
		t.Errorf("GET /healthz after a panic = %d", rec.Code)
	}
}

// TestAdminMetrics scrapes /metrics after some traffic and parses it as
// Prometheus does.
func TestAdminMetrics(t *testing.T) {
	e := newAdminEnv(t, true)
	for range 3 {
		e.do(t, "GET", "/api/v1/sessions", adminViewerToken)
	}
	e.do(t, "GET", "/api/v1/sessions", "")
	e.do(t, "GET", "/api/v1/sessions/"+e.ids["s2"], adminViewerToken)
	e.do(t, "GET", "/no/such/path", "")
	rec := e.do(t, "GET", "/metrics", "")
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, rec.Body)
	}
	count := func(route, code string) float64 {
		for _, m := range mfs["hotspot_admin_requests_total"].GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			if l["route"] == route && l["code"] == code {
				return m.GetCounter().GetValue()
			}
		}
		return 0
	}
	for _, c := range []struct {
		route, code string
		want        float64
	}{
		{"/api/v1/sessions", "200", 3},
		{"/api/v1/sessions", "401", 1},
		{"/api/v1/sessions/:id", "200", 1},
		{"unmatched", "404", 1},
	} {
		if got := count(c.route, c.code); got != c.want {
			t.Errorf("hotspot_admin_requests_total{route=%q,code=%q} = %v, want %v", c.route, c.code, got, c.want)
		}
	}
	if h := mfs["hotspot_admin_request_duration_seconds"]; h == nil || len(h.GetMetric()) == 0 {
		t.Errorf("no hotspot_admin_request_duration_seconds in /metrics")
	}
}

// TestOpenAPIDescribesEveryRoute: the document is valid OpenAPI 3, every
// route the admin engine serves is in it with its method, and it
// describes nothing the engine does not serve.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc := loadAdminOpenAPI(t)
	e := newAdminEnv(t, true)
	served := map[string]bool{}
	for _, r := range e.admin.engine.Routes() {
		path := r.Path
		for _, seg := range strings.Split(path, "/") {
			if strings.HasPrefix(seg, ":") {
				path = strings.Replace(path, seg, "{"+seg[1:]+"}", 1)
			}
		}
		key := r.Method + " " + path
		served[key] = true
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("route %s is not described in openapi.json", key)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if !served[method+" "+path] {
				t.Errorf("openapi.json describes %s %s, which the admin listener does not serve", method, path)
			}
			if strings.HasPrefix(path, "/api/v1/") && path != "/api/v1/openapi.json" {
				if op.Security == nil || len(*op.Security) == 0 {
					t.Errorf("%s %s: no security requirement", method, path)
				}
				for _, code := range []string{"401", "403"} {
					if op.Responses.Value(code) == nil {
						t.Errorf("%s %s: response %s is not described", method, path, code)
					}
				}
			}
		}
	}
	rec := e.do(t, "GET", "/api/v1/openapi.json", "")
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), OpenAPI) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Errorf("GET /api/v1/openapi.json = %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
}

func TestAdminConfigValidate(t *testing.T) {
	good := AdminToken{Name: "alice", Role: RoleOperator, Hash: HashToken(adminOperatorToken)}
	tests := []struct {
		name string
		cfg  AdminConfig
		want []string
	}{
		{"empty", AdminConfig{}, nil},
		{"good", AdminConfig{Listen: "127.0.0.1:8081", Tokens: []AdminToken{good, {Name: "bob", Role: RoleViewer, Hash: HashToken(adminViewerToken)}}}, nil},
		{"bad listen", AdminConfig{Listen: "8081"}, []string{"admin.listen"}},
		{"no name", AdminConfig{Tokens: []AdminToken{{Role: RoleViewer, Hash: good.Hash}}}, []string{"tokens[0]: name is required"}},
		{"bad role", AdminConfig{Tokens: []AdminToken{{Name: "x", Role: "admin", Hash: good.Hash}}}, []string{`role "admin"`}},
		{"clear token", AdminConfig{Tokens: []AdminToken{{Name: "x", Role: RoleViewer, Hash: adminOperatorToken}}}, []string{"hash must start with", "hotspotctl token hash"}},
		{"short hash", AdminConfig{Tokens: []AdminToken{{Name: "x", Role: RoleViewer, Hash: "sha256:abcd"}}}, []string{"64 hex digits"}},
		{"twice", AdminConfig{Tokens: []AdminToken{good, good}}, []string{`name "alice" is used twice`, "same token hash"}},
		{"several", AdminConfig{Listen: "x", Tokens: []AdminToken{{Name: "a\nb", Role: "root", Hash: ""}}}, []string{"admin.listen", "printable", `role "root"`, "hash"}},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (err != nil) != (len(tt.want) > 0) {
			t.Errorf("%s: Validate() = %v, want errors %q", tt.name, err, tt.want)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: Validate() = %v, want it to mention %q", tt.name, err, w)
			}
		}
	}
	if _, err := NewAdmin(AdminConfig{Tokens: []AdminToken{{Name: "x"}}}, &adminStore{}, nil, prometheus.NewRegistry(), nil, nil); err == nil {
		t.Error("NewAdmin with an invalid config succeeded")
	}
	if _, err := NewAdmin(AdminConfig{}, nil, nil, prometheus.NewRegistry(), nil, nil); err == nil {
		t.Error("NewAdmin without a store succeeded")
	}
}

func TestHashToken(t *testing.T) {
	// sha256("demo-operator-token"), as `printf %s demo-operator-token | sha256sum` prints it.
	const want = "sha256:61112491d046c3f6f8ab801f170d9b2d0c734a17ceff60dee92123fb507cfc3f"
	if got := HashToken("demo-operator-token"); got != want {
		t.Errorf("HashToken(demo-operator-token) = %q, want %q", got, want)
	}
	if h, err := parseTokenHash(HashToken("x")); err != nil || h == [32]byte{} {
		t.Errorf("parseTokenHash(HashToken(x)) = %x, %v", h, err)
	}
	creds := []credential{{name: "a", role: RoleViewer}, {name: "b", role: RoleOperator}}
	creds[0].hash, _ = parseTokenHash(HashToken("token-a"))
	creds[1].hash, _ = parseTokenHash(HashToken("token-b"))
	for token, wantName := range map[string]string{"token-a": "a", "token-b": "b", "token-c": "", "": "", "token-a ": ""} {
		c, ok := authenticate(creds, token)
		if ok != (wantName != "") || c.name != wantName {
			t.Errorf("authenticate(%q) = %q, %v, want %q", token, c.name, ok, wantName)
		}
	}
}

func FuzzSessionQuery(f *testing.F) {
	for _, s := range []string{"", "ap=AP-1&nas=nas1", "mac=aa:bb:cc:dd:ee:01&state=active&limit=10",
		"cursor=MTc2NDE1NDgwMDp7ZDphfTpzOm46MQ", "limit=0", "mac=%zz", "ap=a&ap=b", "state=closed&mac=AAAAAAAAAAAAAAAAAAAAAA"} {
		f.Add(s)
	}
	hash := func(m session.MAC) string { return "AAAAAAAAAAAAAAAAAAAAAA" }
	f.Fuzz(func(t *testing.T, q string) {
		flt, err := parseSessionQuery(q, hash)
		if err != nil {
			var bad errBadQuery
			if !errors.As(err, &bad) {
				t.Errorf("parseSessionQuery(%q) error %v is not a bad-query error", q, err)
			}
			return
		}
		if flt.Limit < 0 || flt.Limit > session.MaxPageSize || len(flt.AP) > maxAPIName || len(flt.NAS) > maxAPIName ||
			(flt.Device != "" && !session.ValidPseudonym(flt.Device)) {
			t.Errorf("parseSessionQuery(%q) = %+v, out of bounds", q, flt)
		}
		if _, err := session.ParseCursor(flt.After.String()); err != nil {
			t.Errorf("parseSessionQuery(%q) cursor does not round-trip: %v", q, err)
		}
	})
}

// TestAdminPprof: the runtime profiles are served only when admin.pprof
// is on, and only to operators.
func TestAdminPprof(t *testing.T) {
	e := newAdminEnv(t, false)
	get := func(a *Admin, token string) int {
		req := httptest.NewRequest(http.MethodGet, "/debug/pprof/heap?debug=1", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	if code := get(e.admin, adminOperatorToken); code != http.StatusNotFound {
		t.Errorf("pprof off, operator: %d, want 404", code)
	}
	cfg := AdminConfig{Pprof: true, Tokens: []AdminToken{
		{Name: "alice", Role: RoleOperator, Hash: HashToken(adminOperatorToken)},
		{Name: "bob", Role: RoleViewer, Hash: HashToken(adminViewerToken)},
	}}
	a, err := NewAdmin(cfg, e.store, nil, e.reg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		token string
		want  int
	}{{"", http.StatusUnauthorized}, {adminViewerToken, http.StatusForbidden}, {adminOperatorToken, http.StatusOK}} {
		if code := get(a, c.token); code != c.want {
			t.Errorf("pprof on, token %q: %d, want %d", c.token, code, c.want)
		}
	}
}
