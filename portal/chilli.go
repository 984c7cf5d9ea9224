package portal

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"hotspot/session"
)

// The CoovaChilli UAM protocol, as its redirector builds and reads URLs.
//
// The redirect to the portal is the configured uamserver URL followed by
// '?' (or '&' when the uamserver already has a query) and the parameters
// res, uamip, uamport, then challenge, called, mac, ip, ssid, nasid, lang,
// sessionid, userurl and others as they apply, each value percent-encoded
// with lower-case hex. If a uamsecret is set, the NAS takes the MD5 of that
// whole string — scheme, host, path and query, everything it is about to
// send — followed by the uamsecret, and appends "&md=" and the digest in
// upper-case hex as the last parameter. So md authenticates every byte
// before it, and nothing after it.
//
// The login back is GET http://uamip:uamport/logon?username=…&response=…
// (CHAP) or …&password=… (PAP). In both cases the NAS first turns the
// 16-byte challenge into MD5(challenge ‖ uamsecret) (the challenge itself
// when there is no uamsecret); for CHAP it forwards the 16 bytes of
// response as CHAP-Password with that value as CHAP-Challenge and identifier
// 0, for PAP it XORs the 16 bytes of password with it and sends the result
// as User-Password.

// mdLen is the length of md and of a challenge in hex.
const mdLen = 2 * md5.Size

// SignRedirect returns rawURL with CoovaChilli's md checksum appended, the
// way a NAS with the given uamsecret signs its redirect to the portal.
// rawURL must already have a query. Tests and the demo NAS simulator use it.
func SignRedirect(rawURL, uamsecret string) string {
	return rawURL + "&md=" + redirectMD(rawURL, uamsecret)
}

// redirectMD is the upper-case hex MD5 of signed followed by uamsecret.
func redirectMD(signed, uamsecret string) string {
	h := md5.New()
	h.Write([]byte(signed))
	h.Write([]byte(uamsecret))
	return strings.ToUpper(hex.EncodeToString(h.Sum(nil)))
}

// uamKey is the value the NAS mixes with the password: MD5(challenge ‖
// uamsecret), or the challenge itself when there is no uamsecret.
func uamKey(challenge []byte, uamsecret string) [md5.Size]byte {
	var k [md5.Size]byte
	if uamsecret == "" {
		copy(k[:], challenge)
		return k
	}
	h := md5.New()
	h.Write(challenge)
	h.Write([]byte(uamsecret))
	h.Sum(k[:0])
	return k
}

// CHAPResponse returns the response parameter of a CoovaChilli CHAP logon:
// lower-case hex of MD5(0x00 ‖ password ‖ MD5(challenge ‖ uamsecret)).
// The 0x00 is the CHAP identifier the NAS assumes when the logon URL does
// not name one.
func CHAPResponse(challenge []byte, uamsecret, password string) string {
	k := uamKey(challenge, uamsecret)
	h := md5.New()
	h.Write([]byte{0})
	h.Write([]byte(password))
	h.Write(k[:])
	return hex.EncodeToString(h.Sum(nil))
}

// PAPPassword returns the password parameter of a CoovaChilli PAP logon:
// lower-case hex of password XOR MD5(challenge ‖ uamsecret). The NAS
// decodes exactly 16 bytes, so a shorter password is padded with NULs
// first (RADIUS strips them from User-Password). A NAS carries no more than
// 16 bytes; a longer password is still encoded whole, the key repeated.
func PAPPassword(challenge []byte, uamsecret, password string) string {
	k := uamKey(challenge, uamsecret)
	b := make([]byte, max(len(password), md5.Size))
	copy(b, password)
	for i := range b {
		b[i] ^= k[i%md5.Size]
	}
	return hex.EncodeToString(b)
}

// splitMD splits a raw query at CoovaChilli's md parameter: signed is
// everything before "&md=", md its value and tail whatever follows it.
// ok is false when there is no md.
func splitMD(rawQuery string) (signed, md, tail string, ok bool) {
	i := strings.Index(rawQuery, "&md=")
	if i < 0 {
		return "", "", "", false
	}
	signed, rest := rawQuery[:i], rawQuery[i+len("&md="):]
	md, tail, _ = strings.Cut(rest, "&")
	return signed, md, tail, true
}

// tailIsLang reports whether the unsigned tail after md holds nothing but
// lang parameters: the portal's own language switch appends them, and
// anything else there was not sent by the NAS.
func tailIsLang(tail string) bool {
	if tail == "" {
		return true
	}
	for p := range strings.SplitSeq(tail, "&") {
		if p != "" && !strings.HasPrefix(p, "lang=") {
			return false
		}
	}
	return true
}

// checkMD reports whether md is the checksum of one of the URLs the NAS may
// have built: base (scheme://host) + path + "?" + signed, or, when the path
// is "/", the same without the slash, since a uamserver configured as
// "https://host" reaches us as "/". md may be in either letter case.
func checkMD(base, path, signed, md, uamsecret string) bool {
	if len(md) != mdLen {
		return false
	}
	got := []byte(strings.ToUpper(md))
	candidates := []string{base + path + "?" + signed}
	if path == "/" {
		candidates = append(candidates, base+"?"+signed)
	}
	ok := 0
	for _, c := range candidates {
		ok |= subtle.ConstantTimeCompare(got, []byte(redirectMD(c, uamsecret)))
	}
	return ok == 1
}

// redirect is a CoovaChilli redirect to the portal whose md checked out,
// or a MikroTik login page's hand-over (mikrotik.go).
type redirect struct {
	res    string
	mac    session.MAC
	hasMAC bool
	// unsigned: the NAS did not sign the MAC (a MikroTik's page), so
	// nothing of that device's is shown.
	unsigned  bool
	uamip     netip.Addr
	uamport   uint16
	challenge []byte // 16 bytes (a MikroTik's: chap-id, then its challenge), or nil when absent
	userURL   string // a validated http(s) URL, or ""
	ssid      string // the network's name, which may choose the policy
}

// The res values CoovaChilli sends that have their own page; anything else
// (notyet, failed, logoff, wispr, splash, …) gets the terms.
const (
	resSuccess = "success"
	resAlready = "already"
)

// errMalformed marks a signed redirect whose parameters do not parse.
var errMalformed = errors.New("portal: malformed redirect parameters")

// singleParams are the parameters we act on; each may appear at most once,
// so no two parsers can disagree about which one counts.
var singleParams = []string{"res", "uamip", "uamport", "challenge", "mac", "userurl", "nasid", "ssid"}

// maxSSID is the longest SSID, in bytes (IEEE 802.11).
const maxSSID = 32

// parseRedirect validates the parameters of a signed redirect. The terms
// page needs mac and challenge; the status pages only uamip and uamport.
// An invalid userurl is dropped, not refused: it only ever becomes a link.
func parseRedirect(q url.Values) (redirect, error) {
	var r redirect
	for _, k := range singleParams {
		if len(q[k]) > 1 {
			return r, errMalformed
		}
	}
	r.res = q.Get("res")
	ip, err := netip.ParseAddr(q.Get("uamip"))
	if err != nil || ip.Zone() != "" || ip.IsUnspecified() {
		return r, errMalformed
	}
	r.uamip = ip.Unmap()
	port, ok := parsePort(q.Get("uamport"))
	if !ok {
		return r, errMalformed
	}
	r.uamport = port
	if s := q.Get("mac"); s != "" {
		m, err := session.ParseMAC(s)
		if err != nil || m.IsZero() {
			return r, errMalformed
		}
		r.mac, r.hasMAC = m, true
	}
	if s := q.Get("challenge"); s != "" {
		c, ok := parseChallenge(s)
		if !ok {
			return r, errMalformed
		}
		r.challenge = c
	}
	if u := q.Get("userurl"); isWebURL(u) {
		r.userURL = u
	}
	if r.ssid = q.Get("ssid"); len(r.ssid) > maxSSID {
		return r, errMalformed
	}
	if r.res != resSuccess && r.res != resAlready && (!r.hasMAC || r.challenge == nil) {
		return r, errMalformed
	}
	return r, nil
}

// parsePort accepts a decimal port 1..65535.
func parsePort(s string) (uint16, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, false
	}
	return uint16(n), true
}

// parseChallenge accepts 32 hex digits, CoovaChilli's 16-byte challenge.
func parseChallenge(s string) ([]byte, bool) {
	if len(s) != mdLen {
		return nil, false
	}
	b, err := hex.DecodeString(s)
	return b, err == nil
}

// maxUserURL bounds the userurl we carry and show.
const maxUserURL = 2048

// isWebURL reports whether s is an absolute http or https URL with a host,
// no user info and no spaces or control characters: the only kind of URL
// the portal ever puts into a link or hands back to the NAS, so a redirect
// can never carry javascript:, data: or a look-alike "user@host".
func isWebURL(s string) bool {
	if s == "" || len(s) > maxUserURL || strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r == 0x7f || r == '\\'
	}) {
		return false
	}
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	return (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil &&
		u.Opaque == "" && u.Hostname() != ""
}

// logonURL is where the browser goes after accepting: the NAS's logon
// endpoint with the grant's username and the CHAP response or the PAP
// password, and the page's language, which CoovaChilli keeps and sends back
// in its next redirect (res=success), so the person stays in the language
// they chose. Values are percent-encoded without '+' for spaces, since the
// NAS decodes only %XX.
func logonURL(f *acceptForm, g session.Grant, lang string) string {
	var b strings.Builder
	b.WriteString("http://")
	b.WriteString(netip.AddrPortFrom(f.uamip, f.uamport).String())
	b.WriteString("/logon?username=")
	b.WriteString(uamEscape(g.Username))
	if f.nas.Login == session.LoginPAP {
		b.WriteString("&password=")
		b.WriteString(PAPPassword(f.challenge, f.nas.UAMSecret, g.Password))
	} else {
		b.WriteString("&response=")
		b.WriteString(CHAPResponse(f.challenge, f.nas.UAMSecret, g.Password))
	}
	if f.UserURL != "" {
		b.WriteString("&userurl=")
		b.WriteString(uamEscape(f.UserURL))
	}
	if lang != "" {
		b.WriteString("&lang=")
		b.WriteString(uamEscape(lang))
	}
	return b.String()
}

// uamEscape percent-encodes every byte but the RFC 3986 unreserved ones.
func uamEscape(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
		}
	}
	return b.String()
}
