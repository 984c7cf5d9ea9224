package portal

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Page names, the values of the views counter's page label.
const (
	pageInfo        = "info"
	pageTerms       = "terms"
	pageSuccess     = "success"
	pageAlready     = "already"
	pageQuota       = "quota"
	pageBadRequest  = "bad_request"
	pageForbidden   = "forbidden"
	pageNotFound    = "not_found"
	pageTooMany     = "too_many_requests"
	pageUnavailable = "unavailable"
	pageInternal    = "internal_error"
)

var allPages = []string{pageInfo, pageTerms, pageSuccess, pageAlready, pageQuota, pageBadRequest,
	pageForbidden, pageNotFound, pageTooMany, pageUnavailable, pageInternal}

type metrics struct {
	views       *prometheus.CounterVec
	acceptances prometheus.Counter
	storeErrors prometheus.Counter
	limited     *prometheus.CounterVec
}

// newMetrics creates the portal's metrics and registers them with reg,
// unless reg is nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		views: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotspot_portal_views_total",
			Help: "Pages the captive portal rendered, by page.",
		}, []string{"page"}),
		acceptances: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotspot_portal_acceptances_total",
			Help: "Accepted terms of use that stored a grant and sent the browser to the NAS.",
		}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotspot_portal_store_errors_total",
			Help: "Store calls of the captive portal that failed: grants not stored, device status not read.",
		}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotspot_portal_rate_limited_total",
			Help: "Requests answered 429 because their client asked too often: pages of a verified redirect (per device and address), RFC 8908 lookups (per address), terms accepted through one MikroTik NAS (mikrotik).",
		}, []string{"what"}),
	}
	// Every page shows up at zero, so a rate over a missing series is never
	// mistaken for "no errors".
	for _, p := range allPages {
		m.views.WithLabelValues(p)
	}
	for _, what := range []string{"page", "captive_api", "mikrotik"} {
		m.limited.WithLabelValues(what)
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.views, m.acceptances, m.storeErrors, m.limited} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("portal: register metrics: %w", err)
	}
	return m, nil
}
