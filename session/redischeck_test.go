package session_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"hotspot/internal/redistest"
	"hotspot/session"
)

// TestCheckRedis: the settings that lose state each get a warning, and a
// Redis that does not show its settings gets one that says what to check.
func TestCheckRedis(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t) // no persistence, no maxmemory
	rdb := srv.Client(t)
	check := func(step string, want ...string) {
		t.Helper()
		got, err := session.CheckRedis(ctx, rdb)
		if err != nil {
			t.Fatalf("%s: CheckRedis: %v", step, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: warnings %q, want %d", step, got, len(want))
		}
		for i, w := range want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: warning %q, want it to say %q", step, got[i], w)
			}
		}
	}
	set := func(kv ...string) {
		t.Helper()
		for i := 0; i < len(kv); i += 2 {
			if err := rdb.ConfigSet(ctx, kv[i], kv[i+1]).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	check("no persistence", "appendonly no, no save points")
	set("appendonly", "yes")
	check("AOF")
	set("appendonly", "no", "save", "3600 1")
	check("RDB snapshots")
	// Without a maxmemory, Redis never evicts, whatever the policy.
	set("maxmemory-policy", "volatile-lru")
	check("a policy without maxmemory")
	set("maxmemory", "100mb")
	check("volatile-lru", "maxmemory-policy volatile-lru")
	set("maxmemory-policy", "allkeys-lru", "appendonly", "no", "save", "")
	check("allkeys-lru, no persistence", "maxmemory-policy allkeys-lru", "persists nothing")
	set("maxmemory-policy", "noeviction")
	check("noeviction", "persists nothing")

	// A user whose ACL forbids CONFIG (as managed Redis services have it).
	if err := rdb.Do(ctx, "ACL", "SETUSER", "app", "on", ">app-password", "~*", "+@all", "-config").Err(); err != nil {
		t.Fatal(err)
	}
	app := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "app", Password: "app-password"})
	t.Cleanup(func() { app.Close() })
	got, err := session.CheckRedis(ctx, app)
	if err != nil || len(got) != 1 || !strings.Contains(got[0], "could not read Redis's settings (CONFIG GET") || !strings.Contains(got[0], "noeviction") {
		t.Errorf("CONFIG forbidden: %q, %v; want one warning that says what to check", got, err)
	}
	// And one that may not even run INFO.
	if err := rdb.Do(ctx, "ACL", "SETUSER", "app", "-info").Err(); err != nil {
		t.Fatal(err)
	}
	got, err = session.CheckRedis(ctx, app)
	if err != nil || len(got) != 1 || !strings.Contains(got[0], "could not read Redis's settings (INFO") {
		t.Errorf("INFO forbidden: %q, %v; want one warning that says what to check", got, err)
	}
}

// TestCheckRedisCluster: on a Cluster every master is checked, and a
// warning names its node (two redis-servers play a cluster of two masters
// with half the slots each).
func TestCheckRedisCluster(t *testing.T) {
	ctx := context.Background()
	good, bad := redistest.StartConf(t, "../deploy/redis.conf"), redistest.Start(t)
	cc := redis.NewClusterClient(&redis.ClusterOptions{
		ClusterSlots: func(context.Context) ([]redis.ClusterSlot, error) {
			return []redis.ClusterSlot{
				{Start: 0, End: 8191, Nodes: []redis.ClusterNode{{Addr: good.Addr}}},
				{Start: 8192, End: 16383, Nodes: []redis.ClusterNode{{Addr: bad.Addr}}},
			}, nil
		},
	})
	t.Cleanup(func() { cc.Close() })
	got, err := session.CheckRedis(ctx, cc)
	// go-redis names a loopback node by its port alone.
	_, port, _ := strings.Cut(bad.Addr, ":")
	if err != nil || len(got) != 1 || !strings.HasPrefix(got[0], "node ") || !strings.Contains(got[0], ":"+port+": ") || !strings.Contains(got[0], "persists nothing") {
		t.Errorf("CheckRedis on a cluster with one master that persists nothing: %q, %v; want one warning naming %s", got, err, bad.Addr)
	}

	down := redis.NewClusterClient(&redis.ClusterOptions{
		ClusterSlots: func(context.Context) ([]redis.ClusterSlot, error) {
			return []redis.ClusterSlot{
				{Start: 0, End: 8191, Nodes: []redis.ClusterNode{{Addr: good.Addr}}},
				{Start: 8192, End: 16383, Nodes: []redis.ClusterNode{{Addr: "127.0.0.1:1"}}},
			}, nil
		},
		MaxRetries: -1,
	})
	t.Cleanup(func() { down.Close() })
	if _, err := session.CheckRedis(ctx, down); !errors.Is(err, session.ErrUnavailable) {
		t.Errorf("CheckRedis on a cluster with a master down: %v, want ErrUnavailable", err)
	}
}

// TestCheckRedisUnreachable: a Redis that does not answer is reported as
// unavailable, not as wrong settings.
func TestCheckRedisUnreachable(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	if _, err := session.CheckRedis(context.Background(), rdb); !errors.Is(err, session.ErrUnavailable) {
		t.Errorf("CheckRedis of nothing: %v, want ErrUnavailable", err)
	}
}

// TestDeployRedisConf: a Redis run on deploy/redis.conf passes the check.
func TestDeployRedisConf(t *testing.T) {
	rdb := redistest.StartConf(t, "../deploy/redis.conf").Client(t)
	got, err := session.CheckRedis(context.Background(), rdb)
	if err != nil || len(got) != 0 {
		t.Errorf("CheckRedis on deploy/redis.conf: %q, %v; want no warnings", got, err)
	}
}

// TestCheckRedisEmbedded: a server that does not answer INFO or CONFIG GET
// as Redis does (miniredis here) gets the warning that says what to check.
func TestCheckRedisEmbedded(t *testing.T) {
	_, rdb := redistest.Embedded(t)
	got, err := session.CheckRedis(context.Background(), rdb)
	if err != nil || len(got) != 1 || !strings.Contains(got[0], "could not read Redis's settings") {
		t.Errorf("CheckRedis on miniredis: %q, %v; want one warning that says what to check", got, err)
	}
}
