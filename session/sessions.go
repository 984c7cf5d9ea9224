package session

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotFound is returned when a session, device or grant does not exist
// (or has expired).
var ErrNotFound = errors.New("session: not found")

// Session is one accounting session as the store knows it.
type Session struct {
	// ID is opaque and URL-safe, stable for the session's lifetime.
	ID string
	// MAC is the device's MAC while the session is active; zero once it
	// is closed (only the pseudonym is kept).
	MAC   MAC
	NAS   string
	NASIP string // where CoA and Disconnect-Requests go
	// AcctSessionID is the NAS's Acct-Session-Id. Once the session is
	// closed, a MAC the NAS put into it is masked (see MaskMAC).
	AcctSessionID string
	Username      string
	AP            string
	SSID          string
	IP            string
	// IP6 is a dual-stack client's IPv6 address (Framed-IPv6-Address);
	// IP is then its IPv4 address.
	IP6          string
	Active       bool
	StartedAt    time.Time
	UpdatedAt    time.Time
	InputOctets  uint64
	OutputOctets uint64
	SessionTime  uint32
	// Enforced is what the session's NAS acknowledged for its device's
	// quota: "" (nothing), "throttle" or "disconnect".
	Enforced Action
	// DynAuth is the outcome of the last CoA- or Disconnect-Request sent
	// for the session's quota ("ack throttle", "nak 503", "no answer"),
	// at DynAuthAt; empty when none was sent.
	DynAuth   string
	DynAuthAt time.Time
}

// LogSessionID is the session's Acct-Session-Id for logs: without its
// device's MAC in it (see MaskMAC).
func (s Session) LogSessionID() string { return MaskMAC(s.AcctSessionID, s.MAC) }

// sessionID turns a session key into the ID shown to admins.
func sessionID(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

// sessionKeyOf turns an ID back into a session key, refusing anything that
// is not the key of a session, so an ID can never name another key.
func sessionKeyOf(id string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return "", fmt.Errorf("%w: bad session id", ErrNotFound)
	}
	k := string(b)
	tag, rest, ok := strings.Cut(k, ":s:")
	if !ok || !strings.HasPrefix(tag, "{d:") || !strings.HasSuffix(tag, "}") || strings.Count(tag, "}") != 1 || rest == "" {
		return "", fmt.Errorf("%w: bad session id", ErrNotFound)
	}
	return k, nil
}

// sessionWhere returns the NAS and the Acct-Session-Id that a session key
// names: NAS names hold no colons, so the first one after ":s:" ends it.
func sessionWhere(key string) (nas, acctSessionID string) {
	_, rest, _ := strings.Cut(key, "}:s:")
	nas, acctSessionID, _ = strings.Cut(rest, ":")
	return nas, acctSessionID
}

// useField returns where the use hash keeps what was counted of the
// session sk: the hash and its field ("<nas>:<sid>").
func useField(sk string) (key, field string) {
	tag, rest, _ := strings.Cut(sk, ":s:")
	return useKey(tag), rest
}

// withUse completes the hash h of an open session with what its field in
// the use hash says, v ("<in> <out> <time> <updated> …", see acctScript):
// its counters and its last record's time. A closed session keeps them in
// its own hash, and has no field in the use hash.
func withUse(h map[string]string, v string) map[string]string {
	if h["state"] != "active" {
		return h
	}
	f := strings.Fields(v)
	if len(f) < 4 {
		return h
	}
	h["in"], h["out"], h["time"], h["updated"] = f[0], f[1], f[2], f[3]
	return h
}

// parseSession reads a session hash as the acct script writes it,
// completed by withUse.
func parseSession(key string, h map[string]string) Session {
	nas, sid := sessionWhere(key)
	num := func(f string) uint64 { n, _ := strconv.ParseUint(h[f], 10, 64); return n }
	unix := func(f string) time.Time {
		n, err := strconv.ParseInt(h[f], 10, 64)
		if err != nil || n == 0 {
			return time.Time{}
		}
		return time.Unix(n, 0)
	}
	if a := h["asid"]; a != "" {
		sid = a // the key names it without the MAC (see keySessionID)
	}
	s := Session{
		ID: sessionID(key), NAS: nas, NASIP: h["nasip"], AcctSessionID: sid,
		Username: h["user"], AP: h["ap"], SSID: h["ssid"], IP: h["ip"], IP6: h["ip6"],
		Active: h["state"] == "active", StartedAt: unix("started"), UpdatedAt: unix("updated"),
		InputOctets: num("in"), OutputOctets: num("out"), SessionTime: uint32(num("time")),
		DynAuth: h["dyn"], DynAuthAt: unix("dynat"),
	}
	switch h["enf"] {
	case "1":
		s.Enforced = ActionThrottle
	case "2":
		s.Enforced = ActionDisconnect
	}
	if m, err := ParseMAC(h["mac"]); err == nil {
		s.MAC = m
	}
	return s
}

// Session returns the session with the given ID.
func (s *Store) Session(ctx context.Context, id string) (Session, error) {
	key, err := sessionKeyOf(id)
	if err != nil {
		return Session{}, err
	}
	hs, err := s.readSessions(ctx, []string{key})
	if err != nil {
		return Session{}, unavailable("load session", err)
	}
	if len(hs[0]) == 0 {
		return Session{}, ErrNotFound
	}
	return parseSession(key, hs[0]), nil
}

// readSessions reads the hashes of the sessions keys, completed by what
// their device's use hash holds of them (withUse), in one round trip. An
// expired session has an empty hash.
func (s *Store) readSessions(ctx context.Context, keys []string) ([]map[string]string, error) {
	hs := make([]*redis.MapStringStringCmd, len(keys))
	us := make([]*redis.StringCmd, len(keys))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			uk, f := useField(k)
			hs[i], us[i] = p.HGetAll(ctx, k), p.HGet(ctx, uk, f)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make([]map[string]string, len(keys))
	for i := range keys {
		out[i] = withUse(hs[i].Val(), us[i].Val())
	}
	return out, nil
}

// DynAuthResult is a NAS's answer to an RFC 5176 CoA-Request or
// Disconnect-Request.
type DynAuthResult struct {
	// ACK is true for CoA-ACK / Disconnect-ACK.
	ACK bool
	// ErrorCause is the NAK's Error-Cause (RFC 5176 §3.5), 0 when none.
	ErrorCause uint32
}
