package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"testing"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"
)

const testSecret = "testing123-secret"

// independentMA computes a Message-Authenticator the way RFC 3579 §3.2
// spells it out, on a copy of pkt with the attribute's value zeroed and
// auth in the Authenticator field.
func independentMA(t *testing.T, pkt []byte, auth []byte) (got, want []byte) {
	t.Helper()
	cp := bytes.Clone(pkt)
	copy(cp[4:20], auth)
	for i := 20; i < len(cp); i += int(cp[i+1]) {
		if cp[i] == byte(rfc2869.MessageAuthenticator_Type) {
			got = bytes.Clone(cp[i+2 : i+18])
			clear(cp[i+2 : i+18])
		}
	}
	if got == nil {
		t.Fatal("no Message-Authenticator in packet")
	}
	m := hmac.New(md5.New, []byte(testSecret))
	m.Write(cp)
	return got, m.Sum(nil)
}

func TestAccessRequestPAP(t *testing.T) {
	s := newSigner(testSecret)
	for _, pw := range []string{"", "short", "exactly16octets!", "a-password-longer-than-sixteen-octets-and-then-some"} {
		var e encoder
		auth := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
		e.start(radius.CodeAccessRequest, 42, auth)
		e.messageAuthenticator()
		e.string(rfc2865.UserName_Type, "hs-user")
		if err := e.userPassword(s, pw); err != nil {
			t.Fatal(err)
		}
		e.string(rfc2865.CallingStationID_Type, "02-00-00-00-00-01")
		pkt, err := e.finish(s)
		if err != nil {
			t.Fatal(err)
		}
		p, err := radius.Parse(pkt, []byte(testSecret))
		if err != nil {
			t.Fatalf("layeh cannot parse our Access-Request: %v", err)
		}
		if got := rfc2865.UserPassword_GetString(p); got != pw {
			t.Errorf("User-Password as layeh decodes it = %q, want %q", got, pw)
		}
		if p.Identifier != 42 || rfc2865.UserName_GetString(p) != "hs-user" {
			t.Errorf("identifier, User-Name = %d, %q, want 42, hs-user", p.Identifier, rfc2865.UserName_GetString(p))
		}
		if got, want := independentMA(t, pkt, auth[:]); !bytes.Equal(got, want) {
			t.Errorf("Message-Authenticator = %x, want %x", got, want)
		}
		if pkt[20] != byte(rfc2869.MessageAuthenticator_Type) {
			t.Errorf("first attribute = %d, want Message-Authenticator", pkt[20])
		}
	}
}

func TestAccessRequestCHAP(t *testing.T) {
	s := newSigner(testSecret)
	var e encoder
	auth := [16]byte{0xaa, 0xbb}
	e.start(radius.CodeAccessRequest, 7, auth)
	e.messageAuthenticator()
	e.chapPassword(s, 7, "s3cret")
	pkt, err := e.finish(s)
	if err != nil {
		t.Fatal(err)
	}
	p, err := radius.Parse(pkt, []byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	chap := rfc2865.CHAPPassword_Get(p)
	want := md5.Sum(append(append([]byte{7}, "s3cret"...), auth[:]...))
	if len(chap) != 17 || chap[0] != 7 || !bytes.Equal(chap[1:], want[:]) {
		t.Errorf("CHAP-Password = %x, want 07%x", chap, want)
	}
}

func TestAccountingRequest(t *testing.T) {
	s := newSigner(testSecret)
	var e encoder
	e.start(radius.CodeAccountingRequest, 9, [16]byte{})
	e.messageAuthenticator()
	e.uint32(rfc2866.AcctStatusType_Type, uint32(rfc2866.AcctStatusType_Value_InterimUpdate))
	e.bytes(rfc2866.AcctSessionID_Type, sessionID(nil, 0xdeadbeef, 5))
	e.counters(5<<32+7, 123)
	pkt, err := e.finish(s)
	if err != nil {
		t.Fatal(err)
	}
	if !radius.IsAuthenticRequest(pkt, []byte(testSecret)) {
		t.Error("layeh says the Request Authenticator is wrong")
	}
	// The HMAC is over the packet with a zero authenticator.
	if got, want := independentMA(t, pkt, make([]byte, 16)); !bytes.Equal(got, want) {
		t.Errorf("Message-Authenticator = %x, want %x", got, want)
	}
	p, err := radius.Parse(pkt, []byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	in := uint64(rfc2869.AcctInputGigawords_Get(p))<<32 | uint64(rfc2866.AcctInputOctets_Get(p))
	out := uint64(rfc2869.AcctOutputGigawords_Get(p))<<32 | uint64(rfc2866.AcctOutputOctets_Get(p))
	if in != 5<<32+7 || out != 123 {
		t.Errorf("counters = %d, %d, want %d, 123", in, out, uint64(5<<32+7))
	}
	if got := rfc2866.AcctSessionID_GetString(p); got != "DEADBEEF00000005" {
		t.Errorf("Acct-Session-Id = %q, want DEADBEEF00000005", got)
	}
}

// reply builds a reply to req the way a server does: attributes, a
// Message-Authenticator when ma, then the Response Authenticator.
func reply(t *testing.T, req []byte, code radius.Code, ma bool) []byte {
	t.Helper()
	p := &radius.Packet{Code: code, Identifier: req[1], Secret: []byte(testSecret)}
	copy(p.Authenticator[:], req[4:20])
	rfc2865.ReplyMessage_SetString(p, "hello")
	if ma {
		rfc2869.MessageAuthenticator_Set(p, make([]byte, 16))
	}
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if ma {
		auth := req[4:20]
		if radius.Code(req[0]) == radius.CodeAccountingRequest {
			auth = make([]byte, 16)
		}
		_, sum := independentMA(t, b, auth)
		copy(b[len(b)-16:], sum)
	}
	h := md5.New()
	h.Write(b[:4])
	h.Write(req[4:20])
	h.Write(b[20:])
	h.Write([]byte(testSecret))
	copy(b[4:20], h.Sum(nil))
	return b
}

func TestCheckReply(t *testing.T) {
	s := newSigner(testSecret)
	var e encoder
	e.start(radius.CodeAccessRequest, 3, [16]byte{9, 9, 9})
	e.messageAuthenticator()
	access, _ := e.finish(s)
	access = bytes.Clone(access)
	var a encoder
	a.start(radius.CodeAccountingRequest, 4, [16]byte{})
	a.messageAuthenticator()
	acct, _ := a.finish(s)

	for _, tt := range []struct {
		name     string
		req, rep []byte
		code     radius.Code
		ok       bool
		err      bool
	}{
		{"accept with MA", access, reply(t, access, radius.CodeAccessAccept, true), radius.CodeAccessAccept, true, false},
		{"reject without MA", access, reply(t, access, radius.CodeAccessReject, false), radius.CodeAccessReject, true, false},
		{"accounting response with MA", acct, reply(t, acct, radius.CodeAccountingResponse, true), radius.CodeAccountingResponse, true, false},
		{"other identifier", access, func() []byte { b := reply(t, access, radius.CodeAccessAccept, true); b[1]++; return b }(), 0, false, false},
		{"wrong response authenticator", access, func() []byte { b := reply(t, access, radius.CodeAccessAccept, true); b[5] ^= 1; return b }(), 0, false, false},
		{"wrong MA", access, func() []byte {
			b := reply(t, access, radius.CodeAccessAccept, false)
			// A MA that is garbage, with a Response Authenticator over it.
			b = append(b, byte(rfc2869.MessageAuthenticator_Type), 18)
			b = append(b, make([]byte, 16)...)
			b[3] = byte(len(b))
			h := md5.New()
			h.Write(b[:4])
			h.Write(access[4:20])
			h.Write(b[20:])
			h.Write([]byte(testSecret))
			copy(b[4:20], h.Sum(nil))
			return b
		}(), 0, false, true},
		{"short", access, []byte{2, 3, 0}, 0, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, ok, err := checkReply(s, tt.rep, tt.req)
			if code != tt.code || ok != tt.ok || (err != nil) != tt.err {
				t.Errorf("checkReply() = %v, %v, %v, want %v, %v, error %v", code, ok, err, tt.code, tt.ok, tt.err)
			}
		})
	}
}

func TestEncoderAllocations(t *testing.T) {
	s := newSigner(testSecret)
	var e encoder
	allocs := testing.AllocsPerRun(100, func() {
		e.start(radius.CodeAccountingRequest, 1, [16]byte{})
		e.messageAuthenticator()
		e.uint32(rfc2866.AcctStatusType_Type, 3)
		e.counters(1, 2)
		e.string(rfc2865.CallingStationID_Type, "02-00-00-00-00-01")
		if _, err := e.finish(s); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("encoding an Accounting-Request allocates %v times, want 0", allocs)
	}
}
