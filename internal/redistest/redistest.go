// Package redistest starts a private redis-server for a test, on a free
// loopback port, and removes it when the test ends. Tests never share a
// Redis and never touch one they did not start.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Server is a running redis-server.
type Server struct {
	Addr string // host:port
}

// URL returns the redis:// URL of database 0.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// Client returns a client for the server, closed when the test ends.
func (s *Server) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	t.Cleanup(func() { c.Close() })
	return c
}

// Start starts redis-server for t, without persistence. A missing
// redis-server fails the test: `make test` installs it, and CI must never
// pass by skipping.
func Start(t testing.TB) *Server {
	t.Helper()
	return startConf(t, "")
}

// StartConf starts redis-server for t on the config file conf, as an
// operator would; only where it listens, its directory and its log level
// are the test's.
func StartConf(t testing.TB, conf string) *Server {
	t.Helper()
	return startConf(t, conf)
}

func startConf(t testing.TB, conf string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found (apt-get install -y redis-server, or run make test as root): %v", err)
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		s, err := start(t, bin, conf)
		if err == nil {
			return s
		}
		lastErr = err
	}
	t.Fatalf("redistest: start redis-server: %v", lastErr)
	return nil
}

func start(t testing.TB, bin, conf string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	args := []string{"--save", "", "--appendonly", "no"}
	if conf != "" {
		// Logs to stdout (where readiness is read), in the foreground.
		args = []string{conf, "--logfile", "", "--daemonize", "no"}
	}
	args = append(args, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--dir", dir, "--loglevel", "notice", "--protected-mode", "yes")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, err
	}
	// redis-server logs "Ready to accept connections" once it listens; a
	// failure to bind ends the process, which closes the pipe.
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var log []string
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, "Ready to accept connections") {
				ready <- nil
				for sc.Scan() {
				}
				return
			}
			log = append(log, line)
		}
		ready <- fmt.Errorf("redis-server exited before it was ready: %s", strings.Join(log, "\n"))
	}()
	select {
	case err = <-ready:
	case <-time.After(20 * time.Second):
		err = fmt.Errorf("redis-server not ready after 20s")
	}
	if err != nil {
		cancel()
		cmd.Wait()
		return nil, err
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	return &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Embedded starts the embedded store (miniredis) for t and returns it with
// a client, both closed when the test ends: for fast tests of code that
// needs a session.Store but not a real Redis.
func Embedded(t testing.TB) (*miniredis.Miniredis, *redis.Client) {
	t.Helper()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return m, c
}
