package chillispot

import (
	"bytes"
	"os"
	"testing"

	"layeh.com/radius"
	"layeh.com/radius/dictionary"
	"layeh.com/radius/dictionarygen"
)

// TestGeneratedIsCurrent regenerates the code in memory with the library
// behind radius-dict-gen, set up as the tool sets it up, and compares: an
// edit to the dictionary without go generate, or to generated.go by hand,
// fails here rather than in production.
func TestGeneratedIsCurrent(t *testing.T) {
	parser := dictionary.Parser{Opener: &dictionary.FileSystemOpener{}, IgnoreIdenticalAttributes: true}
	dict, err := parser.ParseFile("dictionary.chillispot")
	if err != nil {
		t.Fatal(err)
	}
	g := dictionarygen.Generator{Package: "chillispot", ExternalAttributes: map[string]string{}}
	want, err := g.Generate(dict)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("generated.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("generated.go is stale: run go generate ./radius/...")
	}
}

// TestVendorAttributes checks the wire form of the attributes the server
// sends against the numbers CoovaChilli reads.
func TestVendorAttributes(t *testing.T) {
	tests := []struct {
		name string
		add  func(*radius.Packet) error
		want []byte // the Vendor-Specific value: vendor, type, length, data
	}{
		{"Bandwidth-Max-Up", func(p *radius.Packet) error { return ChilliSpotBandwidthMaxUp_Add(p, 2000) },
			[]byte{0, 0, 0x38, 0xdf, 4, 6, 0, 0, 0x07, 0xd0}},
		{"Bandwidth-Max-Down", func(p *radius.Packet) error { return ChilliSpotBandwidthMaxDown_Add(p, 1) },
			[]byte{0, 0, 0x38, 0xdf, 5, 6, 0, 0, 0, 1}},
		{"Max-Total-Octets", func(p *radius.Packet) error { return ChilliSpotMaxTotalOctets_Add(p, 0x01020304) },
			[]byte{0, 0, 0x38, 0xdf, 3, 6, 1, 2, 3, 4}},
		{"Max-Total-Gigawords", func(p *radius.Packet) error { return ChilliSpotMaxTotalGigawords_Add(p, 2) },
			[]byte{0, 0, 0x38, 0xdf, 23, 6, 0, 0, 0, 2}},
		{"Require-Splash", func(p *radius.Packet) error { return ChilliSpotRequireSplash_AddString(p, "x") },
			[]byte{0, 0, 0x38, 0xdf, 12, 3, 'x'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p radius.Packet
			if err := tt.add(&p); err != nil {
				t.Fatal(err)
			}
			if len(p.Attributes) != 1 || p.Attributes[0].Type != 26 || !bytes.Equal(p.Attributes[0].Attribute, tt.want) {
				t.Errorf("%s = %v, want Vendor-Specific % x", tt.name, p.Attributes, tt.want)
			}
		})
	}
}
