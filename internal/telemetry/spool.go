package telemetry

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// The spool is a directory of append-only segment files, NNNNNNNNNNNNNNNNNNNN.seg
// (a 20-digit sequence number), each a run of frames:
//
//	uint32 LE payload length | uint32 LE CRC-32C of (length bytes, payload) | payload
//
// One frame holds one batch (see codec.go). Appends are fsynced frame by
// frame, so a crash can only tear the last frame of the last segment; the
// CRC (and the length check) find it, and opening the spool truncates it.
// Segments are read oldest first and a segment is deleted only once every
// frame in it has been written to the sink (commit).
const (
	frameHeader = 8
	// maxFrame bounds a frame's length field, so a corrupt header never
	// makes the reader allocate gigabytes.
	maxFrame   = 256 << 20
	segmentExt = ".seg"
)

var (
	// errSpoolFull: appending would take the spool past its size bound.
	errSpoolFull = errors.New("telemetry: spool full")
	// errTorn: the frame at an offset is incomplete or fails its CRC.
	errTorn = errors.New("telemetry: torn or corrupt spool frame")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frameCRC is the CRC of a frame's length field and payload.
func frameCRC(length []byte, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(length, castagnoli), castagnoli, payload)
}

// sealFrame fills the header reserved at the start of frame (frameHeader
// bytes followed by the payload).
func sealFrame(frame []byte) {
	payload := frame[frameHeader:]
	binary.LittleEndian.PutUint32(frame[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(frame[4:8], frameCRC(frame[0:4], payload))
}

// readFrame reads the frame at off of a segment whose valid data ends at
// limit, into buf (reused), and returns its payload and the next offset.
func readFrame(r io.ReaderAt, off, limit int64, buf []byte) (payload []byte, next int64, err error) {
	var hdr [frameHeader]byte
	if limit-off < frameHeader {
		return nil, off, errTorn
	}
	if _, err := r.ReadAt(hdr[:], off); err != nil {
		return nil, off, fmt.Errorf("%w: %w", errTorn, err)
	}
	n := int64(binary.LittleEndian.Uint32(hdr[0:4]))
	if n < 2 || n > maxFrame || limit-off-frameHeader < n {
		return nil, off, errTorn
	}
	if int64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := r.ReadAt(buf, off+frameHeader); err != nil {
		return nil, off, fmt.Errorf("%w: %w", errTorn, err)
	}
	if frameCRC(hdr[0:4], buf) != binary.LittleEndian.Uint32(hdr[4:8]) {
		return nil, off, errTorn
	}
	return buf, off + frameHeader + n, nil
}

type segment struct {
	seq  uint64
	path string
	size int64 // bytes of whole frames
	read int64 // bytes already replayed (only the oldest segment advances)
}

// spool is safe for one appender at a time per call (appends lock) beside
// one reader (the pipeline's writer goroutine, the only caller of read and
// commit).
type spool struct {
	dir    string
	max    int64
	segMax int64
	log    *slog.Logger

	mu     sync.Mutex
	segs   []*segment // oldest first
	w      *os.File   // append handle on the last segment; nil: the next append starts a segment
	next   uint64     // sequence number of the next segment
	closed bool
	total  atomic.Int64 // bytes of all segments on disk

	// Reader state (writer goroutine only).
	rf   *os.File
	rseg *segment
	rbuf []byte
}

// openSpool opens dir (creating it), checks every segment left by an
// earlier run and truncates a torn tail.
func openSpool(dir string, maxBytes, segMax int64, log *slog.Logger) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("telemetry: spool: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("telemetry: spool: %w", err)
	}
	s := &spool{dir: dir, max: maxBytes, segMax: segMax, log: log, next: 1}
	for _, e := range entries {
		name := e.Name()
		num, ok := strings.CutSuffix(name, segmentExt)
		seq, err := strconv.ParseUint(num, 10, 64)
		if !ok || err != nil || len(num) != 20 || !e.Type().IsRegular() {
			continue
		}
		s.segs = append(s.segs, &segment{seq: seq, path: filepath.Join(dir, name)})
	}
	slices.SortFunc(s.segs, func(a, b *segment) int {
		if a.seq < b.seq {
			return -1
		}
		return 1
	})
	kept := s.segs[:0]
	for _, seg := range s.segs {
		s.next = seg.seq + 1
		if err := s.check(seg); err != nil {
			return nil, err
		}
		if seg.size == 0 {
			if err := os.Remove(seg.path); err != nil {
				return nil, fmt.Errorf("telemetry: spool: %w", err)
			}
			continue
		}
		kept = append(kept, seg)
		s.total.Add(seg.size)
	}
	s.segs = kept
	return s, nil
}

// check finds the whole frames of seg and truncates anything after them.
func (s *spool) check(seg *segment) error {
	f, err := os.OpenFile(seg.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("telemetry: spool: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("telemetry: spool: %w", err)
	}
	var off int64
	var buf []byte
	for off < st.Size() {
		payload, next, err := readFrame(f, off, st.Size(), buf)
		if err != nil {
			break
		}
		buf = payload
		off = next
	}
	seg.size = off
	if off < st.Size() {
		s.log.Warn("telemetry: spool segment has a torn or corrupt tail (a crash during a write); truncating it",
			"segment", filepath.Base(seg.path), "valid_bytes", off, "dropped_bytes", st.Size()-off)
		if err := f.Truncate(off); err != nil {
			return fmt.Errorf("telemetry: spool: truncate torn tail: %w", err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("telemetry: spool: %w", err)
		}
	}
	return nil
}

// bytes is the spool's size on disk.
func (s *spool) bytes() int64 { return s.total.Load() }

// append writes one frame (frameHeader reserved bytes, then the payload)
// and fsyncs it. errSpoolFull when it does not fit.
func (s *spool) append(frame []byte) error {
	sealFrame(frame)
	n := int64(len(frame))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("telemetry: spool closed")
	}
	if s.total.Load()+n > s.max {
		return errSpoolFull
	}
	if s.w == nil || (s.segs[len(s.segs)-1].size > 0 && s.segs[len(s.segs)-1].size+n > s.segMax) {
		if err := s.rotateLocked(); err != nil {
			return err
		}
	}
	seg := s.segs[len(s.segs)-1]
	_, err := s.w.Write(frame)
	if err == nil {
		err = s.w.Sync()
	}
	if err != nil {
		// Cut a partial frame off again; if even that fails, start a new
		// segment next time (the check at open truncates this one).
		if s.w.Truncate(seg.size) != nil {
			_ = s.w.Close()
			s.w = nil
		}
		return fmt.Errorf("telemetry: spool write: %w", err)
	}
	seg.size += n
	s.total.Add(n)
	return nil
}

// rotateLocked starts a new segment for appends.
func (s *spool) rotateLocked() error {
	if s.w != nil {
		_ = s.w.Close()
		s.w = nil
	}
	seq := s.next
	path := filepath.Join(s.dir, fmt.Sprintf("%020d%s", seq, segmentExt))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("telemetry: spool: new segment: %w", err)
	}
	s.next++
	syncDir(s.dir)
	s.w = f
	s.segs = append(s.segs, &segment{seq: seq, path: path})
	return nil
}

// syncDir makes a created or removed file's directory entry durable (best
// effort: not every platform can fsync a directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// pending reports whether frames wait to be replayed.
func (s *spool) pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.segs) > 1 || (len(s.segs) == 1 && s.segs[0].read < s.segs[0].size)
}

// mark is how far a read got: commit it once its records are in the sink.
type mark struct {
	seg *segment
	off int64
}

// read appends to dst the records of the oldest unreplayed frames of one
// segment, whole frames, stopping once it holds at least want records.
// A frame that fails its CRC is skipped with the rest of its segment, one
// that does not decode alone (both logged): garbage is never replayed.
func (s *spool) read(dst []Record, want int) ([]Record, mark) {
	s.mu.Lock()
	for len(s.segs) > 0 && s.segs[0].read >= s.segs[0].size && (len(s.segs) > 1 || s.w == nil) {
		s.dropHeadLocked()
	}
	if len(s.segs) == 0 {
		s.mu.Unlock()
		return dst, mark{}
	}
	seg := s.segs[0]
	off, limit := seg.read, seg.size
	s.mu.Unlock()

	if s.rseg != seg {
		s.closeReader()
		f, err := os.Open(seg.path)
		if err != nil {
			s.log.Error("telemetry: spool segment unreadable; skipping it",
				"segment", filepath.Base(seg.path), "error", err)
			return dst, mark{seg, limit}
		}
		s.rf, s.rseg = f, seg
	}
	for off < limit && len(dst) < want {
		payload, next, err := readFrame(s.rf, off, limit, s.rbuf)
		if err != nil {
			s.log.Error("telemetry: spool frame unreadable; skipping the rest of its segment",
				"segment", filepath.Base(seg.path), "offset", off, "skipped_bytes", limit-off, "error", err)
			return dst, mark{seg, limit}
		}
		s.rbuf = payload
		n := len(dst)
		dst, err = decodeBatch(dst, payload)
		if err != nil {
			dst = dst[:n]
			s.log.Error("telemetry: spool frame does not decode; skipping it",
				"segment", filepath.Base(seg.path), "offset", off, "error", err)
		}
		off = next
	}
	return dst, mark{seg, off}
}

// commit records that a read's records are in the sink, deleting the
// segment once all of it is.
func (s *spool) commit(m mark) {
	if m.seg == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.segs) == 0 || s.segs[0] != m.seg {
		return
	}
	m.seg.read = m.off
	if m.seg.read >= m.seg.size {
		s.dropHeadLocked()
	}
}

// dropHeadLocked deletes the oldest segment (fully replayed).
func (s *spool) dropHeadLocked() {
	seg := s.segs[0]
	if len(s.segs) == 1 && s.w != nil {
		_ = s.w.Close()
		s.w = nil
	}
	if s.rseg == seg {
		s.closeReader()
	}
	if err := os.Remove(seg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Error("telemetry: remove replayed spool segment", "segment", filepath.Base(seg.path), "error", err)
	}
	syncDir(s.dir)
	s.total.Add(-seg.size)
	s.segs = s.segs[1:]
}

func (s *spool) closeReader() {
	if s.rf != nil {
		_ = s.rf.Close()
	}
	s.rf, s.rseg = nil, nil
}

// close releases the files; what is left stays for the next start.
func (s *spool) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.closeReader()
	if s.w != nil {
		err := s.w.Close()
		s.w = nil
		return err
	}
	return nil
}
