package portal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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
	tmplError  = "error"
)

var templateNames = []string{tmplInfo, tmplTerms, tmplStatus, tmplError}

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
	Imprint   string
	Privacy   string
	Languages []langLink // empty where there is no GET URL to switch

	Status    int    // the error page's HTTP status
	Res       string // the terms page's CoovaChilli res
	Form      *acceptForm
	UserURL   string // validated http(s) URL, or ""
	LogoffURL string
	Already   bool
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
		Imprint: s.cfg.ImprintURL,
		Privacy: s.cfg.PrivacyURL,
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
	s.render(c, status, tmplError, page, v)
}

// staticFile is one embedded file served under /static/.
type staticFile struct {
	body  []byte
	ctype string
	etag  string
}

// staticTypes are the files under /static/ and their content types; there
// is nothing else to serve, and a fixed list cannot leak a template.
var staticTypes = map[string]string{
	"style.css": "text/css; charset=utf-8",
	"logo.svg":  "image/svg+xml",
}

func loadStatic(fsys fs.FS) (map[string]staticFile, error) {
	files := make(map[string]staticFile, len(staticTypes))
	for name, ctype := range staticTypes {
		b, err := fs.ReadFile(fsys, "static/"+name)
		if err != nil {
			return nil, fmt.Errorf("portal: static file: %w", err)
		}
		sum := sha256.Sum256(b)
		files[name] = staticFile{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return files, nil
}

// staticMaxAge is how long browsers may keep the stylesheet and logo. The
// stylesheet link carries a content hash, so a new release is picked up at
// once anyway.
const staticMaxAge = "public, max-age=86400"

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
