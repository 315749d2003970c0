package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"mfbot/chart"
	"mfbot/containers"
	"mfbot/database"
	"mfbot/human"
	"mfbot/reply"
)

// ChartRenderer draws a chart as a PNG image (adapters/plot).
type ChartRenderer interface {
	PNG(c chart.Chart) ([]byte, error)
}

// PositionCounter counts the positions received per bucket of time
// (adapters/postgres).
type PositionCounter interface {
	PositionHistory(ctx context.Context, from, to time.Time, bucket time.Duration) (database.PositionHistory, error)
}

// SampleReader reads the container stats mfbot sampled (adapters/store).
type SampleReader interface {
	Samples(ctx context.Context, env, service string, from, to time.Time) ([]containers.Sample, error)
}

// Windows of the charts: a day of positions shows a night's gap, an hour
// of stats the load of the moment; a week at most, as the stats ring keeps.
const (
	healthChartWindow = 24 * time.Hour
	statsChartWindow  = time.Hour
	maxChartWindow    = 7 * 24 * time.Hour
)

// chartFlags are the flags of a verb that can draw a chart.
func chartFlags(defaultWindow time.Duration) []FlagSpec {
	return []FlagSpec{
		{Name: "chart", Kind: FlagBool, Help: "draw a chart (PNG): in Slack in the reply's thread, in the console in a file"},
		{Name: "since", Kind: FlagInstant, MaxDuration: maxChartWindow, Help: fmt.Sprintf("the chart's start: a duration back from now or a time, UTC unless an offset is given (default %s, at most 7d back)", parseFormatDuration(defaultWindow))},
		{Name: "out", Kind: FlagString, Help: "console: the PNG file to write (default: a name of the chart's, in the working directory)"},
	}
}

// wantsChart: --since and --out only make sense for a chart, so either
// asks for one. --out writes where mfbot runs: refused from Slack.
func wantsChart(call *call) (bool, error) {
	want := call.args.Bools["chart"] || call.args.Has("since") || call.args.Has("out")
	if call.args.Has("chart") && !call.args.Bools["chart"] {
		want = false
	}
	if call.args.Has("out") && call.request.Via != ViaConsole {
		return false, usageErrorf("--out writes a file on the machine mfbot runs on: console only (in Slack the chart is posted in the thread)")
	}
	return want, nil
}

// chartWindow is [--since, now), its start on a step boundary, and how
// to say it: "last 3h" / "over the last 3 h", or "since Dec 04 10:00 UTC"
// for a time.
type chartWindow struct {
	from, to      time.Time
	title, phrase string
}

func (c *Catalogue) chartWindow(call *call, def, step time.Duration) (chartWindow, error) {
	w := chartWindow{to: c.now().UTC()}
	ago := def
	since, given := call.args.Instants["since"]
	if given && since.Ago == 0 {
		w.from = since.At.UTC()
		w.title = "since " + w.from.Format("Jan 02 15:04 UTC")
		w.phrase = w.title
	} else {
		if given {
			ago = since.Ago
		}
		w.from = w.to.Add(-ago)
		w.title, w.phrase = "last "+parseFormatDuration(ago), "over the last "+human.Duration(ago)
	}
	if !w.from.Before(w.to) {
		return w, usageErrorf("--since %s is not in the past", w.from.Format(time.RFC3339))
	}
	if step > 0 {
		w.from = w.from.Truncate(step)
	}
	return w, nil
}

// chartReply is a chart's reply: its summary as text, the PNG attached
// (with the summary as alt text).
func (c *Catalogue) chartReply(call *call, title, name string, ch chart.Chart, summary string) (reply.Reply, error) {
	if c.charts == nil {
		return reply.Reply{}, fmt.Errorf("charts are not available in this build of mfbot")
	}
	png, err := c.charts.PNG(ch)
	if err != nil {
		return reply.Reply{}, fmt.Errorf("draw the chart: %w", err)
	}
	file := &reply.File{Name: name, Title: title, Content: png, MediaType: "image/png", Alt: summary, Path: call.args.Strings["out"]}
	return reply.Reply{Status: reply.StatusOK, Title: title, Blocks: []reply.Block{&reply.Text{Text: summary}, file}}, nil
}

// chartFileName names a chart's file: what, where and when (UTC).
func chartFileName(what, env string, at time.Time) string {
	return fmt.Sprintf("%s-%s-%s.png", what, env, at.UTC().Format("20060102T1504Z"))
}

// healthOrChart answers `health`, or draws the positions received with
// --chart.
func (c *Catalogue) healthOrChart(ctx context.Context, call *call) (reply.Reply, error) {
	want, err := wantsChart(call)
	if err != nil {
		return reply.Reply{}, err
	}
	if !want {
		return c.health(ctx, call)
	}
	env := call.env
	if env.Positions == nil {
		return reply.Reply{}, fmt.Errorf("health --chart counts the positions in the database (ENV_DB_URL / database_url), which %s does not configure", env.Config.Name)
	}
	threshold := c.cfg.Alerts.PositionsReceived
	bucket := positionsBucketFor(threshold)
	w, err := c.chartWindow(call, healthChartWindow, bucket)
	if err != nil {
		return reply.Reply{}, err
	}
	history, err := env.Positions.PositionHistory(ctx, w.from, w.to, bucket)
	if err != nil {
		return reply.Reply{}, err
	}
	ch, rep := positionsChart(env.Config.Name, history, w.from, w.to, bucket, threshold)
	return c.chartReply(call, "Positions received in "+env.Config.Name+", "+w.title,
		chartFileName("positions", env.Config.Name, w.to), ch, rep.summary(env.Config.Name, w.phrase, w.to, threshold))
}

// statsOrChart answers `stats [svc]`, or draws a service's sampled CPU
// and memory with --chart.
func (c *Catalogue) statsOrChart(ctx context.Context, call *call) (reply.Reply, error) {
	want, err := wantsChart(call)
	if err != nil {
		return reply.Reply{}, err
	}
	if !want {
		return c.stats(ctx, call)
	}
	if call.service == nil {
		return reply.Reply{}, usageErrorf("stats --chart draws one service: stats <service> --chart (services: %s)", strings.Join(call.env.Config.ServiceNames(), ", "))
	}
	if c.samples == nil {
		return reply.Reply{}, fmt.Errorf("stats --chart draws the stats mfbot samples into its store (MFBOT_STORE), which is not open")
	}
	env, service := call.env.Config.Name, call.service.Name
	w, err := c.chartWindow(call, statsChartWindow, 0)
	if err != nil {
		return reply.Reply{}, err
	}
	samples, err := c.samples.Samples(ctx, env, service, w.from, w.to)
	if err != nil {
		return reply.Reply{}, fmt.Errorf("read the sampled stats of %s: %w", service, err)
	}
	if len(samples) == 0 {
		return reply.Reply{Status: reply.StatusFailed, Title: "No stats of " + service + " to draw",
			Blocks: []reply.Block{&reply.Text{Text: fmt.Sprintf("mfbot has no sample of %s in %s %s: `mfbot run` samples the stack's running containers once a minute, into its store.",
				service, env, w.phrase)}}}, nil
	}
	ch, rep := statsChart(env, service, samples, w.from, w.to)
	return c.chartReply(call, fmt.Sprintf("CPU and memory of %s in %s, %s", service, env, w.title),
		chartFileName("stats-"+service, env, w.to), ch, rep.summary(service, w.phrase))
}
