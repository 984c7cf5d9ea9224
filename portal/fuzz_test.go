package portal

import (
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRedirect sends arbitrary queries to GET /: never a panic (the
// recovery middleware would turn one into a 500), never a 5xx, never a
// grant.
func FuzzRedirect(f *testing.F) {
	good := signed(nil)
	f.Add(good[strings.IndexByte(good, '?')+1:], "de")
	f.Add(signed(map[string]string{"res": "success"})[len(portalBase)+1:], "en")
	f.Add(strings.Replace(good[len(portalBase)+1:], "AA-BB", "AA-BC", 1), "fr, en;q=0.5")
	f.Add("", "")
	f.Add("lang=en", "")
	f.Add("res=notyet&uamip=10.1.0.1&md=", "*")
	f.Add("a=%zz&md=00&lang=de", "en-GB")
	f.Add("nasid=leipzig-markt&mac=AA-BB-CC-DD-EE-FF&&md=0123456789ABCDEF0123456789abcdef&lang", "de-DE;q=0")
	env := newEnv(f, nil)
	f.Fuzz(func(t *testing.T, rawQuery, acceptLanguage string) {
		r := httptest.NewRequest(http.MethodGet, portalBase, nil)
		r.URL.RawQuery = rawQuery
		r.RequestURI = "/?" + rawQuery
		r.RemoteAddr = chapClient
		r.Header.Set("Accept-Language", acceptLanguage)
		w := env.do(r)
		if w.Code >= 500 {
			t.Fatalf("GET /?%q = %d\n%s", rawQuery, w.Code, w.Body)
		}
		if n := env.store.count(); n != 0 {
			t.Fatalf("GET /?%q stored %d grants", rawQuery, n)
		}
		if w.Code == http.StatusOK && strings.Contains(strings.ToLower(w.Body.String()), "href=\"javascript") {
			t.Fatalf("GET /?%q put a javascript: link on the page", rawQuery)
		}
	})
}

// FuzzAccept sends arbitrary bodies to POST /accept: never a 5xx, and a
// grant only for a genuine form, answered by a 303 to the NAS.
func FuzzAccept(f *testing.F) {
	env := newEnv(f, nil)
	form := env.termsForm(f, signed(nil), chapClient)
	f.Add(form.Encode())
	form.Set("mac", "11-22-33-44-55-66")
	f.Add(form.Encode())
	f.Add("")
	f.Add("token=&ts=0")
	f.Add("nas=square-chap&token=AAAA&ts=99999999999999999999")
	f.Add("lang=en&lang=de&token=%zz")
	f.Fuzz(func(t *testing.T, body string) {
		env.store.reset()
		env.s.limit = newLimiter(env.s.limit.window, acceptsPerMinute, acceptLimitKeys)
		w := env.postRaw(body)
		if w.Code >= 500 {
			t.Fatalf("POST /accept %q = %d\n%s", body, w.Code, w.Body)
		}
		calls := env.store.count()
		switch {
		case calls > 1:
			t.Fatalf("POST /accept %q stored %d grants", body, calls)
		case calls == 1 && w.Code != http.StatusSeeOther:
			t.Fatalf("POST /accept %q stored a grant but answered %d", body, w.Code)
		case w.Code == http.StatusSeeOther && !strings.HasPrefix(w.Header().Get("Location"), "http://10.1.0.1:3990/logon?username="):
			t.Fatalf("POST /accept %q redirected to %q", body, w.Header().Get("Location"))
		}
	})
}

// FuzzMikroTik sends arbitrary queries to GET /mikrotik, from the MikroTik
// NAS's address: never a 5xx, never a store read (nothing signs the MAC),
// and a form only with a userurl that is empty or an http(s) URL.
func FuzzMikroTik(f *testing.F) {
	good := mikrotikURL(nil)
	f.Add(good[strings.IndexByte(good, '?')+1:])
	f.Add("identity=leipzig-mt-pap&mac=AA-BB-CC-DD-EE-FF")
	f.Add(`mac=aabbccddeeff&chap-id=\371&chap-challenge=\001\002\003\004\005&link-orig=https://example.org/`)
	f.Add(`chap-id=\3&chap-challenge=\\\\&mac=%zz`)
	f.Add("")
	env := newEnv(f, nil)
	f.Fuzz(func(t *testing.T, rawQuery string) {
		r := httptest.NewRequest(http.MethodGet, portalBase+"mikrotik", nil)
		r.URL.RawQuery = rawQuery
		r.RequestURI = "/mikrotik?" + rawQuery
		r.RemoteAddr = mtClient
		w := env.do(r)
		if w.Code >= 500 {
			t.Fatalf("GET /mikrotik?%q = %d\n%s", rawQuery, w.Code, w.Body)
		}
		if n := env.store.statusReads(); n != 0 {
			t.Fatalf("GET /mikrotik?%q read a device's status", rawQuery)
		}
		for _, m := range hiddenRE.FindAllStringSubmatch(w.Body.String(), -1) {
			if u := html.UnescapeString(m[2]); m[1] == "userurl" && u != "" && !isWebURL(u) {
				t.Fatalf("GET /mikrotik?%q carried userurl %q into the form", rawQuery, u)
			}
		}
	})
}
