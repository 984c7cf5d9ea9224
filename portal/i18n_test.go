package portal

import (
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"text/template/parse"

	"github.com/gin-gonic/gin"

	"hotspot/assets"
)

var htmlLangRE = regexp.MustCompile(`<html lang="([^"]+)"`)

func TestLanguage(t *testing.T) {
	tests := []struct {
		name, target, accept, want string
	}{
		{"default", portalBase, "", "de"},
		{"German", portalBase, "de-DE,de;q=0.9", "de"},
		{"English", portalBase, "en-US,en;q=0.9", "en"},
		{"French falls back to German", portalBase, "fr-FR,fr;q=0.9", "de"},
		{"French, then English", portalBase, "fr-FR, fr;q=0.9, en;q=0.5", "en"},
		{"garbage header", portalBase, ";;;q=x,,", "de"},
		{"lang overrides header", portalBase + "?lang=en", "de", "en"},
		{"lang de overrides header", portalBase + "?lang=de", "en", "de"},
		{"regional lang", portalBase + "?lang=en-GB", "", "en"},
		{"unknown lang uses header", portalBase + "?lang=xx", "en", "en"},
		{"terms page", signed(nil), "en", "en"},
		{"switch after md", signed(nil) + "&lang=en", "de", "en"},
		{"NAS lang then switch", signed(map[string]string{"lang": "de"}) + "&lang=en", "", "en"},
		{"error page", chilliURL(portalBase, redirectParams(nil)), "en", "en"},
		{"404 page", portalBase + "nope?lang=en", "", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, nil)
			w := env.get(tt.target, "Accept-Language", tt.accept)
			m := htmlLangRE.FindStringSubmatch(w.Body.String())
			if m == nil || m[1] != tt.want {
				t.Errorf("GET %s (Accept-Language %q): html lang = %v, want %q", tt.target, tt.accept, m, tt.want)
			}
		})
	}
}

var switchRE = regexp.MustCompile(`<a href="([^"]+)" hreflang="([^"]+)"`)

// TestLanguageSwitch follows the switch from a signed terms page: the link
// must keep the redirect valid and change the language.
func TestLanguageSwitch(t *testing.T) {
	env := newEnv(t, nil)
	w := env.get(signed(nil))
	links := switchRE.FindAllStringSubmatch(w.Body.String(), -1)
	if len(links) != len(env.s.langs.list)-1 {
		t.Fatalf("language switch has %d links, want %d", len(links), len(env.s.langs.list)-1)
	}
	for _, l := range links {
		href, code := html.UnescapeString(l[1]), l[2]
		if !strings.HasPrefix(href, "?") {
			t.Fatalf("switch link %q is not relative to the page", href)
		}
		w := env.get(portalBase + href)
		if w.Code != http.StatusOK {
			t.Errorf("GET switch link %q = %d, want 200", href, w.Code)
		}
		if m := htmlLangRE.FindStringSubmatch(w.Body.String()); m == nil || m[1] != code {
			t.Errorf("GET switch link %q: html lang = %v, want %q", href, m, code)
		}
		// Switching twice replaces the language rather than piling it up.
		if again := withLang(strings.TrimPrefix(href, "?"), "de"); strings.Count(again, "lang=") != 1 {
			t.Errorf("withLang(%q, de) = %q, want one lang", href, again)
		}
	}
}

// TestAcceptKeepsLanguage: the accept form carries the language, so the
// pages answering the POST speak it.
func TestAcceptKeepsLanguage(t *testing.T) {
	env := newEnv(t, nil)
	form := env.termsForm(t, signed(nil)+"&lang=en", chapClient)
	if form.Get("lang") != "en" {
		t.Fatalf("form lang = %q, want en", form.Get("lang"))
	}
	form.Set("token", "forged")
	w := env.post(form, "Accept-Language", "de")
	if m := htmlLangRE.FindStringSubmatch(w.Body.String()); m == nil || m[1] != "en" {
		t.Errorf("POST /accept with lang=en: html lang = %v, want en", m)
	}
}

// templateKeys returns every message key the templates use. Keys must be
// string literals in calls of T, so this finds them all; anything else is
// reported as an error.
func templateKeys(t *testing.T) map[string]bool {
	t.Helper()
	env := newEnv(t, nil)
	keys := map[string]bool{}
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			if len(n.Args) > 0 && isTCall(n.Args[0]) {
				if len(n.Args) != 2 {
					t.Errorf("template call %s: want T with one key", n)
				} else if s, ok := n.Args[1].(*parse.StringNode); ok {
					keys[s.Text] = true
				} else {
					t.Errorf("template call %s: the key must be a string literal", n)
				}
			}
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
		}
	}
	for name, set := range env.s.pages {
		for _, tmpl := range set.Templates() {
			if tmpl.Tree == nil {
				continue
			}
			walk(tmpl.Tree.Root)
		}
		if len(keys) == 0 {
			t.Fatalf("no keys found in template set %s", name)
		}
	}
	return keys
}

func isTCall(n parse.Node) bool {
	switch n := n.(type) {
	case *parse.FieldNode:
		return len(n.Ident) == 1 && n.Ident[0] == "T"
	case *parse.VariableNode:
		return len(n.Ident) == 2 && n.Ident[0] == "$" && n.Ident[1] == "T"
	}
	return false
}

func TestTemplateKeys(t *testing.T) {
	env := newEnv(t, nil)
	used := templateKeys(t)
	for _, c := range env.s.langs.list {
		for k := range used {
			if _, ok := c.msgs[k]; !ok {
				t.Errorf("templates use key %q, which catalog %s lacks", k, c.Code)
			}
		}
	}
	// The other direction: a key no template uses is dead weight that
	// translators would still have to translate.
	for k := range env.s.langs.list[0].msgs {
		if !used[k] && !strings.HasPrefix(k, "lang.") {
			t.Errorf("catalog key %q is used by no template", k)
		}
	}
}

// TestLoadLanguages checks that a broken catalog stops the portal.
func TestLoadLanguages(t *testing.T) {
	if _, err := loadLanguages(assets.FS()); err != nil {
		t.Fatalf("loadLanguages(assets) = %v", err)
	}
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"no German", map[string]string{"en": `{"lang.name":"English","lang.dir":"ltr","a":"1"}`}},
		{"missing key", map[string]string{
			"de": `{"lang.name":"Deutsch","lang.dir":"ltr","a":"1"}`,
			"en": `{"lang.name":"English","lang.dir":"ltr"}`}},
		{"empty value", map[string]string{
			"de": `{"lang.name":"Deutsch","lang.dir":"ltr","a":"1"}`,
			"en": `{"lang.name":"English","lang.dir":"ltr","a":""}`}},
		{"extra key", map[string]string{
			"de": `{"lang.name":"Deutsch","lang.dir":"ltr","a":"1"}`,
			"en": `{"lang.name":"English","lang.dir":"ltr","a":"1","b":"2"}`}},
		{"bad dir", map[string]string{"de": `{"lang.name":"Deutsch","lang.dir":"down","a":"1"}`}},
		{"bad tag", map[string]string{
			"de": `{"lang.name":"Deutsch","lang.dir":"ltr","a":"1"}`,
			"12": `{"lang.name":"X","lang.dir":"ltr","a":"1"}`}},
		{"not JSON", map[string]string{"de": `{`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := mapFS(tt.files)
			if _, err := loadLanguages(fsys); err == nil {
				t.Errorf("loadLanguages(%s) = nil error, want one", tt.name)
			}
		})
	}
}

// TestEveryPageEveryLanguage renders each page in each language and
// checks that no message is missing and the page declares its language.
func TestEveryPageEveryLanguage(t *testing.T) {
	env := newEnv(t, func(c *Config) {
		c.ImprintURL = "https://www.example.org/impressum"
		c.PrivacyURL = "https://www.example.org/datenschutz"
	})
	s := env.s
	form := s.newForm(&s.nases.All()[0], redirect{challenge: make([]byte, 16)})
	variants := []struct {
		tmpl string
		v    view
	}{
		{tmplInfo, view{}},
		{tmplTerms, view{Res: "notyet", Form: form}},
		{tmplTerms, view{Res: "failed", Form: form}},
		{tmplTerms, view{Res: "logoff", Form: form}},
		{tmplStatus, view{UserURL: testUserURL, LogoffURL: "http://10.1.0.1:3990/logoff"}},
		{tmplStatus, view{Already: true}},
		{tmplError, view{Status: 400}},
		{tmplError, view{Status: 403}},
		{tmplError, view{Status: 404}},
		{tmplError, view{Status: 429, Form: form}},
		{tmplError, view{Status: 500}},
		{tmplError, view{Status: 503, Form: form}},
	}
	for _, c := range s.langs.list {
		for _, vt := range variants {
			v := s.newView(c, "", true)
			v.Res, v.Form, v.UserURL, v.LogoffURL, v.Already, v.Status =
				vt.v.Res, vt.v.Form, vt.v.UserURL, vt.v.LogoffURL, vt.v.Already, vt.v.Status
			w := httptest.NewRecorder()
			ctx, _ := gin.CreateTestContext(w)
			s.render(ctx, http.StatusOK, vt.tmpl, "test", v)
			body := w.Body.String()
			if w.Code != http.StatusOK || strings.Contains(body, "[missing:") {
				t.Errorf("render(%s, %s, %+v) = %d with a missing message:\n%s", c.Code, vt.tmpl, vt.v, w.Code, body)
			}
			if !strings.Contains(body, `<html lang="`+c.Code+`" dir="`+c.Dir+`">`) {
				t.Errorf("render(%s, %s): no html lang/dir for %s", c.Code, vt.tmpl, c.Code)
			}
			for _, landmark := range []string{"<header>", "<main>", "<footer>"} {
				if !strings.Contains(body, landmark) {
					t.Errorf("render(%s, %s): no %s landmark", c.Code, vt.tmpl, landmark)
				}
			}
			if strings.Contains(strings.ToLower(body), "<script") {
				t.Errorf("render(%s, %s) has a script", c.Code, vt.tmpl)
			}
		}
	}
}
