package radius

import (
	"bytes"
	"context"
	"crypto/md5"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"hotspot/session"
)

// fuzzStore decides like fakeStore but keeps nothing, so that a long fuzz
// run does not grow, and fails for one user name so that the no-reply path
// is fuzzed too.
type fuzzStore struct{ fakeStore }

func (f *fuzzStore) Authorize(ctx context.Context, r session.AuthRequest) (session.Decision, error) {
	if r.Username == "down" {
		return session.Decision{}, errStoreDown
	}
	d := f.decision
	switch {
	case r.MACAuth && !f.remembered[r.MAC]:
		d.Reason = session.RejectNotKnown
	case !r.MACAuth && (r.Credentials == nil || !r.Credentials.Match(f.grants[r.Username])):
		d.Reason = session.RejectPassword
	}
	return d, nil
}

func (f *fuzzStore) Account(ctx context.Context, r session.AcctRecord) (session.Usage, error) {
	if r.Username == "down" {
		return session.Usage{}, errStoreDown
	}
	return session.Usage{Input: int64(r.InputOctets)}, nil
}

func (f *fuzzStore) CloseNAS(ctx context.Context, nas string, nasIP netip.Addr, delay time.Duration) (int, error) {
	return 0, nil
}

// newFuzzServer has three NASes, one per source address 127.0.0.1–3, of
// each kind, only the first requiring Message-Authenticator.
func newFuzzServer(t testing.TB) *Server {
	var nases []session.NAS
	for i, kind := range []session.NASKind{session.KindCoovaChilli, session.KindMikrotik, session.KindGeneric} {
		n := testNAS(kind, i == 0)
		n.Name = string(kind)
		n.Networks = []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{127, 0, 0, byte(i + 1)}), 32)}
		nases = append(nases, n)
	}
	table, err := session.NewNASTable(nases)
	if err != nil {
		t.Fatal(err)
	}
	// Debug level into io.Discard: every log line is built, none kept.
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(Config{}, table, &fuzzStore{*newFakeStore()}, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// resign makes pkt authentic for secret where its layout allows, as a NAS
// would have sent it, so that mutated packets get past the authenticator
// checks into the parsing behind them.
func resign(pkt, secret []byte) []byte {
	pkt = bytes.Clone(pkt)
	b, ok := trimPacket(pkt)
	if !ok {
		return pkt
	}
	code := radius.Code(b[0])
	var auth [16]byte
	switch code {
	case radius.CodeAccessRequest, radius.CodeStatusServer:
		copy(auth[:], b[4:headerLen])
	case radius.CodeAccountingRequest:
	default:
		return pkt
	}
	if off, _, ok := findMessageAuthenticator(b); ok {
		sum := messageAuthenticator(hmacMD5(secret), b, off, &auth)
		copy(b[off:], sum[:])
	}
	if code == radius.CodeAccountingRequest {
		clear(b[4:headerLen])
		h := md5.New()
		h.Write(b)
		h.Write(secret)
		h.Sum(b[4:4])
	}
	return pkt
}

// fuzzSeeds are valid requests of every kind we handle.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	enc := func(p *radius.Packet, ma bool) {
		var b []byte
		var err error
		if ma {
			b, err = encodeRequest(p)
		} else {
			b, err = p.Encode()
		}
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	pap := papRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff")
	rfc2865.ProxyState_Add(pap, []byte("proxy"))
	enc(pap, true)
	enc(pap, false)
	enc(chapRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff", []byte("0123456789abcdef")), true)
	enc(chapRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff", nil), true)
	enc(papRequest(t, "aa:bb:cc:0d:ee:ff", "", "AABBCC0DEEFF"), true)
	enc(papRequest(t, "down", "x", "aa-bb-cc-0d-ee-ff"), true)
	enc(radius.New(radius.CodeStatusServer, []byte(testSecret)), true)
	for _, st := range []rfc2866.AcctStatusType{1, 2, 3, 7, 8, 15} {
		p := acctRequest(t, st, "aa-bb-cc-0d-ee-ff", "sess-1")
		setCounters(p, 5<<32+1, 7)
		rfc2865.CalledStationID_SetString(p, "00-11-22-33-44-55:ssid")
		rfc2865.FramedIPAddress_Set(p, []byte{10, 0, 0, 1})
		enc(p, st == 1)
	}
	return seeds
}

// fuzzMode packs the port, the source NAS and whether to re-sign.
func fuzzMode(mode uint8) (p port, src netip.AddrPort, sign bool) {
	p = port(mode & 1)
	src = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1 + (mode>>1)%4}), 1645)
	return p, src, mode&8 != 0
}

func FuzzHandlePacket(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		for _, mode := range []uint8{0, 1, 2, 3, 8, 9, 10, 11} {
			f.Add(seed, mode)
		}
	}
	s := newFuzzServer(f)
	secret := []byte(testSecret)
	f.Fuzz(func(t *testing.T, pkt []byte, mode uint8) {
		p, src, sign := fuzzMode(mode)
		if sign {
			pkt = resign(pkt, secret)
		}
		in := bytes.Clone(pkt)
		// Never cancelled, like the workers' context.
		reply := s.handlePacket(context.WithoutCancel(t.Context()), p, src, pkt)
		if !bytes.Equal(pkt, in) {
			t.Fatal("handlePacket modified its input")
		}
		if reply == nil {
			return
		}
		req, _ := trimPacket(in)
		if len(reply) > radius.MaxPacketLength {
			t.Fatalf("reply of %d octets", len(reply))
		}
		r, err := radius.Parse(reply, secret)
		if err != nil {
			t.Fatalf("reply does not parse: %v", err)
		}
		if r.Identifier != req[1] {
			t.Errorf("reply identifier %d, request %d", r.Identifier, req[1])
		}
		want := map[radius.Code][]radius.Code{
			radius.CodeAccessRequest:     {radius.CodeAccessAccept, radius.CodeAccessReject},
			radius.CodeAccountingRequest: {radius.CodeAccountingResponse},
			radius.CodeStatusServer:      {radius.CodeAccessAccept, radius.CodeAccountingResponse},
		}[radius.Code(req[0])]
		if !bytes.Contains(codesOf(want), []byte{byte(r.Code)}) {
			t.Errorf("reply %v to %v", r.Code, radius.Code(req[0]))
		}
		if !radius.IsAuthenticResponse(reply, req, secret) {
			t.Error("reply Response Authenticator is wrong")
		}
		if reply[20] != maType || reply[21] != maLen {
			t.Error("reply does not start with Message-Authenticator")
		}
		if present, ok := verifyReplyMessageAuthenticator(reply, req, secret); !present || !ok {
			t.Error("reply Message-Authenticator is wrong")
		}
	})
}

func codesOf(cs []radius.Code) []byte {
	b := make([]byte, len(cs))
	for i, c := range cs {
		b[i] = byte(c)
	}
	return b
}

func FuzzMessageAuthenticator(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed, []byte(testSecret))
	}
	f.Add(unhex(f, rfc5997StatusServer), []byte("xyzzy5461"))
	f.Fuzz(func(t *testing.T, pkt, secret []byte) {
		present, ok := verifyMessageAuthenticator(pkt, secret)
		if ok && !present {
			t.Fatal("ok without a Message-Authenticator")
		}
		if len(secret) == 0 {
			if ok {
				t.Fatal("ok with an empty secret")
			}
			return
		}
		p, err := radius.Parse(pkt, secret)
		if err != nil {
			return
		}
		// Whatever the attributes, what we sign verifies, and a changed
		// octet does not.
		codes := []radius.Code{radius.CodeAccessRequest, radius.CodeStatusServer, radius.CodeAccountingRequest,
			radius.CodeCoARequest, radius.CodeDisconnectRequest}
		p.Code = codes[int(pkt[1])%len(codes)]
		b, err := encodeRequest(p)
		if err != nil {
			return // too large once the Message-Authenticator is added
		}
		if present, ok := verifyMessageAuthenticator(b, secret); !present || !ok {
			t.Fatalf("encodeRequest(%v) does not verify: %v, %v", p.Code, present, ok)
		}
		if !radius.IsAuthenticRequest(b, secret) {
			t.Fatalf("encodeRequest(%v) is not authentic", p.Code)
		}
		b[len(b)-1] ^= 0x80
		if _, ok := verifyMessageAuthenticator(b, secret); ok {
			t.Fatalf("encodeRequest(%v) still verifies after a change", p.Code)
		}
		b[len(b)-1] ^= 0x80

		req, _ := radius.Parse(b, secret)
		reply := &radius.Packet{Code: replyCode(p.Code), Identifier: p.Identifier, Secret: secret, Attributes: p.Attributes}
		rb, err := encodeReply(reply, req)
		if err != nil {
			return
		}
		if present, ok := verifyReplyMessageAuthenticator(rb, b, secret); !present || !ok {
			t.Fatalf("encodeReply(%v) does not verify", reply.Code)
		}
		if !radius.IsAuthenticResponse(rb, b, secret) {
			t.Fatalf("encodeReply(%v) is not authentic", reply.Code)
		}
	})
}
