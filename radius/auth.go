package radius

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/subtle"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"hotspot/session"
)

const proxyStateType = rfc2865.ProxyState_Type

// classThrottled is the Class (RFC 2865 §5.25) of an Access-Accept at the
// throttled rate. The NAS sends it back in the session's accounting.
const classThrottled = "hotspot:throttled"

// Reply-Messages of the rejects decided here rather than by the store.
const (
	msgNoCallingStation = "missing or invalid Calling-Station-Id"
	msgNoUserName       = "missing User-Name"
	msgNoPassword       = "neither User-Password nor CHAP-Password"
	msgTwoPasswords     = "both User-Password and CHAP-Password"
	msgBadPassword      = "invalid User-Password"
	msgBadCHAP          = "invalid CHAP-Password"
	msgMACAuthPassword  = "MAC authentication password is not the MAC"
)

// handleAccess answers an authentic Access-Request (see authenticate), r
// parsed. It returns nil when the request must get no reply.
func (s *Server) handleAccess(ctx context.Context, ns *nasState, src netip.AddrPort, r *request) []byte {
	start := time.Now()
	req := &r.pkt
	ar, reject := parseAccessRequest(req, ns.nas.Name, &r.pw)
	if reject == "" {
		d, err := s.store.Authorize(ctx, ar)
		if err != nil && s.cfg.FailOpen > 0 && session.IsUnreachable(err) {
			return s.failOpen(ctx, ns, src, req, ar, start, err)
		}
		if err != nil {
			// No reply: the NAS retries, then fails over to another
			// RADIUS server, which beats a reject the device cannot
			// recover from.
			s.storeUnavailable(ctx, ns, src, ar.MAC, time.Since(start), err)
			return nil
		}
		if !d.Accepted() {
			reject = string(d.Reason)
		} else {
			return s.accept(ctx, ns, src, req, ar, d, start)
		}
	}

	var buf [64]byte // room for the Reply-Messages of this file and the store
	attrs, err := appendText(buf[:0], rfc2865.ReplyMessage_Type, reject)
	if err != nil {
		s.drop(ctx, dropEncode, src, ns, slog.String("err", err.Error()))
		return nil
	}
	level := slog.LevelDebug
	logAttrs := []slog.Attr{slog.String("reason", reject), slog.Bool("mac_auth", ar.MACAuth)}
	if ok, suppressed := s.rejectLog.allow(start); ok {
		level = slog.LevelInfo
		if suppressed > 0 {
			logAttrs = append(logAttrs, slog.Int64("suppressed", suppressed))
		}
	}
	return s.answerAccess(ctx, ns, src, req, radius.CodeAccessReject, ns.m.reject, attrs, ar, start, level, "access rejected", logAttrs...)
}

func (s *Server) accept(ctx context.Context, ns *nasState, src netip.AddrPort, req *radius.Packet, ar session.AuthRequest, d session.Decision, start time.Time) []byte {
	// Room for any Access-Accept's attributes: they are copied into the
	// reply, so the rendering need not outlive this call.
	var buf [128]byte
	attrs := appendAccept(buf[:0], ns.nas.Kind, d)
	if d.Throttled {
		// The NAS echoes Class in the session's accounting (RFC 2865
		// §5.25), which tells the store that this session runs at the
		// throttled rate already and needs no CoA-Request for it.
		attrs, _ = appendText(attrs, rfc2865.Class_Type, classThrottled)
	}
	return s.answerAccess(ctx, ns, src, req, radius.CodeAccessAccept, ns.m.accept, attrs, ar, start, slog.LevelDebug, "access accepted",
		slog.Bool("mac_auth", ar.MACAuth), slog.Int64("remaining", d.Remaining),
		slog.String("policy", d.Policy.Name), slog.Bool("throttled", d.Throttled))
}

// failOpen accepts an Access-Request that the store could not answer,
// Redis being unreachable (radius.fail_open; a slow or refusing Redis is
// not, see session.IsUnreachable): with the rates of the
// policy that applies, no data limit (what the device used is unknown)
// and a Session-Timeout of FailOpen at most, after which the device logs
// in again and, Redis back, is checked. Neither its credentials nor its
// terms can be checked meanwhile.
func (s *Server) failOpen(ctx context.Context, ns *nasState, src netip.AddrPort, req *radius.Packet, ar session.AuthRequest, start time.Time, cause error) []byte {
	d := session.Decision{Policy: s.store.PolicyFor(session.Where{NAS: ar.NAS, SSID: ar.SSID}), Remaining: -1, SessionTimeout: s.cfg.FailOpen}
	if t := d.Policy.SessionTimeout; t > 0 && t < d.SessionTimeout {
		d.SessionTimeout = t
	}
	var buf [128]byte
	attrs := appendAccept(buf[:0], ns.nas.Kind, d)
	level := slog.LevelDebug
	logAttrs := []slog.Attr{slog.Bool("mac_auth", ar.MACAuth), slog.String("policy", d.Policy.Name), slog.String("err", cause.Error())}
	if ok, suppressed := s.warnStore.allow(start); ok {
		level = slog.LevelWarn
		logAttrs = append(logAttrs, slog.Int64("suppressed", suppressed))
	}
	return s.answerAccess(ctx, ns, src, req, radius.CodeAccessAccept, ns.m.failOpen, attrs, ar, start, level,
		"store unavailable, access accepted unchecked (fail_open)", logAttrs...)
}

// answerAccess encodes the Access-Accept or -Reject with attrs (wire
// format), counts it in result and logs it with logAttrs.
func (s *Server) answerAccess(ctx context.Context, ns *nasState, src netip.AddrPort, req *radius.Packet, code radius.Code, result prometheus.Counter, attrs []byte,
	ar session.AuthRequest, start time.Time, level slog.Level, msg string, logAttrs ...slog.Attr) []byte {
	reply, err := s.encode(ns, req, code, attrs)
	if err != nil {
		s.drop(ctx, dropEncode, src, ns, slog.String("err", err.Error()))
		return nil
	}
	result.Inc()
	dur := time.Since(start)
	s.m.accessDur.Observe(dur.Seconds())
	s.logRequest(ctx, level, msg, ns, src, ar.MAC, code, dur, logAttrs...)
	return reply
}

// storeUnavailable counts and logs a request left unanswered because the
// store failed; the warning is rate-limited, the counter is not.
func (s *Server) storeUnavailable(ctx context.Context, ns *nasState, src netip.AddrPort, mac session.MAC, dur time.Duration, err error) {
	s.m.drops[dropStoreUnavailable].Inc()
	level := slog.LevelDebug
	var extra []slog.Attr
	if ok, suppressed := s.warnStore.allow(time.Now()); ok {
		level = slog.LevelWarn
		extra = append(extra, slog.Int64("suppressed", suppressed))
	}
	s.logRequest(ctx, level, "store unavailable, request left unanswered", ns, src, mac, 0, dur,
		append(extra, slog.String("err", err.Error()))...)
}

// logRequest logs the outcome of a request with the house keys. The
// pseudonym is computed only if the line is written, and the clear MAC goes
// only into debug lines.
func (s *Server) logRequest(ctx context.Context, level slog.Level, msg string, ns *nasState, src netip.AddrPort, mac session.MAC, code radius.Code, dur time.Duration, attrs ...slog.Attr) {
	if !s.logger.Enabled(ctx, level) {
		return
	}
	attrs = append(attrs,
		slog.String("nas", ns.nas.Name),
		slog.String("nas_ip", src.Addr().String()),
		slog.Duration("dur", dur))
	if code != 0 {
		attrs = append(attrs, slog.String("code", code.String()))
	}
	if !mac.IsZero() {
		attrs = append(attrs, slog.String("mac_hash", s.store.MACHash(mac)))
		if level <= slog.LevelDebug {
			attrs = append(attrs, slog.String("mac", mac.String()))
		}
	}
	s.logger.LogAttrs(ctx, level, msg, attrs...)
}

// parseAccessRequest turns an authentic Access-Request into what the store
// decides on. A non-empty reject is the Reply-Message of a request that is
// refused without asking the store. A PAP password is revealed into p,
// which ar.Credentials then points to: p must outlive the decision.
func parseAccessRequest(req *radius.Packet, nas string, p *papPassword) (ar session.AuthRequest, reject string) {
	ar.NAS = nas
	mac, err := session.ParseMAC(string(req.Get(rfc2865.CallingStationID_Type)))
	if err != nil || mac.IsZero() {
		return ar, msgNoCallingStation
	}
	ar.MAC = mac
	// The SSID chooses the device's policy, with the NAS.
	ar.AP, ar.SSID = splitCalledStation(string(req.Get(rfc2865.CalledStationID_Type)))
	user := string(req.Get(rfc2865.UserName_Type))
	pap, hasPAP := req.Lookup(rfc2865.UserPassword_Type)
	chap, hasCHAP := req.Lookup(rfc2865.CHAPPassword_Type)
	if hasPAP && hasCHAP {
		return ar, msgTwoPasswords
	}

	// MAC authentication: the NAS asks whether a device it sees is
	// remembered, with the MAC as User-Name (in its own spelling).
	if um, err := session.ParseMAC(user); err == nil && um == mac {
		ar.MACAuth = true
		// NASes put nothing, nothing much or the MAC again into the
		// password; anything else means the request is not what it
		// claims to be.
		switch {
		case hasPAP:
			var buf [maxUserPassword]byte
			pw, ok := revealUserPassword(&buf, pap, req.Secret, &req.Authenticator)
			if !ok {
				return ar, msgBadPassword
			}
			if len(pw) > 0 {
				if pm, err := session.ParseMAC(string(pw)); err != nil || pm != mac {
					return ar, msgMACAuthPassword
				}
			}
		case hasCHAP:
			c, ok := parseCHAP(req, chap)
			if !ok {
				return ar, msgBadCHAP
			}
			if !c.Match("") && !matchesAnySpelling(c, mac) {
				return ar, msgMACAuthPassword
			}
		}
		return ar, ""
	}

	if user == "" {
		return ar, msgNoUserName
	}
	ar.Username = user
	switch {
	case hasPAP:
		pw, ok := revealUserPassword(&p.buf, pap, req.Secret, &req.Authenticator)
		if !ok {
			return ar, msgBadPassword
		}
		p.n = len(pw)
		ar.Credentials = p
	case hasCHAP:
		c, ok := parseCHAP(req, chap)
		if !ok {
			return ar, msgBadCHAP
		}
		ar.Credentials = c
	default:
		return ar, msgNoPassword
	}
	return ar, ""
}

// maxUserPassword is the longest User-Password, hidden or not (RFC 2865
// §5.2).
const maxUserPassword = 128

// papPassword is the cleartext of a User-Password, without the NUL padding
// of RFC 2865 §5.2. It holds its own copy, which refers to nothing of the
// packet and costs no allocation of its own.
type papPassword struct {
	buf [maxUserPassword]byte
	n   int
}

// Match reports whether p is password, in constant time.
func (p *papPassword) Match(password string) bool {
	return subtle.ConstantTimeCompare(p.buf[:p.n], []byte(password)) == 1
}

// revealUserPassword undoes the hiding of the User-Password a (RFC 2865
// §5.2) into buf and returns the cleartext, cut at the first NUL, as
// radius.UserPassword does, without its allocations. ok is false when a is
// not a whole number of 16-octet blocks, 1 to 8 of them, or the secret is
// empty.
func revealUserPassword(buf *[maxUserPassword]byte, a radius.Attribute, secret []byte, authenticator *[16]byte) (pw []byte, ok bool) {
	if len(a) < 16 || len(a) > maxUserPassword || len(a)%16 != 0 || len(secret) == 0 {
		return nil, false
	}
	// Block i is masked with MD5(secret ‖ c), c the Request Authenticator
	// for the first block and the hidden block before it for the others.
	h := md5.New()
	var sum [md5.Size]byte
	c := authenticator[:]
	for i := 0; i < len(a); i += 16 {
		h.Reset()
		h.Write(secret)
		h.Write(c)
		h.Sum(sum[:0])
		for j := range 16 {
			buf[i+j] = a[i+j] ^ sum[j]
		}
		c = a[i : i+16]
	}
	pw = buf[:len(a)]
	if i := bytes.IndexByte(pw, 0); i >= 0 {
		pw = pw[:i]
	}
	return pw, true
}

// chapResponse is a CHAP-Password (RFC 2865 §5.3) with the challenge it
// answers.
type chapResponse struct {
	ident     byte
	response  [md5.Size]byte
	challenge []byte
	// challengeBuf holds the usual 16-octet challenge, so that a copy of
	// it costs no allocation of its own.
	challengeBuf [md5.Size]byte
}

// parseCHAP reads the CHAP-Password value a and its challenge: the
// CHAP-Challenge attribute if there is one, else the Request Authenticator
// (RFC 2865 §2.2), which is what CoovaChilli sends when its challenge is 16
// octets long. The challenge is copied: the response goes to the store,
// req is the server's to reuse.
func parseCHAP(req *radius.Packet, a radius.Attribute) (*chapResponse, bool) {
	if len(a) != 1+md5.Size {
		return nil, false
	}
	c := &chapResponse{ident: a[0]}
	copy(c.response[:], a[1:])
	ch, ok := req.Lookup(rfc2865.CHAPChallenge_Type)
	if !ok || len(ch) == 0 {
		ch = req.Authenticator[:]
	}
	c.challenge = append(c.challengeBuf[:0], ch...)
	return c, true
}

// Match reports whether the response is MD5(ident ‖ password ‖ challenge),
// in constant time.
func (c *chapResponse) Match(password string) bool {
	// Laid out on the stack for the usual lengths: a MAC-authentication
	// request tries up to eight spellings.
	var buf [64]byte
	in := append(buf[:0], c.ident)
	in = append(in, password...)
	in = append(in, c.challenge...)
	sum := md5.Sum(in)
	return subtle.ConstantTimeCompare(sum[:], c.response[:]) == 1
}

// matchesAnySpelling reports whether c is the CHAP response for mac written
// in one of the ways NASes write it as a MAC-authentication password. Unlike
// PAP, CHAP hides the spelling, so each is tried.
func matchesAnySpelling(c *chapResponse, mac session.MAC) bool {
	canon := mac.String() // AA-BB-CC-DD-EE-FF
	bare := strings.ReplaceAll(canon, "-", "")
	dotted := bare[0:4] + "." + bare[4:8] + "." + bare[8:12]
	for _, s := range []string{canon, strings.ReplaceAll(canon, "-", ":"), bare, dotted} {
		if c.Match(s) || c.Match(strings.ToLower(s)) {
			return true
		}
	}
	return false
}
