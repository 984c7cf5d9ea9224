package radius

import (
	"errors"
	"math"
	"strconv"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/vendors/mikrotik"
	"layeh.com/radius/vendors/wispr"

	"hotspot/radius/vendors/chillispot"
	"hotspot/session"
)

// renderAccept returns the attributes of an Access-Accept for decision d,
// in the dialect of a NAS of the given kind: the timeouts every NAS
// understands, then the limits.
func renderAccept(kind session.NASKind, d session.Decision) (radius.Attributes, error) {
	var p radius.Packet
	var errs []error
	if s := seconds(d.SessionTimeout); s > 0 {
		errs = append(errs, rfc2865.SessionTimeout_Add(&p, rfc2865.SessionTimeout(s)))
	}
	if s := seconds(d.Policy.IdleTimeout); s > 0 {
		errs = append(errs, rfc2865.IdleTimeout_Add(&p, rfc2865.IdleTimeout(s)))
	}
	if s := seconds(d.Policy.InterimInterval); s > 0 {
		errs = append(errs, rfc2869.AcctInterimInterval_Add(&p, rfc2869.AcctInterimInterval(s)))
	}
	limits, err := renderLimits(kind, d)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return append(p.Attributes, limits...), nil
}

// renderLimits returns the bandwidth and data limits of d as the vendor
// attributes a NAS of the given kind acts on. Zero bandwidth and negative
// Remaining mean unlimited and render as nothing; none of these attributes
// is ever sent as 0, which NASes read as "unlimited" too, or not at all.
func renderLimits(kind session.NASKind, d session.Decision) (radius.Attributes, error) {
	var p radius.Packet
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	up, down := d.Policy.BandwidthUp, d.Policy.BandwidthDown
	// The store rejects a device with nothing left, so Remaining is never
	// 0 here; should it be, sending nothing is the safe side, since a 0
	// octet limit reads as "no limit".
	remaining := d.Remaining > 0
	// 32-bit attributes: the low word, and the Gigawords above it.
	low, giga := uint32(d.Remaining), uint32(d.Remaining>>32)

	switch kind {
	case session.KindCoovaChilli:
		if up > 0 {
			add(chillispot.ChilliSpotBandwidthMaxUp_Add(&p, chillispot.ChilliSpotBandwidthMaxUp(kbits(up))))
		}
		if down > 0 {
			add(chillispot.ChilliSpotBandwidthMaxDown_Add(&p, chillispot.ChilliSpotBandwidthMaxDown(kbits(down))))
		}
		addWISPr(&p, up, down, add)
		if remaining {
			add(chillispot.ChilliSpotMaxTotalOctets_Add(&p, chillispot.ChilliSpotMaxTotalOctets(low)))
			if giga > 0 {
				add(chillispot.ChilliSpotMaxTotalGigawords_Add(&p, chillispot.ChilliSpotMaxTotalGigawords(giga)))
			}
		}
	case session.KindMikrotik:
		// "rx/tx" from the router's view: what it receives is the
		// device's upload. In a rate limit 0 is "unlimited" for RouterOS,
		// which is what a zero of ours means too.
		if up > 0 || down > 0 {
			add(mikrotik.MikrotikRateLimit_AddString(&p, rateLimit(up)+"/"+rateLimit(down)))
		}
		if remaining {
			add(mikrotik.MikrotikTotalLimit_Add(&p, mikrotik.MikrotikTotalLimit(low)))
			if giga > 0 {
				add(mikrotik.MikrotikTotalLimitGigawords_Add(&p, mikrotik.MikrotikTotalLimitGigawords(giga)))
			}
		}
	default:
		addWISPr(&p, up, down, add)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p.Attributes, nil
}

func addWISPr(p *radius.Packet, up, down session.BitRate, add func(error)) {
	if up > 0 {
		add(wispr.WISPrBandwidthMaxUp_Add(p, wispr.WISPrBandwidthMaxUp(clamp32(int64(up)))))
	}
	if down > 0 {
		add(wispr.WISPrBandwidthMaxDown_Add(p, wispr.WISPrBandwidthMaxDown(clamp32(int64(down)))))
	}
}

// kbits converts a positive rate to kbit/s, never rounding it down to 0.
func kbits(r session.BitRate) uint32 {
	return clamp32(max(int64(r)/1000, 1))
}

// rateLimit renders one direction of a Mikrotik-Rate-Limit.
func rateLimit(r session.BitRate) string {
	if r <= 0 {
		return "0"
	}
	return strconv.FormatUint(uint64(kbits(r)), 10) + "k"
}

// seconds converts d to whole seconds for a RADIUS integer, rounding up so
// that a positive duration never becomes 0, which means "no limit".
func seconds(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	return clamp32(int64((d + time.Second - 1) / time.Second))
}

func clamp32(v int64) uint32 {
	if v > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(v)
}
