package portal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"hotspot/session"
)

// Bounds of the admin API's query parameters.
const (
	maxAPIQuery = 4 << 10 // the whole query string
	maxAPIName  = 253     // ap, nas, ssid: a Called-Station-Id or a hostname fits
)

// errBadQuery marks an invalid query parameter; its message is shown.
type errBadQuery struct{ msg string }

func (e errBadQuery) Error() string { return e.msg }

func badQuery(format string, args ...any) error { return errBadQuery{fmt.Sprintf(format, args...)} }

// parseSessionQuery reads the filters of GET /api/v1/sessions. Unknown
// and repeated parameters are refused, so that a typo never silently
// widens a search. hash turns a MAC into its pseudonym.
func parseSessionQuery(rawQuery string, hash func(session.MAC) string) (session.SessionFilter, error) {
	var f session.SessionFilter
	if len(rawQuery) > maxAPIQuery {
		return f, badQuery("the query string is longer than %d bytes", maxAPIQuery)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return f, badQuery("the query string is malformed")
	}
	for k, v := range q {
		switch k {
		case "ap", "nas", "mac", "state", "limit", "cursor":
		default:
			return f, badQuery("unknown query parameter %q (known: ap, nas, mac, state, limit, cursor)", k)
		}
		if len(v) > 1 {
			return f, badQuery("query parameter %q is given %d times", k, len(v))
		}
	}
	if f.AP, err = nameParam(q, "ap"); err != nil {
		return f, err
	}
	if f.NAS, err = nameParam(q, "nas"); err != nil {
		return f, err
	}
	if m := q.Get("mac"); m != "" {
		if mac, err := session.ParseMAC(m); err == nil {
			f.Device = hash(mac)
		} else if session.ValidPseudonym(m) {
			f.Device = m
		} else {
			return f, badQuery("mac %q is neither a MAC (aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-FF, aabb.ccdd.eeff, aabbccddeeff) nor a MAC pseudonym", clipped(m))
		}
	}
	switch st := session.SessionState(q.Get("state")); st {
	case session.StateAny, session.StateActive, session.StateClosed:
		f.State = st
	default:
		return f, badQuery("state %q is not one of active, closed", clipped(string(st)))
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > session.MaxPageSize {
			return f, badQuery("limit %q is not a number from 1 to %d", clipped(l), session.MaxPageSize)
		}
		f.Limit = n
	}
	if f.After, err = session.ParseCursor(q.Get("cursor")); err != nil {
		return f, badQuery("cursor is not one this API returned")
	}
	return f, nil
}

// nameParam returns the query parameter k, which must be printable UTF-8
// of at most maxAPIName bytes.
func nameParam(q url.Values, k string) (string, error) {
	v := q.Get(k)
	if len(v) > maxAPIName || !utf8.ValidString(v) || !printable(v) {
		return "", badQuery("%s must be at most %d printable characters", k, maxAPIName)
	}
	return v, nil
}

// clipped shortens s for an error message.
func clipped(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	if !utf8.ValidString(s) {
		return fmt.Sprintf("%q", s)
	}
	return s
}

// storeFailed answers a store error: 404 for session.ErrNotFound, 503 when
// the store cannot be reached, else 500 (logged).
func (a *Admin) storeFailed(c *gin.Context, op string, err error) {
	switch {
	case errors.Is(err, session.ErrNotFound):
		a.abort(c, http.StatusNotFound, "not_found", "no such "+op)
	case errors.Is(err, session.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		a.log.Warn("admin: store unavailable", "op", op, "err", err)
		a.abort(c, http.StatusServiceUnavailable, "store_unavailable", "the store (Redis) does not answer; try again shortly")
	default:
		a.log.Error("admin: store error", "op", op, "err", err)
		a.abort(c, http.StatusInternalServerError, "internal", "internal error")
	}
}

func storeContext(c *gin.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request.Context(), adminStoreTimeout)
}

// GET /api/v1/sessions
func (a *Admin) listSessions(c *gin.Context) {
	f, err := parseSessionQuery(c.Request.URL.RawQuery, a.store.MACHash)
	if err != nil {
		a.abort(c, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	ctx, cancel := storeContext(c)
	defer cancel()
	page, err := a.store.Sessions(ctx, f)
	if err != nil {
		a.storeFailed(c, "sessions", err)
		return
	}
	role := roleOf(c)
	out := APISessionList{Sessions: make([]APISession, 0, len(page.Sessions)), NextCursor: page.Next.String()}
	for _, s := range page.Sessions {
		out.Sessions = append(out.Sessions, a.apiSession(s, role))
	}
	c.JSON(http.StatusOK, out)
}

// GET /api/v1/sessions/{id}
func (a *Admin) getSession(c *gin.Context) {
	ctx, cancel := storeContext(c)
	defer cancel()
	sess, err := a.store.Session(ctx, c.Param("id"))
	if err != nil {
		a.storeFailed(c, "session", err)
		return
	}
	c.JSON(http.StatusOK, a.apiSession(sess, roleOf(c)))
}

// POST /api/v1/sessions/{id}/disconnect
func (a *Admin) disconnect(c *gin.Context) {
	id := c.Param("id")
	ctx, cancel := storeContext(c)
	sess, err := a.store.Session(ctx, id)
	cancel()
	if err != nil {
		a.auditAction(c, "disconnect", "refused", "session_id", id, "reason", err.Error())
		a.storeFailed(c, "session", err)
		return
	}
	log := []any{"session_id", id, "nas", sess.NAS, "mac_hash", sess.MACHash(), "acct_session_id", sess.LogSessionID()}
	if !sess.Active || sess.MAC.IsZero() {
		a.auditAction(c, "disconnect", "refused", append(log, "reason", "session closed")...)
		a.abort(c, http.StatusConflict, "session_closed", "the session is closed; there is nothing to disconnect")
		return
	}
	if a.disconnecter == nil {
		a.auditAction(c, "disconnect", "refused", append(log, "reason", "no RADIUS server to send it")...)
		a.abort(c, http.StatusNotImplemented, "not_implemented", "this server cannot send Disconnect-Requests")
		return
	}
	dctx, dcancel := context.WithTimeout(c.Request.Context(), disconnectTimeout)
	defer dcancel()
	start := time.Now()
	res, err := a.disconnecter.Disconnect(dctx, sess)
	log = append(log, "dur", time.Since(start))
	switch {
	case err != nil && isNoAnswer(err):
		a.auditAction(c, "disconnect", "no_answer", append(log, "err", err.Error())...)
		a.abort(c, http.StatusGatewayTimeout, "nas_timeout", fmt.Sprintf("NAS %s did not answer the Disconnect-Request", sess.NAS))
		return
	case err != nil:
		a.auditAction(c, "disconnect", "error", append(log, "err", err.Error())...)
		a.abort(c, http.StatusBadGateway, "nas_error", fmt.Sprintf("the Disconnect-Request to NAS %s failed: %v", sess.NAS, err))
		return
	}
	out := APIDisconnect{SessionID: id, NAS: sess.NAS, Result: "ack"}
	if !res.ACK {
		out.Result = "nak"
		out.ErrorCause = res.ErrorCause
		out.ErrorCauseName = errorCauses[res.ErrorCause]
	}
	a.auditAction(c, "disconnect", out.Result, append(log, "error_cause", res.ErrorCause)...)
	c.JSON(http.StatusOK, out)
}

// isNoAnswer reports whether a Disconnecter's error means the NAS did not
// answer in time.
func isNoAnswer(err error) bool {
	var t interface{ Timeout() bool }
	return errors.Is(err, ErrNoAnswer) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &t) && t.Timeout())
}

// deviceParam parses the {mac} path parameter, answering 400 when it is
// not a MAC.
func (a *Admin) deviceParam(c *gin.Context) (session.MAC, bool) {
	mac, err := session.ParseMAC(c.Param("mac"))
	if err != nil {
		a.abort(c, http.StatusBadRequest, "bad_mac", fmt.Sprintf("%q is not a MAC (aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-FF, aabb.ccdd.eeff, aabbccddeeff)", clipped(c.Param("mac"))))
		return mac, false
	}
	return mac, true
}

// GET /api/v1/devices/{mac}?nas=&ssid=
func (a *Admin) getDevice(c *gin.Context) {
	mac, ok := a.deviceParam(c)
	if !ok {
		return
	}
	q := c.Request.URL.Query()
	for k := range q {
		if k != "nas" && k != "ssid" {
			a.abort(c, http.StatusBadRequest, "bad_request", fmt.Sprintf("unknown query parameter %q (known: nas, ssid)", clipped(k)))
			return
		}
	}
	var where session.Where
	var err error
	if where.NAS, err = nameParam(q, "nas"); err == nil {
		where.SSID, err = nameParam(q, "ssid")
	}
	if err != nil {
		a.abort(c, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	ctx, cancel := storeContext(c)
	defer cancel()
	st, err := a.store.DeviceStatus(ctx, mac, where)
	if err != nil {
		a.storeFailed(c, "device", err)
		return
	}
	role := roleOf(c)
	out := APIDevice{
		MACHash: a.store.MACHash(mac), Remembered: st.Remembered, Policy: st.Policy,
		DataUsed: st.DataUsed, TimeUsed: int64(st.TimeUsed / time.Second),
		Window: string(st.Window), WindowStart: st.WindowStart.UTC(), WindowEnd: st.WindowEnd.UTC(),
		QuotaExceeded: st.QuotaExceeded, Throttled: st.Throttled, Action: st.Action,
		Sessions: make([]APISession, 0, len(st.Sessions)),
	}
	out.MAC = out.MACHash
	if role == RoleOperator {
		out.MAC = mac.String()
	}
	if st.Remembered && !st.RememberedUntil.IsZero() {
		u := st.RememberedUntil.UTC()
		out.RememberedUntil = &u
	}
	if st.DataLimit > 0 {
		out.DataLimit = &st.DataLimit
		rem := max(st.DataRemaining, 0)
		out.DataRemaining = &rem
	}
	if st.TimeLimit > 0 {
		limit, rem := int64(st.TimeLimit/time.Second), int64(max(st.TimeRemaining, 0)/time.Second)
		out.TimeLimit, out.TimeRemaining = &limit, &rem
	}
	for _, s := range st.Sessions {
		out.Sessions = append(out.Sessions, a.apiSession(s, role))
	}
	c.JSON(http.StatusOK, out)
}

// DELETE /api/v1/devices/{mac}
func (a *Admin) forgetDevice(c *gin.Context) {
	mac, ok := a.deviceParam(c)
	if !ok {
		a.auditAction(c, "forget", "refused", "reason", "bad MAC")
		return
	}
	ctx, cancel := storeContext(c)
	defer cancel()
	if err := a.store.Forget(ctx, mac); err != nil {
		a.auditAction(c, "forget", "error", "mac_hash", a.store.MACHash(mac), "err", err.Error())
		a.storeFailed(c, "device", err)
		return
	}
	a.auditAction(c, "forget", "done", "mac_hash", a.store.MACHash(mac))
	c.Status(http.StatusNoContent)
}

// GET /api/v1/stats
func (a *Admin) stats(c *gin.Context) {
	if c.Request.URL.RawQuery != "" {
		a.abort(c, http.StatusBadRequest, "bad_request", "stats takes no query parameters")
		return
	}
	ctx, cancel := storeContext(c)
	defer cancel()
	st, err := a.store.Stats(ctx)
	if err != nil {
		a.storeFailed(c, "stats", err)
		return
	}
	out := APIStats{Since: st.Since.UTC(), Total: apiStatsRow(st.Total), Truncated: st.Truncated,
		NAS: make([]APIStatsRow, 0, len(st.NAS)), AP: make([]APIStatsRow, 0, len(st.AP))}
	for _, r := range st.NAS {
		out.NAS = append(out.NAS, apiStatsRow(r))
	}
	for _, r := range st.AP {
		out.AP = append(out.AP, apiStatsRow(r))
	}
	c.JSON(http.StatusOK, out)
}

// auditAction writes an operator action to the audit log: who (the
// token's name), what, on what, with which outcome; slog adds when.
func (a *Admin) auditAction(c *gin.Context, action, outcome string, attrs ...any) {
	a.audit.Info("admin: "+action, append([]any{"who", who(c), "role", string(roleOf(c)),
		"action", action, "outcome", outcome, "remote", c.ClientIP()}, attrs...)...)
}
