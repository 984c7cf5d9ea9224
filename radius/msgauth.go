package radius

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"sync"

	"layeh.com/radius"
	"layeh.com/radius/rfc2869"
)

// Message-Authenticator (RFC 2869 §5.14, RFC 3579 §3.2, RFC 5176 §3.3) is
// an HMAC-MD5, keyed with the shared secret, over the whole packet with the
// attribute's own value taken as 16 zero octets. What the Authenticator
// field holds while the HMAC is computed depends on the packet:
//
//   - Access-Request, Status-Server: the Request Authenticator as sent.
//   - Accounting-Request, CoA-Request, Disconnect-Request: 16 zero octets,
//     because the Request Authenticator is itself an MD5 over the packet,
//     Message-Authenticator included, and is computed afterwards.
//   - Access-Accept, -Reject, -Challenge, CoA- and Disconnect-ACK/NAK, and
//     an Accounting-Response to a Status-Server: the Request Authenticator
//     of the request answered.
//   - Accounting-Response to an Accounting-Request: 16 zero octets, like
//     the request it answers. No RFC spells this case out; it is what
//     FreeRADIUS computes and checks (its radclient rejects the
//     request-authenticator variant), and so what NASes expect.
//
// The Response Authenticator is computed afterwards, over the finished
// Message-Authenticator, always with the request's authenticator.
//
// BlastRADIUS (CVE-2024-3596) turns an Access-Reject into an Access-Accept
// with an MD5 chosen-prefix collision on the Response Authenticator, the
// collision blocks smuggled in through Proxy-State, which the server copies
// into its reply. Two things defeat it: the NAS checking a
// Message-Authenticator on the reply (an HMAC keyed with the secret, which
// no collision forges), and the server putting that attribute first, right
// after the header, so that the reply's MD5 input starts with 16 octets the
// attacker cannot predict and the prefix of the collision cannot be
// computed in advance. Hence: every reply, Message-Authenticator first.

const (
	headerLen = 20
	maType    = byte(rfc2869.MessageAuthenticator_Type)
	maLen     = 2 + md5.Size // type, length, 16 octets of HMAC
)

var zeroAuthenticator [16]byte

// hashes are the digests of one shared secret, for reuse: an HMAC-MD5
// keyed with it (Message-Authenticator) and a plain MD5 (Request and
// Response Authenticators).
type hashes struct {
	mac hash.Hash
	md5 hash.Hash
	// Scratch space for the digests' inputs and outputs: what is handed
	// to a hash.Hash escapes, and here it escapes once per pooled hashes
	// rather than once per packet.
	auth, sum [md5.Size]byte
}

// hashPool hands out hashes for one shared secret. A keyed HMAC that is
// Reset restores its precomputed pad states instead of hashing the key
// again, so reusing one saves two MD5 blocks and the allocations of a new
// HMAC on every packet. The server keeps a pool per secret.
type hashPool struct {
	pool sync.Pool
}

func newHashPool(secret []byte) *hashPool {
	secret = append([]byte(nil), secret...)
	p := &hashPool{}
	p.pool.New = func() any { return &hashes{mac: hmac.New(md5.New, secret), md5: md5.New()} }
	return p
}

func (p *hashPool) get() *hashes  { return p.pool.Get().(*hashes) }
func (p *hashPool) put(h *hashes) { p.pool.Put(h) }

// trimPacket returns pkt cut to its Length field; octets past it are
// padding (RFC 2865 §3) and are covered by no authenticator.
func trimPacket(pkt []byte) ([]byte, bool) {
	if len(pkt) < headerLen {
		return nil, false
	}
	n := int(binary.BigEndian.Uint16(pkt[2:4]))
	if n < headerLen || n > radius.MaxPacketLength || n > len(pkt) {
		return nil, false
	}
	return pkt[:n], true
}

// findMessageAuthenticator returns the offset of the value of the packet's
// Message-Authenticator. present reports whether there is any; ok is false
// when the attributes are malformed, when there are two (a packet must not
// carry two: which one would count?) or when the attribute is not 18
// octets long.
func findMessageAuthenticator(pkt []byte) (off int, present, ok bool) {
	off = -1
	for i := headerLen; i < len(pkt); {
		if len(pkt)-i < 2 {
			return off, off >= 0, false
		}
		l := int(pkt[i+1])
		if l < 2 || i+l > len(pkt) {
			return off, off >= 0, false
		}
		if pkt[i] == maType {
			if off >= 0 || l != maLen {
				return off, true, false
			}
			off = i + 2
		}
		i += l
	}
	return off, off >= 0, off >= 0
}

// messageAuthenticator computes the HMAC of pkt, whose Message-Authenticator
// value starts at off, as if the Authenticator field held auth and the
// Message-Authenticator value were zero. pkt is not modified.
func messageAuthenticator(mac hash.Hash, pkt []byte, off int, auth *[16]byte) [md5.Size]byte {
	var sum [md5.Size]byte
	messageAuthenticatorInto(mac, pkt, off, auth, &sum)
	return sum
}

// messageAuthenticatorInto is messageAuthenticator writing into sum.
func messageAuthenticatorInto(mac hash.Hash, pkt []byte, off int, auth, sum *[md5.Size]byte) {
	mac.Reset()
	mac.Write(pkt[:4])
	mac.Write(auth[:])
	mac.Write(pkt[headerLen:off])
	mac.Write(zeroAuthenticator[:])
	mac.Write(pkt[off+md5.Size:])
	mac.Sum(sum[:0])
}

// verifyMessageAuthenticator checks the Message-Authenticator of a request
// packet as received. present reports whether the packet carries one; ok
// whether it carries exactly one and it is right for secret. Packets that
// are not requests, are truncated or malformed are never ok.
func verifyMessageAuthenticator(pkt []byte, secret []byte) (present, ok bool) {
	return verifyMessageAuthenticatorWith(pkt, secret, nil)
}

// verifyMessageAuthenticatorWith is verifyMessageAuthenticator with h, the
// hashes of secret, or nil for new ones.
func verifyMessageAuthenticatorWith(pkt, secret []byte, h *hashes) (present, ok bool) {
	pkt, valid := trimPacket(pkt)
	if !valid {
		return false, false
	}
	off, present, ok := findMessageAuthenticator(pkt)
	if !ok || len(secret) == 0 {
		return present, false
	}
	if h == nil {
		h = newHashes(secret)
	}
	switch radius.Code(pkt[0]) {
	case radius.CodeAccessRequest, radius.CodeStatusServer:
		copy(h.auth[:], pkt[4:headerLen])
	case radius.CodeAccountingRequest, radius.CodeCoARequest, radius.CodeDisconnectRequest:
		h.auth = zeroAuthenticator
	default:
		return true, false
	}
	messageAuthenticatorInto(h.mac, pkt, off, &h.auth, &h.sum)
	return true, hmac.Equal(h.sum[:], pkt[off:off+md5.Size])
}

// isAuthenticRequest reports whether the Request Authenticator of an
// Accounting-, CoA- or Disconnect-Request is right for the secret that h
// belongs to (RFC 2866 §3, RFC 5176 §3.3): radius.IsAuthenticRequest
// without its allocations.
func isAuthenticRequest(pkt, secret []byte, h *hashes) bool {
	pkt, valid := trimPacket(pkt)
	if !valid || len(secret) == 0 {
		return false
	}
	switch radius.Code(pkt[0]) {
	case radius.CodeAccountingRequest, radius.CodeCoARequest, radius.CodeDisconnectRequest:
	default:
		return false
	}
	h.md5.Reset()
	h.md5.Write(pkt[:4])
	h.md5.Write(zeroAuthenticator[:])
	h.md5.Write(pkt[headerLen:])
	h.md5.Write(secret)
	h.md5.Sum(h.sum[:0])
	return hmac.Equal(h.sum[:], pkt[4:headerLen])
}

// verifyReplyMessageAuthenticator checks the Message-Authenticator of
// reply, the answer to request (both as on the wire). The CoA client and
// the tests use it; the server only sends replies.
func verifyReplyMessageAuthenticator(reply, request []byte, secret []byte) (present, ok bool) {
	reply, valid := trimPacket(reply)
	if !valid || len(request) < headerLen {
		return false, false
	}
	off, present, ok := findMessageAuthenticator(reply)
	if !ok || len(secret) == 0 || !isReply(radius.Code(reply[0])) {
		return present, false
	}
	auth := replyHMACAuthenticator(radius.Code(reply[0]), radius.Code(request[0]), [16]byte(request[4:headerLen]))
	sum := messageAuthenticator(hmac.New(md5.New, secret), reply, off, &auth)
	return true, hmac.Equal(sum[:], reply[off:off+md5.Size])
}

// replyHMACAuthenticator returns what the Authenticator field holds while
// the Message-Authenticator of a reply is computed (see the top of the file).
func replyHMACAuthenticator(reply, request radius.Code, requestAuthenticator [16]byte) [16]byte {
	if reply == radius.CodeAccountingResponse && request != radius.CodeStatusServer {
		return zeroAuthenticator
	}
	return requestAuthenticator
}

func isReply(c radius.Code) bool {
	switch c {
	case radius.CodeAccessAccept, radius.CodeAccessReject, radius.CodeAccessChallenge,
		radius.CodeAccountingResponse,
		radius.CodeCoAACK, radius.CodeCoANAK, radius.CodeDisconnectACK, radius.CodeDisconnectNAK:
		return true
	}
	return false
}

// marshalWithMessageAuthenticator lays out a packet with a zero
// Message-Authenticator as its first attribute, followed by raw, attributes
// already in wire format, then attrs in order. Message-Authenticators in
// attrs are left out: there must be exactly one, and it must be ours. raw
// is the server's own rendering and holds none.
func marshalWithMessageAuthenticator(code radius.Code, id byte, auth [16]byte, raw []byte, attrs radius.Attributes) ([]byte, error) {
	size := headerLen + maLen + len(raw)
	for _, a := range attrs {
		if a.Type < 0 || a.Type > 255 {
			return nil, fmt.Errorf("radius: encode: attribute type %d out of range", a.Type)
		}
		if byte(a.Type) == maType {
			continue
		}
		if len(a.Attribute) > 253 {
			return nil, fmt.Errorf("radius: encode: attribute %d is %d octets long, at most 253 fit", a.Type, len(a.Attribute))
		}
		size += 2 + len(a.Attribute)
	}
	if size > radius.MaxPacketLength {
		return nil, fmt.Errorf("radius: encode: packet would be %d octets, at most %d are allowed", size, radius.MaxPacketLength)
	}
	b := make([]byte, size)
	b[0] = byte(code)
	b[1] = id
	binary.BigEndian.PutUint16(b[2:4], uint16(size))
	copy(b[4:headerLen], auth[:])
	b[headerLen] = maType
	b[headerLen+1] = maLen
	i := headerLen + maLen + copy(b[headerLen+maLen:], raw)
	for _, a := range attrs {
		if byte(a.Type) == maType {
			continue
		}
		b[i] = byte(a.Type)
		b[i+1] = byte(2 + len(a.Attribute))
		i += 2 + copy(b[i+2:], a.Attribute)
	}
	return b, nil
}

// signMessageAuthenticator fills in the Message-Authenticator that
// marshalWithMessageAuthenticator left zero, computed as if the
// Authenticator field held auth.
func signMessageAuthenticator(b []byte, h *hashes, auth [16]byte) {
	const off = headerLen + 2
	h.auth = auth
	messageAuthenticatorInto(h.mac, b, off, &h.auth, &h.sum)
	copy(b[off:], h.sum[:])
}

// setResponseAuthenticator writes the Response Authenticator of RFC 2865
// §3, MD5(Code+ID+Length+RequestAuth+Attributes+Secret), into b.
func setResponseAuthenticator(b []byte, requestAuthenticator [16]byte, secret []byte) {
	setResponseAuthenticatorWith(b, requestAuthenticator, secret, md5.New())
}

// setResponseAuthenticatorWith is setResponseAuthenticator with h, an MD5
// to reuse.
func setResponseAuthenticatorWith(b []byte, requestAuthenticator [16]byte, secret []byte, h hash.Hash) {
	copy(b[4:headerLen], requestAuthenticator[:])
	h.Reset()
	h.Write(b)
	h.Write(secret)
	h.Sum(b[4:4])
}

// newHashes returns hashes for secret that are not pooled.
func newHashes(secret []byte) *hashes {
	return &hashes{mac: hmac.New(md5.New, secret), md5: md5.New()}
}

// encodeReply encodes reply, the answer to request, with a
// Message-Authenticator as its first attribute (any in reply.Attributes
// are dropped) and the Response Authenticator computed over it.
// reply.Secret is the shared secret; of request only the code and the
// authenticator are used.
func encodeReply(reply, request *radius.Packet) ([]byte, error) {
	return encodeReplyWith(reply, request, nil, nil)
}

// encodeReplyWith is encodeReply with raw, attributes in wire format that
// hold no Message-Authenticator, put before reply.Attributes, and with h,
// the hashes of reply.Secret, or nil for new ones.
func encodeReplyWith(reply, request *radius.Packet, raw []byte, h *hashes) ([]byte, error) {
	if !isReply(reply.Code) {
		return nil, fmt.Errorf("radius: encode reply: %v is not a reply code", reply.Code)
	}
	if len(reply.Secret) == 0 {
		return nil, errors.New("radius: encode reply: empty secret")
	}
	b, err := marshalWithMessageAuthenticator(reply.Code, reply.Identifier, request.Authenticator, raw, reply.Attributes)
	if err != nil {
		return nil, err
	}
	if h == nil {
		h = newHashes(reply.Secret)
	}
	signMessageAuthenticator(b, h, replyHMACAuthenticator(reply.Code, request.Code, request.Authenticator))
	setResponseAuthenticatorWith(b, request.Authenticator, reply.Secret, h.md5)
	return b, nil
}

// encodeRequest encodes the request p with a Message-Authenticator as its
// first attribute. For Access-Request and Status-Server, p.Authenticator is
// sent as it is (a User-Password in p must have been hidden with it); for
// Accounting-, CoA- and Disconnect-Requests the Request Authenticator is
// computed, over the Message-Authenticator, as RFC 2866 §3 and RFC 5176
// §3.3 ask.
func encodeRequest(p *radius.Packet) ([]byte, error) {
	if len(p.Secret) == 0 {
		return nil, errors.New("radius: encode request: empty secret")
	}
	switch p.Code {
	case radius.CodeAccessRequest, radius.CodeStatusServer:
		b, err := marshalWithMessageAuthenticator(p.Code, p.Identifier, p.Authenticator, nil, p.Attributes)
		if err != nil {
			return nil, err
		}
		signMessageAuthenticator(b, newHashes(p.Secret), p.Authenticator)
		return b, nil
	case radius.CodeAccountingRequest, radius.CodeCoARequest, radius.CodeDisconnectRequest:
		b, err := marshalWithMessageAuthenticator(p.Code, p.Identifier, zeroAuthenticator, nil, p.Attributes)
		if err != nil {
			return nil, err
		}
		h := newHashes(p.Secret)
		signMessageAuthenticator(b, h, zeroAuthenticator)
		// The Request Authenticator is the Response Authenticator formula
		// with zeros in place of a request's authenticator.
		setResponseAuthenticatorWith(b, zeroAuthenticator, p.Secret, h.md5)
		return b, nil
	}
	return nil, fmt.Errorf("radius: encode request: %v is not a request code", p.Code)
}
