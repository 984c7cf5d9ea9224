package session

import (
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
// ledger takes each session's counters to their maximum), so a spool file
// is applied from its start until all of it went through, and a crash at
// any point loses nothing and counts nothing twice.
//
// Records are sealed with AES-256-GCM under a key derived from the MAC
// hash key: the spool holds clear MACs, user names and client addresses,
// which must not lie on disk readable. A file is a sequence of frames,
// each a 4-byte big-endian length, then the 12-byte nonce and the sealed
// JSON of the record; "current" is appended to, and a replay first renames
// it to "replay-<n>", which it removes once every record in it was
// applied.
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
	written uint64 // frames written to files
	cur     int64  // bytes in the current file
	size    int64  // bytes in all spool files
	seq     uint64 // the last replay file's number

	pending atomic.Int64 // records in the spool not yet applied
	replay  sync.Mutex   // one replay at a time
}

// ErrSpoolFull is returned when a record does not fit in the spool.
var ErrSpoolFull = errors.New("session: spool is full")

const (
	spoolCurrent   = "current"
	spoolReplay    = "replay-"
	spoolNonce     = 12
	spoolMaxRecord = 64 << 10 // a frame larger than this is corrupt
)

// OpenSpool opens (creating it when missing, mode 0700) the spool in dir,
// whose files hold at most maxBytes together; key is the MAC hash key,
// from which the spool's own key is derived. Records left by an earlier
// run are counted as pending, for the next replay.
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
	s := &Spool{dir: dir, aead: aead, max: maxBytes}
	names, err := s.files()
	if err != nil {
		return nil, err
	}
	for _, name := range append(names, spoolCurrent) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("session: spool: %w", err)
		}
		s.size += int64(len(b))
		s.pending.Add(int64(countFrames(b)))
	}
	if len(names) > 0 {
		fmt.Sscanf(strings.TrimPrefix(names[len(names)-1], spoolReplay), "%d", &s.seq)
	}
	s.f, err = os.OpenFile(filepath.Join(dir, spoolCurrent), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("session: spool: %w", err)
	}
	return s, nil
}

// Close closes the current file; what it holds stays for the next run.
func (s *Spool) Close() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f.Close()
}

// Pending returns how many records wait to be applied.
func (s *Spool) Pending() int64 { return s.pending.Load() }

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
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))

	s.mu.Lock()
	if s.size+int64(len(frame)) > s.max {
		s.mu.Unlock()
		return ErrSpoolFull
	}
	if _, err := s.f.Write(frame); err != nil {
		// A short write would leave a torn frame, which ends the file
		// for the reader: cut it off.
		_ = s.f.Truncate(s.cur)
		s.mu.Unlock()
		return fmt.Errorf("session: spool: %w", err)
	}
	s.cur += int64(len(frame))
	s.size += int64(len(frame))
	s.written++
	mine := s.written
	s.mu.Unlock()

	if err := s.sync(mine); err != nil {
		return err
	}
	s.pending.Add(1)
	return nil
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
// replay file, and starts a new one.
func (s *Spool) rotate() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("session: spool: %w", err)
	}
	if st.Size() == 0 {
		return nil
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("session: spool: %w", err)
	}
	s.synced = s.written
	s.seq++
	name := filepath.Join(s.dir, fmt.Sprintf("%s%020d", spoolReplay, s.seq))
	if err := os.Rename(filepath.Join(s.dir, spoolCurrent), name); err != nil {
		return fmt.Errorf("session: spool: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(s.dir, spoolCurrent), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("session: spool: %w", err)
	}
	s.f.Close()
	s.f, s.cur = f, 0
	if d, err := os.Open(s.dir); err == nil {
		_ = d.Sync() // the rename, on disk
		d.Close()
	}
	return nil
}

// ReplayResult is what a replay did.
type ReplayResult struct {
	// Applied records went to the store (again, if an earlier replay had
	// applied them before it stopped).
	Applied int
	// Rejected records were refused by the store for another reason than
	// an outage: they are dropped.
	Rejected int
	// Corrupt frames could not be opened (a torn write, another key):
	// they are dropped.
	Corrupt int
	// Left is how many records still wait, when the replay stopped because
	// Redis is still out of reach.
	Left int64
}

// Replay applies the spooled records, oldest first, with apply. It stops
// at the first record that apply fails for because Redis cannot be
// reached (see IsOutage), and returns that error; the file that record is
// in is applied from its start by the next replay. A record apply refuses
// for another reason is dropped, and counted.
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
	for _, name := range names {
		path := filepath.Join(s.dir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			return res, fmt.Errorf("session: spool: %w", err)
		}
		for rest := b; len(rest) > 0; {
			r, next, st := s.open(rest)
			rest = next
			if st != frameOK {
				res.Corrupt++
				continue
			}
			err := apply(r)
			switch {
			case err == nil:
				res.Applied++
			case IsOutage(err):
				res.Left = s.pending.Load()
				return res, err
			default:
				res.Rejected++
			}
		}
		if err := os.Remove(path); err != nil {
			return res, fmt.Errorf("session: spool: %w", err)
		}
		s.mu.Lock()
		s.size -= int64(len(b))
		s.mu.Unlock()
		s.pending.Add(-int64(countFrames(b)))
	}
	res.Left = s.pending.Load()
	return res, nil
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

// IsOutage reports whether err says that Redis could not be reached or
// could not serve (a connection refused, reset or timed out, a failover
// in progress), as opposed to an answer.
func IsOutage(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, net.ErrClosed), errors.Is(err, redis.ErrClosed), errors.Is(err, redis.ErrPoolTimeout):
		return true
	}
	for _, prefix := range []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY"} {
		if redis.HasErrorPrefix(err, prefix) {
			return true
		}
	}
	return false
}
