package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"mfbot/containers"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/container"
)

// maxLineBytes bounds one log line in memory; the json-file driver already
// splits longer lines into 16 KiB partial messages.
const maxLineBytes = 64 << 10

// logsBufferSize is the read buffer of a log stream: the frames of the
// multiplexed stream are cut into lines where they lie in it, without
// copying.
const logsBufferSize = 64 << 10

// Logs streams a container's log lines to sink, oldest first. The engine
// does the tail and the time window, so memory stays bounded by one line
// whatever the size of the log file.
func (e *Engine) Logs(ctx context.Context, id string, q containers.LogQuery, sink func(containers.LogLine) error) error {
	return e.logs(ctx, id, q, true, sink)
}

// LogsWithoutTimes is Logs for a caller that does not need the time of
// each line: Time stays zero. The engine then sends the lines as they are,
// without formatting a time for each (some 10 % of the engine's work for a
// 10,000-line tail), and a line longer than the 16 KiB parts the json-file
// driver stores comes whole, as `docker logs` shows it, instead of with
// the time of each part inside it.
func (e *Engine) LogsWithoutTimes(ctx context.Context, id string, q containers.LogQuery, sink func(containers.LogLine) error) error {
	return e.logs(ctx, id, q, false, sink)
}

func (e *Engine) logs(ctx context.Context, id string, q containers.LogQuery, timestamps bool, sink func(containers.LogLine) error) error {
	info, err := e.api.ContainerInspect(ctx, id)
	if err != nil {
		return e.wrap("inspect container "+id, err)
	}
	opts := container.LogsOptions{
		ShowStdout: q.Stdout || !q.Stderr,
		ShowStderr: q.Stderr || !q.Stdout,
		Timestamps: timestamps,
	}
	if q.Tail > 0 {
		opts.Tail = strconv.Itoa(q.Tail)
	}
	if !q.Since.IsZero() {
		opts.Since = unixNano(q.Since)
	}
	if !q.Until.IsZero() {
		opts.Until = unixNano(q.Until)
	}
	rc, err := e.api.ContainerLogs(ctx, id, opts)
	if err != nil {
		return e.wrap("read logs of "+id, err)
	}
	defer rc.Close()

	// A TTY container's output is one raw stream, not multiplexed.
	tty := info.Config != nil && info.Config.Tty
	if fromSink, err := readLines(rc, tty, timestamps, sink); err != nil {
		if fromSink {
			return err
		}
		return e.wrap("read logs of "+id, err)
	}
	return nil
}

// readLines cuts a log stream, raw (tty) or multiplexed, into lines for
// sink; with timestamps, each line starts with its time. fromSink tells
// that err is sink's own error, returned as is.
func readLines(rc io.Reader, tty, timestamps bool, sink func(containers.LogLine) error) (fromSink bool, err error) {
	r := bufio.NewReaderSize(rc, logsBufferSize)
	stdout := &lineWriter{stream: "stdout", timestamps: timestamps, sink: sink}
	stderr := &lineWriter{stream: "stderr", timestamps: timestamps, sink: sink}
	if tty {
		err = copyRaw(r, stdout)
	} else {
		err = demultiplex(r, stdout, stderr)
	}
	if err == nil {
		err = stdout.flush()
	}
	if err == nil {
		err = stderr.flush()
	}
	if err != nil {
		if stdout.sinkErr != nil {
			return true, stdout.sinkErr
		}
		if stderr.sinkErr != nil {
			return true, stderr.sinkErr
		}
	}
	return false, err
}

func unixNano(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

// Stream numbers in the frame headers of a multiplexed stream: an 8-byte
// header, the stream then three zero bytes then the size of the payload.
const (
	streamStdin  = 0
	streamStdout = 1
	streamStderr = 2
	streamSystem = 3 // an error of the engine, in the stream
)

// demultiplex cuts a multiplexed stream into the lines of stdout and
// stderr. It behaves as the engine client's stdcopy.StdCopy does: a frame
// cut by the end of the stream is dropped, a system error frame ends the
// stream with that error.
func demultiplex(r *bufio.Reader, stdout, stderr *lineWriter) error {
	for {
		header, err := r.Peek(8)
		if err != nil {
			return endOfStream(err)
		}
		var w *lineWriter
		switch header[0] {
		case streamStdin, streamStdout:
			w = stdout
		case streamStderr:
			w = stderr
		case streamSystem:
		default:
			return fmt.Errorf("Unrecognized input header: %d", header[0])
		}
		size := int(binary.BigEndian.Uint32(header[4:]))
		_, _ = r.Discard(8)
		var frame []byte
		if size <= r.Size() {
			// In the buffer: lines are cut where they lie.
			if frame, err = r.Peek(size); err != nil {
				return endOfStream(err)
			}
		} else {
			frame = make([]byte, size)
			for n := 0; n < size; {
				m, err := r.Read(frame[n:])
				n += m
				if err != nil && n < size {
					return endOfStream(err)
				}
			}
		}
		if w == nil {
			return fmt.Errorf("error from daemon in stream: %s", frame)
		}
		err = w.write(frame)
		if size <= r.Size() {
			_, _ = r.Discard(size)
		}
		if err != nil {
			return err
		}
	}
}

// endOfStream is the outcome of a read error: the end of the stream, even
// inside a frame, is not an error.
func endOfStream(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// copyRaw cuts a raw stream into lines.
func copyRaw(r *bufio.Reader, w *lineWriter) error {
	for {
		if _, err := r.Peek(1); err != nil {
			return endOfStream(err)
		}
		p, _ := r.Peek(r.Buffered())
		err := w.write(p)
		_, _ = r.Discard(len(p))
		if err != nil {
			return err
		}
	}
}

// lineWriter cuts a byte stream into timestamped lines for a sink.
type lineWriter struct {
	stream     string
	timestamps bool // each line starts with its time
	sink       func(containers.LogLine) error
	buf        []byte // the start of a line cut by the end of a frame
	sinkErr    error
}

// write takes the next bytes of the stream; p is only read during the call.
func (w *lineWriter) write(p []byte) error {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.buf = appendBounded(w.buf, p)
			return nil
		}
		line := p[:i]
		p = p[i+1:]
		if len(w.buf) > 0 {
			w.buf = appendBounded(w.buf, line)
			line = w.buf
		} else if len(line) > maxLineBytes {
			line = line[:maxLineBytes]
		}
		err := w.emit(line)
		w.buf = w.buf[:0]
		if err != nil {
			return err
		}
	}
	return nil
}

func appendBounded(buf, p []byte) []byte {
	if room := maxLineBytes - len(buf); room < len(p) {
		p = p[:max(room, 0)]
	}
	return append(buf, p...)
}

func (w *lineWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	err := w.emit(w.buf)
	w.buf = w.buf[:0]
	return err
}

func (w *lineWriter) emit(line []byte) error {
	line = bytes.TrimSuffix(line, []byte{'\r'})
	var ts time.Time
	// With Timestamps set the engine prefixes each line with RFC 3339 time.
	if sp := bytes.IndexByte(line, ' '); w.timestamps && sp > 0 && sp <= 40 {
		if t, ok := parseTimestamp(line[:sp]); ok {
			ts, line = t, line[sp+1:]
		}
	}
	err := w.sink(containers.LogLine{Stream: w.stream, Time: ts, Text: string(line)})
	if err != nil {
		w.sinkErr = err
	}
	return err
}

// parseTimestamp parses an RFC 3339 time as time.Parse(time.RFC3339Nano)
// does. The engine's own form, 2006-01-02T15:04:05.999999999Z, is read
// directly: time.Parse costs more than the rest of a line's handling.
func parseTimestamp(b []byte) (time.Time, bool) {
	if t, ok := parseEngineTimestamp(b); ok {
		return t, true
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	return t, err == nil
}

// parseEngineTimestamp reads YYYY-MM-DDTHH:MM:SS[.F{1,9}]Z with valid
// fields; ok is false for anything else, which time.Parse then judges.
func parseEngineTimestamp(b []byte) (t time.Time, ok bool) {
	if len(b) < 20 || len(b) > 30 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[len(b)-1] != 'Z' {
		return time.Time{}, false
	}
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(b[0:4])
	month, ok2 := num(b[5:7])
	day, ok3 := num(b[8:10])
	hour, ok4 := num(b[11:13])
	minute, ok5 := num(b[14:16])
	sec, ok6 := num(b[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		digits, ok := num(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			digits *= 10
		}
		nsec = digits
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
