package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"30s": 30 * time.Second, "15m": 15 * time.Minute, "2h": 2 * time.Hour, "1h30m": 90 * time.Minute,
		"1d": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "0d": 0, "+2d": 48 * time.Hour, "3650d": 3650 * 24 * time.Hour,
		" 5m ": 5 * time.Minute, "0": 0, "0s": 0, "1.5h": 90 * time.Minute, "500ms": 500 * time.Millisecond,
		"200000h": 200000 * time.Hour, // Go's forms have no bound of their own beyond time.Duration's
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

func TestParseDurationErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "empty duration: use 30s, 15m, 2h or 1d",
		"3x":                      `bad duration "3x": use 30s, 15m, 2h or 1d`,
		"60":                      `bad duration "60"`,
		"-5m":                     `bad duration "-5m"`,
		"-5d":                     `bad duration "-5d"`,
		"1d12h":                   `bad duration "1d12h"`,
		"d":                       `bad duration "d"`,
		"1.5d":                    `bad duration "1.5d"`,
		"m":                       `bad duration "m"`,
		".m":                      `bad duration ".m"`,
		"1.5.5m":                  `bad duration "1.5.5m"`,
		"5mx":                     `bad duration "5mx"`,
		"-99999999999999999999d":  `bad duration "-99999999999999999999d"`,
		"-9999999999999h":         `bad duration "-9999999999999h"`,
		"15 minutes":              `bad duration "15 minutes"`,
		"99999999999999999999999": `bad duration "99999999999999999999999"`,
	} {
		_, err := ParseDuration(in)
		if err == nil || !strings.Contains(err.Error(), want) || errors.Is(err, ErrDurationOutOfRange) {
			t.Errorf("ParseDuration(%q) error %v, want %q (not out of range)", in, err, want)
		}
	}
}

// Too long is not malformed: callers with a tighter bound say theirs.
func TestParseDurationOutOfRange(t *testing.T) {
	for _, in := range []string{"3651d", "9999d", "99999999d", "99999999999999999999d", "9999999999999h", "2562048h", "+9999999999999h", "99999999999999999999.5s", "1h9999999999999m"} {
		_, err := ParseDuration(in)
		if !errors.Is(err, ErrDurationOutOfRange) {
			t.Errorf("ParseDuration(%q) error %v, want out of range", in, err)
			continue
		}
		if want := `duration "` + in + `" is too long (at most 3650d)`; err.Error() != want {
			t.Errorf("ParseDuration(%q) error %q, want %q", in, err, want)
		}
	}
}

func TestDurationText(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte("2d")); err != nil || time.Duration(d) != 48*time.Hour {
		t.Fatalf("UnmarshalText(2d) = %v, %v", time.Duration(d), err)
	}
	if err := d.UnmarshalText([]byte("2x")); err == nil {
		t.Fatal("UnmarshalText(2x) succeeded")
	}
	if b, err := d.MarshalText(); err != nil || string(b) != "48h0m0s" {
		t.Fatalf("MarshalText = %q, %v", b, err)
	}
}
