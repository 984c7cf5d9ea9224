package session

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Layout is the generation of the key layout that this build reads and
// writes. Raise it with every change that an older build would misread:
// an older build that meets a newer layout in Redis stops (see
// ClaimLayout), so instances of two builds never count the same usage
// differently. The generations so far:
//
//  1. before 2026-11-26: a key per day ledger and per open-session set;
//  2. 2026-11-26: a device's day ledger and unclosed sessions in its use
//     hash, client-address entries in shared hashes;
//  3. the evening of 2026-11-26: an open session's counters and last
//     record in the use hash only.
//
// Builds before 2026-11-27 do not record their layout.
const Layout = 3

// layoutKey holds the newest Layout of the builds that use this Redis.
const layoutKey = "hotspot:layout"

// layoutTTL is how long layoutKey outlives the last instance that
// claimed it (every key of ours has a TTL); running instances renew it
// (see ClaimLayout).
const layoutTTL = 400 * 24 * time.Hour

// ErrNewerLayout is returned by ClaimLayout when Redis holds data in a
// newer key layout than this build's.
var ErrNewerLayout = errors.New("session: Redis holds a newer key layout")

// layoutScript raises layoutKey to ARGV[1] (renewing its TTL, ARGV[2] s)
// unless it holds more, or something that is not a layout, and returns
// what it held ("0" for none).
var layoutScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1]) or '0'
if string.match(cur, '^%d+$') and tonumber(cur) <= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return cur
`)

// ClaimLayout records in Redis that this build's key layout is in use and
// returns the layout recorded before (0 when none was). When Redis holds a
// newer layout, it leaves it and returns an error wrapping ErrNewerLayout:
// this build would misread what the newer one writes (count usage again,
// miss sessions), so it must not serve. hotspotd claims the layout at
// start and again every LayoutCheckEvery while it runs, which renews the
// record and stops an older instance once a newer build has started.
// An error wrapping ErrUnavailable means Redis did not answer.
func ClaimLayout(ctx context.Context, rdb redis.Scripter) (prev int, err error) {
	v, err := layoutScript.Run(ctx, rdb, []string{layoutKey}, Layout, secs(layoutTTL)).Text()
	if err != nil {
		if re := redis.Error(nil); errors.As(err, &re) {
			return 0, fmt.Errorf("session: claim key layout: %w", err)
		}
		return 0, unavailable("claim key layout", err)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("session: Redis's %s holds %q, not a key layout: does another application use this Redis database?", layoutKey, v)
	}
	if n > Layout {
		return n, fmt.Errorf("%w: its data is in key layout %d, this build reads layout %d and would count usage again: run the newer build", ErrNewerLayout, n, Layout)
	}
	return n, nil
}

// LayoutCheckEvery is how often a running hotspotd claims the key layout
// again (see ClaimLayout).
const LayoutCheckEvery = 30 * time.Second
