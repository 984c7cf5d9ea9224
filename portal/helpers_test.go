package portal

import (
	"context"
	"encoding/base64"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"hotspot/session"
)

const (
	chapSecret    = "uam-secret-chap"
	papSecret     = "uam-secret-pap"
	testFormKey   = "form-key-0123456789abcdef"
	testChallenge = "000102030405060708090a0b0c0d0e0f"
	testMAC       = "AA-BB-CC-DD-EE-FF"
	testUserURL   = "http://example.com/news?id=1&x=2"
	portalBase    = "http://portal.test/"
	chapClient    = "192.0.2.10:40000"    // inside the CHAP NAS's network
	papClient     = "198.51.100.10:40000" // inside the PAP NAS's network
	mtClient      = "100.64.1.1:40000"    // the MikroTik CHAP NAS, masquerading its clients
	mtLoginURL    = "http://10.5.50.1/login"
	// A MikroTik login page's chap-id and chap-challenge, as RouterOS
	// writes them, and their bytes.
	mtCHAPID        = `\371`
	mtCHAPChallenge = `\357\015\330\013\021\234\145\245\303\253\142\246\133\175\375\316`
)

var mtChallengeBytes = []byte{0357, 0015, 0330, 0013, 0021, 0234, 0145, 0245, 0303, 0253, 0142, 0246, 0133, 0175, 0375, 0316}

// mikrotikURL is a MikroTik login page's hand-over to /mikrotik, with over
// applied ("-" removes a parameter).
func mikrotikURL(over map[string]string) string {
	p := map[string]string{
		"identity": "leipzig-mt-chap", "mac": "AA:BB:CC:DD:EE:FF", "link-orig": testUserURL,
		"chap-id": mtCHAPID, "chap-challenge": mtCHAPChallenge,
	}
	for k, v := range over {
		if v == "-" {
			delete(p, k)
			continue
		}
		p[k] = v
	}
	q := url.Values{}
	for k, v := range p {
		q.Set(k, v)
	}
	return portalBase + "mikrotik?" + q.Encode()
}

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// testGrant is what the fake store hands out; its password is 16
// characters like the real store's.
var testGrant = session.Grant{Username: "hs-k2m9x7q4w8p3", Password: "Tq7mZp3xK9vB2nR8"}

type grantCall struct {
	mac session.MAC
	nas string
}

// fakeStore records grants instead of writing Redis: these tests are about
// the portal's decisions, and session has its own tests against Redis.
type fakeStore struct {
	mu    sync.Mutex
	calls []grantCall
	err   error
	panic bool

	// DeviceStatus answers: per MAC, else status and statusErr.
	status    session.DeviceStatus
	statusErr error
	statusOf  map[session.MAC]statusAnswer
	// grantErrOf makes CreateGrant fail for one MAC only.
	grantErrOf map[session.MAC]error
	wheres     []session.Where
}

type statusAnswer struct {
	st  session.DeviceStatus
	err error
}

func (f *fakeStore) DeviceStatus(_ context.Context, mac session.MAC, where session.Where) (session.DeviceStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wheres = append(f.wheres, where)
	if a, ok := f.statusOf[mac]; ok {
		return a.st, a.err
	}
	return f.status, f.statusErr
}

func (f *fakeStore) CreateGrant(_ context.Context, mac session.MAC, nas string) (session.Grant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.panic {
		panic("fake store exploded")
	}
	f.calls = append(f.calls, grantCall{mac, nas})
	if err := f.grantErrOf[mac]; err != nil {
		return session.Grant{}, err
	}
	if f.err != nil {
		return session.Grant{}, f.err
	}
	return testGrant, nil
}

func (f *fakeStore) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// statusReads returns how many times DeviceStatus was called.
func (f *fakeStore) statusReads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.wheres)
}

func (f *fakeStore) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

func testNASes(t testing.TB) *session.NASTable {
	t.Helper()
	nases, err := session.NewNASTable([]session.NAS{{
		Name:       "square-chap",
		Identifier: "leipzig-markt",
		Networks:   []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
		Secret:     "radius-secret-1",
		Kind:       session.KindCoovaChilli,
		UAMSecret:  chapSecret,
		Login:      session.LoginCHAP,
	}, {
		Name:       "tram-pap",
		Identifier: "leipzig-tram",
		Networks:   []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")},
		Secret:     "radius-secret-2",
		Kind:       session.KindCoovaChilli,
		UAMSecret:  papSecret,
		Login:      session.LoginPAP,
	}, {
		Name:       "mikrotik",
		Identifier: "leipzig-mt",
		Networks:   []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")},
		Secret:     "radius-secret-3",
		Kind:       session.KindMikrotik,
	}, {
		Name:       "mt-chap",
		Identifier: "leipzig-mt-chap",
		Networks:   []netip.Prefix{netip.MustParsePrefix("100.64.1.0/24")},
		Secret:     "radius-secret-4",
		Kind:       session.KindMikrotik,
		LoginURL:   mtLoginURL,
	}, {
		Name:       "mt-pap",
		Identifier: "leipzig-mt-pap",
		Networks:   []netip.Prefix{netip.MustParsePrefix("100.64.2.0/24")},
		Secret:     "radius-secret-5",
		Kind:       session.KindMikrotik,
		Login:      session.LoginPAP,
		LoginURL:   "https://hotspot.example/login",
	}})
	if err != nil {
		t.Fatal(err)
	}
	return nases
}

type testEnv struct {
	s     *Server
	store *fakeStore
	reg   *prometheus.Registry
	now   time.Time
}

func newEnv(t testing.TB, mod func(*Config)) *testEnv {
	t.Helper()
	cfg := Config{FormKey: testFormKey, SiteName: "Leipzig Free WiFi"}
	if mod != nil {
		mod(&cfg)
	}
	env := &testEnv{store: &fakeStore{}, reg: prometheus.NewRegistry(), now: t0}
	s, err := New(cfg, testNASes(t), env.store, slog.New(slog.DiscardHandler), env.reg)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return env.now }
	env.s = s
	return env
}

func (e *testEnv) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.s.Handler().ServeHTTP(w, r)
	return w
}

// get requests target from the CHAP NAS's network.
func (e *testEnv) get(target string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.RemoteAddr = chapClient
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return e.do(r)
}

func (e *testEnv) post(form url.Values, header ...string) *httptest.ResponseRecorder {
	return e.postRaw(form.Encode(), header...)
}

func (e *testEnv) postRaw(body string, header ...string) *httptest.ResponseRecorder {
	return e.postFrom(chapClient, body, header...)
}

// postFrom posts an accept form from the client address client.
func (e *testEnv) postFrom(client, body string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, portalBase+"accept", strings.NewReader(body))
	r.RemoteAddr = client
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return e.do(r)
}

// chilliEscape encodes a value as CoovaChilli's redirector does: all but
// letters, digits and -_.!~* as %xx with lower-case hex.
func chilliEscape(s string) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&0xf])
	}
	return b.String()
}

// chilliOrder is the order in which CoovaChilli writes its parameters.
var chilliOrder = []string{"res", "uamip", "uamport", "challenge", "called", "mac", "ip", "ssid",
	"nasid", "lang", "sessionid", "userurl"}

// redirectParams are a typical redirect's parameters for the CHAP NAS.
func redirectParams(over map[string]string) map[string]string {
	p := map[string]string{
		"res":       "notyet",
		"uamip":     "10.1.0.1",
		"uamport":   "3990",
		"challenge": testChallenge,
		"called":    "00-11-22-33-44-55",
		"mac":       testMAC,
		"ip":        "10.1.0.23",
		"ssid":      "Leipzig *Free* WiFi!",
		"nasid":     "leipzig-markt",
		"sessionid": "5f3a0c2e00000001",
		"userurl":   testUserURL,
	}
	for k, v := range over {
		if v == "-" {
			delete(p, k)
			continue
		}
		p[k] = v
	}
	return p
}

// chilliURL builds an unsigned redirect to base as CoovaChilli would.
func chilliURL(base string, p map[string]string) string {
	var b strings.Builder
	b.WriteString(base)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	for _, k := range chilliOrder {
		v, ok := p[k]
		if !ok {
			continue
		}
		b.WriteString(sep + k + "=" + chilliEscape(v))
		sep = "&"
	}
	return b.String()
}

// signed is a redirect from the CHAP NAS with over applied, signed with its
// uamsecret.
func signed(over map[string]string) string {
	return SignRedirect(chilliURL(portalBase, redirectParams(over)), chapSecret)
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)

// formOf returns the hidden fields of the first form in body.
func formOf(t testing.TB, body string) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	if v.Get("token") == "" {
		t.Fatalf("no accept form with a token in:\n%s", body)
	}
	return v
}

// termsForm fetches the terms page for a redirect and returns its form.
func (e *testEnv) termsForm(t testing.TB, target, client string) url.Values {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.RemoteAddr = client
	w := e.do(r)
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s = %d, want 200\n%s", target, w.Code, w.Body)
	}
	return formOf(t, w.Body.String())
}

// counterValue reads a counter without prometheus/testutil, which would
// pull in a module of its own.
func counterValue(t testing.TB, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func base64Token(mac []byte) string { return base64.RawURLEncoding.EncodeToString(mac) }

// mapFS is a file system with the given catalogs under i18n/.
func mapFS(catalogs map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for code, body := range catalogs {
		fsys["i18n/"+code+".json"] = &fstest.MapFile{Data: []byte(body)}
	}
	return fsys
}
