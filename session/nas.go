package session

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// NASKind says how a NAS wants its limits rendered in RADIUS replies.
type NASKind string

// The NAS kinds we render replies for.
const (
	KindCoovaChilli NASKind = "coovachilli" // ChilliSpot and WISPr attributes
	KindMikrotik    NASKind = "mikrotik"    // Mikrotik-Rate-Limit and Mikrotik-Total-Limit
	KindGeneric     NASKind = "generic"     // WISPr attributes only
)

// LoginMethod is how the portal hands credentials back to a CoovaChilli NAS.
type LoginMethod string

// The login-back methods of the CoovaChilli UAM protocol.
const (
	LoginCHAP LoginMethod = "chap" // logon?username=…&response=…
	LoginPAP  LoginMethod = "pap"  // logon?username=…&password=…
)

// MinSecretLen is the shortest RADIUS shared secret we accept. RFC 2865
// asks for at least 16 octets; we refuse below 8 and warn below 16.
const MinSecretLen = 8

// NAS is one access controller (or a group of them sharing a secret and
// source networks) that may talk to us. It is shared by the RADIUS server
// (secrets, reply rendering, CoA) and the portal (UAM secret, login-back).
type NAS struct {
	// Name identifies the NAS in logs, metrics, grants and sessions.
	Name string `yaml:"name"`
	// Networks are the source addresses the NAS's RADIUS packets come from.
	Networks []netip.Prefix `yaml:"networks"`
	// Identifier is the NAS-Identifier (CoovaChilli: nasid) it sends, if
	// any; the portal uses it to find the NAS of a redirect.
	Identifier string `yaml:"identifier"`
	// Secret is the RADIUS shared secret.
	Secret string `yaml:"secret"`
	// Kind selects the reply attributes.
	Kind NASKind `yaml:"kind"`
	// RequireMessageAuthenticator drops Access-Requests without a valid
	// Message-Authenticator (BlastRADIUS, CVE-2024-3596). Default true.
	RequireMessageAuthenticator *bool `yaml:"require_message_authenticator"`
	// CoAPort is the NAS's RFC 5176 Dynamic Authorization port.
	CoAPort int `yaml:"coa_port"`
	// UAMSecret is CoovaChilli's uamsecret, shared with the portal.
	UAMSecret string `yaml:"uamsecret"`
	// Login is how the portal sends credentials back: chap (default) or pap.
	Login LoginMethod `yaml:"login"`
	// LoginURL is a MikroTik hotspot's login servlet, where the portal
	// sends the browser with the credentials (http://10.5.50.1/login, or
	// the hotspot's DNS name). Setting it lets the portal serve the NAS's
	// external login page (/mikrotik); it is the only place the portal
	// sends that NAS's browsers to, whatever a redirect says.
	LoginURL string `yaml:"login_url"`
	// Group is the location group the NAS belongs to (a square, the
	// libraries, the trams); policies can be chosen by it.
	Group string `yaml:"group"`
}

// RequiresMessageAuthenticator reports whether Access-Requests from n must
// carry a valid Message-Authenticator.
func (n *NAS) RequiresMessageAuthenticator() bool {
	return n.RequireMessageAuthenticator == nil || *n.RequireMessageAuthenticator
}

// NASTable finds the NAS of a packet's source address or of a redirect's
// NAS identifier.
type NASTable struct {
	nases []NAS
}

// NewNASTable validates list, fills in defaults and reports every problem
// at once. Overlapping networks are allowed; the most specific one wins.
func NewNASTable(list []NAS) (*NASTable, error) {
	var errs []error
	fail := func(i int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("nas[%d]: "+format, append([]any{i}, args...)...))
	}
	if len(list) == 0 {
		errs = append(errs, errors.New("nas: at least one NAS is required"))
	}
	names := map[string]bool{}
	ids := map[string]bool{}
	t := &NASTable{nases: make([]NAS, len(list))}
	for i, n := range list {
		n.Networks = append([]netip.Prefix(nil), n.Networks...)
		switch {
		case n.Name == "":
			fail(i, "name is required")
		case strings.ContainsAny(n.Name, "{}: \t\n"):
			fail(i, "name %q may not contain braces, colons or spaces", n.Name)
		case names[n.Name]:
			fail(i, "name %q is used twice", n.Name)
		}
		names[n.Name] = true
		if n.Identifier != "" {
			if ids[n.Identifier] {
				fail(i, "identifier %q is used twice", n.Identifier)
			}
			ids[n.Identifier] = true
		}
		if len(n.Networks) == 0 {
			fail(i, "networks: at least one source network is required")
		}
		for j, p := range n.Networks {
			if !p.IsValid() {
				fail(i, "networks[%d] is not a valid prefix", j)
			}
			n.Networks[j] = p.Masked()
		}
		if len(n.Secret) < MinSecretLen {
			fail(i, "secret must be at least %d characters", MinSecretLen)
		}
		switch n.Kind {
		case "":
			n.Kind = KindGeneric
		case KindCoovaChilli, KindMikrotik, KindGeneric:
		default:
			fail(i, "kind %q is not one of coovachilli, mikrotik, generic", n.Kind)
		}
		if n.CoAPort == 0 {
			n.CoAPort = 3799
		}
		if n.CoAPort < 1 || n.CoAPort > 65535 {
			fail(i, "coa_port %d is out of range", n.CoAPort)
		}
		switch n.Login {
		case "":
			n.Login = LoginCHAP
		case LoginCHAP, LoginPAP:
		default:
			fail(i, "login %q is not one of chap, pap", n.Login)
		}
		if n.Group != "" && !validName(n.Group) {
			fail(i, "group %q: use at most 64 letters, digits, '-', '_' and '.'", n.Group)
		}
		if n.LoginURL != "" {
			if n.Kind != KindMikrotik {
				fail(i, "login_url is for kind mikrotik (CoovaChilli's redirect says where it logs in)")
			} else if u, err := url.Parse(n.LoginURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") ||
				u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
				fail(i, "login_url %q: want an http or https URL without query, such as http://10.5.50.1/login", n.LoginURL)
			}
		}
		if n.Kind == KindCoovaChilli && n.UAMSecret == "" {
			fail(i, "uamsecret is required for kind coovachilli (it signs the portal redirect)")
		}
		t.nases[i] = n
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

// ByAddr returns the NAS whose networks most specifically contain ip.
func (t *NASTable) ByAddr(ip netip.Addr) (*NAS, bool) {
	ip = ip.Unmap()
	var best *NAS
	bits := -1
	for i := range t.nases {
		for _, p := range t.nases[i].Networks {
			if p.Bits() > bits && p.Contains(ip) {
				best, bits = &t.nases[i], p.Bits()
			}
		}
	}
	return best, best != nil
}

// ByIdentifier returns the NAS with the given NAS-Identifier.
func (t *NASTable) ByIdentifier(id string) (*NAS, bool) {
	if id == "" {
		return nil, false
	}
	for i := range t.nases {
		if t.nases[i].Identifier == id {
			return &t.nases[i], true
		}
	}
	return nil, false
}

// ByName returns the NAS called name.
func (t *NASTable) ByName(name string) (*NAS, bool) {
	for i := range t.nases {
		if t.nases[i].Name == name {
			return &t.nases[i], true
		}
	}
	return nil, false
}

// All returns the NASes in config order.
func (t *NASTable) All() []NAS { return append([]NAS(nil), t.nases...) }
