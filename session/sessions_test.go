package session

import (
	"errors"
	"testing"
)

func TestSessionIDRoundTrip(t *testing.T) {
	key := "{d:abc}:s:nas1:5f3c"
	got, err := sessionKeyOf(sessionID(key))
	if err != nil || got != key {
		t.Errorf("sessionKeyOf(sessionID(%q)) = %q, %v", key, got, err)
	}
	for _, bad := range []string{"", "!!", sessionID("idx:{sessions}"), sessionID("{d:x}:rem"), sessionID("{d:x}}:s:a"), sessionID("{d:x}:s:")} {
		if k, err := sessionKeyOf(bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("sessionKeyOf(%q) = %q, %v, want ErrNotFound", bad, k, err)
		}
	}
}
