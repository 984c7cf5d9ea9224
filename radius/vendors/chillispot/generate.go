// Package chillispot holds the RADIUS vendor-specific attributes of
// ChilliSpot and its successor CoovaChilli (vendor 14559), which
// layeh.com/radius does not ship. The code is generated from
// dictionary.chillispot by layeh's radius-dict-gen, run as a Go tool so
// that everyone regenerates with the same version.
package chillispot

//go:generate go tool radius-dict-gen -package chillispot -output generated.go dictionary.chillispot
