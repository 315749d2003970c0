package plot

import (
	"image/color"
	"math"

	"gonum.org/v1/plot/vg/draw"

	"mfbot/chart"
)

// buildPanel turns a panel into its frame (axes set, the time ticks are
// added by the caller), the layers and the legend to draw.
func buildPanel(c chart.Chart, p chart.Panel, bottom bool, sz sizes) *builtPanel {
	lo, hi, hasPoints := valueRange(c, p)
	built := &builtPanel{title: p.Title, frame: frame{
		x: axis{
			min: unixSeconds(c.From), max: unixSeconds(c.To),
			tickLabel: sz.textStyle(tickLabelSize, false, draw.XCenter, draw.YTop),
			title:     sz.textStyle(axisLabelSize, false, draw.XCenter, draw.YTop),
		},
		y: axis{
			min: lo, max: hi, ticks: valueTicks(lo, hi), label: p.YLabel,
			tickLabel: sz.textStyle(tickLabelSize, false, draw.XRight, draw.YCenter),
			title:     sz.textStyle(axisLabelSize, false, draw.XCenter, draw.YTop),
		},
		line:       draw.LineStyle{Color: textColor(), Width: sz.px(axisWidth)},
		tickLength: sz.px(tickLength),
		padding:    sz.px(8),
	}}
	if bottom {
		built.frame.x.label = timeAxisLabel
	}

	windowFrom, windowTo := unixSeconds(c.From), unixSeconds(c.To)
	spanIndex := map[string]int{} // one colour and one legend entry per label
	for _, s := range p.Spans {
		from, to := math.Max(unixSeconds(s.From), windowFrom), math.Min(unixSeconds(s.To), windowTo)
		if from >= to {
			continue // outside the window, or empty
		}
		index, seen := spanIndex[s.Label]
		if !seen {
			index = len(spanIndex)
			spanIndex[s.Label] = index
			if s.Label != "" {
				built.legend = append(built.legend, legendEntry{label: s.Label, kind: legendSpan, color: colorAt(spanColors(), index)})
			}
		}
		built.layers = append(built.layers, shade{from: from, to: to, fill: colorAt(spanColors(), index)})
	}

	palette := seriesColors()
	var seriesEntries, lineEntries []legendEntry
	var curves, references []layer
	for i, s := range p.Series {
		colour := colorAt(palette, i)
		dot := draw.GlyphStyle{Color: colour, Radius: sz.px(dotRadius), Shape: draw.CircleGlyph{}}
		curves = append(curves, newCurve(s, sz.seriesLine(colour), dot))
		if s.Name != "" {
			seriesEntries = append(seriesEntries, legendEntry{label: s.Name, kind: legendSeries, color: colour})
		}
	}
	for j, l := range p.Lines {
		if math.IsNaN(l.Value) || math.IsInf(l.Value, 0) {
			continue // an unlimited limit has nothing to draw
		}
		colour := lineColor(palette, len(p.Series), j)
		references = append(references, reference{value: l.Value, style: sz.refLine(colour)})
		if l.Label != "" {
			lineEntries = append(lineEntries, legendEntry{label: l.Label, kind: legendLine, color: colour})
		}
	}
	// Curves go over the references so that a threshold never hides data.
	built.layers = append(built.layers, references...)
	built.layers = append(built.layers, curves...)
	built.legend = append(append(seriesEntries, lineEntries...), built.legend...)
	if !hasPoints {
		noData := sz.textStyle(noDataSize, false, draw.XCenter, draw.YCenter)
		noData.Color = mutedColor()
		built.layers = append(built.layers, notice{message: noDataMessage, style: noData})
	}
	return built
}

// valueRange is the vertical axis: from 0 when nothing is negative, with
// headroom above the highest point or line so that it does not touch the
// frame. hasPoints tells whether any finite point falls in the window.
func valueRange(c chart.Chart, p chart.Panel) (lo, hi float64, hasPoints bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	include := func(v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	for _, s := range p.Series {
		for _, pt := range s.Points {
			if pt.T.Before(c.From) || pt.T.After(c.To) || math.IsNaN(pt.V) || math.IsInf(pt.V, 0) {
				continue
			}
			hasPoints = true
			include(pt.V)
		}
	}
	for _, l := range p.Lines {
		include(l.Value)
	}
	if lo > hi { // nothing to show
		return 0, 1, hasPoints
	}
	const headroom = 0.1
	switch {
	case lo >= 0:
		lo = 0
	case hi <= 0:
		hi = 0
	}
	span := hi - lo
	if span == 0 { // all zero
		return 0, 1, hasPoints
	}
	if lo < 0 {
		lo -= headroom * span
	}
	if hi > 0 || lo == 0 {
		hi += headroom * span
	}
	return lo, hi, hasPoints
}

// lineColor gives the j-th line of a panel a colour no series uses,
// reddish and dark ones first: they read as limits.
func lineColor(palette []color.Color, seriesCount, j int) color.Color {
	preferred := []int{3, 6, 4, 1, 5, 2, 0} // vermillion, black, purple, orange, sky blue, green, blue
	var free []int
	for _, i := range preferred {
		if i >= seriesCount {
			free = append(free, i)
		}
	}
	if j < len(free) {
		return palette[free[j]]
	}
	return colorAt(palette, seriesCount+j) // more colours than the palette: they repeat
}
