package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"hotspot/internal/redistest"
	"hotspot/session"
)

// TestLayoutEndToEnd: hotspotd records its key layout in the Redis it
// uses, warns when that Redis holds an older build's data, and refuses to
// serve on data in a newer layout than its own.
func TestLayoutEndToEnd(t *testing.T) {
	ctx := context.Background()
	rs := redistest.Start(t)
	rdb := rs.Client(t)
	env := []string{"REDIS_URL=" + rs.URL()}
	layout := func() string {
		t.Helper()
		v, err := rdb.Get(ctx, "hotspot:layout").Result()
		if err != nil {
			t.Fatalf("hotspot:layout: %v", err)
		}
		return v
	}

	// Data of a build from before the record: a warning, and the record.
	if err := rdb.Set(ctx, "{d:older}:use", "x", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, env, nil)
	d.stop(t)
	if got, want := layout(), strconv.Itoa(session.Layout); got != want {
		t.Errorf("layout after start %s, want %s", got, want)
	}
	if ttl := rdb.TTL(ctx, "hotspot:layout").Val(); ttl < 300*24*time.Hour {
		t.Errorf("layout record's TTL %v, want it to outlive a long stop", ttl)
	}
	if !strings.Contains(d.stderr.String(), "no record of their key layout") {
		t.Errorf("no warning of data without a layout record:\n%s", d.stderr)
	}

	// An older layout: a warning, and the record raised.
	if err := rdb.Set(ctx, "hotspot:layout", session.Layout-1, 0).Err(); err != nil {
		t.Fatal(err)
	}
	d = startDaemon(t, env, nil)
	d.stop(t)
	if got, want := layout(), strconv.Itoa(session.Layout); got != want {
		t.Errorf("layout after an older one %s, want %s", got, want)
	}
	if !strings.Contains(d.stderr.String(), "key layout "+strconv.Itoa(session.Layout-1)) {
		t.Errorf("no warning of the older layout:\n%s", d.stderr)
	}

	// A newer layout: hotspotd does not serve, says why and leaves it.
	newer := strconv.Itoa(session.Layout + 1)
	if err := rdb.Set(ctx, "hotspot:layout", newer, 0).Err(); err != nil {
		t.Fatal(err)
	}
	d, ready := launchDaemon(t, env, nil)
	select {
	case err := <-d.exited:
		if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("hotspotd on a newer layout exited with %v, want status 1", err)
		}
	case <-ready:
		t.Fatalf("hotspotd serves on data in a newer layout")
	case <-time.After(30 * time.Second):
		t.Fatalf("hotspotd neither served nor stopped in 30s")
	}
	if !strings.Contains(d.stderr.String(), "newer key layout") {
		t.Errorf("hotspotd did not say why it stopped:\n%s", d.stderr)
	}
	if got := layout(); got != newer {
		t.Errorf("layout after the refusal %s, want %s left", got, newer)
	}

	// A full Redis (noeviction) refuses the record's write: hotspotd
	// serves all the same (accounting goes to the spool, the portal shows
	// its page) and checks again later.
	if err := rdb.Set(ctx, "hotspot:layout", strconv.Itoa(session.Layout), 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	d = startDaemon(t, env, nil)
	d.stop(t)
	if err := rdb.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.stderr.String(), "could not check the key layout") {
		t.Errorf("no warning that the layout could not be checked:\n%s", d.stderr)
	}
}

// TestServeStopsOnNewerLayout: a running hotspotd that finds Redis's data
// in a newer key layout shuts down and says why.
func TestServeStopsOnNewerLayout(t *testing.T) {
	ctx := context.Background()
	rs := redistest.Start(t)
	rdb := rs.Client(t)
	_, b := demoConfig(t, nil)
	cfg, err := parseConfig(b, func(k string) string {
		if k == "REDIS_URL" {
			return rs.URL()
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func(d time.Duration) { layoutCheckEvery = d }(layoutCheckEvery)
	layoutCheckEvery = 20 * time.Millisecond

	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	deadline := time.Now().Add(20 * time.Second)
	for rdb.Get(ctx, "hotspot:layout").Val() != strconv.Itoa(session.Layout) {
		if time.Now().After(deadline) {
			t.Fatal("hotspotd did not record its layout in 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := rdb.Set(ctx, "hotspot:layout", session.Layout+1, 0).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, session.ErrNewerLayout) {
			t.Errorf("serve returned %v, want ErrNewerLayout", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("hotspotd still serves 20s after a newer layout appeared")
	}
}

// TestWatchLayout: a running hotspotd stops once Redis's data is in a
// newer layout, and goes on through other failures.
func TestWatchLayout(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	calls := 0
	claim := func(context.Context) (int, error) {
		calls++
		switch calls {
		case 1:
			return session.Layout, nil
		case 2:
			return 0, errors.New("ERR something else")
		case 3:
			return 0, session.ErrUnavailable
		}
		return session.Layout + 1, session.ErrNewerLayout
	}
	done := make(chan error, 1)
	go func() { done <- watchLayout(context.Background(), time.Millisecond, claim, logger) }()
	select {
	case err := <-done:
		if !errors.Is(err, session.ErrNewerLayout) || calls != 4 {
			t.Errorf("watchLayout returned %v after %d checks, want ErrNewerLayout after 4", err, calls)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watchLayout did not stop on a newer layout")
	}

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		done <- watchLayout(ctx, time.Millisecond, func(context.Context) (int, error) { return session.Layout, nil }, logger)
	}()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("watchLayout after its context ended: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watchLayout did not stop with its context")
	}
}
