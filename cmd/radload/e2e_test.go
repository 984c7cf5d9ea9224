package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"hotspot/radius"
	"hotspot/session"
)

// TestAgainstOurServer loads our RADIUS server, on the real store over an
// in-process Redis, with every scenario for a moment: it must accept every
// request (which it does only if the Message-Authenticator, User-Password,
// CHAP-Password and Request Authenticators that radload builds are right),
// and after the accounting scenarios its ledger must hold exactly what
// was sent.
func TestAgainstOurServer(t *testing.T) {
	mr := miniredis.RunT(t)
	yes := true
	cfg := &hotspotConfig{}
	cfg.Redis.URL = "redis://" + mr.Addr() + "/0"
	cfg.Devices = session.Config{MACHashKey: "radload-test-hash-key", TermsVersion: "t1"}
	// Two NASes on two loopback addresses, so that the mixed scenario
	// roams between them.
	cfg.NAS = []session.NAS{
		{Name: "nas-a", Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Secret: "secret-of-nas-a!",
			Kind: session.KindCoovaChilli, UAMSecret: "u", RequireMessageAuthenticator: &yes},
		{Name: "nas-b", Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}, Secret: "secret-of-nas-b!",
			Kind: session.KindMikrotik, RequireMessageAuthenticator: &yes},
	}
	store, rdb, err := openStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	table, err := session.NewNASTable(cfg.NAS)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := radius.New(radius.Config{AuthListen: "127.0.0.1:0", AcctListen: "127.0.0.1:0"}, table, store,
		slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	auth, acct, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, auth, acct) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve() = %v", err)
		}
	})
	cfg.RADIUS.AuthListen = auth.LocalAddr().(*net.UDPAddr).String()
	cfg.RADIUS.AcctListen = acct.LocalAddr().(*net.UDPAddr).String()
	tgt, err := targetFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := tgt.nases[1].src.String(); got != "127.0.0.2" {
		t.Fatalf("nas-b sends from %s, want 127.0.0.2", got)
	}
	devs, err := setupGrants(ctx, store, tgt.nases, 12, 4)
	if err != nil {
		t.Fatal(err)
	}
	// The devices file round trip.
	path := t.TempDir() + "/devices.csv"
	if err := writeDevices(path, tgt.nases, devs); err != nil {
		t.Fatal(err)
	}
	if devs, err = readDevices(path, tgt.nases); err != nil {
		t.Fatal(err)
	}
	if len(devs) != 12 || devs[5].nas != 1 || devs[5].password == "" {
		t.Fatalf("devices read back: %d, device 5 = %+v", len(devs), devs[5])
	}

	for _, tt := range []struct {
		name string
		sc   scenarioConfig
		lc   loadConfig
		want int // answered requests (mixed: 2 logins, 2 starts, 2 interims, 2 stops a device)
	}{
		{"PAP", scenarioConfig{name: scenarioAuth, rounds: 2}, loadConfig{}, 24},
		{"CHAP", scenarioConfig{name: scenarioAuth, rounds: 1}, loadConfig{chap: true}, 12},
		{"MAC", scenarioConfig{name: scenarioMACAuth, rounds: 1}, loadConfig{}, 12},
		{"acct", scenarioConfig{name: scenarioAcct, rounds: 1, interims: 2, stop: true}, loadConfig{}, 48},
		{"mixed", scenarioConfig{name: scenarioMixed, minutes: 4, roam: 2}, loadConfig{dupRate: 0.3}, 12 * 8},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.sc.aps = 20
			tt.lc.concurrency, tt.lc.timeout, tt.lc.retries = 3, 5*time.Second, 1
			before, err := readLedger(ctx, rdb)
			if err != nil {
				t.Fatal(err)
			}
			r, err := newRun(tgt, devs, tt.lc, tt.sc)
			if err != nil {
				t.Fatal(err)
			}
			var phases []int32
			r.execute(ctx, nil, func(p int32) { phases = append(phases, p) })
			var c counts
			for _, w := range r.workers {
				c.add(&w.counts)
				if w.err != nil {
					t.Errorf("worker: %v", w.err)
				}
			}
			if int(c.Answered) != tt.want || c.Rejects != 0 || c.BadReplies != 0 || c.Failed != 0 {
				t.Errorf("counts = %+v, want %d answered, no rejects, bad replies or failures", c, tt.want)
			}
			if len(phases) != 2 || phases[0] != phaseMeasure || phases[1] != phaseDone {
				t.Errorf("phases = %v, want measure, done", phases)
			}
			after, err := readLedger(ctx, rdb)
			if err != nil {
				t.Fatal(err)
			}
			lc := checkLedger(devs, store.MACHash, before, after, r.ledger)
			if !lc.Equal {
				t.Errorf("ledger check = %+v, want equal", lc)
			}
			if tt.sc.name == scenarioMixed && (lc.SentIn == 0 || c.Retransmits == 0 || c.SameReply != c.Retransmits || c.Stale == 0) {
				t.Errorf("mixed sent %d octets in, %d retransmits (%d answered alike), %d stale interims; want some of each, all retransmits answered alike",
					lc.SentIn, c.Retransmits, c.SameReply, c.Stale)
			}
		})
	}
}
