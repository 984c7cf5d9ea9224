package radius

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/vendors/mikrotik"

	"hotspot/internal/nastest"
	"hotspot/session"
)

// enforcingStore is a fake store whose accounting always asks for
// enforcement, with the sessions to act on given by the test.
type enforcingStore struct {
	*fakeStore
	targets  chan []session.Enforcement // one claim's answer each
	finished chan finishedEnforcement
}

type finishedEnforcement struct {
	e   session.Enforcement
	res session.DynAuthResult
	err error
}

func (f *enforcingStore) Account(ctx context.Context, r session.AcctRecord) (session.Usage, error) {
	u, err := f.fakeStore.Account(ctx, r)
	u.Limit, u.Enforce = 100, true
	return u, err
}

func (f *enforcingStore) ClaimEnforcement(ctx context.Context, mac session.MAC) ([]session.Enforcement, error) {
	select {
	case t := <-f.targets:
		return t, nil
	default:
		return nil, nil
	}
}

func (f *enforcingStore) FinishEnforcement(ctx context.Context, e session.Enforcement, res session.DynAuthResult, err error) error {
	f.finished <- finishedEnforcement{e, res, err}
	return nil
}

// TestEnforcement: an interim that puts a device over its quota gets its
// Accounting-Response at once, and the NASes holding the device's sessions
// get a Disconnect-Request and a CoA-Request (rendered for a MikroTik),
// whose ACKs are recorded.
func TestEnforcement(t *testing.T) {
	nasA := nastest.Start(t, "127.0.0.1", ackWith(t, radius.CodeDisconnectACK, testSecret))
	nasB := nastest.Start(t, "127.0.0.2", ackWith(t, radius.CodeCoAACK, "mikrotik-secret-b"))
	a := testNAS(session.KindCoovaChilli, true)
	a.CoAPort = nasA.Port
	b := session.NAS{Name: "mt-b", Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}, Secret: "mikrotik-secret-b", Kind: session.KindMikrotik, CoAPort: nasB.Port}
	table, err := session.NewNASTable([]session.NAS{a, b})
	if err != nil {
		t.Fatal(err)
	}
	store := &enforcingStore{fakeStore: newFakeStore(), targets: make(chan []session.Enforcement, 1), finished: make(chan finishedEnforcement, 2)}
	sessA, sessB := testSession, testSession
	sessB.NAS, sessB.NASIP, sessB.AcctSessionID = "mt-b", "127.0.0.2", "mt-session"
	store.targets <- []session.Enforcement{
		{Session: sessA, Action: session.ActionDisconnect},
		{Session: sessB, Action: session.ActionThrottle, Down: 1e6, Up: 256e3},
	}
	reg := prometheus.NewRegistry()
	s, err := New(Config{AuthListen: "127.0.0.1:0", AcctListen: "127.0.0.1:0", Workers: 1}, table, store, testLogger(t), reg)
	if err != nil {
		t.Fatal(err)
	}
	ts := (&testServer{Server: s, store: store.fakeStore, reg: reg}).start(t)

	p := acctRequest(t, rfc2866.AcctStatusType_Value_InterimUpdate, "aa:bb:cc:0d:ee:ff", "5f3c0a1b00000001")
	setCounters(p, 50, 60)
	wire := mustEncodeRequest(t, p)
	checkReply(t, ts.exchange(t, ts.acctAddr, wire), wire, radius.CodeAccountingResponse)

	checkDynAuthRequest(t, nasA.Next(t, replyTimeout).Raw, radius.CodeDisconnectRequest, testSecret)
	coa := checkDynAuthRequest(t, nasB.Next(t, replyTimeout).Raw, radius.CodeCoARequest, "mikrotik-secret-b")
	if got := mikrotik.MikrotikRateLimit_GetString(coa); got != "256k/1000k" {
		t.Errorf("CoA-Request Mikrotik-Rate-Limit = %q, want 256k/1000k", got)
	}
	if got := rfc2866.AcctSessionID_GetString(coa); got != "mt-session" {
		t.Errorf("CoA-Request Acct-Session-Id = %q, want mt-session", got)
	}
	for range 2 {
		select {
		case f := <-store.finished:
			if f.err != nil || !f.res.ACK {
				t.Errorf("FinishEnforcement(%s on %s) = %+v, %v, want ACK", f.e.Action, f.e.Session.NAS, f.res, f.err)
			}
		case <-time.After(replyTimeout):
			t.Fatal("enforcement outcome not recorded")
		}
	}
	if got := counterValue(s.dyn.sent.WithLabelValues(dynCoA, "mt-b", dynACK)); got != 1 {
		t.Errorf("hotspot_radius_coa_total{coa,mt-b,ack} = %v, want 1", got)
	}
}

// TestEnforcementQueue: a device is queued once however many interims ask,
// and a full queue drops (and counts) rather than blocks accounting.
func TestEnforcementQueue(t *testing.T) {
	e := newEnforcer()
	e.trigger(macA)
	e.trigger(macA)
	if q, c := counterValue(e.queuedC), counterValue(e.coalesced); q != 1 || c != 1 {
		t.Errorf("two triggers of one device: queued %v, coalesced %v, want 1, 1", q, c)
	}
	for i := range enforceQueue + 10 {
		e.trigger(session.MAC{2, 0, 0, byte(i >> 16), byte(i >> 8), byte(i)})
	}
	if q, d := counterValue(e.queuedC), counterValue(e.overflow); q != enforceQueue || d != 11 {
		t.Errorf("overfull queue: queued %v, dropped %v, want %d, 11", q, d, enforceQueue)
	}
	ctx, cancel := context.WithCancel(t.Context())
	if mac, ok := e.next(ctx); !ok || mac != macA {
		t.Errorf("next = %v, %v, want %v first", mac, ok, macA)
	}
	// Taken off the queue, the device can be queued again, in the place
	// it left.
	e.trigger(macA)
	if q := counterValue(e.queuedC); q != enforceQueue+1 {
		t.Errorf("re-trigger after next: queued %v, want %d", q, enforceQueue+1)
	}
	cancel()
	for {
		if _, ok := e.next(ctx); !ok {
			break
		}
	}
}

// TestThrottledClass: an accept at the throttled rate carries the Class
// the NAS echoes, and the echoed Class marks the session's records.
func TestThrottledClass(t *testing.T) {
	ts := newServer(t).start(t)
	ts.store.mu.Lock()
	ts.store.decision.Throttled = true
	ts.store.mu.Unlock()
	wire := mustEncodeRequest(t, papRequest(t, "aa:bb:cc:0d:ee:ff", "", "aa:bb:cc:0d:ee:ff"))
	reply := checkReply(t, ts.exchange(t, ts.authAddr, wire), wire, radius.CodeAccessAccept)
	if got := rfc2865.Class_GetString(reply); got != classThrottled {
		t.Errorf("throttled Access-Accept Class = %q, want %q", got, classThrottled)
	}
	p := acctRequest(t, rfc2866.AcctStatusType_Value_Start, "aa:bb:cc:0d:ee:ff", "s-1")
	rfc2865.Class_AddString(p, "something else")
	rfc2865.Class_AddString(p, classThrottled)
	wire = mustEncodeRequest(t, p)
	checkReply(t, ts.exchange(t, ts.acctAddr, wire), wire, radius.CodeAccountingResponse)
	_, acct, _ := ts.store.calls()
	if len(acct) != 1 || !acct[0].Throttled {
		t.Errorf("Account(%+v), want Throttled", acct)
	}
}

// TestAccessRequestWhere: the SSID and the AP of an Access-Request reach
// the store, which chooses the device's policy by them.
func TestAccessRequestWhere(t *testing.T) {
	ts := newServer(t).start(t)
	p := papRequest(t, "aa:bb:cc:0d:ee:ff", "", "aa:bb:cc:0d:ee:ff")
	rfc2865.CalledStationID_SetString(p, "00-11-22-33-44-55:Stadtbibliothek")
	wire := mustEncodeRequest(t, p)
	checkReply(t, ts.exchange(t, ts.authAddr, wire), wire, radius.CodeAccessAccept)
	auth, _, _ := ts.store.calls()
	if len(auth) != 1 || auth[0].SSID != "Stadtbibliothek" || auth[0].AP != "00-11-22-33-44-55" {
		t.Errorf("Authorize(%+v), want SSID Stadtbibliothek at AP 00-11-22-33-44-55", auth)
	}
}
