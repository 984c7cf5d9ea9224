package radius

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/rfc3576"
	"layeh.com/radius/vendors/mikrotik"
	"layeh.com/radius/vendors/wispr"

	"hotspot/internal/nastest"
	"hotspot/radius/vendors/chillispot"
	"hotspot/session"
)

// checkDynAuthRequest checks req as a NAS does, without our encoder (see
// nastest.Verify), and that it has code.
func checkDynAuthRequest(t *testing.T, req []byte, code radius.Code, secret string) *radius.Packet {
	t.Helper()
	if radius.Code(req[0]) != code {
		t.Fatalf("request code = %v, want %v", radius.Code(req[0]), code)
	}
	if err := nastest.Verify(req, secret); err != nil {
		t.Fatal(err)
	}
	p, err := radius.Parse(req, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// dynReply answers req with code, Error-Cause cause (0: none), and a
// Message-Authenticator unless withoutMA.
func dynReply(t testing.TB, req []byte, code radius.Code, cause rfc3576.ErrorCause, secret string, withoutMA bool) []byte {
	t.Helper()
	p, err := radius.Parse(req, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	r := p.Response(code)
	if cause != 0 {
		rfc3576.ErrorCause_Set(r, cause)
	}
	if withoutMA {
		b, err := r.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b, err := encodeReply(r, p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ackWith(t *testing.T, code radius.Code, secret string) func([]byte) [][]byte {
	return func(req []byte) [][]byte { return [][]byte{dynReply(t, req, code, 0, secret, false)} }
}

// coaServer is a server for one NAS of kind on 127.0.0.1 whose CoA port
// is nas's, with a short retransmission schedule.
func coaServer(t *testing.T, n session.NAS, nas *nastest.NAS) *testServer {
	t.Helper()
	n.CoAPort = nas.Port
	ts := newServer(t, withNAS(n))
	ts.dyn.firstTimeout, ts.dyn.maxTimeout = 20*time.Millisecond, 40*time.Millisecond
	return ts
}

var testSession = session.Session{
	ID: "c2Vzc2lvbg", NAS: "chilli-1", NASIP: "127.0.0.1", AcctSessionID: "5f3c0a1b00000001",
	Username: "hs-user", MAC: macA, Active: true,
}

func (ts *testServer) coaCount(typ, nas, result string) float64 {
	return counterValue(ts.dyn.sent.WithLabelValues(typ, nas, result))
}

func TestDisconnect(t *testing.T) {
	nas := nastest.Start(t, "127.0.0.1", ackWith(t, radius.CodeDisconnectACK, testSecret))
	ts := coaServer(t, testNAS(session.KindCoovaChilli, true), nas)
	ts.cfg.now = func() time.Time { return time.Unix(1_800_000_000, 0) }
	res, err := ts.Disconnect(t.Context(), testSession)
	if err != nil || !res.ACK || res.ErrorCause != 0 {
		t.Fatalf("Disconnect = %+v, %v, want ACK", res, err)
	}
	p := checkDynAuthRequest(t, nas.Next(t, replyTimeout).Raw, radius.CodeDisconnectRequest, testSecret)
	checks := []struct{ name, got, want string }{
		{"User-Name", rfc2865.UserName_GetString(p), "hs-user"},
		{"Acct-Session-Id", rfc2866.AcctSessionID_GetString(p), "5f3c0a1b00000001"},
		{"Calling-Station-Id", rfc2865.CallingStationID_GetString(p), "AA-BB-CC-0D-EE-FF"},
		{"NAS-IP-Address", rfc2865.NASIPAddress_Get(p).String(), "127.0.0.1"},
		{"NAS-Identifier", rfc2865.NASIdentifier_GetString(p), ""},
		{"Event-Timestamp", rfc2869.EventTimestamp_Get(p).UTC().String(), time.Unix(1_800_000_000, 0).UTC().String()},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("Disconnect-Request %s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if n := ts.coaCount(dynDisconnect, "chilli-1", dynACK); n != 1 {
		t.Errorf("hotspot_radius_coa_total{disconnect,ack} = %v, want 1", n)
	}
}

func TestThrottle(t *testing.T) {
	tests := []struct {
		kind  session.NASKind
		id    string
		check func(t *testing.T, p *radius.Packet)
	}{
		{session.KindCoovaChilli, "", func(t *testing.T, p *radius.Packet) {
			if down, up := chillispot.ChilliSpotBandwidthMaxDown_Get(p), chillispot.ChilliSpotBandwidthMaxUp_Get(p); down != 1000 || up != 256 {
				t.Errorf("ChilliSpot-Bandwidth-Max-Down/Up = %d/%d, want 1000/256 kbit/s", down, up)
			}
			if down := wispr.WISPrBandwidthMaxDown_Get(p); down != 1_000_000 {
				t.Errorf("WISPr-Bandwidth-Max-Down = %d, want 1000000", down)
			}
			if _, err := chillispot.ChilliSpotMaxTotalOctets_Lookup(p); err == nil {
				t.Error("CoA-Request carries a data limit")
			}
		}},
		{session.KindMikrotik, "mt-1", func(t *testing.T, p *radius.Packet) {
			if got := mikrotik.MikrotikRateLimit_GetString(p); got != "256k/1000k" {
				t.Errorf("Mikrotik-Rate-Limit = %q, want 256k/1000k", got)
			}
			if got := rfc2865.CallingStationID_GetString(p); got != "AA:BB:CC:0D:EE:FF" {
				t.Errorf("Calling-Station-Id = %q, want RouterOS's spelling AA:BB:CC:0D:EE:FF", got)
			}
			if got := rfc2865.NASIdentifier_GetString(p); got != "mt-1" {
				t.Errorf("NAS-Identifier = %q, want mt-1", got)
			}
			if _, err := rfc2865.NASIPAddress_Lookup(p); err == nil {
				t.Error("NAS-IP-Address sent besides NAS-Identifier")
			}
		}},
		{session.KindGeneric, "", func(t *testing.T, p *radius.Packet) {
			if up := wispr.WISPrBandwidthMaxUp_Get(p); up != 256_000 {
				t.Errorf("WISPr-Bandwidth-Max-Up = %d, want 256000", up)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			nas := nastest.Start(t, "127.0.0.1", ackWith(t, radius.CodeCoAACK, testSecret))
			n := testNAS(tt.kind, true)
			n.Identifier = tt.id
			ts := coaServer(t, n, nas)
			res, err := ts.Throttle(t.Context(), testSession, 1e6, 256e3)
			if err != nil || !res.ACK {
				t.Fatalf("Throttle = %+v, %v, want ACK", res, err)
			}
			p := checkDynAuthRequest(t, nas.Next(t, replyTimeout).Raw, radius.CodeCoARequest, testSecret)
			tt.check(t, p)
			if n := ts.coaCount(dynCoA, "chilli-1", dynACK); n != 1 {
				t.Errorf("hotspot_radius_coa_total{coa,ack} = %v, want 1", n)
			}
		})
	}
}

// closingStore records the sessions it is told to close.
type closingStore struct {
	*fakeStore
	closed chan string
}

func (c *closingStore) CloseLostSession(ctx context.Context, id string) error {
	c.closed <- id
	return nil
}

func TestDynAuthNAK(t *testing.T) {
	for _, cause := range []rfc3576.ErrorCause{rfc3576.ErrorCause_Value_SessionContextNotFound, rfc3576.ErrorCause_Value_NASIdentificationMismatch, 0} {
		t.Run(cause.String(), func(t *testing.T) {
			nas := nastest.Start(t, "127.0.0.1", func(req []byte) [][]byte {
				return [][]byte{dynReply(t, req, radius.CodeDisconnectNAK, cause, testSecret, false)}
			})
			n := testNAS(session.KindCoovaChilli, true)
			n.CoAPort = nas.Port
			table, err := session.NewNASTable([]session.NAS{n})
			if err != nil {
				t.Fatal(err)
			}
			store := &closingStore{fakeStore: newFakeStore(), closed: make(chan string, 1)}
			s, err := New(Config{}, table, store, testLogger(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.Disconnect(t.Context(), testSession)
			if err != nil || res.ACK || res.ErrorCause != uint32(cause) {
				t.Fatalf("Disconnect = %+v, %v, want NAK with Error-Cause %d", res, err, cause)
			}
			var closed string
			select {
			case closed = <-store.closed:
			default:
			}
			if want := map[bool]string{true: testSession.ID}[cause == 503]; closed != want {
				t.Errorf("after a NAK with Error-Cause %d, closed %q, want %q", cause, closed, want)
			}
			if got := counterValue(s.dyn.sent.WithLabelValues(dynDisconnect, "chilli-1", dynNAK)); got != 1 {
				t.Errorf("hotspot_radius_coa_total{disconnect,nak} = %v, want 1", got)
			}
		})
	}
}

func TestDynAuthNoAnswer(t *testing.T) {
	nas := nastest.Start(t, "127.0.0.1", func([]byte) [][]byte { return nil })
	ts := coaServer(t, testNAS(session.KindCoovaChilli, true), nas)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := ts.Disconnect(ctx, testSession)
	if !errors.Is(err, ErrNoAnswer) || !strings.HasPrefix(err.Error(), "radius: disconnect: no answer") {
		t.Fatalf("Disconnect to a silent NAS = %v, want radius: disconnect: no answer …", err)
	}
	// Retransmitted with backoff (20, 40, 40, … ms), byte for byte.
	first := nas.Next(t, replyTimeout).Raw
	n := 1
	for nas.Waiting() > 0 {
		if again := nas.Next(t, replyTimeout).Raw; !bytes.Equal(again, first) {
			t.Errorf("retransmission %d differs from the first request", n)
		}
		n++
	}
	if n < 3 {
		t.Errorf("the NAS received %d requests in 300 ms, want at least 3", n)
	}
	if got := ts.coaCount(dynDisconnect, "chilli-1", dynNoAnswer); got != 1 {
		t.Errorf("hotspot_radius_coa_total{disconnect,no_answer} = %v, want 1", got)
	}
}

func TestDynAuthPortClosed(t *testing.T) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close() // nothing listens there now: ICMP port unreachable
	n := testNAS(session.KindCoovaChilli, true)
	n.CoAPort = port
	ts := newServer(t, withNAS(n))
	ts.dyn.firstTimeout = 20 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := ts.Disconnect(ctx, testSession); !errors.Is(err, ErrNoAnswer) {
		t.Errorf("Disconnect to a closed port = %v, want ErrNoAnswer", err)
	}
}

// TestDynAuthIgnoresForgeries: answers that are not authentic answers to
// the request are ignored, and the authentic one that follows is taken.
func TestDynAuthIgnoresForgeries(t *testing.T) {
	nas := nastest.Start(t, "127.0.0.1", func(req []byte) [][]byte {
		good := dynReply(t, req, radius.CodeDisconnectACK, 0, testSecret, false)
		wrongSecret := dynReply(t, req, radius.CodeDisconnectACK, 0, "another-secret", false)
		otherID := bytes.Clone(req)
		otherID[1]++
		wrongID := dynReply(t, otherID, radius.CodeDisconnectACK, 0, testSecret, false)
		wrongCode := dynReply(t, req, radius.CodeCoAACK, 0, testSecret, false)
		// A right Response Authenticator over a wrong Message-Authenticator.
		badMA := bytes.Clone(good)
		badMA[22] ^= 1
		copy(badMA[4:20], req[4:20])
		sum := md5.Sum(append(bytes.Clone(badMA), testSecret...))
		copy(badMA[4:20], sum[:])
		return [][]byte{wrongSecret, wrongID, wrongCode, badMA, {1, 2, 3}, good}
	})
	ts := coaServer(t, testNAS(session.KindCoovaChilli, true), nas)
	ts.dyn.firstTimeout = replyTimeout // one attempt: the forgeries must not end it
	res, err := ts.Disconnect(t.Context(), testSession)
	if err != nil || !res.ACK {
		t.Fatalf("Disconnect = %+v, %v, want the authentic ACK", res, err)
	}
	if k := nas.Waiting(); k != 1 {
		t.Errorf("the NAS received %d requests, want 1", k)
	}
}

func TestParseDynAuthReply(t *testing.T) {
	secret := []byte(testSecret)
	req := mustEncodeRequest(t, &radius.Packet{Code: radius.CodeCoARequest, Identifier: 7, Secret: secret})
	tests := []struct {
		name  string
		reply []byte
		want  session.DynAuthResult
		ok    bool
	}{
		{"ACK with MA", dynReply(t, req, radius.CodeCoAACK, 0, testSecret, false), session.DynAuthResult{ACK: true}, true},
		{"ACK without MA", dynReply(t, req, radius.CodeCoAACK, 0, testSecret, true), session.DynAuthResult{ACK: true}, true},
		{"NAK 503", dynReply(t, req, radius.CodeCoANAK, 503, testSecret, false), session.DynAuthResult{ErrorCause: 503}, true},
		{"NAK 401 without MA", dynReply(t, req, radius.CodeCoANAK, 401, testSecret, true), session.DynAuthResult{ErrorCause: 401}, true},
		{"Disconnect-ACK to a CoA", dynReply(t, req, radius.CodeDisconnectACK, 0, testSecret, false), session.DynAuthResult{}, false},
		{"wrong secret", dynReply(t, req, radius.CodeCoAACK, 0, "wrong-secret", true), session.DynAuthResult{}, false},
		{"short", []byte{43, 7, 0, 19}, session.DynAuthResult{}, false},
		{"the request itself", req, session.DynAuthResult{}, false},
	}
	for _, tt := range tests {
		if got, ok := parseDynAuthReply(tt.reply, req, secret); got != tt.want || ok != tt.ok {
			t.Errorf("%s: parseDynAuthReply = %+v, %v, want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDynAuthErrors(t *testing.T) {
	ts := newServer(t)
	ctx := t.Context()
	if _, err := ts.Disconnect(ctx, session.Session{NAS: "nowhere", NASIP: "127.0.0.1"}); !errors.Is(err, ErrUnknownNAS) {
		t.Errorf("Disconnect on an unknown NAS = %v, want ErrUnknownNAS", err)
	}
	if _, err := ts.Throttle(ctx, session.Session{NAS: "nowhere", NASIP: "127.0.0.1"}, 1e6, 0); !errors.Is(err, ErrUnknownNAS) {
		t.Errorf("Throttle on an unknown NAS = %v, want ErrUnknownNAS", err)
	}
	if _, err := ts.Disconnect(ctx, session.Session{NAS: "chilli-1"}); err == nil || errors.Is(err, ErrNoAnswer) {
		t.Errorf("Disconnect without a NAS address = %v, want an error before sending", err)
	}
	if _, err := ts.Disconnect(ctx, session.Session{NAS: "chilli-1", NASIP: "127.0.0.1"}); err == nil || errors.Is(err, ErrNoAnswer) {
		t.Errorf("Disconnect of a session that names nothing = %v, want an error before sending", err)
	}
	if _, err := ts.Throttle(ctx, testSession, 0, 0); err == nil {
		t.Error("Throttle to no rate = nil error, want one")
	}
}

func FuzzDynAuthReply(f *testing.F) {
	secret := []byte(testSecret)
	for _, code := range []radius.Code{radius.CodeDisconnectRequest, radius.CodeCoARequest} {
		req := mustEncodeRequest(f, &radius.Packet{Code: code, Identifier: 9, Secret: secret})
		for _, c := range []radius.Code{code + 1, code + 2} {
			f.Add(req, dynReply(f, req, c, 0, testSecret, false))
			f.Add(req, dynReply(f, req, c, 503, testSecret, true))
		}
	}
	f.Fuzz(func(t *testing.T, req, reply []byte) {
		res, ok := parseDynAuthReply(reply, req, secret)
		if !ok {
			if res != (session.DynAuthResult{}) {
				t.Errorf("parseDynAuthReply refused the reply but returned %+v", res)
			}
			return
		}
		// Taken only if authentic for this very request; octets past the
		// Length field are padding, covered by nothing (RFC 2865 §3).
		r, trimmed := trimPacket(reply)
		if !trimmed || r[1] != req[1] || !radius.IsAuthenticResponse(r, req, secret) {
			t.Errorf("parseDynAuthReply took an unauthentic reply % x to % x", reply, req)
		}
		if res.ACK && res.ErrorCause != 0 {
			t.Errorf("parseDynAuthReply = %+v: an ACK with an Error-Cause", res)
		}
	})
}
