//go:build integration

package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mfbot/adapters/store"
	"mfbot/containers"
	"mfbot/testenv"
	"mfbot/testenv/slackfake"
)

// positionsSummary reads the counts `health --chart` states: positions
// received and stale periods (0 when it says there was none).
var (
	positionsReceivedRe = regexp.MustCompile(`([\d,]+) positions? received`)
	stalePeriodsRe      = regexp.MustCompile(`(\d+) stale periods?`)
)

func positionsSummary(t *testing.T, out string) (received, stale int) {
	t.Helper()
	m := positionsReceivedRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no positions count in:\n%s", out)
	}
	received, _ = strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
	if m := stalePeriodsRe.FindStringSubmatch(out); m != nil {
		stale, _ = strconv.Atoi(m[1])
	} else if !strings.Contains(out, "No stale period") {
		t.Fatalf("neither stale periods nor none in:\n%s", out)
	}
	return received, stale
}

// positionsBySQL counts, with plain SQL and no bucketing, the positions in
// [from, to) and the stale periods: gaps between consecutive positions
// (the last one before the window included) longer than threshold that
// reach into the window, and the one running at to.
func positionsBySQL(t *testing.T, admin *pgx.Conn, from, to time.Time, threshold time.Duration) (received, stale int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rows, err := admin.Query(ctx, `SELECT date_time FROM positions
		WHERE date_time >= $1::timestamp - INTERVAL '1 day' AND date_time < $2::timestamp ORDER BY date_time`, from.UTC(), to.UTC())
	if err != nil {
		t.Fatal(err)
	}
	times, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		t.Fatal(err)
	}
	previous := time.Time{}
	for _, at := range times {
		if !at.Before(from) {
			received++
			if previous.IsZero() {
				previous = from.Add(-threshold)
			}
			if at.Sub(previous) > threshold && previous.Add(threshold).Before(at) && at.After(from) {
				stale++
			}
		}
		previous = at
	}
	if to.Sub(previous) > threshold {
		stale++
	}
	return received, stale
}

// `health --chart` in the console: a PNG of the expected size in the
// file asked, and counts that match the database's.
func TestConsoleHealthChartMatchesTheDatabase(t *testing.T) {
	stack := testenv.Require(t)
	mfdb := testenv.RequireMonitorFishDB(t)
	withStackConfig(t, stack)
	t.Setenv("ENV_DB_URL", mfdb.JDBC)
	admin, err := pgx.Connect(context.Background(), mfdb.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) })

	out := filepath.Join(t.TempDir(), "positions.png")
	const window = 6 * time.Hour
	var code int
	var text string
	var from, to time.Time
	for attempt := 0; ; attempt++ {
		before := time.Now().UTC()
		code, text = console(t, "", "-c", "health --chart --since 6h --out "+out)
		to = time.Now().UTC()
		from = before.Add(-window).Truncate(5 * time.Minute)
		// The window starts on a 5-minute boundary: if one passed during
		// the command, the test cannot tell which window it drew.
		if to.Add(-window).Truncate(5*time.Minute).Equal(from) || attempt == 2 {
			break
		}
	}
	t.Logf("health --chart:\n%s", text)
	if code != 0 || !strings.Contains(text, "written to "+out+" (image/png") {
		t.Fatalf("exit %d\n%s", code, text)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(raw))
	if err != nil || format != "png" || cfg.Width != 1200 || cfg.Height != 900 {
		t.Errorf("chart file: %s %d×%d (%v), want a 1200×900 png", format, cfg.Width, cfg.Height, err)
	}
	if _, err := png.Decode(bytes.NewReader(raw)); err != nil {
		t.Errorf("the PNG does not decode: %v", err)
	}

	received, stale := positionsSummary(t, text)
	wantReceived, wantStale := positionsBySQL(t, admin, from, to, 5*time.Minute)
	if received != wantReceived || received == 0 {
		t.Errorf("the chart counts %d positions, the database %d in [%s, %s)", received, wantReceived, from, to)
	}
	if stale != wantStale {
		t.Errorf("the chart shows %d stale periods, the database's gaps over 5 min are %d", stale, wantStale)
	}
}

// chartInThread waits for the reply titled title in the channel and the
// PNG uploaded in its thread; it checks the picture and its alt text.
func chartInThread(t *testing.T, fake *slackfake.Server, title string, width, height int) (slackfake.Message, slackfake.File) {
	t.Helper()
	m := waitBotMessage(t, fake, "the reply "+title, title)
	var file slackfake.File
	waitFor(t, fake, "the chart of "+title+" in the thread", func(s *slackfake.Server) bool {
		for _, f := range s.Files() {
			if f.Completed && f.Channel == channel && f.ThreadTS == m.TS && strings.HasSuffix(f.Name, ".png") {
				file = f
				return true
			}
		}
		return false
	})
	cfg, format, err := image.DecodeConfig(bytes.NewReader(file.Content))
	if err != nil || format != "png" || cfg.Width != width || cfg.Height != height {
		t.Errorf("%s: %s %d×%d (%v), want a %d×%d png", file.Name, format, cfg.Width, cfg.Height, err, width, height)
	}
	if _, err := png.Decode(bytes.NewReader(file.Content)); err != nil {
		t.Errorf("%s does not decode: %v", file.Name, err)
	}
	if file.AltText == "" || !strings.Contains(string(m.Blocks), "🖼 "+file.Name) {
		t.Errorf("%s: alt text %q; message %s", file.Name, file.AltText, prettyBlocks(m.Blocks))
	}
	return m, file
}

// In Slack, both charts are posted in the reply's thread with alt text;
// the stats chart draws what the sampler and the store hold.
func TestSlackChartsInTheThread(t *testing.T) {
	stack := testenv.Require(t)
	mfdb := testenv.RequireMonitorFishDB(t)
	fake := newFake(t)
	b := startBot(t, stack, fake, botOptions{Env: map[string]string{"ENV_DB_URL": mfdb.JDBC}})

	slash(t, fake, viewer, "health --chart --since 2h")
	_, positions := chartInThread(t, fake, "Positions received in local, last 2h", 1200, 900)
	if !strings.Contains(positions.AltText, "positions received in local over the last 2 h") {
		t.Errorf("positions alt text: %q", positions.AltText)
	}

	// Half an hour of history as an earlier run of mfbot would have left
	// it, then the sampler's own first round (at start) on the real engine.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, b.storePath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	start := time.Now().Add(-31 * time.Minute).Truncate(time.Minute)
	var history []containers.Sample
	for i := range 30 {
		history = append(history, containers.Sample{Env: "local", Service: "app", Time: start.Add(time.Duration(i) * time.Minute),
			CPUPercent: float64(i), MemoryBytes: uint64(100+i) << 20, MemoryLimit: 256 << 20})
	}
	if err := st.AppendSamples(ctx, history); err != nil {
		t.Fatal(err)
	}
	var live []containers.Sample
	deadline := time.Now().Add(30 * time.Second)
	for len(live) == 0 && time.Now().Before(deadline) {
		if live, err = st.Samples(ctx, "local", "app", start.Add(30*time.Minute), time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(live) == 0 {
		t.Fatal("the sampler saved no sample of app within 30 s of starting")
	}
	if live[0].MemoryBytes == 0 {
		t.Errorf("a live sample without memory: %+v", live[0])
	}

	slash(t, fake, viewer, "stats app --chart")
	m, stats := chartInThread(t, fake, "CPU and memory of app in local, last 1h", 1200, 900)
	inStore, err := st.Samples(ctx, "local", "app", time.Now().Add(-time.Hour), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The sampler may have added a round since the chart: at most one more.
	drawn := regexp.MustCompile(`(\d+) samples`).FindStringSubmatch(stats.AltText)
	if drawn == nil {
		t.Fatalf("no sample count in the alt text %q", stats.AltText)
	}
	n, _ := strconv.Atoi(drawn[1])
	if n < len(history)+1 || n > len(inStore) || len(inStore) > n+1 {
		t.Errorf("the chart draws %d samples; the store holds %d (30 seeded + the sampler's)", n, len(inStore))
	}
	if !strings.Contains(stats.AltText, "limit 256.0MiB") && !strings.Contains(stats.AltText, "no memory limit") {
		t.Errorf("stats alt text: %q", stats.AltText)
	}
	if !strings.Contains(string(m.Blocks), "CPU: average") {
		t.Errorf("stats reply: %s", prettyBlocks(m.Blocks))
	}

	// --out is the console's: refused in Slack, nothing drawn.
	files := len(fake.Files())
	slash(t, fake, viewer, "stats app --chart --out /tmp/x.png")
	waitFor(t, fake, "the refusal of --out", func(s *slackfake.Server) bool {
		for _, e := range s.Ephemerals(channel) {
			if e.User == viewer && strings.Contains(e.Text+string(e.Blocks), "console only") {
				return true
			}
		}
		return false
	})
	if got := len(fake.Files()); got != files {
		t.Errorf("%d files uploaded after a refused --out", got-files)
	}
}
