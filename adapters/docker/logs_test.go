package docker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"mfbot/containers"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/docker/docker/pkg/stdcopy"
)

// referenceLines is how Logs cut a stream into lines before readLines: the
// engine client's stdcopy.StdCopy (or io.Copy for a TTY) into line writers
// parsing timestamps with time.Parse.
func referenceLines(rc io.Reader, tty, timestamps bool, sink func(containers.LogLine) error) (fromSink bool, err error) {
	stdout := &referenceLineWriter{stream: "stdout", timestamps: timestamps, sink: sink}
	stderr := &referenceLineWriter{stream: "stderr", timestamps: timestamps, sink: sink}
	if tty {
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
			return true, stdout.sinkErr
		}
		if stderr.sinkErr != nil {
			return true, stderr.sinkErr
		}
	}
	return false, err
}

type referenceLineWriter struct {
	stream     string
	timestamps bool
	sink       func(containers.LogLine) error
	buf        []byte
	sinkErr    error
}

func (w *referenceLineWriter) Write(p []byte) (int, error) {
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

func (w *referenceLineWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	return w.emit()
}

func (w *referenceLineWriter) emit() error {
	line := bytes.TrimSuffix(w.buf, []byte{'\r'})
	var ts time.Time
	if sp := bytes.IndexByte(line, ' '); w.timestamps && sp > 0 && sp <= 40 {
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

func frame(stream byte, payload string) string {
	var h [8]byte
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(payload)))
	return string(h[:]) + payload
}

// randomPayload is log text: timestamped lines, some cut, some too long,
// some with a carriage return or a bad timestamp.
func randomPayload(r *rand.Rand) string {
	var b strings.Builder
	for n := r.Intn(4); n >= 0; n-- {
		switch r.Intn(12) {
		case 0:
			b.WriteString(strings.Repeat("x", maxLineBytes+r.Intn(3)-1))
		case 1:
			b.WriteString("2024-02-30T10:00:00Z bad day ")
		case 2:
			b.WriteString("2024-05-01T12:00:00+02:00 offset ")
		case 3:
			b.WriteString("\r")
		case 4:
			b.WriteString("no timestamp")
		case 5:
			b.WriteString("2024-05-01T12:00:00.1234567891Z ten digits ")
		default:
			ts := time.Date(1990+r.Intn(60), time.Month(1+r.Intn(12)), 1+r.Intn(31), r.Intn(24), r.Intn(60), r.Intn(60), r.Intn(1e9), time.UTC)
			fmt.Fprintf(&b, "%s line %d", ts.Format(time.RFC3339Nano), r.Intn(1000))
		}
		if r.Intn(5) > 0 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

type collected struct {
	lines    []containers.LogLine
	fromSink bool
	err      string
}

func collect(read func(io.Reader, bool, bool, func(containers.LogLine) error) (bool, error), stream io.Reader, tty, timestamps bool, failAfter int) collected {
	var c collected
	fromSink, err := read(stream, tty, timestamps, func(l containers.LogLine) error {
		if len(c.lines) == failAfter {
			return errors.New("sink full")
		}
		c.lines = append(c.lines, l)
		return nil
	})
	c.fromSink = fromSink
	if err != nil {
		c.err = err.Error()
	}
	return c
}

// readLines must cut any stream, multiplexed or raw, timestamped or not,
// cut short or not, read in whatever pieces, as the engine client's StdCopy
// and line writers did.
func TestReadLinesAsStdCopy(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := range 4000 {
		tty, timestamps := i%4 == 0, i%3 != 0
		var stream strings.Builder
		for n := r.Intn(8); n >= 0; n-- {
			if tty {
				stream.WriteString(randomPayload(r))
				continue
			}
			kind := byte(1 + r.Intn(2))
			switch r.Intn(40) {
			case 0:
				kind = 0 // stdin goes with stdout
			case 1:
				kind = 3 // an error of the engine
			case 2:
				kind = 7 // not a stream
			}
			stream.WriteString(frame(kind, randomPayload(r)))
		}
		s := stream.String()
		if r.Intn(5) == 0 && len(s) > 0 {
			s = s[:r.Intn(len(s))] // the connection ends early
		}
		failAfter := -1
		if r.Intn(10) == 0 {
			failAfter = r.Intn(5)
		}
		readers := map[string]func(string) io.Reader{
			"whole":    func(s string) io.Reader { return strings.NewReader(s) },
			"one byte": func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
			"halves":   func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
		}
		want := collect(referenceLines, strings.NewReader(s), tty, timestamps, failAfter)
		for name, reader := range readers {
			got := collect(readLines, reader(s), tty, timestamps, failAfter)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("case %d (tty %t, timestamps %t, %s reads): stream %q\ngot  %+v\nwant %+v", i, tty, timestamps, name, s, got, want)
			}
		}
	}
}

func TestReadLinesPassesReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	streams := []struct {
		tty    bool
		stream string
	}{
		{false, ""}, {false, frame(1, "2024-05-01T12:00:00Z a\n")}, {false, frame(1, "2024-05-01T12:00:00Z a\n")[:12]},
		{true, ""}, {true, "2024-05-01T12:00:00Z tty\n"}, {true, "2024-05-01T12:00:00Z tty"},
	}
	for _, s := range streams {
		fromSink, err := readLines(io.MultiReader(strings.NewReader(s.stream), iotest.ErrReader(boom)), s.tty, true, func(containers.LogLine) error { return nil })
		if fromSink || !errors.Is(err, boom) {
			t.Errorf("stream %q (tty %t): fromSink %t, err %v; want the read error", s.stream, s.tty, fromSink, err)
		}
	}
}

func TestParseTimestampAsTimeParse(t *testing.T) {
	inputs := []string{
		"2024-05-01T12:00:00Z", "2024-05-01T12:00:00.1Z", "2024-05-01T12:00:00.123456789Z", "2024-05-01T12:00:00.000000000Z",
		"2024-05-01T12:00:00.Z", "2024-05-01T12:00:00.1234567891Z", "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
		"2000-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-13-01T00:00:00Z", "2024-00-01T00:00:00Z", "2024-01-00T00:00:00Z",
		"2024-01-01T24:00:00Z", "2024-01-01T23:60:00Z", "2024-01-01T23:59:60Z", "2024-01-01t12:00:00Z", "2024-01-01T12:00:00z",
		"2024-01-01T12:00:00+02:00", "2024-01-01T12:00:00-00:00", "2024-01-01 12:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z",
		"2024-1-01T12:00:00Z", "2024-01-01T12:00:0Z", "20240101T120000Z", "+024-01-01T12:00:00Z", "2024-01-01T12:00:00.1a3Z", "",
		"2024-01-01T12:00:00,5Z", "2024-01-01T12:00:00.-5Z", "2024-01-01T12:00:00.+5Z",
	}
	r := rand.New(rand.NewSource(2))
	for range 20000 {
		ts := time.Date(r.Intn(10000), time.Month(1+r.Intn(12)), 1+r.Intn(31), r.Intn(24), r.Intn(60), r.Intn(60), r.Intn(1e9), time.UTC)
		inputs = append(inputs, ts.Format(time.RFC3339Nano))
		b := []byte(ts.Format("2006-01-02T15:04:05.000000000Z"))
		b[r.Intn(len(b))] = "0123456789-T:.Z "[r.Intn(16)]
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		want, err := time.Parse(time.RFC3339Nano, in)
		got, ok := parseTimestamp([]byte(in))
		if ok != (err == nil) || got != want {
			t.Errorf("parseTimestamp(%q) = %v, %t; time.Parse gives %v, %v", in, got, ok, want, err)
		}
	}
}

// The lines of a 10,000-line --tail as the engine sends them, one frame a
// line, with or without their times.
func benchmarkLogStream(timestamps bool) []byte {
	var b bytes.Buffer
	ts := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range 10000 {
		line := fmt.Sprintf("2024-05-01 12:00:%02d.123  INFO 1 --- [   scheduling-1] f.g.c.m.d.u.p.GetLastPositions           : bench line %d: Found %d last positions for vessel FAK%09d\n",
			i%60, i, i%997, i)
		if timestamps {
			line = ts.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano) + " " + line
		}
		b.WriteString(frame(1, line))
	}
	return b.Bytes()
}

func BenchmarkReadLines(b *testing.B) {
	for _, timestamps := range []bool{true, false} {
		b.Run(fmt.Sprintf("timestamps=%t", timestamps), func(b *testing.B) {
			stream := benchmarkLogStream(timestamps)
			b.SetBytes(int64(len(stream)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := readLines(bytes.NewReader(stream), false, timestamps, func(containers.LogLine) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadLinesStdCopy is the line cutting Logs had before readLines.
func BenchmarkReadLinesStdCopy(b *testing.B) {
	stream := benchmarkLogStream(true)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := referenceLines(bytes.NewReader(stream), false, true, func(containers.LogLine) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
