package session

import "testing"

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
