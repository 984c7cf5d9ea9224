package radius

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"hotspot/session"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none for a valid config
	}{
		{"zero value", Config{}, nil},
		{"ephemeral ports", Config{AuthListen: "127.0.0.1:0", AcctListen: "127.0.0.1:0"}, nil},
		{"explicit", Config{AuthListen: "[::]:1812", AcctListen: "0.0.0.0:1813", Workers: 8, Queue: 10,
			StoreTimeout: time.Second, DuplicateWindow: time.Minute}, nil},
		{"negative numbers", Config{Workers: -1, Queue: -5, StoreTimeout: -time.Second, DuplicateWindow: -time.Second, FailOpen: -time.Minute},
			[]string{"radius.workers must be positive", "radius.queue must be positive",
				"radius.store_timeout must be positive", "radius.duplicate_window must be positive",
				"radius.fail_open -1m0s: 0 (off) or at least 1m0s"}},
		{"fail_open too short", Config{FailOpen: time.Second}, []string{"radius.fail_open 1s: 0 (off) or at least 1m0s"}},
		{"fail_open", Config{FailOpen: 10 * time.Minute}, nil},
		{"bad addresses", Config{AuthListen: "1812", AcctListen: "host:radius-acct"},
			[]string{`radius.auth_listen "1812" is not host:port`, `radius.acct_listen "host:radius-acct": port must be a number`}},
		{"same address", Config{AuthListen: ":1812", AcctListen: ":1812"},
			[]string{`radius.auth_listen and radius.acct_listen are both ":1812"`}},
		{"window below store timeout", Config{StoreTimeout: 5 * time.Second, DuplicateWindow: time.Second},
			[]string{"radius.duplicate_window 1s is shorter than radius.store_timeout 5s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
			if got := len(strings.Split(err.Error(), "\n")); got != len(tt.want) {
				t.Errorf("Validate() reported %d problems, want %d: %q", got, len(tt.want), err)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.AuthListen != ":1812" || c.AcctListen != ":1813" || c.Workers != DefaultWorkers || c.Queue != DefaultQueue ||
		c.StoreTimeout != DefaultStoreTimeout || c.DuplicateWindow != DefaultDuplicateWindow {
		t.Errorf("Config{}.withDefaults() = %+v", c)
	}
}

func TestNew(t *testing.T) {
	table, err := session.NewNASTable([]session.NAS{testNAS(session.KindGeneric, true)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Workers: -1}, table, newFakeStore(), nil, nil); err == nil {
		t.Error("New(invalid config) = nil error")
	}
	if _, err := New(Config{}, nil, newFakeStore(), nil, nil); err == nil {
		t.Error("New(nil table) = nil error")
	}
	if _, err := New(Config{}, table, nil, nil, nil); err == nil {
		t.Error("New(nil store) = nil error")
	}
	reg := prometheus.NewRegistry()
	if _, err := New(Config{}, table, newFakeStore(), nil, reg); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{}, table, newFakeStore(), nil, reg); err == nil || !strings.HasPrefix(err.Error(), "radius: ") {
		t.Errorf("New(same registry twice) = %v, want a radius: error", err)
	}
}

// chanConn is a net.PacketConn on channels, so that tests know exactly
// when the reader has taken a datagram: every ReadFrom announces itself on
// reads before it blocks.
type chanConn struct {
	in        chan datagram
	out       chan datagram
	reads     chan struct{}
	stop      chan struct{} // closed by a read deadline in the past
	closed    chan struct{}
	stopOnce  sync.Once
	closeOnce sync.Once
}

type datagram struct {
	b    []byte
	addr netip.AddrPort
}

func newChanConn() *chanConn {
	return &chanConn{
		in: make(chan datagram), out: make(chan datagram, 100), reads: make(chan struct{}, 100),
		stop: make(chan struct{}), closed: make(chan struct{}),
	}
}

func (c *chanConn) ReadFrom(b []byte) (int, net.Addr, error) {
	c.reads <- struct{}{}
	select {
	case d := <-c.in:
		return copy(b, d.b), net.UDPAddrFromAddrPort(d.addr), nil
	case <-c.stop:
		return 0, nil, os.ErrDeadlineExceeded
	case <-c.closed:
		return 0, nil, net.ErrClosed
	}
}

func (c *chanConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	c.out <- datagram{b: append([]byte(nil), b...), addr: addr.(*net.UDPAddr).AddrPort()}
	return len(b), nil
}

func (c *chanConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

func (c *chanConn) SetReadDeadline(t time.Time) error {
	if t.Before(time.Now()) {
		c.stopOnce.Do(func() { close(c.stop) })
	}
	return nil
}

func (c *chanConn) LocalAddr() net.Addr                { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1812} }
func (c *chanConn) SetDeadline(t time.Time) error      { return c.SetReadDeadline(t) }
func (c *chanConn) SetWriteDeadline(t time.Time) error { return nil }

// deliver hands d to the reader and waits until it has dealt with it (is
// back in ReadFrom).
func (c *chanConn) deliver(t *testing.T, b []byte) {
	t.Helper()
	c.in <- datagram{b: b, addr: netip.MustParseAddrPort("127.0.0.1:3000")}
	<-c.reads
}

// serveChan runs ts on channel connections and returns them.
func serveChan(t *testing.T, ts *testServer) (ctx context.Context, cancel context.CancelFunc, auth *chanConn, done chan error) {
	t.Helper()
	auth, acct := newChanConn(), newChanConn()
	ctx, cancel = context.WithCancel(t.Context())
	done = make(chan error, 1)
	go func() { done <- ts.Serve(ctx, auth, acct) }()
	<-auth.reads // the reader is waiting
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ctx, cancel, auth, done
}

func TestOverload(t *testing.T) {
	ts := newServer(t, withConfig(func(c *Config) { c.Workers, c.Queue = 1, 1 }))
	ts.store.entered = make(chan struct{}, 10)
	ts.store.release = make(chan struct{})
	_, _, auth, _ := serveChan(t, ts)

	reqs := make([][]byte, 3)
	for i := range reqs {
		p := papRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff")
		p.Identifier = byte(i)
		reqs[i] = mustEncodeRequest(t, p)
	}
	auth.deliver(t, reqs[0])
	<-ts.store.entered       // the worker is busy with #0
	auth.deliver(t, reqs[1]) // #1 fills the queue
	auth.deliver(t, reqs[2]) // #2 has no room
	if got := ts.dropped(dropOverload); got != 1 {
		t.Fatalf("dropped{overload} = %v, want 1", got)
	}
	close(ts.store.release)
	for _, want := range []byte{0, 1} {
		d := <-auth.out
		if d.b[1] != want {
			t.Errorf("reply to id %d, want %d", d.b[1], want)
		}
		checkReply(t, d.b, reqs[want], radius.CodeAccessAccept)
	}
}

// Every request's store call has between 0.9 and 1 StoreTimeout, also
// after the worker sat idle for longer than that.
func TestStoreDeadline(t *testing.T) {
	const timeout = 500 * time.Millisecond
	ts := newServer(t, withConfig(func(c *Config) { c.StoreTimeout = timeout }))
	ts.store.left = make(chan time.Duration, 1) // before the workers start: they read it
	ts.start(t)
	for i, pause := range []time.Duration{0, 0, timeout / 5, 0, timeout + 10*time.Millisecond} {
		time.Sleep(pause)
		ts.exchange(t, ts.authAddr, mustEncodeRequest(t, papRequest(t, "hs-user", "s3cret-pass", macA.String())))
		// The time from taking the job to the store call is the only
		// slack: far below the 50 ms allowed here, even on a busy
		// machine.
		if left := <-ts.store.left; left <= timeout*9/10-50*time.Millisecond || left > timeout {
			t.Errorf("request %d (after %v idle): store deadline in %v, want (%v, %v]", i, pause, left, timeout*9/10, timeout)
		}
	}
}

func TestShutdownDrains(t *testing.T) {
	ts := newServer(t, withConfig(func(c *Config) { c.Workers, c.Queue = 1, 10 }))
	ts.store.entered = make(chan struct{}, 10)
	ts.store.release = make(chan struct{})
	_, cancel, auth, done := serveChan(t, ts)

	reqs := make([][]byte, 3)
	for i := range reqs {
		p := papRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff")
		p.Identifier = byte(i)
		reqs[i] = mustEncodeRequest(t, p)
		auth.deliver(t, reqs[i])
		if i == 0 {
			<-ts.store.entered
		}
	}
	cancel()
	// #0 is in the store; it finishes and is answered although ctx is
	// done. #1 and #2 are still queued and are dropped.
	close(ts.store.release)
	if err := <-done; err != nil {
		t.Fatalf("Serve() = %v, want nil", err)
	}
	done <- nil // for the cleanup
	select {
	case d := <-auth.out:
		checkReply(t, d.b, reqs[0], radius.CodeAccessAccept)
	default:
		t.Fatal("the request in progress at shutdown got no reply")
	}
	if len(auth.out) != 0 {
		t.Errorf("%d queued requests were answered after shutdown", len(auth.out))
	}
	if got := ts.dropped(dropShutdown); got != 2 {
		t.Errorf("dropped{shutdown} = %v, want 2", got)
	}
	select {
	case <-auth.closed:
	default:
		t.Error("Serve returned without closing its sockets")
	}
}

// panicStore panics in its first Authorize.
type panicStore struct {
	*fakeStore
	calls atomic.Int32
}

func (p *panicStore) Authorize(ctx context.Context, r session.AuthRequest) (session.Decision, error) {
	if p.calls.Add(1) == 1 {
		panic("store bug")
	}
	return p.fakeStore.Authorize(ctx, r)
}

func TestPanicContained(t *testing.T) {
	table, err := session.NewNASTable([]session.NAS{testNAS(session.KindCoovaChilli, true)})
	if err != nil {
		t.Fatal(err)
	}
	store := &panicStore{fakeStore: newFakeStore()}
	s, err := New(Config{Workers: 1}, table, store, testLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: s, store: store.fakeStore}
	_, _, auth, _ := serveChan(t, ts)

	wire := mustEncodeRequest(t, papRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff"))
	auth.deliver(t, wire)
	// The same packet again: the worker survived, and the panic left no
	// "in progress" entry behind that would swallow the retransmit.
	auth.deliver(t, wire)
	d := <-auth.out
	checkReply(t, d.b, wire, radius.CodeAccessAccept)
	if got := ts.dropped(dropPanic); got != 1 {
		t.Errorf("dropped{panic} = %v, want 1", got)
	}
	if len(auth.out) != 0 {
		t.Error("the panicking request got a reply")
	}
}

func TestServeSocketClosed(t *testing.T) {
	ts := newServer(t)
	auth, acct, err := ts.Listen()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ts.Serve(t.Context(), auth, acct) }()
	// Closing a socket under Serve is a failure, not a shutdown. Serve may
	// not have started reading yet; either way the read fails on a closed
	// socket.
	acct.Close()
	err = <-done
	if !errors.Is(err, net.ErrClosed) || !strings.HasPrefix(err.Error(), "radius: read acct") {
		t.Errorf("Serve() = %v, want radius: read acct: ... closed", err)
	}
}

func TestListen(t *testing.T) {
	ts := newServer(t)
	auth, acct, err := ts.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer auth.Close()
	defer acct.Close()

	// A taken port fails, and releases what it bound.
	cfg := Config{AuthListen: "127.0.0.1:0", AcctListen: acct.LocalAddr().String()}
	table, _ := session.NewNASTable([]session.NAS{testNAS(session.KindGeneric, true)})
	s2, err := New(cfg, table, newFakeStore(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s2.Listen(); err == nil || !strings.HasPrefix(err.Error(), "radius: listen acct") {
		t.Errorf("Listen(taken port) = %v, want radius: listen acct error", err)
	}
}

// TestParseLikeLayeh: request.parse gives what radius.Parse gives, for
// good packets and every kind of damage, with the request reused from one
// packet to the next as the workers do.
func TestParseLikeLayeh(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 9))
	good := mustEncodeRequest(t, papRequest(t, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff"))
	empty := mustEncodeRequest(t, radius.New(radius.CodeStatusServer, []byte(testSecret)))
	many := bytes.Repeat([]byte{byte(rfc2865.ProxyState_Type), 2}, maxPooledAttributes+1)
	many = append(bytes.Clone(empty), many...)
	many[2], many[3] = byte(len(many)>>8), byte(len(many))
	inputs := [][]byte{good, empty, many, good, nil, good[:19], good[:20], append(bytes.Clone(good), 0, 0, 0)}
	for range 2000 {
		b := bytes.Clone(good)
		switch rng.IntN(4) {
		case 0:
			b[rng.IntN(len(b))] = byte(rng.IntN(256))
		case 1:
			b = b[:rng.IntN(len(b)+1)]
		case 2:
			b[2], b[3] = byte(rng.IntN(2)), byte(rng.IntN(256))
		case 3:
			b = append(b, 1, byte(rng.IntN(6)))
			b[2], b[3] = byte(len(b)>>8), byte(len(b))
		}
		inputs = append(inputs, b)
	}
	var pool requestPool
	for _, b := range inputs {
		want, wantErr := radius.Parse(b, []byte(testSecret))
		r := pool.get()
		got, err := r.parse(b, []byte(testSecret))
		if (err != nil) != (wantErr != nil) || (err != nil && err.Error() != wantErr.Error()) {
			t.Fatalf("parse(% x) error = %v, want %v", b, err, wantErr)
		}
		if err != nil {
			pool.put(r)
			continue
		}
		if got.Code != want.Code || got.Identifier != want.Identifier || got.Authenticator != want.Authenticator ||
			!bytes.Equal(got.Secret, want.Secret) || len(got.Attributes) != len(want.Attributes) {
			t.Fatalf("parse(% x) = %+v, want %+v", b, got, want)
		}
		for i, a := range got.Attributes {
			w := want.Attributes[i]
			if a.Type != w.Type || !bytes.Equal(a.Attribute, w.Attribute) || (a.Attribute == nil) != (w.Attribute == nil) {
				t.Fatalf("parse(% x) attribute %d = %v % x, want %v % x", b, i, a.Type, a.Attribute, w.Type, w.Attribute)
			}
		}
		pool.put(r)
	}
}

// TestIPText: the remembered text is that of the address asked about, as
// the sources of a NAS alternate.
func TestIPText(t *testing.T) {
	var ns nasState
	for _, tt := range []struct{ addr, want string }{
		{"10.0.0.1", "10.0.0.1"},
		{"10.0.0.1", "10.0.0.1"},
		{"10.0.0.2", "10.0.0.2"},
		{"::ffff:10.0.0.1", "10.0.0.1"},
		{"10.0.0.1", "10.0.0.1"},
		{"2001:db8::1", "2001:db8::1"},
	} {
		if got := ns.ipText(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("ipText(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

func TestLineBudget(t *testing.T) {
	b := lineBudget{max: 3}
	at := time.Unix(1_800_000_000, 0)
	for i := range 5 {
		ok, _ := b.allow(at.Add(time.Duration(i) * time.Millisecond))
		if want := i < 3; ok != want {
			t.Errorf("line %d in the first second: allowed %v, want %v", i+1, ok, want)
		}
	}
	if ok, suppressed := b.allow(at.Add(time.Second)); !ok || suppressed != 2 {
		t.Errorf("the next second's first line: allowed %v, suppressed %d; want true, 2", ok, suppressed)
	}
	if _, suppressed := b.allow(at.Add(time.Second)); suppressed != 0 {
		t.Errorf("suppressed reported twice: %d", suppressed)
	}
	// The zero value lets one line a second through.
	var one lineBudget
	if ok1, _ := one.allow(at); !ok1 {
		t.Error("the zero lineBudget refused the first line")
	}
	if ok2, _ := one.allow(at); ok2 {
		t.Error("the zero lineBudget let a second line through in one second")
	}
}
