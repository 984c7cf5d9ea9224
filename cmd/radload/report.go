package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"
)

// Result is what one run measured; radload writes it as JSON, and
// `radload report` puts several side by side.
type Result struct {
	Label       string       `json:"label"` // the server under load: hotspotd, freeradius, layeh-null
	Scenario    string       `json:"scenario"`
	Concurrency int          `json:"concurrency"`
	Devices     int          `json:"devices"`
	Started     time.Time    `json:"started"`
	Seconds     float64      `json:"seconds"` // the measured time
	LoadBefore  float64      `json:"loadavg_1m_before"`
	ReqPerSec   float64      `json:"req_per_s"`
	Counts      counts       `json:"counts"`
	Latency     Latency      `json:"latency"`
	Procs       []ProcCPU    `json:"procs"`
	Generator   ProcCPU      `json:"generator"`
	Ledger      *LedgerCheck `json:"ledger,omitempty"`
	Errors      []string     `json:"errors,omitempty"`
}

// ProcCPU is the CPU a process spent during the measured time.
type ProcCPU struct {
	Name       string  `json:"name"`
	PID        int     `json:"pid,omitempty"`
	CPUSeconds float64 `json:"cpu_s"`
	// MicrosPerRequest is CPU per answered request, in microseconds.
	MicrosPerRequest float64 `json:"cpu_us_per_req"`
	// Utilisation is CPU seconds per second: 1 is one core busy.
	Utilisation float64 `json:"cpu_cores"`
	RSSBytes    int64   `json:"rss_bytes,omitempty"`
}

func (r *Result) proc(name string) (ProcCPU, bool) {
	for _, p := range r.Procs {
		if p.Name == name {
			return p, true
		}
	}
	return ProcCPU{}, false
}

// printSummary writes a run's result for a person.
func printSummary(w io.Writer, r *Result) {
	c := r.Counts
	fmt.Fprintf(w, "%s %s: %d in flight, %.1fs measured, load average before %.2f\n",
		r.Label, r.Scenario, r.Concurrency, r.Seconds, r.LoadBefore)
	fmt.Fprintf(w, "  %.0f req/s  %d requests  %d answered  %d accepts  %d rejects  %d acct  %d timeouts  %d failed  %d bad replies\n",
		r.ReqPerSec, c.Requests, c.Answered, c.Accepts, c.Rejects, c.AcctOK, c.Timeouts, c.Failed, c.BadReplies)
	l := r.Latency
	fmt.Fprintf(w, "  latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f\n", l.P50, l.P90, l.P99, l.Max, l.Mean)
	for _, p := range append(r.Procs, r.Generator) {
		fmt.Fprintf(w, "  cpu %-10s %7.2fs  %6.1f µs/req  %4.2f cores", p.Name, p.CPUSeconds, p.MicrosPerRequest, p.Utilisation)
		if p.RSSBytes > 0 {
			fmt.Fprintf(w, "  rss %.1f MiB", float64(p.RSSBytes)/(1<<20))
		}
		fmt.Fprintln(w)
	}
	if c.Retransmits+c.Stale > 0 {
		fmt.Fprintf(w, "  retransmits %d (answered with the same bytes: %d), stale interims %d\n", c.Retransmits, c.SameReply, c.Stale)
	}
	if lc := r.Ledger; lc != nil {
		verdict := "EQUAL"
		if !lc.Equal {
			verdict = "DIFFERENT"
		}
		fmt.Fprintf(w, "  ledger: %s — sent in %d out %d; ledger gained in %d out %d; %d of %d devices differ\n",
			verdict, lc.SentIn, lc.SentOut, lc.LedgerIn, lc.LedgerOut, lc.DevicesWrong, lc.Devices)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "  error: %s\n", e)
	}
}

func readResult(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("radload: %w", err)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("radload: %s: %w", path, err)
	}
	return &r, nil
}

// Labels of the servers `make bench` compares.
const (
	labelOurs  = "hotspotd"
	labelPeer  = "freeradius"
	labelFloor = "layeh-null"
)

// Comparison is the bench's verdict, written as JSON beside the table.
type Comparison struct {
	Machine string       `json:"machine"`
	Runs    []*Result    `json:"runs"`
	Targets []TargetLine `json:"targets"`
}

// TargetLine is one target of issue 5 against what was measured.
type TargetLine struct {
	Name     string  `json:"name"`
	Target   string  `json:"target"`
	Measured string  `json:"measured"`
	Met      bool    `json:"met"`
	Value    float64 `json:"value"`
}

// compare lays out the runs side by side and checks the targets.
func compare(w io.Writer, machine string, runs []*Result) Comparison {
	// With several runs of a kind, the one with the median throughput
	// stands for them.
	rounds := 0
	find := func(label, scenario string) *Result {
		var rs []*Result
		for _, r := range runs {
			if r.Label == label && r.Scenario == scenario {
				rs = append(rs, r)
			}
		}
		if len(rs) == 0 {
			return nil
		}
		rounds = max(rounds, len(rs))
		slices.SortFunc(rs, func(a, b *Result) int { return cmp.Compare(a.ReqPerSec, b.ReqPerSec) })
		return rs[(len(rs)-1)/2]
	}
	cmp := Comparison{Machine: machine, Runs: runs}
	fmt.Fprintf(w, "%s\n\n", machine)
	fmt.Fprintf(w, "%-5s %-22s %12s %12s %10s\n", "", "", "hotspotd", "FreeRADIUS", "ours/FR")
	ratio := func(a, b float64) string {
		if b == 0 {
			return "—"
		}
		return fmt.Sprintf("%.2f×", a/b)
	}
	for _, sc := range []string{scenarioAuth, scenarioAcct} {
		ours, peer := find(labelOurs, sc), find(labelPeer, sc)
		if ours == nil || peer == nil {
			fmt.Fprintf(w, "%-5s (missing a run: hotspotd %v, FreeRADIUS %v)\n", sc, ours != nil, peer != nil)
			continue
		}
		row := func(name string, a, b float64, format string) {
			fmt.Fprintf(w, "%-5s %-22s %12s %12s %10s\n", sc, name, fmt.Sprintf(format, a), fmt.Sprintf(format, b), ratio(a, b))
		}
		row("req/s", ours.ReqPerSec, peer.ReqPerSec, "%.0f")
		row("p50 ms", ours.Latency.P50, peer.Latency.P50, "%.3f")
		row("p99 ms", ours.Latency.P99, peer.Latency.P99, "%.3f")
		ourSrv, _ := ours.proc("server")
		peerSrv, _ := peer.proc("server")
		row("server CPU µs/req", ourSrv.MicrosPerRequest, peerSrv.MicrosPerRequest, "%.1f")
		ourRedis, _ := ours.proc("redis")
		peerRedis, _ := peer.proc("redis")
		row("Redis CPU µs/req", ourRedis.MicrosPerRequest, peerRedis.MicrosPerRequest, "%.1f")
		row("server+Redis µs/req", ourSrv.MicrosPerRequest+ourRedis.MicrosPerRequest,
			peerSrv.MicrosPerRequest+peerRedis.MicrosPerRequest, "%.1f")
		row("generator CPU µs/req", ours.Generator.MicrosPerRequest, peer.Generator.MicrosPerRequest, "%.1f")
		fmt.Fprintf(w, "%-5s %-22s %12d %12d\n", sc, "timeouts / failed", ours.Counts.Timeouts+ours.Counts.Failed, peer.Counts.Timeouts+peer.Counts.Failed)
		fmt.Fprintf(w, "%-5s %-22s %12d %12d\n", sc, "rejects", ours.Counts.Rejects, peer.Counts.Rejects)

		x := ours.ReqPerSec / math.Max(peer.ReqPerSec, 1)
		cmp.Targets = append(cmp.Targets,
			TargetLine{Name: sc + " throughput", Target: "≥ 2× FreeRADIUS req/s", Measured: fmt.Sprintf("%.2f×", x), Met: x >= 2, Value: x},
			TargetLine{Name: sc + " p99", Target: "≤ FreeRADIUS p99", Measured: fmt.Sprintf("%.3f ms vs %.3f ms", ours.Latency.P99, peer.Latency.P99),
				Met: ours.Latency.P99 <= peer.Latency.P99, Value: ours.Latency.P99 / math.Max(peer.Latency.P99, 1e-9)},
			TargetLine{Name: sc + " timeouts", Target: "0", Measured: fmt.Sprint(ours.Counts.Timeouts + ours.Counts.Failed),
				Met: ours.Counts.Timeouts+ours.Counts.Failed == 0, Value: float64(ours.Counts.Timeouts + ours.Counts.Failed)},
		)
		if sc == scenarioAuth {
			if floor := find(labelFloor, sc); floor != nil {
				fs, _ := floor.proc("server")
				fx := ourSrv.MicrosPerRequest / math.Max(fs.MicrosPerRequest, 1e-9)
				fmt.Fprintf(w, "%-5s %-22s %12s %12s   do-nothing layeh server: %.0f req/s, %.1f µs CPU/req\n", sc, "", "", "", floor.ReqPerSec, fs.MicrosPerRequest)
				cmp.Targets = append(cmp.Targets, TargetLine{Name: "auth server CPU", Target: "≤ 2× do-nothing layeh server's µs/req",
					Measured: fmt.Sprintf("%.2f× (%.1f vs %.1f µs)", fx, ourSrv.MicrosPerRequest, fs.MicrosPerRequest), Met: fx <= 2, Value: fx})
			}
		}
		fmt.Fprintln(w)
	}
	if rounds > 1 {
		fmt.Fprintf(w, "(each figure from the run with the median req/s of %d)\n\n", rounds)
	}
	fmt.Fprintf(w, "%-28s %-38s %s\n", "target", "wanted", "measured")
	for _, t := range cmp.Targets {
		verdict := "met"
		if !t.Met {
			verdict = "NOT MET"
		}
		fmt.Fprintf(w, "%-28s %-38s %-28s %s\n", t.Name, t.Target, t.Measured, verdict)
	}
	return cmp
}

// machineLine describes the machine a bench ran on.
func machineLine(runs []*Result) string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	loads := []string{}
	for _, r := range runs {
		loads = append(loads, fmt.Sprintf("%.2f", r.LoadBefore))
	}
	when := ""
	if len(runs) > 0 {
		when = runs[0].Started.UTC().Format("2006-01-02 15:04 UTC")
	}
	conc, secs := 0, 0.0
	if len(runs) > 0 {
		conc, secs = runs[0].Concurrency, runs[0].Seconds
	}
	return fmt.Sprintf("%s; %s, %d CPUs; %d in flight, ~%.0fs per run; load average before each run: %s",
		when, model, numCPU(), conc, secs, strings.Join(loads, ", "))
}
