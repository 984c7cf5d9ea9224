package assets

import (
	"embed"
	"io/fs"
)

//go:embed templates/*.html static/* i18n/*.json terms/*
var files embed.FS

// FS returns the embedded files, rooted so that paths read
// "templates/terms.html", "static/style.css" and "i18n/de.json".
// A function rather than a variable, so no caller can swap the files of
// another.
func FS() fs.FS { return files }
