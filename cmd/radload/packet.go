package main

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"
)

// The generator encodes its requests itself, into a buffer each worker
// reuses: it shares the machine's cores with the server it measures, so
// every microsecond it spends is one the server does not get. layeh gives
// the attribute numbers; the tests check the bytes against layeh's parser
// and against our server.

const (
	headerLen = 20
	maType    = byte(rfc2869.MessageAuthenticator_Type)
	maLen     = 2 + md5.Size
)

// signer holds what a worker needs to sign packets for one shared secret:
// the secret and a reusable HMAC-MD5 and MD5.
type signer struct {
	secret []byte
	mac    hash.Hash // HMAC-MD5 keyed with secret
	md5    hash.Hash
}

func newSigner(secret string) *signer {
	s := []byte(secret)
	return &signer{secret: s, mac: hmac.New(md5.New, s), md5: md5.New()}
}

// encoder lays out one request in a reused buffer.
type encoder struct {
	b    []byte
	maAt int // offset of the Message-Authenticator's value, or -1
}

// start begins a packet with the given code, identifier and authenticator
// (zero for Accounting-Requests, whose authenticator finish computes).
func (e *encoder) start(code radius.Code, id byte, auth [16]byte) {
	e.b = append(e.b[:0], byte(code), id, 0, 0)
	e.b = append(e.b, auth[:]...)
	e.maAt = -1
}

// messageAuthenticator adds a zero Message-Authenticator for finish to
// fill in. Like our server's replies, requests carry it first.
func (e *encoder) messageAuthenticator() {
	e.b = append(e.b, maType, maLen)
	e.maAt = len(e.b)
	e.b = append(e.b, make([]byte, md5.Size)...)
}

func (e *encoder) bytes(t radius.Type, v []byte) {
	e.b = append(e.b, byte(t), byte(2+len(v)))
	e.b = append(e.b, v...)
}

func (e *encoder) string(t radius.Type, v string) {
	e.b = append(e.b, byte(t), byte(2+len(v)))
	e.b = append(e.b, v...)
}

func (e *encoder) uint32(t radius.Type, v uint32) {
	e.b = append(e.b, byte(t), 6)
	e.b = binary.BigEndian.AppendUint32(e.b, v)
}

// userPassword adds a User-Password hidden as RFC 2865 §5.2 says; the
// authenticator must already be in place.
func (e *encoder) userPassword(s *signer, password string) error {
	n := (len(password) + 15) / 16 * 16
	if n == 0 {
		n = 16
	}
	if n > 128 {
		return errors.New("radload: User-Password longer than 128 octets")
	}
	e.b = append(e.b, byte(rfc2865.UserPassword_Type), byte(2+n))
	at := len(e.b)
	e.b = append(e.b, make([]byte, n)...)
	out := e.b[at : at+n]
	copy(out, password)
	var sum [md5.Size]byte
	prev := e.b[4:headerLen]
	for i := 0; i < n; i += 16 {
		s.md5.Reset()
		s.md5.Write(s.secret)
		s.md5.Write(prev)
		s.md5.Sum(sum[:0])
		for j := range 16 {
			out[i+j] ^= sum[j]
		}
		prev = out[i : i+16]
	}
	return nil
}

// chapPassword adds a CHAP-Password for password with the Request
// Authenticator as the challenge (RFC 2865 §2.2), as CoovaChilli does.
func (e *encoder) chapPassword(s *signer, ident byte, password string) {
	s.md5.Reset()
	s.md5.Write([]byte{ident})
	s.md5.Write([]byte(password))
	s.md5.Write(e.b[4:headerLen])
	e.b = append(e.b, byte(rfc2865.CHAPPassword_Type), 2+1+md5.Size, ident)
	e.b = s.md5.Sum(e.b)
}

// counters adds a session's cumulative input and output, with Gigawords
// when they pass 4 GiB.
func (e *encoder) counters(in, out uint64) {
	e.uint32(rfc2866.AcctInputOctets_Type, uint32(in))
	e.uint32(rfc2866.AcctOutputOctets_Type, uint32(out))
	if in>>32 != 0 {
		e.uint32(rfc2869.AcctInputGigawords_Type, uint32(in>>32))
	}
	if out>>32 != 0 {
		e.uint32(rfc2869.AcctOutputGigawords_Type, uint32(out>>32))
	}
}

// finish sets the length and signs the packet: the Message-Authenticator
// (RFC 3579 §3.2; for an Accounting-Request computed with a zero
// authenticator) and, for an Accounting-Request, the Request Authenticator
// of RFC 2866 §3. It returns the packet, valid until the next start.
func (e *encoder) finish(s *signer) ([]byte, error) {
	if len(e.b) > radius.MaxPacketLength {
		return nil, fmt.Errorf("radload: packet of %d octets is too long", len(e.b))
	}
	binary.BigEndian.PutUint16(e.b[2:4], uint16(len(e.b)))
	acct := radius.Code(e.b[0]) == radius.CodeAccountingRequest
	if e.maAt >= 0 {
		// The value is zero while the HMAC is computed; for accounting so
		// is the authenticator field, which is still zero here.
		s.mac.Reset()
		s.mac.Write(e.b)
		s.mac.Sum(e.b[e.maAt:e.maAt])
	}
	if acct {
		s.md5.Reset()
		s.md5.Write(e.b)
		s.md5.Write(s.secret)
		s.md5.Sum(e.b[4:4])
	}
	return e.b, nil
}

// Reply errors: a reply that fails these checks is not counted as an
// answer.
var (
	errShortReply  = errors.New("reply too short or length field wrong")
	errReplyAuth   = errors.New("Response Authenticator does not verify")
	errReplyMA     = errors.New("Message-Authenticator of the reply does not verify")
	errReplyFormat = errors.New("malformed attributes in reply")
)

// checkReply verifies that reply answers req (identifier, Response
// Authenticator, and the Message-Authenticator when the reply has one) and
// returns its code. ok is false, with no error, when reply answers another
// request (a late reply to an earlier, timed-out one).
func checkReply(s *signer, reply, req []byte) (code radius.Code, ok bool, err error) {
	if len(reply) < headerLen {
		return 0, false, errShortReply
	}
	if reply[1] != req[1] {
		return 0, false, nil
	}
	n := int(binary.BigEndian.Uint16(reply[2:4]))
	if n < headerLen || n > len(reply) {
		return 0, false, errShortReply
	}
	reply = reply[:n]
	var sum [md5.Size]byte
	s.md5.Reset()
	s.md5.Write(reply[:4])
	s.md5.Write(req[4:headerLen])
	s.md5.Write(reply[headerLen:])
	s.md5.Write(s.secret)
	s.md5.Sum(sum[:0])
	if subtle.ConstantTimeCompare(sum[:], reply[4:headerLen]) != 1 {
		// Same identifier, other request: an old reply whose identifier
		// came round again. Not an error of the server's.
		return 0, false, nil
	}
	maAt := -1
	for i := headerLen; i < n; {
		if n-i < 2 || reply[i+1] < 2 || i+int(reply[i+1]) > n {
			return 0, false, errReplyFormat
		}
		if reply[i] == maType {
			if reply[i+1] != maLen || maAt >= 0 {
				return 0, false, errReplyMA
			}
			maAt = i + 2
		}
		i += int(reply[i+1])
	}
	if maAt >= 0 {
		// The HMAC is over the reply with the request's authenticator in
		// its place, or zeros when it answers an Accounting-Request.
		var auth [16]byte
		if radius.Code(req[0]) != radius.CodeAccountingRequest {
			copy(auth[:], req[4:headerLen])
		}
		var zero [md5.Size]byte
		s.mac.Reset()
		s.mac.Write(reply[:4])
		s.mac.Write(auth[:])
		s.mac.Write(reply[headerLen:maAt])
		s.mac.Write(zero[:])
		s.mac.Write(reply[maAt+md5.Size:])
		s.mac.Sum(sum[:0])
		if !hmac.Equal(sum[:], reply[maAt:maAt+md5.Size]) {
			return 0, false, errReplyMA
		}
	}
	return radius.Code(reply[0]), true, nil
}
