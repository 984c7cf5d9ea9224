package portal

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"hotspot/session"
)

// TestMikroTikLogin: a MikroTik hotspot's login page hands the browser to
// /mikrotik; the terms are accepted; the browser goes to the NAS's
// login_url with the grant's username, the HTTP-CHAP password the router's
// own page would have computed, and dst.
func TestMikroTikLogin(t *testing.T) {
	env := newEnv(t, nil)
	form := env.termsForm(t, mikrotikURL(nil), mtClient)
	if form.Get("nas") != "mt-chap" || form.Get("uamip") != "" || form.Get("uamport") != "" {
		t.Errorf("form %v: want NAS mt-chap and no uamip, uamport", form)
	}
	w := env.post(form)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("POST /accept = %d, want 303\n%s", w.Code, w.Body)
	}
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != mtLoginURL {
		t.Errorf("login-back to %s, want the NAS's login_url %s", got, mtLoginURL)
	}
	// RFC 1994: MD5 over the identifier, the secret and the challenge.
	sum := md5.Sum(append(append([]byte{0371}, testGrant.Password...), mtChallengeBytes...))
	q := loc.Query()
	if q.Get("username") != testGrant.Username || q.Get("password") != hex.EncodeToString(sum[:]) || q.Get("dst") != testUserURL {
		t.Errorf("login-back query %v: want username %s, password %x, dst %s", q, testGrant.Username, sum, testUserURL)
	}
	if len(env.store.calls) != 1 || env.store.calls[0].nas != "mt-chap" || env.store.calls[0].mac.String() != testMAC {
		t.Errorf("grants %+v, want one for %s on mt-chap", env.store.calls, testMAC)
	}
}

// TestMikroTikPAP: with login pap the password goes as it is, and no CHAP
// parameters are needed; the NAS is found by its client's address when
// the page names no identity.
func TestMikroTikPAP(t *testing.T) {
	env := newEnv(t, nil)
	target := mikrotikURL(map[string]string{"identity": "-", "chap-id": "-", "chap-challenge": "-", "link-orig": "javascript:alert(1)"})
	form := env.termsForm(t, target, "100.64.2.7:5000")
	if form.Get("nas") != "mt-pap" || form.Get("challenge") != "" || form.Get("userurl") != "" {
		t.Errorf("form %v: want NAS mt-pap, no challenge, and the javascript: URL dropped", form)
	}
	w := env.post(form)
	want := "https://hotspot.example/login?username=" + testGrant.Username + "&password=" + testGrant.Password
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != want {
		t.Errorf("POST /accept = %d to %q, want 303 to %q", w.Code, w.Header().Get("Location"), want)
	}
}

// TestMikroTikRefused: what is not a configured MikroTik's login page, or
// not a usable one, gets a 400 page and no grant, and never reads the
// store.
func TestMikroTikRefused(t *testing.T) {
	env := newEnv(t, nil)
	for name, tc := range map[string]struct {
		over   map[string]string
		client string
	}{
		"unknown identity, unknown address": {map[string]string{"identity": "elsewhere"}, "192.0.2.200:1"},
		"a CoovaChilli NAS":                 {map[string]string{"identity": "leipzig-markt"}, mtClient},
		"a MikroTik without login_url":      {map[string]string{"identity": "leipzig-mt"}, "203.0.113.5:1"},
		"no MAC":                            {map[string]string{"mac": "-"}, mtClient},
		"zero MAC":                          {map[string]string{"mac": "00:00:00:00:00:00"}, mtClient},
		"no chap-id for HTTP-CHAP":          {map[string]string{"chap-id": "-"}, mtClient},
		"no chap-challenge for HTTP-CHAP":   {map[string]string{"chap-challenge": "-"}, mtClient},
		"chap-id of two bytes":              {map[string]string{"chap-id": `\371\001`}, mtClient},
		"short challenge":                   {map[string]string{"chap-challenge": `\001\002\003\004`}, mtClient},
		"octal digit 8":                     {map[string]string{"chap-id": `\381`}, mtClient},
		"octal above a byte":                {map[string]string{"chap-id": `\400`}, mtClient},
		"truncated escape":                  {map[string]string{"chap-id": `\37`}, mtClient},
		"control character":                 {map[string]string{"chap-challenge": mtCHAPChallenge + "\n"}, mtClient},
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, mikrotikURL(tc.over), nil)
			r.RemoteAddr = tc.client
			if w := env.do(r); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "<html") {
				t.Errorf("GET = %d, want 400 with a page", w.Code)
			}
		})
	}
	r := httptest.NewRequest(http.MethodGet, mikrotikURL(nil)+"&mac=11:22:33:44:55:66", nil)
	r.RemoteAddr = mtClient
	if w := env.do(r); w.Code != http.StatusBadRequest {
		t.Errorf("GET with two MACs = %d, want 400", w.Code)
	}
	if env.store.count() != 0 || env.store.statusReads() != 0 {
		t.Errorf("refused pages made %d grants and %d status reads, want none", env.store.count(), env.store.statusReads())
	}
}

// TestMikroTikFormTampered: the accept form of a MikroTik page is signed
// like any other: a changed challenge, or a uamip smuggled in, is refused.
func TestMikroTikFormTampered(t *testing.T) {
	env := newEnv(t, nil)
	form := env.termsForm(t, mikrotikURL(nil), mtClient)
	for field, value := range map[string]string{
		"challenge": "00" + form.Get("challenge")[2:],
		"uamip":     "10.5.50.1",
		"nas":       "mt-pap",
	} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set(field, value)
		if w := env.post(f); w.Code != http.StatusForbidden {
			t.Errorf("form with %s changed: %d, want 403", field, w.Code)
		}
	}
	if env.store.count() != 0 {
		t.Errorf("tampered forms made %d grants", env.store.count())
	}
}

func TestDecodeMikroTik(t *testing.T) {
	for in, want := range map[string]string{
		``:                     "",
		`\000\377`:             "00ff",
		`\371`:                 "f9",
		`ab\101`:               "616241",
		mtCHAPChallenge:        hex.EncodeToString(mtChallengeBytes),
		`\1`:                   "!",
		`\1234`:                "5334",
		`x y`:                  "!",
		"\\\u00e9\u00e9\u00e9": "!",
	} {
		got, ok := decodeMikroTik(in)
		if want == "!" {
			if ok {
				t.Errorf("decodeMikroTik(%q) = %x, want refused", in, got)
			}
			continue
		}
		if !ok || hex.EncodeToString(got) != want {
			t.Errorf("decodeMikroTik(%q) = %x, %v; want %s", in, got, ok, want)
		}
	}
}

// TestMikroTikLoginURLConfig: login_url is for MikroTik NASes, and only an
// http(s) URL without a query will do.
func TestMikroTikLoginURLConfig(t *testing.T) {
	for _, tc := range []struct {
		kind session.NASKind
		url  string
		ok   bool
	}{
		{session.KindMikrotik, "http://10.5.50.1/login", true},
		{session.KindMikrotik, "https://hotspot.example/login", true},
		{session.KindCoovaChilli, "http://10.5.50.1/login", false},
		{session.KindMikrotik, "ftp://10.5.50.1/login", false},
		{session.KindMikrotik, "http://10.5.50.1/login?x=1", false},
		{session.KindMikrotik, "http://user:pw@10.5.50.1/login", false},
		{session.KindMikrotik, "/login", false},
	} {
		_, err := session.NewNASTable([]session.NAS{{
			Name: "n", Networks: testNASes(t).All()[0].Networks, Secret: "radius-secret",
			Kind: tc.kind, UAMSecret: "x", LoginURL: tc.url,
		}})
		if (err == nil) != tc.ok {
			t.Errorf("kind %s, login_url %q: %v, want ok %v", tc.kind, tc.url, err, tc.ok)
		}
	}
}
