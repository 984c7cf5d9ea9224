package portal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hotspot/session"
)

// DefaultAdminListen is the admin listener's address when none is set:
// loopback only.
const DefaultAdminListen = "127.0.0.1:8081"

// AdminConfig is the admin listener's part of the config file.
type AdminConfig struct {
	// Listen is the admin listener's address; keep it off the public
	// network. Default "127.0.0.1:8081".
	Listen string `yaml:"listen"`
	// Tokens may use the API under /api/v1. With none, every API request
	// is refused (health, readiness and metrics stay open).
	Tokens []AdminToken `yaml:"tokens"`
	// Pprof serves Go's runtime profiles (net/http/pprof) under
	// /debug/pprof/ to operator tokens, for finding hot spots in
	// production. Off by default.
	Pprof bool `yaml:"pprof"`
}

// Validate reports every problem of c at once.
func (c AdminConfig) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			add("admin.listen: %v", err)
		}
	}
	names, hashes := map[string]bool{}, map[[32]byte]bool{}
	for i, t := range c.Tokens {
		switch {
		case t.Name == "":
			add("admin.tokens[%d]: name is required", i)
		case len(t.Name) > 64 || !printable(t.Name):
			add("admin.tokens[%d]: name must be at most 64 printable characters", i)
		case names[t.Name]:
			add("admin.tokens[%d]: name %q is used twice", i, t.Name)
		}
		names[t.Name] = true
		if t.Role != RoleViewer && t.Role != RoleOperator {
			add("admin.tokens[%d]: role %q is not one of viewer, operator", i, t.Role)
		}
		h, err := parseTokenHash(t.Hash)
		switch {
		case err != nil:
			add("admin.tokens[%d]: %v (make one with: hotspotctl token hash)", i, err)
		case hashes[h]:
			add("admin.tokens[%d]: the same token hash is used twice", i)
		}
		hashes[h] = true
	}
	return errors.Join(errs...)
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Pinger reports whether the store answers; *session.Store implements it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// AdminStore is what the admin API reads and changes; *session.Store
// implements it. Errors wrapping session.ErrUnavailable become 503,
// session.ErrNotFound 404.
type AdminStore interface {
	Pinger
	Sessions(ctx context.Context, f session.SessionFilter) (session.SessionPage, error)
	Session(ctx context.Context, id string) (session.Session, error)
	DeviceStatus(ctx context.Context, mac session.MAC, where session.Where) (session.DeviceStatus, error)
	Forget(ctx context.Context, mac session.MAC) error
	Stats(ctx context.Context) (session.Stats, error)
	MACHash(mac session.MAC) string
	PolicyFor(where session.Where) session.Policy
}

// Disconnecter sends an RFC 5176 Disconnect-Request for a session to the
// NAS that holds it and returns the NAS's verdict; main connects it to the
// RADIUS server. An error means there was no verdict: it wraps ErrNoAnswer
// (or context.DeadlineExceeded, or has a Timeout method that reports true)
// when the NAS did not answer within the retry budget.
type Disconnecter interface {
	Disconnect(ctx context.Context, sess session.Session) (session.DynAuthResult, error)
}

// ErrNoAnswer is what a Disconnecter's error wraps when the NAS did not
// answer; the API answers 504.
var ErrNoAnswer = errors.New("portal: the NAS did not answer")

const (
	// adminStoreTimeout bounds the store calls of one API request; the
	// listener's write timeout is 15s.
	adminStoreTimeout = 10 * time.Second
	// disconnectTimeout bounds a Disconnect-Request with its retries.
	disconnectTimeout = 10 * time.Second
)

// Admin serves the network team's listener: health, readiness, metrics
// and the admin API under /api/v1 (see openapi.json).
type Admin struct {
	store        AdminStore
	disconnecter Disconnecter
	creds        []credential
	log          *slog.Logger
	audit        *slog.Logger
	m            *adminMetrics
	engine       *gin.Engine
}

// NewAdmin returns the admin listener's handler. store answers the API,
// disconnecter sends Disconnect-Requests (nil: the disconnect endpoint
// answers 501), gatherer is what /metrics exposes, and the admin metrics
// are registered with reg (nil: none). Operator actions are logged to
// logger with logger=audit.
func NewAdmin(cfg AdminConfig, store AdminStore, disconnecter Disconnecter, gatherer prometheus.Gatherer, reg prometheus.Registerer, logger *slog.Logger) (*Admin, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("portal: invalid admin config: %w", err)
	}
	if store == nil || gatherer == nil {
		return nil, errors.New("portal: the admin API needs a store and a metrics gatherer")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &Admin{
		store:        store,
		disconnecter: disconnecter,
		log:          logger,
		audit:        logger.With("logger", "audit"),
	}
	for _, t := range cfg.Tokens {
		h, _ := parseTokenHash(t.Hash) // Validate checked it
		a.creds = append(a.creds, credential{name: t.Name, role: t.Role, hash: h})
	}
	if len(a.creds) == 0 {
		logger.Warn("admin: no tokens configured (admin.tokens); the admin API refuses every request")
	}
	var err error
	if a.m, err = newAdminMetrics(reg); err != nil {
		return nil, err
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	if err := e.SetTrustedProxies(nil); err != nil {
		return nil, err
	}
	e.HandleMethodNotAllowed = true
	e.Use(a.m.instrument, adminRecovery(logger))
	// /healthz: the process is alive and serving HTTP.
	e.GET("/healthz", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
	})
	// /readyz: Redis answers, so RADIUS requests can be decided.
	e.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		if err := store.Ping(ctx); err != nil {
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "error": gin.H{"code": "store_unavailable", "message": "Redis does not answer"}})
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	})
	// A collector that fails (Redis down) leaves its series out; the
	// rest of the scrape still answers.
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})))

	if cfg.Pprof {
		// Profiles reveal memory contents such as keys and addresses:
		// operators only.
		dbg := e.Group("/debug/pprof", a.requireRole(RoleOperator))
		dbg.GET("/", gin.WrapF(pprof.Index))
		dbg.GET("/cmdline", gin.WrapF(pprof.Cmdline))
		dbg.GET("/profile", gin.WrapF(pprof.Profile))
		dbg.GET("/symbol", gin.WrapF(pprof.Symbol))
		dbg.GET("/trace", gin.WrapF(pprof.Trace))
		dbg.GET("/:name", func(c *gin.Context) { pprof.Handler(c.Param("name")).ServeHTTP(c.Writer, c.Request) })
	}

	api := e.Group("/api/v1")
	api.GET("/openapi.json", serveOpenAPI)
	viewer, operator := a.requireRole(RoleViewer), a.requireRole(RoleOperator)
	api.GET("/sessions", viewer, a.listSessions)
	api.GET("/sessions/:id", viewer, a.getSession)
	api.POST("/sessions/:id/disconnect", operator, a.disconnect)
	api.GET("/devices/:mac", viewer, a.getDevice)
	api.DELETE("/devices/:mac", operator, a.forgetDevice)
	api.GET("/stats", viewer, a.stats)

	e.NoRoute(func(c *gin.Context) {
		a.abort(c, http.StatusNotFound, "not_found", "no such endpoint")
	})
	e.NoMethod(func(c *gin.Context) {
		a.abort(c, http.StatusMethodNotAllowed, "method_not_allowed", "the endpoint does not allow "+c.Request.Method)
	})
	a.engine = e
	return a, nil
}

// Handler returns the admin HTTP handler.
func (a *Admin) Handler() http.Handler { return a.engine }

// abort ends c's request with an error document.
func (a *Admin) abort(c *gin.Context, status int, code, message string) {
	c.AbortWithStatusJSON(status, APIError{Error: APIErrorBody{Code: code, Message: message}})
}

func adminRecovery(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				logger.Error("admin: panic in handler", "path", c.FullPath(), "panic", r)
				c.AbortWithStatusJSON(http.StatusInternalServerError, APIError{Error: APIErrorBody{Code: "internal", Message: "internal error"}})
			}
		}()
		c.Next()
	}
}
