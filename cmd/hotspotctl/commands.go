package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"hotspot/portal"
)

// maxAll bounds how many sessions `sessions list -all` fetches.
const maxAll = 100_000

func sessionsList(ctx context.Context, c *cli, args []string) error {
	fs := c.flags()
	ap := fs.String("ap", "", "only sessions of this access point (Called-Station-Id without the SSID)")
	nas := fs.String("nas", "", "only sessions of this NAS")
	mac := fs.String("mac", "", "only sessions of this device: a MAC in any spelling, or its pseudonym")
	state := fs.String("state", "", "only active or closed sessions")
	limit := fs.Int("limit", 0, "sessions per page (server default 50, at most 500)")
	cursor := fs.String("cursor", "", "continue from a previous page's cursor")
	all := fs.Bool("all", false, "follow the cursor to the end of the listing")
	if _, err := c.parse(fs, args); err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range map[string]string{"ap": *ap, "nas": *nas, "mac": *mac, "state": *state, "cursor": *cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if *limit != 0 {
		q.Set("limit", strconv.Itoa(*limit))
	}
	var list portal.APISessionList
	raw, err := c.get(ctx, "GET", "/api/v1/sessions", q, &list)
	if err != nil {
		return err
	}
	for *all && list.NextCursor != "" && len(list.Sessions) < maxAll {
		q.Set("cursor", list.NextCursor)
		var page portal.APISessionList
		if _, err := c.get(ctx, "GET", "/api/v1/sessions", q, &page); err != nil {
			return err
		}
		list.Sessions = append(list.Sessions, page.Sessions...)
		list.NextCursor = page.NextCursor
		raw = nil // re-encode the merged pages
	}
	if c.opts.output == "json" {
		if raw == nil {
			if raw, err = json.Marshal(list); err != nil {
				return err
			}
		}
		return c.printJSON(raw)
	}
	w := c.table()
	fmt.Fprintln(w, "ID\tMAC\tNAS\tAP\tIP\tSTATE\tSTARTED\tUPDATED\tIN\tOUT\tTIME")
	for _, s := range list.Sessions {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(s.ID), cell(s.MAC), cell(s.NAS), cell(s.AP), cell(s.IP), cell(s.State),
			c.time(s.StartedAt), c.time(s.UpdatedAt), octets(s.InputOctets), octets(s.OutputOctets), duration(int64(s.SessionTime)))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if list.NextCursor != "" {
		fmt.Fprintf(c.stderr, "more sessions: add -cursor %s (or -all)\n", list.NextCursor)
	}
	return nil
}

func sessionsShow(ctx context.Context, c *cli, args []string) error {
	pos, err := c.parse(c.flags(), args, "ID")
	if err != nil {
		return err
	}
	var s portal.APISession
	raw, err := c.get(ctx, "GET", "/api/v1/sessions/"+url.PathEscape(pos[0]), nil, &s)
	if err != nil {
		return err
	}
	if c.opts.output == "json" {
		return c.printJSON(raw)
	}
	return c.fields(sessionFields(c, s))
}

func sessionFields(c *cli, s portal.APISession) [][2]string {
	return [][2]string{
		{"ID", s.ID}, {"MAC", s.MAC}, {"MAC pseudonym", s.MACHash}, {"State", s.State},
		{"NAS", s.NAS}, {"NAS IP", s.NASIP}, {"Acct-Session-Id", s.AcctSessionID},
		{"Username", s.Username}, {"AP", s.AP}, {"SSID", s.SSID}, {"IP", s.IP},
		{"Started", c.time(s.StartedAt)}, {"Updated", c.time(s.UpdatedAt)},
		{"Input", octetsExact(s.InputOctets)}, {"Output", octetsExact(s.OutputOctets)},
		{"Session time", duration(int64(s.SessionTime))}, {"Policy", s.Policy},
	}
}

func sessionsDisconnect(ctx context.Context, c *cli, args []string) error {
	pos, err := c.parse(c.flags(), args, "ID")
	if err != nil {
		return err
	}
	var d portal.APIDisconnect
	raw, err := c.get(ctx, "POST", "/api/v1/sessions/"+url.PathEscape(pos[0])+"/disconnect", nil, &d)
	if err != nil {
		return err
	}
	if c.opts.output == "json" {
		err = c.printJSON(raw)
	} else {
		f := [][2]string{{"Session", d.SessionID}, {"NAS", d.NAS}, {"Result", d.Result}}
		if d.Result != "ack" {
			f = append(f, [2]string{"Error-Cause", fmt.Sprintf("%d %s", d.ErrorCause, d.ErrorCauseName)})
		}
		err = c.fields(f)
	}
	if err == nil && d.Result != "ack" {
		return fmt.Errorf("the NAS refused (NAK, Error-Cause %d %s)", d.ErrorCause, d.ErrorCauseName)
	}
	return err
}

func devicesShow(ctx context.Context, c *cli, args []string) error {
	fs := c.flags()
	nas := fs.String("nas", "", "the NAS whose policy applies")
	ssid := fs.String("ssid", "", "the SSID whose policy applies")
	pos, err := c.parse(fs, args, "MAC")
	if err != nil {
		return err
	}
	q := url.Values{}
	if *nas != "" {
		q.Set("nas", *nas)
	}
	if *ssid != "" {
		q.Set("ssid", *ssid)
	}
	var d portal.APIDevice
	raw, err := c.get(ctx, "GET", "/api/v1/devices/"+url.PathEscape(pos[0]), q, &d)
	if err != nil {
		return err
	}
	if c.opts.output == "json" {
		return c.printJSON(raw)
	}
	until := "-"
	if d.RememberedUntil != nil {
		until = c.time(*d.RememberedUntil)
	}
	limit := func(p *int64, f func(int64) string) string {
		if p == nil {
			return "unlimited"
		}
		return f(*p)
	}
	bytesOf := func(n int64) string { return octetsExact(uint64(max(n, 0))) }
	err = c.fields([][2]string{
		{"MAC", d.MAC}, {"MAC pseudonym", d.MACHash}, {"Remembered", strconv.FormatBool(d.Remembered)},
		{"Remembered until", until}, {"Policy", d.Policy},
		{"Data used", bytesOf(d.DataUsed)}, {"Data limit", limit(d.DataLimit, bytesOf)},
		{"Data left", limit(d.DataRemaining, bytesOf)},
		{"Time used", duration(d.TimeUsed)}, {"Time limit", limit(d.TimeLimit, duration)},
		{"Time left", limit(d.TimeRemaining, duration)},
		{"Window ends", c.time(d.WindowEnd)}, {"Quota exceeded", strconv.FormatBool(d.QuotaExceeded)},
		{"Over quota", d.Action}, {"Open sessions", strconv.Itoa(len(d.Sessions))},
	})
	if err != nil || len(d.Sessions) == 0 {
		return err
	}
	fmt.Fprintln(c.stdout)
	w := c.table()
	fmt.Fprintln(w, "ID\tNAS\tAP\tIP\tSTARTED\tUPDATED\tIN\tOUT")
	for _, s := range d.Sessions {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(s.ID), cell(s.NAS), cell(s.AP), cell(s.IP),
			c.time(s.StartedAt), c.time(s.UpdatedAt), octets(s.InputOctets), octets(s.OutputOctets))
	}
	return w.Flush()
}

func devicesForget(ctx context.Context, c *cli, args []string) error {
	pos, err := c.parse(c.flags(), args, "MAC")
	if err != nil {
		return err
	}
	if _, err := c.call(ctx, "DELETE", "/api/v1/devices/"+url.PathEscape(pos[0]), nil); err != nil {
		return err
	}
	if c.opts.output == "json" {
		return c.printJSON([]byte(`{"forgotten":true}`))
	}
	fmt.Fprintf(c.stdout, "forgotten: %s sees the terms of use at its next login\n", pos[0])
	return nil
}

func stats(ctx context.Context, c *cli, args []string) error {
	if _, err := c.parse(c.flags(), args); err != nil {
		return err
	}
	var st portal.APIStats
	raw, err := c.get(ctx, "GET", "/api/v1/stats", nil, &st)
	if err != nil {
		return err
	}
	if c.opts.output == "json" {
		return c.printJSON(raw)
	}
	fmt.Fprintf(c.stdout, "since %s\n", c.time(st.Since))
	w := c.table()
	fmt.Fprintln(w, "SCOPE\tNAME\tACTIVE\tSESSIONS\tIN\tOUT")
	row := func(scope string, r portal.APIStatsRow) {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\n", scope, cell(r.Name), r.ActiveSessions, r.Sessions, octets(r.InputOctets), octets(r.OutputOctets))
	}
	row("total", st.Total)
	for _, r := range st.NAS {
		row("nas", r)
	}
	for _, r := range st.AP {
		row("ap", r)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if st.Truncated {
		fmt.Fprintln(c.stderr, "note: more sessions than one request reads; the numbers cover the most recent")
	}
	return nil
}

func tokenNew(_ context.Context, c *cli, args []string) error {
	fs := c.flags()
	name := fs.String("name", "CHANGE-ME", "the token's name in the config and the audit log")
	role := fs.String("role", "viewer", "viewer or operator")
	if _, err := c.parse(fs, args); err != nil {
		return err
	}
	if *role != string(portal.RoleViewer) && *role != string(portal.RoleOperator) {
		fmt.Fprintf(c.stderr, "hotspotctl: -role %q: want viewer or operator\n", *role)
		return errUsage
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	hash := portal.HashToken(token)
	if c.opts.output == "json" {
		raw, _ := json.Marshal(map[string]string{"name": *name, "role": *role, "token": token, "hash": hash})
		return c.printJSON(raw)
	}
	fmt.Fprintf(c.stdout, "token: %s\n\n", token)
	fmt.Fprintf(c.stdout, "Give the token to its user; it is shown only now. Add this under admin.tokens:\n\n")
	fmt.Fprintf(c.stdout, "    - name: %s\n      role: %s\n      hash: %s\n", *name, *role, hash)
	return nil
}

func tokenHash(_ context.Context, c *cli, args []string) error {
	if _, err := c.parse(c.flags(), args); err != nil {
		return err
	}
	line, err := bufio.NewReader(io.LimitReader(c.stdin, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("read the token from standard input: %w", err)
	}
	// The server trims the presented token the same way.
	token := strings.TrimSpace(line)
	if len(token) < portal.MinTokenLen {
		return fmt.Errorf("the token on standard input is shorter than %d characters", portal.MinTokenLen)
	}
	hash := portal.HashToken(token)
	if c.opts.output == "json" {
		raw, _ := json.Marshal(map[string]string{"hash": hash})
		return c.printJSON(raw)
	}
	fmt.Fprintln(c.stdout, hash)
	return nil
}

// table returns an aligned table writer on stdout.
func (c *cli) table() *tabwriter.Writer {
	return tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
}

// fields prints label-value pairs, aligned, each value as a cell (an empty
// one as "-").
func (c *cli) fields(f [][2]string) error {
	w := c.table()
	for _, kv := range f {
		fmt.Fprintf(w, "%s:\t%s\n", kv[0], cell(kv[1]))
	}
	return w.Flush()
}

// time formats t for a table in the CLI's time zone.
func (c *cli) time(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(c.loc).Format("2006-01-02 15:04:05")
}

// cell returns s for a table cell or a field: "-" when empty, and with
// the characters a terminal would not just print (escape sequences, tabs,
// line breaks, direction overrides) written as \x or \u escapes. Most
// values come from NASes' packets, which anyone on a NAS's network may
// shape.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	if !strings.ContainsFunc(s, notPrint) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !notPrint(r):
			b.WriteRune(r)
		case r < utf8.RuneSelf:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

func notPrint(r rune) bool { return !unicode.IsPrint(r) }

// octets formats a byte count for a table: exact below 1 KiB, else in
// binary units with one decimal.
func octets(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// octetsExact is octets with the exact count beside it.
func octetsExact(n uint64) string {
	if n < 1024 {
		return octets(n)
	}
	return fmt.Sprintf("%s (%d)", octets(n), n)
}

// duration formats seconds as h:mm:ss.
func duration(s int64) string {
	if s < 0 {
		s = 0
	}
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}
