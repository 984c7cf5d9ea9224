package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCompare(t *testing.T) {
	run := func(label, sc string, rps, p99, srv float64, timeouts uint64) *Result {
		r := &Result{Label: label, Scenario: sc, ReqPerSec: rps, Concurrency: 64, Seconds: 10,
			Latency: Latency{P50: p99 / 2, P99: p99}, Counts: counts{Timeouts: timeouts},
			Procs: []ProcCPU{{Name: "server", MicrosPerRequest: srv}, {Name: "redis", MicrosPerRequest: 5}}}
		return r
	}
	runs := []*Result{
		run(labelOurs, scenarioAuth, 50000, 2, 15, 0),
		// Three rounds of FreeRADIUS auth: the median (24000) counts.
		run(labelPeer, scenarioAuth, 20000, 4, 50, 0),
		run(labelPeer, scenarioAuth, 24000, 4, 50, 0),
		run(labelPeer, scenarioAuth, 30000, 4, 50, 0),
		run(labelFloor, scenarioAuth, 90000, 1, 8, 0),
		run(labelOurs, scenarioAcct, 15000, 9, 40, 3),
		run(labelPeer, scenarioAcct, 20000, 6, 60, 0),
	}
	var out bytes.Buffer
	cmp := compare(&out, "test machine", runs)
	want := map[string]bool{
		"auth throughput": true,  // 50000 / 24000 = 2.08
		"auth p99":        true,  // 2 ≤ 4
		"auth timeouts":   true,  // 0
		"auth server CPU": true,  // 15 / 8 = 1.9
		"acct throughput": false, // 0.75
		"acct p99":        false, // 9 > 6
		"acct timeouts":   false, // 3
	}
	if len(cmp.Targets) != len(want) {
		t.Fatalf("%d targets, want %d:\n%s", len(cmp.Targets), len(want), out.String())
	}
	for _, tl := range cmp.Targets {
		if met, ok := want[tl.Name]; !ok || met != tl.Met {
			t.Errorf("target %q met = %v (%s), want %v", tl.Name, tl.Met, tl.Measured, met)
		}
	}
	if !strings.Contains(out.String(), "2.08×") || !strings.Contains(out.String(), "median req/s of 3") {
		t.Errorf("table lacks the ratio 2.08× or the median note:\n%s", out.String())
	}
}
