package session

import (
	"context"
	"errors"
	"time"
)

// Where is what chooses a device's policy: the NAS it is on and the SSID.
type Where struct {
	NAS  string
	SSID string
}

// DeviceStatus is what a device has used and has left in the current
// window, for the portal's status pages, the RFC 8908 API and the admin API.
type DeviceStatus struct {
	Remembered      bool
	RememberedUntil time.Time
	// Policy is the name of the policy that applies.
	Policy string
	// DataUsed is both directions in the current window.
	DataUsed int64
	// DataLimit is the policy's limit; 0 means unlimited.
	DataLimit int64
	// DataRemaining is what is left; -1 means unlimited.
	DataRemaining int64
	TimeUsed      time.Duration
	// TimeLimit is the online time per window; 0 means unlimited.
	TimeLimit time.Duration
	// TimeRemaining is what is left; -1 means unlimited.
	TimeRemaining time.Duration
	// WindowEnd is when the quota resets.
	WindowEnd time.Time
	// QuotaExceeded is true when data or time is used up.
	QuotaExceeded bool
	// Action is what the policy does over quota: "throttle" or "disconnect".
	Action string
	// Sessions are the device's open sessions.
	Sessions []Session
}

// DeviceStatus returns the status of the device mac under the policy
// chosen by where.
func (s *Store) DeviceStatus(ctx context.Context, mac MAC, where Where) (DeviceStatus, error) {
	return DeviceStatus{}, errors.New("session: DeviceStatus: not implemented yet")
}
