package portal

import (
	"html/template"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestRenderMarkdown(t *testing.T) {
	tests := []struct {
		name, in string
		want     template.HTML
	}{
		{"paragraphs", "One\nline.\n\nTwo.", "<p>One line.</p>\n<p>Two.</p>\n"},
		{"bullets", "- a\n* b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"},
		{"numbers", "1. a\n2) b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>\n"},
		{"heading, list, paragraph", "# Use\n- a\nAfter", "<h3>Use</h3>\n<ul>\n<li>a</li>\n</ul>\n<p>After</p>\n"},
		{"deep heading", "### Small", "<h5>Small</h5>\n"},
		{"too deep is text", "#### x", "<p>#### x</p>\n"},
		{"escaped", "<script>alert(1)</script> & \"q\"", "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;q&#34;</p>\n"},
		{"bold", "**free** of charge", "<p><strong>free</strong> of charge</p>\n"},
		{"link", "See [the full terms](https://example.org/terms?a=1&b=2).", `<p>See <a href="https://example.org/terms?a=1&amp;b=2">the full terms</a>.</p>` + "\n"},
		{"javascript link stays text", "[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>\n"},
		{"relative link stays text", "[x](/terms)", "<p>[x](/terms)</p>\n"},
		{"CRLF", "a\r\n\r\nb", "<p>a</p>\n<p>b</p>\n"},
	}
	for _, tt := range tests {
		if got := renderMarkdown(tt.in); got != tt.want {
			t.Errorf("renderMarkdown(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got, want := renderText("a <b>\nc\n\nd"), template.HTML("<p>a &lt;b&gt; c</p>\n<p>d</p>\n"); got != want {
		t.Errorf("renderText = %q, want %q", got, want)
	}
}

func TestLoadTerms(t *testing.T) {
	def, err := LoadTerms("")
	if err != nil {
		t.Fatalf("LoadTerms(embedded) = %v", err)
	}
	if def.Version() != "2026-11" {
		t.Errorf("embedded terms version = %q, want 2026-11", def.Version())
	}
	if len(def.texts) != 10 {
		t.Errorf("embedded terms have %d languages, want 10", len(def.texts))
	}
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name  string
		files fstest.MapFS
		want  string // in the error; "" for none
	}{
		{"good", fstest.MapFS{"VERSION": file("v7\n"), "de.md": file("- a"), "en.txt": file("b"), "fr.html": file("<p>c</p>")}, ""},
		{"stray file", fstest.MapFS{"VERSION": file("1"), "de.md": file("a"), "README": file("notes")}, "README: want <language>.md"},
		{"minimal", fstest.MapFS{"VERSION": file("2027-01.1"), "de.md": file("a"), ".hidden": file("x")}, ""},
		{"no VERSION", fstest.MapFS{"de.md": file("a")}, "VERSION"},
		{"empty VERSION", fstest.MapFS{"VERSION": file(" \n"), "de.md": file("a")}, "VERSION"},
		{"VERSION with spaces", fstest.MapFS{"VERSION": file("new terms"), "de.md": file("a")}, "VERSION"},
		{"no German", fstest.MapFS{"VERSION": file("1"), "en.md": file("a")}, "de.md"},
		{"bad tag", fstest.MapFS{"VERSION": file("1"), "de.md": file("a"), "english.md": file("a")}, "canonical language tag"},
		{"two files for one language", fstest.MapFS{"VERSION": file("1"), "de.md": file("a"), "de.txt": file("a")}, "a second file"},
		{"empty", fstest.MapFS{"VERSION": file("1"), "de.md": file(" \n")}, "empty"},
		{"not UTF-8", fstest.MapFS{"VERSION": file("1"), "de.md": file("\xff")}, "UTF-8"},
		{"too big", fstest.MapFS{"VERSION": file("1"), "de.md": file(strings.Repeat("a", maxTermsFile+1))}, "page budget"},
		{"script", fstest.MapFS{"VERSION": file("1"), "de.html": file("<SCRIPT>x</script>")}, "script"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadTerms(tt.files, "test")
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("loadTerms(%s) = %v, want nil", tt.name, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("loadTerms(%s) = %v, want an error with %q", tt.name, err, tt.want)
			}
		})
	}
}

// TestTermsDir runs the portal on an operator's terms directory: their
// text and version are shown, a language without a file gets English with a
// note, and a language without a catalog is refused.
func TestTermsDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("VERSION", "2027-03\n")
	write("de.md", "# Regeln\n- Seien Sie nett.\n")
	write("en.md", "- Be nice.\n")
	if _, err := LoadTerms(filepath.Join(dir, "missing")); err == nil {
		t.Errorf("LoadTerms(missing dir) = nil error")
	}
	env := newEnv(t, func(c *Config) { c.TermsDir = dir })
	tests := []struct {
		lang     string
		contains []string
	}{
		{"de", []string{"<h3>Regeln</h3>", "Seien Sie nett.", "Fassung 2027-03"}},
		{"en", []string{"Be nice.", "Version 2027-03"}},
		{"fr", []string{`lang="en"`, "Be nice.", "disponibles en français", "English", "Version 2027-03"}},
		{"ar", []string{`<div class="terms" lang="en" dir="ltr">`, "Be nice."}},
	}
	for _, tt := range tests {
		w := env.get(signed(nil) + "&lang=" + tt.lang)
		if w.Code != http.StatusOK {
			t.Fatalf("GET terms in %s = %d", tt.lang, w.Code)
		}
		for _, s := range tt.contains {
			if !strings.Contains(w.Body.String(), s) {
				t.Errorf("terms in %s lack %q", tt.lang, s)
			}
		}
	}
	write("xx.md", "?")
	cfg := Config{FormKey: testFormKey, TermsDir: dir}
	if _, err := New(cfg, testNASes(t), &fakeStore{}, nil, nil); err == nil || !strings.Contains(err.Error(), `"xx"`) {
		t.Errorf("New with terms for a language without catalog = %v, want an error naming xx", err)
	}
}
