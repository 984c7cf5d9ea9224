package radius

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"hotspot/session"
)

// acceptAttrs is what the fake store's decision renders as for the test
// NAS, a CoovaChilli.
var acceptAttrs = []string{
	"Session-Timeout=7200", "Idle-Timeout=600", "Acct-Interim-Interval=300",
	"ChilliSpot-Bandwidth-Max-Up=2000", "ChilliSpot-Bandwidth-Max-Down=10000",
	"WISPr-Bandwidth-Max-Up=2000000", "WISPr-Bandwidth-Max-Down=10000000",
	"ChilliSpot-Max-Total-Octets=1073754169", "ChilliSpot-Max-Total-Gigawords=1",
}

func TestAccessRequest(t *testing.T) {
	ts := newServer(t).start(t)
	const (
		user  = "hs-user"
		pass  = "s3cret-pass"
		mac   = "aa-bb-cc-0d-ee-ff"
		other = "02:11:22:33:44:55" // macB, not remembered
	)
	type accessCase struct {
		name    string
		req     func(t *testing.T) *radius.Packet
		want    radius.Code
		message string // Reply-Message of a reject
		asked   *session.AuthRequest
	}
	tests := []accessCase{
		{"PAP", func(t *testing.T) *radius.Packet { return papRequest(t, user, pass, mac) },
			radius.CodeAccessAccept, "", &session.AuthRequest{NAS: "chilli-1", MAC: macA, Username: user}},
		{"PAP long password", func(t *testing.T) *radius.Packet {
			return papRequest(t, "hs-long", "a-password-longer-than-sixteen-octets", mac)
		}, radius.CodeAccessAccept, "", nil},
		{"PAP wrong password", func(t *testing.T) *radius.Packet { return papRequest(t, user, "guess", mac) },
			radius.CodeAccessReject, string(session.RejectPassword), nil},
		{"PAP password prefix", func(t *testing.T) *radius.Packet { return papRequest(t, user, pass[:5], mac) },
			radius.CodeAccessReject, string(session.RejectPassword), nil},
		{"PAP unknown user", func(t *testing.T) *radius.Packet { return papRequest(t, "hs-nobody", pass, mac) },
			radius.CodeAccessReject, string(session.RejectNoGrant), nil},
		{"CHAP with CHAP-Challenge", func(t *testing.T) *radius.Packet {
			return chapRequest(t, user, pass, mac, []byte("0123456789abcdef"))
		}, radius.CodeAccessAccept, "", nil},
		{"CHAP with Request Authenticator", func(t *testing.T) *radius.Packet {
			return chapRequest(t, user, pass, mac, nil)
		}, radius.CodeAccessAccept, "", nil},
		{"CHAP wrong password", func(t *testing.T) *radius.Packet {
			return chapRequest(t, user, "guess", mac, []byte("0123456789abcdef"))
		}, radius.CodeAccessReject, string(session.RejectPassword), nil},
		{"CHAP answering another challenge", func(t *testing.T) *radius.Packet {
			p := chapRequest(t, user, pass, mac, []byte("0123456789abcdef"))
			rfc2865.CHAPChallenge_Set(p, []byte("fedcba9876543210"))
			return p
		}, radius.CodeAccessReject, string(session.RejectPassword), nil},
		{"CHAP-Password of wrong length", func(t *testing.T) *radius.Packet {
			p := newAccessRequest(t, user, mac)
			rfc2865.CHAPPassword_Set(p, make([]byte, 16))
			return p
		}, radius.CodeAccessReject, msgBadCHAP, nil},
		{"both passwords", func(t *testing.T) *radius.Packet {
			p := papRequest(t, user, pass, mac)
			rfc2865.CHAPPassword_Set(p, chapPassword(1, pass, p.Authenticator[:]))
			return p
		}, radius.CodeAccessReject, msgTwoPasswords, nil},
		{"no password", func(t *testing.T) *radius.Packet { return newAccessRequest(t, user, mac) },
			radius.CodeAccessReject, msgNoPassword, nil},
		{"no User-Name", func(t *testing.T) *radius.Packet { return papRequest(t, "", pass, mac) },
			radius.CodeAccessReject, msgNoUserName, nil},
		{"no Calling-Station-Id", func(t *testing.T) *radius.Packet { return papRequest(t, user, pass, "") },
			radius.CodeAccessReject, msgNoCallingStation, nil},
		{"invalid Calling-Station-Id", func(t *testing.T) *radius.Packet { return papRequest(t, user, pass, "not-a-mac") },
			radius.CodeAccessReject, msgNoCallingStation, nil},
		{"MAC auth", func(t *testing.T) *radius.Packet { return newAccessRequest(t, "AABBCC0DEEFF", mac) },
			radius.CodeAccessAccept, "", &session.AuthRequest{NAS: "chilli-1", MAC: macA, MACAuth: true}},
		{"MAC auth unknown device", func(t *testing.T) *radius.Packet { return newAccessRequest(t, other, other) },
			radius.CodeAccessReject, string(session.RejectNotKnown), nil},
		{"MAC auth, user name of another MAC is a grant login", func(t *testing.T) *radius.Packet {
			return papRequest(t, other, other, mac)
		}, radius.CodeAccessReject, string(session.RejectNoGrant), nil},
		{"MAC auth wrong password", func(t *testing.T) *radius.Packet {
			return papRequest(t, mac, "password", mac)
		}, radius.CodeAccessReject, msgMACAuthPassword, nil},
		{"MAC auth CHAP with the MAC", func(t *testing.T) *radius.Packet {
			return chapRequest(t, mac, "aa:bb:cc:0d:ee:ff", mac, nil)
		}, radius.CodeAccessAccept, "", nil},
		{"MAC auth CHAP with something else", func(t *testing.T) *radius.Packet {
			return chapRequest(t, mac, "password", mac, nil)
		}, radius.CodeAccessReject, msgMACAuthPassword, nil},
	}
	// Every spelling NASes use, for User-Name, Calling-Station-Id and the
	// password alike.
	spellings := []string{"aa:bb:cc:0d:ee:ff", "AA-BB-CC-0D-EE-FF", "aabb.cc0d.eeff", "AABBCC0DEEFF", "aabbcc-0deeff"}
	for i, name := range spellings {
		station := spellings[(i+1)%len(spellings)]
		password := spellings[(i+2)%len(spellings)]
		tests = append(tests,
			accessCase{"MAC auth " + name + " from " + station + " with " + password, func(t *testing.T) *radius.Packet {
				return papRequest(t, name, password, station)
			}, radius.CodeAccessAccept, "", &session.AuthRequest{NAS: "chilli-1", MAC: macA, MACAuth: true}},
			accessCase{"MAC auth " + name + " with empty password", func(t *testing.T) *radius.Packet {
				return papRequest(t, name, "", station)
			}, radius.CodeAccessAccept, "", nil})
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _, _ := ts.store.calls()
			req := tt.req(t)
			wire := mustEncodeRequest(t, req)
			reply := checkReply(t, ts.exchange(t, ts.authAddr, wire), wire, tt.want)
			if tt.want == radius.CodeAccessAccept {
				if got := describe(t, reply.Attributes[1:]); !slices.Equal(got, acceptAttrs) {
					t.Errorf("Access-Accept attributes =\n  %q\nwant\n  %q", got, acceptAttrs)
				}
			} else if got := rfc2865.ReplyMessage_GetString(reply); got != tt.message {
				t.Errorf("Reply-Message = %q, want %q", got, tt.message)
			}
			after, _, _ := ts.store.calls()
			if tt.asked != nil {
				if len(after) != len(before)+1 {
					t.Fatalf("Authorize called %d times, want once", len(after)-len(before))
				}
				got := after[len(after)-1]
				got.Credentials = nil
				if got != *tt.asked {
					t.Errorf("Authorize(%+v), want %+v", got, *tt.asked)
				}
			}
		})
	}

	t.Run("local rejects do not ask the store", func(t *testing.T) {
		before, _, _ := ts.store.calls()
		wire := mustEncodeRequest(t, papRequest(t, user, pass, ""))
		checkReply(t, ts.exchange(t, ts.authAddr, wire), wire, radius.CodeAccessReject)
		if after, _, _ := ts.store.calls(); len(after) != len(before) {
			t.Errorf("Authorize called for a request without Calling-Station-Id")
		}
	})
}

func TestProxyStateCopied(t *testing.T) {
	ts := newServer(t).start(t)
	for _, code := range []radius.Code{radius.CodeAccessAccept, radius.CodeAccessReject} {
		t.Run(code.String(), func(t *testing.T) {
			pass := "s3cret-pass"
			if code == radius.CodeAccessReject {
				pass = "wrong"
			}
			req := papRequest(t, "hs-user", pass, "aa-bb-cc-0d-ee-ff")
			states := [][]byte{[]byte("first"), {0, 1, 2}, []byte("third")}
			for _, s := range states {
				rfc2865.ProxyState_Add(req, s)
			}
			wire := mustEncodeRequest(t, req)
			reply := checkReply(t, ts.exchange(t, ts.authAddr, wire), wire, code)
			got, _ := rfc2865.ProxyState_Gets(reply)
			if !slices.EqualFunc(got, states, bytes.Equal) {
				t.Errorf("Proxy-State in reply = %q, want %q in order", got, states)
			}
		})
	}
}

func TestAccessRequestDropped(t *testing.T) {
	ts := newServer(t).start(t)
	valid := func(t *testing.T) *radius.Packet { return papRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff") }
	tests := []struct {
		name   string
		wire   func(t *testing.T) []byte
		reason dropReason
	}{
		{"wrong secret", func(t *testing.T) []byte {
			p := valid(t)
			p.Secret = []byte("not-the-secret")
			return mustEncodeRequest(t, p)
		}, dropBadMessageAuthenticator},
		{"no Message-Authenticator", func(t *testing.T) []byte {
			b, err := valid(t).Encode()
			if err != nil {
				t.Fatal(err)
			}
			return b
		}, dropNoMessageAuthenticator},
		{"tampered after signing", func(t *testing.T) []byte {
			b := mustEncodeRequest(t, valid(t))
			b[len(b)-1] ^= 0x20
			return b
		}, dropBadMessageAuthenticator},
		{"two Message-Authenticators", func(t *testing.T) []byte {
			b := mustEncodeRequest(t, valid(t))
			b = append(b, b[20:38]...)
			b[3] += 18
			return b
		}, dropBadMessageAuthenticator},
		{"Accounting-Request on the auth port", func(t *testing.T) []byte {
			return mustEncodeRequest(t, acctRequest(t, 1, "aa-bb-cc-0d-ee-ff", "s1"))
		}, dropWrongPort},
		{"a reply code", func(t *testing.T) []byte {
			b := mustEncodeRequest(t, valid(t))
			b[0] = byte(radius.CodeAccessAccept)
			return b
		}, dropWrongPort},
		{"short", func(t *testing.T) []byte { return []byte{1, 2, 0, 19} }, dropMalformed},
		{"length beyond datagram", func(t *testing.T) []byte {
			b := mustEncodeRequest(t, valid(t))
			b[3]++
			return b
		}, dropMalformed},
		{"bad attribute length", func(t *testing.T) []byte {
			b := append(mustEncodeRequest(t, valid(t)), 1, 0) // an attribute of length 0
			binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
			return b
		}, dropMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire := tt.wire(t)
			before := ts.dropped(tt.reason)
			ts.expectNoReply(t, ts.authAddr, wire)
			if got := ts.dropped(tt.reason); got != before+1 {
				t.Errorf("dropped{%s} rose by %v, want 1", tt.reason, got-before)
			}
		})
	}
	if auth, _, _ := ts.store.calls(); len(auth) != 0 {
		t.Errorf("Authorize called %d times for dropped requests", len(auth))
	}
}

func TestMessageAuthenticatorOptional(t *testing.T) {
	ts := newServer(t, withNAS(testNAS(session.KindCoovaChilli, false))).start(t)
	req := papRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff")
	wire, err := req.Encode()
	if err != nil {
		t.Fatal(err)
	}
	checkReply(t, ts.exchange(t, ts.authAddr, wire), wire, radius.CodeAccessAccept)

	// Optional is not ignored: a wrong one is still dropped.
	req.Secret = []byte("not-the-secret")
	bad := mustEncodeRequest(t, req)
	req.Secret = []byte(testSecret)
	ts.expectNoReply(t, ts.authAddr, bad)
	if got := ts.dropped(dropBadMessageAuthenticator); got != 1 {
		t.Errorf("dropped{bad_message_authenticator} = %v, want 1", got)
	}
}

func TestStoreUnavailable(t *testing.T) {
	ts := newServer(t).start(t)
	ts.store.setErr(errStoreDown)
	wire := mustEncodeRequest(t, papRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff"))
	ts.expectNoReply(t, ts.authAddr, wire)
	if got := ts.dropped(dropStoreUnavailable); got != 1 {
		t.Errorf("dropped{store_unavailable} = %v, want 1", got)
	}
	// The NAS's retransmit, once the store is back, is handled: neither
	// dropped as a duplicate nor answered from the cache.
	ts.store.setErr(nil)
	checkReply(t, ts.exchange(t, ts.authAddr, wire), wire, radius.CodeAccessAccept)
}

// TestFailOpen: with radius.fail_open, an Access-Request that the store
// cannot answer because Redis is out of reach is accepted unchecked, with
// the policy's rates, no data limit and a short Session-Timeout, and
// counted as such; a store failure that is not an outage still gets no
// reply, and without fail_open nothing changes (TestStoreUnavailable).
func TestFailOpen(t *testing.T) {
	ts := newServer(t, withConfig(func(c *Config) { c.FailOpen = 10 * time.Minute })).start(t)
	outage := fmt.Errorf("%w: account: %w", session.ErrUnavailable, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED})
	ts.store.setErr(outage)
	for _, req := range []*radius.Packet{
		papRequest(t, "hs-user", "not-checked", "aa-bb-cc-0d-ee-ff"),
		newAccessRequest(t, "02:11:22:33:44:55", "02:11:22:33:44:55"), // MAC auth of a device not remembered
	} {
		wire := mustEncodeRequest(t, req)
		reply := checkReply(t, ts.exchange(t, ts.authAddr, wire), wire, radius.CodeAccessAccept)
		want := []string{
			"Session-Timeout=600", "Idle-Timeout=600", "Acct-Interim-Interval=300",
			"ChilliSpot-Bandwidth-Max-Up=2000", "ChilliSpot-Bandwidth-Max-Down=10000",
			"WISPr-Bandwidth-Max-Up=2000000", "WISPr-Bandwidth-Max-Down=10000000",
		}
		if got := describe(t, reply.Attributes[1:]); !slices.Equal(got, want) {
			t.Errorf("fail-open Access-Accept:\n got %v\nwant %v", got, want)
		}
	}
	if got := counterValue(ts.m.requests.WithLabelValues(typeAccess, "chilli-1", "fail_open")); got != 2 {
		t.Errorf("requests{result=fail_open} = %v, want 2", got)
	}
	if got := counterValue(ts.m.requests.WithLabelValues(typeAccess, "chilli-1", "accept")); got != 0 {
		t.Errorf("requests{result=accept} = %v, want 0", got)
	}

	// Redis reachable but slow, or refusing (out of memory, a wrong
	// password): no reply, the NAS fails over; nobody is let in unchecked.
	for i, err := range []error{
		errStoreDown,
		fmt.Errorf("%w: account: %w", session.ErrUnavailable, context.DeadlineExceeded),
		fmt.Errorf("%w: account: %w", session.ErrUnavailable, redisError("OOM command not allowed when used memory > 'maxmemory'.")),
		fmt.Errorf("%w: account: %w", session.ErrUnavailable, redisError("WRONGPASS invalid username-password pair")),
	} {
		ts.store.setErr(err)
		ts.expectNoReply(t, ts.authAddr, mustEncodeRequest(t, papRequest(t, "hs-user", "s3cret-pass", fmt.Sprintf("aa-bb-cc-0d-ee-%02x", i))))
	}
}

// redisError is an error as Redis answers it.
type redisError string

func (e redisError) Error() string { return string(e) }
func (redisError) RedisError()     {}

func TestDuplicateRequest(t *testing.T) {
	clock := newFakeClock()
	ts := newServer(t, withConfig(func(c *Config) { c.now = clock.Now })).start(t)
	wire := mustEncodeRequest(t, papRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff"))
	first := ts.exchange(t, ts.authAddr, wire)
	checkReply(t, first, wire, radius.CodeAccessAccept)

	clock.Advance(DefaultDuplicateWindow - time.Second)
	if again := ts.exchange(t, ts.authAddr, wire); !bytes.Equal(again, first) {
		t.Errorf("reply to a retransmit differs:\n% x\n% x", again, first)
	}
	if auth, _, _ := ts.store.calls(); len(auth) != 1 {
		t.Errorf("Authorize called %d times, want once", len(auth))
	}
	if got := counterValue(ts.m.duplicates); got != 1 {
		t.Errorf("duplicates = %v, want 1", got)
	}

	// The same bytes from another source port are another request.
	other := dialFrom(t, "127.0.0.1")
	ts.send(t, other, ts.authAddr, wire)
	checkReply(t, readReply(t, other), wire, radius.CodeAccessAccept)

	// Past the window the request is handled afresh.
	clock.Advance(2 * time.Second)
	checkReply(t, ts.exchange(t, ts.authAddr, wire), wire, radius.CodeAccessAccept)
	if auth, _, _ := ts.store.calls(); len(auth) != 3 {
		t.Errorf("Authorize called %d times, want 3", len(auth))
	}
}

// TestDuplicateInProgress drives handlePacket directly: a retransmit that
// arrives while the original waits for the store must be dropped, not
// handled a second time.
func TestDuplicateInProgress(t *testing.T) {
	ts := newServer(t)
	ts.store.entered = make(chan struct{}, 1)
	ts.store.release = make(chan struct{})
	wire := mustEncodeRequest(t, papRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff"))
	src := netip.MustParseAddrPort("127.0.0.1:5000")
	ctx := t.Context()

	first := make(chan []byte)
	go func() { first <- ts.handlePacket(ctx, portAuth, src, bytes.Clone(wire)) }()
	<-ts.store.entered

	if got := ts.handlePacket(ctx, portAuth, src, bytes.Clone(wire)); got != nil {
		t.Fatal("a duplicate of a request in progress got a reply")
	}
	if got := ts.dropped(dropDuplicateInProgress); got != 1 {
		t.Errorf("dropped{duplicate_in_progress} = %v, want 1", got)
	}
	close(ts.store.release)
	reply := <-first
	checkReply(t, reply, wire, radius.CodeAccessAccept)

	// The store is not entered again: the cached reply answers.
	ts.store.entered = nil
	if got := ts.handlePacket(ctx, portAuth, src, bytes.Clone(wire)); !bytes.Equal(got, reply) {
		t.Error("retransmit after the answer did not get the same bytes")
	}
	if auth, _, _ := ts.store.calls(); len(auth) != 1 {
		t.Errorf("Authorize called %d times, want once", len(auth))
	}
}

func TestUnknownSource(t *testing.T) {
	t.Run("handlePacket", func(t *testing.T) {
		n := testNAS(session.KindGeneric, true)
		n.Networks = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		ts := newServer(t, withNAS(n))
		wire := mustEncodeRequest(t, papRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff"))
		if got := ts.handlePacket(t.Context(), portAuth, netip.MustParseAddrPort("192.0.2.1:1645"), wire); got != nil {
			t.Error("a packet from an unknown source got a reply")
		}
		if got := ts.dropped(dropUnknownSource); got != 1 {
			t.Errorf("dropped{unknown_source} = %v, want 1", got)
		}
		// The same packet from the NAS is answered: the drop was the source.
		if got := ts.handlePacket(t.Context(), portAuth, netip.MustParseAddrPort("10.9.8.7:1645"), wire); got == nil {
			t.Error("the same packet from the NAS got no reply")
		}
	})

	t.Run("UDP", func(t *testing.T) {
		// The NAS is 127.0.0.1 only; 127.0.0.2 is loopback too, but no NAS.
		ts := newServer(t).start(t)
		stranger := dialFrom(t, "127.0.0.2")
		ts.send(t, stranger, ts.authAddr, mustEncodeRequest(t, papRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff")))
		// With one worker, once the NAS's own request is answered the
		// stranger's, sent before it, has been handled.
		probe := mustEncodeRequest(t, radius.New(radius.CodeStatusServer, []byte(testSecret)))
		checkReply(t, ts.exchange(t, ts.authAddr, probe), probe, radius.CodeAccessAccept)
		stranger.SetReadDeadline(time.Now())
		if n, _, err := stranger.ReadFromUDPAddrPort(make([]byte, 4096)); err == nil {
			t.Errorf("stranger got a %d-byte reply", n)
		}
		if got := ts.dropped(dropUnknownSource); got != 1 {
			t.Errorf("dropped{unknown_source} = %v, want 1", got)
		}
	})
}

func TestStatusServer(t *testing.T) {
	ts := newServer(t).start(t)
	for _, tt := range []struct {
		port netip.AddrPort
		want radius.Code
	}{{ts.authAddr, radius.CodeAccessAccept}, {ts.acctAddr, radius.CodeAccountingResponse}} {
		t.Run(tt.want.String(), func(t *testing.T) {
			p := radius.New(radius.CodeStatusServer, []byte(testSecret))
			wire := mustEncodeRequest(t, p)
			checkReply(t, ts.exchange(t, tt.port, wire), wire, tt.want)

			// RFC 5997 requires Message-Authenticator on Status-Server,
			// whatever the NAS's setting.
			bare, err := p.Encode()
			if err != nil {
				t.Fatal(err)
			}
			before := ts.dropped(dropNoMessageAuthenticator)
			ts.expectNoReply(t, tt.port, bare)
			if got := ts.dropped(dropNoMessageAuthenticator); got != before+1 {
				t.Errorf("dropped{no_message_authenticator} rose by %v, want 1", got-before)
			}
		})
	}
}

// TestRevealUserPassword: revealUserPassword gives what radius.UserPassword
// gives, for every length of password and of hidden attribute.
func TestRevealUserPassword(t *testing.T) {
	rng := rand.New(rand.NewPCG(2865, 52))
	for _, secret := range [][]byte{[]byte(testSecret), []byte("x"), nil} {
		for n := 0; n <= 140; n++ {
			auth := [16]byte{}
			for i := range auth {
				auth[i] = byte(rng.IntN(256))
			}
			// Hidden passwords of 0 to 128 octets, then raw attributes of
			// every length, most of them invalid.
			a := make([]byte, n)
			for i := range a {
				a[i] = byte(rng.IntN(256))
			}
			if n <= 128 && len(secret) > 0 {
				pw := bytes.Clone(a)
				if n > 0 && rng.IntN(2) == 0 {
					pw[rng.IntN(n)] = 0 // a NUL inside cuts the password
				}
				var err error
				if a, err = radius.NewUserPassword(pw, secret, auth[:]); err != nil {
					t.Fatal(err)
				}
			}
			want, wantErr := radius.UserPassword(a, secret, auth[:])
			var buf [maxUserPassword]byte
			got, ok := revealUserPassword(&buf, a, secret, &auth)
			if ok != (wantErr == nil) || !bytes.Equal(got, want) {
				t.Fatalf("revealUserPassword(% x, %q) = %q, %v, want %q, %v", a, secret, got, ok, want, wantErr)
			}
		}
	}
}

// TestCredentialsOutliveRequest: what parseAccessRequest hands the store
// does not refer to the packet, which the server reuses once the request
// is answered.
func TestCredentialsOutliveRequest(t *testing.T) {
	for name, p := range map[string]*radius.Packet{
		"PAP":                          papRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff"),
		"CHAP, authenticator":          chapRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff", nil),
		"CHAP, CHAP-Challenge":         chapRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff", []byte("0123456789abcdef")),
		"CHAP, long CHAP-Challenge":    chapRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff", bytes.Repeat([]byte("c"), 40)),
		"CHAP, 1-octet CHAP-Challenge": chapRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff", []byte("c")),
	} {
		t.Run(name, func(t *testing.T) {
			b := mustEncodeRequest(t, p)
			var r request
			req, err := r.parse(b, []byte(testSecret))
			if err != nil {
				t.Fatal(err)
			}
			ar, reject := parseAccessRequest(req, "chilli-1", new(papPassword))
			if reject != "" {
				t.Fatalf("parseAccessRequest() rejected: %s", reject)
			}
			other := mustEncodeRequest(t, chapRequest(t, "hs-other", "other-pass", "02-11-22-33-44-55", nil))
			if _, err := r.parse(other, []byte(testSecret)); err != nil {
				t.Fatal(err)
			}
			clear(b)
			if !ar.Credentials.Match("s3cret-pass") || ar.Credentials.Match("other-pass") {
				t.Errorf("credentials after the packet was reused do not match only s3cret-pass")
			}
		})
	}
}

// TestForgedRequestsNotCached: packets from a NAS's address that fail
// authentication take no place in the duplicate cache, so a flood of them
// cannot push out the NAS's real requests and have its retransmits
// handled twice (RFC 5080 §2.2.2).
func TestForgedRequestsNotCached(t *testing.T) {
	ts := newServer(t, withConfig(func(c *Config) { c.cacheSize = 1 })) // one entry per shard
	src := netip.MustParseAddrPort("127.0.0.1:1645")
	wire := mustEncodeRequest(t, papRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff"))
	first := ts.handlePacket(t.Context(), portAuth, src, bytes.Clone(wire))
	checkReply(t, first, wire, radius.CodeAccessAccept)
	for i := range 200 {
		acct := mustEncodeRequest(t, acctRequest(t, rfc2866.AcctStatusType_Value_InterimUpdate, "aa-bb-cc-0d-ee-ff", fmt.Sprint("s", i)))
		acct[4] ^= 0xff // the Request Authenticator no longer matches
		ts.handlePacket(t.Context(), portAcct, src, acct)
		access := mustEncodeRequest(t, papRequest(t, fmt.Sprint("hs-", i), "s3cret-pass", "aa-bb-cc-0d-ee-ff"))
		access[len(access)-1] ^= 0xff // the Message-Authenticator no longer matches
		ts.handlePacket(t.Context(), portAuth, src, access)
	}
	if got := ts.dropped(dropBadAuthenticator) + ts.dropped(dropBadMessageAuthenticator); got != 400 {
		t.Errorf("forged packets dropped: %v, want 400", got)
	}
	if again := ts.handlePacket(t.Context(), portAuth, src, bytes.Clone(wire)); !bytes.Equal(again, first) {
		t.Error("the NAS's retransmit was not answered from the cache")
	}
	if auth, _, _ := ts.store.calls(); len(auth) != 1 {
		t.Errorf("Authorize called %d times, want once", len(auth))
	}
}

// TestProxyStateNeedsMessageAuthenticator: from a NAS that need not send
// Message-Authenticator, an Access-Request without one is answered, but
// not when it carries Proxy-State, which the reply would echo (and the
// cache keep) for anyone who forges it.
func TestProxyStateNeedsMessageAuthenticator(t *testing.T) {
	ts := newServer(t, withNAS(testNAS(session.KindGeneric, false)))
	src := netip.MustParseAddrPort("127.0.0.1:1645")
	bare := func(proxyState bool) []byte {
		p := papRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff")
		if proxyState {
			p.Add(proxyStateType, bytes.Repeat([]byte{'p'}, 250))
		}
		b, err := p.Encode() // no Message-Authenticator
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if got := ts.handlePacket(t.Context(), portAuth, src, bare(false)); got == nil {
		t.Error("an Access-Request without Message-Authenticator from a NAS that need not send it got no reply")
	}
	if got := ts.handlePacket(t.Context(), portAuth, src, bare(true)); got != nil {
		t.Error("an Access-Request with Proxy-State and without Message-Authenticator got a reply")
	}
	if got := ts.dropped(dropNoMessageAuthenticator); got != 1 {
		t.Errorf("dropped{no_message_authenticator} = %v, want 1", got)
	}
	// With a Message-Authenticator, Proxy-State is echoed as usual.
	p := papRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff")
	p.Add(proxyStateType, []byte("proxy-1"))
	wire := mustEncodeRequest(t, p)
	checkReply(t, ts.handlePacket(t.Context(), portAuth, src, wire), wire, radius.CodeAccessAccept)
}

// logRecorder is a slog handler that keeps every record.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// TestRejectLogCapped: rejected Access-Requests, which anyone can cause
// from a NAS that need not send Message-Authenticator, are logged at info
// at most rejectLinesPerSecond a second; the next info line says how many
// went to debug.
func TestRejectLogCapped(t *testing.T) {
	ts := newServer(t)
	rec := &logRecorder{}
	ts.logger = slog.New(rec)
	src := netip.MustParseAddrPort("127.0.0.1:1645")
	reject := func() {
		// No Calling-Station-Id: rejected. A random authenticator each
		// time: a new request, not a retransmit.
		b := mustEncodeRequest(t, papRequest(t, "hs-user", "s3cret-pass", ""))
		checkReply(t, ts.handlePacket(t.Context(), portAuth, src, b), b, radius.CodeAccessReject)
	}
	nextSecond := func() { time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + time.Millisecond))) }
	nextSecond()
	for range rejectLinesPerSecond + 5 {
		reject()
	}
	nextSecond()
	reject()

	rec.mu.Lock()
	defer rec.mu.Unlock()
	info, debug, suppressed := 0, 0, int64(-1)
	for _, r := range rec.recs {
		if r.Message != "access rejected" {
			continue
		}
		if r.Level == slog.LevelInfo {
			info++
		} else {
			debug++
		}
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "suppressed" {
				suppressed = a.Value.Int64()
			}
			return true
		})
	}
	if info != rejectLinesPerSecond+1 || debug != 5 || suppressed != 5 {
		t.Errorf("reject lines: %d info, %d debug, suppressed %d; want %d, 5, 5", info, debug, suppressed, rejectLinesPerSecond+1)
	}
}
