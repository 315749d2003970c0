package plot

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot/vg/draw"

	"mfbot/chart"
)

// hour is a one-hour window on one UTC day.
func hour() (from, to time.Time) {
	from = time.Date(2026, time.December, 4, 15, 0, 0, 0, time.UTC)
	return from, from.Add(time.Hour)
}

func onePanel(p chart.Panel) chart.Chart {
	from, to := hour()
	return chart.Chart{Title: "test", From: from, To: to, Panels: []chart.Panel{p}}
}

func flatSeries(name string, from time.Time, n int, v float64) chart.Series {
	return chart.Series{Name: name, Step: time.Minute, Points: regular(from, time.Minute, n, func(int) float64 { return v })}
}

// decode checks that data is a PNG and returns it.
func decode(t *testing.T, data []byte) image.Image {
	t.Helper()
	_, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("reading the image header: %v", err)
	}
	if format != "png" {
		t.Fatalf("format = %q, want png", format)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decoding the PNG: %v", err)
	}
	return img
}

func mustPNG(t *testing.T, r Renderer, c chart.Chart) image.Image {
	t.Helper()
	data, err := r.PNG(c)
	if err != nil {
		t.Fatalf("PNG: %v", err)
	}
	return decode(t, data)
}

// unitSizes are the sizes of a 1200 px wide rendering.
func unitSizes(t *testing.T) sizes {
	t.Helper()
	fonts, err := newTextHandler()
	if err != nil {
		t.Fatal(err)
	}
	return sizes{scale: 1, fonts: fonts}
}

func panels(n int) []chart.Panel {
	from, _ := hour()
	out := make([]chart.Panel, n)
	for i := range out {
		out[i] = chart.Panel{Title: "panel", YLabel: "value", Series: []chart.Series{flatSeries("s", from, 60, float64(i))}}
	}
	return out
}

func TestPNGDefaultSizeGrowsWithPanels(t *testing.T) {
	from, to := hour()
	for _, tc := range []struct {
		panels, width, height int
	}{
		{panels: 1, width: 1200, height: 500},
		{panels: 2, width: 1200, height: 900},
		{panels: 3, width: 1200, height: 1300},
		{panels: 12, width: 1200, height: 4000}, // bounded: panels shrink instead
	} {
		img := mustPNG(t, Renderer{}, chart.Chart{Title: "size", From: from, To: to, Panels: panels(tc.panels)})
		if got := img.Bounds().Size(); got != (image.Point{X: tc.width, Y: tc.height}) {
			t.Errorf("%d panels: size = %v, want %dx%d", tc.panels, got, tc.width, tc.height)
		}
	}
}

func TestPNGConfiguredSize(t *testing.T) {
	from, to := hour()
	for _, tc := range []struct {
		renderer Renderer
		want     image.Point
	}{
		{renderer: Renderer{Width: 800, Height: 600}, want: image.Pt(800, 600)},
		{renderer: Renderer{Width: 400, Height: 300}, want: image.Pt(400, 300)},
		{renderer: Renderer{Width: 2400}, want: image.Pt(2400, 1800)}, // 900 at 1200 wide
		{renderer: Renderer{Width: 600}, want: image.Pt(600, 450)},
		{renderer: Renderer{Width: 200}, want: image.Pt(200, 200)}, // not below the minimum
		{renderer: Renderer{Height: 1500}, want: image.Pt(1200, 1500)},
	} {
		img := mustPNG(t, tc.renderer, chart.Chart{From: from, To: to, Panels: panels(2)})
		if got := img.Bounds().Size(); got != tc.want {
			t.Errorf("%+v: size = %v, want %v", tc.renderer, got, tc.want)
		}
	}
}

func TestPNGRefusesWhatItCannotDraw(t *testing.T) {
	from, to := hour()
	valid := chart.Chart{From: from, To: to, Panels: panels(1)}
	for _, tc := range []struct {
		name     string
		renderer Renderer
		chart    chart.Chart
		want     string
	}{
		{name: "no panels", chart: chart.Chart{From: from, To: to}, want: "no panels"},
		{name: "empty window", chart: chart.Chart{From: from, To: from, Panels: panels(1)}, want: "From must be before To"},
		{name: "reversed window", chart: chart.Chart{From: to, To: from, Panels: panels(1)}, want: "From must be before To"},
		{name: "zero window", chart: chart.Chart{Panels: panels(1)}, want: "From must be before To"},
		{name: "too narrow", renderer: Renderer{Width: 50}, chart: valid, want: "between 200 and 8000"},
		{name: "too tall", renderer: Renderer{Height: 9000}, chart: valid, want: "between 200 and 8000"},
		{name: "negative", renderer: Renderer{Width: -1}, chart: valid, want: "between 200 and 8000"},
		{name: "panels do not fit", renderer: Renderer{Height: 200}, chart: chart.Chart{From: from, To: to, Panels: panels(10)}, want: "do not fit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := tc.renderer.PNG(tc.chart)
			if err == nil {
				t.Fatalf("PNG gave %d bytes, want an error", len(data))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %q, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestPNGDrawsUnusualCharts(t *testing.T) {
	from, to := hour()
	nan, inf := math.NaN(), math.Inf(1)
	for _, tc := range []struct {
		name  string
		chart chart.Chart
	}{
		{name: "empty panel", chart: onePanel(chart.Panel{})},
		{name: "series without points", chart: onePanel(chart.Panel{Series: []chart.Series{{Name: "none"}}})},
		{name: "one point", chart: onePanel(chart.Panel{Series: []chart.Series{{Name: "one", Points: []chart.Point{{T: from.Add(30 * time.Minute), V: 3}}}}})},
		{name: "all zero", chart: onePanel(chart.Panel{Series: []chart.Series{flatSeries("zero", from, 60, 0)}})},
		{name: "negative values", chart: onePanel(chart.Panel{Series: []chart.Series{flatSeries("below", from, 60, -5)}})},
		{name: "huge values", chart: onePanel(chart.Panel{Series: []chart.Series{flatSeries("big", from, 60, 3e12)}})},
		{name: "tiny values", chart: onePanel(chart.Panel{Series: []chart.Series{flatSeries("small", from, 60, 3e-7)}})},
		{name: "gaps", chart: onePanel(chart.Panel{Series: []chart.Series{{Name: "gappy", Step: time.Minute, Points: []chart.Point{
			{T: from, V: 1}, {T: from.Add(time.Minute), V: 2}, {T: from.Add(20 * time.Minute), V: 3}, {T: from.Add(40 * time.Minute), V: 1}, {T: from.Add(41 * time.Minute), V: 2},
		}}}})},
		{name: "points outside the window", chart: onePanel(chart.Panel{Series: []chart.Series{flatSeries("wide", from.Add(-time.Hour), 180, 7)}})},
		{name: "spans outside the window", chart: onePanel(chart.Panel{
			Series: []chart.Series{flatSeries("s", from, 60, 1)},
			Spans: []chart.Span{
				{Label: "before", From: from.Add(-2 * time.Hour), To: from.Add(-time.Hour)},
				{Label: "across the start", From: from.Add(-time.Hour), To: from.Add(10 * time.Minute)},
				{Label: "across the end", From: to.Add(-10 * time.Minute), To: to.Add(time.Hour)},
				{Label: "after", From: to.Add(time.Hour), To: to.Add(2 * time.Hour)},
				{Label: "reversed", From: from.Add(30 * time.Minute), To: from.Add(20 * time.Minute)},
			},
		})},
		{name: "NaN and Inf", chart: onePanel(chart.Panel{
			Series: []chart.Series{{Name: "holes", Step: time.Minute, Points: regular(from, time.Minute, 60, func(i int) float64 {
				switch i % 10 {
				case 3:
					return nan
				case 6:
					return inf
				case 7:
					return -inf
				}
				return float64(i)
			})}},
			Lines: []chart.Line{{Label: "no limit", Value: inf}, {Label: "undefined", Value: nan}, {Label: "limit", Value: 80}},
		})},
		{name: "only NaN", chart: onePanel(chart.Panel{Series: []chart.Series{{Name: "nan", Points: regular(from, time.Minute, 60, func(int) float64 { return nan })}}})},
		{name: "lines only", chart: onePanel(chart.Panel{Lines: []chart.Line{{Label: "limit", Value: 512}}})},
		{name: "many series and lines", chart: onePanel(chart.Panel{
			Series: func() []chart.Series {
				var s []chart.Series
				for i := range 10 {
					s = append(s, flatSeries(strings.Repeat("series ", 1+i%3), from, 60, float64(i)))
				}
				return s
			}(),
			Lines: []chart.Line{{Label: "a", Value: 3}, {Label: "b", Value: 4}, {Label: "c", Value: 5}},
		})},
		{name: "no titles or labels", chart: chart.Chart{From: from, To: to, Panels: []chart.Panel{{Series: []chart.Series{flatSeries("", from, 60, 1)}}}}},
		{name: "long title", chart: chart.Chart{Title: strings.Repeat("a very long title ", 10), From: from, To: to, Panels: panels(1)}},
		{name: "many panels", chart: chart.Chart{Title: "many", From: from, To: to, Panels: panels(20)}},
		{name: "one second", chart: onePanel(chart.Panel{Series: []chart.Series{flatSeries("s", from, 1, 1)}})},
		{name: "a year", chart: func() chart.Chart {
			c := onePanel(chart.Panel{Series: []chart.Series{flatSeries("s", from, 1, 1)}})
			c.To = c.From.AddDate(1, 0, 0)
			return c
		}()},
		{name: "tiny window", chart: func() chart.Chart {
			c := onePanel(chart.Panel{Series: []chart.Series{flatSeries("s", from, 1, 1)}})
			c.To = c.From.Add(time.Millisecond)
			return c
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := mustPNG(t, Renderer{}, tc.chart)
			if img.Bounds().Dx() != defaultWidth {
				t.Errorf("width = %d, want %d", img.Bounds().Dx(), defaultWidth)
			}
		})
	}
}

func TestPNGIsDeterministic(t *testing.T) {
	first, err := Renderer{}.PNG(positions24h())
	if err != nil {
		t.Fatal(err)
	}
	second, err := Renderer{}.PNG(positions24h())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Error("the same chart gave two different images")
	}
}

// xAt is the pixel column of time t in a data area.
func xAt(area image.Rectangle, from, to, t time.Time) int {
	return area.Min.X + int(math.Round(float64(area.Dx())*float64(t.Sub(from))/float64(to.Sub(from))))
}

func reddish(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return r > g+20*256 && r > b+20*256
}

func neutral(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	spread := max(r, g, b) - min(r, g, b)
	return spread < 8*256
}

func TestSpanShadesItsPeriodOnly(t *testing.T) {
	from, to := hour()
	c := onePanel(chart.Panel{
		Series: []chart.Series{flatSeries("low", from, 60, 1)},
		Lines:  []chart.Line{{Label: "top", Value: 10}},
		Spans: []chart.Span{
			{Label: "stale", From: from.Add(20 * time.Minute), To: from.Add(40 * time.Minute)},
			{Label: "before the window", From: from.Add(-time.Hour), To: from.Add(-time.Minute)},
		},
	})
	drawn, err := Renderer{}.render(c)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, drawn.image); err != nil {
		t.Fatal(err)
	}
	img := decode(t, buf.Bytes())
	area := drawn.dataAreas[0]
	// A row well above the series (value 1) and below the line (value 10).
	y := area.Min.Y + area.Dy()/3
	for _, minute := range []float64{21, 25, 33, 39} {
		at := from.Add(time.Duration(minute * float64(time.Minute)))
		if px := img.At(xAt(area, from, to, at), y); !reddish(px) {
			t.Errorf("at %s inside the span: pixel %v is not shaded", at.Format("15:04:05"), px)
		}
	}
	for _, minute := range []float64{2, 5, 15, 19, 41, 45, 55, 58} {
		at := from.Add(time.Duration(minute * float64(time.Minute)))
		if px := img.At(xAt(area, from, to, at), y); !neutral(px) {
			t.Errorf("at %s outside the span: pixel %v is coloured", at.Format("15:04:05"), px)
		}
	}
}

func TestGapsAreNotJoined(t *testing.T) {
	from, to := hour()
	minute := func(m int) time.Time { return from.Add(time.Duration(m) * time.Minute) }
	// Lone points at 0 and 10 (dots), a joined pair at 30 and 31.
	c := onePanel(chart.Panel{Series: []chart.Series{{Name: "gappy", Step: time.Minute, Points: []chart.Point{
		{T: minute(0), V: 5}, {T: minute(10), V: 5}, {T: minute(30), V: 5}, {T: minute(31), V: 5},
	}}}})
	drawn, err := Renderer{}.render(c)
	if err != nil {
		t.Fatal(err)
	}
	area := drawn.dataAreas[0]
	blueIn := func(x int) bool {
		for y := area.Min.Y; y < area.Max.Y; y++ {
			r, g, b, _ := drawn.image.At(x, y).RGBA()
			if b > r+60*256 && b > g+30*256 {
				return true
			}
		}
		return false
	}
	at := func(m int) int { return xAt(area, from, to, minute(m)) }
	if blueIn(at(5)) || blueIn(at(20)) || blueIn(at(45)) {
		t.Error("points more than 1.5 steps apart are joined")
	}
	if !blueIn(at(30)+3) || !blueIn(at(10)) {
		t.Error("the series is not drawn where it has points")
	}

	c.Panels[0].Series[0].Step = 0
	drawn, err = Renderer{}.render(c)
	if err != nil {
		t.Fatal(err)
	}
	area = drawn.dataAreas[0]
	if !blueIn(at(5)) || !blueIn(at(20)) {
		t.Error("with Step 0 every point should be joined")
	}
}

func TestNewCurveCutsAtGapsAndNonFiniteValues(t *testing.T) {
	from, _ := hour()
	minute := func(m int) time.Time { return from.Add(time.Duration(m) * time.Minute) }
	points := []chart.Point{
		{T: minute(0), V: 1}, {T: minute(1), V: 2}, {T: minute(2), V: 3}, // joined
		{T: minute(4), V: 4},          // 2 steps later: cut
		{T: minute(5), V: math.NaN()}, // missing: cut
		{T: minute(6), V: 6}, {T: minute(7), V: 7},
		{T: minute(8), V: math.Inf(1)},
		{T: minute(9), V: 9},
	}
	runLengths := func(c curve) []int {
		var n []int
		for _, r := range c.runs {
			n = append(n, len(r))
		}
		return n
	}
	got := runLengths(newCurve(chart.Series{Step: time.Minute, Points: points}, seriesStyleForTest(), dotForTest()))
	if want := []int{3, 1, 2, 1}; !slices.Equal(got, want) {
		t.Errorf("runs with Step 1 min = %v, want %v", got, want)
	}
	got = runLengths(newCurve(chart.Series{Points: points}, seriesStyleForTest(), dotForTest()))
	if want := []int{4, 2, 1}; !slices.Equal(got, want) {
		t.Errorf("runs with Step 0 = %v, want %v", got, want)
	}
	// 1.5 steps exactly is still joined.
	got = runLengths(newCurve(chart.Series{Step: 2 * time.Minute, Points: []chart.Point{{T: minute(0), V: 1}, {T: minute(3), V: 1}}}, seriesStyleForTest(), dotForTest()))
	if want := []int{2}; !slices.Equal(got, want) {
		t.Errorf("runs 1.5 steps apart = %v, want %v", got, want)
	}
}

func TestEmptyPanelSaysSo(t *testing.T) {
	from, to := hour()
	for _, p := range []chart.Panel{
		{},
		{Series: []chart.Series{{Name: "empty"}}},
		{Series: []chart.Series{flatSeries("before", from.Add(-2*time.Hour), 60, 1)}},
		{Series: []chart.Series{{Name: "nan", Points: []chart.Point{{T: from.Add(time.Minute), V: math.NaN()}}}}, Lines: []chart.Line{{Label: "limit", Value: 3}}},
	} {
		built := buildPanel(chart.Chart{From: from, To: to}, p, true, unitSizes(t))
		if !hasNotice(built.layers) {
			t.Errorf("panel %+v: no %q notice", p, noDataMessage)
		}
	}
	withData := buildPanel(chart.Chart{From: from, To: to}, chart.Panel{Series: []chart.Series{flatSeries("s", from, 1, 0)}}, true, unitSizes(t))
	if hasNotice(withData.layers) {
		t.Errorf("a panel with a point says %q", noDataMessage)
	}

	// And the message is drawn: the middle of the data area is not blank.
	drawn, err := Renderer{}.render(onePanel(chart.Panel{}))
	if err != nil {
		t.Fatal(err)
	}
	area := drawn.dataAreas[0]
	centre := image.Pt((area.Min.X+area.Max.X)/2, (area.Min.Y+area.Max.Y)/2)
	dark := 0
	for x := area.Min.X; x < area.Max.X; x++ {
		if r, _, _, _ := drawn.image.At(x, centre.Y).RGBA(); r < 0xA000 {
			dark++
		}
	}
	if dark == 0 {
		t.Errorf("no text across the middle of an empty panel")
	}
}

func hasNotice(layers []layer) bool {
	for _, l := range layers {
		if n, ok := l.(notice); ok && n.message == noDataMessage {
			return true
		}
	}
	return false
}

func TestLegendNamesSeriesLinesAndSpans(t *testing.T) {
	from, to := hour()
	p := chart.Panel{
		Series: []chart.Series{flatSeries("cpu", from, 60, 1), flatSeries("", from, 60, 2), flatSeries("memory", from, 60, 3)},
		Lines:  []chart.Line{{Label: "limit", Value: 5}, {Label: "unlimited", Value: math.Inf(1)}},
		Spans: []chart.Span{
			{Label: "stale", From: from.Add(time.Minute), To: from.Add(2 * time.Minute)},
			{Label: "stale", From: from.Add(5 * time.Minute), To: from.Add(6 * time.Minute)},
			{Label: "outside", From: to.Add(time.Minute), To: to.Add(2 * time.Minute)},
			{Label: "incident", From: from.Add(9 * time.Minute), To: from.Add(12 * time.Minute)},
		},
	}
	built := buildPanel(chart.Chart{From: from, To: to}, p, true, unitSizes(t))
	var labels []string
	colours := map[color.Color]string{}
	for _, e := range built.legend {
		labels = append(labels, e.label)
		if other, taken := colours[e.color]; taken {
			t.Errorf("%q and %q share a colour", e.label, other)
		}
		colours[e.color] = e.label
	}
	if got, want := strings.Join(labels, ","), "cpu,memory,limit,stale,incident"; got != want {
		t.Errorf("legend = %s, want %s", got, want)
	}
}

func TestEverySeriesAndLineHasItsOwnColour(t *testing.T) {
	palette := seriesColors()
	for series := 0; series <= len(palette); series++ {
		used := map[color.Color]bool{}
		for i := range min(series, len(palette)) {
			used[colorAt(palette, i)] = true
		}
		for j := range len(palette) - min(series, len(palette)) {
			c := lineColor(palette, series, j)
			if used[c] {
				t.Errorf("%d series: line %d reuses colour %v", series, j, c)
			}
			used[c] = true
		}
	}
}

func TestValueRangeStartsAtZeroWithHeadroom(t *testing.T) {
	from, to := hour()
	c := chart.Chart{From: from, To: to}
	for _, tc := range []struct {
		name          string
		panel         chart.Panel
		lo, hiAtLeast float64
		hiAtMost      float64
	}{
		{name: "positive", panel: chart.Panel{Series: []chart.Series{flatSeries("s", from.Add(time.Minute), 3, 50)}}, lo: 0, hiAtLeast: 51, hiAtMost: 60},
		{name: "line above", panel: chart.Panel{Series: []chart.Series{flatSeries("s", from, 3, 50)}, Lines: []chart.Line{{Value: 100}}}, lo: 0, hiAtLeast: 101, hiAtMost: 120},
		{name: "all zero", panel: chart.Panel{Series: []chart.Series{flatSeries("s", from, 3, 0)}}, lo: 0, hiAtLeast: 1, hiAtMost: 1},
		{name: "outside points ignored", panel: chart.Panel{Series: []chart.Series{flatSeries("s", from.Add(-time.Hour), 3, 1e6), flatSeries("s", from, 3, 10)}}, lo: 0, hiAtLeast: 10.5, hiAtMost: 12},
		{name: "non-finite ignored", panel: chart.Panel{Series: []chart.Series{{Points: []chart.Point{{T: from, V: math.Inf(1)}, {T: from, V: 4}}}}, Lines: []chart.Line{{Value: math.NaN()}}}, lo: 0, hiAtLeast: 4.2, hiAtMost: 5},
	} {
		lo, hi, _ := valueRange(c, tc.panel)
		if lo != tc.lo || hi < tc.hiAtLeast || hi > tc.hiAtMost {
			t.Errorf("%s: range %g..%g, want %g..[%g, %g]", tc.name, lo, hi, tc.lo, tc.hiAtLeast, tc.hiAtMost)
		}
	}
	lo, hi, _ := valueRange(c, chart.Panel{Series: []chart.Series{flatSeries("s", from, 3, -10), flatSeries("s", from, 3, 10)}})
	if lo >= -10 || hi <= 10 {
		t.Errorf("mixed signs: range %g..%g, want room below -10 and above 10", lo, hi)
	}
}

func TestTimeTicksAreRoundAndInUTC(t *testing.T) {
	label := unitSizes(t).textStyle(tickLabelSize, false, 0, 0)
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	for _, tc := range []struct {
		name     string
		from     time.Time
		window   time.Duration
		wantAll  []string // labels that must be there
		wantStep time.Duration
	}{
		{name: "one hour", from: time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC), window: time.Hour, wantAll: []string{"15:00", "15:30", "16:00"}, wantStep: 10 * time.Minute},
		{name: "a day across midnight", from: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC), window: 24 * time.Hour, wantAll: []string{"Dec 04 18:00", "Dec 05 00:00"}},
		{name: "local times are shown in UTC", from: time.Date(2026, 12, 4, 16, 0, 0, 0, paris), window: time.Hour, wantAll: []string{"15:00", "16:00"}},
		{name: "a week", from: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), window: 7 * 24 * time.Hour, wantAll: []string{"Dec 01", "Dec 03", "Dec 05"}},
		{name: "a day ending at midnight", from: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), window: 24 * time.Hour, wantAll: []string{"06:00", "12:00", "18:00"}},
	} {
		ticks := timeTicks(tc.from, tc.from.Add(tc.window), 950, label)
		var labels []string
		for _, tick := range ticks {
			labels = append(labels, tick.Label)
		}
		joined := "|" + strings.Join(labels, "|") + "|"
		for _, want := range tc.wantAll {
			if !strings.Contains(joined, "|"+want+"|") {
				t.Errorf("%s: labels %v, want %q among them", tc.name, labels, want)
			}
		}
		if len(ticks) < 3 || len(ticks) > 8 {
			t.Errorf("%s: %d ticks, want 3 to 8 on a phone", tc.name, len(ticks))
		}
		if tc.wantStep != 0 && len(ticks) > 1 {
			if step := time.Duration((ticks[1].Value - ticks[0].Value) * 1e9); step != tc.wantStep {
				t.Errorf("%s: step %v, want %v", tc.name, step, tc.wantStep)
			}
		}
	}
}

func TestValueTickLabels(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		want   string
	}{
		{lo: 0, hi: 3080, want: "0,1000,2000,3000"},
		{lo: 0, hi: 110, want: "0,50,100"},
		{lo: 0, hi: 88, want: "0,25,50,75"},
		{lo: 0, hi: 1, want: "0,0.25,0.50,0.75,1.00"},
		{lo: 0, hi: 5.5, want: "0,2,4"},
		{lo: 0, hi: 55000, want: "0,20k,40k"},
		{lo: 0, hi: 3.3e6, want: "0,1M,2M,3M"},
		{lo: -5.5, hi: 0, want: "-4,-2,0"},
	} {
		var labels []string
		for _, tick := range valueTicks(tc.lo, tc.hi) {
			labels = append(labels, tick.Label)
		}
		if got := strings.Join(labels, ","); got != tc.want {
			t.Errorf("ticks of %g..%g = %s, want %s", tc.lo, tc.hi, got, tc.want)
		}
	}
}

func TestPanelsShareTheTimeAxis(t *testing.T) {
	c := positions24h()
	c.Panels[1].YLabel = "a much longer label"
	c.Panels[1].Series[0].Points = regular(c.From, 5*time.Minute, 288, func(i int) float64 { return 1e5 * float64(i) })
	drawn, err := Renderer{}.render(c)
	if err != nil {
		t.Fatal(err)
	}
	first := drawn.dataAreas[0]
	for i, area := range drawn.dataAreas[1:] {
		if abs(area.Min.X-first.Min.X) > 1 || abs(area.Max.X-first.Max.X) > 1 {
			t.Errorf("panel %d spans x %d..%d, panel 0 spans %d..%d", i+1, area.Min.X, area.Max.X, first.Min.X, first.Max.X)
		}
		if abs(area.Dy()-first.Dy()) > 2 {
			t.Errorf("panel %d is %d px high, panel 0 is %d", i+1, area.Dy(), first.Dy())
		}
		if area.Min.Y < first.Max.Y {
			t.Errorf("panel %d (y from %d) overlaps panel 0 (to %d)", i+1, area.Min.Y, first.Max.Y)
		}
	}
	if first.Dx() < 800 || first.Dy() < 200 {
		t.Errorf("data area %v is small for a 1200 px image", first)
	}
}

func TestOnlyTheBottomPanelLabelsTime(t *testing.T) {
	from, to := hour()
	c := chart.Chart{From: from, To: to}
	top := buildPanel(c, chart.Panel{}, false, unitSizes(t))
	bottom := buildPanel(c, chart.Panel{}, true, unitSizes(t))
	if top.frame.x.label != "" || bottom.frame.x.label != timeAxisLabel {
		t.Errorf("time axis labels: top %q, bottom %q; want only the bottom to say %q", top.frame.x.label, bottom.frame.x.label, timeAxisLabel)
	}
}

func seriesStyleForTest() draw.LineStyle { return sizes{scale: 1}.seriesLine(color.Black) }

func dotForTest() draw.GlyphStyle {
	return draw.GlyphStyle{Color: color.Black, Radius: 3, Shape: draw.CircleGlyph{}}
}

func TestLongValueLabelsWrapThenCut(t *testing.T) {
	style := unitSizes(t).textStyle(axisLabelSize, false, 0, 0)
	short := "CPU %"
	if got := fitLines(style, short, 300); got != short {
		t.Errorf("a short label changed: %q", got)
	}
	wrapped := fitLines(style, "positions received / 5 min", 300)
	if lines := strings.Split(wrapped, "\n"); len(lines) != 2 || strings.Contains(wrapped, "…") {
		t.Errorf("label = %q, want two whole lines", wrapped)
	}
	cutLabel := fitLines(style, "a label far too long to fit on two lines of this small axis", 200)
	for _, line := range strings.Split(cutLabel, "\n") {
		if style.Width(line) > 200 {
			t.Errorf("line %q is wider than the axis", line)
		}
	}
	if !strings.Contains(cutLabel, "…") {
		t.Errorf("label = %q, want it cut with …", cutLabel)
	}
}

// The bot may draw several charts at once: each rendering has its own
// fonts and canvas.
func TestPNGConcurrently(t *testing.T) {
	want, err := Renderer{}.PNG(stats1h())
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan []byte, 4)
	for range cap(results) {
		go func() {
			data, err := Renderer{}.PNG(stats1h())
			if err != nil {
				t.Error(err)
			}
			results <- data
		}()
	}
	for range cap(results) {
		if got := <-results; !bytes.Equal(got, want) {
			t.Error("a chart drawn concurrently differs")
		}
	}
}
