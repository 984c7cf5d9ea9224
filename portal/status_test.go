package portal

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"hotspot/session"
)

// A day's quota as session reports it, and the same used up.
var (
	dayLeft = session.DeviceStatus{
		DataUsed: 38 * mebibyte, DataLimit: 100 * mebibyte, DataRemaining: 62 * mebibyte,
		TimeLimit: 2 * time.Hour, TimeUsed: 40 * time.Minute, TimeRemaining: 80 * time.Minute,
		WindowEnd: time.Date(2025, 6, 1, 22, 0, 0, 0, time.UTC), // midnight in Berlin
	}
	dayUsedUp = func(action string) session.DeviceStatus {
		st := dayLeft
		st.DataUsed, st.DataRemaining, st.QuotaExceeded, st.Action = st.DataLimit, 0, true, action
		return st
	}
)

func TestStatusPages(t *testing.T) {
	unavailable := fmt.Errorf("%w: device status: dial tcp: connection refused", session.ErrUnavailable)
	tests := []struct {
		name     string
		over     map[string]string
		lang     string
		st       session.DeviceStatus
		err      error
		code     int
		contains []string
		absent   []string
	}{
		{"success with numbers", map[string]string{"res": "success"}, "de", dayLeft, nil, 200,
			[]string{"Sie sind online", "Datenvolumen übrig", "62 MB von 100 MB", "1 Stunde 20 Minuten",
				"02.06.2025, 00:00 Uhr", `href="http://example.com/news?id=1&amp;x=2"`},
			[]string{"<form", "Kontingent aufgebraucht"}},
		{"already in English", map[string]string{"res": "already"}, "en", dayLeft, nil, 200,
			[]string{"You are already online", "62 MB of 100 MB", "1 hour 20 minutes", "02/06/2025, 00:00", "Log out"}, nil},
		{"already in Arabic", map[string]string{"res": "already"}, "ar", dayLeft, nil, 200,
			[]string{`dir="rtl"`, "٦٢ ميغابايت من ١٠٠ ميغابايت", "٠٢/٠٦/٢٠٢٥، ٠٠:٠٠"}, nil},
		{"unlimited", map[string]string{"res": "already"}, "de", session.DeviceStatus{DataRemaining: -1, TimeRemaining: -1}, nil, 200,
			[]string{"Sie sind bereits online"}, []string{"Ihr Kontingent", "<dl"}},
		{"data only", map[string]string{"res": "already"}, "de",
			session.DeviceStatus{DataLimit: gibibyte, DataRemaining: gibibyte / 4, TimeRemaining: -1, WindowEnd: dayLeft.WindowEnd}, nil, 200,
			[]string{"256 MB von 1 GB", "Neues Kontingent ab"}, []string{"Online-Zeit übrig"}},
		{"already, throttled", map[string]string{"res": "already"}, "de", dayUsedUp("throttle"), nil, 200,
			[]string{"verringerter Geschwindigkeit", "0 MB von 100 MB"}, []string{"<form"}},
		{"status error shows the page without numbers", map[string]string{"res": "success"}, "de", session.DeviceStatus{},
			errors.New("session: device status: bad record"), 200, []string{"Sie sind online"}, []string{"Ihr Kontingent"}},
		{"store down", map[string]string{"res": "already"}, "de", session.DeviceStatus{}, unavailable, 503,
			[]string{"Dienst vorübergehend nicht verfügbar", "Noch einmal versuchen"}, []string{"<form"}},
		{"no mac: no numbers, no store call", map[string]string{"res": "already", "mac": "-"}, "de", dayLeft, unavailable, 200,
			[]string{"Sie sind bereits online"}, []string{"Ihr Kontingent"}},
		{"quota used up instead of terms", nil, "de", dayUsedUp("disconnect"), nil, 200,
			[]string{"Kontingent aufgebraucht", "Ab 02.06.2025, 00:00 Uhr können Sie wieder kostenlos surfen."},
			[]string{"<form", "Akzeptieren und verbinden", "Langsam weitersurfen"}},
		{"quota used up, throttle offers slow access", nil, "en", dayUsedUp("throttle"), nil, 200,
			[]string{"Allowance used up", "Continue at reduced speed", `action="/accept"`, `name="token"`}, nil},
		{"time used up, throttle cannot help", nil, "en",
			func() session.DeviceStatus {
				st := dayUsedUp("throttle")
				st.TimeRemaining = 0
				return st
			}(), nil, 200,
			[]string{"Allowance used up"}, []string{"<form"}},
		{"terms when quota is left", nil, "de", dayLeft, nil, 200, []string{"Akzeptieren und verbinden"}, []string{"Kontingent aufgebraucht"}},
		{"terms when status fails otherwise", nil, "de", session.DeviceStatus{}, errors.New("session: boom"), 200,
			[]string{"Akzeptieren und verbinden"}, nil},
		{"terms when store down", nil, "de", session.DeviceStatus{}, unavailable, 503,
			[]string{"Dienst vorübergehend nicht verfügbar"}, []string{"<form"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, nil)
			env.store.status, env.store.statusErr = tt.st, tt.err
			target := signed(tt.over) + "&lang=" + tt.lang
			w := env.get(target)
			if w.Code != tt.code {
				t.Fatalf("GET %s = %d, want %d\n%s", target, w.Code, tt.code, w.Body)
			}
			body := w.Body.String()
			for _, s := range tt.contains {
				if !strings.Contains(body, s) {
					t.Errorf("GET %s: page lacks %q\n%s", tt.name, s, body)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(body, s) {
					t.Errorf("GET %s: page has %q", tt.name, s)
				}
			}
			if tt.code == http.StatusServiceUnavailable {
				if got := counterValue(t, env.s.m.storeErrors); got != 1 {
					t.Errorf("store errors = %v, want 1", got)
				}
				if w.Header().Get("Retry-After") == "" {
					t.Errorf("503 without Retry-After")
				}
				// The retry link is the same signed redirect.
				m := retryRE.FindStringSubmatch(body)
				if m == nil {
					t.Fatalf("503 page has no retry link:\n%s", body)
				}
				env.store.statusErr = nil
				if w := env.get(portalBase + strings.ReplaceAll(m[1], "&amp;", "&")); w.Code != http.StatusOK {
					t.Errorf("following the retry link = %d, want 200", w.Code)
				}
			}
		})
	}
}

var retryRE = regexp.MustCompile(`<a href="(\?[^"]+)">Noch einmal versuchen</a>`)

// TestStatusWhere: the store is asked about the redirect's NAS and SSID.
func TestStatusWhere(t *testing.T) {
	env := newEnv(t, nil)
	env.get(signed(map[string]string{"res": "already", "ssid": "Leipzig Free"}))
	want := session.Where{NAS: "square-chap", SSID: "Leipzig Free"}
	if len(env.store.wheres) != 1 || env.store.wheres[0] != want {
		t.Errorf("DeviceStatus calls = %+v, want one with %+v", env.store.wheres, want)
	}
	if w := env.get(signed(map[string]string{"ssid": strings.Repeat("x", 33)})); w.Code != http.StatusBadRequest {
		t.Errorf("GET with a 33-byte ssid = %d, want 400", w.Code)
	}
}

// TestQuotaThrottleAccept: the quota page's form is a real accept form.
func TestQuotaThrottleAccept(t *testing.T) {
	env := newEnv(t, nil)
	env.store.status = dayUsedUp("throttle")
	form := env.termsForm(t, signed(nil), chapClient)
	if w := env.post(form); w.Code != http.StatusSeeOther {
		t.Errorf("POST the quota page's form = %d, want 303", w.Code)
	}
}
