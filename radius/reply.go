package radius

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"

	"hotspot/session"
)

// renderLimits returns the bandwidth and data limits of d as the vendor
// attributes a NAS of the given kind acts on. Zero bandwidth and negative
// Remaining mean unlimited and render as nothing; none of these attributes
// is ever sent as 0, which NASes read as "unlimited" too, or not at all.
func renderLimits(kind session.NASKind, d session.Decision) (radius.Attributes, error) {
	var buf [128]byte
	return splitAttributes(appendLimits(buf[:0], kind, d))
}

// The replies are rendered straight into wire format: an Access-Accept is
// on the hot path of every login, and building it through layeh's
// generated setters costs two dozen allocations. The server copies the
// rendering into its reply as it is, with no radius.Attributes in between.
// The numbers are those of layeh's dictionaries and of vendors/chillispot;
// a test renders every case through the generated setters too and compares
// the bytes.
const (
	vendorChilliSpot = 14559
	vendorWISPr      = 14122
	vendorMikrotik   = 14988

	chilliSpotMaxTotalOctets    = 3
	chilliSpotBandwidthMaxUp    = 4
	chilliSpotBandwidthMaxDown  = 5
	chilliSpotMaxTotalGigawords = 23
	wisprBandwidthMaxUp         = 7
	wisprBandwidthMaxDown       = 8
	mikrotikRateLimit           = 8
	mikrotikTotalLimit          = 17
	mikrotikTotalLimitGigawords = 18
)

// appendAccept appends the attributes of an Access-Accept for decision d
// to b, in the dialect of a NAS of the given kind: the timeouts every NAS
// understands, then the limits.
func appendAccept(b []byte, kind session.NASKind, d session.Decision) []byte {
	if s := seconds(d.SessionTimeout); s > 0 {
		b = appendInteger(b, rfc2865.SessionTimeout_Type, s)
	}
	if s := seconds(d.Policy.IdleTimeout); s > 0 {
		b = appendInteger(b, rfc2865.IdleTimeout_Type, s)
	}
	if s := seconds(d.Policy.InterimInterval); s > 0 {
		b = appendInteger(b, rfc2869.AcctInterimInterval_Type, s)
	}
	return appendLimits(b, kind, d)
}

// appendLimits appends the attributes of renderLimits to b.
func appendLimits(b []byte, kind session.NASKind, d session.Decision) []byte {
	up, down := d.Policy.BandwidthUp, d.Policy.BandwidthDown
	// The store rejects a device with nothing left, so Remaining is never
	// 0 here; should it be, sending nothing is the safe side, since a 0
	// octet limit reads as "no limit".
	remaining := d.Remaining > 0
	// 32-bit attributes: the low word, and the Gigawords above it.
	low, giga := uint32(d.Remaining), uint32(d.Remaining>>32)

	switch kind {
	case session.KindCoovaChilli:
		if up > 0 {
			b = appendVendorInteger(b, vendorChilliSpot, chilliSpotBandwidthMaxUp, kbits(up))
		}
		if down > 0 {
			b = appendVendorInteger(b, vendorChilliSpot, chilliSpotBandwidthMaxDown, kbits(down))
		}
		b = appendWISPr(b, up, down)
		if remaining {
			b = appendVendorInteger(b, vendorChilliSpot, chilliSpotMaxTotalOctets, low)
			if giga > 0 {
				b = appendVendorInteger(b, vendorChilliSpot, chilliSpotMaxTotalGigawords, giga)
			}
		}
	case session.KindMikrotik:
		// "rx/tx" from the router's view: what it receives is the
		// device's upload. In a rate limit 0 is "unlimited" for RouterOS,
		// which is what a zero of ours means too.
		if up > 0 || down > 0 {
			var rl [32]byte
			v := append(appendRateLimit(rl[:0], up), '/')
			b = appendVendor(b, vendorMikrotik, mikrotikRateLimit, appendRateLimit(v, down))
		}
		if remaining {
			b = appendVendorInteger(b, vendorMikrotik, mikrotikTotalLimit, low)
			if giga > 0 {
				b = appendVendorInteger(b, vendorMikrotik, mikrotikTotalLimitGigawords, giga)
			}
		}
	default:
		b = appendWISPr(b, up, down)
	}
	return b
}

func appendWISPr(b []byte, up, down session.BitRate) []byte {
	if up > 0 {
		b = appendVendorInteger(b, vendorWISPr, wisprBandwidthMaxUp, clamp32(int64(up)))
	}
	if down > 0 {
		b = appendVendorInteger(b, vendorWISPr, wisprBandwidthMaxDown, clamp32(int64(down)))
	}
	return b
}

// appendInteger appends an attribute holding a 32-bit integer.
func appendInteger(b []byte, t radius.Type, v uint32) []byte {
	b = append(b, byte(t), 6)
	return binary.BigEndian.AppendUint32(b, v)
}

// appendText appends an attribute holding the text v, which must fit in one
// attribute.
func appendText(b []byte, t radius.Type, v string) ([]byte, error) {
	if len(v) > 253 {
		return b, fmt.Errorf("radius: encode: attribute %d is %d octets long, at most 253 fit", t, len(v))
	}
	b = append(b, byte(t), byte(2+len(v)))
	return append(b, v...), nil
}

// appendVendor appends a Vendor-Specific attribute (RFC 2865 §5.26) with
// one vendor attribute of the given type and value; value is at most a
// few dozen octets here.
func appendVendor(b []byte, vendor uint32, typ byte, value []byte) []byte {
	b = append(b, byte(rfc2865.VendorSpecific_Type), byte(2+4+2+len(value)))
	b = binary.BigEndian.AppendUint32(b, vendor)
	b = append(b, typ, byte(2+len(value)))
	return append(b, value...)
}

func appendVendorInteger(b []byte, vendor uint32, typ byte, v uint32) []byte {
	var val [4]byte
	binary.BigEndian.PutUint32(val[:], v)
	return appendVendor(b, vendor, typ, val[:])
}

// splitAttributes returns the attributes laid out in b as a list, with one
// allocation for the values and two for the list, whatever their number.
func splitAttributes(b []byte) (radius.Attributes, error) {
	if len(b) == 0 {
		return nil, nil
	}
	n := 0
	for i := 0; i < len(b); i += int(b[i+1]) {
		if len(b)-i < 2 || b[i+1] < 2 || i+int(b[i+1]) > len(b) {
			return nil, errors.New("radius: render: malformed attribute")
		}
		n++
	}
	// A copy, so that b may be the caller's scratch space.
	vals := append([]byte(nil), b...)
	avps := make([]radius.AVP, n)
	attrs := make(radius.Attributes, n)
	for i, j := 0, 0; i < len(vals); j++ {
		l := int(vals[i+1])
		avps[j] = radius.AVP{Type: radius.Type(vals[i]), Attribute: radius.Attribute(vals[i+2 : i+l : i+l])}
		attrs[j] = &avps[j]
		i += l
	}
	return attrs, nil
}

// kbits converts a positive rate to kbit/s, never rounding it down to 0.
func kbits(r session.BitRate) uint32 {
	return clamp32(max(int64(r)/1000, 1))
}

// appendRateLimit appends one direction of a Mikrotik-Rate-Limit.
func appendRateLimit(b []byte, r session.BitRate) []byte {
	if r <= 0 {
		return append(b, '0')
	}
	return append(strconv.AppendUint(b, uint64(kbits(r)), 10), 'k')
}

// seconds converts d to whole seconds for a RADIUS integer, rounding up so
// that a positive duration never becomes 0, which means "no limit".
func seconds(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	return clamp32(int64((d + time.Second - 1) / time.Second))
}

func clamp32(v int64) uint32 {
	if v > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(v)
}
