package radius

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"testing"

	"layeh.com/radius"
	"layeh.com/radius/rfc2866"

	"hotspot/session"
)

// BenchmarkHandlePacket measures the work per request short of the socket
// and the store, at production log level, with a context like the one the
// workers pass (one that is never cancelled).
func BenchmarkHandlePacket(b *testing.B) {
	for _, tt := range []struct {
		name string
		p    port
		req  func() *radius.Packet
	}{
		{"PAP", portAuth, func() *radius.Packet { return papRequest(b, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff") }},
		{"MACAuth", portAuth, func() *radius.Packet { return papRequest(b, "aa-bb-cc-0d-ee-ff", "", "aa-bb-cc-0d-ee-ff") }},
		{"CHAP", portAuth, func() *radius.Packet { return chapRequest(b, "hs-user", "s3cret-pass", "aa-bb-cc-0d-ee-ff", nil) }},
		{"Interim", portAcct, func() *radius.Packet {
			p := acctRequest(b, rfc2866.AcctStatusType_Value_InterimUpdate, "aa-bb-cc-0d-ee-ff", "s1")
			setCounters(p, 1<<33, 1<<20)
			return p
		}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			clock := newFakeClock()
			table, err := session.NewNASTable([]session.NAS{testNAS(session.KindCoovaChilli, true)})
			if err != nil {
				b.Fatal(err)
			}
			logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
			s, err := New(Config{now: clock.Now}, table, &fuzzStore{*newFakeStore()}, logger, nil)
			if err != nil {
				b.Fatal(err)
			}
			// Distinct requests, so that none is answered from the cache.
			pkts := make([][]byte, 1024)
			for i := range pkts {
				pkts[i] = mustEncodeRequest(b, tt.req())
			}
			src := netip.MustParseAddrPort("127.0.0.1:1645")
			ctx := context.WithoutCancel(b.Context())
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				clock.Advance(DefaultDuplicateWindow)
				if s.handlePacket(ctx, tt.p, src, pkts[i%len(pkts)]) == nil {
					b.Fatal("no reply")
				}
				i++
			}
		})
	}
}
