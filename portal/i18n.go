package portal

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// defaultLang is the language of anyone who asks for none we have: the
// portal serves a German city.
const defaultLang = "de"

// maxAcceptLanguage bounds the header we parse; real ones are short.
const maxAcceptLanguage = 512

// catalog is one language's UI strings, loaded from i18n/<code>.json, with
// what it takes to format numbers, dates and plurals in that language.
type catalog struct {
	Code string // BCP 47 tag as in the file name, e.g. "de"
	Name string // the language's name for itself ("lang.name")
	Dir  string // "ltr" or "rtl" ("lang.dir")
	msgs map[string]string

	tag     language.Tag
	printer *message.Printer                  // numbers in the language's own digits and separators
	plurals map[string]map[plural.Form]string // the forms of each pluralKeys message
}

// pluralKeys are the messages that are lists of CLDR plural forms, written
// "one: {n} Tag | other: {n} Tage", rather than plain text. Each catalog
// must have every form its language needs for whole numbers, and "other".
var pluralKeys = []string{"unit.days", "unit.hours", "unit.minutes"}

var formNames = map[string]plural.Form{
	"zero": plural.Zero, "one": plural.One, "two": plural.Two,
	"few": plural.Few, "many": plural.Many, "other": plural.Other,
}

// placeholderRE finds the {name} placeholders of a message.
var placeholderRE = regexp.MustCompile(`\{[a-zA-Z]+\}`)

// languages are the catalogs the portal offers, the default first, and the
// matcher that picks one for a request.
type languages struct {
	list    []*catalog
	byCode  map[string]*catalog
	matcher language.Matcher
}

// loadLanguages reads every catalog under i18n/. Each must parse, be named
// by a canonical language tag and hold exactly the keys of the default
// language's catalog, none empty, with the same placeholders, and plural
// messages with every form the language needs: a half-translated page is a
// bug we would rather catch at start than show to a visitor.
func loadLanguages(fsys fs.FS) (*languages, error) {
	names, err := fs.Glob(fsys, "i18n/*.json")
	if err != nil {
		return nil, fmt.Errorf("portal: catalogs: %w", err)
	}
	var list []*catalog
	for _, n := range names {
		c, err := loadCatalog(fsys, n)
		if err != nil {
			return nil, err
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
	for _, k := range pluralKeys {
		if _, ok := ref[k]; !ok {
			return nil, fmt.Errorf("portal: catalog %s: key %q is missing", defaultLang, k)
		}
	}
	l := &languages{list: list, byCode: map[string]*catalog{}}
	tags := make([]language.Tag, len(list))
	for i, c := range list {
		tags[i] = c.tag
		l.byCode[c.Code] = c
		if err := c.check(ref); err != nil {
			return nil, err
		}
	}
	l.matcher = language.NewMatcher(tags)
	return l, nil
}

func loadCatalog(fsys fs.FS, name string) (*catalog, error) {
	code := strings.TrimSuffix(path.Base(name), ".json")
	tag, err := language.Parse(code)
	if err != nil || tag.String() != code {
		return nil, fmt.Errorf("portal: catalog %s: %q is not a canonical language tag", name, code)
	}
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("portal: catalog %s: %w", name, err)
	}
	c := &catalog{Code: code, tag: tag, printer: message.NewPrinter(tag)}
	if err := json.Unmarshal(b, &c.msgs); err != nil {
		return nil, fmt.Errorf("portal: catalog %s: %w", name, err)
	}
	c.Name, c.Dir = c.msgs["lang.name"], c.msgs["lang.dir"]
	if c.Dir != "ltr" && c.Dir != "rtl" {
		return nil, fmt.Errorf("portal: catalog %s: lang.dir %q is not ltr or rtl", name, c.Dir)
	}
	return c, nil
}

// check holds c against the reference catalog: the same keys, none empty,
// the same placeholders in each message, and complete plural messages.
func (c *catalog) check(ref map[string]string) error {
	for k, want := range ref {
		got := c.msgs[k]
		if strings.TrimSpace(got) == "" {
			return fmt.Errorf("portal: catalog %s: key %q is missing or empty", c.Code, k)
		}
		if slices.Contains(pluralKeys, k) {
			continue
		}
		if g, w := placeholders(got), placeholders(want); !slices.Equal(g, w) {
			return fmt.Errorf("portal: catalog %s: key %q has placeholders %v, want %v as in %s", c.Code, k, g, w, defaultLang)
		}
	}
	for k := range c.msgs {
		if _, ok := ref[k]; !ok {
			return fmt.Errorf("portal: catalog %s: key %q is not in %s", c.Code, k, defaultLang)
		}
	}
	c.plurals = map[string]map[plural.Form]string{}
	for _, k := range pluralKeys {
		forms, err := parsePlural(c.msgs[k])
		if err != nil {
			return fmt.Errorf("portal: catalog %s: key %q: %w", c.Code, k, err)
		}
		for _, n := range pluralSamples {
			if f := plural.Cardinal.MatchPlural(c.tag, n, 0, 0, 0, 0); forms[f] == "" {
				return fmt.Errorf("portal: catalog %s: key %q lacks the form %s, which %s uses for %d",
					c.Code, k, formName(f), c.Code, n)
			}
		}
		c.plurals[k] = forms
	}
	return nil
}

// pluralSamples are whole numbers that between them hit every plural form
// any language uses for integers.
var pluralSamples = func() []int {
	var s []int
	for n := range 220 {
		s = append(s, n)
	}
	return append(s, 1000, 1001, 1002, 1005, 1011, 1_000_000)
}()

// parsePlural parses "one: {n} Tag | other: {n} Tage". Every form must be
// a CLDR form name, appear once, and use no placeholder but {n}; "other"
// is required.
func parsePlural(s string) (map[plural.Form]string, error) {
	forms := map[plural.Form]string{}
	for part := range strings.SplitSeq(s, "|") {
		name, text, ok := strings.Cut(part, ":")
		name, text = strings.TrimSpace(name), strings.TrimSpace(text)
		f, known := formNames[name]
		switch {
		case !ok || !known:
			return nil, fmt.Errorf("%q is not \"form: text\" with a CLDR plural form (zero, one, two, few, many, other)", strings.TrimSpace(part))
		case text == "":
			return nil, fmt.Errorf("form %s is empty", name)
		case forms[f] != "":
			return nil, fmt.Errorf("form %s appears twice", name)
		}
		for _, p := range placeholders(text) {
			if p != "{n}" {
				return nil, fmt.Errorf("form %s has placeholder %s; only {n} is allowed", name, p)
			}
		}
		forms[f] = text
	}
	if forms[plural.Other] == "" {
		return nil, fmt.Errorf("the form other is missing")
	}
	return forms, nil
}

func formName(f plural.Form) string {
	for n, g := range formNames {
		if g == f {
			return n
		}
	}
	return fmt.Sprint(f)
}

// placeholders returns the sorted, distinct placeholders of s.
func placeholders(s string) []string {
	ps := placeholderRE.FindAllString(s, -1)
	slices.Sort(ps)
	return slices.Compact(ps)
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
