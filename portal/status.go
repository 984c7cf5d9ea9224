package portal

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"hotspot/session"
)

// statusTimeout bounds the status read behind a page: a page without
// numbers is better than a visitor waiting.
const statusTimeout = 2 * time.Second

// allowance is a device's quota as the status and quota pages show it,
// formatted in the page's language. An empty field is a limit that does
// not apply.
type allowance struct {
	DataLeft  string // e.g. "62 MB"
	DataLimit string // e.g. "100 MB"
	TimeLeft  string // e.g. "1 Stunde 20 Minuten"
	ResetsAt  string // when the window ends, in the portal's time zone
	// Exceeded is true when data or time is used up.
	Exceeded bool
	// Throttled is true when, over quota, the policy slows the device
	// down instead of refusing it: it may still log in, slowly.
	Throttled bool
}

// Limited reports whether any limit applies, i.e. there is something to show.
func (a *allowance) Limited() bool {
	return a.DataLimit != "" || a.TimeLeft != ""
}

// newAllowance formats st in cat's language, with times in loc.
func newAllowance(st session.DeviceStatus, cat *catalog, loc *time.Location) *allowance {
	a := &allowance{Exceeded: st.QuotaExceeded}
	if st.DataLimit > 0 {
		a.DataLimit = cat.bytes(st.DataLimit)
		a.DataLeft = cat.bytes(max(st.DataRemaining, 0))
	}
	if st.TimeLimit > 0 {
		a.TimeLeft = cat.duration(max(st.TimeRemaining, 0))
	}
	if !st.WindowEnd.IsZero() && a.Limited() {
		a.ResetsAt = cat.datetime(st.WindowEnd.In(loc))
	}
	// Throttling slows data down; used-up online time still ends access.
	timeLeft := st.TimeLimit == 0 || st.TimeRemaining != 0
	a.Throttled = st.QuotaExceeded && st.Action == "throttle" && timeLeft
	return a
}

// deviceStatus asks the store what the redirect's device has left. It
// returns nil, true when there is nothing to show (no MAC in the redirect,
// a MAC nobody signed, or an error other than the store being down, which
// is logged), and
// false after it answered with the 503 page itself.
func (s *Server) deviceStatus(c *gin.Context, nas *session.NAS, rd redirect, v *view) (*allowance, bool) {
	if !rd.hasMAC || rd.unsigned {
		return nil, true
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), statusTimeout)
	defer cancel()
	st, err := s.store.DeviceStatus(ctx, rd.mac, session.Where{NAS: nas.Name, SSID: rd.ssid})
	switch {
	case err == nil:
		return newAllowance(st, v.Lang, s.loc), true
	case errors.Is(err, session.ErrUnavailable):
		s.m.storeErrors.Inc()
		s.log.Warn("portal: store unavailable", "nas", nas.Name, "err", err)
		v.RetryURL = "?" + c.Request.URL.RawQuery // the same redirect: md still holds
		s.fail(c, http.StatusServiceUnavailable, v)
		return nil, false
	default:
		s.m.storeErrors.Inc()
		s.log.Error("portal: device status", "nas", nas.Name, "err", err)
		return nil, true
	}
}
