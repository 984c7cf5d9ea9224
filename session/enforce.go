package session

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Enforcement is one open session that must be slowed down or ended
// because its device passed an allowance of the session's policy. It is
// leased to the caller of ClaimEnforcement until FinishEnforcement.
type Enforcement struct {
	Session Session
	// Action is ActionThrottle (send a CoA-Request with Down and Up) or
	// ActionDisconnect (send a Disconnect-Request).
	Action Action
	// Down and Up are the throttled rates, for ActionThrottle: the
	// policy's throttle rates, or its normal rate for a direction it does
	// not throttle; 0 only when that is unlimited.
	Down, Up BitRate
	// Policy is the name of the session's policy; Reason names the
	// allowance used up: "data" or "online time".
	Policy, Reason string

	key   string
	level int
}

// enforceLease is how long a claimed session is left to its claimer, and,
// after a NAS did not acknowledge, how long until it is tried again (at the
// first interim after it).
const enforceLease = time.Minute

// ClaimEnforcement returns the open sessions of the device mac that must
// be throttled or disconnected now: each session is judged by its own
// policy (its NAS and SSID), and returned only if its NAS has not
// acknowledged that level already and no one else holds it. The sessions
// returned are leased to the caller for a minute; report the outcome with
// FinishEnforcement.
func (s *Store) ClaimEnforcement(ctx context.Context, mac MAC) ([]Enforcement, error) {
	now := s.now()
	d := s.deviceTag(mac)
	dev, err := s.readDevice(ctx, d, now)
	if err != nil {
		return nil, err
	}
	var cands []Enforcement
	for _, o := range dev.open {
		sess := parseSession(o.key, o.h)
		if !sess.Active {
			continue
		}
		pol := s.PolicyFor(Where{NAS: sess.NAS, SSID: sess.SSID})
		u := dev.use[pol.Window]
		lvl, reason := pol.level(u.in+u.out, u.online)
		if done, _ := strconv.Atoi(o.h["enf"]); lvl <= done {
			continue
		}
		e := Enforcement{Session: sess, Action: ActionDisconnect, Policy: pol.Name, Reason: reason, key: o.key, level: lvl}
		if lvl == levelThrottle {
			e.Action = ActionThrottle
			e.Down, e.Up = pol.throttledRates()
		}
		cands = append(cands, e)
	}
	if len(cands) == 0 {
		return nil, nil
	}
	keys := make([]string, len(cands))
	args := []any{now.Unix(), now.Add(enforceLease).Unix()}
	for i, c := range cands {
		keys[i] = c.key
		args = append(args, c.level)
	}
	got, err := s.claim.Run(ctx, s.rdb, keys, args...).Int64Slice()
	if err != nil {
		return nil, unavailable("claim enforcement", err)
	}
	claimed := make([]Enforcement, 0, len(got))
	for _, i := range got {
		if i >= 1 && int(i) <= len(cands) {
			claimed = append(claimed, cands[i-1])
		}
	}
	return claimed, nil
}

// FinishEnforcement records the outcome of the request sent for e: res is
// the NAS's answer, err non-nil when there was none. An acknowledged level
// is not asked for again; a refused or unanswered one is tried again
// after a minute, at the device's next interim. The outcome shows in the
// session (Session.DynAuth). A NAK with Error-Cause 503 is recorded like
// any; closing the session is CloseLostSession's job.
func (s *Store) FinishEnforcement(ctx context.Context, e Enforcement, res DynAuthResult, err error) error {
	if e.key == "" {
		return fmt.Errorf("session: finish enforcement: not a claimed enforcement")
	}
	now := s.now()
	done, outcome := 0, "no answer"
	switch {
	case err != nil:
	case res.ACK:
		done, outcome = e.level, "ack "+string(e.Action)
	case res.ErrorCause != 0:
		outcome = "nak " + strconv.FormatUint(uint64(res.ErrorCause), 10)
	default:
		outcome = "nak"
	}
	if err := s.finish.Run(ctx, s.rdb, []string{e.key}, done, outcome, now.Unix(), now.Add(enforceLease).Unix()).Err(); err != nil {
		return unavailable("finish enforcement", err)
	}
	return nil
}
