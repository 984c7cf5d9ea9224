package session

import (
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
		{"e05f453798bf", "*"},
		{"e05f453798bfe0:5f:45:37:98:bf", "**"},
		{"a1e0:5f:45:37:98:bf", "a1*"},
		{"e0:5f:45:37:98:b0/1", "e0:5f:45:37:98:b0/1"}, // another device's
		{"e0:5f-45:37:98:bf", "e0:5f-45:37:98:bf"},     // mixed separators
		{"e05f453798b", "e05f453798b"},                 // too short
		{"52e65dc500000001", "52e65dc500000001"},       // CoovaChilli's
		{"ü/e0:5f:45:37:98:bf/ü", "ü/*/ü"},
		{"", ""},
	} {
		if got := MaskMAC(c.in, m); got != c.want {
			t.Errorf("MaskMAC(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := MaskMAC("e05f453798bf", MAC{}); got != "e05f453798bf" {
		t.Errorf("MaskMAC(zero MAC) = %q, want it unchanged", got)
	}
}

func FuzzMaskMAC(f *testing.F) {
	m := MAC{0xe0, 0x5f, 0x45, 0x37, 0x98, 0xbf}
	for _, s := range []string{"58b62226/e0:5f:45:37:98:bf/5804651", "e05f.4537.98bf", "E05F453798BF", "52e65dc500000001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := MaskMAC(s, m)
		// What is left holds no spelling of m, and nothing else changed:
		// put m back for each "*" added and compare.
		for i := 0; i+12 <= len(got); i++ {
			if macAt(got[i:], m) > 0 {
				t.Fatalf("MaskMAC(%q) = %q, still holds the MAC at %d", s, got, i)
			}
		}
		if !strings.Contains(s, "*") && strings.ReplaceAll(got, "*", "") != stripMAC(s, m) {
			t.Errorf("MaskMAC(%q) = %q, changed more than the MAC", s, got)
		}
	})
}

// stripMAC removes every spelling of m from s, leftmost first.
func stripMAC(s string, m MAC) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if i+12 <= len(s) {
			if n := macAt(s[i:], m); n > 0 {
				i += n
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}
