package plot

import (
	"testing"

	"mfbot/chart"
)

// benchmarkPNG reports the PNG size too: it is what goes up to the chat.
func benchmarkPNG(b *testing.B, c chart.Chart) {
	var size int
	for b.Loop() {
		data, err := Renderer{}.PNG(c)
		if err != nil {
			b.Fatal(err)
		}
		size = len(data)
	}
	b.ReportMetric(float64(size), "png-bytes")
}

// BenchmarkPNGPositions24h: two panels of 288 points at 5 min, the second
// with 2 lines and 3 spans.
func BenchmarkPNGPositions24h(b *testing.B) { benchmarkPNG(b, positions24h()) }

// BenchmarkPNGStats1h: 2 panels × 60 points with their limit lines.
func BenchmarkPNGStats1h(b *testing.B) { benchmarkPNG(b, stats1h()) }
