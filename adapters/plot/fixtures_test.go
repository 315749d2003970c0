package plot

import (
	"math"
	"time"

	"mfbot/chart"
)

// Charts shaped like the ones the bot sends: a day of position counts
// with stale periods, and an hour of container stats with their limits.

func day() time.Time { return time.Date(2026, time.December, 4, 12, 0, 0, 0, time.UTC) }

// regular returns n points every step from start, valued by f(i).
func regular(start time.Time, step time.Duration, n int, f func(i int) float64) []chart.Point {
	points := make([]chart.Point, n)
	for i := range points {
		points[i] = chart.Point{T: start.Add(time.Duration(i) * step), V: f(i)}
	}
	return points
}

func positions24h() chart.Chart {
	const step = 5 * time.Minute
	from := day()
	to := from.Add(24 * time.Hour)
	positions := regular(from, step, 288, func(i int) float64 {
		hour := float64(i) / 12
		return 1800 + 900*math.Sin(2*math.Pi*(hour-6)/24) + 120*math.Sin(float64(i)*0.7)
	})
	delays := regular(from, step, 288, func(i int) float64 {
		return 6 + 3*math.Sin(float64(i)/9) + 2*math.Cos(float64(i)/3.1) + 14*math.Exp(-math.Pow(float64(i-150)/6, 2))
	})
	// A stale period: no points for 40 minutes.
	positions = append(positions[:100:100], positions[108:]...)
	return chart.Chart{
		Title: "Positions, last 24 h",
		From:  from,
		To:    to,
		Panels: []chart.Panel{
			{
				Title:  "Positions received",
				YLabel: "positions / 5 min",
				Series: []chart.Series{{Name: "positions", Step: step, Points: positions}},
			},
			{
				Title:  "Ingestion delay",
				YLabel: "delay (min)",
				Series: []chart.Series{{Name: "delay", Step: step, Points: delays}},
				Lines: []chart.Line{
					{Label: "warning (10 min)", Value: 10},
					{Label: "alert (15 min)", Value: 15},
				},
				Spans: []chart.Span{
					{Label: "stale", From: from.Add(100 * step), To: from.Add(108 * step)},
					{Label: "stale", From: from.Add(146 * step), To: from.Add(156 * step)},
					{Label: "stale", From: from.Add(230 * step), To: from.Add(236 * step)},
				},
			},
		},
	}
}

func stats1h() chart.Chart {
	from := day().Add(3 * time.Hour)
	to := from.Add(time.Hour)
	return chart.Chart{
		Title: "mfbot container, last hour",
		From:  from,
		To:    to,
		Panels: []chart.Panel{
			{
				Title:  "CPU",
				YLabel: "CPU %",
				Series: []chart.Series{{Name: "mfbot", Step: time.Minute, Points: regular(from, time.Minute, 60, func(i int) float64 {
					return 35 + 20*math.Sin(float64(i)/5) + 8*math.Cos(float64(i)*1.3)
				})}},
				Lines: []chart.Line{{Label: "CPU limit (100 %)", Value: 100}},
			},
			{
				Title:  "Memory",
				YLabel: "memory (MiB)",
				Series: []chart.Series{{Name: "mfbot", Step: time.Minute, Points: regular(from, time.Minute, 60, func(i int) float64 {
					return 180 + 2.5*float64(i) + 10*math.Sin(float64(i)/4)
				})}},
				Lines: []chart.Line{{Label: "memory limit (512 MiB)", Value: 512}},
			},
		},
	}
}
