// Package nastest plays the NAS end of RFC 5176 in tests: a UDP port that
// receives Disconnect- and CoA-Requests and hands them to the test, the
// checks a NAS makes of such a request, and the ACK it sends, all written
// without the server's encoder.
package nastest

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// NAS is a NAS's RFC 5176 port on a local address.
type NAS struct {
	// Port is the UDP port it listens on.
	Port int
	conn *net.UDPConn
	got  chan Request
}

// Request is a datagram the NAS received.
type Request struct {
	// Raw is the datagram.
	Raw  []byte
	from netip.AddrPort
	conn *net.UDPConn
}

// Reply sends b to where the request came from.
func (r Request) Reply(b []byte) {
	r.conn.WriteToUDPAddrPort(b, r.from)
}

// Start listens on a free UDP port of ip until the test ends. answer, when
// not nil, returns the replies to send at once to each request (none for
// nil); the test can also reply later, with Request.Reply.
func Start(t testing.TB, ip string, answer func(req []byte) [][]byte) *NAS {
	t.Helper()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		t.Fatal(err)
	}
	n := &NAS{Port: conn.LocalAddr().(*net.UDPAddr).Port, conn: conn, got: make(chan Request, 64)}
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		buf := make([]byte, 4096)
		for {
			k, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			r := Request{Raw: bytes.Clone(buf[:k]), from: from, conn: conn}
			// A test that stopped reading must not block the NAS, or its
			// cleanup would wait for it forever.
			select {
			case n.got <- r:
			case <-done:
				return
			}
			if answer != nil {
				for _, b := range answer(r.Raw) {
					r.Reply(b)
				}
			}
		}
	})
	t.Cleanup(func() { close(done); conn.Close(); wg.Wait() })
	return n
}

// Next returns the next request the NAS received, failing the test when
// none comes within d.
func (n *NAS) Next(t testing.TB, d time.Duration) Request {
	t.Helper()
	select {
	case r := <-n.got:
		return r
	case <-time.After(d):
		t.Fatalf("the NAS received no request within %v", d)
		return Request{}
	}
}

// Waiting returns how many received requests the test has not taken yet.
func (n *NAS) Waiting() int { return len(n.got) }

// Verify checks a CoA- or Disconnect-Request as a NAS does (RFC 5176 §3.3):
// the Request Authenticator is MD5 over the packet with 16 zero octets in
// its place, followed by the secret; the Message-Authenticator, which must
// be the first attribute, is HMAC-MD5 over the packet with zeros in the
// authenticator and in its own value.
func Verify(req []byte, secret string) error {
	if len(req) < 38 {
		return fmt.Errorf("request of %d octets", len(req))
	}
	zeroed := bytes.Clone(req)
	clear(zeroed[4:20])
	sum := md5.Sum(append(zeroed, secret...))
	if !hmac.Equal(sum[:], req[4:20]) {
		return errors.New("the Request Authenticator does not verify")
	}
	if req[20] != messageAuthenticator || req[21] != 18 {
		return fmt.Errorf("first attribute is %d, want a Message-Authenticator", req[20])
	}
	clear(zeroed[22:38])
	mac := hmac.New(md5.New, []byte(secret))
	mac.Write(zeroed)
	if !hmac.Equal(mac.Sum(nil), req[22:38]) {
		return errors.New("the Message-Authenticator does not verify")
	}
	return nil
}

// messageAuthenticator is the Message-Authenticator's attribute type (RFC
// 3579).
const messageAuthenticator = 80

// ACK returns the ACK of req (Disconnect-ACK or CoA-ACK, the request's
// code + 1) with a Message-Authenticator, computed with the request's
// authenticator in place, and the Response Authenticator.
func ACK(req []byte, secret string) []byte {
	b := make([]byte, 20+18)
	b[0], b[1], b[3] = req[0]+1, req[1], byte(len(b))
	copy(b[4:20], req[4:20])
	b[20], b[21] = messageAuthenticator, 18
	mac := hmac.New(md5.New, []byte(secret))
	mac.Write(b)
	copy(b[22:38], mac.Sum(nil))
	sum := md5.Sum(append(bytes.Clone(b), secret...))
	copy(b[4:20], sum[:])
	return b
}
