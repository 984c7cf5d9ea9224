package radius

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"hash"
	"strings"
	"testing"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 5997 §6: a Status-Server with Message-Authenticator, shared secret
// "xyzzy5461".
const rfc5997StatusServer = `
	0c da 00 26 8a 54 f4 68 6f b3 94 c5 28 66 e3 02
	18 5d 06 23 50 12 5a 66 5e 2e 1e 84 11 f3 e2 43
	82 20 97 c8 4f a3`

// RFC 2865 §7.1: an Access-Request with User-Password "arctangent" and its
// Access-Accept, shared secret "xyzzy5461".
const (
	rfc2865AccessRequest = `
	01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb
	98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be 70 8d
	93 d4 13 ce 31 96 e4 3f 78 2a 0a ee 04 06 c0 a8
	01 10 05 06 00 00 00 03`
	rfc2865AccessAccept = `
	02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf
	9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00 00 00
	0e 06 c0 a8 01 03`
)

func TestRFCVectors(t *testing.T) {
	secret := []byte("xyzzy5461")

	t.Run("RFC 5997 Status-Server", func(t *testing.T) {
		pkt := unhex(t, rfc5997StatusServer)
		if present, ok := verifyMessageAuthenticator(pkt, secret); !present || !ok {
			t.Errorf("verifyMessageAuthenticator(RFC 5997) = %v, %v, want true, true", present, ok)
		}
		if _, ok := verifyMessageAuthenticator(pkt, []byte("xyzzy5462")); ok {
			t.Error("verifyMessageAuthenticator(RFC 5997, wrong secret) = ok")
		}
	})

	t.Run("RFC 2865 Response Authenticator", func(t *testing.T) {
		req, want := unhex(t, rfc2865AccessRequest), unhex(t, rfc2865AccessAccept)
		got := bytes.Clone(want)
		clear(got[4:20])
		setResponseAuthenticator(got, [16]byte(req[4:20]), secret)
		if !bytes.Equal(got, want) {
			t.Errorf("setResponseAuthenticator = % x, want % x", got[4:20], want[4:20])
		}
	})

	t.Run("RFC 2865 User-Password", func(t *testing.T) {
		p, err := radius.Parse(unhex(t, rfc2865AccessRequest), secret)
		if err != nil {
			t.Fatal(err)
		}
		rfc2865.CallingStationID_SetString(p, "aa-bb-cc-0d-ee-ff")
		ar, reject := parseAccessRequest(p, "nas", new(papPassword))
		if reject != "" {
			t.Fatalf("parseAccessRequest(RFC 2865) rejected: %s", reject)
		}
		if ar.Username != "nemo" || !ar.Credentials.Match("arctangent") || ar.Credentials.Match("arctangenT") {
			t.Errorf("parseAccessRequest(RFC 2865) = %q with credentials not matching only %q", ar.Username, "arctangent")
		}
	})
}

// withAttrs returns an Access-Request (authenticator 0x01…) with raw
// attributes appended after a User-Name, and its length set.
func withAttrs(attrs ...[]byte) []byte {
	b := []byte{1, 7, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 1, 3, 'x'}
	for _, a := range attrs {
		b = append(b, a...)
	}
	b[2], b[3] = byte(len(b)>>8), byte(len(b))
	return b
}

func maAttr(n int) []byte {
	a := make([]byte, n)
	a[0], a[1] = maType, byte(n)
	return a
}

func TestVerifyMessageAuthenticatorMalformed(t *testing.T) {
	secret := []byte(testSecret)
	signed := func(b []byte) []byte {
		// Sign the packet's single MA in place, as a NAS would.
		off, _, ok := findMessageAuthenticator(b)
		if !ok {
			t.Fatal("test packet has no single MA")
		}
		var auth [16]byte
		copy(auth[:], b[4:20])
		sum := messageAuthenticator(hmacMD5(secret), b, off, &auth)
		copy(b[off:], sum[:])
		return b
	}
	good := signed(withAttrs(maAttr(18)))
	tests := []struct {
		name        string
		pkt         []byte
		secret      []byte
		present, ok bool
	}{
		{"good", good, secret, true, true},
		{"wrong secret", good, []byte("another-secret"), true, false},
		{"empty secret", good, nil, true, false},
		{"none", withAttrs(), secret, false, false},
		{"two", withAttrs(maAttr(18), maAttr(18)), secret, true, false},
		{"short", withAttrs(maAttr(17)), secret, true, false},
		{"long", withAttrs(maAttr(19)), secret, true, false},
		{"truncated attribute list", withAttrs(maAttr(18))[:40], secret, false, false},
		{"header only", good[:19], secret, false, false},
		{"reply code", append([]byte{2}, good[1:]...), secret, true, false},
		{"flipped bit", func() []byte { b := bytes.Clone(good); b[21+5] ^= 1; return b }(), secret, true, false},
		{"padding after length is ignored", append(bytes.Clone(good), 0xde, 0xad), secret, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			present, ok := verifyMessageAuthenticator(tt.pkt, tt.secret)
			if present != tt.present || ok != tt.ok {
				t.Errorf("verifyMessageAuthenticator() = %v, %v, want %v, %v", present, ok, tt.present, tt.ok)
			}
		})
	}
}

func TestEncodeRequest(t *testing.T) {
	secret := []byte(testSecret)
	for _, code := range []radius.Code{
		radius.CodeAccessRequest, radius.CodeStatusServer, radius.CodeAccountingRequest,
		radius.CodeCoARequest, radius.CodeDisconnectRequest,
	} {
		t.Run(code.String(), func(t *testing.T) {
			p := radius.New(code, secret)
			rfc2865.UserName_SetString(p, "someone")
			// A stale Message-Authenticator must not survive encoding.
			p.Add(radius.Type(maType), make([]byte, 16))
			rfc2866.AcctSessionID_SetString(p, "0123")
			b, err := encodeRequest(p)
			if err != nil {
				t.Fatal(err)
			}
			if b[20] != maType || b[21] != maLen {
				t.Fatalf("first attribute = %d/%d, want Message-Authenticator", b[20], b[21])
			}
			if present, ok := verifyMessageAuthenticator(b, secret); !present || !ok {
				t.Errorf("verifyMessageAuthenticator(encodeRequest()) = %v, %v, want true, true", present, ok)
			}
			if !radius.IsAuthenticRequest(b, secret) {
				t.Error("encodeRequest() is not an authentic request")
			}
			q, err := radius.Parse(b, secret)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(getAll(q, radius.Type(maType))); n != 1 {
				t.Errorf("encodeRequest() has %d Message-Authenticators, want 1", n)
			}
			if code == radius.CodeAccessRequest && q.Authenticator != p.Authenticator {
				t.Error("encodeRequest() changed an Access-Request's authenticator")
			}
		})
	}
	if _, err := encodeRequest(radius.New(radius.CodeAccessAccept, secret)); err == nil {
		t.Error("encodeRequest(Access-Accept) = nil error")
	}
	if _, err := encodeRequest(radius.New(radius.CodeAccessRequest, nil)); err == nil {
		t.Error("encodeRequest(no secret) = nil error")
	}
}

func getAll(p *radius.Packet, typ radius.Type) []radius.Attribute {
	var out []radius.Attribute
	for _, a := range p.Attributes {
		if a.Type == typ {
			out = append(out, a.Attribute)
		}
	}
	return out
}

func TestEncodeReply(t *testing.T) {
	secret := []byte(testSecret)
	for _, tt := range []struct{ request, reply radius.Code }{
		{radius.CodeAccessRequest, radius.CodeAccessAccept},
		{radius.CodeAccessRequest, radius.CodeAccessReject},
		{radius.CodeAccessRequest, radius.CodeAccessChallenge},
		{radius.CodeStatusServer, radius.CodeAccessAccept},
		{radius.CodeStatusServer, radius.CodeAccountingResponse},
		{radius.CodeAccountingRequest, radius.CodeAccountingResponse},
		{radius.CodeCoARequest, radius.CodeCoAACK},
		{radius.CodeCoARequest, radius.CodeCoANAK},
		{radius.CodeDisconnectRequest, radius.CodeDisconnectACK},
		{radius.CodeDisconnectRequest, radius.CodeDisconnectNAK},
	} {
		t.Run(tt.request.String()+"/"+tt.reply.String(), func(t *testing.T) {
			req := radius.New(tt.request, secret)
			reqWire := mustEncodeRequest(t, req)
			req, err := radius.Parse(reqWire, secret) // the authenticator as sent
			if err != nil {
				t.Fatal(err)
			}
			reply := req.Response(tt.reply)
			rfc2865.ReplyMessage_SetString(reply, "hello")
			reply.Add(radius.Type(maType), make([]byte, 16)) // must not survive
			b, err := encodeReply(reply, req)
			if err != nil {
				t.Fatal(err)
			}
			checkReplyCode(t, b, reqWire, tt.reply)
			// Counted as attributes: the octets 80, 18 also turn up in
			// the authenticators, one packet in a thousand.
			q, err := radius.Parse(b, secret)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(getAll(q, radius.Type(maType))); n != 1 {
				t.Errorf("encodeReply() has %d Message-Authenticators, want 1", n)
			}
		})
	}

	req := radius.New(radius.CodeAccessRequest, secret)
	tests := []struct {
		name  string
		reply *radius.Packet
	}{
		{"request code", req},
		{"no secret", &radius.Packet{Code: radius.CodeAccessAccept}},
		{"attribute too long", &radius.Packet{Code: radius.CodeAccessAccept, Secret: secret,
			Attributes: radius.Attributes{{Type: 18, Attribute: make([]byte, 254)}}}},
		{"type out of range", &radius.Packet{Code: radius.CodeAccessAccept, Secret: secret,
			Attributes: radius.Attributes{{Type: 256, Attribute: []byte("x")}}}},
		{"packet too long", &radius.Packet{Code: radius.CodeAccessAccept, Secret: secret,
			Attributes: bytesAttrs(20, 250)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := encodeReply(tt.reply, req); err == nil {
				t.Error("encodeReply() = nil error")
			}
		})
	}
}

// TestReplyHMACAuthenticator pins down which replies sign their
// Message-Authenticator over the request's authenticator and which over
// zeros, as FreeRADIUS does (TestRadclient checks the outcome against it).
func TestReplyHMACAuthenticator(t *testing.T) {
	reqAuth := [16]byte{1, 2, 3}
	tests := []struct {
		reply, request radius.Code
		want           [16]byte
	}{
		{radius.CodeAccessAccept, radius.CodeAccessRequest, reqAuth},
		{radius.CodeAccessReject, radius.CodeAccessRequest, reqAuth},
		{radius.CodeAccessChallenge, radius.CodeAccessRequest, reqAuth},
		{radius.CodeAccessAccept, radius.CodeStatusServer, reqAuth},
		{radius.CodeAccountingResponse, radius.CodeStatusServer, reqAuth},
		{radius.CodeAccountingResponse, radius.CodeAccountingRequest, [16]byte{}},
		{radius.CodeCoAACK, radius.CodeCoARequest, reqAuth},
		{radius.CodeCoANAK, radius.CodeCoARequest, reqAuth},
		{radius.CodeDisconnectACK, radius.CodeDisconnectRequest, reqAuth},
		{radius.CodeDisconnectNAK, radius.CodeDisconnectRequest, reqAuth},
	}
	for _, tt := range tests {
		if got := replyHMACAuthenticator(tt.reply, tt.request, reqAuth); got != tt.want {
			t.Errorf("replyHMACAuthenticator(%v, %v) = % x, want % x", tt.reply, tt.request, got[:4], tt.want[:4])
		}
	}
}

func bytesAttrs(n, size int) radius.Attributes {
	var a radius.Attributes
	for range n {
		a = append(a, &radius.AVP{Type: 18, Attribute: make([]byte, size)})
	}
	return a
}

// checkReplyCode is checkReply for replies to any request.
func checkReplyCode(t *testing.T, reply, req []byte, want radius.Code) {
	t.Helper()
	secret := []byte(testSecret)
	if !radius.IsAuthenticResponse(reply, req, secret) {
		t.Error("reply has a wrong Response Authenticator")
	}
	if reply[20] != maType || reply[21] != maLen {
		t.Errorf("first attribute = %d/%d, want Message-Authenticator", reply[20], reply[21])
	}
	if present, ok := verifyReplyMessageAuthenticator(reply, req, secret); !present || !ok {
		t.Errorf("verifyReplyMessageAuthenticator() = %v, %v, want true, true", present, ok)
	}
	tampered := bytes.Clone(reply)
	tampered[len(tampered)-1] ^= 1
	if _, ok := verifyReplyMessageAuthenticator(tampered, req, secret); ok && len(reply) > 38 {
		t.Error("verifyReplyMessageAuthenticator(tampered reply) = ok")
	}
	if radius.Code(reply[0]) != want {
		t.Errorf("code = %v, want %v", radius.Code(reply[0]), want)
	}
}

func hmacMD5(secret []byte) hash.Hash { return hmac.New(md5.New, secret) }

// TestPooledHashes checks that a reused HMAC and MD5 give the answers of
// fresh ones, whatever came before: good and forged packets in turns,
// through one pool.
func TestPooledHashes(t *testing.T) {
	secret := []byte(testSecret)
	ns := &nasState{secret: secret, hashes: newHashPool(secret)}
	for i := range 30 {
		var p *radius.Packet
		if i%2 == 0 {
			p = radius.New(radius.CodeAccessRequest, secret)
			rfc2865.UserName_SetString(p, strings.Repeat("u", i+1))
		} else {
			p = radius.New(radius.CodeAccountingRequest, secret)
			rfc2866.AcctStatusType_Set(p, rfc2866.AcctStatusType_Value_InterimUpdate)
			rfc2866.AcctSessionID_SetString(p, strings.Repeat("s", i))
		}
		pkt := mustEncodeRequest(t, p)
		if i%3 == 0 {
			pkt[len(pkt)-1] ^= 0x40 // forged
		}
		gotPresent, gotOK := ns.verifyMessageAuthenticator(pkt)
		wantPresent, wantOK := verifyMessageAuthenticator(pkt, secret)
		if gotPresent != wantPresent || gotOK != wantOK || gotOK != (i%3 != 0) {
			t.Errorf("packet %d: pooled verify = %v, %v; fresh = %v, %v; forged %v", i, gotPresent, gotOK, wantPresent, wantOK, i%3 == 0)
		}
		if p.Code == radius.CodeAccountingRequest {
			if got, want := ns.isAuthenticRequest(pkt), radius.IsAuthenticRequest(pkt, secret); got != want || got != (i%3 != 0) {
				t.Errorf("packet %d: isAuthenticRequest = %v, layeh says %v", i, got, want)
			}
		}
	}
	if ns.isAuthenticRequest(make([]byte, 10)) {
		t.Error("isAuthenticRequest(10 octets) = true")
	}
}
