package radius

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"
)

// radclientPath finds FreeRADIUS's radclient, which the interoperability
// tests need: they are the independent check of our Message-Authenticator
// and Response Authenticator code, so they fail rather than skip.
func radclientPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("radclient")
	if err != nil {
		t.Fatal("radclient missing: apt-get install freeradius-utils")
	}
	return p
}

// radclient sends the attributes in input to addr with FreeRADIUS's
// radclient and returns what it printed. It is given one try and a timeout
// that a passing test never waits out. radclient exits with 1 when the
// reply is not an Access-Accept; rejects says that is expected.
func radclient(t *testing.T, addr, command, input string, rejects bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, radclientPath(t), "-x", "-r", "1", "-t", "5", addr, command, testSecret)
	cmd.Stdin = strings.NewReader(input)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("radclient %s:\n%s", command, out.String())
	var exit *exec.ExitError
	if err != nil && !(rejects && errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("radclient %s: %v", command, err)
	}
	return out.String()
}

func TestRadclient(t *testing.T) {
	ts := newServer(t).start(t)
	auth, acct := ts.authAddr.String(), ts.acctAddr.String()
	tests := []struct {
		name    string
		addr    string
		command string
		input   string
		want    []string // lines radclient must print
		rejects bool
	}{
		{"PAP", auth, "auth", `User-Name = "hs-user"
User-Password = "s3cret-pass"
Calling-Station-Id = "aa-bb-cc-0d-ee-ff"
Message-Authenticator = 0x00
Proxy-State = 0x01020304
`, []string{
			"Received Access-Accept",
			"Session-Timeout = 7200", "Idle-Timeout = 600", "Acct-Interim-Interval = 300",
			"ChilliSpot-Bandwidth-Max-Up = 2000", "ChilliSpot-Bandwidth-Max-Down = 10000",
			"WISPr-Bandwidth-Max-Up = 2000000", "WISPr-Bandwidth-Max-Down = 10000000",
			"ChilliSpot-Max-Total-Octets = 1073754169",
			"Proxy-State = 0x01020304",
		}, false},
		{"PAP wrong password", auth, "auth", `User-Name = "hs-user"
User-Password = "guess"
Calling-Station-Id = "aa-bb-cc-0d-ee-ff"
Message-Authenticator = 0x00
`, []string{"Received Access-Reject", `Reply-Message = "wrong password"`}, true},
		{"CHAP with CHAP-Challenge", auth, "auth", `User-Name = "hs-user"
CHAP-Password = "s3cret-pass"
CHAP-Challenge = 0x00112233445566778899aabbccddeeff
Calling-Station-Id = "aa-bb-cc-0d-ee-ff"
Message-Authenticator = 0x00
`, []string{"Received Access-Accept", "Session-Timeout = 7200"}, false},
		{"CHAP with Request Authenticator", auth, "auth", `User-Name = "hs-user"
CHAP-Password = "s3cret-pass"
Calling-Station-Id = "aa-bb-cc-0d-ee-ff"
Message-Authenticator = 0x00
`, []string{"Received Access-Accept", "Session-Timeout = 7200"}, false},
		{"MAC auth", auth, "auth", `User-Name = "AABBCC0DEEFF"
User-Password = "AABBCC0DEEFF"
Calling-Station-Id = "AA-BB-CC-0D-EE-FF"
Message-Authenticator = 0x00
`, []string{"Received Access-Accept"}, false},
		{"Status-Server", auth, "status", "Message-Authenticator = 0x00\n", []string{"Received Access-Accept"}, false},
		{"Status-Server on the accounting port", acct, "status", "Message-Authenticator = 0x00\n",
			[]string{"Received Accounting-Response"}, false},
		{"accounting", acct, "acct", `Acct-Status-Type = Interim-Update
Acct-Session-Id = "5f3e0a0b00000001"
Calling-Station-Id = "aa-bb-cc-0d-ee-ff"
Called-Station-Id = "00-11-22-33-44-55:Free WiFi"
Acct-Input-Octets = 17
Acct-Input-Gigawords = 2
Acct-Output-Octets = 5
Proxy-State = 0xcafe
`, []string{"Received Accounting-Response", "Proxy-State = 0xcafe"}, false},
		{"accounting with Message-Authenticator", acct, "acct", `Acct-Status-Type = Start
Acct-Session-Id = "5f3e0a0b00000002"
Calling-Station-Id = "aa-bb-cc-0d-ee-ff"
Message-Authenticator = 0x00
`, []string{"Received Accounting-Response"}, false},
		{"Accounting-On", acct, "acct", "Acct-Status-Type = Accounting-On\n", []string{"Received Accounting-Response"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := radclient(t, tt.addr, tt.command, tt.input, tt.rejects)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("radclient output lacks %q", w)
				}
			}
			// radclient reports a bad Response Authenticator or
			// Message-Authenticator and then times out; guard both.
			for _, bad := range []string{"invalid", "No reply", "Incorrect", "rror"} {
				if strings.Contains(out, bad) {
					t.Errorf("radclient output contains %q", bad)
				}
			}
		})
	}

	_, recs, closed := ts.store.calls()
	if len(recs) != 2 || recs[0].InputOctets != 2<<32+17 || recs[0].OutputOctets != 5 || recs[0].SSID != "Free WiFi" {
		t.Errorf("Account calls = %+v, want the interim (in %d, out 5, SSID Free WiFi) and the start", recs, uint64(2<<32+17))
	}
	if len(closed) != 1 {
		t.Errorf("CloseNAS calls = %q, want one", closed)
	}
}

// TestRadclientSignsLikeUs receives what radclient sends as a NAS would
// and checks its Message-Authenticator with our verification, for each
// request type: the independent check that our HMAC covers the same bytes
// as FreeRADIUS's (for Accounting-, CoA- and Disconnect-Requests with the
// authenticator zeroed).
func TestRadclientSignsLikeUs(t *testing.T) {
	for _, tt := range []struct {
		command string
		code    radius.Code
	}{
		{"auth", radius.CodeAccessRequest},
		{"acct", radius.CodeAccountingRequest},
		{"coa", radius.CodeCoARequest},
		{"disconnect", radius.CodeDisconnectRequest},
		{"status", radius.CodeStatusServer},
	} {
		t.Run(tt.command, func(t *testing.T) {
			conn := dialFrom(t, "127.0.0.1")
			got := make(chan []byte, 1)
			go func() {
				buf := make([]byte, 4096)
				conn.SetReadDeadline(time.Now().Add(replyTimeout))
				n, from, err := conn.ReadFromUDPAddrPort(buf)
				if err != nil {
					got <- nil
					return
				}
				req := buf[:n]
				got <- bytes.Clone(req)
				// Answer, so that radclient exits at once and checks our
				// reply in its turn.
				p, err := radius.Parse(req, []byte(testSecret))
				if err != nil {
					return
				}
				reply, err := encodeReply(p.Response(replyCode(p.Code)), p)
				if err == nil {
					conn.WriteToUDPAddrPort(reply, from)
				}
			}()
			input := "User-Name = \"u\"\nMessage-Authenticator = 0x00\n"
			if tt.command == "acct" {
				input += "Acct-Status-Type = Start\n"
			}
			out := radclient(t, conn.LocalAddr().String(), tt.command, input, false)
			req := <-got
			if req == nil {
				t.Fatal("radclient sent nothing")
			}
			if radius.Code(req[0]) != tt.code {
				t.Fatalf("radclient sent code %d, want %v", req[0], tt.code)
			}
			if present, ok := verifyMessageAuthenticator(req, []byte(testSecret)); !present || !ok {
				t.Errorf("verifyMessageAuthenticator(radclient %s) = %v, %v, want true, true", tt.command, present, ok)
			}
			if !radius.IsAuthenticRequest(req, []byte(testSecret)) {
				t.Errorf("radclient's %s is not an authentic request to us", tt.command)
			}
			if !strings.Contains(out, "Received "+replyCode(tt.code).String()) || strings.Contains(out, "invalid") {
				t.Errorf("radclient did not accept our %v", replyCode(tt.code))
			}
		})
	}
}

func replyCode(c radius.Code) radius.Code {
	switch c {
	case radius.CodeAccountingRequest:
		return radius.CodeAccountingResponse
	case radius.CodeCoARequest:
		return radius.CodeCoAACK
	case radius.CodeDisconnectRequest:
		return radius.CodeDisconnectACK
	}
	return radius.CodeAccessAccept
}
