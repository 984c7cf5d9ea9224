package portal

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestAcceptToken(t *testing.T) {
	set := func(k, v string) func(url.Values) { return func(f url.Values) { f.Set(k, v) } }
	tests := []struct {
		name   string
		mutate func(url.Values)
		after  time.Duration // clock moved by this much before the POST
		want   int
	}{
		{"genuine", func(url.Values) {}, 0, http.StatusSeeOther},
		{"genuine, 14 minutes later", func(url.Values) {}, 14 * time.Minute, http.StatusSeeOther},
		{"token tampered", func(f url.Values) {
			tok := []byte(f.Get("token"))
			tok[0] ^= 1
			f.Set("token", string(tok))
		}, 0, http.StatusForbidden},
		{"token missing", func(f url.Values) { f.Del("token") }, 0, http.StatusForbidden},
		{"token not base64", set("token", "!!!"), 0, http.StatusForbidden},
		{"expired", func(url.Values) {}, 16 * time.Minute, http.StatusForbidden},
		{"issued in the future", func(url.Values) {}, -2 * time.Minute, http.StatusForbidden},
		{"issued time changed", func(f url.Values) { f.Set("ts", f.Get("ts")+"0") }, 0, http.StatusForbidden},
		{"mac changed", set("mac", "11-22-33-44-55-66"), 0, http.StatusForbidden},
		{"mac respelled", set("mac", strings.ToLower(testMAC)), 0, http.StatusForbidden},
		{"userurl changed", set("userurl", "http://evil.example/"), 0, http.StatusForbidden},
		{"uamip changed", set("uamip", "10.1.0.2"), 0, http.StatusForbidden},
		{"uamport changed", set("uamport", "3991"), 0, http.StatusForbidden},
		{"challenge changed", set("challenge", strings.Repeat("ff", 16)), 0, http.StatusForbidden},
		{"nas changed", set("nas", "tram-pap"), 0, http.StatusForbidden},
		{"field moved into another", func(f url.Values) {
			f.Set("nas", f.Get("nas")+f.Get("mac"))
			f.Set("mac", "")
		}, 0, http.StatusForbidden},
		{"token twice", func(f url.Values) { f.Add("token", f.Get("token")) }, 0, http.StatusBadRequest},
		{"empty form", func(f url.Values) {
			for k := range f {
				f.Del(k)
			}
		}, 0, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, nil)
			form := env.termsForm(t, signed(nil), chapClient)
			tt.mutate(form)
			env.now = env.now.Add(tt.after)
			w := env.post(form)
			if w.Code != tt.want {
				t.Fatalf("POST /accept (%s) = %d, want %d\n%s", tt.name, w.Code, tt.want, w.Body)
			}
			wantCalls := 0
			if tt.want == http.StatusSeeOther {
				wantCalls = 1
			}
			if n := env.store.count(); n != wantCalls {
				t.Errorf("POST /accept (%s): CreateGrant called %d times, want %d", tt.name, n, wantCalls)
			}
			if tt.want == http.StatusForbidden && !strings.Contains(w.Body.String(), "Dieser Link ist nicht gültig") {
				t.Errorf("POST /accept (%s): 403 page lacks its explanation", tt.name)
			}
		})
	}
}

// TestAcceptOtherBodies feeds bodies that are not our form at all.
func TestAcceptOtherBodies(t *testing.T) {
	tests := []struct {
		name, ctype, body string
		want              int
	}{
		{"json", "application/json", `{"token":"x"}`, http.StatusForbidden},
		{"bad escape", "application/x-www-form-urlencoded", "token=%zz", http.StatusBadRequest},
		{"too big", "application/x-www-form-urlencoded", "a=" + strings.Repeat("x", maxFormBytes), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, nil)
			w := env.postRaw(tt.body, "Content-Type", tt.ctype)
			if w.Code != tt.want {
				t.Errorf("POST /accept %s = %d, want %d", tt.name, w.Code, tt.want)
			}
			if env.store.count() != 0 {
				t.Errorf("POST /accept %s stored a grant", tt.name)
			}
		})
	}
}

// TestAcceptRemovedNAS: a form signed for a NAS that has since left the
// config (another instance, a reload) is refused, not sent to a stranger.
func TestAcceptRemovedNAS(t *testing.T) {
	env := newEnv(t, nil)
	f := &acceptForm{NAS: "gone", MAC: testMAC, UAMIP: "10.1.0.1", UAMPort: "3990", Challenge: testChallenge,
		Issued: "1748779200"} // t0
	v := url.Values{}
	for i, k := range formFields {
		v.Set(k, f.values()[i])
	}
	v.Set("token", base64Token(env.s.sign(f)))
	if w := env.post(v); w.Code != http.StatusBadRequest {
		t.Errorf("POST /accept for a removed NAS = %d, want 400", w.Code)
	}
}
