package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"hotspot/internal/redistest"
	"hotspot/radius"
	"hotspot/session"
)

// With a spool, the RADIUS server's store is a session.Spooled: quota
// enforcement and closing sessions a NAS no longer has must work on it as
// on the store itself.
var (
	_ radius.EnforcementStore = (*session.Spooled)(nil)
	_ radius.SessionCloser    = (*session.Spooled)(nil)
)

// TestSpoolEndToEnd: while Redis is out of reach (its connections cut,
// new ones refused), the NAS's accounting records are answered from the
// spool; once Redis is back they are applied, and a device's allowance is
// what it would have been without the outage, also for records spooled
// before hotspotd was restarted.
func TestSpoolEndToEnd(t *testing.T) {
	rs := redistest.Start(t)
	proxy := redistest.NewProxy(t, rs.Addr)
	spool := t.TempDir()
	config := func(cfg map[string]any) {
		cfg["redis"] = map[string]any{"spool": spool}
		cfg["radius"].(map[string]any)["store_timeout"] = "500ms"
		cfg["radius"].(map[string]any)["fail_open"] = "10m"
	}
	d := startDaemon(t, []string{"REDIS_URL=" + proxy.URL()}, config)

	// The terms, the login, and 20 MiB before the outage.
	_, chapCreds := acceptTerms(t, d)
	common := fmt.Sprintf("Calling-Station-Id = %q\nCalled-Station-Id = \"00-0D-B9-00-00-01:FreeWiFi\"\nNAS-IP-Address = 127.0.0.1\nMessage-Authenticator = 0x00\n", phoneMAC)
	if out, ok := radclient(t, d.auth, "auth", secret, chapCreds+common); !ok || attr(out, "ChilliSpot-Max-Total-Octets") != strconv.Itoa(100*mib) {
		t.Fatalf("login: want Access-Accept with 100 MiB, got %s", out)
	}
	account := func(d *daemon, sid, status string, in, out int) {
		t.Helper()
		a := fmt.Sprintf("Acct-Session-Id = %q\nCalling-Station-Id = %q\nCalled-Station-Id = \"00-0D-B9-00-00-01:FreeWiFi\"\nNAS-IP-Address = 127.0.0.1\n"+
			"Acct-Status-Type = %s\nAcct-Input-Octets = %d\nAcct-Output-Octets = %d\n", sid, phoneMAC, status, in, out)
		if got, ok := radclient(t, d.acct, "acct", secret, a); !ok || !strings.Contains(got, "Accounting-Response") {
			t.Fatalf("%s %s: want Accounting-Response, got %s", sid, status, got)
		}
	}
	// left is the data allowance left, as a MAC authentication tells it.
	macAuth := fmt.Sprintf("User-Name = \"aa:bb:cc:dd:ee:01\"\nUser-Password = \"aabbccddee01\"\n%s", common)
	waitLeft := func(d *daemon, want int) {
		t.Helper()
		var out string
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
			out, _ = radclient(t, d.auth, "auth", secret, macAuth)
			if attr(out, "ChilliSpot-Max-Total-Octets") == strconv.Itoa(want) {
				return
			}
		}
		t.Fatalf("want %d bytes left, last MAC authentication: %s", want, out)
	}
	account(d, "s-0001", "Start", 0, 0)
	account(d, "s-0001", "Interim-Update", 10*mib, 10*mib)
	waitLeft(d, 80*mib)

	// The outage: records are answered, and wait in the spool.
	proxy.Cut()
	account(d, "s-0001", "Interim-Update", 20*mib, 20*mib)
	account(d, "s-0001", "Stop", 25*mib, 25*mib)
	if _, m := get(t, "http://"+d.admin+"/metrics"); !strings.Contains(m, "\nhotspot_spool_records 2\n") {
		t.Errorf("metrics during the outage:\n%s", grepLines(m, "hotspot_spool"))
	}
	// radius.fail_open: a login is let in unchecked, for 10 minutes, with
	// no data limit.
	if out, ok := radclient(t, d.auth, "auth", secret, macAuth); !ok || attr(out, "Session-Timeout") != "600" || attr(out, "ChilliSpot-Max-Total-Octets") != "" {
		t.Errorf("login during the outage: want Access-Accept, Session-Timeout 600, no data limit; got %s", out)
	}
	// Redis back: the spool is applied (every 5 s).
	proxy.Restore(t)
	waitLeft(d, 50*mib)
	_, m := get(t, "http://"+d.admin+"/metrics")
	for _, line := range []string{"hotspot_spool_records 0", "hotspot_spool_records_applied_total 2", "hotspot_spool_records_written_total 2"} {
		if !strings.Contains(m, "\n"+line+"\n") {
			t.Errorf("metrics after the outage lack %q:\n%s", line, grepLines(m, "hotspot_spool"))
		}
	}

	// Another outage, and hotspotd stops before Redis is back: the next
	// start applies what the spool kept.
	proxy.Cut()
	account(d, "s-0002", "Start", 0, 0)
	account(d, "s-0002", "Interim-Update", 5*mib, 5*mib)
	d.stop(t)
	if !strings.Contains(d.stderr.String(), "accounting records left in the spool") {
		t.Errorf("no word at shutdown of the records left in the spool:\n%s", d.stderr)
	}
	proxy.Restore(t)
	d = startDaemon(t, []string{"REDIS_URL=" + proxy.URL()}, config)
	waitLeft(d, 40*mib)
	d.stop(t)
}
