package session

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseMAC(t *testing.T) {
	want := MAC{0xaa, 0xbb, 0xcc, 0x0d, 0xee, 0xff}
	good := []string{
		"aa:bb:cc:0d:ee:ff",
		"AA-BB-CC-0D-EE-FF",
		"aabb.cc0d.eeff",
		"AABBCC0DEEFF",
		"aabbcc-0deeff",
		" aa:bb:cc:0d:ee:ff ",
		"Aa:bB:cC:0d:Ee:fF",
	}
	for _, in := range good {
		t.Run(in, func(t *testing.T) {
			got, err := ParseMAC(in)
			if err != nil || got != want {
				t.Errorf("ParseMAC(%q) = %v, %v, want %v, nil", in, got, err, want)
			}
		})
	}
	bad := []string{
		"", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:ff:00", "aa:bb-cc:dd:ee:ff",
		"aa::bb:cc:dd:ee:ff", ":aabbccddeeff", "aabbccddeeff:", "gg:bb:cc:dd:ee:ff",
		"a:abb:cc:dd:ee:ff", "aabbccddeeff00", "aa bb cc dd ee ff",
	}
	for _, in := range bad {
		t.Run("bad/"+in, func(t *testing.T) {
			if got, err := ParseMAC(in); err == nil {
				t.Errorf("ParseMAC(%q) = %v, nil, want an error", in, got)
			}
		})
	}
}

func TestMACString(t *testing.T) {
	m := MAC{0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e}
	if got, want := m.String(), "00-1A-2B-3C-4D-5E"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestMACHasher(t *testing.T) {
	if _, err := NewMACHasher([]byte("short")); err == nil {
		t.Fatal("NewMACHasher(short key) = nil error, want ErrShortKey")
	}
	h1, _ := NewMACHasher([]byte("0123456789abcdef"))
	h2, _ := NewMACHasher([]byte("0123456789abcdeX"))
	m := MAC{1, 2, 3, 4, 5, 6}
	if h1.Hash(m) != h1.Hash(m) {
		t.Error("Hash is not stable")
	}
	if h1.Hash(m) == h2.Hash(m) {
		t.Error("Hash does not depend on the key")
	}
	if h1.Hash(m) == h1.Hash(MAC{1, 2, 3, 4, 5, 7}) {
		t.Error("Hash does not depend on the MAC")
	}
}

func FuzzParseMAC(f *testing.F) {
	for _, s := range []string{"aa:bb:cc:dd:ee:ff", "aabb.ccdd.eeff", "AABBCCDDEEFF", "::::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMAC(s)
		if err != nil {
			return
		}
		again, err := ParseMAC(m.String())
		if err != nil || again != m {
			t.Errorf("ParseMAC(%q) round trip = %v, %v, want %v", m.String(), again, err, m)
		}
	})
}

func TestMaskMAC(t *testing.T) {
	m := MAC{0xe0, 0x5f, 0x45, 0x37, 0x98, 0xbf}
	for _, c := range []struct{ in, want string }{
		{"58b62226/e0:5f:45:37:98:bf/5804651", "58b62226/*/5804651"},
		{"58B62226/E0:5F:45:37:98:BF/5804651", "58B62226/*/5804651"},
		{"E0-5F-45-37-98-BF-0001", "*-0001"},
		{"x-e05f.4537.98bf", "x-*"},
		{"x/e05f-4537-98bf/1", "x/*/1"},
		{"e05f45-3798bf", "*"},
		{"e05f:4537:98bf", "*"},
		{"e0.5f.45.37.98.bf", "*"},
		{"e05f453798bf", "*"},
		{"e05f453798bfe0:5f:45:37:98:bf", "*"},         // adjacent
		{"a1e0:5f:45:37:98:bf", "a1*"},                 // after hex
		{"e0:5f:45:37:98:bf:00", "*:00"},               // before more
		{"e0:5f:45:37:98:b0/1", "e0:5f:45:37:98:b0/1"}, // another device's
		{"e0:5f-45:37:98:bf", "e0:5f-45:37:98:bf"},     // mixed separators
		{"e0::5f:45:37:98:bf", "e0::5f:45:37:98:bf"},   // doubled separator
		{"e05f453798b", "e05f453798b"},                 // too short
		{"52e65dc500000001", "52e65dc500000001"},       // CoovaChilli's
		{"ü/e0:5f:45:37:98:bf/ü", "ü/*/ü"},
		{"", ""},
	} {
		if got := MaskMAC(c.in, m); got != c.want {
			t.Errorf("MaskMAC(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// Overlapping spellings leave no part of either.
	m2 := MAC{2, 0, 0, 0, 0, 2}
	if got := MaskMAC("0200000000"+"02:00:00:00:00:02/7", m2); got != "*/7" {
		t.Errorf("MaskMAC(overlapping) = %q, want %q", got, "*/7")
	}
	if got := MaskMAC("e05f453798bf", MAC{}); got != "e05f453798bf" {
		t.Errorf("MaskMAC(zero MAC) = %q, want it unchanged", got)
	}
}

func TestMaskAnyMAC(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"58b62226/e0:5f:45:37:98:bf/5804651", "58b62226/*/5804651"},
		{"a/02-00-00-00-00-01/b/e05f.4537.98bf", "a/*/b/*"},
		{"52e65dc500000001", "52e65dc500000001"}, // hex without separators stays
	} {
		if got := MaskAnyMAC(c.in); got != c.want {
			t.Errorf("MaskAnyMAC(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// spellings returns the ways a NAS may write m, made here independently
// of ParseMAC and macAt.
func spellings(m MAC) []string {
	b := m[:]
	var out []string
	for _, f := range []string{"%02x", "%02X"} {
		hex := make([]string, 6)
		for i := range b {
			hex[i] = fmt.Sprintf(f, b[i])
		}
		out = append(out,
			strings.Join(hex, ":"), strings.Join(hex, "-"), strings.Join(hex, "."), strings.Join(hex, ""),
			hex[0]+hex[1]+"."+hex[2]+hex[3]+"."+hex[4]+hex[5],
			hex[0]+hex[1]+"-"+hex[2]+hex[3]+"-"+hex[4]+hex[5],
			hex[0]+hex[1]+hex[2]+"-"+hex[3]+hex[4]+hex[5],
		)
	}
	return out
}

func FuzzMaskMAC(f *testing.F) {
	f.Add("58b62226/", "/5804651", []byte{0xe0, 0x5f, 0x45, 0x37, 0x98, 0xbf}, uint8(0))
	f.Add("", "", []byte{2, 0, 0, 0, 0, 2}, uint8(3))
	f.Add("0200000000", "", []byte{2, 0, 0, 0, 0, 2}, uint8(0))
	f.Add("x", "e05f", []byte{0xe0, 0x5f, 0x45, 0x37, 0x98, 0xbf}, uint8(9))
	f.Fuzz(func(t *testing.T, before, after string, mb []byte, form uint8) {
		var m MAC
		copy(m[:], mb)
		if m.IsZero() {
			return
		}
		sp := spellings(m)
		in := before + sp[int(form)%len(sp)] + after
		got := MaskMAC(in, m)
		low := strings.ToLower(got)
		for _, w := range sp {
			if strings.Contains(low, strings.ToLower(w)) {
				t.Fatalf("MaskMAC(%q) = %q, still holds %q", in, got, w)
			}
		}
		if len(got) > len(in) {
			t.Errorf("MaskMAC(%q) = %q, longer than what it masked", in, got)
		}
	})
}
