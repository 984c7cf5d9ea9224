package session

import "testing"

// TestTagCache: with slots shared by many MACs, every tag is still the
// MAC's own, and a MAC seen again is found.
func TestTagCache(t *testing.T) {
	h, err := NewMACHasher([]byte("a-mac-hash-key-for-tests"))
	if err != nil {
		t.Fatal(err)
	}
	s := &Store{hash: h, tags: newTagCache(4)}
	for round := range 3 {
		for i := range 100 {
			m := MAC{2, 0, 0, 0, byte(i >> 8), byte(i)}
			if got, want := s.deviceTag(m), "{d:"+h.Hash(m)+"}"; got != want {
				t.Fatalf("round %d: deviceTag(%v) = %q, want %q", round, m, got, want)
			}
		}
	}
	m := MAC{2, 0, 0, 0, 0, 7}
	s.deviceTag(m)
	if tag, ok := s.tags.get(m); !ok || tag != "{d:"+h.Hash(m)+"}" {
		t.Errorf("tag of a MAC just seen = %q, %v; want it cached", tag, ok)
	}
}

func BenchmarkDeviceTag(b *testing.B) {
	h, err := NewMACHasher([]byte("a-mac-hash-key-for-tests"))
	if err != nil {
		b.Fatal(err)
	}
	s := &Store{hash: h, tags: newTagCache(tagCacheSlots)}
	m := MAC{2, 0, 0, 0, 0, 1}
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			s.deviceTag(m)
		}
	})
	b.Run("computed", func(b *testing.B) {
		for b.Loop() {
			_ = "{d:" + h.Hash(m) + "}"
		}
	})
}
