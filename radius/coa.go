package radius

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/rfc3162"
	"layeh.com/radius/rfc3576"

	"hotspot/session"
)

// Dynamic Authorization (RFC 5176): the server, acting as the client here,
// asks the NAS that holds a session to end it (Disconnect-Request) or to
// change its limits (CoA-Request). The request goes to the address the
// NAS's RADIUS packets come from (Session.NASIP) on the NAS's configured
// CoA port, identifies the session the way RFC 5176 §3 asks (User-Name,
// Acct-Session-Id, Calling-Station-Id, NAS-Identifier or NAS-IP-Address,
// Event-Timestamp against replays), and carries a Message-Authenticator as
// its first attribute. It is retransmitted, byte for byte, with a doubling
// timeout until an authentic answer comes or the context's deadline passes.

// ErrNoAnswer is wrapped by Disconnect and Throttle when the NAS never gave
// an authentic answer before the deadline.
var ErrNoAnswer = errors.New("no answer")

// ErrUnknownNAS is wrapped by Disconnect and Throttle when the session names
// a NAS that is not in the table (any more).
var ErrUnknownNAS = errors.New("unknown NAS")

// Retransmission schedule of dynamic authorization requests.
const (
	// coaFirstTimeout is how long the first attempt waits for an answer; a
	// NAS answers a CoA in milliseconds, so a second means a lost packet.
	coaFirstTimeout = time.Second
	// coaMaxTimeout caps the doubling wait between attempts.
	coaMaxTimeout = 4 * time.Second
	// coaDefaultDeadline bounds a request whose context has no deadline:
	// attempts at 0, 1, 3 and 7 s.
	coaDefaultDeadline = 10 * time.Second
)

// Request types and results, the labels of hotspot_radius_coa_total.
const (
	dynDisconnect = "disconnect"
	dynCoA        = "coa"

	dynACK      = "ack"
	dynNAK      = "nak"
	dynNoAnswer = "no_answer"
	dynError    = "error"
)

// SessionCloser is what the server needs of the store to close its record
// of a session that a NAS answered with Error-Cause 503
// (Session-Context-Not-Found): the session is gone, and keeping it open
// would send it more requests. *session.Store implements it; a store that
// does not is simply not told.
type SessionCloser interface {
	CloseLostSession(ctx context.Context, id string) error
}

// dynAuth is the server's RFC 5176 client and live quota enforcement.
type dynAuth struct {
	// The retransmission schedule; tests shorten it.
	firstTimeout, maxTimeout, defaultDeadline time.Duration

	sent *prometheus.CounterVec // hotspot_radius_coa_total{type,nas,result}

	enforce *enforcer
}

func newDynAuth(reg prometheus.Registerer) (*dynAuth, error) {
	d := &dynAuth{
		firstTimeout:    coaFirstTimeout,
		maxTimeout:      coaMaxTimeout,
		defaultDeadline: coaDefaultDeadline,
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotspot_radius_coa_total",
			Help: "RFC 5176 requests sent to NASes, by type (disconnect, coa), NAS and result (ack, nak, no_answer, error).",
		}, []string{"type", "nas", "result"}),
	}
	d.enforce = newEnforcer()
	if reg != nil {
		cs := []prometheus.Collector{d.sent, d.enforce.triggers}
		for i, c := range cs {
			if err := reg.Register(c); err != nil {
				for _, done := range cs[:i] {
					reg.Unregister(done)
				}
				return nil, fmt.Errorf("radius: register metrics: %w", err)
			}
		}
	}
	return d, nil
}

// Disconnect asks the NAS that holds sess to end it, with an RFC 5176
// Disconnect-Request sent to sess.NASIP on the NAS's CoA port, retried with
// backoff until ctx's deadline (10 s when ctx has none).
//
// A Disconnect-ACK returns ACK true. A Disconnect-NAK is an answer too: it
// returns ACK false and the Error-Cause, with a nil error; Error-Cause 503
// (Session-Context-Not-Found) also closes the store's record of the
// session. An error means there was no answer: it wraps ErrNoAnswer when
// the NAS stayed silent, ErrUnknownNAS when sess names no configured NAS.
func (s *Server) Disconnect(ctx context.Context, sess session.Session) (session.DynAuthResult, error) {
	return s.dynamicAuthorization(ctx, radius.CodeDisconnectRequest, sess, nil)
}

// Throttle asks the NAS that holds sess to change its rate to down and up
// (bit/s, seen from the device), with an RFC 5176 CoA-Request whose rate
// attributes are rendered for the NAS's kind as in an Access-Accept. A 0
// sends no rate for that direction, which leaves it as it is on
// CoovaChilli and WISPr NASes and makes it unlimited on a MikroTik, whose
// Mikrotik-Rate-Limit names both directions: pass both rates. Answers and
// errors are as for Disconnect.
func (s *Server) Throttle(ctx context.Context, sess session.Session, down, up session.BitRate) (session.DynAuthResult, error) {
	n, ok := s.nases.ByName(sess.NAS)
	if !ok {
		return session.DynAuthResult{}, fmt.Errorf("radius: coa: %w %q", ErrUnknownNAS, sess.NAS)
	}
	limits, err := renderLimits(n.Kind, session.Decision{
		Policy:    session.Policy{BandwidthDown: down, BandwidthUp: up},
		Remaining: -1,
	})
	if err != nil {
		return session.DynAuthResult{}, fmt.Errorf("radius: coa: %w", err)
	}
	if len(limits) == 0 {
		return session.DynAuthResult{}, errors.New("radius: coa: no rate to set")
	}
	return s.dynamicAuthorization(ctx, radius.CodeCoARequest, sess, limits)
}

// dynamicAuthorization sends a Disconnect- or CoA-Request about sess with
// the extra attributes, waits for the answer, counts and logs it.
func (s *Server) dynamicAuthorization(ctx context.Context, code radius.Code, sess session.Session, extra radius.Attributes) (session.DynAuthResult, error) {
	typ := dynDisconnect
	if code == radius.CodeCoARequest {
		typ = dynCoA
	}
	n, ok := s.nases.ByName(sess.NAS)
	if !ok {
		return session.DynAuthResult{}, fmt.Errorf("radius: %s: %w %q", typ, ErrUnknownNAS, sess.NAS)
	}
	if sess.AcctSessionID == "" && sess.Username == "" && sess.MAC.IsZero() {
		// A request that names no session could be read as "all of them"
		// (RFC 5176 §3).
		return session.DynAuthResult{}, fmt.Errorf("radius: %s: the session has neither Acct-Session-Id, User-Name nor MAC", typ)
	}
	ns := s.nas[n]
	count := func(result string) { s.dyn.sent.WithLabelValues(typ, n.Name, result).Inc() }
	ip, err := netip.ParseAddr(sess.NASIP)
	if err != nil {
		count(dynError)
		return session.DynAuthResult{}, fmt.Errorf("radius: %s: session has no valid NAS address %q", typ, sess.NASIP)
	}
	dst := netip.AddrPortFrom(ip.Unmap(), uint16(n.CoAPort))
	p := &radius.Packet{
		Code:       code,
		Identifier: byte(rand.Uint32()),
		Secret:     ns.secret,
		Attributes: append(sessionIdentification(n, sess, ip.Unmap(), s.cfg.now()), extra...),
	}
	req, err := encodeRequest(p)
	if err != nil {
		count(dynError)
		return session.DynAuthResult{}, fmt.Errorf("radius: %s: %w", typ, err)
	}

	start := time.Now()
	res, attempts, err := s.dyn.exchange(ctx, dst, req, ns.secret)
	dur := time.Since(start)
	attrs := []slog.Attr{
		slog.String("type", typ), slog.String("nas", n.Name), slog.String("nas_ip", dst.String()),
		slog.String("session_id", sess.LogSessionID()), slog.Int("attempts", attempts), slog.Duration("dur", dur),
	}
	if !sess.MAC.IsZero() {
		attrs = append(attrs, slog.String("mac_hash", s.store.MACHash(sess.MAC)))
	}
	if err != nil {
		result := dynError
		if errors.Is(err, ErrNoAnswer) {
			result = dynNoAnswer
		}
		count(result)
		s.logger.LogAttrs(ctx, slog.LevelWarn, "dynamic authorization failed", append(attrs, slog.String("err", err.Error()))...)
		return session.DynAuthResult{}, fmt.Errorf("radius: %s: %w", typ, err)
	}
	if res.ACK {
		count(dynACK)
		// Callers log what they asked for and why; this is the wire.
		s.logger.LogAttrs(ctx, slog.LevelDebug, "dynamic authorization acknowledged", attrs...)
		return res, nil
	}
	count(dynNAK)
	attrs = append(attrs, slog.Uint64("error_cause", uint64(res.ErrorCause)),
		slog.String("cause", rfc3576.ErrorCause(res.ErrorCause).String()))
	if res.ErrorCause == uint32(rfc3576.ErrorCause_Value_SessionContextNotFound) {
		// The NAS no longer has the session (it lost the Stop, or
		// restarted without Accounting-On): neither should we.
		if err := s.closeLostSession(ctx, sess); err != nil {
			attrs = append(attrs, slog.String("err", err.Error()))
		} else {
			attrs = append(attrs, slog.Bool("session_closed", true))
		}
	}
	s.logger.LogAttrs(ctx, slog.LevelInfo, "dynamic authorization refused", attrs...)
	return res, nil
}

func (s *Server) closeLostSession(ctx context.Context, sess session.Session) error {
	c, ok := s.store.(SessionCloser)
	if !ok || sess.ID == "" {
		return nil
	}
	// The answer is in; closing the record must not fail because the
	// caller's deadline was spent waiting for it.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.StoreTimeout)
	defer cancel()
	return c.CloseLostSession(cctx, sess.ID)
}

// sessionIdentification returns the attributes that identify sess to the
// NAS n, whose packets come from nasIP (RFC 5176 §3): the NAS by its
// NAS-Identifier when it is configured with one, else by its address, and
// the session by what the NAS reported in accounting.
func sessionIdentification(n *session.NAS, sess session.Session, nasIP netip.Addr, now time.Time) radius.Attributes {
	var p radius.Packet
	if sess.Username != "" {
		rfc2865.UserName_SetString(&p, sess.Username)
	}
	if sess.AcctSessionID != "" {
		rfc2866.AcctSessionID_SetString(&p, sess.AcctSessionID)
	}
	if !sess.MAC.IsZero() {
		rfc2865.CallingStationID_SetString(&p, callingStationID(n.Kind, sess.MAC))
	}
	switch {
	case n.Identifier != "":
		rfc2865.NASIdentifier_SetString(&p, n.Identifier)
	case nasIP.Is4():
		rfc2865.NASIPAddress_Set(&p, nasIP.AsSlice())
	default:
		rfc3162.NASIPv6Address_Set(&p, nasIP.AsSlice())
	}
	rfc2869.EventTimestamp_Set(&p, now)
	return p.Attributes
}

// callingStationID spells mac the way a NAS of the given kind reports it,
// since a NAS may compare the attribute as a string: RouterOS writes
// "AA:BB:CC:DD:EE:FF", CoovaChilli and RFC 3580 "AA-BB-CC-DD-EE-FF".
func callingStationID(kind session.NASKind, mac session.MAC) string {
	s := mac.String()
	if kind == session.KindMikrotik {
		b := []byte(s)
		for i := 2; i < len(b); i += 3 {
			b[i] = ':'
		}
		return string(b)
	}
	return s
}

// exchange sends req to dst and waits for its authentic answer,
// retransmitting it with a doubling timeout until ctx ends. It returns the
// answer and the number of attempts made.
func (d *dynAuth) exchange(ctx context.Context, dst netip.AddrPort, req, secret []byte) (session.DynAuthResult, int, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.defaultDeadline)
		defer cancel()
	}
	// A connected socket of our own: the kernel hands it only datagrams
	// from dst, and nothing else shares its identifier space.
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
	if err != nil {
		return session.DynAuthResult{}, 0, fmt.Errorf("dial %s: %w", dst, err)
	}
	defer conn.Close()
	// Wake a blocked read when ctx ends before the attempt's deadline.
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	buf := make([]byte, radius.MaxPacketLength)
	wait := d.firstTimeout
	var lastErr error
	for attempt := 1; ; attempt++ {
		// ctx's deadline may have passed before its timer fired (a busy
		// machine): without this check the loop would resend at once,
		// again and again, until the timer runs.
		if dl, ok := ctx.Deadline(); ctx.Err() != nil || (ok && !time.Now().Before(dl)) {
			return session.DynAuthResult{}, attempt - 1, noAnswer(dst, attempt-1, lastErr)
		}
		if _, err := conn.Write(req); err != nil {
			// An ICMP error from an earlier attempt can surface here; the
			// next attempt may still get through.
			lastErr = err
		}
		deadline := time.Now().Add(wait)
		if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
			deadline = dl
		}
		conn.SetReadDeadline(deadline)
		if ctx.Err() != nil {
			// ctx ended between the check above and the deadline just
			// set, which undid the one the AfterFunc set.
			return session.DynAuthResult{}, attempt, noAnswer(dst, attempt, lastErr)
		}
		for {
			n, err := conn.Read(buf)
			if err != nil {
				if errors.Is(err, syscall.ECONNREFUSED) {
					// Nothing listens on the NAS's CoA port (yet): the
					// attempt is lost, the next read waits for the deadline.
					lastErr = err
					continue
				}
				if ctx.Err() != nil {
					return session.DynAuthResult{}, attempt, noAnswer(dst, attempt, lastErr)
				}
				if errors.Is(err, os.ErrDeadlineExceeded) {
					break
				}
				return session.DynAuthResult{}, attempt, fmt.Errorf("read from %s: %w", dst, err)
			}
			if res, ok := parseDynAuthReply(buf[:n], req, secret); ok {
				return res, attempt, nil
			}
			// Not an authentic answer to this request (a late answer to
			// another, a forgery): keep waiting for the real one.
		}
		wait = min(2*wait, d.maxTimeout)
	}
}

func noAnswer(dst netip.AddrPort, attempts int, last error) error {
	if last != nil {
		return fmt.Errorf("%w from %s after %d attempts (last error: %v)", ErrNoAnswer, dst, attempts, last)
	}
	return fmt.Errorf("%w from %s after %d attempts", ErrNoAnswer, dst, attempts)
}

// parseDynAuthReply checks that reply, as received, is an authentic answer
// to the Disconnect- or CoA-Request req (both as on the wire) and reads it.
// Authentic means: the answer codes of the request's type, its identifier,
// a Response Authenticator computed with secret over req's authenticator,
// well-formed attributes, and a right Message-Authenticator if there is
// one. RFC 5176 does not require the NAS to send one, and many do not; one
// that does not verify is a forgery or a wrong secret.
func parseDynAuthReply(reply, req, secret []byte) (session.DynAuthResult, bool) {
	reply, ok := trimPacket(reply)
	if !ok || len(req) < headerLen || reply[1] != req[1] {
		return session.DynAuthResult{}, false
	}
	var ack, nak radius.Code
	switch radius.Code(req[0]) {
	case radius.CodeDisconnectRequest:
		ack, nak = radius.CodeDisconnectACK, radius.CodeDisconnectNAK
	case radius.CodeCoARequest:
		ack, nak = radius.CodeCoAACK, radius.CodeCoANAK
	default:
		return session.DynAuthResult{}, false
	}
	code := radius.Code(reply[0])
	if code != ack && code != nak {
		return session.DynAuthResult{}, false
	}
	if !radius.IsAuthenticResponse(reply, req, secret) {
		return session.DynAuthResult{}, false
	}
	attrs, err := radius.ParseAttributes(reply[headerLen:])
	if err != nil {
		return session.DynAuthResult{}, false
	}
	if present, ok := verifyReplyMessageAuthenticator(reply, req, secret); present && !ok {
		return session.DynAuthResult{}, false
	}
	res := session.DynAuthResult{ACK: code == ack}
	if !res.ACK {
		if v, ok := attrs.Lookup(rfc3576.ErrorCause_Type); ok && len(v) == 4 {
			res.ErrorCause = uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
		}
	}
	return res, true
}
