// Package browsertest runs Debian's chromium for the portal's browser tests
// and checks pages with axe-core.
//
// Both are required: a test that cannot find chromium or axe-core fails and
// says how to install them (`make deps`, as root); it never skips, so a
// missing browser cannot pass for a passing suite.
package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// AxePath is where `make deps` installs axe-core, relative to the module
// root. AXE_CORE_JS overrides it.
const AxePath = ".cache/axe/node_modules/axe-core/axe.min.js"

// ChromiumPath returns the chromium to run: $CHROMIUM, else chromium or
// chromium-browser on PATH. It fails the test when there is none.
func ChromiumPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("CHROMIUM=%s: %v; unset it and run `make deps` as root to install Debian's chromium", p, err)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("browser tests need Debian's chromium, which is not installed: run `make deps` as root " +
		"(or `apt-get install -y chromium`), or set CHROMIUM to a Chromium binary")
	return ""
}

// New starts one headless chromium for t, in a fresh profile, and returns
// its context; every chromedp.NewContext(ctx) is a tab of it. The browser
// ends with the test. Background networking is off: the test machine has
// no network but loopback, and a browser calling home would slow it down.
func New(t testing.TB) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ChromiumPath(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(360, 740),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	start, scancel := context.WithTimeout(ctx, 30*time.Second)
	defer scancel()
	// Start the browser with a context that does not end early: the first
	// run binds the browser's life to the context it gets.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.Run(start, chromedp.Evaluate[int]("1")); err != nil {
		t.Fatalf("chromium does not answer: %v", err)
	}
	return ctx
}

// AxeSource returns axe-core's axe.min.js: $AXE_CORE_JS, else AxePath under
// the module root. It fails the test when there is none.
func AxeSource(t testing.TB) string {
	t.Helper()
	p := os.Getenv("AXE_CORE_JS")
	if p == "" {
		root, err := moduleRoot()
		if err != nil {
			t.Fatalf("axe-core: %v", err)
		}
		p = filepath.Join(root, AxePath)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("browser tests need axe-core at %s, which is missing: run `make deps` "+
			"(npm install --prefix .cache/axe axe-core@4), or set AXE_CORE_JS to axe.min.js: %v", p, err)
	}
	return string(b)
}

// moduleRoot is the directory of the go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// AxeTags are the rule sets every page must pass: WCAG 2.0 and 2.1, levels
// A and AA, and axe's best practices (landmarks, one h1, heading order).
var AxeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"}

// AxeResult is what axe.run found on one page.
type AxeResult struct {
	Version    string    `json:"version"`
	Violations []AxeRule `json:"violations"`
	Incomplete []AxeRule `json:"incomplete"` // rules axe could not decide
	Passes     int       `json:"passes"`     // rules that passed
}

// AxeRule is one rule and the elements it flagged.
type AxeRule struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target         json.RawMessage `json:"target"`
		HTML           string          `json:"html"`
		FailureSummary string          `json:"failureSummary"`
	} `json:"nodes"`
}

// String describes the rule and its elements, for a test failure.
func (r AxeRule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", r.ID, r.Impact, r.Help)
	for _, n := range r.Nodes {
		fmt.Fprintf(&b, "\n    %s %s\n      %s", n.Target, n.HTML, strings.ReplaceAll(n.FailureSummary, "\n", "\n      "))
	}
	return b.String()
}

// Axe injects axe-core (src) into the tab's current page and runs it with
// AxeTags. The page's CSP does not apply to DevTools evaluation, so the
// page itself needs no script.
func Axe(ctx context.Context, src string) (AxeResult, error) {
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](src)); err != nil {
		return AxeResult{}, fmt.Errorf("inject axe-core: %w", err)
	}
	tags, _ := json.Marshal(AxeTags)
	expr := `axe.run(document, {runOnly: {type: 'tag', values: ` + string(tags) + `}, resultTypes: ['violations', 'incomplete']})
		.then(r => ({version: axe.version, violations: r.violations, incomplete: r.incomplete, passes: r.passes.length}))`
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return AxeResult{}, fmt.Errorf("axe.run: %w", err)
	}
	var res AxeResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return AxeResult{}, fmt.Errorf("axe.run result: %w", err)
	}
	return res, nil
}
