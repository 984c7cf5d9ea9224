package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// RedisMetrics is a go-redis hook that measures every command, pipeline
// and connection attempt: add it to the client with AddHook. redis.Nil
// (a missing key) is an answer, not an error.
type RedisMetrics struct {
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
}

// Operation labels besides command names.
const (
	opPipeline = "pipeline"
	opDial     = "dial"
)

// NewRedisMetrics creates the Redis metrics and registers them with reg,
// unless reg is nil.
func NewRedisMetrics(reg prometheus.Registerer) (*RedisMetrics, error) {
	m := &RedisMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hotspot_redis_command_duration_seconds",
			Help:    "Time from sending a Redis command (or a pipeline, command=\"pipeline\") to its answer, errors included.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"command"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotspot_redis_errors_total",
			Help: "Redis commands, pipelines (command=\"pipeline\") and connection attempts (command=\"dial\") that failed.",
		}, []string{"command"}),
	}
	// The failures that matter show up at zero before the first one.
	m.errors.WithLabelValues(opDial)
	m.errors.WithLabelValues(opPipeline)
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.duration, m.errors} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("session: register metrics: %w", err)
	}
	return m, nil
}

func failed(err error) bool { return err != nil && !errors.Is(err, redis.Nil) }

// setupOnly reports whether the pipeline's only failures are CLIENT
// SETINFO, which go-redis sends on every new connection and which servers
// before Redis 7.2 refuse; go-redis ignores that, and so do we.
func setupOnly(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		if !failed(c.Err()) {
			continue
		}
		args := c.Args()
		if len(args) < 2 || !strings.EqualFold(c.Name(), "client") || !strings.EqualFold(fmt.Sprint(args[1]), "setinfo") {
			return false
		}
	}
	return true
}

// DialHook implements redis.Hook.
func (m *RedisMetrics) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err != nil {
			m.errors.WithLabelValues(opDial).Inc()
		}
		return c, err
	}
}

// ProcessHook implements redis.Hook.
func (m *RedisMetrics) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		name := strings.ToLower(cmd.Name())
		m.duration.WithLabelValues(name).Observe(time.Since(start).Seconds())
		if failed(err) {
			m.errors.WithLabelValues(name).Inc()
		}
		return err
	}
}

// ProcessPipelineHook implements redis.Hook.
func (m *RedisMetrics) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		m.duration.WithLabelValues(opPipeline).Observe(time.Since(start).Seconds())
		if failed(err) && !setupOnly(cmds) {
			m.errors.WithLabelValues(opPipeline).Inc()
		}
		return err
	}
}

// activeSessionsDesc describes the gauge of ActiveSessionsCollector.
var activeSessionsDesc = prometheus.NewDesc("hotspot_sessions_active",
	"Open sessions per NAS that reported within three interim intervals, read from Redis at scrape time (the same number on every instance).",
	[]string{"nas"}, nil)

// ActiveSessionsCollector exports the number of active sessions per NAS,
// counted in Redis at each scrape (one round trip). When Redis does not
// answer, the gauge is left out of that scrape and the failure is counted
// by RedisMetrics.
type ActiveSessionsCollector struct {
	store   *Store
	nases   []string
	timeout time.Duration
}

// NewActiveSessionsCollector returns a collector counting the sessions of
// the NASes named in nases in store. Each scrape waits at most timeout for
// Redis (0: 2s).
func NewActiveSessionsCollector(store *Store, nases []string, timeout time.Duration) *ActiveSessionsCollector {
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	return &ActiveSessionsCollector{store: store, nases: append([]string(nil), nases...), timeout: timeout}
}

// Describe implements prometheus.Collector.
func (c *ActiveSessionsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- activeSessionsDesc }

// Collect implements prometheus.Collector.
func (c *ActiveSessionsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	counts, err := c.store.ActiveSessions(ctx, c.nases)
	if err != nil {
		return
	}
	for _, n := range c.nases {
		ch <- prometheus.MustNewConstMetric(activeSessionsDesc, prometheus.GaugeValue, float64(counts[n]), n)
	}
}

// IndexMetrics are counters of the batched session indexes (index.go):
// updates dropped because too many waited while Redis refused them, and
// batches Redis refused. Register them with the registry the admin
// listener exposes.
func (s *Store) IndexMetrics() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hotspot_session_index_dropped_total",
			Help: "Session index updates dropped because too many were waiting (Redis refusing the batches); the sessions' next records put them back.",
		}, func() float64 { return float64(s.idx.dropped.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hotspot_session_index_write_failures_total",
			Help: "Batches of session index updates that Redis refused; their updates wait for the next batch.",
		}, func() float64 { return float64(s.idx.failed.Load()) }),
	}
}
