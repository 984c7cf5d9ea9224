package portal

import (
	"io/fs"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestContrast(t *testing.T) {
	tests := []struct {
		a, b string
		want float64
	}{
		{"#000", "#fff", 21},
		{"#ffffff", "#ffffff", 1},
		{"#0b5394", "#ffffff", 7.84},
		{"#777777", "#ffffff", 4.48},
	}
	for _, tt := range tests {
		if got := contrast(tt.a, tt.b); math.Abs(got-tt.want) > 0.01 {
			t.Errorf("contrast(%s, %s) = %.2f, want %.2f", tt.a, tt.b, got, tt.want)
		}
	}
	// The built-in colours pass the same check as configured ones.
	if errs := (Colors{Accent: "#0b5394", AccentDark: "#8ab4f8"}).validate(); len(errs) != 0 {
		t.Errorf("default colours: %v", errs)
	}
}

func TestOverlay(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	base := fstest.MapFS{"static/a.css": file("base a"), "static/b.svg": file("base b"), "i18n/de.json": file("{}")}
	top := fstest.MapFS{"static/a.css": file("top a"), "static/c.png": file("top c")}
	o := overlay{top: top, base: base}
	for name, want := range map[string]string{"static/a.css": "top a", "static/b.svg": "base b", "static/c.png": "top c", "i18n/de.json": "{}"} {
		if b, err := fs.ReadFile(o, name); err != nil || string(b) != want {
			t.Errorf("ReadFile(%s) = %q, %v, want %q", name, b, err, want)
		}
	}
	if _, err := fs.ReadFile(o, "static/none"); err == nil {
		t.Errorf("ReadFile(static/none) = nil error")
	}
	entries, err := fs.ReadDir(o, "static")
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"a.css", "b.svg", "c.png"}; err != nil || !slices.Equal(names, want) {
		t.Errorf("ReadDir(static) = %v, %v, want %v", names, err, want)
	}
	if m, err := fs.Glob(o, "i18n/*.json"); err != nil || len(m) != 1 {
		t.Errorf("Glob(i18n/*.json) = %v, %v", m, err)
	}
}

// TestBranding runs the portal with colours, footer links, a logo and an
// overrides directory that replaces a template, adds a language and an
// image, and changes a message.
func TestBranding(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("static/stadt.png", "\x89PNG fake")
	write("templates/info.html", `{{define "title"}}{{.T "info.title"}}{{end}}{{define "content"}}<h1>Willkommen in Leipzig</h1>{{end}}`)
	de, err := fs.ReadFile(os.DirFS("../assets"), "i18n/de.json")
	if err != nil {
		t.Fatal(err)
	}
	write("i18n/de.json", strings.Replace(string(de), "Kostenlos ins Internet", "Leipzig surft kostenlos", 1))
	env := newEnv(t, func(c *Config) {
		c.OverridesDir = dir
		c.Logo = "stadt.png"
		c.Colors = Colors{Accent: "#8B0000", AccentDark: "#ffb4a8"}
		c.FooterLinks = []FooterLink{{URL: "https://www.leipzig.de/barrierefreiheit", Label: map[string]string{"de": "Barrierefreiheit"}}}
	})
	info := env.get(portalBase).Body.String()
	for _, s := range []string{"Willkommen in Leipzig", `src="/static/stadt.png?v=`, `href="https://www.leipzig.de/barrierefreiheit"`} {
		if !strings.Contains(info, s) {
			t.Errorf("info page lacks %q:\n%s", s, info)
		}
	}
	// German label on the English page, marked as German.
	if en := env.get(portalBase + "?lang=en").Body.String(); !strings.Contains(en, `lang="de">Barrierefreiheit</a>`) {
		t.Errorf("English page: footer link not marked German:\n%s", en)
	}
	if terms := env.get(signed(nil)).Body.String(); !strings.Contains(terms, "Leipzig surft kostenlos") {
		t.Errorf("terms page does not use the overridden catalog")
	}
	css := env.get(portalBase + "static/style.css").Body.String()
	if !strings.HasSuffix(css, ":root{--accent:#8b0000}\n@media (prefers-color-scheme:dark){:root{--accent:#ffb4a8}}\n") {
		t.Errorf("style.css does not end with the theme:\n%s", css[max(0, len(css)-200):])
	}
	w := env.get(portalBase + "static/stadt.png")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "image/png" {
		t.Errorf("GET /static/stadt.png = %d %q", w.Code, w.Header().Get("Content-Type"))
	}

	// Broken overrides stop the portal with a clear error.
	for _, tt := range []struct {
		name, file, body, want string
	}{
		{"broken template", "templates/terms.html", "{{define", "template terms"},
		{"incomplete catalog", "i18n/fr.json", `{"lang.name":"X","lang.dir":"ltr"}`, "catalog fr: key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad := t.TempDir()
			p := filepath.Join(bad, tt.file)
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.WriteFile(p, []byte(tt.body), 0o644)
			_, err := New(Config{FormKey: testFormKey, OverridesDir: bad}, testNASes(t), &fakeStore{}, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New with %s = %v, want an error with %q", tt.name, err, tt.want)
			}
		})
	}
	if _, err := New(Config{FormKey: testFormKey, Logo: "missing.svg"}, testNASes(t), &fakeStore{}, nil, nil); err == nil {
		t.Errorf("New with a missing logo = nil error")
	}
}
