package radius

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/rfc6911"

	"hotspot/session"
)

// handleAccounting answers an authentic Accounting-Request (see
// authenticate), r parsed. The Accounting-Response says "stored" (RFC 2866
// §2), so it is sent only after the store succeeded; a store failure gets
// no reply and the NAS sends the record again.
func (s *Server) handleAccounting(ctx context.Context, ns *nasState, src netip.AddrPort, r *request) []byte {
	start := time.Now()
	req := &r.pkt
	var (
		result acctResult
		mac    session.MAC
		// Room for every attribute logged below, so that building them
		// costs no allocation when the line is not written.
		attrBuf [8]slog.Attr
		attrs   = attrBuf[:0]
	)
	status, _ := rfc2866.AcctStatusType_Lookup(req)
	switch status {
	case rfc2866.AcctStatusType_Value_Start, rfc2866.AcctStatusType_Value_InterimUpdate, rfc2866.AcctStatusType_Value_Stop:
		rec, unattributed, ok := parseAcctRecord(req, ns.nas.Name, ns.ipText(src.Addr()), status)
		result, mac = acctResultOf(status), rec.MAC
		attrs = append(attrs, slog.Any("session_id", logSessionID{rec.SessionID, rec.MAC}))
		if !ok {
			// Answered although not stored: the record can never be
			// attributed to a device, so without an answer the NAS would
			// send it again and again, and its queue would hold up the
			// records that matter. The counter shows how much is lost.
			ns.m.unattributed[unattributed].Inc()
			level := slog.LevelDebug
			if ok, suppressed := s.warnUnattributed.allow(time.Now()); ok {
				level = slog.LevelWarn
				attrs = append(attrs, slog.Int64("suppressed", suppressed))
			}
			s.logRequest(ctx, level, "accounting record not attributable, answered but not stored", ns, src, mac, 0, time.Since(start),
				append(attrs, slog.String("reason", unattributedNames[unattributed]))...)
			break
		}
		usage, err := s.store.Account(ctx, rec)
		if err != nil {
			s.storeUnavailable(ctx, ns, src, mac, time.Since(start), err)
			return nil
		}
		// The window's total, across every NAS, is what quota
		// enforcement acts on; it runs apart, so that this reply is not
		// held up by a NAS that is slow to answer a CoA.
		if usage.Spooled {
			// Redis is out of reach; the record waits on disk.
			attrs = append(attrs, slog.Bool("spooled", true))
			break
		}
		attrs = append(attrs, slog.String("policy", usage.Policy), slog.Int64("window_total", usage.Total()))
		if usage.Enforce {
			attrs = append(attrs, slog.Bool("enforce", true))
			s.enforceLater(rec.MAC)
		}
	case rfc2866.AcctStatusType_Value_AccountingOn, rfc2866.AcctStatusType_Value_AccountingOff:
		// The NAS (re)started or is going down: none of its sessions
		// survive, and it will not send their Stops. It did so
		// Acct-Delay-Time ago (RFC 2866 §5.2): sessions that reported
		// since are new ones, which a late or retransmitted
		// Accounting-On must not close.
		result = acctResultOf(status)
		closed, err := s.store.CloseNAS(ctx, ns.nas.Name, src.Addr(), delayOf(req))
		if err != nil {
			s.storeUnavailable(ctx, ns, src, mac, time.Since(start), err)
			return nil
		}
		s.logger.LogAttrs(ctx, slog.LevelInfo, "NAS restarted, its sessions closed",
			slog.String("nas", ns.nas.Name), slog.String("nas_ip", src.Addr().String()),
			slog.String("status", status.String()), slog.Int("closed", closed))
	default:
		// Failed, tunnel records, vendor types: nothing we keep, but the
		// NAS wants its answer like for any other.
		result = acctOther
	}

	reply, err := s.encode(ns, req, radius.CodeAccountingResponse, nil)
	if err != nil {
		s.drop(ctx, dropEncode, src, ns, slog.String("err", err.Error()))
		return nil
	}
	ns.m.acct[result].Inc()
	dur := time.Since(start)
	s.m.accountingDur.Observe(dur.Seconds())
	s.logRequest(ctx, slog.LevelDebug, "accounting answered", ns, src, mac, radius.CodeAccountingResponse, dur,
		append(attrs, slog.String("status", acctResultNames[result]))...)
	return reply
}

func acctResultOf(st rfc2866.AcctStatusType) acctResult {
	switch st {
	case rfc2866.AcctStatusType_Value_Start:
		return acctStart
	case rfc2866.AcctStatusType_Value_InterimUpdate:
		return acctInterim
	case rfc2866.AcctStatusType_Value_Stop:
		return acctStop
	case rfc2866.AcctStatusType_Value_AccountingOn:
		return acctOn
	case rfc2866.AcctStatusType_Value_AccountingOff:
		return acctOff
	}
	return acctOther
}

// parseAcctRecord turns a Start, Interim-Update or Stop into a record for
// the store; nasIP is the address it came from, as text. ok is false, with
// the reason, when the record names no device or no session and so cannot
// be stored.
func parseAcctRecord(req *radius.Packet, nas, nasIP string, status rfc2866.AcctStatusType) (rec session.AcctRecord, why unattributedReason, ok bool) {
	rec.NAS = nas
	rec.NASIP = nasIP
	switch status {
	case rfc2866.AcctStatusType_Value_Start:
		rec.Status = session.AcctStart
	case rfc2866.AcctStatusType_Value_Stop:
		rec.Status = session.AcctStop
	default:
		rec.Status = session.AcctInterim
	}
	rec.SessionID = string(req.Get(rfc2866.AcctSessionID_Type))
	rec.Username = string(req.Get(rfc2865.UserName_Type))
	rec.AP, rec.SSID = splitCalledStation(string(req.Get(rfc2865.CalledStationID_Type)))
	// The client's addresses, by which the RFC 8908 API finds it: its
	// IPv4 address, and its IPv6 one (RFC 6911), in IP when it has no
	// other, else in IP6.
	if ip := req.Get(rfc2865.FramedIPAddress_Type); len(ip) == 4 {
		rec.IP = netip.AddrFrom4([4]byte(ip)).String()
	}
	if ip := req.Get(rfc6911.FramedIPv6Address_Type); len(ip) == 16 {
		if a := netip.AddrFrom16([16]byte(ip)).Unmap(); a.IsGlobalUnicast() && a.String() != rec.IP {
			if rec.IP == "" {
				rec.IP = a.String()
			} else if a.Is6() {
				rec.IP6 = a.String()
			}
		}
	}
	// Malformed counters count as 0: the ledger only ever adds increases,
	// so a 0 can never take anything away.
	rec.InputOctets = counter(req, rfc2866.AcctInputOctets_Type, rfc2869.AcctInputGigawords_Type)
	rec.OutputOctets = counter(req, rfc2866.AcctOutputOctets_Type, rfc2869.AcctOutputGigawords_Type)
	rec.SessionTime, _ = radius.Integer(req.Get(rfc2866.AcctSessionTime_Type))
	rec.Delay = delayOf(req)
	for _, c := range req.Attributes {
		if c.Type == rfc2865.Class_Type && string(c.Attribute) == classThrottled {
			rec.Throttled = true
		}
	}

	mac, err := session.ParseMAC(string(req.Get(rfc2865.CallingStationID_Type)))
	switch {
	case err != nil || mac.IsZero():
		return rec, unattributedNoMAC, false
	case rec.SessionID == "":
		rec.MAC = mac
		return rec, unattributedNoSessionID, false
	case rec.InputOctets > session.MaxCounter || rec.OutputOctets > session.MaxCounter:
		// 2^53 bytes is 9 PB, far beyond any session; such a counter is
		// garbage from the NAS and would not be stored exactly.
		rec.MAC = mac
		return rec, unattributedBadCounter, false
	}
	rec.MAC = mac
	return rec, 0, true
}

// delayOf returns the record's Acct-Delay-Time (RFC 2866 §5.2): how long
// the NAS has been trying to send it. Absent or malformed, 0.
func delayOf(req *radius.Packet) time.Duration {
	d, _ := radius.Integer(req.Get(rfc2866.AcctDelayTime_Type))
	return time.Duration(d) * time.Second
}

// counter returns a 64-bit session counter from its octets attribute and
// its Gigawords attribute (RFC 2869 §5.1), which counts the 2^32 wraps.
func counter(req *radius.Packet, octets, gigawords radius.Type) uint64 {
	lo, _ := radius.Integer(req.Get(octets))
	hi, _ := radius.Integer(req.Get(gigawords))
	return uint64(hi)<<32 | uint64(lo)
}

// splitCalledStation splits a Called-Station-Id into the access point and
// the SSID. RFC 3580 §3.20 and CoovaChilli write "AA-BB-CC-DD-EE-FF:SSID";
// a MAC spelled with colons has its own, so the split is after a leading
// MAC, not at the first colon. The AP MAC is returned in the canonical
// spelling so that one AP is one name whatever NAS reports it. Anything
// else (MikroTik sends its hotspot server name) is the AP as it is.
func splitCalledStation(s string) (ap, ssid string) {
	// The MAC spellings by length: with separators every two digits,
	// Cisco's dotted form, bare hex.
	for _, n := range []int{17, 14, 12} {
		if len(s) < n || (len(s) > n && s[n] != ':') {
			continue
		}
		if m, err := session.ParseMAC(s[:n]); err == nil {
			if len(s) == n {
				return m.String(), ""
			}
			return m.String(), s[n+1:]
		}
	}
	return s, ""
}

// logSessionID is a record's Acct-Session-Id for the log: without the
// device's MAC in it (see session.MaskMAC), or, when the record names no
// device, without anything spelled like a MAC. It is worked out only when
// the line is written.
type logSessionID struct {
	id  string
	mac session.MAC
}

func (l logSessionID) LogValue() slog.Value {
	if l.mac.IsZero() {
		return slog.StringValue(session.MaskAnyMAC(l.id))
	}
	return slog.StringValue(session.MaskMAC(l.id, l.mac))
}
