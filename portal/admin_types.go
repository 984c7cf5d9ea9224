package portal

import (
	"time"

	"hotspot/session"
)

// The admin API's JSON documents. They are exported so that clients in
// this module (hotspotctl) decode exactly what the server encodes; the
// OpenAPI document (GET /api/v1/openapi.json) describes them for everyone
// else.

// APIError is the body of every error response.
type APIError struct {
	Error APIErrorBody `json:"error"`
}

// APIErrorBody says what went wrong: Code is stable and meant for
// programs, Message for people.
type APIErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// APISession is one accounting session.
type APISession struct {
	ID string `json:"id"`
	// MAC is the device's MAC for operators while the session is active
	// (the store keeps no clear MAC after a session closes); otherwise,
	// and always for viewers, it is the pseudonym, MACHash.
	MAC           string    `json:"mac"`
	MACHash       string    `json:"mac_hash"`
	NAS           string    `json:"nas"`
	NASIP         string    `json:"nas_ip,omitempty"`
	AcctSessionID string    `json:"acct_session_id"`
	Username      string    `json:"username,omitempty"`
	AP            string    `json:"ap"`
	SSID          string    `json:"ssid"`
	IP            string    `json:"ip"`
	IP6           string    `json:"ip6,omitempty"` // a dual-stack client's IPv6 address
	State         string    `json:"state"`         // active or closed
	StartedAt     time.Time `json:"started_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	// InputOctets and OutputOctets are from the NAS's view: input is what
	// the device sent.
	InputOctets  uint64 `json:"input_octets"`
	OutputOctets uint64 `json:"output_octets"`
	// SessionTime is the session's length in seconds, as the NAS reported.
	SessionTime uint32 `json:"session_time"`
	// Policy is the name of the policy that applies to the session.
	Policy string `json:"policy"`
	// Enforced is what the NAS acknowledged for the device's quota:
	// throttle or disconnect; absent when nothing was enforced.
	Enforced string `json:"enforced,omitempty"`
	// DynAuth is the outcome of the last CoA- or Disconnect-Request sent
	// for the session's quota ("ack throttle", "nak 503", "no answer"), at
	// DynAuthAt; absent when none was sent.
	DynAuth   string     `json:"dyn_auth,omitempty"`
	DynAuthAt *time.Time `json:"dyn_auth_at,omitempty"`
}

// APISessionList is a page of sessions, the most recently updated first.
type APISessionList struct {
	Sessions []APISession `json:"sessions"`
	// NextCursor continues the listing (the cursor query parameter); it
	// is absent on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// APIDisconnect is the NAS's verdict on a Disconnect-Request.
type APIDisconnect struct {
	SessionID string `json:"session_id"`
	NAS       string `json:"nas"`
	// Result is "ack" (the NAS ended the session) or "nak".
	Result string `json:"result"`
	// ErrorCause is the NAK's Error-Cause (RFC 5176 §3.5), if it had one.
	ErrorCause     uint32 `json:"error_cause,omitempty"`
	ErrorCauseName string `json:"error_cause_name,omitempty"`
}

// APIDevice is what a device used and has left in the current window.
type APIDevice struct {
	// MAC is the clear MAC for operators, the pseudonym for viewers.
	MAC             string     `json:"mac"`
	MACHash         string     `json:"mac_hash"`
	Remembered      bool       `json:"remembered"`
	RememberedUntil *time.Time `json:"remembered_until"`
	Policy          string     `json:"policy"`
	// DataUsed counts both directions in the current window, in octets.
	DataUsed int64 `json:"data_used"`
	// DataLimit and DataRemaining are null when data is unlimited.
	DataLimit     *int64 `json:"data_limit"`
	DataRemaining *int64 `json:"data_remaining"`
	// TimeUsed, TimeLimit and TimeRemaining are seconds; the last two are
	// null when online time is unlimited.
	TimeUsed      int64  `json:"time_used"`
	TimeLimit     *int64 `json:"time_limit"`
	TimeRemaining *int64 `json:"time_remaining"`
	// Window is what the allowances cover (day, week or month), from
	// WindowStart to WindowEnd.
	Window        string    `json:"window"`
	WindowStart   time.Time `json:"window_start"`
	WindowEnd     time.Time `json:"window_end"`
	QuotaExceeded bool      `json:"quota_exceeded"`
	// Throttled is true when the data is used up and the policy throttles.
	Throttled bool `json:"throttled"`
	// Action is what the policy does over quota: throttle or disconnect.
	Action string `json:"action,omitempty"`
	// Sessions are the device's open sessions.
	Sessions []APISession `json:"sessions"`
}

// APIStats are the sessions that reported since the start of the day.
type APIStats struct {
	Since time.Time     `json:"since"`
	Total APIStatsRow   `json:"total"`
	NAS   []APIStatsRow `json:"nas"`
	AP    []APIStatsRow `json:"ap"`
	// Truncated is true when there were more sessions than one request
	// reads; the numbers then cover the most recently updated ones.
	Truncated bool `json:"truncated"`
}

// APIStatsRow sums the sessions of one NAS, one AP, or all.
type APIStatsRow struct {
	Name           string `json:"name"`
	ActiveSessions int    `json:"active_sessions"`
	Sessions       int    `json:"sessions"`
	InputOctets    uint64 `json:"input_octets"`
	OutputOctets   uint64 `json:"output_octets"`
}

// apiSession renders sess for a token of role.
func (a *Admin) apiSession(sess session.Session, role Role) APISession {
	state := "closed"
	if sess.Active {
		state = "active"
	}
	out := APISession{
		ID: sess.ID, MACHash: sess.MACHash(), NAS: sess.NAS, NASIP: sess.NASIP,
		AcctSessionID: sess.AcctSessionID, Username: sess.Username, AP: sess.AP, SSID: sess.SSID,
		IP: sess.IP, IP6: sess.IP6, State: state, StartedAt: sess.StartedAt.UTC(), UpdatedAt: sess.UpdatedAt.UTC(),
		InputOctets: sess.InputOctets, OutputOctets: sess.OutputOctets, SessionTime: sess.SessionTime,
		Policy:   a.store.PolicyFor(session.Where{NAS: sess.NAS, SSID: sess.SSID}).Name,
		Enforced: string(sess.Enforced), DynAuth: sess.DynAuth,
	}
	if !sess.DynAuthAt.IsZero() {
		at := sess.DynAuthAt.UTC()
		out.DynAuthAt = &at
	}
	out.MAC = out.MACHash
	if role == RoleOperator && !sess.MAC.IsZero() {
		out.MAC = sess.MAC.String()
	}
	// MAC authentication puts the MAC into User-Name: a viewer sees the
	// pseudonym there too.
	if _, err := session.ParseMAC(sess.Username); err == nil && role != RoleOperator {
		out.Username = out.MACHash
	}
	return out
}

func apiStatsRow(r session.StatsRow) APIStatsRow {
	return APIStatsRow{Name: r.Name, ActiveSessions: r.ActiveSessions, Sessions: r.Sessions,
		InputOctets: r.InputOctets, OutputOctets: r.OutputOctets}
}

// errorCauses names the Error-Cause values of RFC 5176 §3.5.
var errorCauses = map[uint32]string{
	201: "Residual Session Context Removed",
	202: "Invalid EAP Packet (Ignored)",
	401: "Unsupported Attribute",
	402: "Missing Attribute",
	403: "NAS Identification Mismatch",
	404: "Invalid Request",
	405: "Unsupported Service",
	406: "Unsupported Extension",
	407: "Invalid Attribute Value",
	501: "Administratively Prohibited",
	502: "Request Not Routable (Proxy)",
	503: "Session Context Not Found",
	504: "Session Context Not Removable",
	505: "Other Proxy Processing Error",
	506: "Resources Unavailable",
	507: "Request Initiated",
	508: "Multiple Session Selection Unsupported",
}
