package portal

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"hotspot/session"
)

// A MikroTik hotspot shows its own login.html to a device that is not
// logged in. The operator replaces that page with one that sends the
// browser on to GET /mikrotik here (deploy/mikrotik/login.html), passing
// the servlet's variables: identity (the router's identity), mac,
// link-orig (the page the person wanted) and, for HTTP-CHAP, chap-id and
// chap-challenge, written as MikroTik writes them into pages: each byte a
// backslash and three octal digits.
//
// Nothing signs these parameters, unlike CoovaChilli's md, so whoever
// sends the request chooses the MAC. The portal therefore takes a
// MikroTik's pages, and the accept forms they lead to, only from the NAS's
// own networks: the router masquerades its clients, so they reach the
// portal from its address, and nobody elsewhere on the internet can make
// the portal write to Redis. From behind the router a client can still
// name any MAC: it can accept the terms on another device's behalf (the
// grant and the remembered device are that MAC's), but not read what
// another device has left (MikroTik pages show no allowance), and the
// grants made through one router are bounded per minute
// (mikrotikAcceptsPerMinute). The browser is only ever sent to the NAS's
// configured login_url, never to an address from the request.
//
// After the terms are accepted, the browser goes to login_url with
// username, password and dst (the page it wanted): the password is, for
// HTTP-CHAP, hex(MD5(chap-id || password || chap-challenge)), as the
// router's own page computes it in JavaScript, and the router sends it to
// RADIUS as CHAP-Password; for HTTP-PAP it is the grant's password itself.

// mikrotikParams are the parameters of a MikroTik login page we act on;
// each may appear at most once.
var mikrotikParams = []string{"identity", "mac", "link-orig", "chap-id", "chap-challenge"}

// The lengths a CHAP challenge may have, in bytes. RouterOS sends 16; RADIUS
// (RFC 2865) allows any length from 5 on.
const (
	minCHAPChallenge = 5
	maxCHAPChallenge = 64
)

// isMikroTik reports whether the portal serves nas's MikroTik login page.
func isMikroTik(nas *session.NAS) bool {
	return nas.Kind == session.KindMikrotik && nas.LoginURL != ""
}

// mikrotik is GET /mikrotik: the browser sent on by a MikroTik hotspot's
// login page.
func (s *Server) mikrotik(c *gin.Context) {
	r := c.Request
	raw := r.URL.RawQuery
	q, qerr := url.ParseQuery(raw)
	cat := s.langs.pick(lastLang(q["lang"]), r.Header.Get("Accept-Language"))
	v := s.newView(cat, raw, true)
	if qerr != nil || len(raw) > maxQuery {
		s.fail(c, http.StatusBadRequest, v)
		return
	}
	nas, ok := s.findMikroTik(c.ClientIP())
	if !ok {
		s.log.Info("portal: MikroTik login page from outside every MikroTik NAS's networks",
			"identity", truncate(q.Get("identity"), 64), "from", c.ClientIP())
		s.fail(c, http.StatusForbidden, v)
		return
	}
	if id := q.Get("identity"); id != "" && nas.Identifier != "" && id != nas.Identifier {
		s.log.Info("portal: MikroTik login page names another identity than its NAS's identifier", "nas", nas.Name, "identity", truncate(id, 64))
		s.fail(c, http.StatusBadRequest, v)
		return
	}
	rd, err := parseMikroTik(q, nas.Login)
	if err != nil {
		s.log.Info("portal: malformed MikroTik login page parameters (HTTP-CHAP needs chap-id and chap-challenge)", "nas", nas.Name)
		s.fail(c, http.StatusBadRequest, v)
		return
	}
	// The MAC is the request's word only: no allowance of it is shown.
	rd.unsigned = true
	s.showRedirect(c, nas, rd, v)
}

// findMikroTik finds the NAS of a MikroTik login page, or of the accept
// form it led to, by the address the request comes from (the router's,
// which masquerades its clients). Only a MikroTik NAS with a login_url
// will do.
func (s *Server) findMikroTik(clientIP string) (*session.NAS, bool) {
	return s.nasOf("", []string{clientIP}, isMikroTik)
}

// parseMikroTik validates a MikroTik login page's parameters. With
// HTTP-CHAP (login chap) the redirect's challenge is chap-id followed by
// chap-challenge; with HTTP-PAP there is none.
func parseMikroTik(q url.Values, login session.LoginMethod) (redirect, error) {
	var r redirect
	for _, k := range mikrotikParams {
		if len(q[k]) > 1 {
			return r, errMalformed
		}
	}
	m, err := session.ParseMAC(q.Get("mac"))
	if err != nil || m.IsZero() {
		return r, errMalformed
	}
	r.mac, r.hasMAC = m, true
	if u := q.Get("link-orig"); isWebURL(u) {
		r.userURL = u
	}
	if login == session.LoginPAP {
		return r, nil
	}
	id, ok1 := decodeMikroTik(q.Get("chap-id"))
	ch, ok2 := decodeMikroTik(q.Get("chap-challenge"))
	if !ok1 || !ok2 || len(id) != 1 || len(ch) < minCHAPChallenge || len(ch) > maxCHAPChallenge {
		return r, errMalformed
	}
	r.challenge = append(id, ch...)
	return r, nil
}

// decodeMikroTik decodes a byte string as RouterOS writes it into pages:
// "\ooo" (three octal digits) for a byte, printable ASCII as itself.
func decodeMikroTik(s string) ([]byte, bool) {
	if len(s) > 4*maxCHAPChallenge {
		return nil, false
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+4 > len(s) {
				return nil, false
			}
			v := 0
			for _, d := range []byte(s[i+1 : i+4]) {
				if d < '0' || d > '7' {
					return nil, false
				}
				v = v*8 + int(d-'0')
			}
			if v > 0xff {
				return nil, false
			}
			b = append(b, byte(v))
			i += 3
		case c > ' ' && c < 0x7f:
			b = append(b, c)
		default:
			return nil, false
		}
	}
	return b, true
}

// parseFormCHAP reads an accept form's challenge for a MikroTik NAS: hex
// of chap-id and chap-challenge with HTTP-CHAP, empty with HTTP-PAP.
func parseFormCHAP(nas *session.NAS, s string) ([]byte, bool) {
	if nas.Login == session.LoginPAP {
		return nil, s == ""
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) < 1+minCHAPChallenge || len(b) > 1+maxCHAPChallenge {
		return nil, false
	}
	return b, true
}

// mikrotikLoginURL is where the browser goes after accepting: the NAS's
// login_url with the grant's username, the password as the login method
// wants it, and dst, the page the person wanted.
func mikrotikLoginURL(f *acceptForm, g session.Grant) string {
	var b strings.Builder
	b.WriteString(f.nas.LoginURL)
	b.WriteString("?username=")
	b.WriteString(uamEscape(g.Username))
	b.WriteString("&password=")
	if f.nas.Login == session.LoginPAP {
		b.WriteString(uamEscape(g.Password))
	} else {
		b.WriteString(MikroTikCHAP(f.challenge[0], f.challenge[1:], g.Password))
	}
	if f.UserURL != "" {
		b.WriteString("&dst=")
		b.WriteString(uamEscape(f.UserURL))
	}
	return b.String()
}

// MikroTikCHAP is the password a MikroTik HTTP-CHAP login sends:
// hex(MD5(id || password || challenge)), the CHAP response (RFC 1994) the
// router passes on to RADIUS.
func MikroTikCHAP(id byte, challenge []byte, password string) string {
	h := md5.New()
	h.Write([]byte{id})
	h.Write([]byte(password))
	h.Write(challenge)
	return hex.EncodeToString(h.Sum(nil))
}
