package session

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Spooled is a Store whose Account keeps a record in a Spool when Redis
// cannot be reached, and answers as if it were stored (it is, on disk);
// Run applies the spooled records once Redis is back. After an outage,
// records go straight to the spool instead of each waiting for Redis to
// fail again; every spoolBreak, one record tries Redis, and so does Run's
// replay.
type Spooled struct {
	*Store
	spool *Spool
	// down is until when (Unix ns) records go straight to the spool.
	down atomic.Int64
	m    spoolMetrics
}

// spoolBreak is how long records go straight to the spool after an
// outage; spoolReplayEvery is how often Run tries to apply them.
const (
	spoolBreak       = 2 * time.Second
	spoolReplayEvery = 5 * time.Second
)

type spoolMetrics struct {
	spooled, applied, setAside, corrupt, full prometheus.Counter
	pending, sizeBytes                        prometheus.GaugeFunc
}

// NewSpooled returns st with sp behind its Account; its metrics are
// SpoolMetrics.
func NewSpooled(st *Store, sp *Spool) *Spooled {
	s := &Spooled{Store: st, spool: sp}
	s.m = spoolMetrics{
		spooled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotspot_spool_records_written_total",
			Help: "Accounting records kept in the local spool because Redis could not be reached.",
		}),
		applied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotspot_spool_records_applied_total",
			Help: "Spooled accounting records applied to Redis (again, when a replay was interrupted).",
		}),
		setAside: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotspot_spool_records_set_aside_total",
			Help: "Spooled accounting records the store refused again and again while Redis answered, kept in the spool's file \"rejected\".",
		}),
		corrupt: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotspot_spool_records_corrupt_total",
			Help: "Spool frames that could not be opened (cut short by a crash, or sealed under another key), dropped.",
		}),
		full: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotspot_spool_full_total",
			Help: "Accounting records not answered because Redis could not be reached and the spool was full.",
		}),
		pending: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hotspot_spool_records",
			Help: "Accounting records in the local spool, waiting for Redis.",
		}, func() float64 { return float64(sp.Pending()) }),
		sizeBytes: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hotspot_spool_bytes",
			Help: "Bytes the local spool's files take.",
		}, func() float64 { return float64(sp.Size()) }),
	}
	return s
}

// SpoolMetrics returns the spool's metrics, for the caller to register.
func (s *Spooled) SpoolMetrics() []prometheus.Collector {
	return []prometheus.Collector{s.m.spooled, s.m.applied, s.m.setAside, s.m.corrupt, s.m.full, s.m.pending, s.m.sizeBytes}
}

// Account stores r in Redis, or, when Redis cannot be reached, in the
// spool. A record the store would refuse is refused here too, never
// spooled.
func (s *Spooled) Account(ctx context.Context, r AcctRecord) (Usage, error) {
	now := s.now()
	// While Redis is out of reach, one record at a time (the first after
	// each spoolBreak) finds out whether it is back; the others go to the
	// spool at once.
	if d := s.down.Load(); d == 0 || now.UnixNano() >= d && s.down.CompareAndSwap(d, now.Add(spoolBreak).UnixNano()) {
		u, err := s.Store.Account(ctx, r)
		if err == nil || !IsOutage(err) {
			if d != 0 {
				s.down.Store(0)
			}
			return u, err
		}
		s.down.Store(s.now().Add(spoolBreak).UnixNano())
	}
	// Store.Account checked r on the way to Redis; not so when Redis was
	// not tried.
	if err := r.validate(); err != nil {
		return Usage{}, err
	}
	if r.Received.IsZero() {
		r.Received = now
	}
	if err := s.spool.Append(r); err != nil {
		if errors.Is(err, ErrSpoolFull) {
			s.m.full.Inc()
		}
		return Usage{}, unavailable("account (spool)", err)
	}
	s.m.spooled.Inc()
	return Usage{Spooled: true}, nil
}

// spoolApplyTimeout bounds the store call of one replayed record.
const spoolApplyTimeout = 5 * time.Second

// Replay applies the spooled records now (see Spool.Replay).
func (s *Spooled) Replay(ctx context.Context) (ReplayResult, error) {
	res, err := s.spool.Replay(func(r AcctRecord) error {
		actx, cancel := context.WithTimeout(ctx, spoolApplyTimeout)
		defer cancel()
		_, err := s.Store.Account(actx, r)
		return err
	})
	s.m.applied.Add(float64(res.Applied))
	s.m.setAside.Add(float64(res.SetAside))
	s.m.corrupt.Add(float64(res.Corrupt))
	if err == nil {
		s.down.Store(0)
	}
	return res, err
}

// Run applies the spooled records every few seconds while there are any,
// until ctx is done, and logs what each replay did.
func (s *Spooled) Run(ctx context.Context, logger *slog.Logger) {
	t := time.NewTicker(spoolReplayEvery)
	defer t.Stop()
	for {
		if s.spool.Waiting() {
			s.replayOnce(ctx, logger)
		}
		select {
		case <-ctx.Done():
			if n := s.spool.Pending(); n > 0 {
				logger.Warn("accounting records left in the spool, applied at the next start", "records", n)
			}
			return
		case <-t.C:
		}
	}
}

func (s *Spooled) replayOnce(ctx context.Context, logger *slog.Logger) {
	res, err := s.Replay(ctx)
	attrs := []any{"applied", res.Applied, "set_aside", res.SetAside, "corrupt", res.Corrupt, "left", res.Left}
	switch {
	case err != nil && (IsOutage(err) || ctx.Err() != nil):
		if res.Applied > 0 {
			logger.Info("spooled accounting records applied, Redis out of reach again", attrs...)
		}
	case err != nil:
		logger.Warn("spool replay stopped; tried again in a few seconds", append(attrs, "err", err)...)
	case res.SetAside > 0 || res.Corrupt > 0:
		logger.Warn("spooled accounting records applied, some set aside or corrupt", attrs...)
	case res.Applied > 0:
		logger.Info("spooled accounting records applied", attrs...)
	}
}
