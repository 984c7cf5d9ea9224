// Package assets holds the files the captive portal serves or renders:
// html/template pages (templates/), the stylesheet and logo (static/) and
// one message catalog per language (i18n/<code>.json). They are embedded so
// the daemon is a single binary that cannot run with pages from another
// version.
//
// Adding a language is adding a catalog: a flat JSON object with exactly
// the keys of i18n/de.json, every value non-empty, "lang.name" the
// language's own name for itself and "lang.dir" "ltr" or "rtl". The tests
// here and in package portal refuse anything less.
package assets
