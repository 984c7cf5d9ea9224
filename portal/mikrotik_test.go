package portal

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

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
	w := env.postFrom(mtClient, form.Encode())
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
	w := env.postFrom("100.64.2.7:5000", form.Encode())
	want := "https://hotspot.example/login?username=" + testGrant.Username + "&password=" + testGrant.Password
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != want {
		t.Errorf("POST /accept = %d to %q, want 303 to %q", w.Code, w.Header().Get("Location"), want)
	}
}

// TestMikroTikRefused: a MikroTik's page from outside its networks (from
// anywhere but behind the router) gets a 403, one that is not usable a
// 400; neither makes a grant or reads the store.
func TestMikroTikRefused(t *testing.T) {
	env := newEnv(t, nil)
	for name, tc := range map[string]struct {
		over   map[string]string
		client string
		want   int
	}{
		"from a CoovaChilli's network":      {nil, "192.0.2.200:1", http.StatusForbidden},
		"from the internet":                 {nil, "198.18.0.1:1", http.StatusForbidden},
		"from a MikroTik without login_url": {map[string]string{"identity": "leipzig-mt"}, "203.0.113.5:1", http.StatusForbidden},
		"another NAS's identity":            {map[string]string{"identity": "leipzig-mt-pap"}, mtClient, http.StatusBadRequest},
		"no MAC":                            {map[string]string{"mac": "-"}, mtClient, http.StatusBadRequest},
		"zero MAC":                          {map[string]string{"mac": "00:00:00:00:00:00"}, mtClient, http.StatusBadRequest},
		"no chap-id for HTTP-CHAP":          {map[string]string{"chap-id": "-"}, mtClient, http.StatusBadRequest},
		"no chap-challenge for HTTP-CHAP":   {map[string]string{"chap-challenge": "-"}, mtClient, http.StatusBadRequest},
		"chap-id of two bytes":              {map[string]string{"chap-id": `\371\001`}, mtClient, http.StatusBadRequest},
		"short challenge":                   {map[string]string{"chap-challenge": `\001\002\003\004`}, mtClient, http.StatusBadRequest},
		"octal digit 8":                     {map[string]string{"chap-id": `\381`}, mtClient, http.StatusBadRequest},
		"octal above a byte":                {map[string]string{"chap-id": `\400`}, mtClient, http.StatusBadRequest},
		"truncated escape":                  {map[string]string{"chap-id": `\37`}, mtClient, http.StatusBadRequest},
		"control character":                 {map[string]string{"chap-challenge": mtCHAPChallenge + "\n"}, mtClient, http.StatusBadRequest},
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, mikrotikURL(tc.over), nil)
			r.RemoteAddr = tc.client
			if w := env.do(r); w.Code != tc.want || !strings.Contains(w.Body.String(), "<html") {
				t.Errorf("GET = %d, want %d with a page", w.Code, tc.want)
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

// TestMikroTikAcceptFrom: a genuine MikroTik form is taken only from
// behind its router, and the grants made through one router are bounded
// per minute, whatever MACs the pages name.
func TestMikroTikAcceptFrom(t *testing.T) {
	env := newEnv(t, nil)
	form := env.termsForm(t, mikrotikURL(nil), mtClient)
	for _, from := range []string{chapClient, "198.18.0.1:1", "100.64.2.7:1"} {
		if w := env.postFrom(from, form.Encode()); w.Code != http.StatusForbidden {
			t.Errorf("POST /accept from %s = %d, want 403", from, w.Code)
		}
	}
	if env.store.count() != 0 {
		t.Fatalf("forms from elsewhere made %d grants", env.store.count())
	}
	for i := range mikrotikAcceptsPerMinute + 1 {
		mac := fmt.Sprintf("02:00:00:00:%02x:%02x", i>>8, i&0xff)
		w := env.postFrom(mtClient, env.termsForm(t, mikrotikURL(map[string]string{"mac": mac}), mtClient).Encode())
		want := http.StatusSeeOther
		if i == mikrotikAcceptsPerMinute {
			want = http.StatusTooManyRequests
		}
		if w.Code != want {
			t.Fatalf("accept %d through the router = %d, want %d", i+1, w.Code, want)
		}
	}
	if got := counterValue(t, env.s.m.limited.WithLabelValues("mikrotik")); got != 1 {
		t.Errorf("hotspot_portal_rate_limited_total{what=mikrotik} = %v, want 1", got)
	}
	env.now = env.now.Add(time.Minute)
	if w := env.postFrom(mtClient, env.termsForm(t, mikrotikURL(map[string]string{"mac": "02:00:00:01:00:00"}), mtClient).Encode()); w.Code != http.StatusSeeOther {
		t.Errorf("accept a minute later = %d, want 303", w.Code)
	}
}

// TestMikroTikNoAllowance: a MikroTik's page names a MAC nobody signed, so
// it shows nothing of that device: the terms, never its allowance.
func TestMikroTikNoAllowance(t *testing.T) {
	env := newEnv(t, nil)
	env.store.status = session.DeviceStatus{Remembered: true, Policy: "default", DataUsed: 200 << 20, DataLimit: 100 << 20, DataRemaining: 0}
	r := httptest.NewRequest(http.MethodGet, mikrotikURL(nil), nil)
	r.RemoteAddr = mtClient
	w := env.do(r)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `name="token"`) {
		t.Errorf("GET = %d, want the terms with the accept form", w.Code)
	}
	if n := env.store.statusReads(); n != 0 {
		t.Errorf("the page read the device's status %d times, want never", n)
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
		if w := env.postFrom(mtClient, f.Encode()); w.Code != http.StatusForbidden {
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
