package portal

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"hotspot/session"
)

func TestRedirectMD(t *testing.T) {
	unsigned := chilliURL(portalBase, redirectParams(nil))
	good := SignRedirect(unsigned, chapSecret)
	md := good[strings.LastIndex(good, "=")+1:]
	tests := []struct {
		name   string
		public string // Config.PublicURL
		target string
		want   int
	}{
		{"good", "", good, http.StatusOK},
		{"lower-case md", "", unsigned + "&md=" + strings.ToLower(md), http.StatusOK},
		{"language switch after md", "", good + "&lang=en", http.StatusOK},
		{"missing md", "", unsigned, http.StatusForbidden},
		{"empty md", "", unsigned + "&md=", http.StatusForbidden},
		{"md of another secret", "", SignRedirect(unsigned, "guessed"), http.StatusForbidden},
		{"mac changed after signing", "", strings.Replace(good, "mac=AA-BB", "mac=AA-BC", 1), http.StatusForbidden},
		{"userurl changed after signing", "", strings.Replace(good, "example.com", "evil.example", 1), http.StatusForbidden},
		{"param appended after md", "", good + "&mac=11-22-33-44-55-66", http.StatusForbidden},
		{"second md", "", good + "&md=" + md, http.StatusForbidden},
		{"other host", "", strings.Replace(good, "portal.test", "portal.evil", 1), http.StatusForbidden},
		{"uamserver without slash", "",
			"http://portal.test/" + strings.TrimPrefix(SignRedirect(chilliURL("http://portal.test", redirectParams(nil)), chapSecret), "http://portal.test"),
			http.StatusOK},
		{"uamserver with a query", "",
			SignRedirect(chilliURL(portalBase+"?site=markt", redirectParams(nil)), chapSecret), http.StatusOK},
		{"https", "", SignRedirect(chilliURL("https://portal.test/", redirectParams(nil)), chapSecret), http.StatusOK},
		{"signed https, came by http", "",
			strings.Replace(SignRedirect(chilliURL("https://portal.test/", redirectParams(nil)), chapSecret), "https:", "http:", 1),
			http.StatusForbidden},
		{"public_url", "https://portal.example.org/",
			strings.Replace(SignRedirect(chilliURL("https://portal.example.org/", redirectParams(nil)), chapSecret),
				"https://portal.example.org/", "http://10.0.0.5:8080/", 1),
			http.StatusOK},
		{"public_url, signed for the request host", "https://portal.example.org/", good, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, func(c *Config) { c.PublicURL = tt.public })
			w := env.get(tt.target)
			if w.Code != tt.want {
				t.Fatalf("GET %s = %d, want %d\n%s", tt.target, w.Code, tt.want, w.Body)
			}
			body := w.Body.String()
			if tt.want == http.StatusForbidden && !strings.Contains(body, "Dieser Link ist nicht gültig") {
				t.Errorf("GET %s: 403 page lacks the German explanation:\n%s", tt.target, body)
			}
			if tt.want == http.StatusOK && !strings.Contains(body, `action="/accept"`) {
				t.Errorf("GET %s: no accept form:\n%s", tt.target, body)
			}
			if n := env.store.count(); n != 0 {
				t.Errorf("GET %s stored %d grants, want 0", tt.target, n)
			}
		})
	}
}

func TestRedirectParams(t *testing.T) {
	tests := []struct {
		name string
		over map[string]string
		want int
	}{
		{"bad mac", map[string]string{"mac": "AA-BB-CC-DD-EE"}, http.StatusBadRequest},
		{"bad challenge", map[string]string{"challenge": "00112233"}, http.StatusBadRequest},
		{"bad port", map[string]string{"uamport": "70000"}, http.StatusBadRequest},
		{"bad uamip", map[string]string{"uamip": "nas.local"}, http.StatusBadRequest},
		{"javascript userurl", map[string]string{"userurl": "javascript:alert(document.cookie)"}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, nil)
			w := env.get(signed(tt.over))
			if w.Code != tt.want {
				t.Fatalf("GET %v = %d, want %d\n%s", tt.over, w.Code, tt.want, w.Body)
			}
			body := w.Body.String()
			if strings.Contains(strings.ToLower(body), "javascript:") {
				t.Errorf("GET %v reflects javascript: into the page:\n%s", tt.over, body)
			}
			if tt.want == http.StatusBadRequest && !strings.Contains(body, "Ungültige Anfrage") {
				t.Errorf("GET %v: 400 page lacks its title:\n%s", tt.over, body)
			}
			if tt.want == http.StatusOK && formOf(t, body).Get("userurl") != "" {
				t.Errorf("GET %v carries an invalid userurl into the form", tt.over)
			}
		})
	}
}

func TestFindNAS(t *testing.T) {
	tests := []struct {
		name   string
		over   map[string]string
		secret string
		client string
		want   int
	}{
		{"by nasid", nil, chapSecret, papClient, http.StatusOK},
		{"by uamip", map[string]string{"nasid": "-", "uamip": "198.51.100.1"}, papSecret, chapClient, http.StatusOK},
		{"by client address", map[string]string{"nasid": "-"}, papSecret, papClient, http.StatusOK},
		{"unknown nasid falls back to client address", map[string]string{"nasid": "elsewhere"}, chapSecret, chapClient, http.StatusOK},
		{"unknown everything", map[string]string{"nasid": "elsewhere"}, chapSecret, "192.0.2.99:1", http.StatusOK},
		{"no NAS at all", map[string]string{"nasid": "-"}, chapSecret, "10.99.0.1:1", http.StatusBadRequest},
		{"not a CoovaChilli NAS", map[string]string{"nasid": "leipzig-mt"}, chapSecret, chapClient, http.StatusBadRequest},
		{"signed with another NAS's secret", nil, papSecret, chapClient, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, nil)
			target := SignRedirect(chilliURL(portalBase, redirectParams(tt.over)), tt.secret)
			r := httptest.NewRequest(http.MethodGet, target, nil)
			r.RemoteAddr = tt.client
			if w := env.do(r); w.Code != tt.want {
				t.Errorf("GET %s from %s = %d, want %d", target, tt.client, w.Code, tt.want)
			}
		})
	}
}

func TestResPages(t *testing.T) {
	tests := []struct {
		name     string
		over     map[string]string
		contains []string
		absent   []string
	}{
		{"notyet", nil, []string{"Kostenlos ins Internet", `<button type="submit" aria-describedby="accept-hint">Akzeptieren und verbinden</button>`,
			"Fassung 2026-11", "Speicherdauer: 7 Tage", "Der Zugang ist kostenlos"},
			[]string{`class="notice"`}},
		{"failed", map[string]string{"res": "failed"},
			[]string{"Die Anmeldung hat nicht geklappt", `action="/accept"`}, nil},
		{"logoff", map[string]string{"res": "logoff"}, []string{"Sie wurden abgemeldet", `action="/accept"`}, nil},
		{"success", map[string]string{"res": "success"},
			[]string{"Sie sind online", `href="http://example.com/news?id=1&amp;x=2"`, `href="http://10.1.0.1:3990/logoff"`},
			[]string{"<form", "http-equiv"}},
		{"success with bad userurl", map[string]string{"res": "success", "userurl": "javascript:alert(1)"},
			[]string{"Sie sind online"}, []string{`href="javascript`, "javascript:alert"}},
		{"already", map[string]string{"res": "already", "mac": "-", "challenge": "-"},
			[]string{"Sie sind bereits online"}, []string{"<form"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, nil)
			w := env.get(signed(tt.over))
			if w.Code != http.StatusOK {
				t.Fatalf("GET res=%s = %d, want 200\n%s", tt.name, w.Code, w.Body)
			}
			body := w.Body.String()
			for _, s := range tt.contains {
				if !strings.Contains(body, s) {
					t.Errorf("GET res=%s: page lacks %q", tt.name, s)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(body, s) {
					t.Errorf("GET res=%s: page has %q", tt.name, s)
				}
			}
		})
	}
}

func TestInfoPage(t *testing.T) {
	env := newEnv(t, nil)
	for _, target := range []string{portalBase, portalBase + "?lang=en"} {
		w := env.get(target)
		if w.Code != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", target, w.Code)
		}
		if body := w.Body.String(); !strings.Contains(body, "<h1>") || strings.Contains(body, "<form") {
			t.Errorf("GET %s: want the info page, got\n%s", target, body)
		}
	}
}

func TestNotFound(t *testing.T) {
	env := newEnv(t, nil)
	for _, r := range []*http.Request{
		httptest.NewRequest(http.MethodGet, portalBase+"wp-login.php", nil),
		httptest.NewRequest(http.MethodPost, portalBase, nil),
		httptest.NewRequest(http.MethodGet, portalBase+"static/missing.css", nil),
		httptest.NewRequest(http.MethodGet, portalBase+"static/../templates/layout.html", nil),
	} {
		w := env.do(r)
		if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "Seite nicht gefunden") {
			t.Errorf("%s %s = %d, want the 404 page", r.Method, r.URL, w.Code)
		}
	}
}

func TestAcceptRedirect(t *testing.T) {
	tests := []struct {
		name   string
		target string
		client string
		nas    string
		want   string
	}{
		{"chap", signed(nil), chapClient, "square-chap",
			"http://10.1.0.1:3990/logon?username=hs-k2m9x7q4w8p3&response=a9846065d75be7f313e3d50bd1cec94e" +
				"&userurl=http%3A%2F%2Fexample.com%2Fnews%3Fid%3D1%26x%3D2&lang=de"},
		{"pap", SignRedirect(chilliURL(portalBase, redirectParams(map[string]string{"nasid": "leipzig-tram"})), papSecret),
			papClient, "tram-pap",
			"http://10.1.0.1:3990/logon?username=hs-k2m9x7q4w8p3&password=542cac7da2687dbe33cac0321af87111" +
				"&userurl=http%3A%2F%2Fexample.com%2Fnews%3Fid%3D1%26x%3D2&lang=de"},
		{"no userurl", signed(map[string]string{"userurl": "-"}), chapClient, "square-chap",
			"http://10.1.0.1:3990/logon?username=hs-k2m9x7q4w8p3&response=a9846065d75be7f313e3d50bd1cec94e&lang=de"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, nil)
			form := env.termsForm(t, tt.target, tt.client)
			w := env.post(form)
			if w.Code != http.StatusSeeOther {
				t.Fatalf("POST /accept = %d, want 303\n%s", w.Code, w.Body)
			}
			if got := w.Header().Get("Location"); got != tt.want {
				t.Errorf("POST /accept Location = %q, want %q", got, tt.want)
			}
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("POST /accept Cache-Control = %q, want no-store", got)
			}
			mac, _ := session.ParseMAC(testMAC)
			if len(env.store.calls) != 1 || env.store.calls[0] != (grantCall{mac, tt.nas}) {
				t.Errorf("CreateGrant calls = %v, want one for %s at %s", env.store.calls, testMAC, tt.nas)
			}
			if got := counterValue(t, env.s.m.acceptances); got != 1 {
				t.Errorf("acceptances = %v, want 1", got)
			}
		})
	}
}

func TestAcceptStoreErrors(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		want     int
		contains string
	}{
		{"unavailable", fmt.Errorf("%w: create grant: dial tcp: connection refused", session.ErrUnavailable),
			http.StatusServiceUnavailable, "Dienst vorübergehend nicht verfügbar"},
		{"other", errors.New("session: create grant: MAC and NAS are required"),
			http.StatusInternalServerError, "Interner Fehler"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, nil)
			env.store.err = tt.err
			form := env.termsForm(t, signed(nil), chapClient)
			w := env.post(form)
			if w.Code != tt.want {
				t.Fatalf("POST /accept with store error %v = %d, want %d", tt.err, w.Code, tt.want)
			}
			body := w.Body.String()
			if !strings.Contains(body, tt.contains) {
				t.Errorf("POST /accept: page lacks %q:\n%s", tt.contains, body)
			}
			// The visitor can send the same form again once the store is back.
			if retry := formOf(t, body); retry.Get("token") != form.Get("token") {
				t.Errorf("retry form token = %q, want %q", retry.Get("token"), form.Get("token"))
			}
			if got := counterValue(t, env.s.m.storeErrors); got != 1 {
				t.Errorf("store errors = %v, want 1", got)
			}
			if got := counterValue(t, env.s.m.acceptances); got != 0 {
				t.Errorf("acceptances = %v, want 0", got)
			}
		})
	}
}

func TestAcceptRateLimit(t *testing.T) {
	env := newEnv(t, nil)
	form := env.termsForm(t, signed(nil), chapClient)
	for i := range acceptsPerMinute {
		if w := env.post(form); w.Code != http.StatusSeeOther {
			t.Fatalf("accept #%d = %d, want 303", i+1, w.Code)
		}
	}
	if w := env.post(form); w.Code != http.StatusTooManyRequests {
		t.Errorf("accept #%d = %d, want 429", acceptsPerMinute+1, w.Code)
	}
	// The NAS's signed redirect crosses the open network in clear: a
	// stranger who replays the device's form from elsewhere is limited on
	// their own and does not lock the device out.
	env.now = env.now.Add(time.Minute)
	from := func(addr string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, portalBase+"accept", strings.NewReader(form.Encode()))
		r.RemoteAddr = addr
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return env.do(r)
	}
	for range acceptsPerMinute + 1 {
		from("198.51.100.7:40000")
	}
	if w := from("198.51.100.7:40000"); w.Code != http.StatusTooManyRequests {
		t.Errorf("the stranger's accept #%d = %d, want 429", acceptsPerMinute+2, w.Code)
	}
	if w := env.post(form); w.Code != http.StatusSeeOther {
		t.Errorf("the device's accept after a stranger's replays = %d, want 303", w.Code)
	}
	env.now = env.now.Add(time.Minute)
	if w := env.post(form); w.Code != http.StatusSeeOther {
		t.Errorf("accept a minute later = %d, want 303", w.Code)
	}
}

func TestPanicRecovered(t *testing.T) {
	env := newEnv(t, nil)
	form := env.termsForm(t, signed(nil), chapClient)
	env.store.panic = true
	w := env.post(form)
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "Interner Fehler") {
		t.Errorf("POST /accept with a panicking store = %d, want the 500 page\n%s", w.Code, w.Body)
	}
}

func TestSecurityHeaders(t *testing.T) {
	env := newEnv(t, nil)
	form := env.termsForm(t, signed(nil), chapClient)
	post := func(v url.Values) *http.Request {
		r := httptest.NewRequest(http.MethodPost, portalBase+"accept", strings.NewReader(v.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = chapClient
		return r
	}
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("token", "x")
	tests := []struct {
		name  string
		req   *http.Request
		code  int
		cache string
	}{
		{"info", httptest.NewRequest(http.MethodGet, portalBase, nil), 200, "no-store"},
		{"terms", httptest.NewRequest(http.MethodGet, signed(nil), nil), 200, "no-store"},
		{"success", httptest.NewRequest(http.MethodGet, signed(map[string]string{"res": "success"}), nil), 200, "no-store"},
		{"forbidden", httptest.NewRequest(http.MethodGet, chilliURL(portalBase, redirectParams(nil)), nil), 403, "no-store"},
		{"bad request", httptest.NewRequest(http.MethodGet, signed(map[string]string{"mac": "x"}), nil), 400, "no-store"},
		{"not found", httptest.NewRequest(http.MethodGet, portalBase+"nope", nil), 404, "no-store"},
		{"accept forbidden", post(bad), 403, "no-store"},
		{"accept", post(form), 303, "no-store"},
		{"css", httptest.NewRequest(http.MethodGet, portalBase+"static/style.css", nil), 200, staticMaxAge},
		{"logo", httptest.NewRequest(http.MethodGet, portalBase+"static/logo.svg", nil), 200, staticMaxAge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.req.RemoteAddr == "192.0.2.1:1234" { // httptest's default
				tt.req.RemoteAddr = chapClient
			}
			w := env.do(tt.req)
			if w.Code != tt.code {
				t.Fatalf("%s %s = %d, want %d", tt.req.Method, tt.req.URL, w.Code, tt.code)
			}
			for h, want := range map[string]string{
				"Content-Security-Policy": csp,
				"Referrer-Policy":         "no-referrer",
				"X-Content-Type-Options":  "nosniff",
				"Cache-Control":           tt.cache,
			} {
				if got := w.Header().Get(h); got != want {
					t.Errorf("%s %s: %s = %q, want %q", tt.req.Method, tt.req.URL, h, got, want)
				}
			}
			if w.Header().Get("Set-Cookie") != "" {
				t.Errorf("%s %s sets a cookie", tt.req.Method, tt.req.URL)
			}
			body := strings.ToLower(w.Body.String())
			for _, bad := range []string{"<script", "target=\"_blank\"", "http-equiv=\"refresh\""} {
				if strings.Contains(body, bad) {
					t.Errorf("%s %s: body contains %q", tt.req.Method, tt.req.URL, bad)
				}
			}
		})
	}
}

func TestStaticCaching(t *testing.T) {
	env := newEnv(t, nil)
	w := env.get(portalBase + "static/style.css")
	if ct := w.Header().Get("Content-Type"); ct != "text/css; charset=utf-8" {
		t.Errorf("style.css Content-Type = %q, want text/css; charset=utf-8", ct)
	}
	etag := w.Header().Get("ETag")
	if etag == "" {
		t.Fatal("style.css has no ETag")
	}
	if w := env.get(portalBase+"static/style.css", "If-None-Match", etag); w.Code != http.StatusNotModified {
		t.Errorf("style.css with If-None-Match = %d, want 304", w.Code)
	}
	if w := env.get(portalBase + "static/logo.svg"); w.Header().Get("Content-Type") != "image/svg+xml" {
		t.Errorf("logo.svg Content-Type = %q, want image/svg+xml", w.Header().Get("Content-Type"))
	}
}

// TestPageWeight keeps the terms page, the stylesheet and the logo together
// well under 30 KB.
func TestPageWeight(t *testing.T) {
	env := newEnv(t, func(c *Config) {
		c.ImprintURL = "https://www.example.org/impressum"
		c.PrivacyURL = "https://www.example.org/datenschutz"
	})
	total := 0
	for _, target := range []string{signed(nil), portalBase + "static/style.css", portalBase + "static/logo.svg"} {
		w := env.get(target)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s = %d", target, w.Code)
		}
		total += w.Body.Len()
	}
	if total > 20<<10 {
		t.Errorf("terms page + CSS + logo = %d bytes, want at most %d", total, 20<<10)
	}
}

func TestNewErrors(t *testing.T) {
	nases := testNASes(t)
	good := Config{FormKey: testFormKey}
	if _, err := New(Config{FormKey: "short"}, nases, &fakeStore{}, nil, nil); err == nil ||
		!strings.Contains(err.Error(), "portal.form_key") {
		t.Errorf("New(short form key) = %v, want a portal.form_key error", err)
	}
	if _, err := New(good, nil, &fakeStore{}, nil, nil); err == nil {
		t.Errorf("New(nil NAS table) = nil error, want one")
	}
	if _, err := New(good, nases, nil, nil, nil); err == nil {
		t.Errorf("New(nil store) = nil error, want one")
	}
	env := newEnv(t, nil)
	if _, err := New(good, nases, &fakeStore{}, nil, env.reg); err == nil {
		t.Errorf("New twice on one registry = nil error, want a registration error")
	}
}

// TestViewRateLimit: a verified redirect costs a store read, and anyone can
// replay one: past viewsPerMinute a minute from one device and address the
// page is 429, without a read; other devices behind the same address (a
// NAT) and the next minute are not held up.
func TestViewRateLimit(t *testing.T) {
	env := newEnv(t, nil)
	target := signed(nil)
	for i := range viewsPerMinute {
		if w := env.get(target); w.Code != http.StatusOK {
			t.Fatalf("view #%d = %d, want 200", i+1, w.Code)
		}
	}
	reads := env.store.statusReads()
	if reads != viewsPerMinute {
		t.Fatalf("%d views read the device's status %d times", viewsPerMinute, reads)
	}
	w := env.get(target)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "60" {
		t.Errorf("view #%d = %d (Retry-After %q), want 429 after 60 s", viewsPerMinute+1, w.Code, w.Header().Get("Retry-After"))
	}
	if env.store.statusReads() != reads {
		t.Error("a limited view read the store")
	}
	if got := counterValue(t, env.s.m.limited.WithLabelValues("page")); got != 1 {
		t.Errorf("rate_limited{what=page} = %v, want 1", got)
	}
	if w := env.get(signed(map[string]string{"mac": "02-00-00-00-00-99"})); w.Code != http.StatusOK {
		t.Errorf("another device from the same address = %d, want 200", w.Code)
	}
	env.now = env.now.Add(time.Minute)
	if w := env.get(target); w.Code != http.StatusOK {
		t.Errorf("the next minute = %d, want 200", w.Code)
	}
}
