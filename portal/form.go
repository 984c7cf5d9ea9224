package portal

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"net/url"
	"strconv"
	"time"

	"hotspot/session"
)

// The accept form does not carry md and the original URL for a second md
// check. Instead the portal, after checking md on GET /, signs every value
// the logon needs (NAS, MAC, uamip, uamport, challenge, userurl) together
// with the time it rendered the form, with HMAC-SHA256 under FormKey. The
// token therefore proves both that the values came from a redirect whose md
// was good and that the form is fresh, without depending on the Host header
// of a second request, and it guards the POST against cross-site forgery:
// a third-party page cannot mint a token. No cookie is needed. A MikroTik's
// page is not signed (mikrotik.go): its token proves only that the portal
// rendered the form, from behind that router, and its accept is taken only
// from there too.

const (
	// tokenTTL is how long an accept form stays valid.
	tokenTTL = 15 * time.Minute
	// tokenSkew tolerates clocks of portal instances a little ahead of
	// each other.
	tokenSkew = time.Minute
	// tokenContext separates these MACs from any other use of FormKey.
	tokenContext = "hotspot/portal/accept/v1"
)

// formFields are the names of the accept form's signed fields, in signing
// order.
var formFields = []string{"nas", "mac", "uamip", "uamport", "challenge", "userurl", "ts"}

var (
	// errBadToken marks a form whose token is missing, forged or expired.
	errBadToken = errors.New("portal: accept form token is not valid")
)

// acceptForm is what the accept form carries. The exported fields are the
// hidden inputs exactly as rendered; the unexported ones are parsed from
// them once the token checked out.
type acceptForm struct {
	NAS       string
	MAC       string
	UAMIP     string
	UAMPort   string
	Challenge string
	UserURL   string
	Issued    string // unix seconds
	Token     string

	nas       *session.NAS
	mac       session.MAC
	uamip     netip.Addr
	uamport   uint16
	challenge []byte
}

func (f *acceptForm) values() []string {
	return []string{f.NAS, f.MAC, f.UAMIP, f.UAMPort, f.Challenge, f.UserURL, f.Issued}
}

// sign returns the token's MAC over f's values: HMAC-SHA256 of a context
// string and each value with its length in front, so no two different forms
// sign the same bytes.
func (s *Server) sign(f *acceptForm) []byte {
	m := hmac.New(sha256.New, s.formKey)
	m.Write([]byte(tokenContext))
	var n [binary.MaxVarintLen64]byte
	for _, v := range f.values() {
		m.Write(n[:binary.PutUvarint(n[:], uint64(len(v)))])
		m.Write([]byte(v))
	}
	return m.Sum(nil)
}

// newForm returns the signed accept form for a verified redirect.
func (s *Server) newForm(nas *session.NAS, r redirect) *acceptForm {
	f := &acceptForm{
		NAS:       nas.Name,
		MAC:       r.mac.String(),
		Challenge: hex.EncodeToString(r.challenge),
		UserURL:   r.userURL,
		Issued:    strconv.FormatInt(s.now().Unix(), 10),
	}
	if !isMikroTik(nas) {
		f.UAMIP, f.UAMPort = r.uamip.String(), strconv.Itoa(int(r.uamport))
	}
	f.Token = base64.RawURLEncoding.EncodeToString(s.sign(f))
	return f
}

// readForm checks a posted accept form: errBadToken when the token does
// not match the values or is too old (403), errMalformed when the values,
// though signed, no longer make sense, e.g. the NAS left the config (400).
func (s *Server) readForm(pf url.Values) (*acceptForm, error) {
	// One value per field, so no two parsers can disagree on which counts.
	for _, k := range formFields {
		if len(pf[k]) > 1 {
			return nil, errMalformed
		}
	}
	if len(pf["token"]) > 1 {
		return nil, errMalformed
	}
	f := &acceptForm{
		NAS:       pf.Get("nas"),
		MAC:       pf.Get("mac"),
		UAMIP:     pf.Get("uamip"),
		UAMPort:   pf.Get("uamport"),
		Challenge: pf.Get("challenge"),
		UserURL:   pf.Get("userurl"),
		Issued:    pf.Get("ts"),
		Token:     pf.Get("token"),
	}
	got, err := base64.RawURLEncoding.DecodeString(f.Token)
	if err != nil || !hmac.Equal(got, s.sign(f)) {
		return nil, errBadToken
	}
	issued, err := strconv.ParseInt(f.Issued, 10, 64)
	if err != nil {
		return nil, errBadToken
	}
	age := s.now().Sub(time.Unix(issued, 0))
	if age > tokenTTL || age < -tokenSkew {
		return nil, errBadToken
	}

	nas, ok := s.nases.ByName(f.NAS)
	if !ok || !isUAM(nas) && !isMikroTik(nas) {
		return nil, errMalformed
	}
	f.nas = nas
	if f.mac, err = session.ParseMAC(f.MAC); err != nil || f.mac.IsZero() {
		return nil, errMalformed
	}
	if f.UserURL != "" && !isWebURL(f.UserURL) {
		return nil, errMalformed
	}
	if isMikroTik(nas) {
		// No uamip and uamport: the NAS's login_url is where it logs in.
		if f.UAMIP != "" || f.UAMPort != "" {
			return nil, errMalformed
		}
		if f.challenge, ok = parseFormCHAP(nas, f.Challenge); !ok {
			return nil, errMalformed
		}
		return f, nil
	}
	if f.uamip, err = netip.ParseAddr(f.UAMIP); err != nil || f.uamip.Zone() != "" {
		return nil, errMalformed
	}
	if f.uamport, ok = parsePort(f.UAMPort); !ok {
		return nil, errMalformed
	}
	if f.challenge, ok = parseChallenge(f.Challenge); !ok {
		return nil, errMalformed
	}
	return f, nil
}

// isUAM reports whether nas speaks the CoovaChilli UAM protocol with us.
func isUAM(nas *session.NAS) bool {
	return nas.Kind == session.KindCoovaChilli && nas.UAMSecret != ""
}
