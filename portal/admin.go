package portal

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// AdminConfig is the admin listener's part of the config file.
type AdminConfig struct {
	// Listen is the admin listener's address; keep it off the public
	// network. Default "127.0.0.1:8081".
	Listen string `yaml:"listen"`
}

// Validate reports every problem of c at once.
func (c AdminConfig) Validate() error {
	if c.Listen == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return errors.New("admin.listen: " + err.Error())
	}
	return nil
}

// Pinger reports whether the store answers; *session.Store implements it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Admin serves the network team's listener: health, readiness and metrics.
type Admin struct {
	engine *gin.Engine
}

// NewAdmin returns the admin listener's handler. gatherer is what /metrics
// exposes.
func NewAdmin(cfg AdminConfig, store Pinger, gatherer prometheus.Gatherer, logger *slog.Logger) (*Admin, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	if err := e.SetTrustedProxies(nil); err != nil {
		return nil, err
	}
	e.Use(adminRecovery(logger))
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
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})))
	e.NoRoute(func(c *gin.Context) {
		c.JSON(http.StatusNotFound, gin.H{"error": gin.H{"code": "not_found", "message": "no such endpoint"}})
	})
	return &Admin{engine: e}, nil
}

// Handler returns the admin HTTP handler.
func (a *Admin) Handler() http.Handler { return a.engine }

func adminRecovery(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				logger.Error("admin: panic in handler", "path", c.FullPath(), "panic", r)
				c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": gin.H{"code": "internal", "message": "internal error"}})
			}
		}()
		c.Next()
	}
}
