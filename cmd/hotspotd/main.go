// Command hotspotd is the hotspot daemon: captive portal, RADIUS server and
// admin listener in one process, sharing one Redis.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"hotspot/portal"
	"hotspot/radius"
	"hotspot/session"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv)) }

// shutdownTimeout bounds each server's drain after a signal.
const shutdownTimeout = 10 * time.Second

func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("hotspotd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "/etc/hotspot/hotspot.yaml", "config file")
	checkOnly := fs.Bool("check-config", false, "check the config file, print every problem, and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(*configPath, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "hotspotd: %s: invalid config:\n%v\n", *configPath, err)
		return 1
	}
	if *checkOnly {
		for _, w := range cfg.warnings() {
			fmt.Fprintf(stdout, "warning: %s\n", w)
		}
		fmt.Fprintf(stdout, "%s: config OK\n", *configPath)
		return 0
	}
	logger := newLogger(cfg.Log, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, logger); err != nil {
		logger.Error("hotspotd stopped", "err", err)
		return 1
	}
	logger.Info("hotspotd stopped")
	return 0
}

// serve wires the servers and runs them until ctx ends. It is the only
// place that wires.
func serve(ctx context.Context, cfg *Config, logger *slog.Logger) error {
	for _, w := range cfg.warnings() {
		logger.Warn(w)
	}
	rdb, more, closeRedis, err := openRedis(cfg.Redis, logger)
	if err != nil {
		return err
	}
	defer closeRedis()

	store, err := session.NewStore(rdb, cfg.Devices, nil, more...)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = checkRedisAtStart(pctx, cfg.Redis, store, rdb, logger)
	cancel()
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	nases, err := session.NewNASTable(cfg.NAS)
	if err != nil {
		return err
	}
	redisMetrics, err := session.NewRedisMetrics(reg)
	if err != nil {
		return err
	}
	for _, c := range append([]redis.UniversalClient{rdb}, more...) {
		c.AddHook(redisMetrics)
	}
	var nasNames []string
	for _, n := range nases.All() {
		nasNames = append(nasNames, n.Name)
	}
	reg.MustRegister(session.NewActiveSessionsCollector(store, nasNames, 0))
	reg.MustRegister(store.IndexMetrics()...)
	var (
		radiusStore radius.Store = store
		spooled     *session.Spooled
	)
	if cfg.Redis.Spool != "" {
		sp, err := session.OpenSpool(cfg.Redis.Spool, []byte(cfg.Devices.MACHashKey), int64(cmp.Or(cfg.Redis.SpoolMaxSize, defaultSpoolMaxSize)))
		if err != nil {
			return err
		}
		defer sp.Close()
		spooled = session.NewSpooled(store, sp)
		reg.MustRegister(spooled.SpoolMetrics()...)
		if n := sp.Pending(); n > 0 {
			logger.Info("accounting records in the spool from an earlier run, applied once Redis answers", "records", n)
		}
		radiusStore = spooled
	}
	rs, err := radius.New(cfg.RADIUS, nases, radiusStore, logger, reg)
	if err != nil {
		return err
	}
	ps, err := portal.New(cfg.Portal, nases, store, logger, reg)
	if err != nil {
		return err
	}
	admin, err := portal.NewAdmin(cfg.Admin, store, disconnecter{rs}, reg, reg, logger)
	if err != nil {
		return err
	}

	// Bind everything before serving anything, so a taken port fails fast.
	authConn, acctConn, err := rs.Listen()
	if err != nil {
		return err
	}
	portalLn, err := net.Listen("tcp", orDefault(cfg.Portal.Listen, portal.DefaultListen))
	if err != nil {
		authConn.Close()
		acctConn.Close()
		return fmt.Errorf("portal: listen: %w", err)
	}
	adminLn, err := net.Listen("tcp", orDefault(cfg.Admin.Listen, portal.DefaultAdminListen))
	if err != nil {
		authConn.Close()
		acctConn.Close()
		portalLn.Close()
		return fmt.Errorf("admin: listen: %w", err)
	}
	logger.Info("hotspotd serving",
		"portal", portalLn.Addr().String(), "admin", adminLn.Addr().String(),
		"radius_auth", authConn.LocalAddr().String(), "radius_acct", acctConn.LocalAddr().String())

	// Shutdown order: HTTP first (no new grants), then RADIUS (in-flight
	// accounting is stored), then the spool's replays, then the session
	// indexes still waiting, then Redis (deferred above).
	defer func() {
		fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer fcancel()
		if err := store.Close(fctx); err != nil {
			logger.Warn("hotspotd: session indexes not written at shutdown", "err", err)
		}
	}()
	if spooled != nil {
		sctx, scancel := context.WithCancel(context.WithoutCancel(ctx))
		var spoolWG sync.WaitGroup
		spoolWG.Go(func() { spooled.Run(sctx, logger) })
		// Deferred calls run last in, first out: the replays stop before
		// the index flush above, which writes their entries too.
		defer spoolWG.Wait()
		defer scancel()
	}
	g, gctx := errgroup.WithContext(ctx)
	var httpWG sync.WaitGroup
	for _, h := range []struct {
		name string
		ln   net.Listener
		h    http.Handler
	}{{"portal", portalLn, ps.Handler()}, {"admin", adminLn, admin.Handler()}} {
		httpWG.Add(1)
		g.Go(func() error {
			defer httpWG.Done()
			return serveHTTP(gctx, h.name, h.ln, h.h, logger)
		})
	}
	rctx, rcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer rcancel()
	g.Go(func() error { return rs.Serve(rctx, authConn, acctConn) })
	g.Go(func() error {
		return watchLayout(gctx, layoutCheckEvery, func(ctx context.Context) (int, error) {
			return session.ClaimLayout(ctx, rdb)
		}, logger)
	})
	g.Go(func() error {
		<-gctx.Done()
		httpWG.Wait()
		rcancel()
		return nil
	})
	return g.Wait()
}

// checkRedisAtStart loads the store's scripts, checks a named Redis's
// version and settings, and claims the key layout. Settings that lose state
// are the operator's to fix (warnings); a Redis too old for the store's
// commands, or whose data is in a newer key layout, is refused. Redis may
// come up after us: then the store loads its scripts on first use, and
// watchLayout claims the layout.
func checkRedisAtStart(ctx context.Context, cfg RedisConfig, store *session.Store, rdb redis.UniversalClient, logger *slog.Logger) error {
	if err := store.Preload(ctx); err != nil {
		logger.Warn("redis not reachable at start; RADIUS requests get no reply until it is", "err", err)
		return nil
	}
	if cfg.URL != "" {
		warnings, err := session.CheckRedis(ctx, rdb)
		if errors.Is(err, session.ErrUnavailable) {
			logger.Warn("could not check Redis's version and settings", "err", err)
		} else if err != nil {
			return err
		}
		for _, w := range warnings {
			logger.Warn(w)
		}
	}
	return claimLayout(ctx, rdb, logger)
}

// claimLayout claims the store's key layout in Redis at start (see
// session.ClaimLayout): a Redis whose data is in a newer layout is refused,
// and an older layout, or data without a record of its layout, gets a
// warning to stop the instances of older builds. Anything else that keeps
// the claim from being made (Redis away, full, read-only after a failover,
// the record not a layout) is left to watchLayout: a full Redis must not
// keep hotspotd from spooling accounting and showing its pages.
func claimLayout(ctx context.Context, rdb redis.UniversalClient, logger *slog.Logger) error {
	prev, err := session.ClaimLayout(ctx, rdb)
	switch {
	case errors.Is(err, session.ErrNewerLayout):
		return err
	case err != nil:
		logger.Warn("could not check the key layout of Redis's data; checking again while serving", "err", err)
	case prev != 0 && prev < session.Layout:
		logger.Warn(fmt.Sprintf("Redis's data was in key layout %d, this build's is %d: stop every instance of an older build, "+
			"which would count usage again (README: Upgrading)", prev, session.Layout))
	case prev == 0:
		// This build's record is one key; more are another build's data.
		if n, err := rdb.DBSize(ctx).Result(); err == nil && n > 1 {
			logger.Warn("Redis holds keys but no record of their key layout: stop every instance of a build from before " +
				"2026-11-27 that uses it, which would count usage again (README: Upgrading)")
		}
	}
	return nil
}

// layoutCheckEvery is how often watchLayout claims the key layout; a
// variable so that a test need not wait the 30 s.
var layoutCheckEvery = session.LayoutCheckEvery

// watchLayout claims the key layout every interval until ctx ends (which
// renews the record) and returns the error when Redis's data is in a newer
// layout than this build's: hotspotd then stops, and the NASes turn to an
// instance of the newer build.
func watchLayout(ctx context.Context, every time.Duration, claim func(context.Context) (int, error), logger *slog.Logger) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := claim(cctx)
		cancel()
		switch {
		case errors.Is(err, session.ErrNewerLayout):
			return err
		case err != nil && !errors.Is(err, session.ErrUnavailable) && ctx.Err() == nil:
			logger.Warn("could not check the key layout of Redis's data", "err", err)
		}
	}
}

func serveHTTP(ctx context.Context, name string, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(logger.With("server", name).Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("%s: %w", name, err)
	case <-ctx.Done():
	}
	// A fresh deadline: ctx is already cancelled.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("%s: shutdown: %w", name, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// openRedis connects to the configured Redis, or starts the embedded store.
// Besides the client, it returns redis.pipelines - 1 more clients of the
// same Redis for the store's hot path, and what closes them all.
func openRedis(cfg RedisConfig, logger *slog.Logger) (redis.UniversalClient, []redis.UniversalClient, func(), error) {
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = time.Second
	}
	pool := cfg.PoolSize
	if pool == 0 {
		pool = 10 * runtime.GOMAXPROCS(0)
	}
	if cfg.URL == "" {
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			return nil, nil, nil, fmt.Errorf("embedded store: %w", err)
		}
		logger.Warn("EMBEDDED STORE: no Redis configured; state lives in this process only and is lost on restart", "addr", m.Addr())
		rdb := redis.NewClient(&redis.Options{Addr: m.Addr(), PoolSize: pool, ReadTimeout: timeout, WriteTimeout: timeout, ContextTimeoutEnabled: true})
		return rdb, nil, func() { rdb.Close(); m.Close() }, nil
	}
	opts, err := session.RedisOptions(cfg.URL)
	if err != nil {
		return nil, nil, nil, err
	}
	opts.PoolSize = pool
	opts.ReadTimeout, opts.WriteTimeout = timeout, timeout
	// A RADIUS request's deadline (radius.store_timeout) must bound its
	// Redis I/O too, so that a stalled Redis leaves the NAS time to fail
	// over instead of holding the worker for redis.timeout.
	opts.ContextTimeoutEnabled = true
	opts.DialTimeout = timeout
	// One dial per try: the command's own retries (with backoff) ride
	// through a failover, and go-redis's default of five dials a try,
	// 100 ms apart, held a request for seconds past its deadline while
	// Redis refused connections (its accounting records then reached the
	// spool after the NAS had given up on them).
	opts.DialerRetries = 1
	rdb := redis.NewUniversalClient(opts)
	pipes := cfg.Pipelines
	if pipes == 0 {
		pipes = defaultRedisPipelines
	}
	var more []redis.UniversalClient
	for range pipes - 1 {
		more = append(more, redis.NewUniversalClient(opts))
	}
	logger.Info("redis", "url", session.RedactURL(cfg.URL), "pipelines", 1+len(more))
	return rdb, more, func() {
		for _, c := range more {
			c.Close()
		}
		rdb.Close()
	}, nil
}

// disconnecter connects the admin API's disconnect to the RADIUS server.
// The API answers 504 when the NAS did not answer; it tells that case by
// portal.ErrNoAnswer, as it may not import radius.
type disconnecter struct{ rs *radius.Server }

func (d disconnecter) Disconnect(ctx context.Context, sess session.Session) (session.DynAuthResult, error) {
	res, err := d.rs.Disconnect(ctx, sess)
	if errors.Is(err, radius.ErrNoAnswer) {
		err = fmt.Errorf("%w: %w", portal.ErrNoAnswer, err)
	}
	return res, err
}
