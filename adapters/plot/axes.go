package plot

import (
	"math"

	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The axes are drawn here on gonum's canvas (vg/draw) rather than by
// gonum's plot package: that package parses twelve embedded fonts when the
// program starts, charts drawn or not, which costs mfbot 4.8 MB of idle
// memory (README, storm benchmark).

// tick is a position on an axis, in axis units, with its label ("" for a
// tick whose label is shown elsewhere).
type tick struct {
	Value float64
	Label string
}

// axis is one side of a panel's frame: its range, ticks and title.
type axis struct {
	min, max  float64
	ticks     []tick
	label     string     // the axis title, "" for none
	tickLabel text.Style // aligned for the side: under the tick, or left of it
	title     text.Style
}

// frame is what surrounds a panel's data area: the time axis below, the
// value axis on the left, in one line style.
type frame struct {
	x, y       axis
	line       draw.LineStyle
	tickLength vg.Length
	padding    vg.Length // between an axis title and the tick labels
}

// norm maps v onto 0..1 of the axis.
func (a axis) norm(v float64) float64 { return (v - a.min) / (a.max - a.min) }

// leftWidth is the room the value axis takes left of the data area.
func (f frame) leftWidth() vg.Length {
	w := f.line.Width/2 + f.tickLength
	if labels := widestLabel(f.y.tickLabel, f.y.ticks); labels > 0 {
		w += labels + f.y.tickLabel.Width(" ")
	}
	if f.y.label != "" {
		w += f.y.title.Height(f.y.label) + f.y.title.FontExtents().Descent + f.padding
	}
	return w
}

// bottomHeight is the room the time axis takes under the data area.
func (f frame) bottomHeight() vg.Length {
	h := f.line.Width/2 + f.tickLength
	if labels := tallestLabel(f.x.tickLabel, f.x.ticks); labels > 0 {
		h += labels
	}
	if f.x.label != "" {
		h += f.x.title.Height(f.x.label) + f.padding
	}
	// The lowest value label is centred on the bottom edge: keep its lower
	// half in the panel.
	return max(h, f.topOverhang())
}

// topOverhang is how far the highest value label, centred on its tick,
// may rise above the data area.
func (f frame) topOverhang() vg.Length {
	return tallestLabel(f.y.tickLabel, f.y.ticks) / 2
}

// dataWidth is the widest data area, out of available, whose time labels
// (each centred on its tick) all end within available.
func (f frame) dataWidth(available vg.Length) vg.Length {
	width := available
	for _, t := range f.x.ticks {
		if at := f.x.norm(t.Value); t.Label != "" && at > 0 {
			// The label ends at width·at + half its width.
			width = min(width, (available-f.x.tickLabel.Width(t.Label)/2)/vg.Length(at))
		}
	}
	return width
}

// transforms map axis units to the canvas inside the data area.
func (f frame) transforms(data draw.Canvas) (x, y func(float64) vg.Length) {
	x = func(v float64) vg.Length { return data.X(f.x.norm(v)) }
	y = func(v float64) vg.Length { return data.Y(f.y.norm(v)) }
	return x, y
}

// draw draws both axes along the data area's bottom and left edges, their
// ticks, tick labels and titles.
func (f frame) draw(c draw.Canvas, data vg.Rectangle) {
	dataCanvas := draw.Canvas{Canvas: c.Canvas, Rectangle: data}
	x, y := f.transforms(dataCanvas)
	inside := func(v, lo, hi vg.Length) bool { return v >= lo-0.01 && v <= hi+0.01 }

	// Time axis: line, ticks down, labels under them, title under those.
	edge := data.Min.Y - f.line.Width/2
	c.StrokeLine2(f.line, data.Min.X-f.line.Width/2, edge, data.Max.X, edge)
	labelTop := edge - f.tickLength
	for _, t := range f.x.ticks {
		at := x(t.Value)
		if !inside(at, data.Min.X, data.Max.X) {
			continue
		}
		c.StrokeLine2(f.line, at, edge, at, labelTop)
		if t.Label != "" {
			c.FillText(f.x.tickLabel, vg.Point{X: at, Y: labelTop}, t.Label)
		}
	}
	if f.x.label != "" {
		title := f.x.title
		title.XAlign, title.YAlign = draw.XCenter, draw.YTop
		below := labelTop - tallestLabel(f.x.tickLabel, f.x.ticks) - f.padding
		c.FillText(title, vg.Point{X: (data.Min.X + data.Max.X) / 2, Y: below}, f.x.label)
	}

	// Value axis: line, ticks left, labels left of them, title turned.
	edge = data.Min.X - f.line.Width/2
	c.StrokeLine2(f.line, edge, data.Min.Y-f.line.Width/2, edge, data.Max.Y)
	labelRight := edge - f.tickLength
	for _, t := range f.y.ticks {
		at := y(t.Value)
		if !inside(at, data.Min.Y, data.Max.Y) {
			continue
		}
		c.StrokeLine2(f.line, edge, at, labelRight, at)
		if t.Label != "" {
			c.FillText(f.y.tickLabel, vg.Point{X: labelRight - f.y.tickLabel.Width(" "), Y: at}, t.Label)
		}
	}
	if f.y.label != "" {
		title := f.y.title
		title.Rotation = math.Pi / 2
		title.XAlign, title.YAlign = draw.XCenter, draw.YTop
		left := data.Min.X - f.leftWidth()
		c.FillText(title, vg.Point{X: left, Y: (data.Min.Y + data.Max.Y) / 2}, f.y.label)
	}
}

func widestLabel(style text.Style, ticks []tick) vg.Length {
	var w vg.Length
	for _, t := range ticks {
		if t.Label != "" {
			w = max(w, style.Width(t.Label))
		}
	}
	return w
}

func tallestLabel(style text.Style, ticks []tick) vg.Length {
	var h vg.Length
	for _, t := range ticks {
		if t.Label != "" {
			h = max(h, style.Height(t.Label))
		}
	}
	return h
}
