package portal

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template/parse"
	"time"

	"github.com/gin-gonic/gin"

	"hotspot/assets"
	"hotspot/session"
)

var htmlLangRE = regexp.MustCompile(`<html lang="([^"]+)"`)

func TestLanguage(t *testing.T) {
	tests := []struct {
		name, target, accept, want string
	}{
		{"default", portalBase, "", "de"},
		{"German", portalBase, "de-DE,de;q=0.9", "de"},
		{"English", portalBase, "en-US,en;q=0.9", "en"},
		{"French", portalBase, "fr-FR,fr;q=0.9", "fr"},
		{"Portuguese falls back to German", portalBase, "pt-BR,pt;q=0.9", "de"},
		{"Portuguese, then English", portalBase, "pt-BR, pt;q=0.9, en;q=0.5", "en"},
		{"Chinese from China", portalBase, "zh-CN,zh;q=0.9", "zh-Hans"},
		{"Arabic from Egypt", portalBase, "ar-EG", "ar"},
		{"Ukrainian", portalBase, "uk-UA,uk;q=0.9,ru;q=0.8", "uk"},
		{"Turkish", portalBase, "tr", "tr"},
		{"Polish, Spanish, Italian", portalBase, "pl;q=0.9, es;q=1, it;q=0.1", "es"},
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
				fname := calledName(n.Args[0])
				switch {
				case fname == "T" && len(n.Args) != 2:
					t.Errorf("template call %s: want T with one key", n)
				case fname == "Tf" && (len(n.Args) < 4 || len(n.Args)%2 != 0):
					t.Errorf("template call %s: want Tf with a key and name/value pairs", n)
				}
				if s, ok := n.Args[1].(*parse.StringNode); ok {
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

// isTCall reports whether n calls T or Tf, on the view or on $.
func isTCall(n parse.Node) bool {
	name := calledName(n)
	return name == "T" || name == "Tf"
}

func calledName(n parse.Node) string {
	switch n := n.(type) {
	case *parse.FieldNode:
		if len(n.Ident) == 1 {
			return n.Ident[0]
		}
	case *parse.VariableNode:
		if len(n.Ident) == 2 && n.Ident[0] == "$" {
			return n.Ident[1]
		}
	}
	return ""
}

// codeKeys are the catalog keys the Go code formats with (format.go), not
// the templates.
var codeKeys = []string{"unit.mb", "unit.gb", "unit.days", "unit.hours", "unit.minutes", "format.duration", "format.datetime"}

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
		if !used[k] && !strings.HasPrefix(k, "lang.") && !slices.Contains(codeKeys, k) {
			t.Errorf("catalog key %q is used by no template", k)
		}
	}
}

// TestLoadLanguages checks that a broken catalog stops the portal, with an
// error that says why.
func TestLoadLanguages(t *testing.T) {
	if _, err := loadLanguages(assets.FS()); err != nil {
		t.Fatalf("loadLanguages(assets) = %v", err)
	}
	// cat builds a catalog: the plural keys, "a" and any extra pairs.
	cat := func(name, dir, a string, extra ...string) string {
		m := map[string]string{"lang.name": name, "lang.dir": dir, "a": a,
			"unit.days": "one: {n} day | other: {n} days", "unit.hours": "one: {n} h | other: {n} h", "unit.minutes": "one: {n} min | other: {n} min"}
		for i := 0; i+1 < len(extra); i += 2 {
			if extra[i+1] == "-" {
				delete(m, extra[i])
				continue
			}
			m[extra[i]] = extra[i+1]
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	de := cat("Deutsch", "ltr", "Hallo {name}")
	tests := []struct {
		name  string
		files map[string]string
		want  string // in the error; "" for none
	}{
		{"good", map[string]string{"de": de, "en": cat("English", "ltr", "Hello {name}")}, ""},
		{"no German", map[string]string{"en": cat("English", "ltr", "Hello {name}")}, "i18n/de.json is missing"},
		{"missing key", map[string]string{"de": de, "en": cat("English", "ltr", "Hello {name}", "a", "-")}, `key "a" is missing`},
		{"empty value", map[string]string{"de": de, "en": cat("English", "ltr", " ")}, `key "a" is missing or empty`},
		{"extra key", map[string]string{"de": de, "en": cat("English", "ltr", "Hello {name}", "b", "2")}, `key "b" is not in de`},
		{"bad dir", map[string]string{"de": cat("Deutsch", "down", "x")}, "lang.dir"},
		{"bad tag", map[string]string{"de": de, "12": cat("X", "ltr", "Hello {name}")}, "not a canonical language tag"},
		{"not JSON", map[string]string{"de": `{`}, "i18n/de.json"},
		{"lost placeholder", map[string]string{"de": de, "en": cat("English", "ltr", "Hello")}, "placeholders [], want [{name}]"},
		{"renamed placeholder", map[string]string{"de": de, "en": cat("English", "ltr", "Hello {nom}")}, "placeholders [{nom}]"},
		{"no plural keys", map[string]string{"de": cat("Deutsch", "ltr", "x", "unit.days", "-")}, `key "unit.days" is missing`},
		{"plural without other", map[string]string{"de": cat("Deutsch", "ltr", "x", "unit.days", "one: {n} Tag")}, "other is missing"},
		{"plural form unknown", map[string]string{"de": cat("Deutsch", "ltr", "x", "unit.days", "single: 1 | other: {n}")}, "CLDR plural form"},
		{"plural form twice", map[string]string{"de": cat("Deutsch", "ltr", "x", "unit.days", "other: a | other: b")}, "twice"},
		{"plural with another placeholder", map[string]string{"de": cat("Deutsch", "ltr", "x", "unit.days", "other: {x}")}, "only {n}"},
		{"German without one", map[string]string{"de": cat("Deutsch", "ltr", "x", "unit.days", "other: {n} Tage")}, "lacks the form one, which de uses for 1"},
		{"Polish without few", map[string]string{"de": de,
			"pl": cat("Polski", "ltr", "{name}", "unit.days", "one: {n} dzień | many: {n} dni | other: {n} dnia")}, "lacks the form few, which pl uses for 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadLanguages(mapFS(tt.files))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("loadLanguages(%s) = %v, want nil", tt.name, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("loadLanguages(%s) = %v, want an error with %q", tt.name, err, tt.want)
			}
		})
	}
}

// TestFormat checks numbers, plurals, sizes, durations and dates in the
// shipped catalogs.
func TestFormat(t *testing.T) {
	env := newEnv(t, nil)
	lang := func(code string) *catalog { return env.s.langs.byCode[code] }
	at := time.Date(2026, 3, 7, 0, 5, 0, 0, time.UTC)
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"de days one", lang("de").period(24 * time.Hour), "1 Tag"},
		{"de days", lang("de").period(7 * 24 * time.Hour), "7 Tage"},
		{"de hours", lang("de").period(36 * time.Hour), "36 Stunden"},
		{"de hours rounded up", lang("de").period(90 * time.Minute), "2 Stunden"},
		{"en days", lang("en").period(30 * 24 * time.Hour), "30 days"},
		{"pl 2 days", lang("pl").period(2 * 24 * time.Hour), "2 dni"},
		{"pl 1 hour", lang("pl").plural("unit.hours", 1), "1 godzina"},
		{"pl 3 hours", lang("pl").plural("unit.hours", 3), "3 godziny"},
		{"pl 5 hours", lang("pl").plural("unit.hours", 5), "5 godzin"},
		{"pl 22 hours", lang("pl").plural("unit.hours", 22), "22 godziny"},
		{"uk 21 days", lang("uk").plural("unit.days", 21), "21 день"},
		{"uk 11 days", lang("uk").plural("unit.days", 11), "11 днів"},
		{"ar 1 day", lang("ar").plural("unit.days", 1), "يوم واحد"},
		{"ar 2 days", lang("ar").plural("unit.days", 2), "يومان"},
		{"ar 7 days", lang("ar").plural("unit.days", 7), "٧ أيام"},
		{"ar 14 days", lang("ar").plural("unit.days", 14), "١٤ يومًا"},
		{"zh 7 days", lang("zh-Hans").plural("unit.days", 7), "7天"},
		{"fr 1 day", lang("fr").plural("unit.days", 1), "1 jour"},
		{"fr 0 days", lang("fr").plural("unit.days", 0), "0 jour"},
		{"de MB", lang("de").bytes(100 * mebibyte), "100 MB"},
		{"de MB rounded down", lang("de").bytes(62*mebibyte + mebibyte - 1), "62 MB"},
		{"de small MB", lang("de").bytes(1536 * 1024), "1,5 MB"},
		{"en GB", lang("en").bytes(3*gibibyte + gibibyte/2), "3.5 GB"},
		{"fr GB", lang("fr").bytes(2 * gibibyte), "2 Go"},
		{"negative is zero", lang("en").bytes(-5), "0 MB"},
		{"uk MB", lang("uk").bytes(5 * mebibyte), "5 МБ"},
		{"ar MB", lang("ar").bytes(12 * mebibyte), "١٢ ميغابايت"},
		{"de minutes", lang("de").duration(45*time.Minute + 59*time.Second), "45 Minuten"},
		{"de hours", lang("de").duration(2 * time.Hour), "2 Stunden"},
		{"de hours and minutes", lang("de").duration(time.Hour + time.Minute), "1 Stunde 1 Minute"},
		{"es hours and minutes", lang("es").duration(2*time.Hour + 30*time.Minute), "2 horas y 30 minutos"},
		{"zh hours and minutes", lang("zh-Hans").duration(2*time.Hour + 30*time.Minute), "2小时30分钟"},
		{"negative duration", lang("en").duration(-time.Hour), "0 minutes"},
		{"de date", lang("de").datetime(at), "07.03.2026, 00:05 Uhr"},
		{"en date", lang("en").datetime(at), "07/03/2026, 00:05"},
		{"zh date", lang("zh-Hans").datetime(at), "2026年03月07日 00:05"},
		{"ar date", lang("ar").datetime(at), "٠٧/٠٣/٢٠٢٦، ٠٠:٠٥"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

// TestEveryPageEveryLanguage renders each page in each language and
// checks that no message is missing, no placeholder is left, and the page
// declares its language and landmarks.
func TestEveryPageEveryLanguage(t *testing.T) {
	env := newEnv(t, func(c *Config) {
		c.ImprintURL = "https://www.example.org/impressum"
		c.PrivacyURL = "https://www.example.org/datenschutz"
		c.FooterLinks = []FooterLink{{URL: "https://www.example.org/a11y", Label: map[string]string{"de": "Barrierefreiheit", "en": "Accessibility"}}}
	})
	s := env.s
	form := s.newForm(&s.nases.All()[0], redirect{challenge: make([]byte, 16)})
	st := session.DeviceStatus{DataUsed: 40 * mebibyte, DataLimit: 100 * mebibyte, DataRemaining: 60 * mebibyte,
		TimeLimit: 2 * time.Hour, TimeRemaining: 80 * time.Minute, WindowEnd: t0.Add(12 * time.Hour)}
	over := st
	over.DataRemaining, over.QuotaExceeded, over.Action = 0, true, "throttle"
	variants := []struct {
		tmpl  string
		v     view
		terms bool
		st    *session.DeviceStatus
	}{
		{tmpl: tmplInfo},
		{tmpl: tmplTerms, v: view{Res: "notyet", Form: form}, terms: true},
		{tmpl: tmplTerms, v: view{Res: "failed", Form: form}, terms: true},
		{tmpl: tmplTerms, v: view{Res: "logoff", Form: form}, terms: true},
		{tmpl: tmplStatus, v: view{UserURL: testUserURL, LogoffURL: "http://10.1.0.1:3990/logoff"}, st: &st},
		{tmpl: tmplStatus, v: view{Already: true}, st: &st},
		{tmpl: tmplStatus, v: view{Already: true}, st: &over},
		{tmpl: tmplStatus, v: view{Already: true}},
		{tmpl: tmplQuota, st: &over},
		{tmpl: tmplQuota, v: view{Form: form}, st: &over},
		{tmpl: tmplError, v: view{Status: 400}},
		{tmpl: tmplError, v: view{Status: 403}},
		{tmpl: tmplError, v: view{Status: 404}},
		{tmpl: tmplError, v: view{Status: 429, Form: form}},
		{tmpl: tmplError, v: view{Status: 500}},
		{tmpl: tmplError, v: view{Status: 503, Form: form}},
		{tmpl: tmplError, v: view{Status: 503, RetryURL: "?a=b"}},
	}
	if len(s.langs.list) != 10 {
		t.Errorf("portal has %d languages, want 10", len(s.langs.list))
	}
	for _, c := range s.langs.list {
		for _, vt := range variants {
			v := s.newView(c, "", true)
			v.Res, v.Form, v.UserURL, v.LogoffURL, v.Already, v.Status, v.RetryURL =
				vt.v.Res, vt.v.Form, vt.v.UserURL, vt.v.LogoffURL, vt.v.Already, vt.v.Status, vt.v.RetryURL
			if vt.terms {
				s.withTerms(v)
			}
			if vt.st != nil {
				v.Allowance = newAllowance(*vt.st, c, s.loc)
			}
			w := httptest.NewRecorder()
			ctx, _ := gin.CreateTestContext(w)
			s.render(ctx, http.StatusOK, vt.tmpl, "test", v)
			body := w.Body.String()
			if w.Code != http.StatusOK || strings.Contains(body, "[missing:") {
				t.Errorf("render(%s, %s, %+v) = %d with a missing message:\n%s", c.Code, vt.tmpl, vt.v, w.Code, body)
			}
			if ph := placeholderRE.FindString(body); ph != "" {
				t.Errorf("render(%s, %s) left placeholder %s", c.Code, vt.tmpl, ph)
			}
			if !strings.Contains(body, `<html lang="`+c.Code+`" dir="`+c.Dir+`">`) {
				t.Errorf("render(%s, %s): no html lang/dir for %s", c.Code, vt.tmpl, c.Code)
			}
			for _, landmark := range []string{"<header>", `<main id="main"`, "<footer>", `<nav aria-label=`} {
				if !strings.Contains(body, landmark) {
					t.Errorf("render(%s, %s): no %s landmark", c.Code, vt.tmpl, landmark)
				}
			}
			for _, link := range []string{`href="https://www.example.org/impressum"`, `href="https://www.example.org/datenschutz"`, `href="https://www.example.org/a11y"`} {
				if !strings.Contains(body, link) {
					t.Errorf("render(%s, %s): footer lacks %s", c.Code, vt.tmpl, link)
				}
			}
			if strings.Contains(strings.ToLower(body), "<script") {
				t.Errorf("render(%s, %s) has a script", c.Code, vt.tmpl)
			}
			if vt.terms && !strings.Contains(body, c.period(s.cfg.Retention)) {
				t.Errorf("render(%s, terms) does not state the retention %q", c.Code, c.period(s.cfg.Retention))
			}
			if vt.st != nil && vt.tmpl == tmplStatus && !strings.Contains(body, c.bytes(vt.st.DataRemaining)) {
				t.Errorf("render(%s, status) lacks the data left %q", c.Code, c.bytes(vt.st.DataRemaining))
			}
		}
	}
}
