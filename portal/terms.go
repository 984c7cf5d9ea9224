package portal

import (
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/language"

	"hotspot/assets"
)

// Terms are the operator's terms of use: one text per language and the
// version they all share. The version is the single source of truth for
// "which terms did this device accept": the daemon hands it to the session
// store, which binds grants and remembered devices to it, so a new VERSION
// brings the terms page back to every remembered device.
//
// A terms directory holds
//
//	VERSION        the version, e.g. "2026-11" (letters, digits, . _ - + :)
//	de.md          German, required: the portal's default language
//	en.md, ar.md … one file per language, named by its BCP 47 tag
//
// A text is Markdown (.md: paragraphs, "- " or "1. " lists, "#" headings,
// **bold**, [links](https://…)), plain text (.txt: paragraphs) or an HTML
// fragment (.html, used as it is: the operator's files are as trusted as the
// templates). A language without a file gets the English text, else the
// German one, with a note saying so.
type Terms struct {
	version string
	texts   map[string]template.HTML // by language code
}

// Limits of a terms directory.
const (
	maxTermsFile    = 64 << 10
	maxTermsVersion = 64
)

var termsVersionRE = regexp.MustCompile(`^[A-Za-z0-9._+:-]+$`)

// LoadTerms loads the terms in dir, or the embedded defaults when dir is
// empty. Errors name the file and the problem.
func LoadTerms(dir string) (*Terms, error) {
	if dir == "" {
		sub, err := fs.Sub(assets.FS(), "terms")
		if err != nil {
			return nil, fmt.Errorf("portal: embedded terms: %w", err)
		}
		return loadTerms(sub, "embedded terms")
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("portal.terms_dir: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("portal.terms_dir: %s is not a directory", dir)
	}
	return loadTerms(os.DirFS(dir), dir)
}

func loadTerms(fsys fs.FS, where string) (*Terms, error) {
	fail := func(format string, args ...any) (*Terms, error) {
		return nil, fmt.Errorf("portal: terms (%s): %s", where, fmt.Sprintf(format, args...))
	}
	b, err := fs.ReadFile(fsys, "VERSION")
	if err != nil {
		return fail("VERSION: %v", err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" || len(v) > maxTermsVersion || !termsVersionRE.MatchString(v) {
		return fail("VERSION %q must be 1 to %d letters, digits or . _ - + :", v, maxTermsVersion)
	}
	t := &Terms{version: v, texts: map[string]template.HTML{}}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return fail("%v", err)
	}
	for _, e := range entries {
		name := e.Name()
		ext := path.Ext(name)
		if e.IsDir() || name == "VERSION" || strings.HasPrefix(name, ".") {
			continue
		}
		if ext != ".md" && ext != ".txt" && ext != ".html" {
			return fail("%s: want <language>.md, .txt or .html", name)
		}
		code := strings.TrimSuffix(name, ext)
		if tag, err := language.Parse(code); err != nil || tag.String() != code {
			return fail("%s: %q is not a canonical language tag (de, en, zh-Hans, …)", name, code)
		}
		if _, dup := t.texts[code]; dup {
			return fail("%s: a second file for %s", name, code)
		}
		src, err := fs.ReadFile(fsys, name)
		switch {
		case err != nil:
			return fail("%v", err)
		case len(src) > maxTermsFile:
			return fail("%s is %d bytes; at most %d fit the page budget", name, len(src), maxTermsFile)
		case !utf8.Valid(src):
			return fail("%s is not UTF-8", name)
		case strings.TrimSpace(string(src)) == "":
			return fail("%s is empty", name)
		}
		switch ext {
		case ".md":
			t.texts[code] = renderMarkdown(string(src))
		case ".txt":
			t.texts[code] = renderText(string(src))
		default:
			if strings.Contains(strings.ToLower(string(src)), "<script") {
				return fail("%s contains a script; the portal runs none", name)
			}
			t.texts[code] = template.HTML(src) // the operator's own markup
		}
	}
	if _, ok := t.texts[defaultLang]; !ok {
		return fail("%s.md (or .txt, .html) is missing: the default language needs the terms", defaultLang)
	}
	return t, nil
}

// Version is the version of the terms, from their VERSION file.
func (t *Terms) Version() string { return t.version }

// text returns the terms for the language code and the code of the text
// shown: code itself, else English, else German.
func (t *Terms) text(code string) (template.HTML, string) {
	for _, c := range []string{code, "en", defaultLang} {
		if h, ok := t.texts[c]; ok {
			return h, c
		}
	}
	return "", "" // unreachable: loadTerms requires the default language
}

// check returns an error naming any terms language that has no UI
// catalog: its text could never be shown.
func (t *Terms) check(langs *languages) error {
	var errs []error
	for code := range t.texts {
		if _, ok := langs.byCode[code]; !ok {
			errs = append(errs, fmt.Errorf("portal: terms for %q, a language the portal has no catalog for", code))
		}
	}
	return errors.Join(errs...)
}

// renderText turns plain text into paragraphs.
func renderText(src string) template.HTML {
	var b strings.Builder
	for _, para := range splitBlocks(src) {
		b.WriteString("<p>")
		b.WriteString(template.HTMLEscapeString(strings.Join(para, " ")))
		b.WriteString("</p>\n")
	}
	return template.HTML(b.String())
}

// splitBlocks splits text into blocks of trimmed lines at blank lines.
func splitBlocks(src string) [][]string {
	var blocks [][]string
	var cur []string
	for line := range strings.Lines(strings.ReplaceAll(src, "\r\n", "\n")) {
		line = strings.TrimSpace(line)
		if line == "" {
			if len(cur) > 0 {
				blocks = append(blocks, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, line)
	}
	if len(cur) > 0 {
		blocks = append(blocks, cur)
	}
	return blocks
}

var orderedRE = regexp.MustCompile(`^[0-9]{1,3}[.)] `)

// renderMarkdown renders the small Markdown subset terms need: headings
// ("#" becomes h3, since the page has h1 and the section h2), paragraphs,
// bullet and numbered lists, **bold** and [text](http(s) URL). Everything
// else is text, escaped.
func renderMarkdown(src string) template.HTML {
	var b strings.Builder
	list := "" // "ul" or "ol" while inside a list
	closeList := func() {
		if list != "" {
			b.WriteString("</" + list + ">\n")
			list = ""
		}
	}
	for _, block := range splitBlocks(src) {
		var para []string
		flush := func() {
			if len(para) > 0 {
				b.WriteString("<p>" + inline(strings.Join(para, " ")) + "</p>\n")
				para = nil
			}
		}
		for _, line := range block {
			var kind, item string
			switch {
			case strings.HasPrefix(line, "#"):
				level := len(line) - len(strings.TrimLeft(line, "#"))
				text := strings.TrimSpace(line[level:])
				if level <= 3 && text != "" {
					flush()
					closeList()
					h := fmt.Sprintf("h%d", min(level+2, 5))
					b.WriteString("<" + h + ">" + inline(text) + "</" + h + ">\n")
					continue
				}
			case strings.HasPrefix(line, "- "), strings.HasPrefix(line, "* "):
				kind, item = "ul", line[2:]
			case orderedRE.MatchString(line):
				kind, item = "ol", line[strings.IndexByte(line, ' ')+1:]
			}
			if kind == "" {
				if list != "" {
					// A continuation line of the last item would need
					// nesting we do not support; it starts a paragraph.
					closeList()
				}
				para = append(para, line)
				continue
			}
			flush()
			if list != kind {
				closeList()
				b.WriteString("<" + kind + ">\n")
				list = kind
			}
			b.WriteString("<li>" + inline(strings.TrimSpace(item)) + "</li>\n")
		}
		flush()
		closeList()
	}
	return template.HTML(b.String())
}

var (
	linkRE = regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+)\)`)
	boldRE = regexp.MustCompile(`\*\*([^*]+)\*\*`)
)

// inline escapes s and renders its links and bold text. A link whose
// target is not an absolute http(s) URL stays text.
func inline(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range linkRE.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(bold(s[last:m[0]]))
		text, href := s[m[2]:m[3]], s[m[4]:m[5]]
		if isWebURL(href) {
			b.WriteString(`<a href="` + template.HTMLEscapeString(href) + `">` + bold(text) + "</a>")
		} else {
			b.WriteString(bold(s[m[0]:m[1]]))
		}
		last = m[1]
	}
	b.WriteString(bold(s[last:]))
	return b.String()
}

func bold(s string) string {
	return boldRE.ReplaceAllString(template.HTMLEscapeString(s), "<strong>$1</strong>")
}
