package commands

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// The ring must keep exactly the last max lines, whatever their sizes and
// however many fall out (a --grep search over 10,000 lines keeping 5).
func TestLineRingKeepsTheLastLines(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, keep := range []int{1, 2, 3, 5, 100, 1000} {
		ring := newLineRing(keep)
		var all []string
		for i := range 20000 {
			line := fmt.Sprintf("line %d %s", i, strings.Repeat("x", r.Intn(300)))
			if r.Intn(50) == 0 {
				line = "" // empty lines are lines too
			}
			ring.add(line)
			all = append(all, line)
			if i%997 == 0 || i == 19999 {
				want := all[max(0, len(all)-keep):]
				if ring.len() != len(want) {
					t.Fatalf("keep %d after %d lines: len %d, want %d", keep, i+1, ring.len(), len(want))
				}
				if got := ring.join(); got != strings.Join(want, "\n") {
					t.Fatalf("keep %d after %d lines: join differs", keep, i+1)
				}
			}
		}
		// Memory stays bounded by the kept lines, not by all those seen.
		kept := len(ring.join())
		if size := ring.text.Cap(); size > 3*kept+8192+keep*lineRingReserve {
			t.Errorf("keep %d: buffer of %d bytes for %d bytes of kept lines", keep, size, kept)
		}
	}
}

func TestLineRingEmpty(t *testing.T) {
	ring := newLineRing(10)
	if ring.len() != 0 || ring.join() != "" {
		t.Errorf("empty ring: len %d, join %q", ring.len(), ring.join())
	}
	ring.add("")
	if ring.len() != 1 || ring.join() != "" {
		t.Errorf("one empty line: len %d, join %q", ring.len(), ring.join())
	}
	ring.add("a")
	if ring.join() != "\na" {
		t.Errorf("join %q", ring.join())
	}
}

// A joined text stays as it was when more lines come.
func TestLineRingJoinIsStable(t *testing.T) {
	ring := newLineRing(3)
	for i := range 5 {
		ring.add(fmt.Sprint("line ", i))
	}
	joined := ring.join()
	for i := range 10000 {
		ring.add(fmt.Sprint("later line ", i))
	}
	if joined != "line 2\nline 3\nline 4" {
		t.Errorf("joined text changed to %q", joined)
	}
}

func BenchmarkLineRing(b *testing.B) {
	lines := redactBenchLines(10000)
	b.ReportAllocs()
	for b.Loop() {
		ring := newLineRing(len(lines))
		for _, l := range lines {
			ring.add(l)
		}
		_ = ring.join()
	}
}
