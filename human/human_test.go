package human

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		45 * time.Second:                               "45 s",
		12*time.Minute + 20*time.Second:                "12 min",
		2*time.Hour + 5*time.Minute:                    "2 h 5 min",
		3 * time.Hour:                                  "3 h",
		3*24*time.Hour + 4*time.Hour:                   "3 d 4 h",
		2*24*time.Hour + 10*time.Minute:                "2 d",
		59*time.Minute + 50*time.Second:                "1 h",
		59*time.Second + 600*time.Millisecond:          "1 min",
		23*time.Hour + 59*time.Minute + 40*time.Second: "1 d",
		23*time.Hour + 59*time.Minute:                  "23 h 59 min",
		90 * time.Second:                               "2 min",
		0:                                              "0 s",
		-time.Second:                                   "0 s",
		36*time.Hour + 29*time.Minute:                  "1 d 12 h",
		10*24*time.Hour + 30*time.Minute:               "10 d 1 h",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{-1: "?", 0: "0B", 1023: "1023B", 1024: "1.0KiB", 5 << 20: "5.0MiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
