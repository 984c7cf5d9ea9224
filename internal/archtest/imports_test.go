// Package archtest checks the layout rules of DESIGN.md as tests.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules: radius and portal never import each other, they meet in
// session; layeh belongs to radius, gin to portal, go-redis to session (and
// to main, which builds the client); nothing imports cmd/. Test files
// count too.
func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`, "hotspot/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type rule struct {
		importer func(string) bool
		forbid   string
		why      string
	}
	owner := func(pkg string) func(string) bool {
		return func(p string) bool {
			return p != pkg && !strings.HasPrefix(p, pkg+"/") && !strings.HasPrefix(p, "hotspot/cmd/") && !strings.HasPrefix(p, "hotspot/internal/")
		}
	}
	is := func(pkg string) func(string) bool {
		return func(p string) bool { return p == pkg || strings.HasPrefix(p, pkg+"/") }
	}
	rules := []rule{
		{is("hotspot/radius"), "hotspot/portal", "radius and portal meet in session"},
		{is("hotspot/portal"), "hotspot/radius", "radius and portal meet in session"},
		{is("hotspot/session"), "hotspot/radius", "session is the domain; it imports neither server"},
		{is("hotspot/session"), "hotspot/portal", "session is the domain; it imports neither server"},
		{owner("hotspot/radius"), "layeh.com/radius", "layeh belongs to radius"},
		{owner("hotspot/portal"), "github.com/gin-gonic/gin", "gin belongs to portal"},
		{func(p string) bool { return owner("hotspot/session")(p) }, "github.com/redis/go-redis/v9", "go-redis belongs to session"},
		{func(string) bool { return true }, "hotspot/cmd/", "nothing imports cmd/"},
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, imports := fields[0], fields[1:]
		for _, r := range rules {
			if !r.importer(pkg) {
				continue
			}
			for _, imp := range imports {
				if imp == r.forbid || (strings.HasSuffix(r.forbid, "/") && strings.HasPrefix(imp, r.forbid)) || strings.HasPrefix(imp, r.forbid+"/") {
					t.Errorf("%s imports %s: %s", pkg, imp, r.why)
				}
			}
		}
	}
}
