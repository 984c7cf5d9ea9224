package portal

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// Role is what an admin token may do.
type Role string

// Roles, from least to most privileged.
const (
	// RoleViewer reads sessions, devices and stats; MACs are shown only
	// as pseudonyms.
	RoleViewer Role = "viewer"
	// RoleOperator also sees clear MACs, disconnects sessions and forgets
	// devices. Every operator action is written to the audit log.
	RoleOperator Role = "operator"
)

// allows reports whether a token of role r may do what needs role need.
func (r Role) allows(need Role) bool {
	return r == RoleOperator || (r == RoleViewer && need == RoleViewer)
}

// AdminToken is one bearer token of the admin API, as the config file
// names it. The token itself is never stored: Hash is
// "sha256:<64 hex digits>" of it, as HashToken (and `hotspotctl token
// hash`) compute it.
type AdminToken struct {
	// Name says whose token it is; the audit log records it.
	Name string `yaml:"name"`
	Role Role   `yaml:"role"`
	Hash string `yaml:"hash"`
}

// hashPrefix names the hash function of AdminToken.Hash.
const hashPrefix = "sha256:"

// MinTokenLen is the shortest token HashToken's callers should accept.
// Tokens are compared by hash, so their strength is all they have.
const MinTokenLen = 16

// HashToken returns the form of token that AdminToken.Hash holds.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hashPrefix + hex.EncodeToString(sum[:])
}

// parseTokenHash decodes an AdminToken.Hash.
func parseTokenHash(s string) ([sha256.Size]byte, error) {
	var h [sha256.Size]byte
	hexPart, ok := strings.CutPrefix(s, hashPrefix)
	if !ok {
		return h, fmt.Errorf("hash must start with %q", hashPrefix)
	}
	b, err := hex.DecodeString(hexPart)
	if err != nil || len(b) != sha256.Size {
		return h, fmt.Errorf("hash must be %q followed by %d hex digits", hashPrefix, 2*sha256.Size)
	}
	copy(h[:], b)
	return h, nil
}

// credential is a configured token, decoded.
type credential struct {
	name string
	role Role
	hash [sha256.Size]byte
}

// authenticate returns the credential whose hash matches the presented
// token. It compares the hash with every configured one in constant time,
// without stopping at a match, so timing tells nothing about which token
// (or how much of it) was right.
func authenticate(creds []credential, token string) (credential, bool) {
	sum := sha256.Sum256([]byte(token))
	var found credential
	match := 0
	for _, c := range creds {
		eq := subtle.ConstantTimeCompare(sum[:], c.hash[:])
		if eq == 1 {
			found = c
		}
		match |= eq
	}
	return found, match == 1
}

// Keys of the gin context under which the authenticated token is kept.
const (
	ctxWho  = "admin.who"
	ctxRole = "admin.role"
)

// who returns the name of the token that authenticated c's request.
func who(c *gin.Context) string { return c.GetString(ctxWho) }

// roleOf returns the role of the token that authenticated c's request.
func roleOf(c *gin.Context) Role {
	r, _ := c.Get(ctxRole)
	role, _ := r.(Role)
	return role
}

// requireRole authenticates the bearer token and checks that its role
// allows need: 401 when the token is missing or unknown, 403 when its role
// is too weak.
func (a *Admin) requireRole(need Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		scheme, token, ok := strings.Cut(c.GetHeader("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			c.Header("WWW-Authenticate", `Bearer realm="hotspot admin"`)
			a.abort(c, http.StatusUnauthorized, "unauthorized", "a bearer token is required (Authorization: Bearer <token>)")
			return
		}
		cred, ok := authenticate(a.creds, strings.TrimSpace(token))
		if !ok {
			c.Header("WWW-Authenticate", `Bearer realm="hotspot admin", error="invalid_token"`)
			a.abort(c, http.StatusUnauthorized, "unauthorized", "the bearer token is not valid")
			return
		}
		c.Set(ctxWho, cred.name)
		c.Set(ctxRole, cred.role)
		if !cred.role.allows(need) {
			if need == RoleOperator {
				a.audit.Warn("admin: operator action refused", "who", cred.name, "role", string(cred.role),
					"action", c.Request.Method+" "+c.FullPath(), "outcome", "forbidden", "remote", c.ClientIP())
			}
			a.abort(c, http.StatusForbidden, "forbidden", fmt.Sprintf("this needs the %s role; the token has %s", need, cred.role))
			return
		}
		c.Next()
	}
}
