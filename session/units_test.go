package session

import "testing"

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want ByteSize
		ok   bool
	}{
		{"100MiB", 100 << 20, true},
		{"1.5GiB", 3 << 29, true},
		{"2GB", 2e9, true},
		{"0", 0, true},
		{"512 KiB", 512 << 10, true},
		{"100", 0, false},
		{"MiB", 0, false},
		{"10mib", 0, false},
		{"", 0, false},
		{"1e3MiB", 0, false},
		{"99999999999TiB", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseByteSize(%q) = %v, %v, want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseBitRate(t *testing.T) {
	tests := []struct {
		in   string
		want BitRate
		ok   bool
	}{
		{"10Mbit/s", 10e6, true},
		{"512kbit/s", 512e3, true},
		{"1Gbit/s", 1e9, true},
		{"0", 0, true},
		{"10MB/s", 0, false},
		{"10", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseBitRate(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseBitRate(%q) = %v, %v, want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestUnitStrings(t *testing.T) {
	if got := ByteSize(100 << 20).String(); got != "100MiB" {
		t.Errorf("ByteSize.String() = %q, want 100MiB", got)
	}
	if got := BitRate(2e6).String(); got != "2Mbit/s" {
		t.Errorf("BitRate.String() = %q, want 2Mbit/s", got)
	}
}
