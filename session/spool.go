package session

import (
	"cmp"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// A spool keeps the accounting records that arrive while Redis cannot be
// reached on local disk, so that the NAS still gets its answer only once
// the record is stored, and nothing is lost: the records are applied to the
// store once Redis is back. Applying a record twice changes nothing (the
// ledger takes each session's counters to their maximum), so a crash at any
// point loses nothing and counts nothing twice: what is not known to be
// applied is applied again.
//
// Records are sealed with AES-256-GCM under a key derived from the MAC
// hash key: the spool holds clear MACs, user names and client addresses,
// which must not lie on disk readable. A file is a sequence of frames,
// each a 4-byte big-endian length, then the 12-byte nonce and the sealed
// JSON of the record. "current" is appended to; a replay (and OpenSpool,
// for what an earlier run left) first renames it to "replay-<n>", and
// removes a replay file once every record in it was applied. A record the
// store refuses spoolMaxTries times in a row while Redis answers is set
// aside in "rejected", which an operator can rename to "replay-<anything>"
// to have it tried again.
type Spool struct {
	dir  string
	aead cipher.AEAD
	max  int64

	// syncMu is held while the current file is synced, and while it is
	// renamed; mu guards the rest and is taken after syncMu.
	syncMu  sync.Mutex
	synced  uint64 // frames known to be on disk
	mu      sync.Mutex
	f       *os.File
	curName string // f's name in dir: "current", or "current.<n>" after a rename failed
	written uint64 // frames written to files
	cur     int64  // bytes in the current file
	frames  int    // frames in the current file (a torn one included)
	broken  bool   // the current file ends in a torn frame: no appends until it is renamed
	size    int64  // bytes in all spool files
	seq     uint64 // the last replay file's number

	pending atomic.Int64 // records in the spool not yet applied

	// One replay at a time; what it knows between replays.
	replay  sync.Mutex
	counted map[string]fileCount // replay file → what of it size and pending count; under mu
	applied map[string]int       // replay file → frames applied from its start
	failing struct {             // the record the store last refused
		file  string
		frame int
		tries int
	}
}

// fileCount is what a replay file adds to a spool's size and pending
// records.
type fileCount struct {
	bytes  int64
	frames int
}

// ErrSpoolFull is returned when a record does not fit in the spool.
var ErrSpoolFull = errors.New("session: spool is full")

const (
	spoolCurrent   = "current"
	spoolReplay    = "replay-"
	spoolRejected  = "rejected"
	spoolNonce     = 12
	spoolMaxRecord = 64 << 10 // a frame larger than this is corrupt
	// spoolMaxTries is how many replays in a row may fail on one record,
	// Redis answering, before it is set aside: about a minute of them.
	spoolMaxTries = 12
)

// OpenSpool opens (creating it when missing, mode 0700) the spool in dir,
// whose files hold at most maxBytes together; key is the MAC hash key,
// from which the spool's own key is derived. Records left by an earlier
// run are pending, for the next replay; a file that cannot be read is
// counted as one pending record, and the replay reports why.
func OpenSpool(dir string, key []byte, maxBytes int64) (*Spool, error) {
	if dir == "" {
		return nil, errors.New("session: spool: no directory")
	}
	if maxBytes <= 0 {
		return nil, errors.New("session: spool: the size limit must be positive")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("hotspot accounting spool v1"))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("session: spool: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("session: spool: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("session: spool: %w", err)
	}
	s := &Spool{dir: dir, aead: aead, max: maxBytes, applied: map[string]int{}, counted: map[string]fileCount{}}
	names, err := s.files()
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		var n uint64
		if _, err := fmt.Sscanf(strings.TrimPrefix(name, spoolReplay), "%d", &n); err == nil {
			s.seq = max(s.seq, n)
		}
	}
	// What an earlier run was appending to ("current", or "current.<n>"
	// after a rename failed) becomes a replay file, so that nothing is
	// appended after a frame a crash tore.
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("session: spool: %w", err)
	}
	for _, e := range ents {
		if e.Name() != spoolCurrent && !strings.HasPrefix(e.Name(), spoolCurrent+".") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if st, err := os.Stat(path); err == nil && st.Size() == 0 {
			os.Remove(path)
			continue
		}
		next, err := s.nextReplay()
		if err == nil {
			err = os.Rename(path, next)
		}
		if err != nil {
			return nil, fmt.Errorf("session: spool: %w", err)
		}
		names = append(names, filepath.Base(next))
	}
	for _, name := range names {
		c := fileCount{frames: 1} // unreadable: the replay says why
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			c = fileCount{int64(len(b)), countFrames(b)}
		}
		s.count(name, c)
	}
	if s.f, err = os.OpenFile(filepath.Join(dir, spoolCurrent), os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600); err != nil {
		return nil, fmt.Errorf("session: spool: %w", err)
	}
	s.curName = spoolCurrent
	syncDir(dir)
	return s, nil
}

// syncDir makes renames in dir durable, as far as it can.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// nextReplay returns the path of the next replay file, one that does not
// exist yet.
func (s *Spool) nextReplay() (string, error) {
	for range 1000 {
		s.seq++
		name := filepath.Join(s.dir, fmt.Sprintf("%s%020d", spoolReplay, s.seq))
		if _, err := os.Lstat(name); errors.Is(err, os.ErrNotExist) {
			return name, nil
		}
	}
	return "", errors.New("no free replay file name")
}

// Close closes the current file; what it holds stays for the next run.
func (s *Spool) Close() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f.Close()
}

// count makes size and pending count c for the replay file name, in
// place of what they counted for it before.
func (s *Spool) count(name string, c fileCount) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.counted[name]
	s.size += c.bytes - old.bytes
	s.pending.Add(int64(c.frames - old.frames))
	if c == (fileCount{}) {
		delete(s.counted, name)
	} else {
		s.counted[name] = c
	}
}

// Pending returns how many records wait to be applied.
func (s *Spool) Pending() int64 { return s.pending.Load() }

// Waiting reports whether anything waits to be applied: records appended,
// or a replay file put into the directory by hand.
func (s *Spool) Waiting() bool {
	if s.pending.Load() > 0 {
		return true
	}
	names, _ := s.files()
	return len(names) > 0
}

// Size returns the bytes the spool's files take.
func (s *Spool) Size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

// spoolEntry is what a frame seals.
type spoolEntry struct {
	Record   AcctRecord `json:"r"`
	Received int64      `json:"at"` // Unix ns
}

// Append writes r, received at the time it says (r.Received), to the
// spool and returns once it is on disk. Appends that run at the same time
// share one fsync.
func (s *Spool) Append(r AcctRecord) error {
	plain, err := json.Marshal(spoolEntry{Record: r, Received: r.Received.UnixNano()})
	if err != nil {
		return fmt.Errorf("session: spool: %w", err)
	}
	frame := make([]byte, 4+spoolNonce, 4+spoolNonce+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(frame[4 : 4+spoolNonce]); err != nil {
		return fmt.Errorf("session: spool: %w", err)
	}
	frame = s.aead.Seal(frame, frame[4:4+spoolNonce], plain, nil)
	if len(frame)-4 > spoolMaxRecord {
		// A reader would take it for a torn frame. RADIUS packets are
		// at most 4 KiB, so no record comes near.
		return fmt.Errorf("session: spool: a record of %d bytes", len(frame))
	}
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))

	s.mu.Lock()
	if s.broken {
		s.mu.Unlock()
		if err := s.rotate(); err != nil {
			return err
		}
		s.mu.Lock()
	}
	if s.size+int64(len(frame)) > s.max {
		s.mu.Unlock()
		return ErrSpoolFull
	}
	if _, err := s.f.Write(frame); err != nil {
		// A short write leaves a torn frame, after which a reader finds
		// nothing: cut it off, or else append no more to this file.
		if terr := s.f.Truncate(s.cur); terr != nil {
			if st, serr := s.f.Stat(); serr == nil && st.Size() > s.cur {
				s.size += st.Size() - s.cur
				s.cur = st.Size()
				s.pending.Add(1) // the torn frame, counted as the replay counts it
				s.frames++
			}
			s.broken = true
		}
		s.mu.Unlock()
		return fmt.Errorf("session: spool: %w", err)
	}
	s.cur += int64(len(frame))
	s.size += int64(len(frame))
	s.frames++
	s.written++
	// Counted once written: should the fsync fail, the frame is still in
	// the file, and the replay counts it.
	s.pending.Add(1)
	mine := s.written
	s.mu.Unlock()
	return s.sync(mine)
}

// sync returns once frame number mine is on disk: after an fsync that
// began after it was written, its own or another Append's.
func (s *Spool) sync(mine uint64) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.synced >= mine {
		return nil
	}
	s.mu.Lock()
	upto, f := s.written, s.f
	s.mu.Unlock()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("session: spool: %w", err)
	}
	s.synced = upto
	return nil
}

// files returns the replay files, oldest first.
func (s *Spool) files() ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("session: spool: %w", err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), spoolReplay) && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names) // the numbers are zero-padded
	return names, nil
}

// rotate renames the current file, when it holds anything, to the next
// replay file, and starts a new one. The new file is opened first, under a
// name of its own, so that a failure leaves the spool as it was; should
// the new file not take the name "current", it is appended to under its
// own, and the next rotate (or OpenSpool) takes it up.
func (s *Spool) rotate() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == 0 && !s.broken {
		return nil
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("session: spool: %w", err)
	}
	s.synced = s.written
	var (
		f       *os.File
		newName string
		err     error
	)
	for i := range 1000 {
		newName = fmt.Sprintf("%s.%d", spoolCurrent, i)
		f, err = os.OpenFile(filepath.Join(s.dir, newName), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
		if !errors.Is(err, os.ErrExist) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("session: spool: %w", err)
	}
	replay, err := s.nextReplay()
	if err == nil {
		err = os.Rename(filepath.Join(s.dir, s.curName), replay)
	}
	if err != nil {
		f.Close()
		os.Remove(filepath.Join(s.dir, newName))
		return fmt.Errorf("session: spool: %w", err)
	}
	// Counted already, as the current file's: size and pending stay.
	s.counted[filepath.Base(replay)] = fileCount{s.cur, s.frames}
	s.f.Close()
	s.f, s.cur, s.frames, s.broken, s.curName = f, 0, 0, false, newName
	if os.Rename(filepath.Join(s.dir, newName), filepath.Join(s.dir, spoolCurrent)) == nil {
		s.curName = spoolCurrent
	}
	syncDir(s.dir)
	return nil
}

// ReplayResult is what a replay did.
type ReplayResult struct {
	// Applied records went to the store (again, if an earlier run had
	// applied them before it stopped).
	Applied int
	// SetAside records were refused by the store spoolMaxTries times in a
	// row while Redis answered: they are kept in the file "rejected".
	SetAside int
	// Corrupt frames could not be opened (a torn write, another key):
	// they are dropped.
	Corrupt int
	// Left is how many records still wait, when the replay stopped.
	Left int64
}

// Replay applies the spooled records, oldest first, with apply. It stops
// at the first record that apply fails for, and returns that error; the
// next replay goes on from there (a new process from the start of its
// file, which is harmless). A record apply fails for spoolMaxTries times in
// a row for another reason than an outage (see IsOutage) is set aside.
func (s *Spool) Replay(apply func(AcctRecord) error) (ReplayResult, error) {
	s.replay.Lock()
	defer s.replay.Unlock()
	var res ReplayResult
	if err := s.rotate(); err != nil {
		return res, err
	}
	names, err := s.files()
	if err != nil {
		return res, err
	}
	var unreadable error
	for _, name := range names {
		path := filepath.Join(s.dir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			// Left for the operator (the error says which file); the
			// files after it are applied.
			unreadable = cmp.Or(unreadable, fmt.Errorf("session: spool: %w", err))
			continue
		}
		// A file put here by hand (the records set aside, queued
		// again) counts from now on.
		s.count(name, fileCount{int64(len(b)), countFrames(b)})
		frame := 0
		for rest := b; len(rest) > 0; frame++ {
			r, next, st := s.open(rest)
			raw := rest[:len(rest)-len(next)]
			rest = next
			if frame < s.applied[name] {
				continue
			}
			if st != frameOK {
				res.Corrupt++
				s.applied[name] = frame + 1
				continue
			}
			if err := apply(r); err != nil {
				if IsOutage(err) || !s.failedAgain(name, frame) {
					res.Left = s.pending.Load()
					return res, err
				}
				if err := s.setAside(raw); err != nil {
					res.Left = s.pending.Load()
					return res, err
				}
				res.SetAside++
			} else {
				res.Applied++
			}
			s.applied[name] = frame + 1
		}
		if err := os.Remove(path); err != nil {
			res.Left = s.pending.Load()
			return res, fmt.Errorf("session: spool: %w", err)
		}
		delete(s.applied, name)
		s.count(name, fileCount{})
	}
	res.Left = s.pending.Load()
	return res, unreadable
}

// failedAgain notes that the store refused frame number frame of the
// replay file name, and reports whether that was the spoolMaxTries-th time
// in a row.
func (s *Spool) failedAgain(name string, frame int) bool {
	f := &s.failing
	if f.file != name || f.frame != frame {
		f.file, f.frame, f.tries = name, frame, 0
	}
	f.tries++
	if f.tries < spoolMaxTries {
		return false
	}
	f.file, f.tries = "", 0
	return true
}

// setAside appends the frame raw to the file of records the store refused.
func (s *Spool) setAside(raw []byte) error {
	f, err := os.OpenFile(filepath.Join(s.dir, spoolRejected), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("session: spool: %w", err)
	}
	_, err = f.Write(raw)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("session: spool: set aside: %w", err)
	}
	return nil
}

// A frame's state, as open finds it.
type frameState int

const (
	frameOK   frameState = iota
	frameBad             // whole, but it does not open: skipped
	frameTorn            // b ends within it: nothing follows
)

// open reads the first frame of b and returns its record and what follows.
func (s *Spool) open(b []byte) (AcctRecord, []byte, frameState) {
	if len(b) < 4 {
		return AcctRecord{}, nil, frameTorn
	}
	n := int(binary.BigEndian.Uint32(b))
	if n > spoolMaxRecord || len(b)-4 < n {
		return AcctRecord{}, nil, frameTorn
	}
	frame, rest := b[4:4+n], b[4+n:]
	if n < spoolNonce+s.aead.Overhead() {
		return AcctRecord{}, rest, frameBad
	}
	plain, err := s.aead.Open(nil, frame[:spoolNonce], frame[spoolNonce:], nil)
	if err != nil {
		return AcctRecord{}, rest, frameBad
	}
	var e spoolEntry
	if err := json.Unmarshal(plain, &e); err != nil || e.Record.validate() != nil {
		return AcctRecord{}, rest, frameBad
	}
	e.Record.Received = time.Unix(0, e.Received)
	return e.Record, rest, frameOK
}

// wholeFrames returns how many bytes at the start of b are whole frames.
func wholeFrames(b []byte) int {
	at := 0
	for len(b)-at >= 4 {
		n := int(binary.BigEndian.Uint32(b[at:]))
		if n > spoolMaxRecord || len(b)-at-4 < n {
			break
		}
		at += 4 + n
	}
	return at
}

// countFrames returns how many frames b holds, a torn last one included.
func countFrames(b []byte) int {
	n := 0
	at := wholeFrames(b)
	for rest := b[:at]; len(rest) > 0; n++ {
		rest = rest[4+int(binary.BigEndian.Uint32(rest)):]
	}
	if at < len(b) {
		n++
	}
	return n
}

// IsOutage reports whether err says that Redis could not serve for now:
// it cannot be reached (IsUnreachable), a command timed out, or Redis
// refused for a reason of its own that passes (memory or disk full, a
// failover in progress, a script running long, credentials refused), as
// opposed to an answer about the request. The spool keeps the records of
// an outage.
func IsOutage(err error) bool {
	if err == nil {
		return false
	}
	if IsUnreachable(err) {
		return true
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, redis.ErrClosed), errors.Is(err, redis.ErrPoolTimeout):
		return true
	}
	return hasCode(err, outageCodes)
}

// IsUnreachable reports whether err says that Redis cannot be reached at
// all: no connection can be made, a connection broke, or Redis says it
// cannot serve (still loading its data, no master, the cluster down). A
// slow or refusing Redis is not unreachable (see IsOutage). It is what
// radius.fail_open acts on.
func IsUnreachable(err error) bool {
	if err == nil {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, net.ErrClosed):
		return true
	}
	if hasCode(err, unreachableCodes) {
		return true
	}
	// go-redis's own, for Sentinel and Cluster.
	msg := err.Error()
	return strings.Contains(msg, "redis: cluster has no nodes") || strings.Contains(msg, "redis: all sentinels")
}

// Error codes of a Redis that cannot serve at all, and of one that cannot
// serve for now.
var (
	unreachableCodes = []string{"LOADING", "MASTERDOWN", "CLUSTERDOWN"}
	outageCodes      = []string{"READONLY", "TRYAGAIN", "BUSY", "OOM", "MISCONF", "NOREPLICAS", "NOAUTH", "WRONGPASS", "NOPERM"}
)

// hasCode reports whether err is a Redis error with one of codes, also
// as a script's failed call wraps it in Redis 6 ("ERR Error running script
// … -READONLY You can't write …").
func hasCode(err error, codes []string) bool {
	var re redis.Error
	if !errors.As(err, &re) {
		return false
	}
	msg := re.Error()
	for _, code := range codes {
		if redis.HasErrorPrefix(re, code) || strings.Contains(msg, " -"+code+" ") {
			return true
		}
	}
	return false
}
