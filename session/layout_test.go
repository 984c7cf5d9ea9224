package session_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"hotspot/internal/redistest"
	"hotspot/session"
)

// TestClaimLayout: the layout record is made, renewed and raised, never
// lowered, and what is not a layout is left alone with an error; on Redis
// and on the embedded store alike.
func TestClaimLayout(t *testing.T) {
	_, embedded := redistest.Embedded(t)
	for name, rdb := range map[string]*redis.Client{"redis": redistest.Start(t).Client(t), "embedded": embedded} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			mine := strconv.Itoa(session.Layout)
			claim := func(step string, want int, wantErr error) {
				t.Helper()
				prev, err := session.ClaimLayout(ctx, rdb)
				if prev != want || !errors.Is(err, wantErr) {
					t.Errorf("%s: ClaimLayout = %d, %v; want %d, %v", step, prev, err, want, wantErr)
				}
			}
			held := func(step, want string) {
				t.Helper()
				if got := rdb.Get(ctx, "hotspot:layout").Val(); got != want {
					t.Errorf("%s: hotspot:layout holds %q, want %q", step, got, want)
				}
			}
			set := func(v string) {
				t.Helper()
				if err := rdb.Set(ctx, "hotspot:layout", v, time.Minute).Err(); err != nil {
					t.Fatal(err)
				}
			}

			claim("fresh", 0, nil)
			held("fresh", mine)
			if ttl := rdb.TTL(ctx, "hotspot:layout").Val(); ttl < 399*24*time.Hour || ttl > 400*24*time.Hour {
				t.Errorf("fresh: TTL %v, want 400 days", ttl)
			}
			set(mine)
			claim("again", session.Layout, nil)
			if ttl := rdb.TTL(ctx, "hotspot:layout").Val(); ttl < 399*24*time.Hour {
				t.Errorf("again: TTL %v not renewed", ttl)
			}
			set(strconv.Itoa(session.Layout - 1))
			claim("older", session.Layout-1, nil)
			held("older", mine)

			newer := strconv.Itoa(session.Layout + 1)
			set(newer)
			claim("newer", session.Layout+1, session.ErrNewerLayout)
			held("newer", newer)

			for _, v := range []string{"x", "-1", "3.5", ""} {
				set(v)
				prev, err := session.ClaimLayout(ctx, rdb)
				if err == nil || errors.Is(err, session.ErrNewerLayout) || errors.Is(err, session.ErrUnavailable) || prev != 0 {
					t.Errorf("%q: ClaimLayout = %d, %v; want an error of its own", v, prev, err)
				}
				held(v, v)
			}
		})
	}
}

// TestClaimLayoutUnreachable: a Redis that does not answer is unavailable,
// not refused.
func TestClaimLayoutUnreachable(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	defer rdb.Close()
	if _, err := session.ClaimLayout(context.Background(), rdb); !errors.Is(err, session.ErrUnavailable) {
		t.Errorf("ClaimLayout on nothing = %v, want ErrUnavailable", err)
	}
}
