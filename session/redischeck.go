package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// minRedis is the oldest Redis the store runs on: the session indexes are
// written with ZADD GT (6.2).
var minRedis = [2]int{6, 2}

// CheckRedis reads the Redis server's version and the settings that decide
// whether what the store keeps survives, and says what is wrong with them:
// an error when the server is too old to run the store's commands, and a
// warning for each setting that can lose state.
//
//   - maxmemory-policy other than noeviction, with a maxmemory set: a full
//     Redis evicts keys (every key of ours has a TTL, so the volatile-*
//     policies take them too). A ledger that goes resets a device's quota,
//     a closed session that goes lets its late records count again, a
//     grant that goes turns a login away. With noeviction a full Redis
//     refuses writes instead: the RADIUS server then spools accounting
//     (redis.spool) and the failure shows in the metrics.
//   - neither AOF (appendonly) nor RDB snapshots (save): a restart of Redis
//     forgets every remembered device, grant, session and ledger.
//
// A Redis that does not let INFO or CONFIG GET run (renamed, or forbidden
// by its ACL, as managed services do), or answers CONFIG GET without the
// setting, gets one warning that says what to check by hand. On a Cluster
// every master is checked, and each warning names its node. CheckRedis
// returns an error wrapping ErrUnavailable when Redis (or a master) does
// not answer at all.
func CheckRedis(ctx context.Context, rdb redis.UniversalClient) (warnings []string, err error) {
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		return checkNode(ctx, rdb)
	}
	var (
		mu      sync.Mutex
		nodeErr error
	)
	err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		w, err := checkNode(ctx, c)
		mu.Lock()
		defer mu.Unlock()
		for _, s := range w {
			warnings = append(warnings, "node "+c.Options().Addr+": "+s)
		}
		if err != nil && nodeErr == nil {
			nodeErr = err
		}
		return err
	})
	switch {
	case nodeErr != nil:
		return nil, nodeErr
	case err != nil:
		// The cluster's layout could not be read.
		return nil, unavailable("check redis", err)
	}
	slices.Sort(warnings) // the masters answer in any order
	return warnings, nil
}

// checkNode is CheckRedis for one server.
func checkNode(ctx context.Context, rdb redis.Cmdable) (warnings []string, err error) {
	refused := func(cmd string, err error) []string {
		return []string{fmt.Sprintf("could not read Redis's settings (%s: %v): make sure by hand that it is 6.2 or later, "+
			"that maxmemory-policy is noeviction and that it persists its data (appendonly yes), or state is lost", cmd, err)}
	}
	failed := func(cmd string, err error) ([]string, error) {
		if re := redis.Error(nil); errors.As(err, &re) {
			return refused(cmd, err), nil // an answer: the command is not allowed
		}
		return nil, unavailable("check redis", err)
	}
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return failed("INFO", err)
	}
	if v, ok := infoField(info, "redis_version"); ok {
		if err := checkRedisVersion(v); err != nil {
			return nil, err
		}
	}
	conf := map[string]string{}
	for _, name := range []string{"maxmemory", "maxmemory-policy", "appendonly", "save"} {
		m, err := rdb.ConfigGet(ctx, name).Result()
		if err != nil {
			return failed("CONFIG GET", err)
		}
		v, ok := m[name]
		if !ok {
			// A proxy or a managed service that answers without the
			// setting: unknown, not empty.
			return refused("CONFIG GET", fmt.Errorf("no %s in the answer", name)), nil
		}
		conf[name] = v
	}
	if p := conf["maxmemory-policy"]; p != "noeviction" && conf["maxmemory"] != "0" {
		warnings = append(warnings, fmt.Sprintf("Redis evicts keys when it is full (maxmemory %s, maxmemory-policy %s): "+
			"ledgers, grants and closed sessions can vanish, resetting quotas; set maxmemory-policy noeviction",
			conf["maxmemory"], p))
	}
	if conf["appendonly"] != "yes" && strings.TrimSpace(conf["save"]) == "" {
		warnings = append(warnings, "Redis persists nothing (appendonly no, no save points): "+
			"a Redis restart forgets every remembered device, grant, session and ledger; set appendonly yes")
	}
	return warnings, nil
}

// checkRedisVersion refuses a Redis older than minRedis. A version it
// cannot read passes: servers that speak the protocol (Valkey, KeyDB)
// report theirs differently.
func checkRedisVersion(v string) error {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return nil
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return nil
	}
	if major < minRedis[0] || major == minRedis[0] && minor < minRedis[1] {
		return fmt.Errorf("session: Redis %s is too old: hotspotd needs %d.%d or later (ZADD GT)", v, minRedis[0], minRedis[1])
	}
	return nil
}

// infoField returns a field of an INFO reply ("name:value" lines).
func infoField(info, name string) (string, bool) {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), name+":"); ok {
			return v, true
		}
	}
	return "", false
}
