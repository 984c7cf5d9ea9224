package portal

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"hotspot/session"
)

// Store is what the portal needs from the domain: storing the grant that
// lets a device log in, and what a device has left of its quota.
// *session.Store implements it. Errors wrapping session.ErrUnavailable mean
// the store could not be reached and the visitor should try again shortly.
type Store interface {
	CreateGrant(ctx context.Context, mac session.MAC, nas string) (session.Grant, error)
	DeviceStatus(ctx context.Context, mac session.MAC, where session.Where) (session.DeviceStatus, error)
}

const (
	// storeTimeout bounds the grant write: a visitor waiting longer than
	// this is better served by the "try again" page.
	storeTimeout = 5 * time.Second
	// maxQuery bounds the redirect's query; CoovaChilli's are a few hundred
	// bytes, a long userurl at most a few thousand.
	maxQuery = 8 << 10
	// maxFormBytes bounds the accept form's body.
	maxFormBytes = 16 << 10
	// Accept attempts per device, client address and minute (and
	// perDevice times as many per device from all addresses).
	acceptsPerMinute = 5
	// acceptLimitKeys caps the limiter's memory.
	acceptLimitKeys = 100_000
	// Pages of a verified redirect per device, client address and minute,
	// and RFC 8908 lookups per client address and minute: each costs a
	// Redis read, and both can be sent by anyone, as often as they like
	// (a redirect crosses the open network in clear and can be replayed).
	// A phone asks a few times when it joins, and every few minutes after.
	viewsPerMinute   = 30
	captivePerMinute = 30
	// mikrotikAcceptsPerMinute bounds the grants made through one MikroTik
	// NAS's pages. Nothing signs the MAC they carry, so the per-device
	// limits do not bound how many devices a client behind the router can
	// make up; this does, for the whole router (its clients share its
	// address).
	mikrotikAcceptsPerMinute = 120

	// csp allows our own stylesheet and images and nothing else: no
	// scripts, no frames, no third parties. form-action must allow the
	// POST to ourselves; the 303 to the NAS that follows is a redirect,
	// which browsers do not hold against form-action, but the NAS is plain
	// http on another host, so http: and https: are listed for browsers
	// that do.
	csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'"
)

// Server is the captive portal's HTTP handler.
type Server struct {
	cfg     Config
	nases   *session.NASTable
	store   Store
	log     *slog.Logger
	now     func() time.Time // the clock of form tokens and the limiter
	public  *url.URL         // parsed Config.PublicURL, or nil
	formKey []byte
	langs   *languages
	terms   *Terms
	loc     *time.Location // where quota windows end
	pages   map[string]*template.Template
	files   map[string]staticFile
	css     string // versioned stylesheet URL
	logo    string // versioned logo URL
	limit   *limiter
	views   *rateWindow[limitKey]   // status reads of verified redirects
	lookups *rateWindow[netip.Addr] // RFC 8908 lookups
	mtGrant *rateWindow[string]     // grants per MikroTik NAS
	m       *metrics
	engine  *gin.Engine
}

// New returns a portal serving the NASes in nases, storing grants in store,
// logging to logger and registering its metrics with reg (nil: none).
func New(cfg Config, nases *session.NASTable, store Store, logger *slog.Logger, reg prometheus.Registerer) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("portal: invalid config: %w", err)
	}
	if nases == nil || store == nil {
		return nil, errors.New("portal: a NAS table and a store are required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:     cfg,
		nases:   nases,
		store:   store,
		log:     logger,
		now:     time.Now,
		formKey: []byte(cfg.FormKey),
		limit:   newLimiter(time.Minute, acceptsPerMinute, acceptLimitKeys),
		views:   newRateWindow[limitKey](time.Minute, viewsPerMinute, acceptLimitKeys),
		lookups: newRateWindow[netip.Addr](time.Minute, captivePerMinute, acceptLimitKeys),
		// Keyed by the names of configured NASes only (a genuine form's).
		mtGrant: newRateWindow[string](time.Minute, mikrotikAcceptsPerMinute, acceptLimitKeys),
	}
	if cfg.PublicURL != "" {
		s.public, _ = parsePublicURL(cfg.PublicURL) // Validate checked it
	}
	fsys, err := siteFiles(cfg.OverridesDir)
	if err != nil {
		return nil, err
	}
	if s.langs, err = loadLanguages(fsys); err != nil {
		return nil, err
	}
	if s.pages, err = parsePages(fsys); err != nil {
		return nil, err
	}
	if s.files, err = loadStatic(fsys, cfg.Colors.theme()); err != nil {
		return nil, err
	}
	if _, ok := s.files[cfg.Logo]; !ok {
		return nil, fmt.Errorf("portal.logo: static/%s does not exist", cfg.Logo)
	}
	s.css, s.logo = s.versioned("style.css"), s.versioned(cfg.Logo)
	if s.terms = cfg.Terms; s.terms == nil {
		if s.terms, err = LoadTerms(cfg.TermsDir); err != nil {
			return nil, err
		}
	}
	if err := s.terms.check(s.langs); err != nil {
		return nil, err
	}
	if s.loc, err = time.LoadLocation(cfg.TimeZone); err != nil {
		return nil, fmt.Errorf("portal: time zone: %w", err)
	}
	if s.m, err = newMetrics(reg); err != nil {
		return nil, err
	}
	if s.engine, err = s.routes(); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler returns the portal's HTTP handler, a gin engine.
func (s *Server) Handler() http.Handler { return s.engine }

func (s *Server) routes() (*gin.Engine, error) {
	// Release mode keeps gin from printing its debug banner and route
	// table; it is process-wide, but no part of this daemon wants debug.
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	proxies := s.cfg.TrustedProxies
	if len(proxies) == 0 {
		proxies = nil // explicitly none: ClientIP is the TCP peer
	}
	if err := e.SetTrustedProxies(proxies); err != nil {
		return nil, fmt.Errorf("portal: trusted proxies: %w", err)
	}
	e.Use(s.logRequests, s.recoverPanic, securityHeaders)
	e.GET("/", s.index)
	e.HEAD("/", s.index)
	e.POST("/accept", s.accept)
	e.GET("/mikrotik", s.mikrotik) // mikrotik.go
	e.HEAD("/mikrotik", s.mikrotik)
	e.GET(s.cfg.Captive.path(), s.captive) // RFC 8908, captive.go
	e.GET("/static/:name", s.static)
	e.HEAD("/static/:name", s.static)
	e.NoRoute(s.notFound)
	return e, nil
}

// securityHeaders go on every response. no-store is the default so that
// nothing dynamic, least of all the 303 with the logon credentials, lands
// in a cache; the static handler overrides it.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	c.Next()
}

// logRequests logs one line per request, without the query: it holds the
// client's MAC.
func (s *Server) logRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	code := c.Writer.Status()
	level := slog.LevelDebug
	if code >= 400 && code != http.StatusNotFound {
		level = slog.LevelInfo
	}
	p := c.Request.URL.Path
	if len(p) > 200 {
		p = p[:200]
	}
	s.log.LogAttrs(c.Request.Context(), level, "portal: request",
		slog.String("method", c.Request.Method), slog.String("path", p),
		slog.Int("code", code), slog.Duration("dur", time.Since(start)))
}

// recoverPanic turns a panic in a handler into a logged error and a 500
// page, so one bad request cannot take the listener down.
func (s *Server) recoverPanic(c *gin.Context) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v) // net/http's own way to abort a response; not ours to catch
		}
		s.log.Error("portal: panic", "err", fmt.Sprint(v), "stack", string(debug.Stack()))
		c.Abort()
		if !c.Writer.Written() {
			cat := s.langs.pick("", c.Request.Header.Get("Accept-Language"))
			s.fail(c, http.StatusInternalServerError, s.newView(cat, "", false))
		}
	}()
	c.Next()
}

func (s *Server) notFound(c *gin.Context) {
	q := c.Request.URL.Query()
	cat := s.langs.pick(lastLang(q["lang"]), c.Request.Header.Get("Accept-Language"))
	s.fail(c, http.StatusNotFound, s.newView(cat, c.Request.URL.RawQuery, true))
}

// index is GET /: the NAS's redirect, or a visitor who came by directly.
func (s *Server) index(c *gin.Context) {
	r := c.Request
	raw := r.URL.RawQuery
	q, qerr := url.ParseQuery(raw)
	cat := s.langs.pick(lastLang(q["lang"]), r.Header.Get("Accept-Language"))
	v := s.newView(cat, raw, true)
	if qerr == nil && onlyLang(q) {
		s.render(c, http.StatusOK, tmplInfo, pageInfo, v)
		return
	}
	if qerr != nil || len(raw) > maxQuery {
		s.fail(c, http.StatusBadRequest, v)
		return
	}
	signed, md, tail, hasMD := splitMD(raw)
	params := q
	if hasMD {
		var err error
		if params, err = url.ParseQuery(signed); err != nil {
			s.fail(c, http.StatusBadRequest, v)
			return
		}
	}
	nas, ok := s.findNAS(params, c.ClientIP())
	if !ok {
		s.log.Info("portal: redirect from unknown NAS", "nasid", truncate(params.Get("nasid"), 64),
			"nas_ip", truncate(params.Get("uamip"), 64))
		s.fail(c, http.StatusBadRequest, v)
		return
	}
	if !hasMD || !tailIsLang(tail) || !checkMD(s.redirectBase(r), r.URL.EscapedPath(), signed, md, nas.UAMSecret) {
		// Forged, tampered with, or a portal address that differs from
		// the NAS's uamserver (then public_url needs setting).
		s.log.Info("portal: redirect with bad md", "nas", nas.Name)
		s.fail(c, http.StatusForbidden, v)
		return
	}
	rd, err := parseRedirect(params)
	if err != nil {
		s.log.Info("portal: malformed redirect", "nas", nas.Name)
		s.fail(c, http.StatusBadRequest, v)
		return
	}
	s.showRedirect(c, nas, rd, v)
}

// showRedirect answers a NAS's verified redirect: the terms, the quota
// page, or (CoovaChilli's res=success and already) the status page.
func (s *Server) showRedirect(c *gin.Context, nas *session.NAS, rd redirect, v *view) {
	from, _ := netip.ParseAddr(c.ClientIP()) // unparsable: one shared bucket
	if !s.views.allow(limitKey{rd.mac, clientKey(from)}, s.now()) {
		s.m.limited.WithLabelValues("page").Inc()
		s.fail(c, http.StatusTooManyRequests, v)
		return
	}
	allowance, ok := s.deviceStatus(c, nas, rd, v)
	if !ok {
		return // the 503 page is out
	}
	v.Allowance = allowance
	switch {
	case rd.res == resSuccess || rd.res == resAlready:
		v.Already = rd.res == resAlready
		v.UserURL = rd.userURL
		v.LogoffURL = "http://" + netip.AddrPortFrom(rd.uamip, rd.uamport).String() + "/logoff"
		page := pageSuccess
		if v.Already {
			page = pageAlready
		}
		s.render(c, http.StatusOK, tmplStatus, page, v)
	case allowance != nil && allowance.Exceeded:
		// No terms to accept: the device could not get online anyway,
		// unless the policy throttles, which the page offers.
		if allowance.Throttled {
			v.Form = s.newForm(nas, rd)
		}
		s.render(c, http.StatusOK, tmplQuota, pageQuota, v)
	default:
		v.Res = rd.res
		v.Form = s.newForm(nas, rd)
		s.withTerms(v)
		s.render(c, http.StatusOK, tmplTerms, pageTerms, v)
	}
}

// onlyLang reports whether q carries nothing but a language choice: a
// visitor who opened the portal directly, not a NAS redirect.
func onlyLang(q url.Values) bool {
	for k := range q {
		if k != "lang" {
			return false
		}
	}
	return true
}

// findNAS finds the NAS of a redirect: by nasid, else by uamip, else by
// the client's address. Only a CoovaChilli NAS with a uamsecret will do:
// without the secret there is no md to check.
func (s *Server) findNAS(q url.Values, clientIP string) (*session.NAS, bool) {
	return s.nasOf(q.Get("nasid"), []string{q.Get("uamip"), clientIP}, isUAM)
}

// nasOf finds a NAS by its identifier, else by the first of addrs inside
// one's networks, and returns it if the portal serves it (serves).
func (s *Server) nasOf(id string, addrs []string, serves func(*session.NAS) bool) (*session.NAS, bool) {
	nas, ok := s.nases.ByIdentifier(id)
	for _, a := range addrs {
		if ok {
			break
		}
		if ip, err := netip.ParseAddr(a); err == nil {
			nas, ok = s.nases.ByAddr(ip)
		}
	}
	if !ok || !serves(nas) {
		return nil, false
	}
	return nas, true
}

// redirectBase is scheme://host as the NAS wrote it into the redirect:
// from public_url when set, else from the request.
func (s *Server) redirectBase(r *http.Request) string {
	if s.public != nil {
		return s.public.Scheme + "://" + s.public.Host
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// accept is POST /accept: store a grant and send the browser to the NAS.
func (s *Server) accept(c *gin.Context) {
	r := c.Request
	r.Body = http.MaxBytesReader(c.Writer, r.Body, maxFormBytes)
	perr := r.ParseForm()
	cat := s.langs.pick(r.PostForm.Get("lang"), r.Header.Get("Accept-Language"))
	v := s.newView(cat, "", false)
	if perr != nil {
		s.fail(c, http.StatusBadRequest, v)
		return
	}
	f, err := s.readForm(r.PostForm)
	switch {
	case errors.Is(err, errBadToken):
		s.log.Info("portal: accept with bad or expired token")
		s.fail(c, http.StatusForbidden, v)
		return
	case err != nil:
		s.log.Info("portal: accept with unusable form", "nas", truncate(r.PostForm.Get("nas"), 64))
		s.fail(c, http.StatusBadRequest, v)
		return
	}
	// From here on the form is genuine; error pages offer to send it again.
	v.Form = f
	from, _ := netip.ParseAddr(c.ClientIP()) // unparsable: one shared bucket
	if isMikroTik(f.nas) {
		// Only from behind the router (see mikrotik.go), and a bounded
		// number of devices a minute through it.
		if n, ok := s.findMikroTik(c.ClientIP()); !ok || n != f.nas {
			s.log.Info("portal: MikroTik accept from outside the NAS's networks", "nas", f.nas.Name)
			s.fail(c, http.StatusForbidden, v)
			return
		}
		if !s.mtGrant.allow(f.nas.Name, s.now()) {
			s.m.limited.WithLabelValues("mikrotik").Inc()
			s.log.Info("portal: MikroTik accepts rate limited", "nas", f.nas.Name)
			s.fail(c, http.StatusTooManyRequests, v)
			return
		}
	}
	if !s.limit.allow(f.mac, from, s.now()) {
		s.log.Info("portal: accept rate limited", "nas", f.nas.Name)
		s.fail(c, http.StatusTooManyRequests, v)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	g, err := s.store.CreateGrant(ctx, f.mac, f.nas.Name)
	cancel()
	if err != nil {
		s.m.storeErrors.Inc()
		if errors.Is(err, session.ErrUnavailable) {
			s.log.Warn("portal: store unavailable", "nas", f.nas.Name, "err", err)
			s.fail(c, http.StatusServiceUnavailable, v)
			return
		}
		s.log.Error("portal: create grant", "nas", f.nas.Name, "err", err)
		s.fail(c, http.StatusInternalServerError, v)
		return
	}
	s.m.acceptances.Inc()
	s.log.Info("portal: terms accepted", "nas", f.nas.Name)
	if isMikroTik(f.nas) {
		c.Redirect(http.StatusSeeOther, mikrotikLoginURL(f, g))
		return
	}
	c.Redirect(http.StatusSeeOther, logonURL(f, g, cat.Code))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
