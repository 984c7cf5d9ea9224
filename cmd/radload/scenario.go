package main

import (
	"fmt"
	"sync/atomic"

	"layeh.com/radius/rfc2866"
)

// A scenario is a script of requests. Each worker has its own generator
// over its own devices, so that one device's requests are sent in order,
// one at a time, as a NAS would.

type stepKind uint8

const (
	stepAuth    stepKind = iota // the grant's credentials, PAP or CHAP
	stepMACAuth                 // User-Name and password are the MAC
	stepAcct                    // an Accounting-Request
)

// step is one request to send.
type step struct {
	kind   stepKind
	dev    int // index into the devices
	nas    int // index into the target's NASes
	ap     int // access point, for Called-Station-Id
	status rfc2866.AcctStatusType
	sess   uint64       // the session's serial, unique within the run
	in     uint64       // cumulative octets from the device
	out    uint64       // cumulative octets to the device
	secs   uint32       // Acct-Session-Time
	ss     *acctSession // the generator's session of an accounting step
}

// generator yields a worker's requests. acked is called for every request
// answered, before the next call to next; the generators use it to keep
// the totals that the ledger must end up with.
type generator interface {
	next(st *step) bool
	acked(st *step)
}

// Scenario names.
const (
	scenarioAuth    = "auth"
	scenarioMACAuth = "mac-auth"
	scenarioAcct    = "acct"
	scenarioMixed   = "mixed"
)

// scenarioConfig says how the scenarios shape their scripts.
type scenarioConfig struct {
	name     string
	rounds   int // passes over the worker's devices; 0 means until the time is up
	interims int // acct: Interim-Updates per session
	stop     bool
	aps      int // access points
	minutes  int // mixed: length of the script in virtual minutes, one interim a minute
	roam     int // mixed: minutes between moves to another access point
	seed     uint64
}

func (c scenarioConfig) validate() error {
	switch c.name {
	case scenarioAuth, scenarioMACAuth, scenarioAcct, scenarioMixed:
	default:
		return fmt.Errorf("radload: unknown scenario %q (auth, mac-auth, acct, mixed)", c.name)
	}
	if c.aps < 1 {
		return fmt.Errorf("radload: -aps must be at least 1")
	}
	if c.name == scenarioMixed && (c.minutes < 1 || c.roam < 1) {
		return fmt.Errorf("radload: mixed needs -minutes and -roam of at least 1")
	}
	if c.interims < 0 || c.rounds < 0 {
		return fmt.Errorf("radload: -interims and -rounds must not be negative")
	}
	return nil
}

// ledger is what the generator expects the server's ledger to have added
// per device: the sum over its sessions of the highest totals answered.
// Devices may be shared by workers, so the sums are atomic.
type ledger struct {
	in, out []uint64
}

// owned returns the devices of worker w out of c: every c-th, starting at
// w; when there are fewer devices than workers, the devices are shared.
func owned(w, c, n int) []int {
	var devs []int
	for i := w; i < n; i += c {
		devs = append(devs, i)
	}
	if len(devs) == 0 {
		devs = append(devs, w%n)
	}
	return devs
}

// mix64 is SplitMix64's finaliser: deterministic, well spread numbers from
// a counter, so that a run's traffic is reproducible from its seed.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// authGen sends each of its devices' credentials in turn.
type authGen struct {
	cfg   scenarioConfig
	kind  stepKind
	devs  []int
	nasOf func(dev int) int
	i     int
	round int
}

func (g *authGen) next(st *step) bool {
	if g.i == len(g.devs) {
		g.i = 0
		g.round++
	}
	if g.cfg.rounds > 0 && g.round >= g.cfg.rounds {
		return false
	}
	d := g.devs[g.i]
	g.i++
	*st = step{kind: g.kind, dev: d, nas: g.nasOf(d), ap: d % g.cfg.aps}
	return true
}

func (g *authGen) acked(*step) {}

// acctSession is an accounting session in progress.
type acctSession struct {
	serial        uint64
	in, out       uint64 // totals sent so far
	ackIn, ackOut uint64 // highest totals answered
	minute        int
}

// grow advances s's totals by a minute of traffic.
func (s *acctSession) grow(seed uint64, dev int) {
	r := mix64(seed ^ uint64(dev)<<24 ^ s.serial<<1 ^ uint64(s.minute))
	s.in += r % (256 << 10)
	s.out += (r >> 20) % (2 << 20)
	s.minute++
}

// account records in the ledger what the server has acknowledged for s.
func (s *acctSession) account(l *ledger, dev int, st *step) {
	if st.in > s.ackIn {
		atomic.AddUint64(&l.in[dev], st.in-s.ackIn)
		s.ackIn = st.in
	}
	if st.out > s.ackOut {
		atomic.AddUint64(&l.out[dev], st.out-s.ackOut)
		s.ackOut = st.out
	}
}

// acctGen runs sessions over its devices in turn: Start, the interims,
// Stop (unless told not to), then the next device.
type acctGen struct {
	cfg    scenarioConfig
	devs   []int
	nasOf  func(dev int) int
	ledger *ledger
	serial func() uint64
	i      int
	round  int
	phase  int // 0 Start, 1..interims Interim-Update, interims+1 Stop
	s      *acctSession
}

func (g *acctGen) next(st *step) bool {
	if g.cfg.rounds > 0 && g.round >= g.cfg.rounds {
		return false
	}
	d := g.devs[g.i]
	*st = step{kind: stepAcct, dev: d, nas: g.nasOf(d), ap: d % g.cfg.aps}
	switch {
	case g.phase == 0:
		g.s = &acctSession{serial: g.serial()}
		st.status = rfc2866.AcctStatusType_Value_Start
	case g.phase <= g.cfg.interims:
		g.s.grow(g.cfg.seed, d)
		st.status = rfc2866.AcctStatusType_Value_InterimUpdate
	default:
		g.s.grow(g.cfg.seed, d)
		st.status = rfc2866.AcctStatusType_Value_Stop
	}
	st.sess, st.in, st.out, st.secs, st.ss = g.s.serial, g.s.in, g.s.out, uint32(g.s.minute*60), g.s
	g.phase++
	last := g.cfg.interims
	if g.cfg.stop {
		last++
	}
	if g.phase > last {
		g.phase = 0
		g.i++
		if g.i == len(g.devs) {
			g.i = 0
			g.round++
		}
	}
	return true
}

func (g *acctGen) acked(st *step) {
	if st.ss != nil {
		st.ss.account(g.ledger, st.dev, st)
	}
}

// mixedGen plays its devices through a day's busy stretch in compressed
// time: every virtual minute each device sends an Interim-Update; every
// cfg.roam minutes it moves to another access point (often another NAS):
// Stop there, MAC authentication and Start at the new one. At the end
// every session stops.
type mixedGen struct {
	cfg    scenarioConfig
	devs   []int
	nases  int
	ledger *ledger
	serial func() uint64
	minute int
	i      int
	queue  []step
	state  []mixedDevice // per owned device, parallel to devs
}

type mixedDevice struct {
	visit int
	ap    int
	s     *acctSession
}

// apOf returns the access point of dev's visit v: a different one each
// time, spread over all of them.
func (g *mixedGen) apOf(dev, v int) int {
	return int(mix64(g.cfg.seed^uint64(dev)<<20^uint64(v)) % uint64(g.cfg.aps))
}

// nasOfAP is the NAS that serves access point ap.
func (g *mixedGen) nasOfAP(ap int) int { return ap % g.nases }

func (g *mixedGen) next(st *step) bool {
	for len(g.queue) == 0 {
		if g.minute > g.cfg.minutes {
			return false
		}
		if g.state == nil {
			g.state = make([]mixedDevice, len(g.devs))
		}
		g.plan(g.devs[g.i], &g.state[g.i])
		g.i++
		if g.i == len(g.devs) {
			g.i = 0
			g.minute++
		}
	}
	*st = g.queue[0]
	g.queue = g.queue[1:]
	return true
}

// plan queues what device dev sends in the current minute.
func (g *mixedGen) plan(dev int, md *mixedDevice) {
	m := g.minute
	acct := func(status rfc2866.AcctStatusType) step {
		return step{kind: stepAcct, dev: dev, nas: g.nasOfAP(md.ap), ap: md.ap, status: status,
			sess: md.s.serial, in: md.s.in, out: md.s.out, secs: uint32(md.s.minute * 60), ss: md.s}
	}
	g.queue = g.queue[:0]
	if m > 0 {
		md.s.grow(g.cfg.seed, dev)
		if m%g.cfg.roam != 0 && m < g.cfg.minutes {
			g.queue = append(g.queue, acct(rfc2866.AcctStatusType_Value_InterimUpdate))
			return
		}
		g.queue = append(g.queue, acct(rfc2866.AcctStatusType_Value_Stop))
		if m == g.cfg.minutes {
			return
		}
		md.visit++
	}
	md.ap = g.apOf(dev, md.visit)
	md.s = &acctSession{serial: g.serial()}
	g.queue = append(g.queue,
		step{kind: stepMACAuth, dev: dev, nas: g.nasOfAP(md.ap), ap: md.ap},
		acct(rfc2866.AcctStatusType_Value_Start))
}

func (g *mixedGen) acked(st *step) {
	if st.ss != nil {
		st.ss.account(g.ledger, st.dev, st)
	}
}
