package portal

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"golang.org/x/text/language"
)

// defaultLang is the language of anyone who asks for none we have: the
// portal serves a German city.
const defaultLang = "de"

// maxAcceptLanguage bounds the header we parse; real ones are short.
const maxAcceptLanguage = 512

// catalog is one language's UI strings, loaded from assets/i18n/<code>.json.
type catalog struct {
	Code string // BCP 47 tag as in the file name, e.g. "de"
	Name string // the language's name for itself ("lang.name")
	Dir  string // "ltr" or "rtl" ("lang.dir")
	msgs map[string]string
}

// languages are the catalogs the portal offers, the default first, and the
// matcher that picks one for a request.
type languages struct {
	list    []*catalog
	matcher language.Matcher
}

// loadLanguages reads every catalog under i18n/. Each must parse, be named
// by a valid language tag and hold exactly the keys of the default
// language's catalog, none empty: a half-translated page is a bug we would
// rather catch at start than show to a visitor.
func loadLanguages(fsys fs.FS) (*languages, error) {
	names, err := fs.Glob(fsys, "i18n/*.json")
	if err != nil {
		return nil, fmt.Errorf("portal: catalogs: %w", err)
	}
	var list []*catalog
	for _, n := range names {
		code := strings.TrimSuffix(path.Base(n), ".json")
		tag, err := language.Parse(code)
		if err != nil || tag.String() != code {
			return nil, fmt.Errorf("portal: catalog %s: %q is not a canonical language tag", n, code)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("portal: catalog %s: %w", n, err)
		}
		c := &catalog{Code: code}
		if err := json.Unmarshal(b, &c.msgs); err != nil {
			return nil, fmt.Errorf("portal: catalog %s: %w", n, err)
		}
		c.Name, c.Dir = c.msgs["lang.name"], c.msgs["lang.dir"]
		if c.Dir != "ltr" && c.Dir != "rtl" {
			return nil, fmt.Errorf("portal: catalog %s: lang.dir %q is not ltr or rtl", n, c.Dir)
		}
		list = append(list, c)
	}
	// The default language first: the matcher falls back to index 0.
	sort.Slice(list, func(i, j int) bool {
		if (list[i].Code == defaultLang) != (list[j].Code == defaultLang) {
			return list[i].Code == defaultLang
		}
		return list[i].Code < list[j].Code
	})
	if len(list) == 0 || list[0].Code != defaultLang {
		return nil, fmt.Errorf("portal: catalogs: i18n/%s.json is missing", defaultLang)
	}
	ref := list[0].msgs
	tags := make([]language.Tag, len(list))
	for i, c := range list {
		tags[i] = language.MustParse(c.Code)
		for k := range ref {
			if strings.TrimSpace(c.msgs[k]) == "" {
				return nil, fmt.Errorf("portal: catalog %s: key %q is missing or empty", c.Code, k)
			}
		}
		for k := range c.msgs {
			if _, ok := ref[k]; !ok {
				return nil, fmt.Errorf("portal: catalog %s: key %q is not in %s", c.Code, k, defaultLang)
			}
		}
	}
	return &languages{list: list, matcher: language.NewMatcher(tags)}, nil
}

// pick chooses the page language: the lang parameter if we have that
// language (or a close one: "de-AT" gets German), else the best match for
// Accept-Language, else German.
func (l *languages) pick(param, acceptLanguage string) *catalog {
	if param != "" && len(param) <= 35 {
		if t, err := language.Parse(param); err == nil {
			if _, i, conf := l.matcher.Match(t); conf != language.No {
				return l.list[i]
			}
		}
	}
	if acceptLanguage != "" && len(acceptLanguage) <= maxAcceptLanguage {
		if tags, _, err := language.ParseAcceptLanguage(acceptLanguage); err == nil && len(tags) > 0 {
			if _, i, conf := l.matcher.Match(tags...); conf != language.No {
				return l.list[i]
			}
		}
	}
	return l.list[0]
}

// lastLang returns the last lang value of a query: the portal's language
// switch appends one after the NAS's own.
func lastLang(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}
