package main

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// script runs a generator to its end, acknowledging every step, and
// renders the steps of device dev.
func script(t *testing.T, g generator, dev int) (all []step, lines []string) {
	t.Helper()
	var st step
	for g.next(&st) {
		if len(all) > 100000 {
			t.Fatal("generator does not end")
		}
		all = append(all, st)
		g.acked(&st)
		if st.dev != dev {
			continue
		}
		switch st.kind {
		case stepMACAuth:
			lines = append(lines, fmt.Sprintf("mac-auth ap%d nas%d", st.ap, st.nas))
		case stepAuth:
			lines = append(lines, "auth")
		case stepAcct:
			lines = append(lines, fmt.Sprintf("%s s%d ap%d", strings.ToLower(st.status.String()), st.sess, st.ap))
		}
	}
	return all, lines
}

func TestAcctGen(t *testing.T) {
	serial := uint64(0)
	led := &ledger{in: make([]uint64, 10), out: make([]uint64, 10)}
	g := &acctGen{
		cfg:  scenarioConfig{name: scenarioAcct, rounds: 2, interims: 2, stop: true, aps: 5, seed: 1},
		devs: []int{3, 7}, nasOf: func(int) int { return 0 }, ledger: led,
		serial: func() uint64 { serial++; return serial },
	}
	all, lines := script(t, g, 7)
	want := []string{"start s2 ap2", "interim-update s2 ap2", "interim-update s2 ap2", "stop s2 ap2",
		"start s4 ap2", "interim-update s4 ap2", "interim-update s4 ap2", "stop s4 ap2"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("device 7's requests:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if len(all) != 16 {
		t.Errorf("%d requests, want 16 (2 rounds × 2 devices × 4)", len(all))
	}
	// The ledger holds the final totals of each session, counters rise.
	var wantIn, wantOut uint64
	last := map[uint64]step{}
	for _, st := range all {
		if p, ok := last[st.sess]; ok && (st.in < p.in || st.out < p.out) {
			t.Errorf("session %d: counters fell from %d/%d to %d/%d", st.sess, p.in, p.out, st.in, st.out)
		}
		last[st.sess] = st
	}
	for _, st := range last {
		if st.dev == 7 {
			wantIn += st.in
			wantOut += st.out
		}
	}
	if led.in[7] != wantIn || led.out[7] != wantOut || wantIn == 0 {
		t.Errorf("ledger of device 7 = %d/%d, want %d/%d", led.in[7], led.out[7], wantIn, wantOut)
	}
}

func TestMixedGen(t *testing.T) {
	serial := uint64(0)
	led := &ledger{in: make([]uint64, 4), out: make([]uint64, 4)}
	g := &mixedGen{
		cfg:  scenarioConfig{name: scenarioMixed, aps: 1000, minutes: 5, roam: 2, seed: 7},
		devs: []int{1, 3}, nases: 3, ledger: led,
		serial: func() uint64 { serial++; return serial },
	}
	all, lines := script(t, g, 3)
	var kinds []string
	for _, l := range lines {
		kinds = append(kinds, strings.Fields(l)[0])
	}
	// Minute 0: login and start; 1: interim; 2: roam; 3: interim; 4:
	// roam; 5: the end.
	want := "mac-auth start interim-update stop mac-auth start interim-update stop mac-auth start stop"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("device 3's requests: %s\nwant %s", got, want)
	}
	if len(all) != 2*11 {
		t.Errorf("%d requests, want 22", len(all))
	}
	// Each visit is at one AP, served by one NAS, and the visits move.
	aps := map[int]bool{}
	for _, st := range all {
		if st.dev == 3 {
			aps[st.ap] = true
			if st.nas != st.ap%3 {
				t.Errorf("step at ap %d from nas %d, want nas %d", st.ap, st.nas, st.ap%3)
			}
		}
	}
	if len(aps) < 2 {
		t.Errorf("device 3 used access points %v, want it to roam", aps)
	}
	var in uint64
	last := map[uint64]uint64{}
	for _, st := range all {
		if st.dev == 3 && st.kind == stepAcct {
			last[st.sess] = st.in
		}
	}
	for _, v := range last {
		in += v
	}
	if led.in[3] != in || in == 0 {
		t.Errorf("ledger in of device 3 = %d, want %d", led.in[3], in)
	}
}

func TestAuthGen(t *testing.T) {
	g := &authGen{cfg: scenarioConfig{name: scenarioAuth, rounds: 3, aps: 10}, kind: stepAuth,
		devs: []int{0, 4, 8}, nasOf: func(d int) int { return d % 2 }}
	all, _ := script(t, g, 4)
	if len(all) != 9 {
		t.Errorf("%d requests, want 9", len(all))
	}
	for _, st := range all {
		if st.nas != st.dev%2 {
			t.Errorf("device %d sent as NAS %d, want %d", st.dev, st.nas, st.dev%2)
		}
	}
}

func TestOwned(t *testing.T) {
	for _, tt := range []struct {
		w, c, n int
		want    string
	}{
		{0, 3, 7, "[0 3 6]"},
		{2, 3, 7, "[2 5]"},
		{5, 8, 3, "[2]"}, // fewer devices than workers: shared
	} {
		if got := fmt.Sprint(owned(tt.w, tt.c, tt.n)); got != tt.want {
			t.Errorf("owned(%d, %d, %d) = %s, want %s", tt.w, tt.c, tt.n, got, tt.want)
		}
	}
}

func TestLoopbackSource(t *testing.T) {
	for _, tt := range []struct {
		nets []string
		want string
	}{
		{[]string{"127.0.0.0/8"}, "127.0.0.1"},
		{[]string{"10.0.0.0/8", "127.0.1.7/32"}, "127.0.1.7"},
		{[]string{"127.0.2.0/24"}, "127.0.2.1"},
		{[]string{"10.0.0.0/8"}, "invalid IP"},
	} {
		var ps []netip.Prefix
		for _, n := range tt.nets {
			ps = append(ps, netip.MustParsePrefix(n))
		}
		got, _ := loopbackSource(ps)
		if got.String() != tt.want {
			t.Errorf("loopbackSource(%v) = %v, want %v", tt.nets, got, tt.want)
		}
	}
}

func TestSessionIDAndMAC(t *testing.T) {
	if got := string(sessionID(nil, 0x1, 0xabc)); got != "0000000100000ABC" {
		t.Errorf("sessionID = %q", got)
	}
	if got := string(appendMAC(nil, apMAC(0x10203))); got != "0A-00-00-01-02-03" {
		t.Errorf("appendMAC = %q", got)
	}
}
