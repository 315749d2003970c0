package plot

import (
	"math"
	"strconv"
	"time"

	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// timeSteps are the tick intervals a reader expects on a clock: they
// divide an hour or a day, so ticks fall on round UTC times.
func timeSteps() []time.Duration {
	const day = 24 * time.Hour
	return []time.Duration{
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
		day, 2 * day, 7 * day, 14 * day, 28 * day,
	}
}

// timeLayout picks the tick label: the date is added when the window
// covers more than one UTC day, otherwise "15:00" would be ambiguous.
func timeLayout(step time.Duration, spansDays bool) string {
	switch {
	case step >= 24*time.Hour:
		return "Jan 02"
	case step < time.Minute:
		if spansDays {
			return "Jan 02 15:04:05"
		}
		return "15:04:05"
	case spansDays:
		return "Jan 02 15:04"
	default:
		return "15:04"
	}
}

func spansDays(from, to time.Time) bool {
	last := to.Add(-time.Nanosecond) // a window ending at midnight stays on its day
	fy, fm, fd := from.UTC().Date()
	ly, lm, ld := last.UTC().Date()
	return fy != ly || fm != lm || fd != ld
}

// timeTicks returns labelled ticks at round UTC times, as many as fit in
// width without labels touching each other, and at most 8: more lines than
// that make a grid too dense to read on a phone.
func timeTicks(from, to time.Time, width vg.Length, label text.Style) []tick {
	const maxIntervals = 7
	days := spansDays(from, to)
	// The widest label a layout can produce: two-digit day, hour and minute.
	widest := time.Date(2000, time.December, 30, 23, 59, 59, 0, time.UTC)
	gap := label.Width("M") * 3 / 2 // readable apart on a small screen
	window := to.Sub(from)
	steps := timeSteps()
	chosen := steps[len(steps)-1]
	for _, step := range steps {
		labelWidth := label.Width(widest.Format(timeLayout(step, days)))
		spacing := width * vg.Length(float64(step)/float64(window))
		if spacing >= labelWidth+gap && window/step <= maxIntervals {
			chosen = step
			break
		}
	}
	if longest := steps[len(steps)-1]; chosen == longest {
		// Windows of years: stretch the step so at most a few labels remain.
		chosen = max(longest, window/4/(24*time.Hour)*(24*time.Hour))
	}
	layout := timeLayout(chosen, days)
	var ticks []tick
	for t := firstTick(from, chosen); !t.After(to); t = t.Add(chosen) {
		ticks = append(ticks, tick{Value: unixSeconds(t), Label: t.UTC().Format(layout)})
	}
	return ticks
}

// firstTick is the first multiple of step at or after from; multiples of
// a step counted from the zero time fall on round UTC times.
func firstTick(from time.Time, step time.Duration) time.Time {
	t := from.UTC().Truncate(step)
	if t.Before(from) {
		t = t.Add(step)
	}
	return t
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// unlabelled keeps the tick positions (and their grid lines) for panels
// whose time labels are shown only once, under the bottom panel.
func unlabelled(ticks []tick) []tick {
	out := make([]tick, len(ticks))
	for i, t := range ticks {
		out[i] = tick{Value: t.Value}
	}
	return out
}

// valueTicks returns four or five labelled ticks at round values.
func valueTicks(lo, hi float64) []tick {
	step := niceStep((hi - lo) / 4)
	unit, suffix := valueUnit(math.Max(math.Abs(lo), math.Abs(hi)))
	decimals := 0 // as few as the step needs: 25 → 0, 2.5 → 1, 0.25 → 2
	for scaled := step / unit; decimals < 9 && math.Abs(scaled-math.Round(scaled)) > 1e-6*scaled; scaled *= 10 {
		decimals++
	}
	var ticks []tick
	for i := math.Ceil(lo/step - 1e-9); i*step <= hi+step*1e-9; i++ {
		v := i * step
		label := strconv.FormatFloat(v/unit, 'f', decimals, 64) + suffix
		if v == 0 {
			v, label = 0, "0" // neither "-0" nor "0k"
		}
		ticks = append(ticks, tick{Value: v, Label: label})
	}
	return ticks
}

// niceStep rounds raw up to 1, 2, 2.5 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	magnitude := math.Pow10(int(math.Floor(math.Log10(raw))))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*magnitude >= raw*(1-1e-9) {
			return m * magnitude
		}
	}
	return 10 * magnitude
}

// valueUnit shortens big numbers so that Y labels stay narrow on a phone.
func valueUnit(largest float64) (unit float64, suffix string) {
	switch {
	case largest >= 1e9:
		return 1e9, "G"
	case largest >= 1e6:
		return 1e6, "M"
	case largest >= 1e4:
		return 1e3, "k"
	default:
		return 1, ""
	}
}
