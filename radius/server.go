package radius

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"layeh.com/radius"

	"hotspot/session"
)

// Config is the RADIUS server's part of the config file. The zero value
// listens on the standard ports with sane limits.
type Config struct {
	// AuthListen is the UDP address for Access-Requests. Default ":1812".
	AuthListen string `yaml:"auth_listen"`
	// AcctListen is the UDP address for Accounting-Requests. Default ":1813".
	AcctListen string `yaml:"acct_listen"`
	// Workers is how many requests are handled at once. Most of a
	// request's time is the Redis round trip, so this is about
	// concurrency, not cores. Default 64.
	Workers int `yaml:"workers"`
	// Queue is how many received packets may wait for a worker; beyond it
	// packets are dropped ("overload") rather than answered too late to
	// matter. Default 4096.
	Queue int `yaml:"queue"`
	// StoreTimeout bounds each request's store calls: a request gets
	// between 0.9 and 1 times it (see Server.work). Keep it below the
	// NAS's retransmit interval (typically 3–5 s): a reply after the NAS
	// gave up is wasted. Default 2s.
	StoreTimeout time.Duration `yaml:"store_timeout"`
	// DuplicateWindow is how long an answered request is remembered, so a
	// retransmit gets the same reply again (RFC 5080). It should cover the
	// NAS's whole retry schedule. Default 30s.
	DuplicateWindow time.Duration `yaml:"duplicate_window"`
	// FailOpen, when positive (at least a minute), has an Access-Request
	// that Redis cannot answer because it cannot be reached (see
	// session.IsUnreachable; a slow Redis does not count) accepted instead
	// of left unanswered: with
	// the rates of the policy that applies, no data limit and a
	// Session-Timeout of FailOpen at most, so that the device logs in
	// again, and is checked, soon after Redis is back. Neither the
	// device's credentials nor whether it accepted the terms can be
	// checked meanwhile: anyone the NAS sends is let in, and the NAS no
	// longer fails over to a second RADIUS server, since it gets its
	// answer. Default 0: no reply, and the NAS retries or fails over.
	FailOpen time.Duration `yaml:"fail_open"`

	// now is the response cache's clock; nil means time.Now. Tests set it.
	now func() time.Time
	// cacheSize caps the response cache; 0 means defaultCacheSize.
	cacheSize int
}

// minFailOpen is the shortest radius.fail_open: the Session-Timeout of
// the devices it lets in.
const minFailOpen = time.Minute

// Defaults for the optional settings.
const (
	DefaultAuthListen      = ":1812"
	DefaultAcctListen      = ":1813"
	DefaultWorkers         = 64
	DefaultQueue           = 4096
	DefaultStoreTimeout    = 2 * time.Second
	DefaultDuplicateWindow = 30 * time.Second
)

func (c Config) withDefaults() Config {
	if c.AuthListen == "" {
		c.AuthListen = DefaultAuthListen
	}
	if c.AcctListen == "" {
		c.AcctListen = DefaultAcctListen
	}
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	if c.Queue == 0 {
		c.Queue = DefaultQueue
	}
	if c.StoreTimeout == 0 {
		c.StoreTimeout = DefaultStoreTimeout
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = DefaultDuplicateWindow
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.cacheSize == 0 {
		c.cacheSize = defaultCacheSize
	}
	return c
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, l := range []struct{ key, addr string }{{"auth_listen", c.AuthListen}, {"acct_listen", c.AcctListen}} {
		_, port, err := net.SplitHostPort(l.addr)
		if err != nil {
			add("radius.%s %q is not host:port", l.key, l.addr)
		} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			add("radius.%s %q: port must be a number from 0 to 65535", l.key, l.addr)
		}
	}
	// Two ephemeral ports (tests) never clash; anything else would.
	if c.AuthListen == c.AcctListen && !hasPortZero(c.AuthListen) {
		add("radius.auth_listen and radius.acct_listen are both %q", c.AuthListen)
	}
	if c.Workers <= 0 {
		add("radius.workers must be positive")
	}
	if c.FailOpen < 0 || c.FailOpen > 0 && c.FailOpen < minFailOpen {
		add("radius.fail_open %v: 0 (off) or at least %v (the Session-Timeout of the devices it lets in)", c.FailOpen, minFailOpen)
	}
	if c.Queue <= 0 {
		add("radius.queue must be positive")
	}
	if c.StoreTimeout <= 0 {
		add("radius.store_timeout must be positive")
	}
	if c.DuplicateWindow <= 0 {
		add("radius.duplicate_window must be positive")
	} else if c.StoreTimeout > 0 && c.DuplicateWindow < c.StoreTimeout {
		add("radius.duplicate_window %v is shorter than radius.store_timeout %v: a retransmit could be handled twice", c.DuplicateWindow, c.StoreTimeout)
	}
	return errors.Join(errs...)
}

func hasPortZero(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	return err == nil && port == "0"
}

// Store is what the server needs of the session store; *session.Store
// implements it.
type Store interface {
	// Authorize decides an Access-Request. An error means the store could
	// not be asked, and the request gets no reply.
	Authorize(ctx context.Context, r session.AuthRequest) (session.Decision, error)
	// Account stores an accounting record; the NAS gets its
	// Accounting-Response only after it succeeded.
	Account(ctx context.Context, r session.AcctRecord) (session.Usage, error)
	// CloseNAS closes every open session of a NAS (Accounting-On/Off)
	// that restarted or went down delay ago. Only sessions reported from
	// nasIP are closed (one NAS entry may cover several controllers), and
	// only those without a record since the restart.
	CloseNAS(ctx context.Context, nas string, nasIP netip.Addr, delay time.Duration) (int, error)
	// MACHash returns the pseudonym logged in place of a MAC.
	MACHash(m session.MAC) string
	// PolicyFor returns the policy that applies where a device is.
	PolicyFor(w session.Where) session.Policy
}

// Server answers Access- and Accounting-Requests from the NASes in its
// table. Each packet is handled by one of a fixed pool of workers; a packet
// that cannot be answered correctly (unknown source, bad authenticator,
// store unreachable, queue full) gets no reply at all, which tells the NAS
// to retry or fail over, and is counted under its reason.
type Server struct {
	cfg    Config
	nases  *session.NASTable
	nas    map[*session.NAS]*nasState
	store  Store
	logger *slog.Logger
	m      *metrics
	cache  *responseCache
	bufs   sync.Pool
	// requests are reused from one packet to the next.
	requests requestPool

	// One warning a second of each kind.
	warnStore, warnIO, warnUnattributed lineBudget
	// rejectLog bounds the info lines of rejected Access-Requests, which
	// anyone can cause from a NAS that need not send
	// Message-Authenticator.
	rejectLog lineBudget

	// dyn is the RFC 5176 client and live quota enforcement (coa.go,
	// enforce.go); Serve runs its workers.
	dyn *dynAuth
}

// nasState is what the server keeps per NAS, resolved once.
type nasState struct {
	nas    *session.NAS
	secret []byte
	hashes *hashPool // of secret
	m      nasMetrics
	// lastIP is the address the NAS last sent from, as text.
	lastIP atomic.Pointer[addrText]
}

// addrText is an address with its text form.
type addrText struct {
	addr netip.Addr
	text string
}

// ipText returns the text form of a, the NAS's source address, without the
// IPv4-in-IPv6 mapping. Every accounting record carries it to the store,
// and a NAS sends from one address, rarely a few, so the last one is
// remembered rather than formatted again for each record.
func (ns *nasState) ipText(a netip.Addr) string {
	if t := ns.lastIP.Load(); t != nil && t.addr == a {
		return t.text
	}
	t := &addrText{addr: a, text: a.Unmap().String()}
	ns.lastIP.Store(t)
	return t.text
}

// verifyMessageAuthenticator is verifyMessageAuthenticator with the NAS's
// secret and pooled HMAC.
func (ns *nasState) verifyMessageAuthenticator(pkt []byte) (present, ok bool) {
	h := ns.hashes.get()
	defer ns.hashes.put(h)
	return verifyMessageAuthenticatorWith(pkt, ns.secret, h)
}

// isAuthenticRequest reports whether the Request Authenticator of an
// Accounting-Request from the NAS is right.
func (ns *nasState) isAuthenticRequest(pkt []byte) bool {
	h := ns.hashes.get()
	defer ns.hashes.put(h)
	return isAuthenticRequest(pkt, ns.secret, h)
}

// New returns a server for the NASes in nases, deciding with store. It
// registers its metrics with reg unless reg is nil.
func New(cfg Config, nases *session.NASTable, store Store, logger *slog.Logger, reg prometheus.Registerer) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if nases == nil || store == nil {
		return nil, errors.New("radius: new server: NAS table and store are required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       cfg,
		nases:     nases,
		nas:       make(map[*session.NAS]*nasState),
		store:     store,
		logger:    logger.With("server", "radius"),
		m:         m,
		cache:     newResponseCache(cfg.DuplicateWindow, cfg.cacheSize, cfg.now),
		rejectLog: lineBudget{max: rejectLinesPerSecond},
		bufs: sync.Pool{New: func() any {
			b := make([]byte, radius.MaxPacketLength)
			return &b
		}},
	}
	if s.dyn, err = newDynAuth(reg); err != nil {
		return nil, err
	}
	// ByAddr hands out pointers into the table, which never changes, so
	// they serve as keys. NASes that share a secret share its digests.
	hashes := make(map[string]*hashPool)
	for _, n := range nases.All() {
		p, ok := nases.ByName(n.Name)
		if !ok {
			return nil, fmt.Errorf("radius: new server: NAS %q vanished from its table", n.Name)
		}
		hp := hashes[p.Secret]
		if hp == nil {
			hp = newHashPool([]byte(p.Secret))
			hashes[p.Secret] = hp
		}
		s.nas[p] = &nasState{nas: p, secret: []byte(p.Secret), hashes: hp, m: m.forNAS(p.Name)}
	}
	return s, nil
}

// Listen binds the configured UDP addresses. It is separate from Serve so
// that the caller can fail fast on a taken port and tests can bind :0.
func (s *Server) Listen() (auth, acct net.PacketConn, err error) {
	auth, err = net.ListenPacket("udp", s.cfg.AuthListen)
	if err != nil {
		return nil, nil, fmt.Errorf("radius: listen auth: %w", err)
	}
	acct, err = net.ListenPacket("udp", s.cfg.AcctListen)
	if err != nil {
		auth.Close()
		return nil, nil, fmt.Errorf("radius: listen acct: %w", err)
	}
	// An auth storm after a controller reboot arrives faster than Redis
	// answers; a deep socket buffer absorbs it into the queue instead of
	// the kernel dropping it. Best effort: the kernel caps it at rmem_max.
	for _, c := range []net.PacketConn{auth, acct} {
		if u, ok := c.(*net.UDPConn); ok {
			_ = u.SetReadBuffer(4 << 20)
		}
	}
	return auth, acct, nil
}

// port is the listener a packet arrived on.
type port uint8

const (
	portAuth port = iota
	portAcct
)

func (p port) String() string {
	if p == portAuth {
		return "auth"
	}
	return "acct"
}

// accepts reports whether code belongs on p. Status-Server (RFC 5997) is
// welcome on both.
func (p port) accepts(code radius.Code) bool {
	switch code {
	case radius.CodeStatusServer:
		return true
	case radius.CodeAccessRequest:
		return p == portAuth
	case radius.CodeAccountingRequest:
		return p == portAcct
	}
	return false
}

// packetConn is a listener with the allocation-free UDP calls when it is a
// *net.UDPConn, and the generic ones otherwise.
type packetConn struct {
	net.PacketConn
	udp  *net.UDPConn
	port port
}

func newPacketConn(c net.PacketConn, p port) *packetConn {
	u, _ := c.(*net.UDPConn)
	return &packetConn{PacketConn: c, udp: u, port: p}
}

func (c *packetConn) read(b []byte) (int, netip.AddrPort, error) {
	if c.udp != nil {
		return c.udp.ReadFromUDPAddrPort(b)
	}
	n, addr, err := c.ReadFrom(b)
	if err != nil {
		return n, netip.AddrPort{}, err
	}
	if u, ok := addr.(*net.UDPAddr); ok {
		return n, u.AddrPort(), nil
	}
	ap, perr := netip.ParseAddrPort(addr.String())
	return n, ap, perr
}

func (c *packetConn) write(b []byte, to netip.AddrPort) error {
	if c.udp != nil {
		_, err := c.udp.WriteToUDPAddrPort(b, to)
		return err
	}
	_, err := c.WriteTo(b, net.UDPAddrFromAddrPort(to))
	return err
}

// job is one received datagram on its way to a worker.
type job struct {
	buf  *[]byte
	n    int
	src  netip.AddrPort
	conn *packetConn
}

// Serve answers requests on auth and acct until ctx is done. It then stops
// reading, drops what is still queued, lets the requests being handled
// finish and send their replies (each bounded by StoreTimeout), closes both
// sockets and returns nil. It returns an error if a socket fails, for
// instance when it is closed under it.
func (s *Server) Serve(ctx context.Context, auth, acct net.PacketConn) error {
	if auth == nil || acct == nil {
		return errors.New("radius: serve: nil connection")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conns := []*packetConn{newPacketConn(auth, portAuth), newPacketConn(acct, portAcct)}
	// A read deadline in the past wakes the blocked readers without
	// closing the sockets, which the workers still need for their replies.
	stop := context.AfterFunc(ctx, func() {
		for _, c := range conns {
			if err := c.SetReadDeadline(time.Unix(1, 0)); err != nil {
				c.Close()
			}
		}
	})
	defer stop()

	jobs := make(chan job, s.cfg.Queue)
	errc := make(chan error, len(conns))
	var readers, workers sync.WaitGroup
	for _, c := range conns {
		readers.Go(func() {
			if err := s.read(ctx, c, jobs); err != nil {
				errc <- err
				cancel()
			}
		})
	}
	// Handling outlives ctx on purpose: a request taken up is finished
	// (StoreTimeout bounds it), not cut off half-way through the store.
	hctx := context.WithoutCancel(ctx)
	for range s.cfg.Workers {
		workers.Go(func() { s.work(ctx, hctx, jobs) })
	}
	// Quota enforcement (enforce.go) stops with the readers, finishing what
	// it has begun.
	workers.Go(func() { s.runEnforcer(ctx) })
	readers.Wait()
	close(jobs)
	workers.Wait()
	auth.Close()
	acct.Close()
	close(errc)
	var errs []error
	for err := range errc {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// read feeds datagrams from c into jobs until ctx is done or c fails.
func (s *Server) read(ctx context.Context, c *packetConn, jobs chan<- job) error {
	for {
		bp := s.bufs.Get().(*[]byte)
		n, src, err := c.read(*bp)
		if err != nil {
			s.bufs.Put(bp)
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("radius: read %s: %w", c.port, err)
			}
			// Anything else (an ICMP error surfacing, a buffer shortage)
			// concerns one datagram, not the socket.
			if ok, suppressed := s.warnIO.allow(time.Now()); ok {
				s.logger.Warn("read failed", "port", c.port.String(), "err", err, "suppressed", suppressed)
			}
			continue
		}
		select {
		case jobs <- job{buf: bp, n: n, src: src, conn: c}:
		default:
			s.bufs.Put(bp)
			s.drop(ctx, dropOverload, src, nil)
		}
	}
}

// work handles jobs until the channel is closed. Once ctx is done, what is
// still queued is dropped: its NAS has retried elsewhere by the time it
// would be handled.
//
// The jobs' store calls are bounded by a deadline that the worker renews
// once a tenth of StoreTimeout has passed, not by one made per request (a
// context and a timer each time, which cost more than the rest of a
// request's allocations together): every request gets between 0.9 and 1
// StoreTimeout.
func (s *Server) work(ctx, hctx context.Context, jobs <-chan job) {
	var (
		sctx   = hctx
		cancel = context.CancelFunc(func() {})
		renew  time.Time
	)
	for j := range jobs {
		if ctx.Err() != nil {
			s.bufs.Put(j.buf)
			s.drop(hctx, dropShutdown, j.src, nil)
			continue
		}
		if now := time.Now(); !now.Before(renew) {
			cancel()
			sctx, cancel = context.WithTimeout(hctx, s.cfg.StoreTimeout)
			renew = now.Add(s.cfg.StoreTimeout / 10)
		}
		s.serveJob(sctx, j)
	}
	cancel()
}

// serveJob handles one datagram; a panic is contained to it.
func (s *Server) serveJob(ctx context.Context, j job) {
	defer s.bufs.Put(j.buf)
	defer func() {
		if r := recover(); r != nil {
			s.m.drops[dropPanic].Inc()
			s.logger.Error("panic handling packet", "nas_ip", j.src.Addr().String(), "panic", r, "stack", string(debug.Stack()))
		}
	}()
	reply := s.handlePacket(ctx, j.conn.port, j.src, (*j.buf)[:j.n])
	if reply == nil {
		return
	}
	if err := j.conn.write(reply, j.src); err != nil {
		if ok, suppressed := s.warnIO.allow(time.Now()); ok {
			s.logger.Warn("write failed", "port", j.conn.port.String(), "nas_ip", j.src.Addr().String(), "err", err, "suppressed", suppressed)
		}
	}
}

// handlePacket handles the datagram b that arrived from src on port p and
// returns the reply to send, or nil to send nothing. It is what the workers
// run, minus the socket; it must never panic, whatever b holds. ctx bounds
// the store calls: the workers give it their deadline.
func (s *Server) handlePacket(ctx context.Context, p port, src netip.AddrPort, b []byte) []byte {
	b, ok := trimPacket(b)
	if !ok {
		s.drop(ctx, dropMalformed, src, nil)
		return nil
	}
	n, ok := s.nases.ByAddr(src.Addr())
	if !ok {
		s.drop(ctx, dropUnknownSource, src, nil)
		return nil
	}
	ns := s.nas[n]
	code := radius.Code(b[0])
	if !p.accepts(code) {
		s.drop(ctx, dropWrongPort, src, ns, slog.String("code", code.String()), slog.String("port", p.String()))
		return nil
	}
	r := s.requests.get()
	defer s.requests.put(r)
	req, err := r.parse(b, ns.secret)
	if err != nil {
		s.drop(ctx, dropMalformed, src, ns, slog.String("err", err.Error()))
		return nil
	}
	// Well-formed and authentic before it takes a place in the duplicate
	// cache: forged packets from a NAS's address would otherwise push
	// real requests out of it, and a NAS's retransmit would be handled
	// twice.
	if why, ok := s.authenticate(ns, code, b, req); !ok {
		s.drop(ctx, why, src, ns)
		return nil
	}
	if code == radius.CodeStatusServer {
		// Not cached: it changes nothing, so answering it again costs
		// no more than looking the answer up.
		return s.handleStatus(ctx, ns, p, src, req)
	}
	e, state, cached := s.cache.begin(s.cache.key(src, b))
	switch state {
	case cacheAnswered:
		s.m.duplicates.Inc()
		return cached
	case cacheInProgress:
		s.drop(ctx, dropDuplicateInProgress, src, ns)
		return nil
	}
	var reply []byte
	// Deferred so that the entry is settled even if a handler panics.
	defer func() { s.cache.finish(e, reply) }()
	switch code {
	case radius.CodeAccessRequest:
		reply = s.handleAccess(ctx, ns, src, r)
	case radius.CodeAccountingRequest:
		reply = s.handleAccounting(ctx, ns, src, r)
	}
	return reply
}

// request is what handling a request needs that can be reused from one to
// the next: the packet parsed in place.
// Parsing comes first on every packet, and a radius.Packet of its own with
// its attribute list would cost four allocations each time. The attribute
// values alias the bytes parsed, so the packet is valid only while they
// are, which for the server is while a worker handles the datagram: nothing
// that outlives the handling may refer to it (what does, a User-Name or a
// CHAP challenge, is copied out).
type request struct {
	pkt  radius.Packet
	avps []radius.AVP
	pw   papPassword // the User-Password's cleartext, for PAP
}

// maxPooledAttributes bounds the attribute list that a pooled request
// keeps: real requests carry a dozen or two, a crafted one up to two
// thousand.
const maxPooledAttributes = 128

// requestPool hands out requests for reuse.
type requestPool struct {
	pool sync.Pool
}

func (p *requestPool) get() *request {
	if r, ok := p.pool.Get().(*request); ok {
		return r
	}
	return new(request)
}

// put returns r to the pool, letting go of the bytes it was parsed from.
func (p *requestPool) put(r *request) {
	if cap(r.avps) > maxPooledAttributes {
		return
	}
	// Whole backing arrays: a parse that failed partway left values
	// beyond the lengths.
	clear(r.avps[:cap(r.avps)])
	clear(r.pkt.Attributes[:cap(r.pkt.Attributes)])
	r.pkt = radius.Packet{Attributes: r.pkt.Attributes[:0]}
	r.pw = papPassword{}
	p.pool.Put(r)
}

// parse parses b as radius.Parse does, with the same results and errors,
// into r, whose previous packet it replaces. The returned packet is r's.
func (r *request) parse(b, secret []byte) (*radius.Packet, error) {
	if len(b) < headerLen {
		return nil, errors.New("radius: packet not at least 20 bytes long")
	}
	length := int(binary.BigEndian.Uint16(b[2:4]))
	if length < headerLen || length > radius.MaxPacketLength || len(b) < length {
		return nil, errors.New("radius: invalid packet length")
	}
	raw := b[headerLen:length]
	avps := r.avps[:0]
	for i := 0; i < len(raw); {
		if len(raw)-i < 2 {
			return nil, errors.New("short buffer")
		}
		l := int(raw[i+1])
		if l > len(raw)-i || l < 2 {
			return nil, errors.New("invalid attribute length")
		}
		a := radius.AVP{Type: radius.Type(raw[i])}
		if l > 2 {
			a.Attribute = radius.Attribute(raw[i+2 : i+l : i+l])
		}
		avps = append(avps, a)
		i += l
	}
	r.avps = avps
	// The list points into avps, so it is filled only once avps has
	// stopped moving.
	attrs := r.pkt.Attributes[:0]
	for i := range avps {
		attrs = append(attrs, &avps[i])
	}
	r.pkt = radius.Packet{Code: radius.Code(b[0]), Identifier: b[1], Secret: secret, Attributes: attrs}
	copy(r.pkt.Authenticator[:], b[4:headerLen])
	return &r.pkt, nil
}

// authenticate checks what proves that the request b, req parsed (an
// Access-, Accounting- or Status-Server request), comes from the NAS ns,
// and says why it drops one that fails. An Accounting-Request's
// authenticator is a keyed digest of the packet (RFC 2866 §3); an
// Access-Request's is random, so only its Message-Authenticator proves
// anything (RFC 3579 §3.2), and a NAS that requires it must send it. An
// Access-Request with Proxy-State must have one whatever the NAS's
// setting: every Proxy-State is copied into the reply, which anyone could
// otherwise make large and have cached, and a proxied request without one
// is what BlastRADIUS forges (FreeRADIUS's limit_proxy_state does the
// same). Status-Server always needs one (RFC 5997 §3). A
// Message-Authenticator that is present must be right on any.
func (s *Server) authenticate(ns *nasState, code radius.Code, b []byte, req *radius.Packet) (dropReason, bool) {
	if code == radius.CodeAccountingRequest && !ns.isAuthenticRequest(b) {
		return dropBadAuthenticator, false
	}
	present, ok := ns.verifyMessageAuthenticator(b)
	switch {
	case present && !ok:
		// Also what a wrong shared secret looks like.
		return dropBadMessageAuthenticator, false
	case present:
		return 0, true
	case code == radius.CodeStatusServer,
		code == radius.CodeAccessRequest && (ns.nas.RequiresMessageAuthenticator() || hasProxyState(req)):
		return dropNoMessageAuthenticator, false
	}
	return 0, true
}

func hasProxyState(req *radius.Packet) bool {
	for _, a := range req.Attributes {
		if a.Type == proxyStateType {
			return true
		}
	}
	return false
}

// handleStatus answers an authentic Status-Server (RFC 5997, see
// authenticate, which requires its Message-Authenticator whatever the
// NAS's setting): Access-Accept on the auth port, Accounting-Response on
// the accounting port. It tells a NAS or a load balancer that this server
// is alive.
func (s *Server) handleStatus(ctx context.Context, ns *nasState, p port, src netip.AddrPort, req *radius.Packet) []byte {
	start := time.Now()
	code := radius.CodeAccessAccept
	if p == portAcct {
		code = radius.CodeAccountingResponse
	}
	reply, err := s.encode(ns, req, code, nil)
	if err != nil {
		s.drop(ctx, dropEncode, src, ns, slog.String("err", err.Error()))
		return nil
	}
	ns.m.status.Inc()
	s.m.statusDur.Observe(time.Since(start).Seconds())
	return reply
}

// encode builds the reply to req from the NAS ns: the
// Message-Authenticator first, attrs (in wire format, see reply.go), then
// every Proxy-State of the request in order, as RFC 2865 §5.33 asks.
func (s *Server) encode(ns *nasState, req *radius.Packet, code radius.Code, attrs []byte) ([]byte, error) {
	// Only requests that came through a proxy have any, and only they
	// pay for the list.
	var proxyStates radius.Attributes
	for _, a := range req.Attributes {
		if a.Type == proxyStateType {
			proxyStates = append(proxyStates, a)
		}
	}
	reply := radius.Packet{Code: code, Identifier: req.Identifier, Secret: ns.secret, Attributes: proxyStates}
	h := ns.hashes.get()
	defer ns.hashes.put(h)
	return encodeReplyWith(&reply, req, attrs, h)
}

// drop counts a packet that gets no reply and logs it at debug level: drops
// come in floods (a misconfigured NAS, a scan), and the counter is what
// alerts. ns is nil when the source is no NAS.
func (s *Server) drop(ctx context.Context, r dropReason, src netip.AddrPort, ns *nasState, attrs ...slog.Attr) {
	s.m.drops[r].Inc()
	if !s.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs = append(attrs, slog.String("reason", r.String()), slog.String("nas_ip", src.Addr().String()))
	if ns != nil {
		attrs = append(attrs, slog.String("nas", ns.nas.Name))
	}
	s.logger.LogAttrs(ctx, slog.LevelDebug, "packet dropped", attrs...)
}

// rejectLinesPerSecond is how many rejected Access-Requests a second are
// logged at info; the rest go to debug, and the counters have them all.
const rejectLinesPerSecond = 20

// lineBudget lets up to max log lines a second through (one when max is
// 0) at their level; the caller writes the rest at debug, and the next
// line let through says how many were not. It keeps a failure that hits
// every packet (Redis down during an auth storm) visible in the log
// without burying it; the metrics count everything.
type lineBudget struct {
	mu         sync.Mutex
	max        int
	second     int64 // the Unix second counted in
	used       int
	suppressed int64
}

func (b *lineBudget) allow(now time.Time) (ok bool, suppressed int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if sec := now.Unix(); sec != b.second {
		b.second, b.used = sec, 0
	}
	if b.used >= max(b.max, 1) {
		b.suppressed++
		return false, 0
	}
	b.used++
	suppressed, b.suppressed = b.suppressed, 0
	return true, suppressed
}
