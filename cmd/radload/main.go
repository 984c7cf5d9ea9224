// Command radload is the RADIUS load generator of hotspot's benchmarks. It
// plays many NASes and devices against a RADIUS server (hotspotd, or
// FreeRADIUS for comparison) with a fixed number of requests in flight,
// each worker on its own connected UDP socket, and reports throughput,
// latency and the CPU the server and Redis spent per request.
//
//	radload setup -hotspot-config FILE -devices N -o devices.csv
//	radload setup -plain -redis URL -devices N -o users.csv
//	radload run -hotspot-config FILE -devices devices.csv -scenario auth -c 64 -d 10s
//	radload run -auth 127.0.0.1:18120 -acct 127.0.0.1:18130 -secret S -devices users.csv -scenario acct
//	radload null-server -auth 127.0.0.1:18121 -acct 127.0.0.1:18131 -secret S
//	radload report -o bench.json RESULT.json...
//
// Scenarios: auth (the grants' credentials, PAP or CHAP), mac-auth
// (remembered devices), acct (Start, Interim-Updates, Stop over many
// sessions), mixed (devices roaming across access points and NASes in
// compressed time, with retransmits and stale interims, and a check that
// the ledger gained exactly what was sent).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"hotspot/session"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usageText = `usage: radload COMMAND [flags]

commands:
  setup        create devices: grants and remembered devices through hotspotd's store, or plain users for FreeRADIUS
  run          load a RADIUS server and report
  null-server  a layeh/radius server that does nothing (the floor)
  report       compare result files of hotspotd, FreeRADIUS and the floor

radload COMMAND -h shows the flags of a command.
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "setup":
		err = cmdSetup(ctx, args[1:], stdout, stderr)
	case "run":
		err = cmdRun(ctx, args[1:], stdout, stderr)
	case "null-server":
		err = cmdNullServer(ctx, args[1:], stderr)
	case "report":
		err = cmdReport(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usageText)
		return 0
	default:
		fmt.Fprintf(stderr, "radload: unknown command %q\n%s", args[0], usageText)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		var u usageError
		if errors.As(err, &u) {
			return 2
		}
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// usageError is a flag error, already printed by the flag set.
type usageError struct{ error }

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 && fs.Name() != "report" {
		fmt.Fprintf(fs.Output(), "radload %s: unexpected arguments %q\n", fs.Name(), fs.Args())
		return usageError{errors.New("unexpected arguments")}
	}
	return nil
}

func cmdSetup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hsConfig := fs.String("hotspot-config", "", "hotspotd's config file: its Redis, devices settings and NASes")
	plain := fs.Bool("plain", false, "store plain users for FreeRADIUS (SET session:USER PASSWORD) instead")
	redisURL := fs.String("redis", "", "with -plain: the Redis URL")
	n := fs.Int("devices", 10000, "number of devices")
	out := fs.String("o", "devices.csv", "devices file to write")
	par := fs.Int("parallel", 32, "requests to Redis at once")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 1 {
		return errors.New("radload: -devices must be at least 1")
	}
	start := time.Now()
	var devs []device
	var nases []nasTarget
	if *plain {
		if *redisURL == "" {
			return errors.New("radload: setup -plain needs -redis")
		}
		opts, err := redis.ParseURL(*redisURL)
		if err != nil {
			return fmt.Errorf("radload: -redis: %w", err)
		}
		rdb := redis.NewClient(opts)
		defer rdb.Close()
		nases = []nasTarget{{name: "nas"}}
		if devs, err = setupPlain(ctx, rdb, *n); err != nil {
			return err
		}
	} else {
		if *hsConfig == "" {
			return errors.New("radload: setup needs -hotspot-config (or -plain)")
		}
		cfg, err := loadHotspotConfig(*hsConfig)
		if err != nil {
			return err
		}
		tgt, err := targetFromConfig(cfg)
		if err != nil {
			return err
		}
		nases = tgt.nases
		store, rdb, err := openStore(cfg)
		if err != nil {
			return err
		}
		defer rdb.Close()
		if devs, err = setupGrants(ctx, store, tgt.nases, *n, *par); err != nil {
			return err
		}
	}
	if err := writeDevices(*out, nases, devs); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "radload setup: %d devices in %s (%.1fs)\n", len(devs), *out, time.Since(start).Seconds())
	return nil
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hsConfig := fs.String("hotspot-config", "", "hotspotd's config file: where it listens, its NASes and secrets, its Redis (for -verify)")
	authAddr := fs.String("auth", "", "without -hotspot-config: the server's auth address")
	acctAddr := fs.String("acct", "", "without -hotspot-config: the server's accounting address")
	secret := fs.String("secret", "", "without -hotspot-config: the shared secret")
	devFile := fs.String("devices", "devices.csv", "devices file from radload setup")
	label := fs.String("label", "server", "name of the server under load in the results")
	var sc scenarioConfig
	fs.StringVar(&sc.name, "scenario", scenarioAuth, "auth, mac-auth, acct or mixed")
	fs.IntVar(&sc.rounds, "rounds", 0, "passes over the devices (auth, mac-auth: one request per device; acct: one session per device); 0: until -d is over")
	fs.IntVar(&sc.interims, "interims", 3, "acct: Interim-Updates per session")
	fs.BoolVar(&sc.stop, "stop", true, "acct: end each session with a Stop")
	fs.IntVar(&sc.aps, "aps", 1000, "access points")
	fs.IntVar(&sc.minutes, "minutes", 10, "mixed: virtual minutes (one Interim-Update a minute per device)")
	fs.IntVar(&sc.roam, "roam", 5, "mixed: virtual minutes between moves to another access point")
	var lc loadConfig
	fs.IntVar(&lc.concurrency, "c", 64, "requests in flight")
	fs.DurationVar(&lc.duration, "d", 10*time.Second, "measured time; 0: until the scenario's script ends")
	fs.DurationVar(&lc.warmup, "warmup", 2*time.Second, "load before the measured time, not measured")
	fs.DurationVar(&lc.timeout, "timeout", time.Second, "wait for a reply before retransmitting")
	fs.IntVar(&lc.retries, "retries", 2, "retransmits of an unanswered request")
	chap := fs.Bool("chap", false, "auth: CHAP-Password instead of User-Password")
	fs.Float64Var(&lc.dupRate, "dup", 0, "acct, mixed: share of answered records followed by a retransmit of the same bytes and, for interims, by a stale copy")
	fs.DurationVar(&lc.progress, "progress", time.Second, "progress line interval; 0: none")
	verify := fs.Bool("verify", false, "check that hotspotd's ledger gained exactly the octets sent (needs -hotspot-config)")
	var watches watchList
	fs.Var(&watches, "watch", "NAME=PID of a process whose CPU to measure (server, redis); repeatable")
	jsonOut := fs.String("json", "", "write the result as JSON to this file")
	cpuProfile := fs.String("cpuprofile", "", "write the generator's own CPU profile to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	lc.chap = *chap
	ws, err := parseWatch(watches)
	if err != nil {
		return err
	}
	var (
		tgt *target
		cfg *hotspotConfig
	)
	if *hsConfig != "" {
		if cfg, err = loadHotspotConfig(*hsConfig); err != nil {
			return err
		}
		if tgt, err = targetFromConfig(cfg); err != nil {
			return err
		}
	} else if tgt, err = targetFromFlags(*authAddr, *acctAddr, *secret); err != nil {
		return err
	}
	devs, err := readDevices(*devFile, tgt.nases)
	if err != nil {
		return err
	}
	if sc.name == scenarioMixed || (sc.rounds > 0 && !isFlagSet(fs, "d")) {
		lc.duration, lc.warmup = 0, 0
	}

	var (
		store  *session.Store
		rdb    redis.UniversalClient
		before map[string]usage
	)
	if *verify {
		if cfg == nil {
			return errors.New("radload: -verify needs -hotspot-config")
		}
		if store, rdb, err = openStore(cfg); err != nil {
			return err
		}
		defer rdb.Close()
		if before, err = readLedger(ctx, rdb); err != nil {
			return err
		}
	}

	r, err := newRun(tgt, devs, lc, sc)
	if err != nil {
		return err
	}
	res := &Result{
		Label: *label, Scenario: sc.name, Concurrency: lc.concurrency, Devices: len(devs),
		Started: time.Now(), LoadBefore: loadAverage(),
	}
	var selfBefore time.Duration
	onPhase := func(p int32) {
		for _, w := range ws {
			s, err := readProc(w.pid)
			if err != nil {
				w.err = err
			}
			if p == phaseMeasure {
				w.before = s
			}
			w.last = s
		}
		if p == phaseMeasure {
			selfBefore = selfCPU()
		} else {
			res.Generator.CPUSeconds = (selfCPU() - selfBefore).Seconds()
		}
	}
	var progress io.Writer
	if lc.progress > 0 {
		progress = stderr
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("radload: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("radload: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	elapsed := r.execute(ctx, progress, onPhase)

	hist := newHistogram()
	for _, w := range r.workers {
		hist.merge(w.hist)
		res.Counts.add(&w.counts)
		if w.err != nil {
			res.Errors = append(res.Errors, w.err.Error())
		}
	}
	res.Seconds = elapsed.Seconds()
	if res.Seconds > 0 {
		res.ReqPerSec = float64(res.Counts.Answered) / res.Seconds
	}
	res.Latency = hist.summary()
	per := func(p *ProcCPU) {
		if res.Counts.Answered > 0 {
			p.MicrosPerRequest = p.CPUSeconds * 1e6 / float64(res.Counts.Answered)
		}
		if res.Seconds > 0 {
			p.Utilisation = p.CPUSeconds / res.Seconds
		}
	}
	for _, w := range ws {
		if res.Seconds == 0 {
			break // interrupted before anything was measured
		}
		p := ProcCPU{Name: w.name, PID: w.pid, CPUSeconds: (w.last.cpu - w.before.cpu).Seconds(), RSSBytes: w.last.rss}
		if w.err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("watch %s: %v", w.name, w.err))
		}
		per(&p)
		res.Procs = append(res.Procs, p)
	}
	res.Generator.Name = "radload"
	res.Generator.PID = os.Getpid()
	per(&res.Generator)

	if *verify {
		after, err := readLedger(context.WithoutCancel(ctx), rdb)
		if err != nil {
			return err
		}
		lc := checkLedger(devs, store.MACHash, before, after, r.ledger)
		res.Ledger = &lc
	}
	printSummary(stdout, res)
	if *jsonOut != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("radload: %w", err)
		}
	}
	if len(res.Errors) > 0 {
		return errors.New("radload: the run had errors")
	}
	if res.Ledger != nil && !res.Ledger.Equal {
		return errors.New("radload: the ledger does not match what was sent")
	}
	return nil
}

func isFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

func cmdNullServer(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("null-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	auth := fs.String("auth", "127.0.0.1:18121", "auth address")
	acct := fs.String("acct", "127.0.0.1:18131", "accounting address")
	secret := fs.String("secret", "testing123", "shared secret")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := net.ListenPacket("udp", *auth)
	if err != nil {
		return fmt.Errorf("radload: %w", err)
	}
	b, err := net.ListenPacket("udp", *acct)
	if err != nil {
		a.Close()
		return fmt.Errorf("radload: %w", err)
	}
	return nullServer(ctx, a, b, *secret)
}

func cmdReport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the comparison as JSON to this file")
	check := fs.Bool("check", false, "exit with an error when a target is not met")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var runs []*Result
	for _, p := range fs.Args() {
		r, err := readResult(p)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	if len(runs) == 0 {
		return errors.New("radload: report needs result files")
	}
	cmp := compare(stdout, machineLine(runs), runs)
	if *out != "" {
		b, err := json.MarshalIndent(cmp, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("radload: %w", err)
		}
	}
	if *check {
		for _, t := range cmp.Targets {
			if !t.Met {
				return errors.New("radload: targets not met")
			}
		}
	}
	return nil
}

func numCPU() int { return runtime.NumCPU() }
