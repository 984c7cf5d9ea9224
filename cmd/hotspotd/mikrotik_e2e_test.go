package main

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"hotspot/internal/redistest"
)

// TestMikroTikEndToEnd: a MikroTik hotspot's login page hands the browser
// to /mikrotik on the real binary; the terms are accepted; the login-back
// goes to the NAS's login_url with an HTTP-CHAP password; the router's
// Access-Request (radclient in its place) carries it as CHAP-Password and
// is accepted with MikroTik's attributes.
func TestMikroTikEndToEnd(t *testing.T) {
	rs := redistest.Start(t)
	d := startDaemon(t, []string{"REDIS_URL=" + rs.URL()}, func(cfg map[string]any) {
		nas := cfg["nas"].([]any)[0].(map[string]any)
		nas["kind"] = "mikrotik"
		nas["identifier"] = "mt-markt"
		nas["login_url"] = "http://10.5.50.1/login"
		delete(nas, "uamsecret")
	})
	// deploy/mikrotik/login.html, as RouterOS serves it: its variables
	// filled in, chap-id and chap-challenge as octal escapes.
	challenge := []byte("0123456789abcdef")
	var octal strings.Builder
	for _, c := range challenge {
		fmt.Fprintf(&octal, `\%03o`, c)
	}
	raw, err := os.ReadFile("../../deploy/mikrotik/login.html")
	if err != nil {
		t.Fatal(err)
	}
	routerPage := strings.NewReplacer(
		"https://portal.example.org", "http://"+d.portal,
		"$(identity)", "mt-markt", "$(mac)", "AA:BB:CC:DD:EE:01", "$(link-orig)", "http://example.org/",
		"$(chap-id)", `\007`, "$(chap-challenge)", octal.String(),
	).Replace(string(raw))
	if strings.Contains(routerPage, "$(") {
		t.Fatalf("login.html uses a variable this test does not fill in:\n%s", routerPage)
	}
	// The browser submits its form (a GET).
	handover, fields := formFields(t, routerPage)
	resp, page := get(t, handover+"?"+fields.Encode())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /mikrotik = %d, want the terms\n%s", resp.StatusCode, page)
	}
	action, form := formFields(t, page)
	resp, err = noRedirect.PostForm("http://"+d.portal+action, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	login, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || err != nil || login.Host != "10.5.50.1" || login.Path != "/login" {
		t.Fatalf("POST %s = %d to %q, want 303 to http://10.5.50.1/login?…", action, resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := login.Query().Get("dst"); got != "http://example.org/" {
		t.Errorf("login-back dst = %q, want the page asked for", got)
	}
	response, err := hex.DecodeString(login.Query().Get("password"))
	if err != nil || len(response) != md5.Size {
		t.Fatalf("login-back password %q, want an MD5 in hex", login.Query().Get("password"))
	}

	creds := fmt.Sprintf("User-Name = %q\nCHAP-Password = 0x07%x\nCHAP-Challenge = 0x%x\n", login.Query().Get("username"), response, challenge)
	common := fmt.Sprintf("Calling-Station-Id = %q\nNAS-Identifier = \"mt-markt\"\nNAS-IP-Address = 127.0.0.1\nMessage-Authenticator = 0x00\n", phoneMAC)
	out, ok := radclient(t, d.auth, "auth", secret, creds+common)
	if !ok || !strings.Contains(out, "Access-Accept") {
		t.Fatalf("radclient Access-Request as the router sends it: %s", out)
	}
	if got := attr(out, "Mikrotik-Rate-Limit"); got == "" {
		t.Errorf("Access-Accept without Mikrotik-Rate-Limit:\n%s", out)
	}
	// The same response for another device's MAC is refused: the grant is
	// bound to the MAC the login page named.
	other := strings.Replace(common, phoneMAC, otherMAC, 1)
	if out, _ := radclient(t, d.auth, "auth", secret, creds+other); !strings.Contains(out, "Access-Reject") {
		t.Errorf("the grant logged in another MAC: %s", out)
	}
}
