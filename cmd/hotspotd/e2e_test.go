package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/net/html"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"hotspot/internal/redistest"
	"hotspot/portal"
)

// daemonBin is the hotspotd binary under test, built once by TestMain.
var daemonBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hotspotd-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	daemonBin = filepath.Join(dir, "hotspotd")
	out, err := exec.Command("go", "build", "-o", daemonBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build hotspotd: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is a running hotspotd.
type daemon struct {
	cmd                       *exec.Cmd
	portal, admin, auth, acct string
	exited                    chan error
	stderr                    *bytes.Buffer
}

func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startDaemon starts hotspotd with the demo config, on free ports, with
// edit applied to the config, and waits until it serves.
func startDaemon(t *testing.T, env []string, edit func(cfg map[string]any)) *daemon {
	t.Helper()
	d, ready := launchDaemon(t, env, edit)
	select {
	case <-ready:
	case err := <-d.exited:
		t.Fatalf("hotspotd exited before serving: %v\n%s", err, d.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("hotspotd did not start in 30s\n%s", d.stderr)
	}
	return d
}

// demoConfig returns the demo config on free ports, with edit applied,
// and a daemon that names those ports.
func demoConfig(t *testing.T, edit func(cfg map[string]any)) (*daemon, []byte) {
	t.Helper()
	raw, err := os.ReadFile("../../deploy/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	d := &daemon{
		portal: fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp")),
		admin:  fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp")),
		auth:   fmt.Sprintf("127.0.0.1:%d", freePort(t, "udp")),
		acct:   fmt.Sprintf("127.0.0.1:%d", freePort(t, "udp")),
		exited: make(chan error, 1),
		stderr: new(bytes.Buffer),
	}
	cfg["portal"].(map[string]any)["listen"] = d.portal
	cfg["admin"].(map[string]any)["listen"] = d.admin
	cfg["radius"].(map[string]any)["auth_listen"] = d.auth
	cfg["radius"].(map[string]any)["acct_listen"] = d.acct
	cfg["log"].(map[string]any)["format"] = "json"
	if edit != nil {
		edit(cfg)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d, out
}

// launchDaemon starts hotspotd as startDaemon does, and returns at once
// with a channel closed once it serves.
func launchDaemon(t *testing.T, env []string, edit func(cfg map[string]any)) (*daemon, <-chan struct{}) {
	t.Helper()
	d, out := demoConfig(t, edit)
	path := filepath.Join(t.TempDir(), "hotspot.yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command(daemonBin, "-config", path)
	d.cmd.Env = append(os.Environ(), env...)
	pipe, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pipe)
		once := false
		for sc.Scan() {
			d.stderr.WriteString(sc.Text() + "\n")
			if !once && strings.Contains(sc.Text(), "hotspotd serving") {
				once = true
				close(ready)
			}
		}
		d.exited <- d.cmd.Wait()
	}()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("hotspotd log:\n%s", d.stderr)
		}
	})
	return d, ready
}

// stop sends SIGTERM and expects a clean exit.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exited:
		if err != nil {
			t.Errorf("hotspotd exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("hotspotd did not stop within 20s of SIGTERM")
	}
}

// radclient runs FreeRADIUS's radclient, an independent RADIUS
// implementation, and returns what it printed.
func radclient(t *testing.T, addr, kind, secret, attrs string) (string, bool) {
	t.Helper()
	bin, err := exec.LookPath("radclient")
	if err != nil {
		t.Fatalf("radclient not found (apt-get install -y freeradius-utils, or make test as root): %v", err)
	}
	cmd := exec.Command(bin, "-x", "-r", "1", "-t", "2", addr, kind, secret)
	cmd.Stdin = strings.NewReader(attrs)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// attr returns the value radclient printed for attribute name.
func attr(out, name string) string {
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(name) + ` = "?([^"\n]*)"?$`).FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return m[1]
}

// formFields returns the action and the fields of the first form in page.
func formFields(t *testing.T, page string) (string, url.Values) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(page))
	var action string
	vals := url.Values{}
	inForm := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			if action == "" {
				t.Fatalf("no form in page:\n%s", page)
			}
			return action, vals
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			get := func(k string) string {
				for _, a := range tok.Attr {
					if a.Key == k {
						return a.Val
					}
				}
				return ""
			}
			switch tok.Data {
			case "form":
				if action == "" {
					action, inForm = get("action"), true
				}
			case "input", "button":
				if inForm && get("name") != "" {
					vals.Set(get("name"), get("value"))
				}
			}
		case html.EndTagToken:
			if z.Token().Data == "form" && inForm {
				return action, vals
			}
		}
	}
}

var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func get(t *testing.T, u string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

const (
	uamSecret = "uamsecret"
	secret    = "testing123"
	phoneMAC  = "AA-BB-CC-DD-EE-01"
	otherMAC  = "AA-BB-CC-DD-EE-02"
	chalHex   = "0123456789abcdef0123456789abcdef"
	mib       = 1 << 20
)

func redirectURL(d *daemon, extra string) string {
	q := "res=notyet&uamip=10.1.0.1&uamport=3990&challenge=" + chalHex +
		"&called=00-0D-B9-00-00-01&mac=" + phoneMAC + "&ip=10.1.0.5&ssid=FreeWiFi&nasid=demo&sessionid=5f3c0a1b00000001" +
		"&userurl=" + url.QueryEscape("http://example.org/news?id=1") + extra
	return portal.SignRedirect("http://"+d.portal+"/?"+q, uamSecret)
}

// TestEndToEnd drives the whole flow against the real binary with the demo
// config on a real Redis, once per login-back method: a CoovaChilli
// redirect, the terms, the logon URL, RADIUS through radclient, accounting
// with retransmits and out-of-order interims, MAC auth from another AP.
func TestEndToEnd(t *testing.T) {
	for _, login := range []string{"chap", "pap"} {
		t.Run(login, func(t *testing.T) { testEndToEnd(t, login) })
	}
}

func testEndToEnd(t *testing.T, login string) {
	rs := redistest.Start(t)
	rdb := rs.Client(t)
	ctx := context.Background()
	d := startDaemon(t, []string{"REDIS_URL=" + rs.URL()}, func(cfg map[string]any) {
		cfg["nas"].([]any)[0].(map[string]any)["login"] = login
	})

	// The demo contract's admin endpoint.
	if resp, _ := get(t, "http://"+d.admin+"/healthz"); resp.StatusCode != 200 {
		t.Fatalf("GET /healthz = %d, want 200", resp.StatusCode)
	}

	// A forged redirect gets a clear 4xx page and stores nothing.
	forged := strings.Replace(redirectURL(d, ""), "mac="+phoneMAC, "mac="+otherMAC, 1)
	if resp, body := get(t, forged, "Accept-Language", "de-DE"); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "<html") {
		t.Errorf("GET forged redirect = %d, want 403 with a page", resp.StatusCode)
	}
	if keys := rdb.Keys(ctx, "*").Val(); len(keys) != 1 || keys[0] != "hotspot:layout" {
		t.Errorf("after a forged redirect Redis holds %q, want only the layout record", keys)
	}

	// The terms page, in German.
	resp, page := get(t, redirectURL(d, ""), "Accept-Language", "de-DE,de;q=0.9,en;q=0.5")
	if resp.StatusCode != 200 || !strings.Contains(page, `lang="de"`) {
		t.Fatalf("GET redirect = %d (lang de: %v), want 200 and a German page", resp.StatusCode, strings.Contains(page, `lang="de"`))
	}
	if _, en := get(t, redirectURL(d, ""), "Accept-Language", "en-GB"); !strings.Contains(en, `lang="en"`) {
		t.Errorf("terms page for Accept-Language en-GB is not English")
	}
	action, form := formFields(t, page)
	actionURL, err := url.Parse(action)
	if err != nil {
		t.Fatal(err)
	}
	accept := (&url.URL{Scheme: "http", Host: d.portal}).ResolveReference(actionURL)
	resp, err = noRedirect.PostForm(accept.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST %s = %d, want 303", accept, resp.StatusCode)
	}
	logon, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || logon.Host != "10.1.0.1:3990" || logon.Path != "/logon" {
		t.Fatalf("Location = %q, want http://10.1.0.1:3990/logon?…", resp.Header.Get("Location"))
	}
	if got := logon.Query().Get("userurl"); got != "http://example.org/news?id=1" {
		t.Errorf("logon userurl = %q, want the original", got)
	}
	user := logon.Query().Get("username")
	chal, _ := hex.DecodeString(chalHex)
	h := md5.Sum(append(chal, uamSecret...))

	// CoovaChilli turns the logon URL into an Access-Request; radclient
	// stands in for it.
	common := fmt.Sprintf("Calling-Station-Id = %q\nCalled-Station-Id = \"00-0D-B9-00-00-01:FreeWiFi\"\nNAS-IP-Address = 127.0.0.1\nMessage-Authenticator = 0x00\n", phoneMAC)
	var creds, password string
	switch login {
	case "chap":
		resp := logon.Query().Get("response")
		if len(resp) != 32 {
			t.Fatalf("logon response = %q, want 32 hex digits", resp)
		}
		creds = fmt.Sprintf("User-Name = %q\nCHAP-Challenge = 0x%x\nCHAP-Password = 0x00%s\n", user, h, resp)
	case "pap":
		enc, err := hex.DecodeString(logon.Query().Get("password"))
		if err != nil || len(enc) != 16 {
			t.Fatalf("logon password = %q, want 32 hex digits", logon.Query().Get("password"))
		}
		for i := range enc {
			enc[i] ^= h[i]
		}
		password = strings.TrimRight(string(enc), "\x00")
		creds = fmt.Sprintf("User-Name = %q\nUser-Password = %q\n", user, password)
	}
	out, ok := radclient(t, d.auth, "auth", secret, creds+common)
	if !ok || !strings.Contains(out, "Access-Accept") {
		t.Fatalf("radclient %s Access-Request: %s", login, out)
	}
	stOK := func(v string) bool { n, err := strconv.Atoi(v); return err == nil && n > 0 && n <= 3600 }
	want := map[string]string{
		"Idle-Timeout":                  "600",
		"Acct-Interim-Interval":         "300",
		"ChilliSpot-Bandwidth-Max-Up":   "2000",
		"ChilliSpot-Bandwidth-Max-Down": "10000",
		"WISPr-Bandwidth-Max-Up":        "2000000",
		"WISPr-Bandwidth-Max-Down":      "10000000",
		"ChilliSpot-Max-Total-Octets":   strconv.Itoa(100 * mib),
	}
	for k, v := range want {
		if got := attr(out, k); got != v {
			t.Errorf("Access-Accept %s = %q, want %q\n%s", k, got, v, out)
		}
	}
	if got := attr(out, "Session-Timeout"); !stOK(got) {
		t.Errorf("Access-Accept Session-Timeout = %q, want 1..3600", got)
	}
	if login == "pap" {
		// radclient computes CHAP from the clear password itself, with the
		// Request Authenticator as the challenge.
		out, ok := radclient(t, d.auth, "auth", secret, fmt.Sprintf("User-Name = %q\nCHAP-Password = %q\n", user, password)+common)
		if !ok || !strings.Contains(out, "Access-Accept") {
			t.Errorf("radclient CHAP (authenticator challenge): %s", out)
		}
	}

	// The same credentials from another device are refused.
	out, _ = radclient(t, d.auth, "auth", secret, creds+strings.Replace(common, phoneMAC, otherMAC, 1))
	if !strings.Contains(out, "Access-Reject") {
		t.Errorf("credentials from another MAC: want Access-Reject, got %s", out)
	}
	// No Message-Authenticator: no reply at all (BlastRADIUS).
	if reply := exchange(t, d.auth, withoutMA(t, creds)); reply != nil {
		t.Errorf("Access-Request without Message-Authenticator got a reply (code %v), want none", reply[0])
	}
	// A wrong shared secret: no reply.
	if out, ok := radclient(t, d.auth, "auth", "wrong-secret", creds+common); ok || strings.Contains(out, "Received") {
		t.Errorf("wrong secret: want no reply, got %s", out)
	}

	// Accounting: Start, Interim (retransmitted byte for byte), a late
	// out-of-order Interim, and a stale retransmit.
	acctBase := fmt.Sprintf("User-Name = %q\nAcct-Session-Id = \"5f3c0a1b00000001\"\nCalling-Station-Id = %q\nCalled-Station-Id = \"00-0D-B9-00-00-01:FreeWiFi\"\nNAS-IP-Address = 127.0.0.1\nFramed-IP-Address = 10.1.0.5\n", user, phoneMAC)
	for _, a := range []string{
		"Acct-Status-Type = Start\n",
		fmt.Sprintf("Acct-Status-Type = Interim-Update\nAcct-Input-Octets = %d\nAcct-Output-Octets = %d\nAcct-Session-Time = 600\n", 20*mib, 40*mib),
	} {
		if out, ok := radclient(t, d.acct, "acct", secret, acctBase+a); !ok || !strings.Contains(out, "Accounting-Response") {
			t.Fatalf("radclient accounting: %s", out)
		}
	}
	interim := acctPacket(t, user, 15*mib, 30*mib) // older counters, sent late
	first := exchange(t, d.acct, interim)
	again := exchange(t, d.acct, interim)
	if first == nil || !bytes.Equal(first, again) {
		t.Errorf("retransmitted Accounting-Request: replies %x and %x, want the same bytes", first, again)
	}
	if first != nil && !radius.IsAuthenticResponse(first, interim, []byte(secret)) {
		t.Errorf("Accounting-Response is not authentic")
	}

	// MAC authentication from another AP: remembered, with the quota left
	// counted once (60 MiB of 100 MiB used).
	macAuth := fmt.Sprintf("User-Name = \"aa:bb:cc:dd:ee:01\"\nUser-Password = \"aabbccddee01\"\nCalling-Station-Id = %q\nCalled-Station-Id = \"00-0D-B9-00-00-07:FreeWiFi\"\nNAS-IP-Address = 127.0.0.1\nMessage-Authenticator = 0x00\n", phoneMAC)
	out, ok = radclient(t, d.auth, "auth", secret, macAuth)
	if !ok || attr(out, "ChilliSpot-Max-Total-Octets") != strconv.Itoa(40*mib) {
		t.Errorf("MAC auth from another AP: want Access-Accept with 40 MiB left, got %s", out)
	}
	// Stop with the final counters: 70 MiB used, 30 MiB left.
	if out, ok := radclient(t, d.acct, "acct", secret, acctBase+fmt.Sprintf("Acct-Status-Type = Stop\nAcct-Input-Octets = %d\nAcct-Output-Octets = %d\nAcct-Session-Time = 900\n", 20*mib, 50*mib)); !ok {
		t.Fatalf("radclient Stop: %s", out)
	}
	out, _ = radclient(t, d.auth, "auth", secret, macAuth)
	if got := attr(out, "ChilliSpot-Max-Total-Octets"); got != strconv.Itoa(30*mib) {
		t.Errorf("MAC auth after Stop: ChilliSpot-Max-Total-Octets = %q, want %d\n%s", got, 30*mib, out)
	}

	// Privacy: no key names the clear MAC; the closed session keeps no MAC.
	for _, k := range rdb.Keys(ctx, "*").Val() {
		if strings.Contains(strings.ToUpper(k), "AA-BB-CC-DD-EE-01") || strings.Contains(strings.ToLower(k), "aabbccddee01") {
			t.Errorf("Redis key %q holds the clear MAC", k)
		}
		// -1: no TTL; -2: gone since KEYS (a NAS's open-session index
		// goes with its last session, removed by the index flush).
		if rdb.TTL(ctx, k).Val() == -1 {
			t.Errorf("Redis key %q has no TTL", k)
		}
	}

	// A malformed packet is dropped and the server keeps serving.
	if reply := exchange(t, d.auth, []byte{1, 2, 0, 200, 9, 9}); reply != nil {
		t.Errorf("malformed packet got a reply")
	}
	if resp, _ := get(t, "http://"+d.admin+"/healthz"); resp.StatusCode != 200 {
		t.Errorf("GET /healthz after bad packets = %d, want 200", resp.StatusCode)
	}
	_, metrics := get(t, "http://"+d.admin+"/metrics")
	for _, reason := range []string{"no_message_authenticator", "malformed"} {
		if !regexp.MustCompile(`hotspot_radius_dropped_total\{[^}]*reason="` + reason + `"[^}]*\} [1-9]`).MatchString(metrics) {
			t.Errorf("metrics do not count drops for %q", reason)
		}
	}
	d.stop(t)
}

// exchange sends b to addr once and returns the reply, or nil after a
// second without one.
func exchange(t *testing.T, addr string, b []byte) []byte {
	t.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(b); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// withoutMA builds the Access-Request of creds (radclient syntax, PAP or
// CHAP) with layeh, which adds no Message-Authenticator.
func withoutMA(t *testing.T, creds string) []byte {
	t.Helper()
	p := radius.New(radius.CodeAccessRequest, []byte(secret))
	for _, line := range strings.Split(strings.TrimSpace(creds), "\n") {
		k, v, _ := strings.Cut(line, " = ")
		switch k {
		case "User-Name":
			rfc2865.UserName_SetString(p, strings.Trim(v, `"`))
		case "User-Password":
			rfc2865.UserPassword_SetString(p, strings.Trim(v, `"`))
		case "CHAP-Password":
			b, _ := hex.DecodeString(strings.TrimPrefix(v, "0x"))
			rfc2865.CHAPPassword_Set(p, b)
		case "CHAP-Challenge":
			b, _ := hex.DecodeString(strings.TrimPrefix(v, "0x"))
			rfc2865.CHAPChallenge_Set(p, b)
		}
	}
	rfc2865.CallingStationID_SetString(p, phoneMAC)
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func acctPacket(t *testing.T, user string, in, out uint32) []byte {
	t.Helper()
	p := radius.New(radius.CodeAccountingRequest, []byte(secret))
	rfc2865.UserName_SetString(p, user)
	rfc2866.AcctStatusType_Set(p, rfc2866.AcctStatusType_Value_InterimUpdate)
	rfc2866.AcctSessionID_SetString(p, "5f3c0a1b00000001")
	rfc2865.CallingStationID_SetString(p, phoneMAC)
	rfc2865.CalledStationID_SetString(p, "00-0D-B9-00-00-01:FreeWiFi")
	rfc2866.AcctInputOctets_Set(p, rfc2866.AcctInputOctets(in))
	rfc2866.AcctOutputOctets_Set(p, rfc2866.AcctOutputOctets(out))
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
