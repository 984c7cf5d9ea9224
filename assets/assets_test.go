package assets

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
)

// refLang is the catalog every other one is held against: the portal's
// default language.
const refLang = "de"

// checkCatalogs reports every key that is missing, empty or extra in any
// catalog under i18n/, compared with the reference catalog.
func checkCatalogs(fsys fs.FS) []error {
	names, err := fs.Glob(fsys, "i18n/*.json")
	if err != nil {
		return []error{err}
	}
	cats := map[string]map[string]string{}
	var errs []error
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n, err))
			continue
		}
		cats[strings.TrimSuffix(path.Base(n), ".json")] = m
	}
	ref, ok := cats[refLang]
	if !ok {
		return append(errs, fmt.Errorf("i18n/%s.json is missing", refLang))
	}
	if len(cats) < 2 {
		errs = append(errs, fmt.Errorf("want at least 2 languages, have %d", len(cats)))
	}
	codes := make([]string, 0, len(cats))
	for c := range cats {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, code := range codes {
		cat := cats[code]
		for k, want := range ref {
			if strings.TrimSpace(cat[k]) == "" {
				errs = append(errs, fmt.Errorf("catalog %s: key %q is missing or empty", code, k))
				continue
			}
			// Plural lists ("one: … | other: …") differ by language; the
			// portal checks their forms. Everything else keeps its {names}.
			if !strings.HasPrefix(k, "unit.") || !strings.Contains(want, "other:") {
				if g, w := placeholders(cat[k]), placeholders(want); g != w {
					errs = append(errs, fmt.Errorf("catalog %s: key %q has placeholders %s, want %s", code, k, g, w))
				}
			}
		}
		for k := range cat {
			if _, ok := ref[k]; !ok {
				errs = append(errs, fmt.Errorf("catalog %s: key %q is not in %s.json", code, k, refLang))
			}
		}
		if d := cat["lang.dir"]; d != "ltr" && d != "rtl" {
			errs = append(errs, fmt.Errorf("catalog %s: lang.dir %q is not ltr or rtl", code, d))
		}
	}
	return errs
}

var placeholderRE = regexp.MustCompile(`\{[a-zA-Z]+\}`)

// placeholders lists the distinct {names} of a message, sorted.
func placeholders(s string) string {
	ps := placeholderRE.FindAllString(s, -1)
	sort.Strings(ps)
	return fmt.Sprint(slices.Compact(ps))
}

func TestCatalogs(t *testing.T) {
	for _, err := range checkCatalogs(FS()) {
		t.Error(err)
	}
}

// TestCheckCatalogs makes sure the completeness check itself can fail.
func TestCheckCatalogs(t *testing.T) {
	good := `{"lang.name":"X","lang.dir":"ltr","a":"1"}`
	tests := []struct {
		name  string
		files map[string]string
		want  int // number of problems
	}{
		{"complete", map[string]string{"de": good, "en": good}, 0},
		{"missing key", map[string]string{"de": good, "en": `{"lang.name":"X","lang.dir":"ltr"}`}, 1},
		{"empty value", map[string]string{"de": good, "en": `{"lang.name":"X","lang.dir":"ltr","a":" "}`}, 1},
		{"extra key", map[string]string{"de": good, "en": `{"lang.name":"X","lang.dir":"ltr","a":"1","b":"2"}`}, 1},
		{"bad dir", map[string]string{"de": good, "en": `{"lang.name":"X","lang.dir":"up","a":"1"}`}, 1},
		{"lost placeholder", map[string]string{"de": `{"lang.name":"X","lang.dir":"ltr","a":"{n} x"}`, "en": good}, 1},
		{"not strings", map[string]string{"de": good, "en": `{"a":1}`, "fr": good}, 1},
		{"no reference", map[string]string{"en": good, "fr": good}, 1},
		{"one language", map[string]string{"de": good}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for code, body := range tt.files {
				fsys["i18n/"+code+".json"] = &fstest.MapFile{Data: []byte(body)}
			}
			if got := checkCatalogs(fsys); len(got) != tt.want {
				t.Errorf("checkCatalogs(%s) = %v, want %d problems", tt.name, got, tt.want)
			}
		})
	}
}

// TestNoScript keeps the portal free of JavaScript: captive mini browsers
// may not run it, and the CSP forbids it anyway.
func TestNoScript(t *testing.T) {
	err := fs.WalkDir(FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(FS(), p)
		if err != nil {
			return err
		}
		low := strings.ToLower(string(b))
		for _, bad := range []string{"<script", "javascript:", " onload=", " onclick=", "target=\"_blank\""} {
			if strings.Contains(low, bad) {
				t.Errorf("%s contains %q", p, bad)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStaticBudget keeps the stylesheet and logo small: page, CSS and logo
// together must stay well under 30 KB on a slow captive link.
func TestStaticBudget(t *testing.T) {
	const budget = 8 << 10
	total := 0
	for _, p := range []string{"static/style.css", "static/logo.svg"} {
		b, err := fs.ReadFile(FS(), p)
		if err != nil {
			t.Fatal(err)
		}
		total += len(b)
	}
	if total > budget {
		t.Errorf("static files = %d bytes, want at most %d", total, budget)
	}
}
