package portal

import (
	"testing"
	"time"

	"hotspot/session"
)

func TestLimiter(t *testing.T) {
	a, b, c := session.MAC{1}, session.MAC{2}, session.MAC{3}
	type step struct {
		mac  session.MAC
		at   time.Duration
		want bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"within the limit", []step{{a, 0, true}, {a, time.Second, true}}},
		{"over the limit", []step{{a, 0, true}, {a, 0, true}, {a, 0, false}}},
		{"per device", []step{{a, 0, true}, {a, 0, true}, {b, 0, true}, {b, 0, true}, {a, 0, false}}},
		{"next window", []step{{a, 0, true}, {a, 0, true}, {a, 59 * time.Second, false}, {a, time.Minute, true}}},
		{"clock went back", []step{{a, time.Minute, true}, {a, time.Minute, true}, {a, 0, true}}},
		// Past the cap, unknown devices go through uncounted; known ones
		// are still limited.
		{"cap", []step{{a, 0, true}, {b, 0, true}, {c, 0, true}, {c, 0, true}, {c, 0, true},
			{a, 0, true}, {a, 0, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLimiter(time.Minute, 2, 2)
			for i, s := range tt.steps {
				if got := l.allow(s.mac, t0.Add(s.at)); got != s.want {
					t.Errorf("step %d: allow(%v, +%v) = %v, want %v", i, s.mac, s.at, got, s.want)
				}
			}
			if len(l.counts) > l.cap {
				t.Errorf("limiter holds %d keys, cap %d", len(l.counts), l.cap)
			}
		})
	}
}
