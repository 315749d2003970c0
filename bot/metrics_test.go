package bot

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"mfbot/adapters/store"
	"mfbot/bot/notify"
	"mfbot/incident"
)

func TestMetricsCountIncidentChanges(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir()+"/mfbot.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	a := &Alerts{Store: st, Log: slog.New(slog.DiscardHandler), Metrics: m}
	key := incident.Key{Env: "dev", Source: "docker", Target: "app"}
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	a.record(ctx, incident.Signal{Key: key, Kind: incident.SignalCrashed, Time: t0, ExitCode: 1})
	a.record(ctx, incident.Signal{Key: key, Kind: incident.SignalCrashed, Time: t0.Add(time.Minute), ExitCode: 1})
	if got := testutil.ToFloat64(m.incidents.WithLabelValues("docker", "opened")); got != 1 {
		t.Errorf("docker/opened = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.incidents.WithLabelValues("docker", "recurred")); got != 1 {
		t.Errorf("docker/recurred = %v, want 1", got)
	}
	if problems, err := testutil.CollectAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
	// Without metrics, recording still works.
	(&Alerts{Store: st, Log: slog.New(slog.DiscardHandler)}).record(ctx, incident.Signal{Key: key, Kind: incident.SignalCrashed, Time: t0.Add(2 * time.Minute)})
}

func TestMetricsCountSuppressedNotifications(t *testing.T) {
	m := NewMetrics(nil)
	inc := &incident.Incident{Key: incident.Key{Env: "dev", Source: "freshness", Target: "positions"}}
	m.NotifyEvent(notify.EventSuppressed, inc)
	m.NotifyEvent(notify.EventHeld, inc)
	m.NotifyEvent(notify.EventPosted, inc)
	if got := testutil.ToFloat64(m.suppressed.WithLabelValues("freshness")); got != 1 {
		t.Errorf("suppressed = %v, want 1", got)
	}
	var none *Metrics
	none.NotifyEvent(notify.EventSuppressed, inc) // no panic
}

func TestMetricsCountSocketReconnections(t *testing.T) {
	m := NewMetrics(nil)
	s := NewSlack(nil, nil, nil, SlackOptions{Metrics: m})
	client := socketmode.New(slack.New("xoxb-test"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.socketEvents(ctx, client)
	for _, typ := range []socketmode.EventType{socketmode.EventTypeConnecting, socketmode.EventTypeConnected, socketmode.EventTypeHello,
		socketmode.EventTypeDisconnect, socketmode.EventTypeConnecting, socketmode.EventTypeConnected, socketmode.EventTypeHello,
		socketmode.EventTypeConnected} {
		client.Events <- socketmode.Event{Type: typ}
	}
	deadline := time.Now().Add(2 * time.Second)
	for testutil.ToFloat64(m.reconnection) != 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := testutil.ToFloat64(m.reconnection); got != 2 {
		t.Errorf("reconnections = %v, want 2 (the first connection is not one)", got)
	}
}

type pendingList struct {
	n   int
	err error
}

func (p pendingList) PendingNotifications(context.Context) ([]incident.Notification, error) {
	return make([]incident.Notification, p.n), p.err
}

func TestOutboxGaugeReadsThePendingNotifications(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	RegisterOutbox(reg, pendingList{n: 3})
	want := `# HELP mfbot_notifications_pending Incidents with a notification, update or thread post not yet delivered (held by a mute included); -1: the store did not answer.
# TYPE mfbot_notifications_pending gauge
mfbot_notifications_pending 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "mfbot_notifications_pending"); err != nil {
		t.Error(err)
	}
	failing := prometheus.NewRegistry()
	RegisterOutbox(failing, pendingList{err: context.DeadlineExceeded})
	if err := testutil.GatherAndCompare(failing, strings.NewReader(strings.Replace(want, "pending 3", "pending -1", 1)), "mfbot_notifications_pending"); err != nil {
		t.Error(err)
	}
}

// The watchers' last-event gauge holds, per source and environment, the
// Unix time each last heard from its source, and moves with it.
func TestMetricsWatcherLastEvent(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 500_000_000, time.UTC)
	m.WatcherSeen("docker", "prod", t0)
	m.WatcherSeen("prefect", "prod", t0.Add(-time.Minute))
	gauge := func(source, env string) float64 {
		return testutil.ToFloat64(m.watcherSeen.WithLabelValues(source, env))
	}
	if got := gauge("docker", "prod"); got != 1796378400.5 {
		t.Fatalf("docker[prod] = %v, want %v", got, float64(t0.UnixNano())/1e9)
	}
	m.WatcherSeen("docker", "prod", t0.Add(90*time.Second))
	if got := gauge("docker", "prod"); got != 1796378490.5 {
		t.Fatalf("docker[prod] after another event = %v", got)
	}
	if got := gauge("prefect", "prod"); got != 1796378340.5 {
		t.Fatalf("prefect[prod] = %v", got)
	}
	if n := testutil.CollectAndCount(reg, "mfbot_watcher_last_event_timestamp_seconds"); n != 2 {
		t.Errorf("%d series, want 2 (a watcher that heard nothing has none)", n)
	}
	if problems, err := testutil.CollectAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
	var none *Metrics
	none.WatcherSeen("docker", "prod", t0) // nil metrics: nothing, no panic
}
