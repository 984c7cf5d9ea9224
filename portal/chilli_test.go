package portal

import (
	"crypto/md5"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The vectors marked "cgi" were computed outside Go, with Perl's
// Digest::MD5 following the formulas of CoovaChilli's sample portal
// (newchal = md5(challenge, uamsecret); response = md5_hex("\0", password,
// newchal); password = unpack "H*", password ^ newchal). Checked by hand
// for the PAP case: the NAS XORs our hex-decoded 16 bytes with the same
// newchal, and x ^ k ^ k = x gives the password back.

func TestCHAPResponse(t *testing.T) {
	chal := mustHex(t, "000102030405060708090a0b0c0d0e0f")
	tests := []struct {
		name, secret, password, want string
	}{
		{"cgi vector", "testing123", "hunter2hunter2ab", "347e8e770fbadf37fa05ccb23b742079"},
		{"cgi short password", "testing123", "abc", "64a837af7fc2d0ee0ffbc61b635080b6"},
		{"cgi grant", chapSecret, testGrant.Password, "a9846065d75be7f313e3d50bd1cec94e"},
		{"no uamsecret", "", "pw", independentCHAP(chal, "pw")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CHAPResponse(chal, tt.secret, tt.password); got != tt.want {
				t.Errorf("CHAPResponse(%x, %q, %q) = %s, want %s", chal, tt.secret, tt.password, got, tt.want)
			}
		})
	}
	// And against crypto/md5 directly, for a spread of inputs.
	for _, pw := range []string{"", "x", "0123456789abcdef", "a longer password than sixteen"} {
		key := md5.Sum(append(append([]byte{}, chal...), "s3cr3t"...))
		want := independentCHAP(key[:], pw)
		if got := CHAPResponse(chal, "s3cr3t", pw); got != want {
			t.Errorf("CHAPResponse(%x, s3cr3t, %q) = %s, want %s", chal, pw, got, want)
		}
	}
}

// independentCHAP is the CHAP response written out with crypto/md5 for a
// given key (MD5(challenge ‖ uamsecret), or the challenge without secret).
func independentCHAP(key []byte, pw string) string {
	b := append([]byte{0}, pw...)
	b = append(b, key...)
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

func TestPAPPassword(t *testing.T) {
	chal := mustHex(t, "000102030405060708090a0b0c0d0e0f")
	tests := []struct {
		name, secret, password, want string
	}{
		{"cgi vector", "testing123", "hunter2hunter2ab", "c097ba7dc5bff0f4bf9fc9ae57739612"},
		// Padded with NULs to 16 bytes: the tail is the key itself.
		{"cgi short password padded", "testing123", "abc", "c980b709a0cdc29ccaf1bdcb2541f770"},
		{"cgi grant", papSecret, testGrant.Password, "542cac7da2687dbe33cac0321af87111"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PAPPassword(chal, tt.secret, tt.password); got != tt.want {
				t.Errorf("PAPPassword(%x, %q, %q) = %s, want %s", chal, tt.secret, tt.password, got, tt.want)
			}
		})
	}
	// What the NAS does with it: decode, XOR with the key, strip NULs.
	for _, pw := range []string{"a", "0123456789abcdef", "hs-password"} {
		enc := PAPPassword(chal, "s3cr3t", pw)
		b := mustHex(t, enc)
		key := md5.Sum(append(append([]byte{}, chal...), "s3cr3t"...))
		for i := range b {
			b[i] ^= key[i%16]
		}
		if got := strings.TrimRight(string(b), "\x00"); got != pw || len(b) < 16 {
			t.Errorf("decode(PAPPassword(%q)) = %q (%d bytes), want %q (≥16 bytes)", pw, got, len(b), pw)
		}
	}
}

func TestSignRedirect(t *testing.T) {
	// md computed with Perl: uc(md5_hex(url . "uamsecret")).
	u := "http://portal.example.org/?res=notyet&uamip=10.1.0.1&uamport=3990&challenge=000102030405060708090a0b0c0d0e0f" +
		"&called=00-11-22-33-44-55&mac=AA-BB-CC-DD-EE-FF&ip=10.1.0.23&nasid=leipzig-1&sessionid=5f3a0c2e00000001" +
		"&userurl=http%3a%2f%2fexample.com%2f"
	want := u + "&md=595E7FE8491CA1D320D498DFB8EE9126"
	if got := SignRedirect(u, "uamsecret"); got != want {
		t.Errorf("SignRedirect(%q, uamsecret) = %q, want %q", u, got, want)
	}
}

func TestCheckMD(t *testing.T) {
	const secret = "s"
	q := "res=notyet&uamip=10.1.0.1"
	good := redirectMD("http://p.test/?"+q, secret)
	tests := []struct {
		name, base, path, signed, md string
		want                         bool
	}{
		{"good", "http://p.test", "/", q, good, true},
		{"lower case", "http://p.test", "/", q, strings.ToLower(good), true},
		{"uamserver without slash", "http://p.test", "/", q, redirectMD("http://p.test?"+q, secret), true},
		{"other host", "http://q.test", "/", q, good, false},
		{"other scheme", "https://p.test", "/", q, good, false},
		{"other path", "http://p.test", "/x", q, good, false},
		{"param changed", "http://p.test", "/", q + "2", good, false},
		{"short", "http://p.test", "/", q, good[:31], false},
		{"empty", "http://p.test", "/", q, "", false},
		{"other secret", "http://p.test", "/", q, redirectMD("http://p.test/?"+q, "t"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkMD(tt.base, tt.path, tt.signed, tt.md, secret); got != tt.want {
				t.Errorf("checkMD(%q, %q, %q, %q) = %v, want %v", tt.base, tt.path, tt.signed, tt.md, got, tt.want)
			}
		})
	}
}

func TestSplitMD(t *testing.T) {
	tests := []struct {
		in, signed, md, tail string
		ok                   bool
	}{
		{"a=1&md=AB", "a=1", "AB", "", true},
		{"a=1&md=AB&lang=en", "a=1", "AB", "lang=en", true},
		{"a=1", "", "", "", false},
		{"md=AB", "", "", "", false},
		{"a=1&md=AB&md=CD", "a=1", "AB", "md=CD", true},
	}
	for _, tt := range tests {
		signed, md, tail, ok := splitMD(tt.in)
		if signed != tt.signed || md != tt.md || tail != tt.tail || ok != tt.ok {
			t.Errorf("splitMD(%q) = %q, %q, %q, %v, want %q, %q, %q, %v",
				tt.in, signed, md, tail, ok, tt.signed, tt.md, tt.tail, tt.ok)
		}
	}
}

func TestParseRedirect(t *testing.T) {
	tests := []struct {
		name    string
		over    map[string]string
		ok      bool
		userURL string
	}{
		{"good", nil, true, testUserURL},
		{"mac with colons", map[string]string{"mac": "aa:bb:cc:dd:ee:ff"}, true, testUserURL},
		{"bad mac", map[string]string{"mac": "AA-BB-CC-DD-EE-GG"}, false, ""},
		{"zero mac", map[string]string{"mac": "00-00-00-00-00-00"}, false, ""},
		{"no mac", map[string]string{"mac": "-"}, false, ""},
		{"short challenge", map[string]string{"challenge": testChallenge[:31]}, false, ""},
		{"long challenge", map[string]string{"challenge": testChallenge + "00"}, false, ""},
		{"non-hex challenge", map[string]string{"challenge": strings.Repeat("zz", 16)}, false, ""},
		{"no challenge", map[string]string{"challenge": "-"}, false, ""},
		{"port 0", map[string]string{"uamport": "0"}, false, ""},
		{"port too big", map[string]string{"uamport": "65536"}, false, ""},
		{"port sign", map[string]string{"uamport": "+3990"}, false, ""},
		{"port word", map[string]string{"uamport": "http"}, false, ""},
		{"bad uamip", map[string]string{"uamip": "10.1.0"}, false, ""},
		{"uamip zone", map[string]string{"uamip": "fe80::1%eth0"}, false, ""},
		{"uamip unspecified", map[string]string{"uamip": "0.0.0.0"}, false, ""},
		{"javascript userurl", map[string]string{"userurl": "javascript:alert(1)"}, true, ""},
		{"data userurl", map[string]string{"userurl": "data:text/html,hi"}, true, ""},
		{"scheme-relative userurl", map[string]string{"userurl": "//evil.example/"}, true, ""},
		{"userinfo userurl", map[string]string{"userurl": "http://bank.example@evil.example/"}, true, ""},
		{"relative userurl", map[string]string{"userurl": "/news"}, true, ""},
		{"spaced userurl", map[string]string{"userurl": "http://example.com/a b"}, true, ""},
		{"https userurl", map[string]string{"userurl": "https://example.com/"}, true, "https://example.com/"},
		{"success needs no mac", map[string]string{"res": "success", "mac": "-", "challenge": "-"}, true, testUserURL},
		{"success bad mac", map[string]string{"res": "success", "mac": "x"}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := url.Values{}
			for k, v := range redirectParams(tt.over) {
				q.Set(k, v)
			}
			r, err := parseRedirect(q)
			if (err == nil) != tt.ok {
				t.Fatalf("parseRedirect(%v) = %v, want ok %v", tt.over, err, tt.ok)
			}
			if err == nil && r.userURL != tt.userURL {
				t.Errorf("parseRedirect(%v).userURL = %q, want %q", tt.over, r.userURL, tt.userURL)
			}
		})
	}
	q := url.Values{"mac": {testMAC, "11-22-33-44-55-66"}}
	for k, v := range redirectParams(map[string]string{"mac": "-"}) {
		q.Set(k, v)
	}
	if _, err := parseRedirect(q); err == nil {
		t.Errorf("parseRedirect(two macs) = nil, want an error")
	}
}

func TestUAMEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hs-abc_1.2~", "hs-abc_1.2~"},
		{"http://x/?a=1&b=2 c+d", "http%3A%2F%2Fx%2F%3Fa%3D1%26b%3D2%20c%2Bd"},
		{"ä", "%C3%A4"},
	}
	for _, tt := range tests {
		if got := uamEscape(tt.in); got != tt.want {
			t.Errorf("uamEscape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
