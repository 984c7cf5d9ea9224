package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net/netip"
	"strconv"
	"sync"
)

// MAC is a 48-bit IEEE 802 hardware address, the identity of a device.
type MAC [6]byte

// ParseMAC accepts the spellings NASes use for a client MAC:
// "aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF", "aabb.ccdd.eeff", "aabbccddeeff"
// and "aabbcc-ddeeff", in any letter case, with surrounding spaces ignored.
func ParseMAC(s string) (MAC, error) {
	var m MAC
	// Trim spaces without allocating.
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	if len(s) < 12 || len(s) > 17 {
		return m, &macError{s: s, why: "wrong length"}
	}
	var sep byte
	n := 0 // nibbles read
	lastSep := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		v, ok := hexNibble(c)
		if !ok {
			if c != ':' && c != '-' && c != '.' {
				return m, &macError{s: s, why: "bad character", c: c, bad: true}
			}
			if sep == 0 {
				sep = c
			} else if c != sep {
				return m, &macError{s: s, why: "mixed separators"}
			}
			// A separator must follow a whole group of hex digits, never lead,
			// trail or repeat.
			if n == 0 || i == len(s)-1 || lastSep == i-1 || n%2 != 0 {
				return m, &macError{s: s, why: "misplaced separator"}
			}
			lastSep = i
			continue
		}
		if n >= 12 {
			return m, &macError{s: s, why: "too many digits"}
		}
		if n%2 == 0 {
			m[n/2] = v << 4
		} else {
			m[n/2] |= v
		}
		n++
	}
	if n != 12 {
		return m, &macError{s: s, why: "want 12 hex digits, got " + strconv.Itoa(n)}
	}
	return m, nil
}

// macError is ParseMAC's error. The RADIUS server tries every User-Name
// as a MAC, so the message is only formatted when someone reads it.
type macError struct {
	s, why string
	c      byte // the bad character, when bad is set
	bad    bool
}

func (e *macError) Error() string {
	if e.bad {
		return fmt.Sprintf("session: parse MAC %q: %s %q", e.s, e.why, e.c)
	}
	return fmt.Sprintf("session: parse MAC %q: %s", e.s, e.why)
}

func hexNibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// String returns the RFC 3580 spelling, "AA-BB-CC-DD-EE-FF".
func (m MAC) String() string {
	const hexDigits = "0123456789ABCDEF"
	b := make([]byte, 0, 17)
	for i, x := range m {
		if i > 0 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[x>>4], hexDigits[x&0xf])
	}
	return string(b)
}

// MaskMAC returns s with every spelling of m in it replaced by "*": six hex
// pairs apart by colons or by hyphens, three groups of four hex digits apart
// by dots, or twelve hex digits, in either case. Some controllers put the
// client's MAC into the Acct-Session-Id (Cisco's AireOS sends
// "58b62226/e0:5f:45:37:98:bf/5804651"), which the store puts into key
// names and the logs print, where no clear MAC may be.
func MaskMAC(s string, m MAC) string {
	if len(s) < 12 || m.IsZero() {
		return s
	}
	var out []byte // nil until a spelling is found
	last := 0
	for i := 0; i+12 <= len(s); {
		if n := macAt(s[i:], m); n > 0 {
			out = append(append(out, s[last:i]...), '*')
			i += n
			last = i
			continue
		}
		i++
	}
	if out == nil {
		return s
	}
	return string(append(out, s[last:]...))
}

// macAt returns the length of the spelling of m that s begins with (see
// MaskMAC), 0 when it begins with none.
func macAt(s string, m MAC) int {
	// hexAt reports whether s[i:i+2] is byte b in hex.
	hexAt := func(i int, b byte) bool {
		hi, ok1 := hexNibble(s[i])
		lo, ok2 := hexNibble(s[i+1])
		return ok1 && ok2 && hi<<4|lo == b
	}
	if !hexAt(0, m[0]) {
		return 0
	}
	if len(s) >= 17 && (s[2] == ':' || s[2] == '-') {
		n := 17
		for i := 1; i < 6 && n > 0; i++ {
			if s[3*i-1] != s[2] || !hexAt(3*i, m[i]) {
				n = 0
			}
		}
		if n > 0 {
			return n
		}
	}
	if len(s) >= 14 && s[4] == '.' && s[9] == '.' &&
		hexAt(2, m[1]) && hexAt(5, m[2]) && hexAt(7, m[3]) && hexAt(10, m[4]) && hexAt(12, m[5]) {
		return 14
	}
	for i := 1; i < 6; i++ {
		if !hexAt(2*i, m[i]) {
			return 0
		}
	}
	return 12
}

// IsZero reports whether m is the all-zero address, which no device has.
func (m MAC) IsZero() bool { return m == MAC{} }

// MACHasher turns MACs into keyed pseudonyms, so that neither Redis keys nor
// logs hold a device's clear MAC.
type MACHasher struct {
	key []byte
	// macs are HMAC-SHA256s keyed with key, for reuse: every RADIUS
	// request hashes a MAC, and a reused HMAC skips the key schedule (two
	// SHA-256 blocks) and the allocations of a new one.
	macs sync.Pool
}

// ErrShortKey is returned for a MAC hash key below 16 bytes.
var ErrShortKey = errors.New("session: MAC hash key must be at least 16 bytes")

// NewMACHasher returns a hasher keyed with key.
func NewMACHasher(key []byte) (*MACHasher, error) {
	if len(key) < 16 {
		return nil, ErrShortKey
	}
	h := &MACHasher{key: append([]byte(nil), key...)}
	h.macs.New = func() any { return hmac.New(sha256.New, h.key) }
	return h, nil
}

// sum returns the first 16 bytes of the HMAC of the parts, base64url.
func (h *MACHasher) sum(parts ...[]byte) string {
	mac := h.macs.Get().(hash.Hash)
	mac.Reset()
	for _, p := range parts {
		mac.Write(p)
	}
	var sum [sha256.Size]byte
	mac.Sum(sum[:0])
	h.macs.Put(mac)
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// Hash returns the pseudonym of m: 16 bytes of HMAC-SHA256, base64url. The
// same MAC always gives the same pseudonym under the same key.
func (h *MACHasher) Hash(m MAC) string {
	return h.sum(m[:])
}

// HashAddr returns the pseudonym of a client IP address, for the keys of
// the client-address index: like Hash, and never equal to the pseudonym
// of a MAC.
func (h *MACHasher) HashAddr(ip netip.Addr) string {
	b, _ := ip.Unmap().MarshalBinary()
	return h.sum([]byte("addr:"), b)
}
