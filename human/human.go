// Package human formats durations, ages and sizes the one way mfbot shows
// them to people, in Slack and in the console alike. It imports nothing
// of mfbot.
package human

import (
	"fmt"
	"time"
)

// Duration prints d coarsely, to its largest unit and the next smaller
// one: "45 s", "12 min", "2 h 5 min", "3 d 4 h". Negative durations print
// as 0 s.
func Duration(d time.Duration) string {
	if s := int(d.Round(time.Second) / time.Second); s < 60 {
		return fmt.Sprintf("%d s", max(s, 0))
	}
	d = d.Round(time.Minute)
	if d < time.Hour {
		return fmt.Sprintf("%d min", int(d/time.Minute))
	}
	if d < 24*time.Hour {
		if m := int(d%time.Hour) / int(time.Minute); m != 0 {
			return fmt.Sprintf("%d h %d min", int(d/time.Hour), m)
		}
		return fmt.Sprintf("%d h", int(d/time.Hour))
	}
	d = d.Round(time.Hour)
	if h := int(d%(24*time.Hour)) / int(time.Hour); h != 0 {
		return fmt.Sprintf("%d d %d h", int(d/(24*time.Hour)), h)
	}
	return fmt.Sprintf("%d d", int(d/(24*time.Hour)))
}

// Bytes prints a size in binary units ("?" when negative: unknown).
func Bytes(n int64) string {
	if n < 0 {
		return "?"
	}
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Stamp is a date and time in UTC ("—" for none).
func Stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// Clock is the time of day in UTC.
func Clock(t time.Time) string { return t.UTC().Format("15:04:05 UTC") }

// Plural picks the singular for exactly one, else the plural: "1 failure",
// "3 failures".
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
