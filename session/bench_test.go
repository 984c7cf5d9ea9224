package session_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"hotspot/internal/redistest"
	"hotspot/session"
)

// BenchmarkAccountRedis measures what an accounting Interim-Update costs a
// real redis-server, the part of the accounting path that the daemon
// cannot spread over cores: Redis's CPU time (user + system) and the time
// of its acctScript calls, per record, for 1,000 open sessions updated in
// turn by concurrent callers (as the RADIUS workers do). Run it with
//
//	go test ./session -run '^$' -bench AccountRedis -benchtime 100000x
func BenchmarkAccountRedis(b *testing.B) {
	for _, once := range []bool{false, true} {
		b.Run(fmt.Sprintf("online-once=%v", once), func(b *testing.B) { benchAccountRedis(b, once) })
	}
}

func benchAccountRedis(b *testing.B, once bool) {
	cfg := testConfig()
	cfg.Policy.Data = 1 << 50
	if once {
		cfg.Policy.OnlineTime = 24 * time.Hour
	}
	s, rdb := benchStore(b, cfg)
	const sessions = 1000
	rec := func(i int, status session.AcctStatus, n uint64) session.AcctRecord {
		return benchRecord(i, status, fmt.Sprintf("%08x", i), n)
	}
	for i := range sessions {
		mustBenchAccount(b, s, rec(i, session.AcctStart, 0))
	}
	measureAccount(b, s, rdb, func(n int) session.AcctRecord {
		return rec(n%sessions, session.AcctInterim, uint64(n/sessions+1))
	})
}

// BenchmarkAccountRedisKinds measures the same for each kind of record on
// its own: a Start of a new session of a device Redis knows, the first
// Interim-Update of an open session, and a Stop. Run it with
//
//	go test ./session -run '^$' -bench AccountRedisKinds -benchtime 50000x
func BenchmarkAccountRedisKinds(b *testing.B) {
	for _, kind := range []session.AcctStatus{session.AcctStart, session.AcctInterim, session.AcctStop} {
		b.Run(string(kind), func(b *testing.B) { benchAccountRedisKind(b, kind) })
	}
}

func benchAccountRedisKind(b *testing.B, kind session.AcctStatus) {
	cfg := testConfig()
	cfg.Policy.Data = 1 << 50
	s, rdb := benchStore(b, cfg)
	// Every device had a session before; the measured record's session is
	// open unless it is the Start.
	for i := range b.N {
		mustBenchAccount(b, s, benchRecord(i, session.AcctStart, "s", 7))
		if kind == session.AcctStart {
			mustBenchAccount(b, s, benchRecord(i, session.AcctStop, "s", 7))
		}
	}
	sid := "s"
	if kind == session.AcctStart {
		sid = "new"
	}
	measureAccount(b, s, rdb, func(i int) session.AcctRecord { return benchRecord(i, kind, sid, 7) })
}

// benchStore is a Store on a private redis-server.
func benchStore(b *testing.B, cfg session.Config) (*session.Store, *redis.Client) {
	rdb := redistest.Start(b).Client(b)
	s, err := session.NewStore(rdb, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	return s, rdb
}

func mustBenchAccount(b *testing.B, s *session.Store, r session.AcctRecord) {
	b.Helper()
	if _, err := s.Account(context.Background(), r); err != nil {
		b.Fatal(err)
	}
}

// measureAccount stores record(0), record(1), … from 64 concurrent callers
// (the RADIUS workers) and reports Redis's CPU time and script time per
// record.
func measureAccount(b *testing.B, s *session.Store, rdb *redis.Client, record func(i int) session.AcctRecord) {
	before := redisCosts(b, rdb)
	var next atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Account(context.Background(), record(int(next.Add(1)-1))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	after := redisCosts(b, rdb)
	b.ReportMetric((after.cpu-before.cpu)/float64(b.N), "redis-cpu-µs/op")
	b.ReportMetric((after.script-before.script)/float64(b.N), "script-µs/op")
}

// benchRecord is an accounting record of device i's session sid, n
// seconds and n kB in and 5n kB out into it.
func benchRecord(i int, status session.AcctStatus, sid string, n uint64) session.AcctRecord {
	return session.AcctRecord{
		Status: status, NAS: "nas1", SessionID: sid, MAC: session.MAC{0x02, 0, 0, byte(i >> 16), byte(i >> 8), byte(i)},
		Username: "hs-bench", AP: "00-11-22-33-44-55", SSID: "CityWiFi", IP: "10.1.2.3", NASIP: "10.0.0.1",
		InputOctets: n * 1000, OutputOctets: n * 5000, SessionTime: uint32(n),
	}
}

// redisCost is Redis's CPU time and the time of its EVALSHA calls, in µs.
type redisCost struct{ cpu, script float64 }

func redisCosts(b *testing.B, rdb *redis.Client) redisCost {
	b.Helper()
	info, err := rdb.Info(context.Background(), "cpu", "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	var c redisCost
	for line := range strings.SplitSeq(info, "\r\n") {
		k, v, _ := strings.Cut(line, ":")
		switch k {
		case "used_cpu_sys", "used_cpu_user":
			f, _ := strconv.ParseFloat(v, 64)
			c.cpu += f * 1e6
		case "cmdstat_evalsha":
			for kv := range strings.SplitSeq(v, ",") {
				if us, ok := strings.CutPrefix(kv, "usec="); ok {
					f, _ := strconv.ParseFloat(us, 64)
					c.script += f
				}
			}
		}
	}
	return c
}

// BenchmarkSpoolAppend measures how fast the spool takes accounting records
// while Redis is out of reach: 64 callers at once (the RADIUS workers),
// each record sealed and fsynced before its Append returns, fsyncs shared.
func BenchmarkSpoolAppend(b *testing.B) {
	sp, err := session.OpenSpool(b.TempDir(), []byte("bench-key-0123456789"), 1<<40)
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	var n atomic.Uint64
	b.SetParallelism(32) // 64 goroutines on 2 CPUs
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			r := session.AcctRecord{
				Status: session.AcctInterim, NAS: "nas1", SessionID: fmt.Sprintf("%08x", i), MAC: session.MAC{2, 0, 0, 0, byte(i >> 8), byte(i)},
				Username: "hs-bench", AP: "00-11-22-33-44-55", SSID: "CityWiFi", IP: "10.1.2.3", NASIP: "10.0.0.1",
				InputOctets: i * 1000, OutputOctets: i * 5000, SessionTime: uint32(i), Received: time.Now(),
			}
			if err := sp.Append(r); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(sp.Size())/float64(b.N), "B/record")
}
