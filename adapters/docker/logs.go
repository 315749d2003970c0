package docker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mfbot/containers"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// maxLineBytes bounds one log line in memory; the json-file driver already
// splits longer lines into 16 KiB partial messages.
const maxLineBytes = 64 << 10

// Logs streams a container's log lines to sink, oldest first. The engine
// does the tail and the time window, so memory stays bounded by one line
// whatever the size of the log file.
func (e *Engine) Logs(ctx context.Context, id string, q containers.LogQuery, sink func(containers.LogLine) error) error {
	info, err := e.api.ContainerInspect(ctx, id)
	if err != nil {
		return e.wrap("inspect container "+id, err)
	}
	opts := container.LogsOptions{
		ShowStdout: q.Stdout || !q.Stderr,
		ShowStderr: q.Stderr || !q.Stdout,
		Timestamps: true,
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

	stdout := &lineWriter{stream: "stdout", sink: sink}
	stderr := &lineWriter{stream: "stderr", sink: sink}
	if info.Config != nil && info.Config.Tty {
		// A TTY container's output is one raw stream, not multiplexed.
		_, err = io.Copy(stdout, rc)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, rc)
	}
	if err == nil {
		err = stdout.flush()
	}
	if err == nil {
		err = stderr.flush()
	}
	if err != nil {
		if stdout.sinkErr != nil {
			return stdout.sinkErr
		}
		if stderr.sinkErr != nil {
			return stderr.sinkErr
		}
		return e.wrap("read logs of "+id, err)
	}
	return nil
}

func unixNano(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

// lineWriter cuts a byte stream into timestamped lines for a sink.
type lineWriter struct {
	stream  string
	sink    func(containers.LogLine) error
	buf     []byte
	sinkErr error
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.buf = appendBounded(w.buf, p)
			break
		}
		w.buf = appendBounded(w.buf, p[:i])
		p = p[i+1:]
		if err := w.emit(); err != nil {
			return 0, err
		}
	}
	return n, nil
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
	return w.emit()
}

func (w *lineWriter) emit() error {
	line := bytes.TrimSuffix(w.buf, []byte{'\r'})
	var ts time.Time
	// With Timestamps set the engine prefixes each line with RFC 3339 time.
	if sp := bytes.IndexByte(line, ' '); sp > 0 && sp <= 40 {
		if t, err := time.Parse(time.RFC3339Nano, string(line[:sp])); err == nil {
			ts, line = t, line[sp+1:]
		}
	}
	err := w.sink(containers.LogLine{Stream: w.stream, Time: ts, Text: string(line)})
	w.buf = w.buf[:0]
	if err != nil {
		w.sinkErr = err
	}
	return err
}
