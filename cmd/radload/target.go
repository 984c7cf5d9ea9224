package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"hotspot/assets"
	"hotspot/session"
)

// target is the server under load: where to send, and as which NASes.
type target struct {
	auth, acct netip.AddrPort
	nases      []nasTarget
}

// nasTarget is one NAS the generator pretends to be: it sends from src,
// which must be in the NAS's networks, and signs with secret.
type nasTarget struct {
	name   string
	src    netip.Addr
	secret string
}

// hotspotConfig is the part of hotspotd's config file the generator reads.
// Unknown keys are ignored: this is hotspotd's file, which hotspotd checks.
type hotspotConfig struct {
	Redis struct {
		URL string `yaml:"url"`
	} `yaml:"redis"`
	RADIUS struct {
		AuthListen string `yaml:"auth_listen"`
		AcctListen string `yaml:"acct_listen"`
	} `yaml:"radius"`
	Portal struct {
		TermsDir string `yaml:"terms_dir"`
	} `yaml:"portal"`
	NAS     []session.NAS  `yaml:"nas"`
	Devices session.Config `yaml:"devices"`
}

func loadHotspotConfig(path string) (*hotspotConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("radload: %w", err)
	}
	var c hotspotConfig
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("radload: %s: %w", path, err)
	}
	if len(c.NAS) == 0 {
		return nil, fmt.Errorf("radload: %s: no nas entries", path)
	}
	if c.Devices.TermsVersion == "" {
		// As hotspotd does: the terms' VERSION file is the version that
		// grants and remembered devices are bound to.
		fsys := assets.FS()
		name := "terms/VERSION"
		if c.Portal.TermsDir != "" {
			fsys, name = os.DirFS(c.Portal.TermsDir), "VERSION"
		}
		v, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("radload: terms version: %w", err)
		}
		c.Devices.TermsVersion = strings.TrimSpace(string(v))
	}
	return &c, nil
}

// targetFromConfig sends to hotspotd's listeners (an empty or wildcard host
// means loopback) as each of its NASes, from the first address of the
// NAS's first network that is on this machine's loopback.
func targetFromConfig(c *hotspotConfig) (*target, error) {
	var t target
	var err error
	if t.auth, err = loopbackAddr(c.RADIUS.AuthListen, "1812"); err != nil {
		return nil, fmt.Errorf("radload: radius.auth_listen: %w", err)
	}
	if t.acct, err = loopbackAddr(c.RADIUS.AcctListen, "1813"); err != nil {
		return nil, fmt.Errorf("radload: radius.acct_listen: %w", err)
	}
	for _, n := range c.NAS {
		src, ok := loopbackSource(n.Networks)
		if !ok {
			return nil, fmt.Errorf("radload: nas %q has no network in 127.0.0.0/8 to send from", n.Name)
		}
		t.nases = append(t.nases, nasTarget{name: n.Name, src: src, secret: n.Secret})
	}
	return &t, nil
}

// targetFromFlags is a single NAS on 127.0.0.1 talking to any RADIUS
// server, FreeRADIUS for instance.
func targetFromFlags(auth, acct, secret string) (*target, error) {
	var t target
	var err error
	if t.auth, err = loopbackAddr(auth, "1812"); err != nil {
		return nil, fmt.Errorf("radload: -auth: %w", err)
	}
	if t.acct, err = loopbackAddr(acct, "1813"); err != nil {
		return nil, fmt.Errorf("radload: -acct: %w", err)
	}
	if secret == "" {
		return nil, errors.New("radload: -secret is required without -hotspot-config")
	}
	t.nases = []nasTarget{{name: "nas", src: netip.MustParseAddr("127.0.0.1"), secret: secret}}
	return &t, nil
}

// loopbackAddr resolves a listen address to where a local client sends:
// no host or a wildcard means 127.0.0.1.
func loopbackAddr(s, defPort string) (netip.AddrPort, error) {
	if s == "" {
		s = ":" + defPort
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return netip.ParseAddrPort(net.JoinHostPort(host, port))
}

// loopbackSource picks an address to send from within networks. Loopback
// addresses need no setup on Linux: all of 127.0.0.0/8 is local. A /8 (the
// demo's NAS) sends from 127.0.0.1; a narrower network from its first host.
func loopbackSource(networks []netip.Prefix) (netip.Addr, bool) {
	lo := netip.MustParsePrefix("127.0.0.0/8")
	for _, p := range networks {
		p = p.Masked()
		if !p.Addr().Is4() || !lo.Overlaps(p) {
			continue
		}
		if p.Contains(netip.MustParseAddr("127.0.0.1")) {
			return netip.MustParseAddr("127.0.0.1"), true
		}
		a := p.Addr()
		if p.Bits() < 32 {
			a = a.Next()
		}
		if lo.Contains(a) {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// device is one client the generator plays: its MAC, the NAS its grant is
// bound to, and the grant's credentials (empty for MAC authentication
// only).
type device struct {
	mac      session.MAC
	macStr   string // AA-BB-CC-DD-EE-FF, as CoovaChilli sends it
	nas      int    // index into target.nases
	username string
	password string
}

// deviceMAC is the MAC of device number i: locally administered, unicast.
func deviceMAC(i int) session.MAC {
	return session.MAC{0x02, 0x00, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
}

// apMAC is the MAC of access point number i.
func apMAC(i int) session.MAC {
	return session.MAC{0x0a, 0x00, 0x00, byte(i >> 16), byte(i >> 8), byte(i)}
}

// The devices file: one device a line, "MAC,NAS,USERNAME,PASSWORD", written
// by `radload setup` and read by `radload run`.

func writeDevices(path string, nases []nasTarget, devs []device) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("radload: %w", err)
	}
	w := bufio.NewWriter(f)
	for _, d := range devs {
		fmt.Fprintf(w, "%s,%s,%s,%s\n", d.mac, nases[d.nas].name, d.username, d.password)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("radload: write %s: %w", path, err)
	}
	return f.Close()
}

func readDevices(path string, nases []nasTarget) ([]device, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("radload: %w", err)
	}
	defer f.Close()
	byName := map[string]int{}
	for i, n := range nases {
		byName[n.name] = i
	}
	var devs []device
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		parts := strings.Split(sc.Text(), ",")
		if len(parts) != 4 {
			return nil, fmt.Errorf("radload: %s:%d: want MAC,NAS,USERNAME,PASSWORD", path, line)
		}
		mac, err := session.ParseMAC(parts[0])
		if err != nil {
			return nil, fmt.Errorf("radload: %s:%d: %w", path, line, err)
		}
		nas, ok := byName[parts[1]]
		if !ok {
			// A file made for another target (FreeRADIUS has one NAS):
			// spread the devices over the NASes there are.
			nas = len(devs) % len(nases)
		}
		devs = append(devs, device{mac: mac, macStr: mac.String(), nas: nas, username: parts[2], password: parts[3]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("radload: %s: %w", path, err)
	}
	if len(devs) == 0 {
		return nil, fmt.Errorf("radload: %s: no devices", path)
	}
	return devs, nil
}
