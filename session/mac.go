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

// MaskMAC returns s with every spelling of m in it, as ParseMAC reads
// them ("aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF", "aabb.ccdd.eeff",
// "aabbccddeeff", "aabbcc-ddeeff", …, in any letter case), replaced by "*",
// overlapping and adjacent spellings by one. Some controllers put the
// client's MAC into the Acct-Session-Id (Cisco's AireOS sends
// "58b62226/e0:5f:45:37:98:bf/5804651"), which the store puts into key
// names and the logs print, where no clear MAC may be.
func MaskMAC(s string, m MAC) string {
	if m.IsZero() {
		return s
	}
	return maskMACs(s, func(got MAC, _ bool) bool { return got == m })
}

// MaskAnyMAC returns s with every spelling of a MAC with separators in it
// replaced by "*", for a log line about a record whose device is not known.
// (Twelve hex digits in a row are left: many session IDs are hex.)
func MaskAnyMAC(s string) string {
	return maskMACs(s, func(_ MAC, separated bool) bool { return separated })
}

// maskMACs replaces the spellings of MACs in s that match accepts by "*".
func maskMACs(s string, match func(m MAC, separated bool) bool) string {
	digits := 0
	for i := 0; i < len(s) && digits < 12; i++ {
		if _, ok := hexNibble(s[i]); ok {
			digits++
		}
	}
	if digits < 12 {
		return s
	}
	var out []byte
	last, start, end := 0, 0, -1 // s[start:end] is the run to mask; none while end < 0
	for i := 0; i+12 <= len(s); i++ {
		m, n, sep := macAt(s[i:])
		if n == 0 || !match(m, sep) {
			continue
		}
		if end >= 0 && i <= end {
			end = max(end, i+n)
			continue
		}
		if end >= 0 {
			out = append(append(out, s[last:start]...), '*')
			last = end
		}
		start, end = i, i+n
	}
	if end < 0 {
		return s
	}
	out = append(append(out, s[last:start]...), '*')
	return string(append(out, s[end:]...))
}

// macAt reads a MAC that s begins with, spelled as ParseMAC reads it, and
// returns it, the length of its spelling (0 when s begins with none), and
// whether the spelling has separators.
func macAt(s string) (m MAC, n int, separated bool) {
	var sep byte
	digits, lastSep := 0, -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		if v, ok := hexNibble(c); ok {
			if digits%2 == 0 {
				m[digits/2] = v << 4
			} else {
				m[digits/2] |= v
			}
			if digits++; digits == 12 {
				return m, i + 1, sep != 0
			}
			continue
		}
		if c != ':' && c != '-' && c != '.' || sep != 0 && c != sep || digits%2 != 0 || lastSep == i-1 || digits == 0 {
			return m, 0, false
		}
		sep, lastSep = c, i
	}
	return m, 0, false
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
