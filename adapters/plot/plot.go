// Package plot draws charts (package chart) as PNG images meant to be read
// on a phone: large text, one colour per series, the time axis in UTC. It
// draws with gonum.org/v1/plot's canvas (vg, vg/draw, vgimg).
package plot

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"strings"

	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"mfbot/chart"
)

// Renderer draws charts as PNG images sized for a phone screen.
//
// Width and Height are in pixels. Zero Width is 1200; zero Height is 400
// per panel plus 100 for the title, scaled with the width (1200 wide: 900
// for two panels), at most 4000 (panels shrink beyond 9 or so).
// Set values must be between 200 and 8000. Text and lines scale with the
// width, so that a narrower image shows the same picture.
type Renderer struct{ Width, Height int }

const (
	defaultWidth       = 1200
	defaultPanelHeight = 400
	maxDefaultHeight   = 4000
	minSide            = 200
	maxSide            = 8000
	// The canvas works in points; at 72 dots per inch a point is a pixel.
	pixelsPerInch = 72
	noDataMessage = "no data in this window"
	timeAxisLabel = "time (UTC)"
)

// PNG draws c and encodes it as PNG. The same chart always gives the same
// bytes. Non-finite values are not drawn: NaN or ±Inf points are gaps in
// their series, a non-finite line is left out (an unlimited limit).
func (r Renderer) PNG(c chart.Chart) ([]byte, error) {
	drawn, err := r.render(c)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	// Best speed: the default compression takes two thirds of the time for
	// files only 4 % smaller.
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, drawn.image); err != nil {
		return nil, fmt.Errorf("encoding chart %q as PNG: %w", c.Title, err)
	}
	return buf.Bytes(), nil
}

// rendering is the drawn picture and, for tests, where each panel's data
// area landed, in image pixels.
type rendering struct {
	image     image.Image
	dataAreas []image.Rectangle
}

func (r Renderer) size(panels int) (width, height int, err error) {
	width, height = r.Width, r.Height
	if width == 0 {
		width = defaultWidth
	}
	if height == 0 { // the same proportions at any width
		height = max(minSide, min(maxDefaultHeight, (defaultPanelHeight*panels+defaultPanelHeight/4)*width/defaultWidth))
	}
	if width < minSide || width > maxSide || height < minSide || height > maxSide {
		return 0, 0, fmt.Errorf("image size %d×%d pixels: each side must be between %d and %d", width, height, minSide, maxSide)
	}
	return width, height, nil
}

func validate(c chart.Chart) error {
	if len(c.Panels) == 0 {
		return errors.New("the chart has no panels")
	}
	if !c.From.Before(c.To) {
		return fmt.Errorf("the window %s .. %s is empty: From must be before To", c.From.UTC().Format(timeFormatForErrors), c.To.UTC().Format(timeFormatForErrors))
	}
	return nil
}

const timeFormatForErrors = "2006-01-02 15:04:05Z07:00"

// builtPanel is one panel ready to draw: its frame, layers and legend.
type builtPanel struct {
	title  string
	frame  frame
	layers []layer // over the grid, in this order
	legend []legendEntry
}

func (r Renderer) render(c chart.Chart) (rendering, error) {
	if err := validate(c); err != nil {
		return rendering{}, fmt.Errorf("drawing chart %q: %w", c.Title, err)
	}
	width, height, err := r.size(len(c.Panels))
	if err != nil {
		return rendering{}, fmt.Errorf("drawing chart %q: %w", c.Title, err)
	}
	w, h := vg.Length(width), vg.Length(height)
	sz := scaleFor(width, height, len(c.Panels), c.Title != "")
	if sz.fonts, err = newTextHandler(); err != nil {
		return rendering{}, fmt.Errorf("drawing chart %q: %w", c.Title, err)
	}

	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(pixelsPerInch), vgimg.UseBackgroundColor(background()))
	whole := draw.New(img)
	m := sz.px(margin)

	top := h - m
	if c.Title != "" {
		title := fitWidth(sz.textStyle(chartTitleSize, true, draw.XCenter, draw.YTop), c.Title, w-2*m)
		whole.FillText(title, vg.Point{X: w / 2, Y: top}, c.Title)
		top -= title.Height(c.Title) + m
	}

	panels := make([]*builtPanel, len(c.Panels))
	for i, p := range c.Panels {
		panels[i] = buildPanel(c, p, i == len(c.Panels)-1, sz)
	}
	fitValueLabels(panels, estimateDataHeight(panels, top-m, sz))

	// Every data area has the same left and right edges, so that a time is
	// at the same place in every panel.
	var axisWidth vg.Length
	for _, p := range panels {
		axisWidth = max(axisWidth, p.frame.leftWidth())
	}
	dataLeft := m + axisWidth
	dataRight := addTimeAxis(panels, c, dataLeft, w-m, sz)

	legendLabel := sz.textStyle(legendSize, false, draw.XLeft, draw.YCenter)
	placesByPanel := make([][]legendPlace, len(panels))
	bands := make([]vg.Length, len(panels))
	fixed := vg.Length(0) // all but the data areas
	for i, p := range panels {
		places, rows := layoutLegend(p.legend, dataRight-dataLeft, sz, legendLabel)
		placesByPanel[i] = places
		bands[i] = bandHeight(p, rows, sz)
		fixed += bands[i] + p.frame.topOverhang() + p.frame.bottomHeight()
	}
	panelTitle := sz.textStyle(panelTitleSize, true, draw.XCenter, draw.YTop)

	dataHeight := (top - m - fixed) / vg.Length(len(panels))
	if minimum := sz.px(40); !(dataHeight >= minimum) { // NaN when nothing fits
		return rendering{}, fmt.Errorf("drawing chart %q: %d panels do not fit in %d×%d pixels", c.Title, len(panels), width, height)
	}

	drawn := rendering{dataAreas: make([]image.Rectangle, len(panels))}
	for i, p := range panels {
		y := top - m
		if p.title != "" {
			whole.FillText(fitWidth(panelTitle, p.title, w-2*m), vg.Point{X: (dataLeft + dataRight) / 2, Y: y}, p.title)
			y -= panelTitle.Height("Mg") + m/2
		}
		drawLegend(whole, placesByPanel[i], vg.Point{X: dataLeft, Y: y}, sz, legendLabel)
		top -= bands[i] + p.frame.topOverhang()
		data := draw.Canvas{Canvas: img, Rectangle: vg.Rectangle{
			Min: vg.Point{X: dataLeft, Y: top - dataHeight},
			Max: vg.Point{X: dataRight, Y: top},
		}}
		toX, toY := p.frame.transforms(data)
		for _, l := range p.layers {
			l.draw(data, toX, toY)
		}
		p.frame.draw(whole, data.Rectangle)
		drawn.dataAreas[i] = pixelRect(data.Rectangle, height)
		top -= dataHeight + p.frame.bottomHeight()
	}
	drawn.image = img.Image()
	return drawn, nil
}

// addTimeAxis gives every panel the same time ticks, labelled under the
// bottom panel only, and the grid under the data; it returns the right
// edge of the data areas, left of maxRight by as much as the last time
// label, centred on its tick, needs. The ticks depend on the width and the
// width on the ticks: a few rounds settle both.
func addTimeAxis(panels []*builtPanel, c chart.Chart, dataLeft, maxRight vg.Length, sz sizes) (dataRight vg.Length) {
	label := sz.textStyle(tickLabelSize, false, draw.XCenter, draw.YTop)
	bottom := &panels[len(panels)-1].frame
	dataRight = maxRight
	var ticks []tick
	for range 3 {
		ticks = timeTicks(c.From, c.To, dataRight-dataLeft, label)
		bottom.x.ticks = ticks
		dataRight = dataLeft + bottom.dataWidth(maxRight-dataLeft)
	}
	lines := grid{times: ticks, style: draw.LineStyle{Color: gridColor(), Width: sz.px(gridWidth)}}
	for i, p := range panels {
		if i != len(panels)-1 {
			p.frame.x.ticks = unlabelled(ticks)
		}
		g := lines
		g.values = p.frame.y.ticks
		p.layers = append([]layer{g}, p.layers...)
	}
	return dataRight
}

// estimateDataHeight guesses the height of a data area before the layout
// is known, assuming a legend as wide as three quarters of the image.
func estimateDataHeight(panels []*builtPanel, height vg.Length, sz sizes) vg.Length {
	legendLabel := sz.textStyle(legendSize, false, draw.XLeft, draw.YCenter)
	var bands vg.Length
	for _, p := range panels {
		_, rows := layoutLegend(p.legend, vg.Length(referenceWidth*sz.scale*0.75), sz, legendLabel)
		bands += bandHeight(p, rows, sz)
	}
	timeAxis := sz.textStyle(tickLabelSize, false, 0, 0).Height("0") + sz.textStyle(axisLabelSize, false, 0, 0).Height("0") + sz.px(tickLength+20)
	return (height - timeAxis - bands) / vg.Length(len(panels))
}

// bandHeight is the room above a panel's plot for its title and legend.
func bandHeight(p *builtPanel, legendRows int, sz sizes) vg.Length {
	band := sz.px(margin) // between panels
	if p.title != "" {
		band += sz.textStyle(panelTitleSize, true, 0, 0).Height("Mg") + sz.px(margin)/2
	}
	if legendRows > 0 {
		legendLabel := sz.textStyle(legendSize, false, draw.XLeft, draw.YCenter)
		band += vg.Length(legendRows)*legendRowHeight(sz, legendLabel) + sz.px(margin)/2
	}
	return band
}

// fitValueLabels wraps value-axis titles longer than the data area is
// high, on two lines, then cuts them.
func fitValueLabels(panels []*builtPanel, dataHeight vg.Length) {
	for _, p := range panels {
		p.frame.y.label = fitLines(p.frame.y.title, p.frame.y.label, 0.9*dataHeight)
	}
}

// fitLines returns s on one line if it fits width, else on two lines
// split at the space nearest the middle, each cut with "…" if needed.
func fitLines(style text.Style, s string, width vg.Length) string {
	if width <= 0 || style.Width(s) <= width {
		return s
	}
	lines := []string{s}
	if split := splitNearMiddle(s); split > 0 {
		lines = []string{s[:split], s[split+1:]}
	}
	for i, line := range lines {
		lines[i] = cut(style, line, width)
	}
	return strings.Join(lines, "\n")
}

func splitNearMiddle(s string) int {
	best := -1
	for i, r := range s {
		if r == ' ' && (best < 0 || abs(i-len(s)/2) < abs(best-len(s)/2)) {
			best = i
		}
	}
	return best
}

func cut(style text.Style, s string, width vg.Length) string {
	if style.Width(s) <= width {
		return s
	}
	runes := []rune(s)
	for n := len(runes) - 1; n > 0; n-- {
		if shortened := string(runes[:n]) + "…"; style.Width(shortened) <= width {
			return shortened
		}
	}
	return "…"
}

func abs(v int) int { return max(v, -v) }

// pixelRect turns a rectangle of the canvas (origin bottom left) into
// image pixels (origin top left).
func pixelRect(r vg.Rectangle, height int) image.Rectangle {
	return image.Rect(
		int(math.Ceil(float64(r.Min.X))), height-int(math.Floor(float64(r.Max.Y))),
		int(math.Floor(float64(r.Max.X))), height-int(math.Ceil(float64(r.Min.Y))),
	)
}

// scaleFor keeps the text the same fraction of the image width, and
// shrinks it when many panels leave each one little height.
func scaleFor(width, height, panels int, titled bool) sizes {
	scale := float64(width) / referenceWidth
	free := float64(height)
	if titled {
		free -= 1.5 * chartTitleSize * scale
	}
	perPanel := free / float64(panels)
	if comfortable := 300 * scale; perPanel < comfortable {
		scale *= math.Max(0.5, perPanel/comfortable)
	}
	return sizes{scale: scale}
}

// fitWidth shrinks a title that would not fit, rather than cut it.
func fitWidth(style text.Style, s string, width vg.Length) text.Style {
	if got := style.Width(s); got > width && width > 0 {
		style.Font.Size = style.Font.Size * width / got
	}
	return style
}
