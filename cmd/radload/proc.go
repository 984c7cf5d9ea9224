package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPU time and memory of processes, from /proc, so that the cost per
// request of the server and of Redis is measured over exactly the measured
// time of a run.

// userHZ is the unit of utime and stime in /proc/<pid>/stat. The kernel
// reports them in USER_HZ, which is 100 on every Linux architecture Go
// supports.
const userHZ = 100

// procSample is one reading of a process.
type procSample struct {
	cpu time.Duration // user + system, all threads
	rss int64         // resident set size, bytes
}

// readProc reads /proc/<pid>/stat.
func readProc(pid int) (procSample, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procSample{}, err
	}
	return parseStat(b)
}

// parseStat reads utime, stime and rss from the contents of a
// /proc/<pid>/stat file. The command name in parentheses may hold spaces
// and parentheses, so the fields are counted from the last ')'.
func parseStat(b []byte) (procSample, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procSample{}, errors.New("radload: /proc stat: no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime 15, rss 24.
	if len(f) < 22 {
		return procSample{}, fmt.Errorf("radload: /proc stat: %d fields", len(f)+2)
	}
	var v [3]int64
	for j, k := range []int{11, 12, 21} {
		n, err := strconv.ParseInt(f[k], 10, 64)
		if err != nil {
			return procSample{}, fmt.Errorf("radload: /proc stat field %d: %w", k+3, err)
		}
		v[j] = n
	}
	return procSample{
		cpu: time.Duration(v[0]+v[1]) * time.Second / userHZ,
		rss: v[2] * int64(os.Getpagesize()),
	}, nil
}

// selfCPU is the generator's own CPU time, with the resolution of rusage.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage returns the 1-minute load average, or -1.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// watched is a process whose CPU is measured during a run.
type watched struct {
	name         string
	pid          int
	before, last procSample
	err          error
}

// parseWatch reads "-watch name=pid" flags.
func parseWatch(specs []string) ([]*watched, error) {
	var ws []*watched
	for _, s := range specs {
		name, pidStr, ok := strings.Cut(s, "=")
		pid, err := strconv.Atoi(pidStr)
		if !ok || name == "" || err != nil || pid <= 0 {
			return nil, fmt.Errorf("radload: -watch %q: want NAME=PID", s)
		}
		ws = append(ws, &watched{name: name, pid: pid})
	}
	return ws, nil
}

// watchList is a repeatable flag.
type watchList []string

func (w *watchList) String() string     { return strings.Join(*w, ",") }
func (w *watchList) Set(s string) error { *w = append(*w, s); return nil }
