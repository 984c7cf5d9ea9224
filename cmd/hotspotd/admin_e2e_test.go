package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc3576"

	"hotspot/internal/nastest"
	"hotspot/internal/redistest"
	"hotspot/portal"
)

// The demo's admin tokens, as README and deploy/demo.yaml promise them.
const (
	demoOperatorToken = "demo-operator-token"
	demoViewerToken   = "demo-viewer-token"
)

// TestDemoAdminTokens: the demo config holds the demo tokens' hashes with
// the promised roles.
func TestDemoAdminTokens(t *testing.T) {
	cfg, err := loadConfig("../../deploy/demo.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]portal.Role{
		portal.HashToken(demoOperatorToken): portal.RoleOperator,
		portal.HashToken(demoViewerToken):   portal.RoleViewer,
	}
	for _, tok := range cfg.Admin.Tokens {
		if role, ok := want[tok.Hash]; ok && role == tok.Role {
			delete(want, tok.Hash)
		}
	}
	if len(want) != 0 {
		t.Errorf("deploy/demo.yaml admin.tokens = %+v, lacks demo-operator-token (operator) or demo-viewer-token (viewer)", cfg.Admin.Tokens)
	}
}

// TestInvalidAdminConfigs: -check-config names every bad admin token.
func TestInvalidAdminConfigs(t *testing.T) {
	demo, err := os.ReadFile("../../deploy/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const tokens = "  tokens:\n    - name: demo-operator\n"
	if !strings.Contains(string(demo), tokens) {
		t.Fatalf("deploy/demo.yaml has no %q", tokens)
	}
	tests := []struct {
		name, tokens string
		want         []string
	}{
		{"clear token instead of a hash", "  tokens:\n    - name: x\n      role: operator\n      hash: demo-operator-token\n    - name: demo-operator\n",
			[]string{`admin.tokens[0]: hash must start with "sha256:"`, "hotspotctl token hash"}},
		{"bad role and unknown key", "  tokens:\n    - name: x\n      role: admin\n      colour: blue\n      hash: " + portal.HashToken("x-0123456789abcdef") + "\n    - name: demo-operator\n",
			[]string{`role "admin"`, "colour"}},
		{"duplicate name", "  tokens:\n    - name: demo-operator\n      role: viewer\n      hash: " + portal.HashToken("x-0123456789abcdef") + "\n    - name: demo-operator\n",
			[]string{`name "demo-operator" is used twice`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.yaml")
			os.WriteFile(path, []byte(strings.Replace(string(demo), tokens, tt.tokens, 1)), 0o600)
			var out, errOut bytes.Buffer
			if code := run([]string{"-config", path, "-check-config"}, &out, &errOut, noEnv); code == 0 {
				t.Fatalf("-check-config = 0, want failure")
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("-check-config output lacks %q:\n%s", w, errOut.String())
				}
			}
		})
	}
}

// fakeNAS is a NAS's RFC 5176 port: the test answers each
// Disconnect-Request it receives.
type fakeNAS struct{ *nastest.NAS }

type nasRequest struct {
	packet *radius.Packet
	raw    []byte
	// answer sends the reply built from the request.
	answer func(reply *radius.Packet)
}

func newFakeNAS(t *testing.T) *fakeNAS { return &fakeNAS{nastest.Start(t, "127.0.0.1", nil)} }

func (n *fakeNAS) port() int { return n.Port }

// next returns the next request the NAS received.
func (n *fakeNAS) next(t *testing.T) nasRequest {
	t.Helper()
	r := n.Next(t, 15*time.Second)
	p, err := radius.Parse(r.Raw, []byte(secret))
	if err != nil {
		t.Fatalf("the NAS received a packet it cannot parse: %v", err)
	}
	return nasRequest{packet: p, raw: r.Raw, answer: func(reply *radius.Packet) {
		if b, err := reply.Encode(); err == nil {
			r.Reply(b)
		}
	}}
}

// apiCall sends method url with a bearer token and returns the status and
// body.
func apiCall(t *testing.T, method, url, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func apiJSON[T any](t *testing.T, status int, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("status %d, body %q: %v", status, body, err)
	}
	return v
}

// TestAdminEndToEnd runs the real binary with the demo config on a real
// Redis and a fake NAS: sessions created with radclient's accounting are
// listed and disconnected through the admin API with the demo tokens, the
// Disconnect-Request arrives at the NAS, the NAS's verdicts (ACK, NAK,
// silence) come back as 200 and 504, the operator's actions are in the
// audit log, and /metrics parses and counts all of it.
func TestAdminEndToEnd(t *testing.T) {
	rs := redistest.Start(t)
	nas := newFakeNAS(t)
	d := startDaemon(t, []string{"REDIS_URL=" + rs.URL()}, func(cfg map[string]any) {
		cfg["nas"].([]any)[0].(map[string]any)["coa_port"] = nas.port()
	})
	api := "http://" + d.admin + "/api/v1"

	// Three sessions of the phone on three APs, as CoovaChilli reports them.
	macs := map[string]string{"e2e-1": phoneMAC, "e2e-2": phoneMAC, "e2e-3": otherMAC}
	for _, sid := range []string{"e2e-1", "e2e-2", "e2e-3"} {
		attrs := fmt.Sprintf("Acct-Status-Type = Start\nUser-Name = \"hs-e2e\"\nAcct-Session-Id = %q\nCalling-Station-Id = %q\n"+
			"Called-Station-Id = \"00-0D-B9-00-00-0%s:FreeWiFi\"\nNAS-IP-Address = 127.0.0.1\nFramed-IP-Address = 10.1.0.5\n",
			sid, macs[sid], sid[len(sid)-1:])
		if out, ok := radclient(t, d.acct, "acct", secret, attrs); !ok || !strings.Contains(out, "Accounting-Response") {
			t.Fatalf("radclient accounting Start %s: %s", sid, out)
		}
	}

	// Without a token: 401. The viewer sees the sessions with pseudonyms.
	if st, _ := apiCall(t, "GET", api+"/sessions", ""); st != 401 {
		t.Errorf("GET /sessions without a token = %d, want 401", st)
	}
	st, body := apiCall(t, "GET", api+"/sessions?mac=aa:bb:cc:dd:ee:01&state=active", demoViewerToken)
	list := apiJSON[portal.APISessionList](t, st, body)
	if st != 200 || len(list.Sessions) != 2 || strings.Contains(string(body), phoneMAC) {
		t.Fatalf("GET /sessions?mac=…01 as viewer = %d %s, want 2 sessions without the clear MAC", st, body)
	}
	// The operator sees the clear MAC.
	st, body = apiCall(t, "GET", api+"/sessions?ap=00-0D-B9-00-00-01", demoOperatorToken)
	list = apiJSON[portal.APISessionList](t, st, body)
	if st != 200 || len(list.Sessions) != 1 || list.Sessions[0].MAC != phoneMAC || list.Sessions[0].AcctSessionID != "e2e-1" ||
		list.Sessions[0].NASIP != "127.0.0.1" || list.Sessions[0].NAS != "demo" {
		t.Fatalf("GET /sessions?ap=… as operator = %d %s", st, body)
	}
	s1 := list.Sessions[0].ID
	ids := map[string]string{}
	st, body = apiCall(t, "GET", api+"/sessions", demoOperatorToken)
	for _, s := range apiJSON[portal.APISessionList](t, st, body).Sessions {
		ids[s.AcctSessionID] = s.ID
	}

	// A viewer may not disconnect; nothing reaches the NAS.
	if st, body := apiCall(t, "POST", api+"/sessions/"+s1+"/disconnect", demoViewerToken); st != 403 {
		t.Errorf("POST disconnect as viewer = %d %s, want 403", st, body)
	}

	// The operator disconnects e2e-1: the NAS receives an authentic
	// Disconnect-Request for that session and acknowledges it.
	type result struct {
		status int
		body   []byte
	}
	disconnect := func(id string) chan result {
		ch := make(chan result, 1)
		go func() {
			st, body := apiCall(t, "POST", api+"/sessions/"+id+"/disconnect", demoOperatorToken)
			ch <- result{st, body}
		}()
		return ch
	}
	done := disconnect(s1)
	req := nas.next(t)
	if req.packet.Code != radius.CodeDisconnectRequest || !radius.IsAuthenticRequest(req.raw, []byte(secret)) {
		t.Errorf("the NAS received code %v (authentic: %v), want an authentic Disconnect-Request", req.packet.Code, radius.IsAuthenticRequest(req.raw, []byte(secret)))
	}
	if got := rfc2866.AcctSessionID_GetString(req.packet); got != "e2e-1" {
		t.Errorf("Disconnect-Request Acct-Session-Id = %q, want e2e-1", got)
	}
	if got := rfc2865.CallingStationID_GetString(req.packet); !strings.EqualFold(strings.ReplaceAll(got, ":", "-"), phoneMAC) {
		t.Errorf("Disconnect-Request Calling-Station-Id = %q, want %s", got, phoneMAC)
	}
	req.answer(req.packet.Response(radius.CodeDisconnectACK))
	r := <-done
	if dis := apiJSON[portal.APIDisconnect](t, r.status, r.body); r.status != 200 || dis.Result != "ack" || dis.SessionID != s1 {
		t.Errorf("POST disconnect (ACK) = %d %s, want 200 ack", r.status, r.body)
	}

	// The NAS no longer knows e2e-2: NAK 503, and the session is closed.
	done = disconnect(ids["e2e-2"])
	req = nas.next(t)
	nak := req.packet.Response(radius.CodeDisconnectNAK)
	rfc3576.ErrorCause_Set(nak, rfc3576.ErrorCause_Value_SessionContextNotFound)
	req.answer(nak)
	r = <-done
	if dis := apiJSON[portal.APIDisconnect](t, r.status, r.body); r.status != 200 || dis.Result != "nak" || dis.ErrorCause != 503 {
		t.Errorf("POST disconnect (NAK 503) = %d %s, want 200 nak 503", r.status, r.body)
	}
	st, body = apiCall(t, "GET", api+"/sessions/"+ids["e2e-2"], demoOperatorToken)
	if s := apiJSON[portal.APISession](t, st, body); st != 200 || s.State != "closed" {
		t.Errorf("GET e2e-2 after NAK 503 = %d %s, want closed", st, body)
	}
	if st, body := apiCall(t, "POST", api+"/sessions/"+ids["e2e-2"]+"/disconnect", demoOperatorToken); st != 409 {
		t.Errorf("POST disconnect of a closed session = %d %s, want 409", st, body)
	}

	// The NAS stays silent for e2e-3: 504 once the retries are spent.
	done = disconnect(ids["e2e-3"])
	nas.next(t) // and its retransmits go unanswered
	r = <-done
	if e := apiJSON[portal.APIError](t, r.status, r.body); r.status != 504 || e.Error.Code != "nas_timeout" {
		t.Errorf("POST disconnect (silent NAS) = %d %s, want 504 nas_timeout", r.status, r.body)
	}

	// Device, forget, stats.
	st, body = apiCall(t, "GET", api+"/devices/aabbccddee01", demoOperatorToken)
	if dev := apiJSON[portal.APIDevice](t, st, body); st != 200 || dev.MAC != phoneMAC || dev.Policy == "" {
		t.Errorf("GET device = %d %s", st, body)
	}
	if st, body := apiCall(t, "DELETE", api+"/devices/aabbccddee01", demoOperatorToken); st != 204 {
		t.Errorf("DELETE device = %d %s, want 204", st, body)
	}
	st, body = apiCall(t, "GET", api+"/stats", demoViewerToken)
	if s := apiJSON[portal.APIStats](t, st, body); st != 200 || s.Total.Sessions != 3 || len(s.AP) != 3 {
		t.Errorf("GET stats = %d %s, want 3 sessions on 3 APs", st, body)
	}
	if st, body := apiCall(t, "GET", api+"/openapi.json", ""); st != 200 || !json.Valid(body) {
		t.Errorf("GET openapi.json = %d", st)
	}

	// /metrics after the traffic, parsed as Prometheus does.
	st, body = apiCall(t, "GET", "http://"+d.admin+"/metrics", "")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if st != 200 || err != nil {
		t.Fatalf("GET /metrics = %d, parse: %v", st, err)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"hotspot_admin_requests_total", map[string]string{"route": "/api/v1/sessions/:id/disconnect", "code": "200"}, 2},
		{"hotspot_admin_requests_total", map[string]string{"route": "/api/v1/sessions/:id/disconnect", "code": "504"}, 1},
		{"hotspot_admin_requests_total", map[string]string{"route": "/api/v1/sessions/:id/disconnect", "code": "403"}, 1},
		{"hotspot_admin_requests_total", map[string]string{"route": "/api/v1/sessions", "code": "401"}, 1},
		{"hotspot_admin_request_duration_seconds", map[string]string{"route": "/api/v1/sessions"}, 1},
		{"hotspot_radius_requests_total", map[string]string{"type": "accounting", "nas": "demo", "result": "start"}, 3},
		{"hotspot_radius_coa_total", map[string]string{"type": "disconnect", "result": "ack"}, 1},
		{"hotspot_radius_coa_total", map[string]string{"type": "disconnect", "result": "nak"}, 1},
		{"hotspot_radius_coa_total", map[string]string{"type": "disconnect", "result": "no_answer"}, 1},
		{"hotspot_redis_command_duration_seconds", map[string]string{"command": "pipeline"}, 1},
		{"hotspot_sessions_active", map[string]string{"nas": "demo"}, 2}, // e2e-1 and e2e-3: no Stop came
	} {
		if got := metricValue(mfs[c.name], c.labels); got < c.min {
			t.Errorf("%s%v = %v, want ≥ %v", c.name, c.labels, got, c.min)
		}
	}
	if got := metricValue(mfs["hotspot_sessions_active"], map[string]string{"nas": "demo"}); got != 2 {
		t.Errorf("hotspot_sessions_active{nas=demo} = %v, want 2", got)
	}
	if got := metricValue(mfs["hotspot_redis_errors_total"], map[string]string{"command": "pipeline"}); got != 0 {
		t.Errorf("hotspot_redis_errors_total{command=pipeline} = %v, want 0", got)
	}

	// The audit log names the operator token for each action.
	d.stop(t)
	// The test's Redis persists nothing, and hotspotd said so at start.
	if !strings.Contains(d.stderr.String(), "Redis persists nothing") {
		t.Errorf("no warning at start that Redis persists nothing")
	}
	var audit []map[string]any
	for _, line := range strings.Split(d.stderr.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["logger"] == "audit" {
			audit = append(audit, rec)
		}
	}
	want := []string{"demo-viewer POST /api/v1/sessions/:id/disconnect forbidden", "demo-operator disconnect ack", "demo-operator disconnect nak",
		"demo-operator disconnect refused", "demo-operator disconnect no_answer", "demo-operator forget done"}
	var got []string
	for _, rec := range audit {
		got = append(got, fmt.Sprintf("%v %v %v", rec["who"], rec["action"], rec["outcome"]))
		if rec["time"] == nil {
			t.Errorf("audit record without a time: %v", rec)
		}
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("audit log =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// metricValue returns the value of the series of mf whose labels include
// labels: a counter's or gauge's value, a histogram's count; -1 if none.
func metricValue(mf *dto.MetricFamily, labels map[string]string) float64 {
	for _, m := range mf.GetMetric() {
		l := map[string]string{}
		for _, lp := range m.GetLabel() {
			l[lp.GetName()] = lp.GetValue()
		}
		match := true
		for k, v := range labels {
			match = match && l[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}
