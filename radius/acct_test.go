package radius

import (
	"crypto/md5"
	"fmt"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc6911"

	"hotspot/session"
)

func TestAccountingRecords(t *testing.T) {
	ts := newServer(t).start(t)
	const gw = 1 << 32
	tests := []struct {
		name   string
		status rfc2866.AcctStatusType
		in     uint64
		out    uint64
		want   session.AcctStatus
	}{
		{"start", rfc2866.AcctStatusType_Value_Start, 0, 0, session.AcctStart},
		{"interim", rfc2866.AcctStatusType_Value_InterimUpdate, 3*gw + 17, gw - 1, session.AcctInterim},
		{"stop", rfc2866.AcctStatusType_Value_Stop, 5*gw + 1, 2 * gw, session.AcctStop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := acctRequest(t, tt.status, "aa:bb:cc:0d:ee:ff", "5f3e0a0b00000001")
			setCounters(p, tt.in, tt.out)
			rfc2865.UserName_SetString(p, "hs-user")
			rfc2865.CalledStationID_SetString(p, "00-11-22-33-44-55:Leipzig Free WiFi")
			rfc2865.FramedIPAddress_Set(p, netip.MustParseAddr("10.1.0.23").AsSlice())
			rfc2866.AcctSessionTime_Set(p, 321)
			wire := mustEncodeRequest(t, p)
			checkReply(t, ts.exchange(t, ts.acctAddr, wire), wire, radius.CodeAccountingResponse)

			_, acct, _ := ts.store.calls()
			if len(acct) == 0 {
				t.Fatal("Account not called")
			}
			want := session.AcctRecord{
				Status: tt.want, NAS: "chilli-1", SessionID: "5f3e0a0b00000001", MAC: macA,
				Username: "hs-user", AP: "00-11-22-33-44-55", SSID: "Leipzig Free WiFi", IP: "10.1.0.23", NASIP: "127.0.0.1",
				InputOctets: tt.in, OutputOctets: tt.out, SessionTime: 321,
			}
			if got := acct[len(acct)-1]; got != want {
				t.Errorf("Account(%+v), want %+v", got, want)
			}
		})
	}
}

// TestAccountingClientAddress: the client's address is Framed-IP-Address,
// or, for an IPv6-only client, Framed-IPv6-Address (RFC 6911); a
// dual-stack client has both, and an address that names no client of the
// venue (unspecified, link-local) is none.
func TestAccountingClientAddress(t *testing.T) {
	ts := newServer(t).start(t)
	for i, tt := range []struct {
		name          string
		v4, v6        string
		wantIP, want6 string
	}{
		{"IPv4", "10.1.0.23", "", "10.1.0.23", ""},
		{"IPv6 only", "", "2001:db8:1:2::23", "2001:db8:1:2::23", ""},
		{"dual stack", "10.1.0.23", "2001:db8:1:2::23", "10.1.0.23", "2001:db8:1:2::23"},
		{"IPv6 link-local", "", "fe80::1", "", ""},
		{"dual stack, IPv6 link-local", "10.1.0.23", "fe80::1", "10.1.0.23", ""},
		{"IPv6 unspecified", "", "::", "", ""},
		{"IPv4-mapped", "", "::ffff:10.1.0.24", "10.1.0.24", ""},
		{"IPv4-mapped, the same as IPv4", "10.1.0.24", "::ffff:10.1.0.24", "10.1.0.24", ""},
		{"IPv4-mapped, another", "10.1.0.24", "::ffff:10.1.0.25", "10.1.0.24", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := acctRequest(t, rfc2866.AcctStatusType_Value_InterimUpdate, "aa:bb:cc:0d:ee:ff", fmt.Sprintf("5f3e0a0b0000%04d", i))
			if tt.v4 != "" {
				rfc2865.FramedIPAddress_Set(p, netip.MustParseAddr(tt.v4).AsSlice())
			}
			if tt.v6 != "" {
				rfc6911.FramedIPv6Address_Set(p, netip.MustParseAddr(tt.v6).AsSlice())
			}
			wire := mustEncodeRequest(t, p)
			checkReply(t, ts.exchange(t, ts.acctAddr, wire), wire, radius.CodeAccountingResponse)
			_, acct, _ := ts.store.calls()
			if got := acct[len(acct)-1]; got.IP != tt.wantIP || got.IP6 != tt.want6 {
				t.Errorf("client addresses %q, %q; want %q, %q", got.IP, got.IP6, tt.wantIP, tt.want6)
			}
		})
	}
}

func TestAccountingOnOff(t *testing.T) {
	ts := newServer(t).start(t)
	for i, st := range []rfc2866.AcctStatusType{rfc2866.AcctStatusType_Value_AccountingOn, rfc2866.AcctStatusType_Value_AccountingOff} {
		t.Run(st.String(), func(t *testing.T) {
			wire := mustEncodeRequest(t, acctRequest(t, st, "", ""))
			checkReply(t, ts.exchange(t, ts.acctAddr, wire), wire, radius.CodeAccountingResponse)
			if _, _, closed := ts.store.calls(); len(closed) != i+1 || closed[i] != "chilli-1" {
				t.Errorf("CloseNAS calls = %q, want %d for chilli-1", closed, i+1)
			}
		})
	}
	t.Run("store down", func(t *testing.T) {
		ts.store.setErr(errStoreDown)
		defer ts.store.setErr(nil)
		ts.expectNoReply(t, ts.acctAddr, mustEncodeRequest(t, acctRequest(t, rfc2866.AcctStatusType_Value_AccountingOn, "", "")))
	})
	// The NAS restarted Acct-Delay-Time before the packet arrived; the
	// store closes only sessions without a record since then.
	t.Run("Acct-Delay-Time", func(t *testing.T) {
		for _, delay := range []rfc2866.AcctDelayTime{0, 90} {
			p := acctRequest(t, rfc2866.AcctStatusType_Value_AccountingOn, "", "")
			if delay > 0 {
				rfc2866.AcctDelayTime_Set(p, delay)
			}
			wire := mustEncodeRequest(t, p)
			checkReply(t, ts.exchange(t, ts.acctAddr, wire), wire, radius.CodeAccountingResponse)
			ts.store.mu.Lock()
			got := ts.store.closeDelay[len(ts.store.closeDelay)-1]
			ts.store.mu.Unlock()
			if want := time.Duration(delay) * time.Second; got != want {
				t.Errorf("Acct-Delay-Time %d: CloseNAS delay %v, want %v", delay, got, want)
			}
		}
	})
}

func TestAccountingAnsweredWithoutStore(t *testing.T) {
	ts := newServer(t).start(t)
	tests := []struct {
		name         string
		req          *radius.Packet
		unattributed unattributedReason // counted, or numUnattributedReasons for none
	}{
		{"no Calling-Station-Id", acctRequest(t, rfc2866.AcctStatusType_Value_InterimUpdate, "", "s1"), unattributedNoMAC},
		{"bad Calling-Station-Id", acctRequest(t, rfc2866.AcctStatusType_Value_Start, "nope", "s1"), unattributedNoMAC},
		{"no Acct-Session-Id", acctRequest(t, rfc2866.AcctStatusType_Value_Stop, "aa-bb-cc-0d-ee-ff", ""), unattributedNoSessionID},
		{"counter beyond 2^53", func() *radius.Packet {
			p := acctRequest(t, rfc2866.AcctStatusType_Value_InterimUpdate, "aa-bb-cc-0d-ee-ff", "s1")
			setCounters(p, 1<<60, 0)
			return p
		}(), unattributedBadCounter},
		{"Failed", acctRequest(t, rfc2866.AcctStatusType_Value_Failed, "aa-bb-cc-0d-ee-ff", "s1"), numUnattributedReasons},
		{"no Acct-Status-Type", func() *radius.Packet {
			p := acctRequest(t, 0, "aa-bb-cc-0d-ee-ff", "s1")
			rfc2866.AcctStatusType_Del(p)
			return p
		}(), numUnattributedReasons},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := ts.nas[mustNAS(t, ts.Server)]
			var before float64
			if tt.unattributed < numUnattributedReasons {
				before = counterValue(ns.m.unattributed[tt.unattributed])
			}
			wire := mustEncodeRequest(t, tt.req)
			checkReply(t, ts.exchange(t, ts.acctAddr, wire), wire, radius.CodeAccountingResponse)
			if tt.unattributed < numUnattributedReasons {
				if got := counterValue(ns.m.unattributed[tt.unattributed]); got != before+1 {
					t.Errorf("acct_unattributed{%s} rose by %v, want 1", unattributedNames[tt.unattributed], got-before)
				}
			}
		})
	}
	if _, acct, closed := ts.store.calls(); len(acct)+len(closed) != 0 {
		t.Errorf("store called %d times, want never", len(acct)+len(closed))
	}
}

func mustNAS(t *testing.T, s *Server) *session.NAS {
	t.Helper()
	n, ok := s.nases.ByName("chilli-1")
	if !ok {
		t.Fatal("no NAS chilli-1")
	}
	return n
}

func TestAccountingDropped(t *testing.T) {
	ts := newServer(t).start(t)
	valid := func(t *testing.T) *radius.Packet {
		p := acctRequest(t, rfc2866.AcctStatusType_Value_InterimUpdate, "aa-bb-cc-0d-ee-ff", "s1")
		setCounters(p, 100, 200)
		return p
	}
	tests := []struct {
		name   string
		wire   func(t *testing.T) []byte
		reason dropReason
	}{
		{"wrong secret", func(t *testing.T) []byte {
			p := valid(t)
			p.Secret = []byte("not-the-secret")
			b, err := p.Encode()
			if err != nil {
				t.Fatal(err)
			}
			return b
		}, dropBadAuthenticator},
		{"tampered counters", func(t *testing.T) []byte {
			b, err := valid(t).Encode()
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)-1]++
			return b
		}, dropBadAuthenticator},
		{"wrong Message-Authenticator under a right authenticator", func(t *testing.T) []byte {
			b := mustEncodeRequest(t, valid(t))
			b[22] ^= 1
			// Re-sign the Request Authenticator over the bad HMAC, so only
			// the Message-Authenticator is wrong.
			clear(b[4:20])
			sum := md5.Sum(append(append([]byte(nil), b...), testSecret...))
			copy(b[4:20], sum[:])
			return b
		}, dropBadMessageAuthenticator},
		{"Access-Request on the accounting port", func(t *testing.T) []byte {
			return mustEncodeRequest(t, papRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff"))
		}, dropWrongPort},
		{"store down", func(t *testing.T) []byte {
			ts.store.setErr(errStoreDown)
			t.Cleanup(func() { ts.store.setErr(nil) })
			return mustEncodeRequest(t, valid(t))
		}, dropStoreUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ts.dropped(tt.reason)
			ts.expectNoReply(t, ts.acctAddr, tt.wire(t))
			if got := ts.dropped(tt.reason); got != before+1 {
				t.Errorf("dropped{%s} rose by %v, want 1", tt.reason, got-before)
			}
		})
	}

	// Without Message-Authenticator (optional on accounting) the same
	// request is answered: the drops above were for what they say.
	b, err := valid(t).Encode()
	if err != nil {
		t.Fatal(err)
	}
	checkReply(t, ts.exchange(t, ts.acctAddr, b), b, radius.CodeAccountingResponse)
}

func TestSplitCalledStation(t *testing.T) {
	tests := []struct {
		in, ap, ssid string
	}{
		{"00-11-22-33-44-55:Leipzig Free WiFi", "00-11-22-33-44-55", "Leipzig Free WiFi"},
		{"00:11:22:33:44:55:Free:WiFi", "00-11-22-33-44-55", "Free:WiFi"},
		{"00:11:22:33:44:55", "00-11-22-33-44-55", ""},
		{"001122334455:ssid", "00-11-22-33-44-55", "ssid"},
		{"0011.2233.4455:ssid", "00-11-22-33-44-55", "ssid"},
		{"00-11-22-33-44-55:", "00-11-22-33-44-55", ""},
		{"hotspot1", "hotspot1", ""},
		{"", "", ""},
		{"001122334455ab:x", "001122334455ab:x", ""},
		{"aabbccddeeff:abcd", "AA-BB-CC-DD-EE-FF", "abcd"},
	}
	for _, tt := range tests {
		ap, ssid := splitCalledStation(tt.in)
		if ap != tt.ap || ssid != tt.ssid {
			t.Errorf("splitCalledStation(%q) = %q, %q, want %q, %q", tt.in, ap, ssid, tt.ap, tt.ssid)
		}
	}
}

// TestAccountingLogMasksMAC: an Acct-Session-Id with the client's MAC in it
// (Cisco's) is logged without it, also when the record names no device;
// only debug lines may show the MAC (as "mac").
func TestAccountingLogMasksMAC(t *testing.T) {
	for _, c := range []struct{ name, mac string }{{"device", "aa:bb:cc:0d:ee:ff"}, {"no device", ""}} {
		t.Run(c.name, func(t *testing.T) {
			ts := newServer(t)
			rec := &logRecorder{}
			ts.logger = slog.New(rec)
			p := acctRequest(t, rfc2866.AcctStatusType_Value_InterimUpdate, c.mac, "58b62226/aa:bb:cc:0d:ee:ff/5804651")
			b := mustEncodeRequest(t, p)
			checkReply(t, ts.handlePacket(t.Context(), portAcct, netip.MustParseAddrPort("127.0.0.1:1646"), b), b, radius.CodeAccountingResponse)
			rec.mu.Lock()
			defer rec.mu.Unlock()
			found := false
			for _, r := range rec.recs {
				r.Attrs(func(a slog.Attr) bool {
					v := a.Value.Resolve().String() // as a handler writes it
					if a.Key == "session_id" {
						found = true
						if v != "58b62226/*/5804651" {
							t.Errorf("session_id %q, want 58b62226/*/5804651", v)
						}
					}
					if r.Level > slog.LevelDebug && session.MaskAnyMAC(v) != v {
						t.Errorf("%s line %q: %s=%q holds a MAC", r.Level, r.Message, a.Key, v)
					}
					return true
				})
			}
			if !found {
				t.Error("no log line with the session ID")
			}
		})
	}
}
