package session_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"hotspot/internal/redistest"
	"hotspot/session"
)

var spoolKey = []byte("test-key-0123456789")

// redisError is an error as Redis answers it.
type redisError string

func (e redisError) Error() string { return string(e) }
func (redisError) RedisError()     {}

func openSpool(t *testing.T, dir string, max int64) *session.Spool {
	t.Helper()
	sp, err := session.OpenSpool(dir, spoolKey, max)
	if err != nil {
		t.Fatalf("OpenSpool: %v", err)
	}
	t.Cleanup(func() { sp.Close() })
	return sp
}

func spoolRecord(i int) session.AcctRecord {
	return session.AcctRecord{
		Status: session.AcctInterim, NAS: "nas1", SessionID: fmt.Sprintf("s%d", i), MAC: macA,
		Username: "hs-secret-user", IP: "10.1.2.3", InputOctets: uint64(i) * 1000, OutputOctets: 7,
		Received: time.Unix(1764160000+int64(i), 5).UTC(),
	}
}

// replayAll replays sp, collecting what it applies.
func replayAll(t *testing.T, sp *session.Spool) ([]session.AcctRecord, session.ReplayResult) {
	t.Helper()
	var got []session.AcctRecord
	res, err := sp.Replay(func(r session.AcctRecord) error { got = append(got, r); return nil })
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	return got, res
}

func TestSpoolRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	sp := openSpool(t, dir, 1<<20)
	for i := range 3 {
		if err := sp.Append(spoolRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	if sp.Pending() != 3 || sp.Size() == 0 {
		t.Fatalf("Pending, Size = %d, %d, want 3, > 0", sp.Pending(), sp.Size())
	}
	// Sealed: nothing of the record is on disk in clear.
	b, err := os.ReadFile(filepath.Join(dir, "current"))
	if err != nil {
		t.Fatal(err)
	}
	for _, clear := range []string{macA.String(), "hs-secret-user", "10.1.2.3", "nas1"} {
		if bytes.Contains(b, []byte(clear)) {
			t.Errorf("the spool file holds %q in clear", clear)
		}
	}
	for name, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, filepath.Join(dir, "current"): 0o600} {
		if st, err := os.Stat(name); err != nil || st.Mode() != want {
			t.Errorf("mode of %s = %v (%v), want %v", name, st.Mode(), err, want)
		}
	}
	got, res := replayAll(t, sp)
	if res != (session.ReplayResult{Applied: 3}) || len(got) != 3 {
		t.Fatalf("Replay = %+v, %d records, want 3 applied", res, len(got))
	}
	for i, r := range got {
		if want := spoolRecord(i); r.SessionID != want.SessionID || r.InputOctets != want.InputOctets || !r.Received.Equal(want.Received) || r.MAC != macA {
			t.Errorf("record %d = %+v, want %+v", i, r, want)
		}
	}
	if sp.Pending() != 0 || sp.Size() != 0 {
		t.Errorf("after the replay: Pending, Size = %d, %d, want 0, 0", sp.Pending(), sp.Size())
	}
	if got, _ := replayAll(t, sp); len(got) != 0 {
		t.Errorf("a second replay applied %d records, want none", len(got))
	}
}

// TestSpoolReplayStopsAtOutage: a replay stops where Redis is out of reach,
// and the next one goes on from there; records appended meanwhile follow.
func TestSpoolReplayStopsAtOutage(t *testing.T) {
	dir := t.TempDir()
	sp := openSpool(t, dir, 1<<20)
	for i := range 3 {
		sp.Append(spoolRecord(i))
	}
	var seen []string
	res, err := sp.Replay(func(r session.AcctRecord) error {
		seen = append(seen, r.SessionID)
		if r.SessionID == "s1" {
			return fmt.Errorf("wrapped: %w", syscall.ECONNREFUSED)
		}
		return nil
	})
	if !errors.Is(err, syscall.ECONNREFUSED) || res.Applied != 1 || res.Left != 3 || len(seen) != 2 {
		t.Fatalf("Replay at an outage = %+v, %v after %v, want 1 applied, 3 left, ECONNREFUSED", res, err, seen)
	}
	sp.Append(spoolRecord(3))
	got, res := replayAll(t, sp)
	if res.Applied != 3 || len(got) != 3 || got[0].SessionID != "s1" || got[2].SessionID != "s3" {
		t.Errorf("next Replay = %+v (%d records), want s1..s3 (it goes on where the last stopped)", res, len(got))
	}
	// A new process knows nothing of what was applied, and begins each
	// file from its start.
	sp.Append(spoolRecord(4))
	sp.Append(spoolRecord(5))
	sp.Replay(func(r session.AcctRecord) error {
		if r.SessionID == "s5" {
			return context.DeadlineExceeded
		}
		return nil
	})
	sp.Close()
	sp = openSpool(t, dir, 1<<20)
	if got, _ := replayAll(t, sp); len(got) != 2 || got[0].SessionID != "s4" {
		t.Errorf("after a restart, replayed %v, want s4 and s5", got)
	}
}

// TestSpoolRefusedRecords: a record the store refuses while Redis answers
// (out of memory, say) stops the replay and is tried again by the next,
// which goes on where the last stopped; one refused spoolMaxTries (12)
// times in a row is set aside in "rejected", never dropped, and an
// operator can queue that file again.
func TestSpoolRefusedRecords(t *testing.T) {
	dir := t.TempDir()
	sp := openSpool(t, dir, 1<<20)
	for i := range 3 {
		sp.Append(spoolRecord(i))
	}
	oom := redisError("OOM command not allowed when used memory > 'maxmemory'.")
	var seen []string
	apply := func(fail string, err error) func(session.AcctRecord) error {
		return func(r session.AcctRecord) error {
			seen = append(seen, r.SessionID)
			if r.SessionID == fail {
				return err
			}
			return nil
		}
	}
	for range 2 {
		if res, err := sp.Replay(apply("s1", oom)); !errors.Is(err, oom) || res.Left != 3 {
			t.Fatalf("Replay with s1 refused = %+v, %v; want it stopped with 3 left", res, err)
		}
	}
	if res, err := sp.Replay(apply("", nil)); err != nil || res != (session.ReplayResult{Applied: 2}) {
		t.Fatalf("Replay once the store takes s1 = %+v, %v; want s1 and s2 applied", res, err)
	}
	if want := []string{"s0", "s1", "s1", "s1", "s2"}; !slices.Equal(seen, want) {
		t.Errorf("records tried: %v, want %v (each replay goes on where the last stopped)", seen, want)
	}

	// A record the store always refuses.
	sp.Append(spoolRecord(3))
	sp.Append(spoolRecord(4))
	wrong := redisError("WRONGTYPE Operation against a key holding the wrong kind of value")
	for i := 1; i < 12; i++ {
		if _, err := sp.Replay(apply("s3", wrong)); !errors.Is(err, wrong) {
			t.Fatalf("Replay %d with s3 refused: %v, want the refusal", i, err)
		}
	}
	res, err := sp.Replay(apply("s3", wrong))
	if err != nil || res != (session.ReplayResult{Applied: 1, SetAside: 1}) || sp.Pending() != 0 {
		t.Fatalf("12th Replay = %+v, %v, pending %d; want s3 set aside, s4 applied", res, err, sp.Pending())
	}
	// Queued again by hand, while hotspotd runs, it is applied.
	if err := os.Rename(filepath.Join(dir, "rejected"), filepath.Join(dir, "replay-by-hand")); err != nil {
		t.Fatal(err)
	}
	if !sp.Waiting() {
		t.Error("Waiting() = false with a replay file put in by hand")
	}
	if got, res := replayAll(t, sp); len(got) != 1 || got[0].SessionID != "s3" || res.Applied != 1 {
		t.Errorf("replay of the rejected file = %+v (%v), want s3 applied", res, got)
	}
	if sp.Pending() != 0 || sp.Size() != 0 || sp.Waiting() {
		t.Errorf("after it: Pending %d, Size %d, Waiting %v; want 0, 0, false", sp.Pending(), sp.Size(), sp.Waiting())
	}
	sp.Append(spoolRecord(8))
	if sp.Pending() != 1 {
		t.Errorf("Pending after one more record = %d, want 1", sp.Pending())
	}
}

// TestSpoolAcrossRestarts: records spooled before a restart (or a crash)
// are pending after it, a torn last frame (the crash came mid-write) and a
// frame sealed under another key are dropped and counted, and the rest is
// applied.
func TestSpoolAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	sp, err := session.OpenSpool(dir, spoolKey, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	sp.Append(spoolRecord(0))
	sp.Append(spoolRecord(1))
	sp.Close()

	other, err := session.OpenSpool(dir, []byte("another-key-0123456789"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	other.Append(spoolRecord(2))
	other.Close()
	f, err := os.OpenFile(filepath.Join(dir, "current"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0, 0, 1, 0, 9, 9, 9}) // a frame of 256 bytes, 3 of them written
	f.Close()

	sp = openSpool(t, dir, 1<<20)
	if sp.Pending() != 4 {
		t.Errorf("Pending after the restart = %d, want 4 (two records, one under another key, one torn)", sp.Pending())
	}
	// Records spooled after the restart are not lost behind the torn one.
	sp.Append(spoolRecord(5))
	sp.Append(spoolRecord(6))
	got, res := replayAll(t, sp)
	if res != (session.ReplayResult{Applied: 4, Corrupt: 2}) || len(got) != 4 || got[1].SessionID != "s1" || got[3].SessionID != "s6" {
		t.Errorf("Replay = %+v, %d records, want s0, s1, s5 and s6 applied, 2 corrupt", res, len(got))
	}
	if sp.Pending() != 0 || sp.Size() != 0 {
		t.Errorf("Pending, Size = %d, %d, want 0, 0", sp.Pending(), sp.Size())
	}
}

func TestSpoolFull(t *testing.T) {
	sp := openSpool(t, t.TempDir(), 600)
	var err error
	n := 0
	for ; n < 10 && err == nil; n++ {
		err = sp.Append(spoolRecord(n))
	}
	if !errors.Is(err, session.ErrSpoolFull) || n < 2 || sp.Size() > 600 {
		t.Fatalf("appends to a 600-byte spool: %d, then %v, size %d; want ErrSpoolFull after some, size ≤ 600", n, err, sp.Size())
	}
	if got, _ := replayAll(t, sp); len(got) != n-1 {
		t.Errorf("replayed %d records, want the %d that fit", len(got), n-1)
	}
	if err := sp.Append(spoolRecord(0)); err != nil {
		t.Errorf("Append after the replay emptied the spool: %v", err)
	}
}

// TestSpoolConcurrent: appends at the same time (sharing fsyncs), and a
// replay among them: every record is applied once the last replay ran.
func TestSpoolConcurrent(t *testing.T) {
	sp := openSpool(t, t.TempDir(), 16<<20)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		applied = map[string]int{}
	)
	apply := func(r session.AcctRecord) error {
		mu.Lock()
		applied[r.SessionID]++
		mu.Unlock()
		return nil
	}
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				if err := sp.Append(spoolRecord(g*1000 + i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if _, err := sp.Replay(apply); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	if _, err := sp.Replay(apply); err != nil {
		t.Fatal(err)
	}
	if len(applied) != 400 || sp.Pending() != 0 || sp.Size() != 0 {
		t.Errorf("applied %d distinct records, %d pending, %d bytes; want 400, 0, 0", len(applied), sp.Pending(), sp.Size())
	}
}

func TestOpenSpoolErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	for name, f := range map[string]func() error{
		"no directory": func() error { _, err := session.OpenSpool("", spoolKey, 1); return err },
		"no size":      func() error { _, err := session.OpenSpool(t.TempDir(), spoolKey, 0); return err },
		"a file":       func() error { _, err := session.OpenSpool(file, spoolKey, 1); return err },
	} {
		if err := f(); err == nil {
			t.Errorf("OpenSpool with %s: no error", name)
		}
	}
}

func TestIsOutage(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("session: account: unknown status"), false},
		{redisError("WRONGTYPE Operation against a key"), false},
		{redis.Nil, false},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{fmt.Errorf("%w: account: %w", session.ErrUnavailable, io.EOF), true},
		{context.DeadlineExceeded, true},
		{redis.ErrPoolTimeout, true},
		{fmt.Errorf("x: %w", redisError("LOADING Redis is loading the dataset in memory")), true},
		{redisError("READONLY You can't write against a read only replica."), true},
		{redisError("CLUSTERDOWN The cluster is down"), true},
		{redisError("OOM command not allowed when used memory > 'maxmemory'."), true},
		{redisError("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk."), true},
		{redisError("ERR Error running script (call to f_0123): @user_script:12: @user_script: 12: -READONLY You can't write against a read only replica."), true},
		{redisError("ERR Error running script (call to f_0123): @user_script:12: WRONGTYPE Operation against a key"), false},
		{errors.New("redis: cluster has no nodes"), true},
		{fmt.Errorf("x: %w", errors.New("redis: all sentinels specified in configuration are unreachable")), true},
	} {
		if got := session.IsOutage(tt.err); got != tt.want {
			t.Errorf("IsOutage(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}, true},
		{&net.OpError{Op: "dial", Net: "tcp", Err: context.DeadlineExceeded}, true},
		{fmt.Errorf("%w: account: %w", session.ErrUnavailable, &net.OpError{Op: "read", Err: syscall.ECONNRESET}), true},
		{io.EOF, true},
		{redisError("LOADING Redis is loading the dataset in memory"), true},
		{errors.New("redis: all sentinels specified in configuration are unreachable"), true},
		// Reachable, but slow or refusing.
		{context.DeadlineExceeded, false},
		{&net.OpError{Op: "read", Err: &timeoutError{}}, false},
		{redis.ErrPoolTimeout, false},
		{redisError("OOM command not allowed when used memory > 'maxmemory'."), false},
		{redisError("NOAUTH Authentication required."), false},
		{redisError("WRONGTYPE Operation against a key"), false},
	} {
		if got := session.IsUnreachable(tt.err); got != tt.want {
			t.Errorf("IsUnreachable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// timeoutError is a net.Error that timed out.
type timeoutError struct{}

func (*timeoutError) Error() string   { return "i/o timeout" }
func (*timeoutError) Timeout() bool   { return true }
func (*timeoutError) Temporary() bool { return true }

// FuzzSpoolReplay: whatever a spool file holds (a disk fills, a file is
// cut short or overwritten), opening and replaying it never panics, and
// every frame is either applied or counted as corrupt.
func FuzzSpoolReplay(f *testing.F) {
	dir := f.TempDir()
	sp, err := session.OpenSpool(dir, spoolKey, 1<<20)
	if err != nil {
		f.Fatal(err)
	}
	sp.Append(spoolRecord(1))
	sp.Close()
	good, err := os.ReadFile(filepath.Join(dir, "current"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(append(bytes.Clone(good), good[:10]...))
	f.Add([]byte{0, 0, 0, 1, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "current"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		sp, err := session.OpenSpool(dir, spoolKey, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		defer sp.Close()
		pending := sp.Pending()
		res, err := sp.Replay(func(session.AcctRecord) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if int64(res.Applied+res.Corrupt) < pending || sp.Pending() != 0 || sp.Size() != 0 {
			t.Fatalf("Replay = %+v of %d pending; left %d pending, %d bytes", res, pending, sp.Pending(), sp.Size())
		}
	})
}

// callCounter counts the commands and pipelines a go-redis client sends.
type callCounter struct{ n atomic.Int64 }

func (c *callCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *callCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}
func (c *callCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// outage is a store with a spool on a real redis-server behind a proxy
// that can cut it off.
type outage struct {
	proxy *redistest.Proxy
	rdb   *redis.Client
	st    *session.Store
	clk   *clock
	sp    *session.Spool
	s     *session.Spooled
}

func newOutage(t *testing.T) *outage {
	t.Helper()
	o := &outage{proxy: redistest.NewProxy(t, redistest.Start(t).Addr)}
	// One dial a try, no retries: an outage shows at once.
	o.rdb = redis.NewClient(&redis.Options{Addr: o.proxy.Addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { o.rdb.Close() })
	o.st, o.clk = newStore(t, o.rdb, testConfig())
	o.sp = openSpool(t, t.TempDir(), 1<<20)
	o.s = session.NewSpooled(o.st, o.sp)
	return o
}

// TestSpooledOutage: with Redis out of reach (its connections cut and new
// ones refused), accounting records are answered from the spool; once
// Redis is back, a replay applies them, and the ledger is what it would
// have been without the outage. Applying them all again changes nothing.
func TestSpooledOutage(t *testing.T) {
	ctx := context.Background()
	o := newOutage(t)
	proxy, rdb, st, clk, sp, s := o.proxy, o.rdb, o.st, o.clk, o.sp, o.s
	account := func(r session.AcctRecord) session.Usage {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		u, err := s.Account(cctx, r)
		if err != nil {
			t.Fatalf("Account(%s %s): %v", r.Status, r.SessionID, err)
		}
		return u
	}
	rec := func(st session.AcctStatus, mac session.MAC, sid string, mib uint64) session.AcctRecord {
		r := acct(st, sid, mib<<20, 0)
		r.MAC = mac
		return r
	}
	account(rec(session.AcctStart, macA, "a1", 0))
	if u := account(rec(session.AcctInterim, macA, "a1", 10)); u.Spooled || u.Total() != 10<<20 {
		t.Fatalf("before the outage: %+v, want 10 MiB, not spooled", u)
	}

	proxy.Cut()
	t0 := clk.Now()
	tries := &callCounter{}
	rdb.AddHook(tries)
	for i, r := range []session.AcctRecord{
		rec(session.AcctInterim, macA, "a1", 30),
		rec(session.AcctInterim, macA, "a1", 20), // late, lower
		rec(session.AcctStart, macB, "b1", 0),
		rec(session.AcctStop, macB, "b1", 5),
		rec(session.AcctStop, macA, "a1", 40),
	} {
		clk.Set(t0.Add(time.Duration(i) * time.Second))
		if u := account(r); !u.Spooled {
			t.Fatalf("record %d during the outage: %+v, want spooled", i, u)
		}
	}
	// Once Redis failed, only one record every 2 s tried it: at 0, 2 and
	// 4 s.
	if n := tries.n.Load(); n != 3 {
		t.Errorf("%d of 5 records tried Redis during the outage, want 3", n)
	}
	if _, err := s.Account(ctx, session.AcctRecord{Status: session.AcctInterim, NAS: "nas1"}); err == nil || errors.Is(err, session.ErrUnavailable) {
		t.Errorf("an invalid record during the outage: %v, want it refused, not spooled", err)
	}
	if res, err := s.Replay(ctx); !session.IsOutage(err) || res.Applied != 0 || res.Left != 5 {
		t.Fatalf("Replay during the outage = %+v, %v; want nothing applied, 5 left, an outage", res, err)
	}

	proxy.Restore(t)
	clk.Set(t0.Add(time.Minute))
	if res, err := s.Replay(ctx); err != nil || res != (session.ReplayResult{Applied: 5}) {
		t.Fatalf("Replay once Redis is back = %+v, %v; want 5 applied", res, err)
	}
	check := func(when string) {
		t.Helper()
		for _, c := range []struct {
			mac  session.MAC
			want int64
		}{{macA, 40 << 20}, {macB, 5 << 20}} {
			d, err := st.DeviceStatus(ctx, c.mac, session.Where{NAS: "nas1"})
			if err != nil {
				t.Fatal(err)
			}
			if d.DataUsed != c.want || len(d.Sessions) != 0 {
				t.Errorf("%s: device %s used %d with %d open sessions, want %d and none open", when, c.mac, d.DataUsed, len(d.Sessions), c.want)
			}
		}
	}
	check("after the replay")

	// The same records again (a replay cut short after applying them):
	// nothing changes.
	for i := range 5 {
		r := rec(session.AcctInterim, macA, "a1", 30)
		if i == 4 {
			r = rec(session.AcctStop, macB, "b1", 5)
		}
		r.Received = t0
		sp.Append(r)
	}
	if res, err := s.Replay(ctx); err != nil || res.Applied != 5 {
		t.Fatalf("second Replay = %+v, %v", res, err)
	}
	check("after applying records again")

	// Redis back, records go to it again.
	if u := account(rec(session.AcctStart, macA, "a2", 0)); u.Spooled {
		t.Errorf("after the outage: %+v, want it stored in Redis", u)
	}
}

// TestSpoolReplayKeepsWindow: a record spooled before midnight and applied
// after it counts in the day it arrived in, not in the new day.
func TestSpoolReplayKeepsWindow(t *testing.T) {
	ctx := context.Background()
	o := newOutage(t)
	proxy, st, clk, s := o.proxy, o.st, o.clk, o.s
	clk.Set(time.Date(2026, 11, 26, 23, 59, 0, 0, berlin))
	mustAccount(t, st, acct(session.AcctStart, "s1", 0, 0))
	mustAccount(t, st, acct(session.AcctInterim, "s1", 10<<20, 0))
	proxy.Cut()
	clk.Set(time.Date(2026, 11, 26, 23, 59, 50, 0, berlin))
	if u, err := s.Account(ctx, acct(session.AcctInterim, "s1", 30<<20, 0)); err != nil || !u.Spooled {
		t.Fatalf("Account during the outage = %+v, %v, want spooled", u, err)
	}
	proxy.Restore(t)
	clk.Set(time.Date(2026, 11, 27, 0, 5, 0, 0, berlin))
	if res, err := s.Replay(ctx); err != nil || res.Applied != 1 {
		t.Fatalf("Replay = %+v, %v", res, err)
	}
	if u := mustAccount(t, st, acct(session.AcctInterim, "s1", 31<<20, 0)); u.Total() != 1<<20 {
		t.Errorf("the new day's total = %d, want 1 MiB: the 20 MiB spooled before midnight belong to the day before", u.Total())
	}
}

// TestSpoolTakesUpLeftFiles: a file an earlier run was appending to under
// another name (a rename failed) is taken up like "current"; empty ones
// are removed.
func TestSpoolTakesUpLeftFiles(t *testing.T) {
	dir := t.TempDir()
	sp, err := session.OpenSpool(dir, spoolKey, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	sp.Append(spoolRecord(7))
	sp.Close()
	if err := os.Rename(filepath.Join(dir, "current"), filepath.Join(dir, "current.3")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "current.4"), nil, 0o600)
	sp = openSpool(t, dir, 1<<20)
	if sp.Pending() != 1 {
		t.Errorf("Pending = %d, want 1", sp.Pending())
	}
	if got, _ := replayAll(t, sp); len(got) != 1 || got[0].SessionID != "s7" {
		t.Errorf("replayed %v, want s7", got)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"current"}) {
		t.Errorf("spool files after the replay: %v, want only current", names)
	}
}
