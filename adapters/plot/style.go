package plot

import (
	"fmt"
	"image/color"

	"codeberg.org/go-fonts/liberation/liberationsansbold"
	"codeberg.org/go-fonts/liberation/liberationsansregular"
	xfont "golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Sizes are in pixels for a 1200 px wide image; the renderer scales them
// with the image so that the text keeps its size relative to the picture
// (a phone shows the whole image ~400 px wide: 30 px here is 10 px there).
const (
	referenceWidth = 1200

	chartTitleSize = 44
	panelTitleSize = 36
	axisLabelSize  = 32
	tickLabelSize  = 30
	legendSize     = 30
	noDataSize     = 34

	seriesWidth    = 4
	dotRadius      = 6
	refLineWidth   = 3
	refLineDash    = 16
	refLineGap     = 10
	axisWidth      = 2
	gridWidth      = 1.5
	tickLength     = 10
	margin         = 16
	legendThumbW   = 48
	legendThumbGap = 10
	legendEntryGap = 32
)

// sizes holds every length of one rendering, already scaled, and its
// fonts.
type sizes struct {
	scale float64
	fonts text.Handler
}

func (s sizes) px(v float64) vg.Length { return vg.Length(v * s.scale) }

// seriesColors is the Okabe–Ito palette, safe for the common colour-vision
// deficiencies, without its yellow (unreadable on white). Series take
// colours first, then the panel's lines, so each has its own colour.
func seriesColors() []color.Color {
	return []color.Color{
		color.NRGBA{R: 0x00, G: 0x72, B: 0xB2, A: 0xFF}, // blue
		color.NRGBA{R: 0xE6, G: 0x9F, B: 0x00, A: 0xFF}, // orange
		color.NRGBA{R: 0x00, G: 0x9E, B: 0x73, A: 0xFF}, // bluish green
		color.NRGBA{R: 0xD5, G: 0x5E, B: 0x00, A: 0xFF}, // vermillion
		color.NRGBA{R: 0xCC, G: 0x79, B: 0xA7, A: 0xFF}, // reddish purple
		color.NRGBA{R: 0x56, G: 0xB4, B: 0xE9, A: 0xFF}, // sky blue
		color.NRGBA{R: 0x00, G: 0x00, B: 0x00, A: 0xFF}, // black
	}
}

// spanColors are translucent so that series stay visible through them;
// spans with the same label share one colour and one legend entry.
func spanColors() []color.Color {
	return []color.Color{
		color.NRGBA{R: 0xE0, G: 0x30, B: 0x30, A: 0x40}, // light red
		color.NRGBA{R: 0x60, G: 0x60, B: 0x60, A: 0x38}, // grey
		color.NRGBA{R: 0x80, G: 0x40, B: 0xC0, A: 0x38}, // light purple
	}
}

func colorAt(palette []color.Color, i int) color.Color { return palette[i%len(palette)] }

func gridColor() color.Color  { return color.NRGBA{R: 0xDD, G: 0xDD, B: 0xDD, A: 0xFF} }
func mutedColor() color.Color { return color.NRGBA{R: 0x66, G: 0x66, B: 0x66, A: 0xFF} }
func textColor() color.Color  { return color.Black }
func background() color.Color { return color.White }
func sansFont() font.Font     { return font.Font{Typeface: "Liberation", Variant: "Sans"} }

// newTextHandler parses the two faces the charts use, Liberation Sans
// regular and bold, for one rendering (cheap: the render time did not
// change when this replaced a shared cache). Parsing them when a chart is
// drawn, not when mfbot starts, keeps them out of its memory until a chart
// is asked for.
func newTextHandler() (text.Handler, error) {
	var faces font.Collection
	for _, face := range []struct {
		weight xfont.Weight
		ttf    []byte
	}{{xfont.WeightNormal, liberationsansregular.TTF}, {xfont.WeightBold, liberationsansbold.TTF}} {
		parsed, err := opentype.Parse(face.ttf)
		if err != nil {
			return nil, fmt.Errorf("parsing the embedded Liberation Sans font: %w", err)
		}
		f := sansFont()
		f.Weight = face.weight
		faces = append(faces, font.Face{Font: f, Face: parsed})
	}
	return text.Plain{Fonts: font.NewCache(faces)}, nil
}

func (s sizes) textStyle(size float64, bold bool, xAlign text.XAlignment, yAlign text.YAlignment) text.Style {
	f := sansFont()
	if bold {
		f.Weight = xfont.WeightBold
	}
	return text.Style{
		Color:   textColor(),
		Font:    font.From(f, s.px(size)),
		XAlign:  xAlign,
		YAlign:  yAlign,
		Handler: s.fonts,
	}
}

func (s sizes) seriesLine(c color.Color) draw.LineStyle {
	return draw.LineStyle{Color: c, Width: s.px(seriesWidth)}
}

func (s sizes) refLine(c color.Color) draw.LineStyle {
	return draw.LineStyle{
		Color:  c,
		Width:  s.px(refLineWidth),
		Dashes: []vg.Length{s.px(refLineDash), s.px(refLineGap)},
	}
}
