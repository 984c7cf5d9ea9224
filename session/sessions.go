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
	MAC           MAC
	NAS           string
	NASIP         string // where CoA and Disconnect-Requests go
	AcctSessionID string
	Username      string
	AP            string
	SSID          string
	IP            string
	Active        bool
	StartedAt     time.Time
	UpdatedAt     time.Time
	InputOctets   uint64
	OutputOctets  uint64
	SessionTime   uint32
	// Enforced is what the session's NAS acknowledged for its device's
	// quota: "" (nothing), "throttle" or "disconnect".
	Enforced Action
	// DynAuth is the outcome of the last CoA- or Disconnect-Request sent
	// for the session's quota ("ack throttle", "nak 503", "no answer"),
	// at DynAuthAt; empty when none was sent.
	DynAuth   string
	DynAuthAt time.Time
}

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

// parseSession reads a session hash as the acct script writes it.
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
	s := Session{
		ID: sessionID(key), NAS: nas, NASIP: h["nasip"], AcctSessionID: sid,
		Username: h["user"], AP: h["ap"], SSID: h["ssid"], IP: h["ip"],
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
	h, err := s.rdb.HGetAll(ctx, key).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return Session{}, unavailable("load session", err)
	}
	if len(h) == 0 {
		return Session{}, ErrNotFound
	}
	return parseSession(key, h), nil
}

// DynAuthResult is a NAS's answer to an RFC 5176 CoA-Request or
// Disconnect-Request.
type DynAuthResult struct {
	// ACK is true for CoA-ACK / Disconnect-ACK.
	ACK bool
	// ErrorCause is the NAK's Error-Cause (RFC 5176 §3.5), 0 when none.
	ErrorCause uint32
}
