package portal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"hotspot/assets"
)

// Branding without a rebuild: the city's name, colours and footer links come
// from the config, and an overrides directory can replace any embedded file
// (templates/*.html, static/*, i18n/*.json) by one of the same path, or add
// static files and languages. The overrides go through the same checks as
// the embedded files at start: templates must parse, catalogs must be
// complete, so a broken override stops the daemon instead of a page.

// overlay is an fs.FS that serves a file from top when top has it, else from
// base; directories list the union of both.
type overlay struct {
	top, base fs.FS
}

func (o overlay) Open(name string) (fs.File, error) {
	f, err := o.top.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return o.base.Open(name)
		}
		return nil, err
	}
	// A directory in both: base's will do, ReadDir merges the listings.
	if st, serr := f.Stat(); serr == nil && st.IsDir() {
		if bf, berr := o.base.Open(name); berr == nil {
			f.Close()
			return bf, nil
		}
	}
	return f, nil
}

// ReadDir lists name in both layers, top winning on equal names.
func (o overlay) ReadDir(name string) ([]fs.DirEntry, error) {
	top, terr := fs.ReadDir(o.top, name)
	base, berr := fs.ReadDir(o.base, name)
	if terr != nil && berr != nil {
		return nil, berr
	}
	seen := map[string]bool{}
	var out []fs.DirEntry
	for _, e := range top {
		seen[e.Name()] = true
		out = append(out, e)
	}
	for _, e := range base {
		if !seen[e.Name()] {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// siteFiles returns the embedded assets, under the overrides in dir if dir
// is set.
func siteFiles(dir string) (fs.FS, error) {
	if dir == "" {
		return assets.FS(), nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("portal.overrides_dir: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("portal.overrides_dir: %s is not a directory", dir)
	}
	return overlay{top: os.DirFS(dir), base: assets.FS()}, nil
}

// staticFile is one file served under /static/.
type staticFile struct {
	body  []byte
	ctype string
	etag  string
}

// staticTypes are the kinds of file served under /static/; anything else in
// the directory is not served, so no override can publish a template or a
// stray backup by accident.
var staticTypes = map[string]string{
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".jpg":  "image/jpeg",
	".webp": "image/webp",
	".ico":  "image/x-icon",
}

// maxStaticFile bounds one static file; the page budget is 30 KB in all.
const maxStaticFile = 256 << 10

// loadStatic reads static/ and appends theme, the configured colours, to
// style.css so that the page needs a single stylesheet.
func loadStatic(fsys fs.FS, theme string) (map[string]staticFile, error) {
	entries, err := fs.ReadDir(fsys, "static")
	if err != nil {
		return nil, fmt.Errorf("portal: static files: %w", err)
	}
	files := map[string]staticFile{}
	for _, e := range entries {
		ctype, ok := staticTypes[path.Ext(e.Name())]
		if e.IsDir() || !ok {
			continue
		}
		b, err := fs.ReadFile(fsys, "static/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("portal: static file: %w", err)
		}
		if len(b) > maxStaticFile {
			return nil, fmt.Errorf("portal: static file %s is %d bytes, more than %d", e.Name(), len(b), maxStaticFile)
		}
		if e.Name() == "style.css" && theme != "" {
			b = append(append(bytes.Clone(b), '\n'), theme...)
		}
		sum := sha256.Sum256(b)
		files[e.Name()] = staticFile{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	if _, ok := files["style.css"]; !ok {
		return nil, errors.New("portal: static/style.css is missing")
	}
	return files, nil
}

// Colors are the brand colours, as #rgb or #rrggbb. Each must reach the
// WCAG AA contrast of 4.5:1 with what it is drawn on, which Validate checks:
// the accent is link text on the light background and the background of
// the button's white text; the dark accent the same on the dark scheme.
type Colors struct {
	// Accent colours links and the button. Default #0b5394.
	Accent string `yaml:"accent"`
	// AccentDark is the accent of the dark colour scheme. Default #8ab4f8.
	AccentDark string `yaml:"accent_dark"`
}

// The colours the accents are drawn with or on; style.css uses the same.
const (
	lightBackground = "#ffffff"
	darkBackground  = "#121212"
	darkOnAccent    = "#0b0b0b"
	minContrast     = 4.5
)

func (c Colors) validate() []error {
	var errs []error
	check := func(key, color string, against ...string) {
		if color == "" {
			return
		}
		if _, ok := parseColor(color); !ok {
			errs = append(errs, fmt.Errorf("portal.colors.%s %q is not #rgb or #rrggbb", key, color))
			return
		}
		for _, bg := range against {
			if r := contrast(color, bg); r < minContrast {
				errs = append(errs, fmt.Errorf("portal.colors.%s %s has a contrast of %.2f:1 with %s; WCAG AA needs %.1f:1",
					key, color, r, bg, minContrast))
			}
		}
	}
	check("accent", c.Accent, lightBackground)
	check("accent_dark", c.AccentDark, darkBackground, darkOnAccent)
	return errs
}

// theme is the CSS that sets the configured colours over style.css's.
func (c Colors) theme() string {
	var b strings.Builder
	if c.Accent != "" {
		fmt.Fprintf(&b, ":root{--accent:%s}\n", strings.ToLower(c.Accent))
	}
	if c.AccentDark != "" {
		fmt.Fprintf(&b, "@media (prefers-color-scheme:dark){:root{--accent:%s}}\n", strings.ToLower(c.AccentDark))
	}
	return b.String()
}

// parseColor parses #rgb or #rrggbb into 0..1 channels.
func parseColor(s string) ([3]float64, bool) {
	var rgb [3]float64
	if !strings.HasPrefix(s, "#") || (len(s) != 4 && len(s) != 7) {
		return rgb, false
	}
	h := s[1:]
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	for i := range 3 {
		v, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		if err != nil {
			return rgb, false
		}
		rgb[i] = float64(v) / 255
	}
	return rgb, true
}

// luminance is the WCAG 2.1 relative luminance.
func luminance(rgb [3]float64) float64 {
	var l [3]float64
	for i, c := range rgb {
		if c <= 0.04045 {
			l[i] = c / 12.92
		} else {
			l[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

// contrast is the WCAG 2.1 contrast ratio of two valid colours.
func contrast(a, b string) float64 {
	ca, _ := parseColor(a)
	cb, _ := parseColor(b)
	la, lb := luminance(ca), luminance(cb)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// FooterLink is an extra link in every page's footer, beside the imprint
// and the privacy policy: accessibility statement, contact, the city's site.
type FooterLink struct {
	// URL is an absolute http or https URL.
	URL string `yaml:"url"`
	// Label is the link text by language code; "de" is required and is
	// shown where the page's language has none (after "en").
	Label map[string]string `yaml:"label"`
}

func (l FooterLink) label(code string) (text, lang string) {
	for _, c := range []string{code, "en", defaultLang} {
		if s := l.Label[c]; s != "" {
			return s, c
		}
	}
	return "", ""
}
