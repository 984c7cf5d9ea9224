package portal

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// The page templates; each defines "title" and "content" for the layout.
const (
	tmplInfo   = "info"
	tmplTerms  = "terms"
	tmplStatus = "status"
	tmplQuota  = "quota"
	tmplError  = "error"
)

var templateNames = []string{tmplInfo, tmplTerms, tmplStatus, tmplQuota, tmplError}

// parsePages parses each page together with the shared layout.
func parsePages(fsys fs.FS) (map[string]*template.Template, error) {
	pages := make(map[string]*template.Template, len(templateNames))
	for _, name := range templateNames {
		t, err := template.ParseFS(fsys, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("portal: template %s: %w", name, err)
		}
		pages[name] = t.Option("missingkey=error")
	}
	return pages, nil
}

// view is what every template renders from.
type view struct {
	Lang      *catalog
	Site      string
	CSS       string // stylesheet URL, versioned for caching
	Logo      string // logo URL, versioned
	Imprint   string
	Privacy   string
	Links     []footerLink
	Languages []langLink // empty where there is no GET URL to switch

	Status    int    // the error page's HTTP status
	RetryURL  string // the error page's "try again" link, for GET pages
	Res       string // the terms page's CoovaChilli res
	Form      *acceptForm
	UserURL   string // validated http(s) URL, or ""
	LogoffURL string
	Already   bool

	// The terms page.
	Terms        template.HTML
	TermsLang    string // the language of Terms when it is not the page's
	TermsVersion string
	Retention    string // how long usage data are kept, in words

	// The status and quota pages; nil when the store could not tell.
	Allowance *allowance

	langs *languages
}

// footerLink is one configured footer link in the page's language.
type footerLink struct {
	Text, URL string
	Lang      string // set when the text is in another language than the page
}

// T returns the message for key in the page's language. Catalogs are
// complete (loadLanguages checks) and templates use known keys (a test
// checks), so the marker only shows when both checks were bypassed.
func (v *view) T(key string) string {
	if m, ok := v.Lang.msgs[key]; ok {
		return m
	}
	return "[missing: " + key + "]"
}

// Tf returns the message for key with its placeholders filled in; kv
// alternates placeholder names (without braces) and values. Values are
// text: html/template escapes the result like any other.
func (v *view) Tf(key string, kv ...string) string {
	return fill(v.T(key), kv...)
}

// LangName returns the name of the language code in that language.
func (v *view) LangName(code string) string {
	if c := v.langs.byCode[code]; c != nil {
		return c.Name
	}
	return code
}

// LangDir returns the writing direction of the language code.
func (v *view) LangDir(code string) string {
	if c := v.langs.byCode[code]; c != nil {
		return c.Dir
	}
	return "ltr"
}

// langLink is one entry of the language switch.
type langLink struct {
	Code, Name, Href string
	Current          bool
}

// newView returns a view in cat. With withSwitch it offers the language
// switch, links that keep rawQuery and set lang; pages answering a POST have
// no URL to keep and carry the language in their forms instead.
func (s *Server) newView(cat *catalog, rawQuery string, withSwitch bool) *view {
	v := &view{
		Lang:    cat,
		Site:    s.cfg.SiteName,
		CSS:     s.css,
		Logo:    s.logo,
		Imprint: s.cfg.ImprintURL,
		Privacy: s.cfg.PrivacyURL,
		langs:   s.langs,
	}
	for _, l := range s.cfg.FooterLinks {
		text, lang := l.label(cat.Code)
		fl := footerLink{Text: text, URL: l.URL}
		if lang != cat.Code {
			fl.Lang = lang
		}
		v.Links = append(v.Links, fl)
	}
	if withSwitch {
		for _, c := range s.langs.list {
			v.Languages = append(v.Languages, langLink{
				Code:    c.Code,
				Name:    c.Name,
				Href:    "?" + withLang(rawQuery, c.Code),
				Current: c == cat,
			})
		}
	}
	return v
}

// withTerms adds the terms of use and the privacy summary's numbers.
func (s *Server) withTerms(v *view) {
	text, code := s.terms.text(v.Lang.Code)
	v.Terms, v.TermsVersion = text, s.terms.Version()
	if code != v.Lang.Code {
		v.TermsLang = code
	}
	v.Retention = v.Lang.period(s.cfg.Retention)
}

// withLang returns rawQuery with its language set to code. Everything up to
// and including md stays byte for byte, or md would no longer match; lang
// parameters after it (the switch's own) are replaced.
func withLang(rawQuery, code string) string {
	var parts []string
	tail := rawQuery
	if signed, md, t, ok := splitMD(rawQuery); ok {
		parts = append(parts, signed+"&md="+md)
		tail = t
	}
	for p := range strings.SplitSeq(tail, "&") {
		if p == "" || p == "lang" || strings.HasPrefix(p, "lang=") {
			continue
		}
		parts = append(parts, p)
	}
	return strings.Join(append(parts, "lang="+url.QueryEscape(code)), "&")
}

// render writes the page tmpl with status and counts it as page.
func (s *Server) render(c *gin.Context, status int, tmpl, page string, v *view) {
	var buf bytes.Buffer
	if err := s.pages[tmpl].ExecuteTemplate(&buf, "layout", v); err != nil {
		// Only a broken template gets here; tests render every page.
		s.log.Error("portal: render", "page", page, "err", err)
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("internal error\n"))
		return
	}
	s.m.views.WithLabelValues(page).Inc()
	c.Header("Cache-Control", "no-store")
	c.Header("Content-Language", v.Lang.Code)
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// fail renders the error page for status.
func (s *Server) fail(c *gin.Context, status int, v *view) {
	v.Status = status
	page := pageInternal
	switch status {
	case http.StatusBadRequest:
		page = pageBadRequest
	case http.StatusForbidden:
		page = pageForbidden
	case http.StatusNotFound:
		page = pageNotFound
	case http.StatusTooManyRequests:
		page = pageTooMany
	case http.StatusServiceUnavailable:
		page = pageUnavailable
	}
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		c.Header("Retry-After", "60")
	}
	s.render(c, status, tmplError, page, v)
}

// staticMaxAge is how long browsers may keep the stylesheet and images.
// Their links carry a content hash, so a new release or override is picked
// up at once anyway.
const staticMaxAge = "public, max-age=86400"

// versioned is the URL of a static file with its content hash, so it can be
// cached and still change.
func (s *Server) versioned(name string) string {
	return "/static/" + name + "?v=" + strings.Trim(s.files[name].etag, `"`)
}

func (s *Server) static(c *gin.Context) {
	f, ok := s.files[c.Param("name")]
	if !ok {
		s.notFound(c)
		return
	}
	h := c.Writer.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", staticMaxAge)
	h.Set("ETag", f.etag)
	http.ServeContent(c.Writer, c.Request, "", time.Time{}, bytes.NewReader(f.body))
}
