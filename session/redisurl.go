package session

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// RedisOptions turns a Redis URL into client options for a single server,
// a Sentinel-managed master or a Cluster; redis.NewUniversalClient picks
// the client from them.
//
//	redis://[user:pass@]host:port[/db]            one server (rediss:// for TLS)
//	unix:///run/redis.sock[?db=N]                 one server on a socket
//	redis+sentinel://[user:pass@]h1:26379,h2:26379/master[/db]
//	redis+cluster://[user:pass@]h1:6379,h2:6379   (rediss+cluster:// for TLS)
func RedisOptions(rawURL string) (*redis.UniversalOptions, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, fmt.Errorf("session: redis URL %q has no scheme", redact(rawURL))
	}
	switch scheme {
	case "redis", "rediss", "unix":
		o, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("session: redis URL %q: %w", redact(rawURL), err)
		}
		return &redis.UniversalOptions{
			Addrs: []string{o.Addr}, DB: o.DB, Username: o.Username, Password: o.Password,
			TLSConfig: o.TLSConfig, Protocol: o.Protocol,
		}, nil
	case "redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster":
	default:
		return nil, fmt.Errorf("session: redis URL %q: unknown scheme %q", redact(rawURL), scheme)
	}
	// url.Parse does not take a list of hosts; split it off first.
	hostPart, path, _ := strings.Cut(rest, "/")
	var user, pass string
	if at := strings.LastIndex(hostPart, "@"); at >= 0 {
		u, err := url.Parse("x://" + hostPart[:at+1] + "h")
		if err != nil {
			return nil, fmt.Errorf("session: redis URL %q: %w", redact(rawURL), err)
		}
		user = u.User.Username()
		pass, _ = u.User.Password()
		hostPart = hostPart[at+1:]
	}
	var addrs []string
	for _, h := range strings.Split(hostPart, ",") {
		if _, _, err := net.SplitHostPort(h); err != nil {
			return nil, fmt.Errorf("session: redis URL %q: address %q needs host:port", redact(rawURL), h)
		}
		addrs = append(addrs, h)
	}
	o := &redis.UniversalOptions{Addrs: addrs, Username: user, Password: pass}
	if strings.HasPrefix(scheme, "rediss") {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if strings.HasSuffix(scheme, "+cluster") {
		if path != "" {
			return nil, fmt.Errorf("session: redis URL %q: a cluster has no database number", redact(rawURL))
		}
		o.IsClusterMode = true
		return o, nil
	}
	master, db, _ := strings.Cut(path, "/")
	if master == "" {
		return nil, fmt.Errorf("session: redis URL %q: sentinel URL needs the master name as its path", redact(rawURL))
	}
	o.MasterName = master
	if db != "" {
		n, err := strconv.Atoi(db)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("session: redis URL %q: bad database %q", redact(rawURL), db)
		}
		o.DB = n
	}
	// Sentinels usually share the data nodes' password.
	o.SentinelUsername, o.SentinelPassword = user, pass
	return o, nil
}

// redact hides a password in a URL for error messages and logs.
func redact(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return raw
	}
	return scheme + "://xxxxx@" + rest[at+1:]
}

// RedactURL returns raw with any credentials replaced, for logs.
func RedactURL(raw string) string { return redact(raw) }
