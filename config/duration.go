package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxDurationDays bounds the whole-days form: no setting needs ten years.
const maxDurationDays = 3650

// ErrDurationOutOfRange is wrapped by ParseDuration's error for a
// well-formed duration too long to use (more than 3650d, or more than a
// time.Duration holds): a caller with a tighter bound can say its own
// bound rather than "bad duration".
var ErrDurationOutOfRange = errors.New("duration out of range")

// ParseDuration reads the durations operators type: Go's forms (30s, 15m,
// 1h30m) plus whole days (1d, 7d), which Go's parser does not know.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration: use 30s, 15m, 2h or 1d")
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		switch {
		case errors.Is(err, strconv.ErrRange) && n > 0, err == nil && n > maxDurationDays:
			return 0, durationOutOfRange(s)
		case err != nil || n < 0:
			return 0, fmt.Errorf("bad duration %q: use 30s, 15m, 2h or 1d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil && !strings.HasPrefix(s, "-") && durationWellFormed(s) {
		// time.ParseDuration says "invalid" for an overflow too.
		return 0, durationOutOfRange(s)
	}
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration %q: use 30s, 15m, 2h or 1d", s)
	}
	return d, nil
}

func durationOutOfRange(s string) error { return &durationRangeError{value: s} }

// durationRangeError is ErrDurationOutOfRange with the value, worded for
// the one who typed it.
type durationRangeError struct{ value string }

func (e *durationRangeError) Error() string {
	return fmt.Sprintf("duration %q is too long (at most %dd)", e.value, maxDurationDays)
}

func (e *durationRangeError) Is(target error) bool { return target == ErrDurationOutOfRange }

// durationWellFormed tells whether s has the syntax of Go's durations
// (an optional sign, then numbers each followed by a unit), whatever its
// size.
func durationWellFormed(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for s != "" {
		i, digits := 0, 0
		for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
			digits++
		}
		if i < len(s) && s[i] == '.' {
			for i++; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
				digits++
			}
		}
		if digits == 0 {
			return false
		}
		s = s[i:]
		unitFound := false
		// "ms" before "m" and "s": the longest unit first.
		for _, unit := range []string{"ns", "us", "µs", "μs", "ms", "h", "m", "s"} {
			if rest, ok := strings.CutPrefix(s, unit); ok {
				s, unitFound = rest, true
				break
			}
		}
		if !unitFound {
			return false
		}
	}
	return true
}

// Duration is a time.Duration that YAML reads with ParseDuration.
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }
