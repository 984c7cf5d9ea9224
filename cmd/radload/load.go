package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
)

// loadConfig is how hard and how long to load the target.
type loadConfig struct {
	concurrency int           // requests in flight: workers, one connected socket each per NAS and port
	duration    time.Duration // measured time; 0 means until the script ends
	warmup      time.Duration // sent but not measured, before the measured time
	timeout     time.Duration // wait for a reply before a retransmit
	retries     int           // retransmits of the same bytes, as a NAS does
	chap        bool          // auth: CHAP instead of PAP
	dupRate     float64       // acct: share of answered requests followed by a retransmit and by a stale copy
	progress    time.Duration // progress line interval; 0 for none
}

// phases of a run: requests are measured only if they start and end in
// the measured phase.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseDone
)

// loadRun is one load run in progress.
type loadRun struct {
	tgt     *target
	devs    []device
	cfg     loadConfig
	sc      scenarioConfig
	ledger  *ledger
	nonce   uint32 // makes the run's Acct-Session-Ids unique
	serials atomic.Uint64
	phase   atomic.Int32
	workers []*worker
}

// worker sends one request at a time and waits for its answer.
type worker struct {
	r      *loadRun
	gen    generator
	conns  []nasConns // per NAS
	enc    encoder
	rbuf   []byte
	first  []byte        // the reply to the request a retransmit repeats
	cc     *rand.ChaCha8 // random Request Authenticators
	rng    *rand.Rand    // over cc
	hist   *histogram
	counts counts
	// For the progress line, which reads them while the worker runs.
	done, timeouts, rejects atomic.Uint64
	err                     error
	_                       [64]byte // keeps hot counters of neighbouring workers apart
}

// nasConns are a worker's sockets as one NAS: connected UDP sockets from
// the NAS's address to the auth and the accounting port.
type nasConns struct {
	auth, acct *net.UDPConn
	sign       *signer
	id         byte
}

var errNoReply = errors.New("no reply")

func newRun(tgt *target, devs []device, cfg loadConfig, sc scenarioConfig) (*loadRun, error) {
	if err := sc.validate(); err != nil {
		return nil, err
	}
	if cfg.concurrency < 1 {
		return nil, errors.New("radload: -c must be at least 1")
	}
	if cfg.duration <= 0 && sc.rounds == 0 && sc.name != scenarioMixed {
		return nil, errors.New("radload: give -d or -rounds")
	}
	var nb [4]byte
	crand.Read(nb[:])
	r := &loadRun{
		tgt: tgt, devs: devs, cfg: cfg, sc: sc,
		ledger: &ledger{in: make([]uint64, len(devs)), out: make([]uint64, len(devs))},
		nonce:  uint32(nb[0])<<24 | uint32(nb[1])<<16 | uint32(nb[2])<<8 | uint32(nb[3]),
	}
	if sc.seed == 0 {
		r.sc.seed = uint64(r.nonce)
	}
	for w := range cfg.concurrency {
		wk, err := r.newWorker(w)
		if err != nil {
			r.close()
			return nil, err
		}
		r.workers = append(r.workers, wk)
	}
	return r, nil
}

func (r *loadRun) newWorker(w int) (*worker, error) {
	var seed [32]byte
	crand.Read(seed[:])
	cc := rand.NewChaCha8(seed)
	wk := &worker{
		r: r, rbuf: make([]byte, radius.MaxPacketLength), first: make([]byte, 0, radius.MaxPacketLength),
		cc: cc, rng: rand.New(cc), hist: newHistogram(),
	}
	for _, n := range r.tgt.nases {
		nc := nasConns{sign: newSigner(n.secret), id: byte(w)}
		var err error
		if nc.auth, err = dial(n.src, r.tgt.auth); err == nil {
			nc.acct, err = dial(n.src, r.tgt.acct)
		}
		wk.conns = append(wk.conns, nc)
		if err != nil {
			wk.close()
			return nil, fmt.Errorf("radload: socket as NAS %s (%s): %w", n.name, n.src, err)
		}
	}
	devs := owned(w, r.cfg.concurrency, len(r.devs))
	nasOf := func(d int) int { return r.devs[d].nas }
	serial := func() uint64 { return r.serials.Add(1) }
	switch r.sc.name {
	case scenarioAuth:
		wk.gen = &authGen{cfg: r.sc, kind: stepAuth, devs: devs, nasOf: nasOf}
	case scenarioMACAuth:
		wk.gen = &authGen{cfg: r.sc, kind: stepMACAuth, devs: devs, nasOf: nasOf}
	case scenarioAcct:
		wk.gen = &acctGen{cfg: r.sc, devs: devs, nasOf: nasOf, ledger: r.ledger, serial: serial}
	case scenarioMixed:
		wk.gen = &mixedGen{cfg: r.sc, devs: devs, nases: len(r.tgt.nases), ledger: r.ledger, serial: serial}
	}
	return wk, nil
}

func dial(src netip.Addr, dst netip.AddrPort) (*net.UDPConn, error) {
	c, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)), net.UDPAddrFromAddrPort(dst))
	if err != nil {
		return nil, err
	}
	// Replies may pile up while the worker is descheduled.
	_ = c.SetReadBuffer(256 << 10)
	return c, nil
}

func (w *worker) close() {
	for _, c := range w.conns {
		if c.auth != nil {
			c.auth.Close()
		}
		if c.acct != nil {
			c.acct.Close()
		}
	}
}

func (r *loadRun) close() {
	for _, w := range r.workers {
		w.close()
	}
}

// execute runs the load and returns the measured time when the script
// ends, the measured time is over or ctx is done. onPhase is called when
// measuring starts and when it ends, for the CPU samples.
func (r *loadRun) execute(ctx context.Context, progress io.Writer, onPhase func(int32)) (elapsed time.Duration) {
	defer r.close()
	var wg sync.WaitGroup
	stopped := make(chan struct{})
	if r.cfg.warmup > 0 && r.cfg.duration > 0 {
		r.phase.Store(phaseWarmup)
	} else {
		r.phase.Store(phaseMeasure)
		onPhase(phaseMeasure)
	}
	start := time.Now()
	for _, w := range r.workers {
		wg.Go(w.loop)
	}
	go func() { wg.Wait(); close(stopped) }()

	var measureStart time.Time
	if r.phase.Load() == phaseMeasure {
		measureStart = start
	}
	var warm, end <-chan time.Time
	if r.phase.Load() == phaseWarmup {
		warm = time.After(r.cfg.warmup)
	} else if r.cfg.duration > 0 {
		end = time.After(r.cfg.duration)
	}
	var tick <-chan time.Time
	if r.cfg.progress > 0 && progress != nil {
		t := time.NewTicker(r.cfg.progress)
		defer t.Stop()
		tick = t.C
	}
	p := newProgress(progress)
	for {
		select {
		case <-warm:
			warm = nil
			measureStart = time.Now()
			r.phase.Store(phaseMeasure)
			onPhase(phaseMeasure)
			end = time.After(r.cfg.duration)
		case <-end:
			// Interrupted during the warm-up, nothing was measured.
			if r.phase.Swap(phaseDone) == phaseMeasure {
				elapsed = time.Since(measureStart)
				onPhase(phaseDone)
			}
			<-stopped
			p.finish()
			return elapsed
		case <-stopped:
			if r.phase.Swap(phaseDone) == phaseMeasure {
				elapsed = time.Since(measureStart)
				onPhase(phaseDone)
			}
			p.finish()
			return elapsed
		case <-ctx.Done():
			ctx = context.Background() // report once, then wait for the workers
			end = time.After(0)
		case now := <-tick:
			p.update(now.Sub(start), r)
		}
	}
}

// loop sends requests until the script ends or the run is over.
func (w *worker) loop() {
	var st step
	for w.r.phase.Load() != phaseDone {
		if !w.gen.next(&st) {
			return
		}
		measured := w.r.phase.Load() == phaseMeasure
		pkt, nc, conn, err := w.build(&st)
		if err != nil {
			w.err = err
			w.r.phase.Store(phaseDone)
			return
		}
		code, lat, err := w.exchange(conn, nc.sign, pkt)
		w.done.Add(1)
		if err == nil {
			w.gen.acked(&st)
			if st.kind == stepAcct && w.r.cfg.dupRate > 0 {
				w.duplicates(&st, nc, conn, pkt)
			}
		}
		if !measured || w.r.phase.Load() != phaseMeasure {
			continue
		}
		w.counts.Requests++
		if err != nil {
			w.counts.Failed++
			continue
		}
		w.counts.Answered++
		w.hist.record(lat)
		switch code {
		case radius.CodeAccessAccept:
			w.counts.Accepts++
		case radius.CodeAccessReject:
			w.counts.Rejects++
			w.rejects.Add(1)
		case radius.CodeAccountingResponse:
			w.counts.AcctOK++
		}
	}
}

// build encodes the request of st and returns it with the NAS's sockets
// and the one to send it on.
func (w *worker) build(st *step) ([]byte, *nasConns, *net.UDPConn, error) {
	nc := &w.conns[st.nas]
	d := &w.r.devs[st.dev]
	nc.id++
	e := &w.enc
	var auth [16]byte
	conn := nc.auth
	if st.kind == stepAcct {
		conn = nc.acct
		e.start(radius.CodeAccountingRequest, nc.id, auth)
	} else {
		w.cc.Read(auth[:])
		e.start(radius.CodeAccessRequest, nc.id, auth)
	}
	e.messageAuthenticator()
	n := &w.r.tgt.nases[st.nas]
	var apBuf [32]byte
	called := append(appendMAC(apBuf[:0], apMAC(st.ap)), ":CityWiFi"...)
	switch st.kind {
	case stepAuth:
		e.string(rfc2865.UserName_Type, d.username)
		if w.r.cfg.chap {
			e.chapPassword(nc.sign, nc.id, d.password)
		} else if err := e.userPassword(nc.sign, d.password); err != nil {
			return nil, nil, nil, err
		}
	case stepMACAuth:
		e.string(rfc2865.UserName_Type, d.macStr)
		if err := e.userPassword(nc.sign, d.macStr); err != nil {
			return nil, nil, nil, err
		}
	case stepAcct:
		e.uint32(rfc2866.AcctStatusType_Type, uint32(st.status))
		var sid [16]byte
		e.bytes(rfc2866.AcctSessionID_Type, sessionID(sid[:0], w.r.nonce, st.sess))
		if d.username != "" {
			e.string(rfc2865.UserName_Type, d.username)
		} else {
			e.string(rfc2865.UserName_Type, d.macStr)
		}
		e.counters(st.in, st.out)
		e.uint32(rfc2866.AcctSessionTime_Type, st.secs)
		e.bytes(rfc2865.FramedIPAddress_Type, []byte{10, byte(st.dev >> 16), byte(st.dev >> 8), byte(st.dev)})
	}
	e.string(rfc2865.CallingStationID_Type, d.macStr)
	e.bytes(rfc2865.CalledStationID_Type, called)
	e.string(rfc2865.NASIdentifier_Type, n.name)
	e.bytes(rfc2865.NASIPAddress_Type, n.src.AsSlice())
	e.uint32(rfc2865.NASPortType_Type, uint32(rfc2865.NASPortType_Value_Wireless80211))
	pkt, err := e.finish(nc.sign)
	return pkt, nc, conn, err
}

// sessionID appends the Acct-Session-Id of session serial in a run: 16
// hex digits, like CoovaChilli's.
func sessionID(b []byte, nonce uint32, serial uint64) []byte {
	const hex = "0123456789ABCDEF"
	v := uint64(nonce)<<32 | serial&0xffffffff
	for i := 60; i >= 0; i -= 4 {
		b = append(b, hex[v>>uint(i)&0xf])
	}
	return b
}

// appendMAC appends m as AA-BB-CC-DD-EE-FF.
func appendMAC(b []byte, m [6]byte) []byte {
	const hex = "0123456789ABCDEF"
	for i, x := range m {
		if i > 0 {
			b = append(b, '-')
		}
		b = append(b, hex[x>>4], hex[x&0xf])
	}
	return b
}

// exchange sends pkt and waits for its verified reply, retransmitting the
// same bytes after each timeout. The latency is from the first send to
// the reply, as the NAS sees it.
func (w *worker) exchange(c *net.UDPConn, s *signer, pkt []byte) (radius.Code, time.Duration, error) {
	start := time.Now()
	for attempt := 0; attempt <= w.r.cfg.retries; attempt++ {
		if _, err := c.Write(pkt); err != nil {
			return 0, 0, err
		}
		if err := c.SetReadDeadline(time.Now().Add(w.r.cfg.timeout)); err != nil {
			return 0, 0, err
		}
		for {
			n, err := c.Read(w.rbuf)
			if err != nil {
				var ne net.Error
				w.counts.Timeouts++
				w.timeouts.Add(1)
				if !errors.As(err, &ne) || !ne.Timeout() {
					// ICMP port unreachable: nobody listens (yet). Like
					// a timeout, but do not spin on it.
					time.Sleep(w.r.cfg.timeout)
				}
				break
			}
			code, ok, err := checkReply(s, w.rbuf[:n], pkt)
			if err != nil {
				w.counts.BadReplies++
				continue
			}
			if ok {
				return code, time.Since(start), nil
			}
		}
	}
	return 0, 0, errNoReply
}

// duplicates sends, now and then, what an unreliable network and a NAS
// that retries make of an accounting record: the same bytes again (the
// server must answer them from its duplicate cache, with the same reply)
// and an older record of the session as a new request (the ledger must not
// count it twice).
func (w *worker) duplicates(st *step, nc *nasConns, conn *net.UDPConn, pkt []byte) {
	if w.rng.Float64() < w.r.cfg.dupRate {
		w.first = append(w.first[:0], w.rbuf[:replyLen(w.rbuf)]...)
		if _, _, err := w.exchange(conn, nc.sign, pkt); err == nil {
			w.counts.Retransmits++
			if bytes.Equal(w.first, w.rbuf[:replyLen(w.rbuf)]) {
				w.counts.SameReply++
			}
		}
	}
	if st.status == rfc2866.AcctStatusType_Value_InterimUpdate && w.rng.Float64() < w.r.cfg.dupRate {
		stale := *st
		stale.in, stale.out = stale.in/2, stale.out/2
		stale.ss = nil // not the ledger's news
		pkt, nc, conn, err := w.build(&stale)
		if err == nil {
			if _, _, err := w.exchange(conn, nc.sign, pkt); err == nil {
				w.counts.Stale++
			}
		}
	}
}

// replyLen is the Length field of the reply in b.
func replyLen(b []byte) int {
	return int(b[2])<<8 | int(b[3])
}

// progress writes a line every interval: on a terminal one line redrawn,
// in a log one line each time.
type progress struct {
	w        io.Writer
	tty      bool
	last     uint64
	lastTime time.Duration
	wrote    bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(elapsed time.Duration, r *loadRun) {
	var done, timeouts, rejects uint64
	for _, w := range r.workers {
		done += w.done.Load()
		timeouts += w.timeouts.Load()
		rejects += w.rejects.Load()
	}
	rate := float64(done-p.last) / (elapsed - p.lastTime).Seconds()
	p.last, p.lastTime = done, elapsed
	phase := "measuring"
	if r.phase.Load() == phaseWarmup {
		phase = "warming up"
	}
	line := fmt.Sprintf("%6.1fs %-10s %9.0f req/s  %10d done  %6d timeouts  %6d rejects",
		elapsed.Seconds(), phase, rate, done, timeouts, rejects)
	if p.tty {
		fmt.Fprintf(p.w, "\r%s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
	p.wrote = true
}

func (p *progress) finish() {
	if p.tty && p.wrote {
		fmt.Fprintln(p.w)
	}
}
