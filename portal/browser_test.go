package portal

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"hotspot/internal/browsertest"
	"hotspot/session"
)

// screenshotDir is where `make screenshots` has TestBrowser write a PNG of
// every page at 360×740 in German, English and Arabic.
var screenshotDir = flag.String("screenshots", "", "write a PNG of every page at 360x740 in de, en and ar to this directory")

// Devices of the browser tests, each with its own story in the fake store.
var (
	macOK        = mustMAC("AA-BB-CC-00-00-01") // quota left
	macQuota     = mustMAC("AA-BB-CC-00-00-02") // used up, disconnect policy
	macThrottle  = mustMAC("AA-BB-CC-00-00-03") // used up, throttle policy
	macDown      = mustMAC("AA-BB-CC-00-00-04") // store down on GET
	macGrantDown = mustMAC("AA-BB-CC-00-00-05") // store down on accept
	macGrantFail = mustMAC("AA-BB-CC-00-00-06") // store fails on accept
	macLimited   = mustMAC("AA-BB-CC-00-00-07") // accepted too often
	macKeyboard  = mustMAC("AA-BB-CC-00-00-08")
)

func mustMAC(s string) session.MAC {
	m, err := session.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

// TestBrowser drives Debian's chromium through the portal: the CoovaChilli
// flow clicked like a person, a keyboard-only acceptance, the page weight
// from the browser's network log, and every page in German, English and
// Arabic checked by axe-core (light and dark), at 320 px with 200 % text,
// and photographed when -screenshots is set. One browser serves all of it.
func TestBrowser(t *testing.T) {
	browser := browsertest.New(t)
	axe := browsertest.AxeSource(t)
	site := newBrowserSite(t)

	t.Run("axe finds problems", func(t *testing.T) { testAxeFinds(t, browser, axe) })
	t.Run("chilli flow", func(t *testing.T) { testChilliFlow(t, browser, site) })
	t.Run("keyboard", func(t *testing.T) { testKeyboard(t, browser, site) })
	t.Run("budget", func(t *testing.T) { testBudget(t, browser, site) })
	t.Run("pages", func(t *testing.T) { testPages(t, browser, site, axe) })
}

// browserSite is the portal on a real loopback listener, with a fake
// CoovaChilli NAS beside it.
type browserSite struct {
	env    *testEnv
	portal string // http://127.0.0.1:port
	nas    *fakeNAS
}

func newBrowserSite(t *testing.T) *browserSite {
	env := newEnv(t, func(c *Config) {
		c.ImprintURL = "https://www.example.org/impressum"
		c.PrivacyURL = "https://www.example.org/datenschutz"
	})
	unavailable := fmt.Errorf("%w: dial tcp: connection refused", session.ErrUnavailable)
	env.store.status = dayLeft
	env.store.statusOf = map[session.MAC]statusAnswer{
		macQuota:    {st: dayUsedUp("disconnect")},
		macThrottle: {st: dayUsedUp("throttle")},
		macDown:     {err: unavailable},
	}
	env.store.grantErrOf = map[session.MAC]error{
		macGrantDown: unavailable,
		macGrantFail: errors.New("session: create grant: broken"),
	}
	for range acceptsPerMinute {
		env.s.limit.allow(macLimited, netip.MustParseAddr("127.0.0.1"), env.now)
	}
	ps := httptest.NewServer(env.s.Handler())
	t.Cleanup(ps.Close)
	site := &browserSite{env: env, portal: ps.URL}
	site.nas = newFakeNAS(t, site)
	return site
}

// redirect is the NAS's signed redirect to the portal for mac, with lang
// appended by the portal's language switch when set.
func (s *browserSite) redirect(res string, mac session.MAC, userURL, lang string) string {
	return s.nasRedirect(res, mac, userURL, "", lang)
}

// nasRedirect is redirect with nasLang, the language CoovaChilli keeps from
// the logon, among the signed parameters.
func (s *browserSite) nasRedirect(res string, mac session.MAC, userURL, nasLang, lang string) string {
	p := redirectParams(map[string]string{
		"res": res, "uamip": "127.0.0.1", "uamport": s.nas.port, "mac": mac.String(),
		"userurl": userURL, "ssid": "Leipzig Free WiFi", "lang": nasLang,
	})
	for k, v := range p {
		if v == "" {
			delete(p, k)
		}
	}
	u := SignRedirect(chilliURL(s.portal+"/", p), chapSecret)
	if lang != "" {
		u += "&lang=" + lang
	}
	return u
}

// fakeNAS plays CoovaChilli's UAM side: it sends unknown browsers to the
// portal, checks the logon the portal sends back exactly as chilli would
// (CHAP with the challenge and the uamsecret), and then lets the browser
// through.
type fakeNAS struct {
	site *browserSite
	url  string
	port string

	mu     sync.Mutex
	online map[session.MAC]bool
	logons []url.Values
	bad    []string
}

func newFakeNAS(t *testing.T, site *browserSite) *fakeNAS {
	n := &fakeNAS{site: site, online: map[session.MAC]bool{}}
	srv := httptest.NewServer(n)
	t.Cleanup(srv.Close)
	n.url = srv.URL
	n.port = srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
	return n
}

// ServeHTTP: the browser of macOK (every test browser is that device, but
// for the keyboard test's) asks for pages.
func (n *fakeNAS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mac := macOK
	if r.URL.Query().Get("device") == "keyboard" || r.Header.Get("X-Device") == "keyboard" {
		mac = macKeyboard
	}
	switch r.URL.Path {
	case "/logon":
		q := r.URL.Query()
		n.mu.Lock()
		n.logons = append(n.logons, q)
		ok := n.verify(q)
		if ok {
			n.online[mac] = true
		}
		n.mu.Unlock()
		res := "success"
		if !ok {
			res = "failed"
		}
		http.Redirect(w, r, n.site.nasRedirect(res, mac, q.Get("userurl"), q.Get("lang"), ""), http.StatusFound)
	case "/logoff":
		n.mu.Lock()
		delete(n.online, mac)
		n.mu.Unlock()
		http.Redirect(w, r, n.site.redirect("logoff", mac, "", ""), http.StatusFound)
	default:
		n.mu.Lock()
		online := n.online[mac]
		n.mu.Unlock()
		if !online {
			http.Redirect(w, r, n.site.redirect("notyet", mac, n.url+r.URL.RequestURI(), ""), http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><html lang=en><title>News</title><h1>News for %s</h1>", r.URL.Path)
	}
}

// verify checks a logon as CoovaChilli does, written out independently of
// the portal's code: response = MD5(0 ‖ password ‖ MD5(challenge ‖ uamsecret)).
func (n *fakeNAS) verify(q url.Values) bool {
	chal, _ := hex.DecodeString(testChallenge)
	key := md5.Sum(append(chal, chapSecret...))
	sum := md5.Sum(append(append([]byte{0}, testGrant.Password...), key[:]...))
	if q.Get("username") != testGrant.Username || q.Get("response") != hex.EncodeToString(sum[:]) {
		n.bad = append(n.bad, q.Encode())
		return false
	}
	return true
}

func (n *fakeNAS) logonCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.logons)
}

// tab opens a new tab of browser, started without a deadline, and returns
// it with a deadline for the test's actions.
func tab(t *testing.T, browser context.Context, opts ...chromedp.ContextOption) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, opts...)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	tctx, tcancel := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(tcancel)
	return tctx
}

func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return strings.TrimSpace(s)
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// click clicks the element and waits for the page it leads to.
func click(t *testing.T, ctx context.Context, css string) {
	t.Helper()
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(css))); err != nil {
		t.Fatalf("click %s: %v", css, err)
	}
}

// testAxeFinds makes sure the axe check can fail: a page with the classic
// mistakes must show them.
func testAxeFinds(t *testing.T, browser context.Context, axe string) {
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html><title>x</title><body><p style="color:#bbb">pale</p><img src="/x.png"><button></button></body></html>`)
	}))
	defer bad.Close()
	ctx := tab(t, browser)
	if err := chromedp.Do(ctx, chromedp.Navigate(bad.URL)); err != nil {
		t.Fatal(err)
	}
	res, err := browsertest.Axe(ctx, axe)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, v := range res.Violations {
		found[v.ID] = true
	}
	for _, id := range []string{"html-has-lang", "image-alt", "button-name", "color-contrast", "landmark-one-main"} {
		if !found[id] {
			t.Errorf("axe on a broken page: no %s among %v", id, found)
		}
	}
}

// testChilliFlow: a German phone joins, wants a news page, is sent to the
// portal, switches to English, accepts, is logged in by the NAS and follows
// the link to the page it wanted.
func testChilliFlow(t *testing.T, browser context.Context, site *browserSite) {
	ctx := tab(t, browser)
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders,
		network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}}); err != nil {
		t.Fatal(err)
	}
	grants := site.env.store.count()
	wanted := site.nas.url + "/news?id=1"
	if err := chromedp.Do(ctx, chromedp.Navigate(wanted)); err != nil {
		t.Fatal(err)
	}
	if h1 := text(t, ctx, "h1"); h1 != "Kostenlos ins Internet" {
		t.Fatalf("after the NAS's redirect: h1 = %q, want the German terms page", h1)
	}
	click(t, ctx, `nav a[hreflang="en"]`)
	if h1 := text(t, ctx, "h1"); h1 != "Free internet access" {
		t.Fatalf("after choosing English: h1 = %q, want the English terms page", h1)
	}
	click(t, ctx, "main form button")
	if h1 := text(t, ctx, "h1"); h1 != "You are online" {
		t.Fatalf("after accepting: h1 = %q at %s, want the success page", h1, location(t, ctx))
	}
	if loc := location(t, ctx); !strings.HasPrefix(loc, site.portal+"/?res=success") {
		t.Errorf("success page at %s, want the portal's res=success", loc)
	}
	if got := site.env.store.count() - grants; got != 1 {
		t.Errorf("grants stored = %d, want 1", got)
	}
	site.nas.mu.Lock()
	bad, logons := site.nas.bad, len(site.nas.logons)
	site.nas.mu.Unlock()
	if logons == 0 || len(bad) != 0 {
		t.Fatalf("NAS logons = %d, rejected %v; want a CHAP logon that verifies", logons, bad)
	}
	if dl := text(t, ctx, ".allowance"); !strings.Contains(dl, "62 MB of 100 MB") || !strings.Contains(dl, "1 hour 20 minutes") {
		t.Errorf("success page allowance = %q, want 62 MB of 100 MB and 1 hour 20 minutes", dl)
	}
	click(t, ctx, "a.url")
	if h1 := text(t, ctx, "h1"); h1 != "News for /news" {
		t.Errorf("after following the link: h1 = %q, want the page the person wanted", h1)
	}
	// Back at the NAS's status: already online, in English.
	if err := chromedp.Do(ctx, chromedp.Navigate(site.redirect("already", macOK, "", "en"))); err != nil {
		t.Fatal(err)
	}
	if h1 := text(t, ctx, "h1"); h1 != "You are already online" {
		t.Errorf("res=already: h1 = %q", h1)
	}
	click(t, ctx, `a[href$="/logoff"]`)
	if n := text(t, ctx, ".notice"); n != "Sie wurden abgemeldet." && n != "You have been logged out." {
		t.Errorf("after logging off: notice = %q, want the logoff notice", n)
	}
}

// testKeyboard accepts the terms with the keyboard alone: Tab moves through
// the skip link, the language switch and then the button, each visibly
// focused, and Enter sends the form.
func testKeyboard(t *testing.T, browser context.Context, site *browserSite) {
	ctx := tab(t, browser)
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders,
		network.SetExtraHTTPHeadersParams{Headers: network.Headers{"X-Device": "keyboard"}}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(site.nas.url+"/?device=keyboard")); err != nil {
		t.Fatal(err)
	}
	// The NAS redirected without lang: the browser's en-US picks English.
	if h1 := text(t, ctx, "h1"); h1 != "Free internet access" {
		t.Fatalf("h1 = %q, want the English terms page", h1)
	}
	type focused struct {
		Tag, Text, Outline string
	}
	const probe = `(() => { const e = document.activeElement, s = getComputedStyle(e);
		return {Tag: e.tagName, Text: e.textContent.trim(), Outline: s.outlineStyle + " " + s.outlineWidth}; })()`
	var order []string
	for i := 0; ; i++ {
		if i == 30 {
			t.Fatalf("30 Tabs and the button never got focus; focus went %v", order)
		}
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
			t.Fatal(err)
		}
		f, err := chromedp.Run(ctx, chromedp.Evaluate[focused](probe))
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, f.Tag+":"+f.Text)
		if f.Outline != "solid 3px" {
			t.Errorf("focused %s %q has outline %q, want a visible solid 3px", f.Tag, f.Text, f.Outline)
		}
		if f.Tag == "BUTTON" {
			break
		}
	}
	want := []string{"A:Skip to content", "A:Deutsch"} // then the other languages, then the button
	if len(order) != 2+len(site.env.s.langs.list)-1 || order[0] != want[0] || order[1] != want[1] ||
		order[len(order)-1] != "BUTTON:Accept and connect" {
		t.Errorf("focus order = %v, want the skip link, the %d other languages, the button", order, len(site.env.s.langs.list)-1)
	}
	before := site.nas.logonCount()
	if _, err := chromedp.RunResponse(ctx, chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	if h1 := text(t, ctx, "h1"); h1 != "You are online" {
		t.Errorf("after Enter: h1 = %q at %s, want the success page", h1, location(t, ctx))
	}
	if site.nas.logonCount() != before+1 {
		t.Errorf("the NAS got %d logons, want 1", site.nas.logonCount()-before)
	}

	// The skip link takes a keyboard user to the button in three keys.
	if err := chromedp.Do(ctx, chromedp.Navigate(site.redirect("notyet", macKeyboard, "", "ar"))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Enter), chromedp.KeyEvent(kb.Tab)); err != nil {
		t.Fatal(err)
	}
	if f, err := chromedp.Run(ctx, chromedp.Evaluate[focused](probe)); err != nil || f.Tag != "BUTTON" {
		t.Errorf("Tab, Enter on the skip link, Tab: focus on %+v (%v), want the button", f, err)
	}
}

// testBudget loads the German terms page in a fresh browser context (an
// empty cache, as a phone that just joined) and adds up what the network
// log says was transferred: page, stylesheet, logo and whatever else the
// browser fetched. It also holds the page to its promises: nothing from
// other hosts, no scripts, no fonts, no cookies.
func testBudget(t *testing.T, browser context.Context, site *browserSite) {
	const budget = 30 << 10
	ctx := tab(t, browser, chromedp.WithNewBrowserContext())
	type req struct {
		url, typ string
		bytes    float64
		done     bool
		cookie   bool
	}
	var mu sync.Mutex
	reqs := map[network.RequestID]*req{}
	err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			reqs[ev.RequestID] = &req{url: ev.Request.URL, typ: string(ev.Type)}
		case *network.EventResponseReceived:
			if r := reqs[ev.RequestID]; r != nil {
				for k := range ev.Response.Headers {
					r.cookie = r.cookie || strings.EqualFold(k, "Set-Cookie")
				}
			}
		case *network.EventLoadingFinished:
			if r := reqs[ev.RequestID]; r != nil {
				r.bytes, r.done = ev.EncodedDataLength, true
			}
		case *network.EventLoadingFailed:
			if r := reqs[ev.RequestID]; r != nil {
				r.done = true
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(site.redirect("notyet", macOK, testUserURL, "de"))); err != nil {
		t.Fatal(err)
	}
	// The load event has fired; wait until every request the browser made
	// (a favicon may come late) has finished and nothing new came for a while.
	deadline := time.Now().Add(5 * time.Second)
	var quietSince time.Time
	lastCount := -1
	for time.Now().Before(deadline) {
		mu.Lock()
		all, n := true, len(reqs)
		for _, r := range reqs {
			all = all && r.done
		}
		mu.Unlock()
		if !all || n != lastCount {
			quietSince, lastCount = time.Now(), n
		} else if time.Since(quietSince) > 300*time.Millisecond {
			break
		}
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[int]("1")); err != nil { // a round trip, not a sleep
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	total := 0.0
	for _, r := range reqs {
		total += r.bytes
		t.Logf("%-10s %6.0f bytes  %s", r.typ, r.bytes, strings.TrimPrefix(r.url, site.portal))
		if !strings.HasPrefix(r.url, site.portal+"/") {
			t.Errorf("request to another host: %s", r.url)
		}
		if r.typ == string(network.ResourceTypeScript) || r.typ == string(network.ResourceTypeFont) {
			t.Errorf("the page loads a %s: %s", r.typ, r.url)
		}
		if r.cookie {
			t.Errorf("%s sets a cookie", r.url)
		}
		if !r.done {
			t.Errorf("%s did not finish", r.url)
		}
	}
	t.Logf("terms page (de), %d requests: %.0f bytes transferred, budget %d", len(reqs), total, budget)
	if len(reqs) < 3 {
		t.Errorf("the network log has %d requests, want at least page, stylesheet and logo", len(reqs))
	}
	if total > budget {
		t.Errorf("terms page transfer = %.0f bytes, want at most %d", total, budget)
	}
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{site.portal + "/"}})
	if err != nil || len(cookies.Cookies) != 0 {
		t.Errorf("cookies after the terms page: %v, %v; want none", cookies.Cookies, err)
	}
	scripts, err := chromedp.Run(ctx, chromedp.Evaluate[int]("document.scripts.length + document.querySelectorAll('[target=_blank],[onclick],[onload]').length"))
	if err != nil || scripts != 0 {
		t.Errorf("scripts, popups or handlers on the page: %d, %v; want none", scripts, err)
	}
}

// browserPage is one page of the walk: how to reach it and what it says.
type browserPage struct {
	name   string
	url    func(lang string) string
	submit bool // click the form's button first, the page is the answer
	status int
}

func (s *browserSite) pages() []browserPage {
	redirect := func(res string, mac session.MAC) func(string) string {
		return func(lang string) string { return s.redirect(res, mac, testUserURL, lang) }
	}
	return []browserPage{
		{name: "info", url: func(l string) string { return s.portal + "/?lang=" + l }, status: 200},
		{name: "terms", url: redirect("notyet", macOK), status: 200},
		{name: "terms-failed", url: redirect("failed", macOK), status: 200},
		{name: "terms-logoff", url: redirect("logoff", macOK), status: 200},
		{name: "success", url: redirect("success", macOK), status: 200},
		{name: "already", url: redirect("already", macOK), status: 200},
		{name: "already-throttled", url: redirect("already", macThrottle), status: 200},
		{name: "quota", url: redirect("notyet", macQuota), status: 200},
		{name: "quota-throttle", url: redirect("notyet", macThrottle), status: 200},
		{name: "forbidden", url: func(l string) string {
			u := s.redirect("notyet", macOK, "", "")
			return strings.Replace(u, "mac=AA", "mac=BB", 1) + "&lang=" + l
		}, status: 403},
		{name: "bad-request", url: func(l string) string {
			return SignRedirect(chilliURL(s.portal+"/", redirectParams(map[string]string{"mac": "nonsense"})), chapSecret) + "&lang=" + l
		}, status: 400},
		{name: "not-found", url: func(l string) string { return s.portal + "/nothing-here?lang=" + l }, status: 404},
		{name: "unavailable", url: redirect("notyet", macDown), status: 503},
		{name: "unavailable-accept", url: redirect("notyet", macGrantDown), submit: true, status: 503},
		{name: "internal-error", url: redirect("notyet", macGrantFail), submit: true, status: 500},
		{name: "too-many", url: redirect("notyet", macLimited), submit: true, status: 429},
	}
}

// testPages checks every page in German, English and Arabic.
func testPages(t *testing.T, browser context.Context, site *browserSite, axe string) {
	if *screenshotDir != "" {
		if err := os.MkdirAll(*screenshotDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx := tab(t, browser)
	var version string
	checked := 0
	incomplete := map[string]int{} // rules axe left for a person to review
	for _, lang := range []string{"de", "en", "ar"} {
		for _, p := range site.pages() {
			t.Run(p.name+"/"+lang, func(t *testing.T) {
				if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 740)); err != nil {
					t.Fatal(err)
				}
				resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(p.url(lang)))
				if err != nil {
					t.Fatal(err)
				}
				if p.submit {
					if resp, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("main form button"))); err != nil {
						t.Fatal(err)
					}
				}
				if int(resp.Status) != p.status {
					t.Fatalf("%s: status %d, want %d", p.name, resp.Status, p.status)
				}
				htmlLang, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.documentElement.lang + ' ' + document.documentElement.dir"))
				if err != nil || htmlLang != lang+" "+site.env.s.langs.byCode[lang].Dir {
					t.Errorf("<html lang dir> = %q, %v; want %s", htmlLang, err, lang)
				}
				for _, scheme := range []string{"light", "dark"} {
					if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
						Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
					}); err != nil {
						t.Fatal(err)
					}
					res, err := browsertest.Axe(ctx, axe)
					if err != nil {
						t.Fatal(err)
					}
					version = res.Version
					checked++
					for _, v := range res.Violations {
						t.Errorf("axe, %s scheme: %s", scheme, v)
					}
					for _, v := range res.Incomplete {
						incomplete[v.ID]++
					}
					if scheme == "light" && *screenshotDir != "" {
						png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
						if err != nil {
							t.Fatal(err)
						}
						if err := os.WriteFile(filepath.Join(*screenshotDir, p.name+"-"+lang+".png"), png, 0o644); err != nil {
							t.Fatal(err)
						}
					}
				}
				if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
					t.Fatal(err)
				}
				checkReflow(t, ctx)
			})
		}
	}
	t.Logf("axe-core %s: %d page checks (%d pages × de, en, ar × light, dark), tags %v; left for review: %v",
		version, checked, len(site.pages()), browsertest.AxeTags, incomplete)
}

// checkReflow shows the page 320 CSS px wide with text at 200 % (WCAG 1.4.4
// and 1.4.10): nothing may need horizontal scrolling or stick out.
func checkReflow(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(320, 640)); err != nil {
		t.Fatal(err)
	}
	type reflow struct {
		Scroll, Width int
		Outside       []string
	}
	r, err := chromedp.Run(ctx, chromedp.Evaluate[reflow](`(() => {
		const d = document.documentElement;
		d.style.fontSize = '200%';
		const w = d.clientWidth;
		const outside = [...document.querySelectorAll('main *, header *, footer *')]
			.filter(e => e.getClientRects().length && !e.closest('.skip'))
			.filter(e => { const b = e.getBoundingClientRect(); return b.right > w + 1 || b.left < -1; })
			.map(e => e.outerHTML.slice(0, 100));
		const r = {Scroll: d.scrollWidth, Width: w, Outside: outside};
		d.style.fontSize = '';
		return r;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Scroll > r.Width || len(r.Outside) > 0 {
		t.Errorf("at 320 px and 200 %% text: scroll width %d > %d, outside the viewport: %v", r.Scroll, r.Width, r.Outside)
	}
}
