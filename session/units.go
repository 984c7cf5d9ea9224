package session

import (
	"fmt"
	"strconv"
	"strings"
)

// ByteSize is an amount of data in bytes. In config it is written with an
// explicit unit: "100MiB", "1.5GB", "512KiB", "0" (none).
type ByteSize int64

// BitRate is a bandwidth in bit/s. In config it is written with an explicit
// unit: "10Mbit/s", "512kbit/s", "1Gbit/s".
type BitRate int64

var byteUnits = map[string]float64{
	"B":  1,
	"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
}

var rateUnits = map[string]float64{
	"bit/s": 1, "kbit/s": 1e3, "Mbit/s": 1e6, "Gbit/s": 1e9,
}

// splitUnit splits "100MiB" into 100 and "MiB".
func splitUnit(s string) (float64, string, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	if i == 0 {
		return 0, "", fmt.Errorf("%q does not start with a number", s)
	}
	v, err := strconv.ParseFloat(s[:i], 64)
	if err != nil {
		return 0, "", fmt.Errorf("%q: %w", s, err)
	}
	return v, strings.TrimSpace(s[i:]), nil
}

// ParseByteSize parses a size such as "100MiB". A bare "0" is allowed; any
// other number needs a unit, so that "100" is never silently bytes.
func ParseByteSize(s string) (ByteSize, error) {
	v, unit, err := splitUnit(s)
	if err != nil {
		return 0, fmt.Errorf("size %w", err)
	}
	if unit == "" && v == 0 {
		return 0, nil
	}
	mult, ok := byteUnits[unit]
	if !ok {
		return 0, fmt.Errorf("size %q: unit must be one of B, KB, MB, GB, TB, KiB, MiB, GiB, TiB", s)
	}
	if v*mult > 1<<62 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return ByteSize(v * mult), nil
}

// ParseBitRate parses a rate such as "10Mbit/s"; a bare "0" means unlimited.
func ParseBitRate(s string) (BitRate, error) {
	v, unit, err := splitUnit(s)
	if err != nil {
		return 0, fmt.Errorf("rate %w", err)
	}
	if unit == "" && v == 0 {
		return 0, nil
	}
	mult, ok := rateUnits[unit]
	if !ok {
		return 0, fmt.Errorf("rate %q: unit must be one of bit/s, kbit/s, Mbit/s, Gbit/s", s)
	}
	if v*mult > 1<<40 {
		return 0, fmt.Errorf("rate %q is too large", s)
	}
	return BitRate(v * mult), nil
}

// UnmarshalText implements encoding.TextUnmarshaler for config files.
func (b *ByteSize) UnmarshalText(text []byte) error {
	v, err := ParseByteSize(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// UnmarshalText implements encoding.TextUnmarshaler for config files.
func (r *BitRate) UnmarshalText(text []byte) error {
	v, err := ParseBitRate(string(text))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// String formats b with the largest binary unit that divides it.
func (b ByteSize) String() string {
	for _, u := range []string{"TiB", "GiB", "MiB", "KiB"} {
		m := int64(byteUnits[u])
		if b != 0 && int64(b)%m == 0 {
			return strconv.FormatInt(int64(b)/m, 10) + u
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// String formats r with the largest decimal unit that divides it.
func (r BitRate) String() string {
	for _, u := range []string{"Gbit/s", "Mbit/s", "kbit/s"} {
		m := int64(rateUnits[u])
		if r != 0 && int64(r)%m == 0 {
			return strconv.FormatInt(int64(r)/m, 10) + u
		}
	}
	return strconv.FormatInt(int64(r), 10) + "bit/s"
}
