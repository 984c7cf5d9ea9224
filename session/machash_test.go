package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/netip"
	"sync"
	"testing"
)

// TestMACHasherReuse: the pooled HMACs of a MACHasher give the pseudonyms
// a fresh HMAC gives, in any order and from many goroutines at once.
func TestMACHasherReuse(t *testing.T) {
	key := []byte("a-mac-hash-key-of-some-length")
	h, err := NewMACHasher(key)
	if err != nil {
		t.Fatal(err)
	}
	want := func(parts ...[]byte) string {
		m := hmac.New(sha256.New, key)
		for _, p := range parts {
			m.Write(p)
		}
		return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				m := MAC{2, 0, 0, byte(g), byte(i >> 8), byte(i)}
				if got, w := h.Hash(m), want(m[:]); got != w {
					t.Errorf("Hash(%v) = %s, want %s", m, got, w)
					return
				}
				ip := netip.AddrFrom4([4]byte{10, byte(g), byte(i >> 8), byte(i)})
				if got, w := h.HashAddr(ip), want([]byte("addr:"), ip.AsSlice()); got != w {
					t.Errorf("HashAddr(%v) = %s, want %s", ip, got, w)
					return
				}
			}
		})
	}
	wg.Wait()
}
