package commands_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mfbot/chart"
	. "mfbot/commands"
	"mfbot/containers"
	"mfbot/database"
	. "mfbot/reply"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files")

// recordingRenderer keeps the charts it is asked to draw and answers a
// fixed PNG-looking content.
type recordingRenderer struct {
	charts []chart.Chart
	err    error
}

func (r *recordingRenderer) PNG(c chart.Chart) ([]byte, error) {
	r.charts = append(r.charts, c)
	return []byte("\x89PNG fake"), r.err
}

// fakePositions answers a fixed history and records the windows asked.
type fakePositions struct {
	history database.PositionHistory
	err     error
	asked   [][2]time.Time
	buckets []time.Duration
}

func (f *fakePositions) PositionHistory(_ context.Context, from, to time.Time, bucket time.Duration) (database.PositionHistory, error) {
	f.asked = append(f.asked, [2]time.Time{from, to})
	f.buckets = append(f.buckets, bucket)
	return f.history, f.err
}

// fakeSamples answers fixed samples and records the queries.
type fakeSamples struct {
	samples []containers.Sample
	err     error
	asked   []string
}

func (f *fakeSamples) Samples(_ context.Context, env, service string, from, to time.Time) ([]containers.Sample, error) {
	f.asked = append(f.asked, env+"/"+service+" "+from.Format(time.RFC3339)+" "+to.Format(time.RFC3339))
	var out []containers.Sample
	for _, s := range f.samples {
		if s.Env == env && s.Service == service && !s.Time.Before(from) && s.Time.Before(to) {
			out = append(out, s)
		}
	}
	return out, f.err
}

// chartNow is the clock of the chart tests: mid-bucket, so that the
// bucket still filling is left out of the counts.
var chartNow = time.Date(2026, 12, 4, 12, 2, 30, 0, time.UTC)

func chartCatalogue(t *testing.T, positions PositionCounter, samples SampleReader, renderer ChartRenderer) *Catalogue {
	t.Helper()
	return chartCatalogueYAML(t, healthYAML, positions, samples, renderer)
}

func chartCatalogueYAML(t *testing.T, yaml string, positions PositionCounter, samples SampleReader, renderer ChartRenderer) *Catalogue {
	t.Helper()
	cfg := loadConfig(t, yaml)
	var envs []*Environment
	for _, e := range cfg.Environments {
		env := &Environment{Config: e, Docker: &recordingEngine{}}
		if positions != nil {
			env.Positions = positions
		}
		envs = append(envs, env)
	}
	opts := Options{Now: func() time.Time { return chartNow }}
	if renderer != nil {
		opts.Charts = renderer
	}
	if samples != nil {
		opts.Samples = samples
	}
	c, err := New(cfg, envs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// nightGap is 3 hours of positions, 12 per 5 minutes, with nothing from
// 10:00 to 10:40 (a 40-minute gap, stale with the 5-minute
// threshold: stale from 10:04:30, the gap's previous position + 5 min) and
// the newest position 3 min before chartNow.
func nightGap() database.PositionHistory {
	start := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	h := database.PositionHistory{Before: start.Add(-20 * time.Second)}
	for b := start; b.Before(chartNow); b = b.Add(5 * time.Minute) {
		if !b.Before(time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)) && b.Before(time.Date(2026, 12, 4, 10, 40, 0, 0, time.UTC)) {
			continue
		}
		last := b.Add(4*time.Minute + 30*time.Second)
		if last.After(chartNow) {
			continue
		}
		h.Buckets = append(h.Buckets, database.PositionBucket{Start: b, Count: 12, First: b.Add(10 * time.Second), Last: last})
	}
	return h
}

func TestHealthChartSeriesGolden(t *testing.T) {
	positions := &fakePositions{history: nightGap()}
	renderer := &recordingRenderer{}
	c := chartCatalogue(t, positions, nil, renderer)
	rep := c.Run(context.Background(), Request{Line: "health --chart --since 3h", User: "U1", Via: ViaSocket})
	if rep.Status != StatusOK || len(renderer.charts) != 1 {
		t.Fatalf("%s %q, %d charts drawn\n%s", rep.Status, rep.Title, len(renderer.charts), replyText(rep))
	}
	wantFrom := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC) // 09:02:30 rounded down to a bucket
	if len(positions.asked) != 1 || !positions.asked[0][0].Equal(wantFrom) || !positions.asked[0][1].Equal(chartNow) || positions.buckets[0] != 5*time.Minute {
		t.Errorf("asked %v by %v, want [%s, %s) by 5m", positions.asked, positions.buckets, wantFrom, chartNow)
	}
	file := chartFile(t, rep)
	text := replyText(rep)
	for _, want := range []string{"336 positions received in local over the last 3 h", "the newest 3 min ago", "1 stale period", "from Dec 04 10:04 to Dec 04 10:40 UTC (36 min)"} {
		if !strings.Contains(text, want) || !strings.Contains(file.Alt, want) {
			t.Errorf("summary and alt text lack %q:\n%s\nalt: %s", want, text, file.Alt)
		}
	}
	if file.Name != "positions-local-20261204T1202Z.png" || file.Path != "" {
		t.Errorf("file %q path %q", file.Name, file.Path)
	}
	compareChartGolden(t, "chart-positions", renderer.charts[0], text)
}

func TestStatsChartSeriesGolden(t *testing.T) {
	samples := &fakeSamples{}
	start := chartNow.Add(-time.Hour).Truncate(time.Minute)
	for i := range 61 {
		if i >= 20 && i < 25 { // mfbot was down: a gap, not a drop
			continue
		}
		samples.samples = append(samples.samples, containers.Sample{
			Env: "local", Service: "app", Time: start.Add(time.Duration(i) * time.Minute),
			CPUPercent: float64(i%10) * 4.5, MemoryBytes: uint64(300+i) << 20, MemoryLimit: 1 << 30, CPULimit: 1.5,
		})
		// Another service's samples must not be drawn.
		samples.samples = append(samples.samples, containers.Sample{Env: "local", Service: "db", Time: start.Add(time.Duration(i) * time.Minute), CPUPercent: 99})
	}
	renderer := &recordingRenderer{}
	c := chartCatalogue(t, nil, samples, renderer)
	rep := c.Run(context.Background(), Request{Line: "stats app --chart", User: "U1", Via: ViaSocket})
	if rep.Status != StatusOK || len(renderer.charts) != 1 {
		t.Fatalf("%s %q\n%s", rep.Status, rep.Title, replyText(rep))
	}
	if want := "local/app 2026-12-04T11:02:30Z 2026-12-04T12:02:30Z"; len(samples.asked) != 1 || samples.asked[0] != want {
		t.Errorf("asked %v, want %q", samples.asked, want)
	}
	text := replyText(rep)
	for _, want := range []string{"55 samples, one every 1 min", "peak 40.5 %", "limit 1.5 cores", "limit 1.0GiB (peak at 35 % of it)"} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q:\n%s", want, text)
		}
	}
	compareChartGolden(t, "chart-stats", renderer.charts[0], text)
}

func TestChartRefusals(t *testing.T) {
	tests := []struct {
		name, line, via string
		positions       bool
		samples         []containers.Sample
		noRenderer      bool
		status          Status
		want            string
	}{
		{name: "out from slack", line: "health --chart --out /tmp/x.png", via: ViaSocket, positions: true, status: StatusUsage, want: "console only"},
		{name: "since past the limit", line: "health --chart --since 8d", via: ViaConsole, positions: true, status: StatusUsage, want: "7d"},
		{name: "stats chart without service", line: "stats --chart", via: ViaConsole, status: StatusUsage, want: "stats <service> --chart"},
		{name: "no database", line: "health --chart", via: ViaConsole, status: StatusFailed, want: "ENV_DB_URL"},
		{name: "no samples yet", line: "stats app --chart", via: ViaConsole, samples: []containers.Sample{}, status: StatusFailed, want: "once a minute"},
		{name: "no renderer", line: "health --chart", via: ViaConsole, positions: true, noRenderer: true, status: StatusFailed, want: "charts are not available"},
		{name: "no store", line: "stats app --chart", via: ViaConsole, status: StatusFailed, want: "MFBOT_STORE"},
		{name: "since in the future", line: "health --chart --since 2026-12-05T10:00", via: ViaConsole, positions: true, status: StatusUsage, want: "not in the past"},
		{name: "since too far back", line: "health --chart --since 2026-11-20T10:00", via: ViaConsole, positions: true, status: StatusUsage, want: "at most 7d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var positions *fakePositions
			var pc PositionCounter
			if tt.positions {
				positions = &fakePositions{history: nightGap()}
				pc = positions
			}
			var sr SampleReader
			if tt.samples != nil {
				sr = &fakeSamples{samples: tt.samples}
			}
			renderer := &recordingRenderer{}
			var cr ChartRenderer = renderer
			if tt.noRenderer {
				cr = nil
			}
			c := chartCatalogue(t, pc, sr, cr)
			rep := c.Run(context.Background(), Request{Line: tt.line, User: "U1", Via: tt.via})
			text := replyText(rep)
			if rep.Status != tt.status || !strings.Contains(text, tt.want) {
				t.Errorf("%s: %s, want %s with %q:\n%s", tt.line, rep.Status, tt.status, tt.want, text)
			}
			if len(renderer.charts) != 0 {
				t.Errorf("a chart was drawn")
			}
			if tt.status == StatusUsage && positions != nil && len(positions.asked) != 0 {
				t.Errorf("the database was read for bad input")
			}
		})
	}
}

func TestChartFailuresAreSaid(t *testing.T) {
	c := chartCatalogue(t, &fakePositions{err: errors.New("count the positions received: database unreachable")}, nil, &recordingRenderer{})
	rep := c.Run(context.Background(), Request{Line: "health --chart", User: "U1", Via: ViaConsole})
	if rep.Status != StatusFailed || !strings.Contains(replyText(rep), "database unreachable") {
		t.Errorf("%s\n%s", rep.Status, replyText(rep))
	}
	c = chartCatalogue(t, &fakePositions{history: nightGap()}, nil, &recordingRenderer{err: errors.New("boom")})
	rep = c.Run(context.Background(), Request{Line: "health --chart", User: "U1", Via: ViaConsole})
	if rep.Status != StatusFailed || !strings.Contains(replyText(rep), "draw the chart: boom") {
		t.Errorf("%s\n%s", rep.Status, replyText(rep))
	}
	// The console's --out reaches the file; plain health is unchanged.
	renderer := &recordingRenderer{}
	c = chartCatalogue(t, &fakePositions{history: nightGap()}, nil, renderer)
	rep = c.Run(context.Background(), Request{Line: "health --out /tmp/positions.png", User: "U1", Via: ViaConsole})
	if f := chartFile(t, rep); f.Path != "/tmp/positions.png" {
		t.Errorf("path %q", f.Path)
	}
}

func chartFile(t *testing.T, rep Reply) *File {
	t.Helper()
	for _, b := range rep.Blocks {
		if f, ok := b.(*File); ok {
			if f.MediaType != "image/png" || !f.Binary() || f.Alt == "" || f.Title == "" {
				t.Errorf("chart file %q: media type %q, alt %q, title %q", f.Name, f.MediaType, f.Alt, f.Title)
			}
			return f
		}
	}
	t.Fatalf("no file in the reply:\n%s", replyText(rep))
	return nil
}

// compareChartGolden compares the chart's data (series, lines, spans) and
// its summary with testdata/<name>.golden.json.
func compareChartGolden(t *testing.T, name string, c chart.Chart, summary string) {
	t.Helper()
	got, err := json.MarshalIndent(struct {
		Chart   chart.Chart
		Summary string
	}{c, summary}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".golden.json")
	if *updateGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./commands -run Golden -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("chart data differs from %s (go test ./commands -run Golden -update, then review the diff):\n%s", path, got)
	}
}

// A threshold under 5 minutes takes finer buckets: a gap longer than the
// threshold cannot hide inside one.
func TestHealthChartBucketFollowsAShortThreshold(t *testing.T) {
	cfg := strings.Replace(healthYAML, "positions_received: 5m", "positions_received: 2m30s", 1)
	positions := &fakePositions{}
	c := chartCatalogueYAML(t, cfg, positions, nil, &recordingRenderer{})
	rep := c.Run(context.Background(), Request{Line: "health --chart --since 1h", User: "U1", Via: ViaConsole})
	if rep.Status != StatusOK || len(positions.buckets) != 1 || positions.buckets[0] != 2*time.Minute {
		t.Errorf("%s, buckets %v: want 2m\n%s", rep.Status, positions.buckets, replyText(rep))
	}
	if !strings.Contains(replyText(rep), "0 positions received") || !strings.Contains(replyText(rep), "1 stale period") {
		t.Errorf("an empty database: %s", replyText(rep))
	}
}

// --since takes a time too: the window starts there (on a bucket
// boundary), and says so.
func TestChartSinceATime(t *testing.T) {
	positions := &fakePositions{history: nightGap()}
	c := chartCatalogue(t, positions, nil, &recordingRenderer{})
	rep := c.Run(context.Background(), Request{Line: "health --chart --since 2026-12-04T10:02+01:00", User: "U1", Via: ViaConsole})
	if rep.Status != StatusOK || rep.Title != "Positions received in local, since Dec 04 09:02 UTC" {
		t.Fatalf("%s %q\n%s", rep.Status, rep.Title, replyText(rep))
	}
	if want := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC); !positions.asked[0][0].Equal(want) {
		t.Errorf("from %s, want %s", positions.asked[0][0], want)
	}
	if !strings.Contains(replyText(rep), "received in local since Dec 04 09:02 UTC") {
		t.Errorf("summary: %s", replyText(rep))
	}
}
