package plot

import (
	"image/color"
	"math"
	"time"

	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"mfbot/chart"
)

// A layer draws into a panel's data area, through the transforms from
// axis units (unix seconds, value) to the canvas. Layers do not report data
// ranges: the renderer sets both axes itself, so that every panel shows
// exactly the chart's window.
type layer interface {
	draw(c draw.Canvas, x, y func(float64) vg.Length)
}

// shade fills a period over the whole height of the data area.
type shade struct {
	from, to float64 // unix seconds, already clipped to the window
	fill     color.Color
}

func (s shade) draw(c draw.Canvas, x, _ func(float64) vg.Length) {
	x0, x1 := x(s.from), x(s.to)
	c.FillPolygon(s.fill, []vg.Point{
		{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y},
	})
}

// reference draws a threshold or limit across the whole window.
type reference struct {
	value float64
	style draw.LineStyle
}

func (r reference) draw(c draw.Canvas, _, y func(float64) vg.Length) {
	at := y(r.value)
	c.StrokeLines(r.style, c.ClipLinesY([]vg.Point{{X: c.Min.X, Y: at}, {X: c.Max.X, Y: at}})...)
}

// xy is a point in axis units: unix seconds and value.
type xy struct{ x, y float64 }

// curve is one series cut into runs of points that are joined; a run of
// one point is a dot, or it would not show at all.
type curve struct {
	runs  [][]xy
	style draw.LineStyle
	dot   draw.GlyphStyle
}

// newCurve cuts a series where two points are further apart than 1.5
// steps (no data in between) and where a value is not finite: NaN and
// ±Inf are missing samples, drawn as gaps rather than refused, because a
// collector reports them for a counter reset or an empty division.
func newCurve(s chart.Series, style draw.LineStyle, dot draw.GlyphStyle) curve {
	maxGap := time.Duration(math.MaxInt64)
	if s.Step > 0 {
		maxGap = s.Step + s.Step/2
	}
	c := curve{style: style, dot: dot}
	var run []xy
	var last time.Time
	for _, pt := range s.Points {
		if math.IsNaN(pt.V) || math.IsInf(pt.V, 0) {
			c.addRun(run)
			run = nil
			continue
		}
		if len(run) > 0 && pt.T.Sub(last) > maxGap {
			c.addRun(run)
			run = nil
		}
		run = append(run, xy{x: unixSeconds(pt.T), y: pt.V})
		last = pt.T
	}
	c.addRun(run)
	return c
}

func (c *curve) addRun(run []xy) {
	if len(run) > 0 {
		c.runs = append(c.runs, run)
	}
}

func (cv curve) draw(c draw.Canvas, x, y func(float64) vg.Length) {
	var path []vg.Point
	for _, run := range cv.runs {
		if len(run) == 1 {
			c.DrawGlyph(cv.dot, vg.Point{X: x(run[0].x), Y: y(run[0].y)})
			continue
		}
		path = path[:0]
		for _, pt := range run {
			path = append(path, vg.Point{X: x(pt.x), Y: y(pt.y)})
		}
		// Points outside the window are kept so that the line enters the
		// picture at the right height; clipping cuts it at the edges.
		c.StrokeLines(cv.style, c.ClipLinesXY(path)...)
	}
}

// notice writes a message in the middle of the data area.
type notice struct {
	message string
	style   text.Style
}

func (n notice) draw(c draw.Canvas, _, _ func(float64) vg.Length) {
	c.FillText(n.style, c.Center(), n.message)
}

// grid draws light lines at the ticks, under the data, so that values can
// be read across the picture and times across the panels.
type grid struct {
	times, values []tick
	style         draw.LineStyle
}

func (g grid) draw(c draw.Canvas, x, y func(float64) vg.Length) {
	var lines [][]vg.Point
	for _, t := range g.times {
		if at := x(t.Value); c.ContainsX(at) {
			lines = append(lines, []vg.Point{{X: at, Y: c.Min.Y}, {X: at, Y: c.Max.Y}})
		}
	}
	for _, t := range g.values {
		if at := y(t.Value); c.ContainsY(at) {
			lines = append(lines, []vg.Point{{X: c.Min.X, Y: at}, {X: c.Max.X, Y: at}})
		}
	}
	c.StrokeLines(g.style, lines...)
}
