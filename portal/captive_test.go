package portal

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotspot/session"
)

// captiveStore answers the RFC 8908 API's lookups from fixed data and
// records what it was asked.
type captiveStore struct {
	*fakeStore
	mu     sync.Mutex
	status session.DeviceStatus
	sess   session.Session
	err    error
	asked  []string // "nas ip"
}

func (c *captiveStore) DeviceStatusByIP(_ context.Context, nas string, ip netip.Addr) (session.DeviceStatus, session.Session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked = append(c.asked, nas+" "+ip.String())
	return c.status, c.sess, c.err
}

func (c *captiveStore) lastAsked() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.asked) == 0 {
		return ""
	}
	return c.asked[len(c.asked)-1]
}

func newCaptiveServer(t *testing.T, store Store, mod func(*Config)) *Server {
	t.Helper()
	cfg := Config{FormKey: testFormKey}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg, testNASes(t), store, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// askCaptive requests target from the client address client and decodes
// the RFC 8908 answer, checking its media type and caching.
func askCaptive(t *testing.T, s *Server, target, client string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.RemoteAddr = client
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	if ct := w.Header().Get("Content-Type"); ct != "application/captive+json" {
		t.Errorf("GET %s: Content-Type = %q, want application/captive+json", target, ct)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "private, no-store" {
		t.Errorf("GET %s: Cache-Control = %q, want private, no-store", target, cc)
	}
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("GET %s: body %q is not JSON: %v", target, w.Body, err)
	}
	return w.Code, m
}

func TestCaptiveAPI(t *testing.T) {
	at := time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC)
	online := session.DeviceStatus{
		At: at, Policy: "default", DataLimit: 100 << 20, DataUsed: 60 << 20, DataRemaining: 40 << 20,
		TimeRemaining: -1, SessionTimeout: time.Hour, WindowEnd: at.Add(90 * time.Minute),
		Action: "disconnect",
	}
	sess := session.Session{NAS: "square-chap", StartedAt: at.Add(-20 * time.Minute), Active: true}
	throttled := online
	throttled.Action, throttled.Throttled, throttled.DataRemaining = "throttle", true, 0
	tests := []struct {
		name   string
		mod    func(*Config)
		target string
		client string
		status session.DeviceStatus
		err    error
		code   int
		asked  string
		want   map[string]any
	}{
		{
			name: "online", target: "http://portal.test/api/captive", client: "10.1.0.5:50000", status: online,
			code: 200, asked: " 10.1.0.5",
			want: map[string]any{
				"captive":           false,
				"seconds-remaining": 40.0 * 60, "bytes-remaining": float64(40 << 20), "can-extend-session": false,
			},
		},
		{
			name: "online, venue and portal configured", target: "http://portal.test/api/captive?nas=leipzig-markt", client: "10.1.0.5:50000", status: online,
			mod: func(c *Config) {
				c.PublicURL = "https://portal.example.org/"
				c.Captive = CaptiveConfig{VenueInfoURL: "https://www.example.org/wifi", UserPortalURL: "https://wifi.example.org/login"}
			},
			code: 200, asked: "square-chap 10.1.0.5",
			want: map[string]any{
				"captive": false, "user-portal-url": "https://wifi.example.org/login", "venue-info-url": "https://www.example.org/wifi",
				"seconds-remaining": 40.0 * 60, "bytes-remaining": float64(40 << 20), "can-extend-session": false,
			},
		},
		{
			name: "throttled: no bytes count down to captivity", target: "http://portal.test/api/captive?nas=tram-pap", client: "10.1.0.5:50000", status: throttled,
			mod:  func(c *Config) { c.PublicURL = "https://portal.example.org/" },
			code: 200, asked: "tram-pap 10.1.0.5",
			want: map[string]any{"captive": false, "user-portal-url": "https://portal.example.org/", "seconds-remaining": 40.0 * 60, "can-extend-session": false},
		},
		{
			name: "unknown client", target: "http://portal.test/api/captive", client: "10.1.0.9:50000", err: session.ErrNotFound,
			code: 200, asked: " 10.1.0.9",
			want: map[string]any{"captive": true},
		},
		{
			name: "unknown NAS named", target: "http://portal.test/api/captive?nas=elsewhere", client: "10.1.0.5:50000", status: online,
			code: 200, asked: "",
			want: map[string]any{"captive": true},
		},
		{
			name: "custom path", target: "http://portal.test/captive.json", client: "[2001:db8::5]:50000", err: session.ErrNotFound,
			mod: func(c *Config) {
				c.Captive.Path = "/captive.json"
				c.Captive.VenueInfoURL = "https://www.example.org/wifi"
			},
			code: 200, asked: " 2001:db8::5",
			want: map[string]any{"captive": true, "venue-info-url": "https://www.example.org/wifi"},
		},
		{
			name: "store down", target: "http://portal.test/api/captive", client: "10.1.0.5:50000", err: fmt.Errorf("%w: refused", session.ErrUnavailable),
			code: 503, asked: " 10.1.0.5",
			want: map[string]any{"captive": true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &captiveStore{fakeStore: &fakeStore{}, status: tt.status, sess: sess, err: tt.err}
			s := newCaptiveServer(t, store, tt.mod)
			code, got := askCaptive(t, s, tt.target, tt.client)
			if code != tt.code {
				t.Errorf("GET %s = %d, want %d", tt.target, code, tt.code)
			}
			for k, v := range tt.want {
				if !reflect.DeepEqual(got[k], v) {
					t.Errorf("%q = %v (%T), want %v", k, got[k], got[k], v)
				}
			}
			for k := range got {
				if _, ok := tt.want[k]; !ok {
					t.Errorf("unexpected field %q = %v", k, got[k])
				}
			}
			if a := store.lastAsked(); a != tt.asked {
				t.Errorf("store asked for %q, want %q", a, tt.asked)
			}
		})
	}
}

func TestCaptiveWithoutCaptiveStore(t *testing.T) {
	s := newCaptiveServer(t, &fakeStore{}, nil)
	code, got := askCaptive(t, s, "http://portal.test/api/captive", "10.1.0.5:1")
	if code != 200 || got["captive"] != true || len(got) != 1 {
		t.Errorf("GET /api/captive with a store that cannot look up = %d %v, want 200 captive", code, got)
	}
}

// TestCaptiveUserPortalURL: the user-portal-url is https (RFC 8908 §5) and
// ours, never built from what the request says its host is.
func TestCaptiveUserPortalURL(t *testing.T) {
	tests := []struct {
		name, publicURL, userPortalURL, want string
	}{
		{"nothing configured", "", "", ""},
		{"an http public URL", "http://portal.example.org/", "", ""},
		{"an https public URL", "https://portal.example.org/", "", "https://portal.example.org/"},
		{"an HTTPS public URL", "HTTPS://portal.example.org/", "", "HTTPS://portal.example.org/"},
		{"configured", "https://portal.example.org/", "https://wifi.example.org/login", "https://wifi.example.org/login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newCaptiveServer(t, &fakeStore{}, func(c *Config) {
				c.PublicURL, c.Captive.UserPortalURL = tt.publicURL, tt.userPortalURL
			})
			_, got := askCaptive(t, s, "http://evil.example/api/captive", "10.1.0.5:1")
			if u, _ := got["user-portal-url"].(string); u != tt.want {
				t.Errorf("user-portal-url = %q, want %q (request Host evil.example)", u, tt.want)
			}
		})
	}
}

func TestCaptiveConfig(t *testing.T) {
	tests := []struct {
		c    CaptiveConfig
		want string
	}{
		{CaptiveConfig{}, ""},
		{CaptiveConfig{Path: "/.well-known/captive-portal", UserPortalURL: "https://p.example.org/", VenueInfoURL: "http://v.example.org/"}, ""},
		{CaptiveConfig{Path: "api/captive"}, "must be an absolute path"},
		{CaptiveConfig{Path: "/"}, "must be an absolute path"},
		{CaptiveConfig{Path: "/api/:x"}, "must be an absolute path"},
		{CaptiveConfig{Path: "/accept"}, "clashes"},
		{CaptiveConfig{Path: "/static/x"}, "clashes"},
		{CaptiveConfig{Path: "/api/"}, "clashes"},
		{CaptiveConfig{UserPortalURL: "http://p.example.org/"}, "must be an absolute https URL"},
		{CaptiveConfig{VenueInfoURL: "javascript:alert(1)"}, "venue_info_url"},
	}
	for _, tt := range tests {
		var msgs []string
		for _, err := range tt.c.validate() {
			msgs = append(msgs, err.Error())
		}
		got := strings.Join(msgs, "; ")
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%+v.validate() = %q, want %q", tt.c, got, tt.want)
		}
	}
	if err := (Config{FormKey: testFormKey, Captive: CaptiveConfig{Path: "x"}}).Validate(); err == nil || !strings.Contains(err.Error(), "portal.captive_api.path") {
		t.Errorf("Config.Validate with a bad captive path = %v, want the error", err)
	}
}

// TestCaptiveRateLimit: past captivePerMinute lookups a minute from one
// address, the API answers 429 without a state (not "captive", which would
// send a client that is online back to the portal) and without a store
// read; other clients, also in the same /64, are not held up.
func TestCaptiveRateLimit(t *testing.T) {
	store := &captiveStore{fakeStore: &fakeStore{}}
	s := newCaptiveServer(t, store, nil)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	const client = "[2001:db8:1:2::1]:5000"
	for i := range captivePerMinute {
		if code, _ := askCaptive(t, s, "/api/captive", client); code != http.StatusOK {
			t.Fatalf("lookup #%d = %d, want 200", i+1, code)
		}
	}
	asked := len(store.asked)
	r := httptest.NewRequest(http.MethodGet, "/api/captive", nil)
	r.RemoteAddr = client
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "60" || w.Body.Len() != 0 || w.Header().Get("Cache-Control") != "private, no-store" {
		t.Errorf("lookup #%d = %d, Retry-After %q, Cache-Control %q, body %q; want 429 after 60 s, private, no body",
			captivePerMinute+1, w.Code, w.Header().Get("Retry-After"), w.Header().Get("Cache-Control"), w.Body)
	}
	if len(store.asked) != asked {
		t.Error("a limited lookup read the store")
	}
	if v := counterValue(t, s.m.limited.WithLabelValues("captive_api")); v != 1 {
		t.Errorf("rate_limited{what=captive_api} = %v, want 1", v)
	}
	if code, _ := askCaptive(t, s, "/api/captive", "[2001:db8:1:2::2]:5000"); code != http.StatusOK {
		t.Errorf("another client in the same /64 = %d, want 200", code)
	}
	now = now.Add(time.Minute)
	if code, _ := askCaptive(t, s, "/api/captive", client); code != http.StatusOK {
		t.Errorf("the next minute = %d, want 200", code)
	}
}
