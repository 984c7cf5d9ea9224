package radius

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotspot/session"
)

// Live quota enforcement. The store's Account reports, with the usage it
// returns, when a device has passed a limit of its policy and one of its
// open sessions has not been acted on yet (Usage.Enforce). The accounting
// handler then queues the device, without waiting; a small pool of
// workers claims the device's sessions to act on (the claim is a lease in
// Redis, so that two instances receiving interims of the same device do
// not both act), sends each NAS its CoA-Request or Disconnect-Request, all
// at once, and records the answers. A session whose NAS did not answer or
// refused keeps its lease for a while and is retried at a later interim.

// EnforcementStore is what live enforcement needs of the store beyond
// Store. *session.Store implements it; with a store that does not, the
// server enforces nothing while sessions run (Access-Requests still get
// what is left).
type EnforcementStore interface {
	// ClaimEnforcement returns the device's open sessions that must be
	// throttled or disconnected now, leased to the caller.
	ClaimEnforcement(ctx context.Context, mac session.MAC) ([]session.Enforcement, error)
	// FinishEnforcement records the NAS's answer (or err, when there was
	// none) to the request sent for e.
	FinishEnforcement(ctx context.Context, e session.Enforcement, res session.DynAuthResult, err error) error
}

const (
	// enforceWorkers is how many devices are enforced at once. Each waits
	// mostly on NASes, seconds at worst, so a few go a long way: devices
	// pass their quota a handful of times a second in a city.
	enforceWorkers = 8
	// enforceQueue is how many devices may wait; beyond it a trigger is
	// dropped and counted, and the device's next interim triggers again.
	enforceQueue = 1024
)

// enforcer queues devices whose sessions must be acted on.
type enforcer struct {
	queue chan session.MAC
	mu    sync.Mutex
	// queued holds the devices in queue, so that a device whose interims
	// arrive from several sessions at once is queued once.
	queued map[session.MAC]struct{}

	triggers                     *prometheus.CounterVec
	queuedC, coalesced, overflow prometheus.Counter
}

func newEnforcer() *enforcer {
	e := &enforcer{
		queue:  make(chan session.MAC, enforceQueue),
		queued: make(map[session.MAC]struct{}),
		triggers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotspot_radius_enforcement_triggers_total",
			Help: "Devices over quota with a session to act on, as reported by accounting, by result (queued; coalesced with a device already queued; dropped because the queue was full).",
		}, []string{"result"}),
	}
	e.queuedC = e.triggers.WithLabelValues("queued")
	e.coalesced = e.triggers.WithLabelValues("coalesced")
	e.overflow = e.triggers.WithLabelValues("dropped")
	return e
}

// trigger queues mac for enforcement without blocking.
func (e *enforcer) trigger(mac session.MAC) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.queued[mac]; ok {
		e.coalesced.Inc()
		return
	}
	select {
	case e.queue <- mac:
		e.queued[mac] = struct{}{}
		e.queuedC.Inc()
	default:
		e.overflow.Inc()
	}
}

// next takes a device off the queue, or returns false when ctx is done.
func (e *enforcer) next(ctx context.Context) (session.MAC, bool) {
	select {
	case <-ctx.Done():
		return session.MAC{}, false
	case mac := <-e.queue:
		e.mu.Lock()
		delete(e.queued, mac)
		e.mu.Unlock()
		return mac, true
	}
}

// enforceLater queues the device of an accounting record whose usage
// asks for enforcement. It never blocks the accounting reply.
func (s *Server) enforceLater(mac session.MAC) {
	if _, ok := s.store.(EnforcementStore); !ok {
		return
	}
	s.dyn.enforce.trigger(mac)
}

// runEnforcer enforces queued devices until ctx is done, then returns once
// the devices being enforced are finished: requests still waiting for a
// NAS are given up (the lease lets another instance retry them), the
// answers already in are recorded.
func (s *Server) runEnforcer(ctx context.Context) {
	es, ok := s.store.(EnforcementStore)
	if !ok {
		return
	}
	var wg sync.WaitGroup
	for range enforceWorkers {
		wg.Go(func() {
			for {
				mac, ok := s.dyn.enforce.next(ctx)
				if !ok {
					return
				}
				s.enforceDevice(ctx, es, mac)
			}
		})
	}
	wg.Wait()
}

// enforceDevice claims the sessions of mac to act on and sends their NASes
// the requests, all at once.
func (s *Server) enforceDevice(ctx context.Context, es EnforcementStore, mac session.MAC) {
	// Store calls finish even when ctx ends: a claimed session's outcome
	// is worth recording, and each call is bounded.
	sctx := context.WithoutCancel(ctx)
	cctx, cancel := context.WithTimeout(sctx, s.cfg.StoreTimeout)
	targets, err := es.ClaimEnforcement(cctx, mac)
	cancel()
	if err != nil {
		if ok, suppressed := s.warnStore.allow(time.Now()); ok {
			s.logger.Warn("enforcement: claim failed", "mac_hash", s.store.MACHash(mac), "err", err, "suppressed", suppressed)
		}
		return
	}
	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Go(func() {
			dctx, cancel := context.WithTimeout(ctx, s.dyn.defaultDeadline)
			var (
				res session.DynAuthResult
				err error
			)
			start := time.Now()
			switch t.Action {
			case session.ActionThrottle:
				res, err = s.Throttle(dctx, t.Session, t.Down, t.Up)
			default:
				res, err = s.Disconnect(dctx, t.Session)
			}
			cancel()
			fctx, fcancel := context.WithTimeout(sctx, s.cfg.StoreTimeout)
			ferr := es.FinishEnforcement(fctx, t, res, err)
			fcancel()
			outcome := "ack"
			switch {
			case err != nil:
				outcome = "no answer"
			case !res.ACK:
				outcome = "nak " + strconv.FormatUint(uint64(res.ErrorCause), 10)
			}
			s.logger.LogAttrs(ctx, slog.LevelInfo, "quota enforced",
				slog.String("nas", t.Session.NAS), slog.String("mac_hash", s.store.MACHash(mac)),
				slog.String("session_id", t.Session.LogSessionID()), slog.String("policy", t.Policy),
				slog.String("action", string(t.Action)), slog.String("reason", t.Reason),
				slog.String("outcome", outcome), slog.Duration("dur", time.Since(start)))
			if ferr != nil {
				s.logger.Warn("enforcement: record outcome", "nas", t.Session.NAS, "session_id", t.Session.LogSessionID(), "err", ferr)
			}
		})
	}
	wg.Wait()
}
