package session_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"hotspot/internal/redistest"
	"hotspot/session"
)

// metric returns the value of the series name{labels} in reg: a counter's
// or gauge's value, a histogram's sample count; -1 when it is missing.
func metric(t *testing.T, reg prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !hasLabel(m, labels[i], labels[i+1]) {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return -1
}

func hasLabel(m *dto.Metric, k, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == k && l.GetValue() == v {
			return true
		}
	}
	return false
}

func TestRedisMetrics(t *testing.T) {
	rs := redistest.Start(t)
	reg := prometheus.NewRegistry()
	m, err := session.NewRedisMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	rdb := rs.Client(t)
	rdb.AddHook(m)
	ctx := context.Background()
	if err := rdb.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Get(ctx, "missing").Err(); err != redis.Nil {
		t.Fatalf("GET missing = %v, want redis.Nil", err)
	}
	if err := rdb.HGet(ctx, "k", "f").Err(); err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Fatalf("HGET on a string = %v, want WRONGTYPE", err)
	}
	if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Get(ctx, "k")
		p.Get(ctx, "k")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"hotspot_redis_command_duration_seconds", []string{"command", "set"}, 1},
		{"hotspot_redis_command_duration_seconds", []string{"command", "get"}, 1},
		{"hotspot_redis_errors_total", []string{"command", "get"}, -1}, // redis.Nil is an answer
		{"hotspot_redis_errors_total", []string{"command", "hget"}, 1},
		{"hotspot_redis_errors_total", []string{"command", "pipeline"}, 0},
		{"hotspot_redis_errors_total", []string{"command", "dial"}, 0},
	}
	// go-redis sets a connection up with a pipeline of its own.
	if got := metric(t, reg, "hotspot_redis_command_duration_seconds", "command", "pipeline"); got < 1 {
		t.Errorf("pipelines measured = %v, want ≥ 1", got)
	}
	for _, c := range checks {
		if got := metric(t, reg, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	// A Redis that is not there: the dial fails and so does the command.
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer dead.Close()
	dead.AddHook(m)
	if err := dead.Ping(ctx).Err(); err == nil {
		t.Fatal("PING to 127.0.0.1:1 succeeded")
	}
	if got := metric(t, reg, "hotspot_redis_errors_total", "command", "dial"); got < 1 {
		t.Errorf("dial errors after a refused connection = %v, want ≥ 1", got)
	}
	if got := metric(t, reg, "hotspot_redis_errors_total", "command", "ping"); got != 1 {
		t.Errorf("ping errors = %v, want 1", got)
	}
	if _, err := session.NewRedisMetrics(reg); err == nil {
		t.Error("registering the Redis metrics twice succeeded, want an error")
	}
}

func TestActiveSessionsCollector(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		s, clk := newStore(t, rdb, testConfig())
		fixture(t, s, clk, queryRecords)
		reg := prometheus.NewRegistry()
		reg.MustRegister(session.NewActiveSessionsCollector(s, []string{"nas1", "nas2", "nas3"}, 0))
		for nas, want := range map[string]float64{"nas1": 3, "nas2": 1, "nas3": 0} {
			if got := metric(t, reg, "hotspot_sessions_active", "nas", nas); got != want {
				t.Errorf("hotspot_sessions_active{nas=%q} = %v, want %v", nas, got, want)
			}
		}
	})
	// Redis down: the gauge is left out, the scrape still works.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	s, err := session.NewStore(rdb, testConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(session.NewActiveSessionsCollector(s, []string{"nas1"}, time.Second))
	if got := metric(t, reg, "hotspot_sessions_active", "nas", "nas1"); got != -1 {
		t.Errorf("hotspot_sessions_active with Redis down = %v, want no series", got)
	}
}
