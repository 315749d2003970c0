// Package chart describes a chart as data: panels sharing one time axis,
// each with its series, horizontal lines (thresholds, limits) and shaded
// periods (stale data). The command catalogue builds charts from the
// database and the sampled stats; a renderer (adapters/plot) draws them.
// Tests compare this data, not pixels. It imports nothing of mfbot.
package chart

import "time"

// Chart is one picture: a title and panels stacked over the same time
// window, in UTC.
type Chart struct {
	Title    string
	From, To time.Time
	Panels   []Panel
}

// Panel is one plot of the chart, with its own vertical axis.
type Panel struct {
	Title  string
	YLabel string // "positions / 5 min", "CPU %", "memory (MiB)"
	Series []Series
	// Lines are horizontal references: thresholds, limits.
	Lines []Line
	// Spans are shaded periods (stale data, an incident).
	Spans []Span
}

// Series is one curve. Points are in time order; two consecutive points
// further apart than 1.5 × Step are not joined (no data between them).
// Step 0: every point is joined.
type Series struct {
	Name   string
	Step   time.Duration
	Points []Point
}

// Point is one value at one time.
type Point struct {
	T time.Time
	V float64
}

// Line is a horizontal reference at Value, labelled in the legend.
type Line struct {
	Label string
	Value float64
}

// Span is a shaded period, labelled in the legend.
type Span struct {
	Label    string
	From, To time.Time
}
