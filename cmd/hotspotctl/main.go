// Command hotspotctl is the network team's command line for hotspotd's
// admin API: list, show and disconnect sessions, show and forget devices,
// today's stats, and making admin tokens.
//
//	hotspotctl [-server URL] [-token-file FILE] [-o table|json] COMMAND
//
// The token comes from -token-file or the HOTSPOT_ADMIN_TOKEN environment
// variable (never from the command line, which other users can see); the
// server from -server or HOTSPOT_ADMIN_URL (default http://127.0.0.1:8081).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		getenv: os.Getenv, loc: time.Local, http: http.DefaultClient,
	})
	stop()
	os.Exit(code)
}

// env is what a run of hotspotctl talks to; tests replace all of it.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	loc            *time.Location // times in tables
	http           *http.Client
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the API refused or failed, or the NAS said NAK
	exitUsage = 2
)

const defaultServer = "http://127.0.0.1:8081"

// errUsage marks a usage error; the message has been printed.
var errUsage = errors.New("usage")

// options are the flags every command accepts, before or after its name.
type options struct {
	server    string
	tokenFile string
	output    string
	timeout   time.Duration
}

func (o *options) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&o.server, "server", orDefault(getenv("HOTSPOT_ADMIN_URL"), defaultServer), "admin API base URL (env HOTSPOT_ADMIN_URL)")
	fs.StringVar(&o.tokenFile, "token-file", "", "file holding the bearer token (default: env HOTSPOT_ADMIN_TOKEN)")
	fs.StringVar(&o.output, "o", "table", "output: table or json")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "how long to wait for the server")
}

const usage = `usage: hotspotctl [-server URL] [-token-file FILE] [-o table|json] COMMAND

commands:
  sessions list [-ap AP] [-nas NAS] [-mac MAC] [-state active|closed] [-limit N] [-cursor C] [-all]
  sessions show ID
  sessions disconnect ID          (operator)
  devices show MAC [-nas NAS] [-ssid SSID]
  devices forget MAC              (operator)
  stats
  token new [-name NAME] [-role viewer|operator]
  token hash                      (reads the token from standard input)

The token comes from -token-file or HOTSPOT_ADMIN_TOKEN; the server from
-server or HOTSPOT_ADMIN_URL (default ` + defaultServer + `).
`

func run(ctx context.Context, args []string, e env) int {
	var opts options
	fs := flag.NewFlagSet("hotspotctl", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, usage) }
	opts.register(fs, e.getenv)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	rest := fs.Args()
	if len(rest) < 1 {
		fmt.Fprint(e.stderr, usage)
		return exitUsage
	}
	noun, verb := rest[0], ""
	if len(rest) > 1 {
		verb = rest[1]
	}
	type command func(ctx context.Context, c *cli, args []string) error
	commands := map[string]command{
		"sessions list":       sessionsList,
		"sessions show":       sessionsShow,
		"sessions disconnect": sessionsDisconnect,
		"devices show":        devicesShow,
		"devices forget":      devicesForget,
		"stats":               stats,
		"token new":           tokenNew,
		"token hash":          tokenHash,
	}
	name, args := noun, rest[1:]
	if _, ok := commands[noun]; !ok {
		name, args = noun+" "+verb, rest[min(2, len(rest)):]
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(e.stderr, "hotspotctl: unknown command %q\n\n%s", strings.TrimSpace(name), usage)
		return exitUsage
	}
	c := &cli{env: e, opts: &opts, name: name}
	err := cmd(ctx, c, args)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errUsage):
		return exitUsage
	default:
		fmt.Fprintf(e.stderr, "hotspotctl %s: %v\n", name, err)
		return exitError
	}
}

// cli is one command's state.
type cli struct {
	env
	opts *options
	name string
}

// flags returns the command's flag set, with the common flags on it too.
func (c *cli) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("hotspotctl "+c.name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	// Defaults are what was given before the command's name.
	fs.StringVar(&c.opts.server, "server", c.opts.server, "admin API base URL")
	fs.StringVar(&c.opts.tokenFile, "token-file", c.opts.tokenFile, "file holding the bearer token")
	fs.StringVar(&c.opts.output, "o", c.opts.output, "output: table or json")
	fs.DurationVar(&c.opts.timeout, "timeout", c.opts.timeout, "how long to wait for the server")
	return fs
}

// parse parses args with fs and checks the number of positional
// arguments and the output format.
func (c *cli) parse(fs *flag.FlagSet, args []string, positional ...string) ([]string, error) {
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "usage: hotspotctl %s [flags]", c.name)
		for _, p := range positional {
			fmt.Fprintf(c.stderr, " %s", p)
		}
		fmt.Fprintln(c.stderr)
		fs.PrintDefaults()
	}
	// Flags may follow the positional arguments too.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != len(positional) {
		fs.Usage()
		return nil, errUsage
	}
	if c.opts.output != "table" && c.opts.output != "json" {
		fmt.Fprintf(c.stderr, "hotspotctl: -o %q: want table or json\n", c.opts.output)
		return nil, errUsage
	}
	return pos, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
