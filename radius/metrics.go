package radius

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// dropReason says why a packet got no reply. Every drop is counted under
// its reason, so that a silent NAS can be explained from the metrics alone.
type dropReason uint8

const (
	dropMalformed               dropReason = iota // not a RADIUS packet, or a bad attribute list
	dropUnknownSource                             // no NAS has the source address
	dropWrongPort                                 // e.g. Accounting-Request on the auth port
	dropOverload                                  // the queue was full
	dropPanic                                     // a bug; logged with a stack trace
	dropDuplicateInProgress                       // a retransmit of a request still being handled
	dropNoMessageAuthenticator                    // required (by the NAS's setting, or by Proxy-State) but absent
	dropBadMessageAuthenticator                   // wrong HMAC, wrong secret, two of them or a bad length
	dropBadAuthenticator                          // Accounting-Request whose authenticator is wrong
	dropStoreUnavailable                          // Redis did not answer in time; the NAS retries
	dropEncode                                    // our reply could not be encoded (too large)
	dropShutdown                                  // still queued when the server stopped
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{
	dropMalformed:               "malformed",
	dropUnknownSource:           "unknown_source",
	dropWrongPort:               "wrong_port",
	dropOverload:                "overload",
	dropPanic:                   "panic",
	dropDuplicateInProgress:     "duplicate_in_progress",
	dropNoMessageAuthenticator:  "no_message_authenticator",
	dropBadMessageAuthenticator: "bad_message_authenticator",
	dropBadAuthenticator:        "bad_authenticator",
	dropStoreUnavailable:        "store_unavailable",
	dropEncode:                  "encode_failed",
	dropShutdown:                "shutdown",
}

func (r dropReason) String() string { return dropReasonNames[r] }

// acctResult is the Acct-Status-Type class of an answered
// Accounting-Request, the result label of the requests counter.
type acctResult uint8

const (
	acctStart acctResult = iota
	acctInterim
	acctStop
	acctOn
	acctOff
	acctOther
	numAcctResults
)

var acctResultNames = [numAcctResults]string{"start", "interim", "stop", "accounting_on", "accounting_off", "other"}

// unattributedReason says why an answered accounting record was not stored.
type unattributedReason uint8

const (
	unattributedNoMAC       unattributedReason = iota // no usable Calling-Station-Id
	unattributedNoSessionID                           // no Acct-Session-Id
	unattributedBadCounter                            // a counter beyond what the ledger holds exactly
	numUnattributedReasons
)

var unattributedNames = [numUnattributedReasons]string{"no_mac", "no_session_id", "bad_counter"}

// Request types, the type label.
const (
	typeAccess     = "access"
	typeAccounting = "accounting"
	typeStatus     = "status"
)

type metrics struct {
	dropped      *prometheus.CounterVec
	duplicates   prometheus.Counter
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	unattributed *prometheus.CounterVec

	// Resolved once: WithLabelValues hashes its labels at every call.
	drops                               [numDropReasons]prometheus.Counter
	accessDur, accountingDur, statusDur prometheus.Observer
}

// nasMetrics are one NAS's children of the labelled counters.
type nasMetrics struct {
	accept, reject, status prometheus.Counter
	failOpen               prometheus.Counter // accepts unchecked, see Server.failOpen
	acct                   [numAcctResults]prometheus.Counter
	unattributed           [numUnattributedReasons]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotspot_radius_dropped_total",
			Help: "RADIUS packets that got no reply, by reason.",
		}, []string{"reason"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotspot_radius_duplicates_total",
			Help: "Retransmitted RADIUS requests answered again from the response cache (RFC 5080).",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotspot_radius_requests_total",
			Help: "Answered RADIUS requests by type (access, accounting, status), NAS and result (accept, reject, fail_open: accepted unchecked while Redis was out of reach; the Acct-Status-Type; ok).",
		}, []string{"type", "nas", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hotspot_radius_request_duration_seconds",
			Help:    "Time to handle an answered RADIUS request, from its parsing to its reply, by type.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"type"}),
		unattributed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotspot_radius_acct_unattributed_total",
			Help: "Accounting records answered but not stored, by NAS and reason (no_mac, no_session_id).",
		}, []string{"nas", "reason"}),
	}
	for r := range numDropReasons {
		m.drops[r] = m.dropped.WithLabelValues(r.String())
	}
	m.accessDur = m.duration.WithLabelValues(typeAccess)
	m.accountingDur = m.duration.WithLabelValues(typeAccounting)
	m.statusDur = m.duration.WithLabelValues(typeStatus)
	if reg != nil {
		cs := []prometheus.Collector{m.dropped, m.duplicates, m.requests, m.duration, m.unattributed}
		for i, c := range cs {
			if err := reg.Register(c); err != nil {
				// All or nothing, so that a retry with another registry
				// or after a fix does not trip over half of them.
				for _, done := range cs[:i] {
					reg.Unregister(done)
				}
				return nil, fmt.Errorf("radius: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m *metrics) forNAS(name string) nasMetrics {
	n := nasMetrics{
		accept:   m.requests.WithLabelValues(typeAccess, name, "accept"),
		reject:   m.requests.WithLabelValues(typeAccess, name, "reject"),
		failOpen: m.requests.WithLabelValues(typeAccess, name, "fail_open"),
		status:   m.requests.WithLabelValues(typeStatus, name, "ok"),
	}
	for r := range numAcctResults {
		n.acct[r] = m.requests.WithLabelValues(typeAccounting, name, acctResultNames[r])
	}
	for r := range numUnattributedReasons {
		n.unattributed[r] = m.unattributed.WithLabelValues(name, unattributedNames[r])
	}
	return n
}
