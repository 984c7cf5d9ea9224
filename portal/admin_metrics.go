package portal

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

type adminMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// newAdminMetrics creates the admin listener's metrics and registers them
// with reg, unless reg is nil.
func newAdminMetrics(reg prometheus.Registerer) (*adminMetrics, error) {
	m := &adminMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotspot_admin_requests_total",
			Help: "Requests to the admin listener, by route (the path pattern; \"unmatched\" for unknown paths), method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hotspot_admin_request_duration_seconds",
			Help:    "Time the admin listener took to answer, by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("portal: register admin metrics: %w", err)
	}
	return m, nil
}

// instrument counts and times every request. Routes are gin's path
// patterns, so the labels stay few whatever paths clients send.
func (m *adminMetrics) instrument(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, methodLabel(c.Request.Method), strconv.Itoa(c.Writer.Status())).Inc()
	m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
}

// methodLabel keeps the method label to the methods HTTP defines.
func methodLabel(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE":
		return m
	}
	return "other"
}
