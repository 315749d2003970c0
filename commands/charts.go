package commands

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"mfbot/chart"
	"mfbot/containers"
	"mfbot/database"
	"mfbot/human"
)

// positionsBucket is the resolution of `health --chart`: MonitorFish's
// positions arrive continuously, and 5 minutes is the freshness
// threshold's order of magnitude.
const positionsBucket = 5 * time.Minute

// positionsBucketFor is the bucket for a positions-received threshold:
// stale periods are found between buckets (a gap inside one is shorter
// than the bucket), so the bucket must not exceed the threshold; whole
// minutes, at least one.
func positionsBucketFor(threshold time.Duration) time.Duration {
	return max(min(positionsBucket, threshold.Truncate(time.Minute)), time.Minute)
}

// positionsReport is what `health --chart` says in words (the chart's
// summary and alt text).
type positionsReport struct {
	Total  int64
	Newest time.Time // zero: no position in the window nor the day before
	Stale  []chart.Span
}

// positionsChart draws the positions received per bucket over [from, to)
// and the age of the newest position against the positions-received
// threshold, with the periods where it was over the threshold shaded.
// from is a bucket boundary; a bucket still filling at to is left out of
// the counts (it would look like a drop) but not of the age.
func positionsChart(env string, h database.PositionHistory, from, to time.Time, bucket, threshold time.Duration) (chart.Chart, positionsReport) {
	var rep positionsReport
	counts := map[time.Time]int64{}
	for _, b := range h.Buckets {
		counts[b.Start.UTC()] += b.Count
		rep.Total += b.Count
	}
	received := chart.Series{Name: "positions received", Step: bucket}
	for start := from; !start.Add(bucket).After(to); start = start.Add(bucket) {
		received.Points = append(received.Points, chart.Point{T: start, V: float64(counts[start])})
	}

	// The age of the newest position at each bucket's end, and at to.
	age := chart.Series{Name: "age of the newest position", Step: bucket}
	newest, next := h.Before, 0
	for end := from.Add(bucket); ; end = end.Add(bucket) {
		if end.After(to) {
			end = to
		}
		for ; next < len(h.Buckets) && h.Buckets[next].Start.Before(end); next++ {
			if last := h.Buckets[next].Last; last.After(newest) && !last.After(end) {
				newest = last
			}
		}
		if !newest.IsZero() {
			age = appendPoint(age, end, end.Sub(newest).Minutes())
		}
		if !end.Before(to) {
			break
		}
	}
	rep.Newest = newest
	rep.Stale = stalePeriods(h, from, to, threshold)
	spans := rep.Stale

	title := fmt.Sprintf("Positions received in %s, %s – %s UTC", env, from.UTC().Format("Jan 02 15:04"), to.UTC().Format("Jan 02 15:04"))
	return chart.Chart{
		Title: title, From: from, To: to,
		Panels: []chart.Panel{
			{Title: fmt.Sprintf("Positions received per %s", human.Duration(bucket)), YLabel: "positions",
				Series: []chart.Series{received}, Spans: spans},
			{Title: "Age of the newest position", YLabel: "minutes",
				Series: []chart.Series{age},
				Lines:  []chart.Line{{Label: fmt.Sprintf("positions-received threshold (%s)", human.Duration(threshold)), Value: threshold.Minutes()}},
				Spans:  spans},
		},
	}, rep
}

// appendPoint adds a point, rounded so that the chart's data reads well
// in a golden file.
func appendPoint(s chart.Series, t time.Time, v float64) chart.Series {
	s.Points = append(s.Points, chart.Point{T: t, V: math.Round(v*100) / 100})
	return s
}

// stalePeriods are the stretches of [from, to) in which the newest
// position was older than threshold: from a position's time + threshold
// to the next position (or to, when none came).
func stalePeriods(h database.PositionHistory, from, to time.Time, threshold time.Duration) []chart.Span {
	var out []chart.Span
	label := fmt.Sprintf("stale: no position for over %s", human.Duration(threshold))
	add := func(start, end time.Time) {
		start, end = maxTime(start, from), minTime(end, to)
		if start.Before(end) {
			out = append(out, chart.Span{Label: label, From: start, To: end})
		}
	}
	previous := h.Before
	if previous.IsZero() {
		// Nothing in the day before: stale from the window's start as
		// far as the chart can tell.
		previous = from.Add(-threshold)
	}
	for _, b := range h.Buckets {
		if b.First.Sub(previous) > threshold {
			add(previous.Add(threshold), b.First)
		}
		if b.Last.After(previous) {
			previous = b.Last
		}
	}
	if to.Sub(previous) > threshold {
		add(previous.Add(threshold), to)
	}
	return out
}

// summary is the positions chart in words: the reply's text and the
// image's alt text.
func (r positionsReport) summary(env, window string, to time.Time, threshold time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s received in %s %s", formatCount(r.Total), human.Plural(int(r.Total), "position", "positions"), env, window)
	if r.Newest.IsZero() {
		b.WriteString("; no position in the day before either.")
	} else {
		fmt.Fprintf(&b, "; the newest %s ago (%s).", human.Duration(to.Sub(r.Newest)), human.Stamp(r.Newest))
	}
	if len(r.Stale) == 0 {
		fmt.Fprintf(&b, " No stale period (no gap over %s).", human.Duration(threshold))
		return b.String()
	}
	var total time.Duration
	longest := r.Stale[0]
	for _, s := range r.Stale {
		total += s.To.Sub(s.From)
		if s.To.Sub(s.From) > longest.To.Sub(longest.From) {
			longest = s
		}
	}
	fmt.Fprintf(&b, " %d stale %s (no position for over %s), %s in all; the longest from %s to %s (%s).",
		len(r.Stale), human.Plural(len(r.Stale), "period", "periods"), human.Duration(threshold), human.Duration(total),
		longest.From.UTC().Format("Jan 02 15:04"), longest.To.UTC().Format("Jan 02 15:04 UTC"), human.Duration(longest.To.Sub(longest.From)))
	return b.String()
}

// statsReport is what `stats <svc> --chart` says in words.
type statsReport struct {
	Samples            int
	CPUAverage         float64
	CPUPeak            float64
	CPUPeakAt          time.Time
	MemoryNow          uint64
	MemoryPeak         uint64
	MemoryPeakAt       time.Time
	MemoryLimit        uint64
	CPULimit           float64
	SampleEvery        time.Duration
	FirstSample, Until time.Time
}

// statsChart draws a service's sampled CPU and memory over [from, to),
// with its limits when it has some.
func statsChart(env, service string, samples []containers.Sample, from, to time.Time) (chart.Chart, statsReport) {
	rep := statsReport{Samples: len(samples), SampleEvery: sampleInterval(samples), Until: to}
	cpu := chart.Series{Name: "CPU %", Step: rep.SampleEvery}
	memory := chart.Series{Name: "memory used", Step: rep.SampleEvery}
	var cpuSum float64
	for i, s := range samples {
		cpu = appendPoint(cpu, s.Time.UTC(), s.CPUPercent)
		memory = appendPoint(memory, s.Time.UTC(), float64(s.MemoryBytes)/(1<<20))
		cpuSum += s.CPUPercent
		if i == 0 || s.CPUPercent > rep.CPUPeak {
			rep.CPUPeak, rep.CPUPeakAt = s.CPUPercent, s.Time.UTC()
		}
		if i == 0 || s.MemoryBytes > rep.MemoryPeak {
			rep.MemoryPeak, rep.MemoryPeakAt = s.MemoryBytes, s.Time.UTC()
		}
		if i == 0 {
			rep.FirstSample = s.Time.UTC()
		}
		// The limits as they are now: the last sample's.
		rep.MemoryNow, rep.MemoryLimit, rep.CPULimit = s.MemoryBytes, s.MemoryLimit, s.CPULimit
	}
	if len(samples) > 0 {
		rep.CPUAverage = cpuSum / float64(len(samples))
	}
	cpuPanel := chart.Panel{Title: "CPU (100 % = one core)", YLabel: "CPU %", Series: []chart.Series{cpu}}
	if rep.CPULimit > 0 {
		cpuPanel.Lines = []chart.Line{{Label: fmt.Sprintf("CPU limit (%g %s)", rep.CPULimit, human.Plural(int(math.Ceil(rep.CPULimit)), "core", "cores")), Value: rep.CPULimit * 100}}
	}
	memoryPanel := chart.Panel{Title: "Memory used", YLabel: "MiB", Series: []chart.Series{memory}}
	if rep.MemoryLimit > 0 {
		memoryPanel.Lines = []chart.Line{{Label: "memory limit (" + human.Bytes(int64(rep.MemoryLimit)) + ")", Value: math.Round(float64(rep.MemoryLimit)/(1<<20)*100) / 100}}
	}
	return chart.Chart{
		Title: fmt.Sprintf("%s in %s, %s – %s UTC", service, env, from.UTC().Format("Jan 02 15:04"), to.UTC().Format("Jan 02 15:04")),
		From:  from, To: to,
		Panels: []chart.Panel{cpuPanel, memoryPanel},
	}, rep
}

// sampleInterval is the usual time between two samples (their median
// gap): the sampler's interval, whatever it was configured to.
func sampleInterval(samples []containers.Sample) time.Duration {
	if len(samples) < 2 {
		return 0
	}
	gaps := make([]time.Duration, 0, len(samples)-1)
	for i := 1; i < len(samples); i++ {
		gaps = append(gaps, samples[i].Time.Sub(samples[i-1].Time))
	}
	slices.Sort(gaps)
	return gaps[len(gaps)/2].Round(time.Second)
}

// summary is the stats chart in words.
func (r statsReport) summary(service, window string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (%d %s", service, window, r.Samples, human.Plural(r.Samples, "sample", "samples"))
	if r.SampleEvery > 0 {
		fmt.Fprintf(&b, ", one every %s", human.Duration(r.SampleEvery))
	}
	fmt.Fprintf(&b, ", since %s). CPU: average %.1f %%, peak %.1f %% at %s", human.Clock(r.FirstSample), r.CPUAverage, r.CPUPeak, human.Clock(r.CPUPeakAt))
	if r.CPULimit > 0 {
		fmt.Fprintf(&b, " (limit %g %s)", r.CPULimit, human.Plural(int(math.Ceil(r.CPULimit)), "core", "cores"))
	}
	fmt.Fprintf(&b, ". Memory: %s now, peak %s at %s", human.Bytes(int64(r.MemoryNow)), human.Bytes(int64(r.MemoryPeak)), human.Clock(r.MemoryPeakAt))
	if r.MemoryLimit > 0 {
		fmt.Fprintf(&b, ", limit %s (peak at %.0f %% of it)", human.Bytes(int64(r.MemoryLimit)), float64(r.MemoryPeak)/float64(r.MemoryLimit)*100)
	} else {
		b.WriteString(", no memory limit")
	}
	b.WriteString(".")
	return b.String()
}

func formatCount(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
