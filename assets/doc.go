// Package assets holds the files the captive portal serves or renders:
// html/template pages (templates/), the stylesheet and logo (static/), one
// message catalog per language (i18n/<code>.json) and the default terms of
// use (terms/VERSION and terms/<code>.md). They are embedded so the daemon
// is a single binary that cannot run with pages from another version; an
// operator's portal.overrides_dir and portal.terms_dir replace them without
// a rebuild.
//
// Adding a language is adding a catalog: a flat JSON object with exactly
// the keys of i18n/de.json, every value non-empty with the same {names} as
// the German one, "lang.name" the language's own name for itself,
// "lang.dir" "ltr" or "rtl", and the unit.* plural lists with every CLDR
// form the language uses ("one: {n} Tag | other: {n} Tage"). The tests here
// and in package portal refuse anything less.
package assets
