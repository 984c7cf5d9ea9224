package radius

import (
	"context"
	"crypto/md5"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"

	"hotspot/session"
)

const testSecret = "testing123-secret"

// The devices of the tests.
var (
	macA = session.MAC{0xaa, 0xbb, 0xcc, 0x0d, 0xee, 0xff}
	macB = session.MAC{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}
)

// fakeStore decides like the real store on a handful of fixed grants and
// remembered devices, and records what it was asked. The real store runs
// against Redis in package session's tests.
type fakeStore struct {
	mu         sync.Mutex
	grants     map[string]string // username → password
	remembered map[session.MAC]bool
	decision   session.Decision // returned on accept
	err        error            // returned by every call when set

	// entered, when set, receives once per Authorize before it waits for
	// release (when set): tests hold a request in progress with it.
	entered chan struct{}
	release chan struct{}
	// left, when set, receives how long each Authorize had before its
	// context's deadline (-1 for none).
	left chan time.Duration

	authCalls  []session.AuthRequest
	acctCalls  []session.AcctRecord
	closeCalls []string
	closeDelay []time.Duration
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		grants: map[string]string{
			"hs-user": "s3cret-pass",
			"hs-long": "a-password-longer-than-sixteen-octets",
		},
		remembered: map[session.MAC]bool{macA: true},
		decision: session.Decision{
			Policy: session.Policy{
				IdleTimeout:     10 * time.Minute,
				InterimInterval: 5 * time.Minute,
				BandwidthUp:     2_000_000,
				BandwidthDown:   10_000_000,
			},
			Remaining:      5<<30 + 12345,
			SessionTimeout: 2 * time.Hour,
		},
	}
}

var errStoreDown = fmt.Errorf("%w: connection refused", session.ErrUnavailable)

func (f *fakeStore) Authorize(ctx context.Context, r session.AuthRequest) (session.Decision, error) {
	if f.left != nil {
		d := time.Duration(-1)
		if dl, ok := ctx.Deadline(); ok {
			d = time.Until(dl)
		}
		f.left <- d
	}
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.release != nil {
		select {
		case <-f.release:
		case <-ctx.Done():
			return session.Decision{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authCalls = append(f.authCalls, r)
	if f.err != nil {
		return session.Decision{}, f.err
	}
	d := f.decision
	switch {
	case r.MACAuth && !f.remembered[r.MAC]:
		d.Reason = session.RejectNotKnown
	case !r.MACAuth:
		pw, ok := f.grants[r.Username]
		if !ok {
			d.Reason = session.RejectNoGrant
		} else if r.Credentials == nil || !r.Credentials.Match(pw) {
			d.Reason = session.RejectPassword
		}
	}
	return d, nil
}

func (f *fakeStore) Account(ctx context.Context, r session.AcctRecord) (session.Usage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acctCalls = append(f.acctCalls, r)
	if f.err != nil {
		return session.Usage{}, f.err
	}
	return session.Usage{Input: int64(r.InputOctets), Output: int64(r.OutputOctets)}, nil
}

func (f *fakeStore) CloseNAS(ctx context.Context, nas string, nasIP netip.Addr, delay time.Duration) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closeCalls = append(f.closeCalls, nas)
	f.closeDelay = append(f.closeDelay, delay)
	if f.err != nil {
		return 0, f.err
	}
	return 3, nil
}

func (f *fakeStore) MACHash(m session.MAC) string { return "hash-" + m.String()[12:] }

func (f *fakeStore) PolicyFor(session.Where) session.Policy { return f.decision.Policy }

func (f *fakeStore) setErr(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

func (f *fakeStore) calls() (auth []session.AuthRequest, acct []session.AcctRecord, closed []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]session.AuthRequest(nil), f.authCalls...),
		append([]session.AcctRecord(nil), f.acctCalls...),
		append([]string(nil), f.closeCalls...)
}

// testNAS is the NAS all test packets come from.
func testNAS(kind session.NASKind, requireMA bool) session.NAS {
	return session.NAS{
		Name:                        "chilli-1",
		Networks:                    []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Secret:                      testSecret,
		Kind:                        kind,
		UAMSecret:                   "uamsecret",
		RequireMessageAuthenticator: &requireMA,
	}
}

type testServer struct {
	*Server
	store     *fakeStore
	reg       *prometheus.Registry
	authAddr  netip.AddrPort
	acctAddr  netip.AddrPort
	client    *net.UDPConn
	nextID    byte
	serveDone chan error
	cancel    context.CancelFunc
}

type serverOption func(*Config, *[]session.NAS)

func withNAS(n session.NAS) serverOption {
	return func(_ *Config, ns *[]session.NAS) { *ns = []session.NAS{n} }
}

func withConfig(f func(*Config)) serverOption {
	return func(c *Config, _ *[]session.NAS) { f(c) }
}

// newServer returns a server for one CoovaChilli NAS on 127.0.0.1 that
// requires Message-Authenticator, with a fake store. One worker keeps
// packets in arrival order, which the no-reply tests rely on.
func newServer(t *testing.T, opts ...serverOption) *testServer {
	t.Helper()
	cfg := Config{AuthListen: "127.0.0.1:0", AcctListen: "127.0.0.1:0", Workers: 1}
	nases := []session.NAS{testNAS(session.KindCoovaChilli, true)}
	for _, o := range opts {
		o(&cfg, &nases)
	}
	table, err := session.NewNASTable(nases)
	if err != nil {
		t.Fatal(err)
	}
	store := newFakeStore()
	reg := prometheus.NewRegistry()
	s, err := New(cfg, table, store, testLogger(t), reg)
	if err != nil {
		t.Fatal(err)
	}
	return &testServer{Server: s, store: store, reg: reg}
}

// start binds the server on loopback and serves until the test ends.
func (ts *testServer) start(t *testing.T) *testServer {
	t.Helper()
	auth, acct, err := ts.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ts.authAddr = auth.LocalAddr().(*net.UDPAddr).AddrPort()
	ts.acctAddr = acct.LocalAddr().(*net.UDPAddr).AddrPort()
	ctx, cancel := context.WithCancel(t.Context())
	ts.cancel = cancel
	ts.serveDone = make(chan error, 1)
	go func() { ts.serveDone <- ts.Serve(ctx, auth, acct) }()
	ts.client = dialFrom(t, "127.0.0.1")
	t.Cleanup(func() {
		cancel()
		if err := <-ts.serveDone; err != nil {
			t.Errorf("Serve() = %v, want nil", err)
		}
	})
	return ts
}

func dialFrom(t *testing.T, ip string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// replyTimeout bounds every wait for a reply that must come; it is never
// waited out in a passing test.
const replyTimeout = 5 * time.Second

func (ts *testServer) send(t *testing.T, c *net.UDPConn, to netip.AddrPort, pkt []byte) {
	t.Helper()
	if _, err := c.WriteToUDPAddrPort(pkt, to); err != nil {
		t.Fatal(err)
	}
}

func readReply(t *testing.T, c *net.UDPConn) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(replyTimeout))
	buf := make([]byte, 4096)
	n, _, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("no reply: %v", err)
	}
	return buf[:n]
}

// exchange sends pkt and returns the reply, which must come.
func (ts *testServer) exchange(t *testing.T, to netip.AddrPort, pkt []byte) []byte {
	t.Helper()
	ts.send(t, ts.client, to, pkt)
	return readReply(t, ts.client)
}

// expectNoReply sends pkt, then a Status-Server probe to the same port,
// and checks that the first reply is the probe's: with one worker, packets
// are handled in order, so pkt was dropped. No timeout is waited out.
func (ts *testServer) expectNoReply(t *testing.T, to netip.AddrPort, pkt []byte) {
	t.Helper()
	ts.send(t, ts.client, to, pkt)
	probe := radius.New(radius.CodeStatusServer, []byte(testSecret))
	probe.Identifier = pkt[1] + 1
	probeWire := mustEncodeRequest(t, probe)
	ts.send(t, ts.client, to, probeWire)
	got := readReply(t, ts.client)
	if got[1] != probe.Identifier || !radius.IsAuthenticResponse(got, probeWire, []byte(testSecret)) {
		t.Fatalf("got a reply (code %d, id %d) to a packet that must be dropped", got[0], got[1])
	}
}

func (ts *testServer) dropped(reason dropReason) float64 {
	return counterValue(ts.m.drops[reason])
}

// counterValue reads a counter without prometheus/testutil, which would
// pull in a diff module just for this.
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// checkReply verifies that reply answers req: authentic, Message-
// Authenticator first and right, and of the wanted code.
func checkReply(t *testing.T, reply, req []byte, want radius.Code) *radius.Packet {
	t.Helper()
	p, err := radius.Parse(reply, []byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	if p.Code != want {
		t.Fatalf("reply code = %v (%q), want %v", p.Code, rfc2865.ReplyMessage_GetString(p), want)
	}
	checkReplyCode(t, reply, req, want)
	return p
}

func mustEncodeRequest(t testing.TB, p *radius.Packet) []byte {
	t.Helper()
	b, err := encodeRequest(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Request builders. Each returns a parsed packet for the tests to change
// before encoding.

func newAccessRequest(t testing.TB, user, mac string) *radius.Packet {
	t.Helper()
	p := radius.New(radius.CodeAccessRequest, []byte(testSecret))
	if user != "" {
		rfc2865.UserName_SetString(p, user)
	}
	if mac != "" {
		rfc2865.CallingStationID_SetString(p, mac)
	}
	rfc2865.NASIdentifier_SetString(p, "chilli-1")
	return p
}

func papRequest(t testing.TB, user, password, mac string) *radius.Packet {
	t.Helper()
	p := newAccessRequest(t, user, mac)
	if err := rfc2865.UserPassword_SetString(p, password); err != nil {
		t.Fatal(err)
	}
	return p
}

// chapRequest computes the CHAP-Password for password; with a challenge
// it adds a CHAP-Challenge, else the Request Authenticator is the
// challenge.
func chapRequest(t testing.TB, user, password, mac string, challenge []byte) *radius.Packet {
	t.Helper()
	p := newAccessRequest(t, user, mac)
	ch := p.Authenticator[:]
	if challenge != nil {
		rfc2865.CHAPChallenge_Set(p, challenge)
		ch = challenge
	}
	rfc2865.CHAPPassword_Set(p, chapPassword(0x42, password, ch))
	return p
}

// chapPassword is written out here rather than taken from chapResponse,
// so that a mistake there cannot hide itself.
func chapPassword(ident byte, password string, challenge []byte) []byte {
	sum := md5.Sum(append(append([]byte{ident}, password...), challenge...))
	return append([]byte{ident}, sum[:]...)
}

func acctRequest(t testing.TB, status rfc2866.AcctStatusType, mac, sessionID string) *radius.Packet {
	t.Helper()
	p := radius.New(radius.CodeAccountingRequest, []byte(testSecret))
	rfc2866.AcctStatusType_Set(p, status)
	if mac != "" {
		rfc2865.CallingStationID_SetString(p, mac)
	}
	if sessionID != "" {
		rfc2866.AcctSessionID_SetString(p, sessionID)
	}
	return p
}

func setCounters(p *radius.Packet, in, out uint64) {
	rfc2866.AcctInputOctets_Set(p, rfc2866.AcctInputOctets(uint32(in)))
	rfc2869.AcctInputGigawords_Set(p, rfc2869.AcctInputGigawords(uint32(in>>32)))
	rfc2866.AcctOutputOctets_Set(p, rfc2866.AcctOutputOctets(uint32(out)))
	rfc2869.AcctOutputGigawords_Set(p, rfc2869.AcctOutputGigawords(uint32(out>>32)))
}

// testLogger writes the server's log into the test's output at debug
// level, so that every log line is exercised and a failing test shows it.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}
