package session

import (
	"slices"
	"strings"
	"testing"
)

func TestRedisOptions(t *testing.T) {
	tests := []struct {
		in      string
		addrs   []string
		master  string
		db      int
		cluster bool
		pass    string
	}{
		{in: "redis://127.0.0.1:6379/0", addrs: []string{"127.0.0.1:6379"}},
		{in: "redis://:s3cret@10.0.0.1:6380/2", addrs: []string{"10.0.0.1:6380"}, db: 2, pass: "s3cret"},
		{in: "redis+sentinel://:pw@s1:26379,s2:26379/mymaster/1", addrs: []string{"s1:26379", "s2:26379"}, master: "mymaster", db: 1, pass: "pw"},
		{in: "redis+cluster://n1:7000,n2:7001", addrs: []string{"n1:7000", "n2:7001"}, cluster: true},
	}
	for _, tt := range tests {
		o, err := RedisOptions(tt.in)
		if err != nil {
			t.Errorf("RedisOptions(%q) error %v", tt.in, err)
			continue
		}
		if !slices.Equal(o.Addrs, tt.addrs) || o.MasterName != tt.master || o.DB != tt.db || o.IsClusterMode != tt.cluster || o.Password != tt.pass {
			t.Errorf("RedisOptions(%q) = addrs %v master %q db %d cluster %v pass %q, want %v %q %d %v %q",
				tt.in, o.Addrs, o.MasterName, o.DB, o.IsClusterMode, o.Password, tt.addrs, tt.master, tt.db, tt.cluster, tt.pass)
		}
	}
	for _, bad := range []string{"", "127.0.0.1:6379", "http://x:1", "redis+sentinel://s1:26379", "redis+cluster://n1", "redis+cluster://n1:7000/0", "redis+sentinel://:pw@s1:1/m/x"} {
		_, err := RedisOptions(bad)
		if err == nil {
			t.Errorf("RedisOptions(%q) = nil error, want an error", bad)
		} else if strings.Contains(err.Error(), "pw@") {
			t.Errorf("RedisOptions(%q) error %q leaks the password", bad, err)
		}
	}
}

func TestCheckRedisVersion(t *testing.T) {
	for v, ok := range map[string]bool{
		"6.2.0": true, "6.2.14": true, "7.0.15": true, "10.0.0": true, "8.4": true,
		"6.0.16": false, "5.0.7": false, "4.0.9": false,
		// What cannot be read passes: the commands then say what is missing.
		"": true, "unknown": true, "7": true, "x.y.z": true,
	} {
		if err := checkRedisVersion(v); (err == nil) != ok {
			t.Errorf("checkRedisVersion(%q) = %v, want ok %v", v, err, ok)
		}
	}
}
