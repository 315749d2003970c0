package plot

import (
	"image/color"

	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The legend is drawn by hand above each panel, as wrapped rows: gonum's
// legend is a column drawn over the data, which hides curves on a picture
// this small.

type legendKind int

const (
	legendSeries legendKind = iota
	legendLine
	legendSpan
)

type legendEntry struct {
	label string
	kind  legendKind
	color color.Color
}

// legendPlace is where an entry goes: its row and its offset in the row.
type legendPlace struct {
	entry legendEntry
	row   int
	x     vg.Length
}

// layoutLegend places the entries left to right, wrapping at width.
func layoutLegend(entries []legendEntry, width vg.Length, sz sizes, label text.Style) (places []legendPlace, rows int) {
	var x vg.Length
	row := 0
	for _, e := range entries {
		w := sz.px(legendThumbW) + sz.px(legendThumbGap) + label.Width(e.label)
		if x > 0 && x+w > width {
			row++
			x = 0
		}
		places = append(places, legendPlace{entry: e, row: row, x: x})
		x += w + sz.px(legendEntryGap)
	}
	if len(entries) == 0 {
		return nil, 0
	}
	return places, row + 1
}

func legendRowHeight(sz sizes, label text.Style) vg.Length {
	return label.Height("Mg") + sz.px(8)
}

// drawLegend draws the rows with their top-left corner at origin.
func drawLegend(c draw.Canvas, places []legendPlace, origin vg.Point, sz sizes, label text.Style) {
	rowHeight := legendRowHeight(sz, label)
	for _, p := range places {
		top := origin.Y - vg.Length(p.row)*rowHeight
		middle := top - rowHeight/2
		left := origin.X + p.x
		thumbRight := left + sz.px(legendThumbW)
		switch p.entry.kind {
		case legendSeries:
			c.StrokeLine2(sz.seriesLine(p.entry.color), left, middle, thumbRight, middle)
		case legendLine:
			c.StrokeLine2(sz.refLine(p.entry.color), left, middle, thumbRight, middle)
		case legendSpan:
			half := rowHeight * 0.35
			c.FillPolygon(p.entry.color, []vg.Point{
				{X: left, Y: middle - half}, {X: thumbRight, Y: middle - half},
				{X: thumbRight, Y: middle + half}, {X: left, Y: middle + half},
			})
		}
		c.FillText(label, vg.Point{X: thumbRight + sz.px(legendThumbGap), Y: middle}, p.entry.label)
	}
}
