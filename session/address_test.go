package session

import "testing"

// TestAddressEntryRoundTrip: an entry of the client-address index names
// its session again, whatever the Acct-Session-Id holds.
func TestAddressEntryRoundTrip(t *testing.T) {
	for _, sid := range []string{"s1", "a:b:c", "{x}:s:*", "}{", "a b", ":"} {
		sk := sessionKey("{d:AbC-_09}", "nas-1", sid)
		e := addressOf(sk)
		if got := sessionOfAddress("nas-1", e); got != sk {
			t.Errorf("sid %q: entry %q names %q, want %q", sid, e, got, sk)
		}
	}
	if got := sessionOfAddress("nas-1", "no-colon"); got != "" {
		t.Errorf("malformed entry names %q, want nothing", got)
	}
}
