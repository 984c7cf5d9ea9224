package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hotspot/session"
)

// The Captive Portal API of RFC 8908. A client learns its URL from DHCP
// option 114 or an IPv6 RA (RFC 8910) and asks it, before and after login,
// whether it is captive and for how long it will not be: the operating
// system shows "you have 38 minutes and 40 MB left" instead of guessing
// with probe URLs.
//
// The client is identified by its IP address as the NAS reports it in
// accounting (Framed-IP-Address and Framed-IPv6-Address: a dual-stack
// client is found by either): the store keeps an index from client address
// (a keyed hash of it) to the open session that holds it, per NAS.
// That needs the portal to see the client's own address, so the API must
// be reached without NAT between the hotspot's clients and the portal, or
// through a trusted proxy that passes X-Forwarded-For. NASes commonly hand
// out the same private addresses; a NAS named in the URL's "nas" parameter
// (its identifier or name, e.g. option 114 set per NAS to
// https://portal.example.org/api/captive?nas=markt) settles which one is
// meant, and without it an address held on two NASes is not identified.
// A client that cannot be identified is captive, as RFC 8908 §5 asks.

// CaptiveConfig is the RFC 8908 API's part of the portal config
// (portal.captive_api).
type CaptiveConfig struct {
	// Path is where the API answers. Default "/api/captive".
	Path string `yaml:"path"`
	// UserPortalURL is the user-portal-url, where a captive user logs in.
	// RFC 8908 requires https. Default: portal.public_url when it is
	// https, else none.
	UserPortalURL string `yaml:"user_portal_url"`
	// VenueInfoURL is the venue-info-url, a page about the place (the
	// city's WiFi page); optional.
	VenueInfoURL string `yaml:"venue_info_url"`
}

// DefaultCaptivePath is where the RFC 8908 API answers by default.
const DefaultCaptivePath = "/api/captive"

// captiveTimeout bounds the store lookups of one API request; the client
// asks again soon.
const captiveTimeout = 2 * time.Second

// captiveMediaType is RFC 8908's media type.
const captiveMediaType = "application/captive+json"

func (c CaptiveConfig) path() string {
	if c.Path == "" {
		return DefaultCaptivePath
	}
	return c.Path
}

func (c CaptiveConfig) validate() []error {
	var errs []error
	p := c.path()
	switch {
	case !strings.HasPrefix(p, "/") || p == "/" || strings.ContainsAny(p, ":*?#% \t\n") || strings.Contains(p, "//"):
		errs = append(errs, fmt.Errorf("portal.captive_api.path %q must be an absolute path other than / without ':', '*', '?', '#', '%%' or spaces", p))
	case p == "/accept" || p == "/static" || strings.HasPrefix(p, "/static/") || strings.HasSuffix(p, "/"):
		errs = append(errs, fmt.Errorf("portal.captive_api.path %q clashes with the portal's own pages", p))
	}
	if c.UserPortalURL != "" {
		if u, err := parsePublicURL(c.UserPortalURL); err != nil || u.Scheme != "https" {
			errs = append(errs, fmt.Errorf("portal.captive_api.user_portal_url %q must be an absolute https URL (RFC 8908 §5)", c.UserPortalURL))
		}
	}
	if c.VenueInfoURL != "" && !isWebURL(c.VenueInfoURL) {
		errs = append(errs, fmt.Errorf("portal.captive_api.venue_info_url %q is not an absolute http or https URL", c.VenueInfoURL))
	}
	return errs
}

// CaptiveStore is what the RFC 8908 API needs of the store:
// *session.Store implements it. With a store that does not, every client
// is captive.
type CaptiveStore interface {
	// DeviceStatusByIP returns the device holding the client address ip
	// in an open session (on the NAS named nas, when not empty) and that
	// session; session.ErrNotFound when there is none.
	DeviceStatusByIP(ctx context.Context, nas string, ip netip.Addr) (session.DeviceStatus, session.Session, error)
}

// captiveState is the RFC 8908 §5 JSON object. Optional fields are left
// out when they do not apply, never sent as a misleading 0.
type captiveState struct {
	Captive          bool   `json:"captive"`
	UserPortalURL    string `json:"user-portal-url,omitempty"`
	VenueInfoURL     string `json:"venue-info-url,omitempty"`
	SecondsRemaining *int64 `json:"seconds-remaining,omitempty"`
	BytesRemaining   *int64 `json:"bytes-remaining,omitempty"`
	CanExtendSession *bool  `json:"can-extend-session,omitempty"`
}

// captive is GET on the RFC 8908 API path.
func (s *Server) captive(c *gin.Context) {
	st := captiveState{
		Captive:       true,
		UserPortalURL: s.userPortalURL(),
		VenueInfoURL:  s.cfg.Captive.VenueInfoURL,
	}
	// The answer is about this client and changes by the minute.
	c.Header("Cache-Control", "private, no-store")
	code := http.StatusOK
	switch err := s.captiveLookup(c, &st); {
	case errors.Is(err, errRateLimited):
		// No state at all: "captive" would send a client that is online
		// back to the portal. It asks again in a minute.
		s.m.limited.WithLabelValues("captive_api").Inc()
		c.Header("Retry-After", "60")
		c.Status(http.StatusTooManyRequests)
		return
	case err != nil:
		// The store is down: say so, but still point a client that
		// ignores the status at the portal.
		s.log.Warn("portal: captive API: store unavailable", "err", err)
		code = http.StatusServiceUnavailable
	}
	b, err := json.Marshal(st)
	if err != nil {
		c.Status(http.StatusInternalServerError)
		return
	}
	c.Data(code, captiveMediaType, b)
}

// errRateLimited is captiveLookup's answer to a client that asked too
// often (captivePerMinute).
var errRateLimited = errors.New("portal: captive API: too many lookups")

// captiveLookup fills st for the requesting client when it holds an open
// session, and leaves it captive otherwise. An error means the store
// failed, or errRateLimited.
func (s *Server) captiveLookup(c *gin.Context, st *captiveState) error {
	cs, ok := s.store.(CaptiveStore)
	if !ok {
		return nil
	}
	ip, err := netip.ParseAddr(c.ClientIP())
	if err != nil {
		return nil
	}
	// Each address on its own, IPv6 ones too: the clients of a venue
	// share its /64.
	if !s.lookups.allow(ip.Unmap(), s.now()) {
		return errRateLimited
	}
	var nas string
	if q := c.Query("nas"); q != "" {
		n, ok := s.nases.ByIdentifier(q)
		if !ok {
			n, ok = s.nases.ByName(q)
		}
		if !ok {
			return nil
		}
		nas = n.Name
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), captiveTimeout)
	defer cancel()
	dev, sess, err := cs.DeviceStatusByIP(ctx, nas, ip.Unmap())
	switch {
	case errors.Is(err, session.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	st.Captive = false
	if end := dev.SessionEnd(sess); !end.IsZero() {
		secs := max(int64((end.Sub(dev.At)+time.Second-1)/time.Second), 0)
		st.SecondsRemaining = &secs
	}
	// Bytes count down to captivity only where running out disconnects;
	// a throttled device stays online.
	if dev.DataLimit > 0 && dev.Action == string(session.ActionDisconnect) {
		left := max(dev.DataRemaining, 0)
		st.BytesRemaining = &left
	}
	// Nothing on the portal lengthens a session: when it ends, the NAS
	// logs a remembered device in again by itself.
	no := false
	st.CanExtendSession = &no
	return nil
}

// userPortalURL is the user-portal-url: the configured one, else the
// portal's public URL when it is https, else none. RFC 8908 §5 allows
// only https; and the request's own address is not ours to hand out,
// since its Host header is whatever the client sent.
func (s *Server) userPortalURL() string {
	if s.cfg.Captive.UserPortalURL != "" {
		return s.cfg.Captive.UserPortalURL
	}
	if s.public != nil && s.public.Scheme == "https" {
		return s.cfg.PublicURL
	}
	return ""
}
