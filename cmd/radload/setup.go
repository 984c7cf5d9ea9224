package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"hotspot/session"
)

// Preparing the devices of a run, and checking the ledger after it.

// openStore connects to hotspotd's Redis with its settings and returns the
// store the daemon uses, so that grants and remembered devices are made
// exactly as the portal makes them.
func openStore(cfg *hotspotConfig) (*session.Store, redis.UniversalClient, error) {
	if cfg.Redis.URL == "" {
		return nil, nil, errors.New("radload: the hotspotd config names no redis.url; the embedded store cannot be reached from outside")
	}
	opts, err := session.RedisOptions(cfg.Redis.URL)
	if err != nil {
		return nil, nil, err
	}
	opts.PoolSize = 64
	rdb := redis.NewUniversalClient(opts)
	store, err := session.NewStore(rdb, cfg.Devices, nil)
	if err != nil {
		rdb.Close()
		return nil, nil, err
	}
	return store, rdb, nil
}

// setupGrants creates n devices through the store as the portal does when
// a person accepts the terms: a grant bound to the device's MAC and NAS,
// and the device remembered. Device i is bound to NAS i mod len(nases).
func setupGrants(ctx context.Context, store *session.Store, nases []nasTarget, n, par int) ([]device, error) {
	devs := make([]device, n)
	var next atomic.Int64
	g, ctx := errgroup.WithContext(ctx)
	for range par {
		g.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return nil
				}
				mac := deviceMAC(i)
				nas := i % len(nases)
				gr, err := store.CreateGrant(ctx, mac, nases[nas].name)
				if err != nil {
					return fmt.Errorf("radload: device %d: %w", i, err)
				}
				devs[i] = device{mac: mac, macStr: mac.String(), nas: nas, username: gr.Username, password: gr.Password}
			}
		})
	}
	return devs, g.Wait()
}

// setupPlain stores n users for FreeRADIUS's site B: "SET session:USER
// PASSWORD", user0000000…, which its authorize section compares with the
// User-Password.
func setupPlain(ctx context.Context, rdb redis.UniversalClient, n int) ([]device, error) {
	devs := make([]device, n)
	const batch = 1000
	for lo := 0; lo < n; lo += batch {
		p := rdb.Pipeline()
		for i := lo; i < min(lo+batch, n); i++ {
			mac := deviceMAC(i)
			u, pw := fmt.Sprintf("user%07d", i), fmt.Sprintf("pass%07d", i)
			p.Set(ctx, "session:"+u, pw, 0)
			devs[i] = device{mac: mac, macStr: mac.String(), username: u, password: pw}
		}
		if _, err := p.Exec(ctx); err != nil {
			return nil, fmt.Errorf("radload: setup: %w", err)
		}
	}
	return devs, nil
}

// usage is a device's ledger: octets from and to it, over all windows.
type usage struct{ in, out uint64 }

// readLedger sums the usage ledger of every device in Redis by pseudonym.
// It knows the store's key layout: the day's ledger is a field without a
// colon of the hash "{d:<pseudonym>}:use", "in out t"; a week's or a
// month's is the hash "{d:<pseudonym>}:use:<window>" with the fields "in"
// and "out".
func readLedger(ctx context.Context, rdb redis.UniversalClient) (map[string]usage, error) {
	led := map[string]usage{}
	var mu sync.Mutex
	scan := func(ctx context.Context, c *redis.Client) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, "{d:*}:use*", 5000).Result()
			if err != nil {
				return err
			}
			p := c.Pipeline()
			cmds := make([]*redis.MapStringStringCmd, len(keys))
			for i, k := range keys {
				cmds[i] = p.HGetAll(ctx, k)
			}
			if len(keys) > 0 {
				if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
					return err
				}
			}
			mu.Lock()
			for i, k := range keys {
				tag := k[len("{d:"):strings.IndexByte(k, '}')]
				u := led[tag]
				h := cmds[i].Val()
				if strings.HasSuffix(k, ":use") {
					for f, v := range h {
						if strings.Contains(f, ":") {
							continue // a session's counters, not a ledger
						}
						if n := strings.Fields(v); len(n) >= 2 {
							u.in += toUint(n[0])
							u.out += toUint(n[1])
						}
					}
				} else {
					u.in += toUint(h["in"])
					u.out += toUint(h["out"])
				}
				led[tag] = u
			}
			mu.Unlock()
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	var err error
	switch c := rdb.(type) {
	case *redis.Client:
		err = scan(ctx, c)
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, scan)
	default:
		err = fmt.Errorf("radload: cannot scan a %T", rdb)
	}
	if err != nil {
		return nil, fmt.Errorf("radload: read ledger: %w", err)
	}
	return led, nil
}

func toUint(v any) uint64 {
	s, _ := v.(string)
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

// LedgerCheck compares what the server's ledger gained during a run with
// what the generator sent and had acknowledged.
type LedgerCheck struct {
	Devices      int    `json:"devices"`
	SentIn       uint64 `json:"sent_in"`
	SentOut      uint64 `json:"sent_out"`
	LedgerIn     uint64 `json:"ledger_in"`
	LedgerOut    uint64 `json:"ledger_out"`
	DevicesWrong int    `json:"devices_wrong"`
	Equal        bool   `json:"equal"`
}

// checkLedger compares, device by device, the growth of the ledger from
// before to after with what the generator expects.
func checkLedger(devs []device, hash func(session.MAC) string, before, after map[string]usage, want *ledger) LedgerCheck {
	c := LedgerCheck{Devices: len(devs)}
	for i, d := range devs {
		tag := hash(d.mac)
		b, a := before[tag], after[tag]
		gotIn, gotOut := a.in-b.in, a.out-b.out
		c.SentIn += want.in[i]
		c.SentOut += want.out[i]
		c.LedgerIn += gotIn
		c.LedgerOut += gotOut
		if gotIn != want.in[i] || gotOut != want.out[i] {
			c.DevicesWrong++
		}
	}
	c.Equal = c.DevicesWrong == 0 && c.SentIn == c.LedgerIn && c.SentOut == c.LedgerOut
	return c
}
