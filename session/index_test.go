package session

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"hotspot/internal/redistest"
)

// TestIndexerKeepsUpdatesWhileRedisIsAway: a batch Redis refuses is
// counted and kept, merged with newer records of the same sessions, and
// written once Redis answers again.
func TestIndexerKeepsUpdatesWhileRedisIsAway(t *testing.T) {
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	now := time.Unix(1_800_000_000, 0)
	x := newIndexer(rdb, 24*time.Hour, time.Hour, func() time.Time { return now })
	ctx := context.Background()
	x.add("{d:a}:s:n1:s1", indexEntryUpdate{nas: "n1", ap: "ap1", at: now.Unix()})
	m.SetError("READONLY refused")
	if err := x.flush(ctx); err == nil {
		t.Fatal("flush with Redis refusing: no error")
	}
	if x.failed.Load() != 1 {
		t.Errorf("failed = %d, want 1", x.failed.Load())
	}
	// The session closes meanwhile, reported without its AP.
	x.add("{d:a}:s:n1:s1", indexEntryUpdate{nas: "n1", at: now.Unix() + 5, closed: true})
	m.SetError("")
	if err := x.close(ctx); err != nil {
		t.Fatal(err)
	}
	if s, err := m.ZScore(closedSessionsKey, "{d:a}:s:n1:s1"); err != nil || s != float64(now.Unix()+5) {
		t.Errorf("closed sessions: score %v, %v; want the later record's", s, err)
	}
	if _, err := m.ZScore(apSessionsKey("ap1"), "{d:a}:s:n1:s1"); err != nil {
		t.Errorf("AP index: %v; want the session there (the AP of the earlier record)", err)
	}
	if m.Exists(nasOpenKey("n1")) {
		if _, err := m.ZScore(nasOpenKey("n1"), "{d:a}:s:n1:s1"); err == nil {
			t.Error("the closed session is in its NAS's open index")
		}
	}
	for _, k := range m.Keys() {
		if m.TTL(k) <= 0 {
			t.Errorf("index %s has no TTL", k)
		}
	}
	// Closed: adding schedules nothing.
	x.add("{d:a}:s:n1:s2", indexEntryUpdate{nas: "n1", at: now.Unix()})
	x.mu.Lock()
	armed := x.armed
	x.mu.Unlock()
	if armed {
		t.Error("a closed indexer scheduled a flush")
	}
}

func TestIndexEntryMerge(t *testing.T) {
	tests := []struct {
		name       string
		old, new   indexEntryUpdate
		wantClosed bool
	}{
		{"open, then closed", indexEntryUpdate{at: 10}, indexEntryUpdate{at: 20, closed: true}, true},
		{"closed, then an earlier record added late", indexEntryUpdate{at: 20, closed: true}, indexEntryUpdate{at: 10}, true},
		// A Stop that read the clock before an interim that ran first.
		{"closed, then a later open record", indexEntryUpdate{at: 10, closed: true}, indexEntryUpdate{at: 11}, true},
		{"closed, then begun anew", indexEntryUpdate{at: 10, closed: true}, indexEntryUpdate{at: 2000, anew: true}, false},
		{"begun anew, then open", indexEntryUpdate{at: 10, anew: true}, indexEntryUpdate{at: 20}, false},
	}
	for _, tt := range tests {
		if got := tt.new.merge(tt.old); got.closed != tt.wantClosed || got.at != max(tt.old.at, tt.new.at) {
			t.Errorf("%s: merged %+v, want closed %v at %d", tt.name, got, tt.wantClosed, max(tt.old.at, tt.new.at))
		}
	}
}

// TestIndexFlushInChunks: a flush that touches more indexes than go to
// Redis in one round trip writes them all, each with its TTL set in the
// same round trip as its entries.
func TestIndexFlushInChunks(t *testing.T) {
	m, x, now := newTestIndexer(t)
	ctx := context.Background()
	var rec pipelineRecorder
	x.rdb.AddHook(&rec)
	const aps = 5*indexChunk + 3
	for i := range aps {
		x.add(fmt.Sprintf("{d:a%d}:s:n1:s", i), indexEntryUpdate{nas: "n1", ap: fmt.Sprintf("ap%d", i), at: now.Unix(), closed: i%2 == 0})
	}
	if err := x.close(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range aps {
		k := apSessionsKey(fmt.Sprintf("ap%d", i))
		if _, err := m.ZScore(k, fmt.Sprintf("{d:a%d}:s:n1:s", i)); err != nil || m.TTL(k) <= 0 {
			t.Errorf("%s: %v, TTL %v; want the session, with a TTL", k, err, m.TTL(k))
		}
	}
	if n, _ := m.ZMembers(closedSessionsKey); len(n) != (aps+1)/2 {
		t.Errorf("closed sessions: %d, want %d", len(n), (aps+1)/2)
	}
	if len(x.trimmed) != aps+2 {
		t.Errorf("indexes trimmed: %d, want %d (every AP's, the NAS's, the closed sessions')", len(x.trimmed), aps+2)
	}
	if len(rec.pipelines) < 2 {
		t.Fatalf("%d round trips, want the flush in several", len(rec.pipelines))
	}
	for i, p := range rec.pipelines {
		expired := map[string]bool{}
		for _, c := range p {
			if k, ok := strings.CutPrefix(c, "expire "); ok {
				expired[k] = true
			}
		}
		for _, c := range p {
			if k, ok := strings.CutPrefix(c, "zadd "); ok && !expired[k] {
				t.Errorf("round trip %d writes %s without its TTL", i, k)
			}
		}
	}
}

// TestIndexFlushOnClusterClient: a Cluster client writes the indexes too,
// though they lie in many hash slots (one redis-server plays a cluster
// whose one node holds every slot).
func TestIndexFlushOnClusterClient(t *testing.T) {
	srv := redistest.Start(t)
	cc := redis.NewClusterClient(&redis.ClusterOptions{
		ClusterSlots: func(context.Context) ([]redis.ClusterSlot, error) {
			return []redis.ClusterSlot{{Start: 0, End: 16383, Nodes: []redis.ClusterNode{{Addr: srv.Addr}}}}, nil
		},
	})
	t.Cleanup(func() { cc.Close() })
	now := time.Unix(1_800_000_000, 0)
	x := newIndexer(cc, 24*time.Hour, time.Hour, func() time.Time { return now })
	ctx := context.Background()
	for i := range 3 {
		x.add(fmt.Sprintf("{d:a%d}:s:n1:s", i), indexEntryUpdate{nas: "n1", ap: fmt.Sprintf("ap%d", i), at: now.Unix(), closed: i == 0})
	}
	if err := x.close(ctx); err != nil || x.failed.Load() != 0 {
		t.Fatalf("flush on a Cluster client: %v (%d failed)", err, x.failed.Load())
	}
	rdb := srv.Client(t)
	for _, k := range []string{apSessionsKey("ap0"), apSessionsKey("ap2"), nasOpenKey("n1"), closedSessionsKey} {
		if n := rdb.ZCard(ctx, k).Val(); n == 0 || rdb.TTL(ctx, k).Val() <= 0 {
			t.Errorf("%s: %d members, TTL %v; want its sessions, with a TTL", k, n, rdb.TTL(ctx, k).Val())
		}
	}
}

// pipelineRecorder records each pipeline's commands as "name key".
type pipelineRecorder struct{ pipelines [][]string }

func (*pipelineRecorder) DialHook(next redis.DialHook) redis.DialHook { return next }

func (*pipelineRecorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (r *pipelineRecorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		var p []string
		if len(cmds) > 0 && (cmds[0].Name() == "client" || cmds[0].Name() == "hello") {
			return next(ctx, cmds) // the connection's set-up
		}
		for _, c := range cmds {
			name := c.Name()
			if len(c.Args()) > 1 {
				name += " " + fmt.Sprint(c.Args()[1])
			}
			p = append(p, name)
		}
		r.pipelines = append(r.pipelines, p)
		return next(ctx, cmds)
	}
}

// TestIndexerNeverMovesBack: a record applied late (from the spool), in a
// flush after a newer one's, leaves the session's place in the indexes at
// the newer record.
func TestIndexerNeverMovesBack(t *testing.T) {
	m, x, now := newTestIndexer(t)
	ctx := context.Background()
	x.add("{d:a}:s:n1:s1", indexEntryUpdate{nas: "n1", ap: "ap1", at: now.Unix()})
	if err := x.flush(ctx); err != nil {
		t.Fatal(err)
	}
	x.add("{d:a}:s:n1:s1", indexEntryUpdate{nas: "n1", ap: "ap1", at: now.Unix() - 600})
	if err := x.close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{nasOpenKey("n1"), apSessionsKey("ap1")} {
		if s, err := m.ZScore(k, "{d:a}:s:n1:s1"); err != nil || s != float64(now.Unix()) {
			t.Errorf("%s: score %v, %v; want the newer record's, %d", k, s, err, now.Unix())
		}
	}
}

// newTestIndexer returns an indexer on an embedded store, with a fixed
// clock at now.
func newTestIndexer(t *testing.T) (*miniredis.Miniredis, *indexer, time.Time) {
	t.Helper()
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { rdb.Close() })
	now := time.Unix(1_800_000_000, 0)
	return m, newIndexer(rdb, 24*time.Hour, time.Hour, func() time.Time { return now }), now
}
