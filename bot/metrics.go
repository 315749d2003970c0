package bot

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mfbot/bot/notify"
	"mfbot/incident"
)

// Metrics counts what the bot's pipelines do: incidents recorded,
// notifications suppressed by mutes, Socket Mode reconnections, stats
// samples taken for charts. It is
// built against an injected registerer; a nil *Metrics counts nothing.
type Metrics struct {
	incidents    *prometheus.CounterVec
	suppressed   *prometheus.CounterVec
	reconnection prometheus.Counter
	watcherSeen  *prometheus.GaugeVec

	samples        *prometheus.CounterVec
	sampleFailures *prometheus.CounterVec
	sampleRounds   *prometheus.HistogramVec
}

// NewMetrics builds the bot's metrics and registers them with reg (nil:
// not registered, still usable).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		incidents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mfbot_incidents_total",
			Help: "Incident changes recorded from the watchers' signals and the recovery checks, by source and change (opened, recurred, escalated, up, recovered, resolved).",
		}, []string{"source", "change"}),
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mfbot_notifications_suppressed_total",
			Help: "Incidents muted until they closed, never posted, by source.",
		}, []string{"source"}),
		reconnection: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mfbot_slack_socket_reconnections_total",
			Help: "Socket Mode connections established after the first one.",
		}),
		// A timestamp rather than an age: it is right between scrapes and
		// after a missed one, and the age is `time() - ...` in PromQL (the
		// Prometheus instrumentation guidelines). Absent until the watcher
		// first hears from its source.
		watcherSeen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mfbot_watcher_last_event_timestamp_seconds",
			Help: "When each watcher last heard from its source (Unix time): a Docker event or (re)connection, a freshness poll that the app or the database answered, a Prefect poll that the API answered; by source and environment.",
		}, []string{"source", "env"}),
		samples: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mfbot_stats_samples_total",
			Help: "Container stats samples saved for charts (one per running service and round), by environment.",
		}, []string{"env"}),
		sampleFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mfbot_stats_sample_failures_total",
			Help: "Stats sampling failures, by environment and stage: list (the engine's containers), stats (one container's), limits (one container's configured limits), store (saving a round).",
		}, []string{"env", "stage"}),
		// A round takes about 2 s (the engine's stats endpoint waits for
		// two of its 1 s readings to compute CPU) and its calls are cut at
		// 10 s: buckets from 0.1 s to 30 s.
		sampleRounds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mfbot_stats_sample_round_duration_seconds",
			Help:    "How long a stats sampling round of an environment took, from listing its containers to saving their samples.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 5, 10, 30},
		}, []string{"env"}),
	}
	if reg != nil {
		reg.MustRegister(m.incidents, m.suppressed, m.reconnection, m.watcherSeen, m.samples, m.sampleFailures, m.sampleRounds)
	}
	return m
}

func (m *Metrics) incident(source string, change incident.Change) {
	if m == nil || change == incident.ChangeNone {
		return
	}
	m.incidents.WithLabelValues(source, string(change)).Inc()
}

// NotifyEvent is a notify.Options.OnEvent: it counts the suppressed
// notifications.
func (m *Metrics) NotifyEvent(kind notify.EventKind, inc *incident.Incident) {
	if m == nil || inc == nil || kind != notify.EventSuppressed {
		return
	}
	m.suppressed.WithLabelValues(inc.Key.Source).Inc()
}

// WatcherSeen records that the watcher of source in env heard from its
// source at t.
func (m *Metrics) WatcherSeen(source, env string, t time.Time) {
	if m == nil {
		return
	}
	m.watcherSeen.WithLabelValues(source, env).Set(float64(t.UnixNano()) / 1e9)
}

// Stages of a stats sampling round, the stage label of its failures.
const (
	SampleStageList   = "list"
	SampleStageStats  = "stats"
	SampleStageLimits = "limits"
	SampleStageStore  = "store"
)

// sampleRound records how long a sampling round of env took, whatever
// its outcome.
func (m *Metrics) sampleRound(env string, took time.Duration) {
	if m == nil {
		return
	}
	m.sampleRounds.WithLabelValues(env).Observe(took.Seconds())
}

// samplesSaved counts the samples a round of env saved.
func (m *Metrics) samplesSaved(env string, n int) {
	if m == nil {
		return
	}
	m.samples.WithLabelValues(env).Add(float64(n))
}

// sampleFailed counts a failure of a sampling round of env at stage.
func (m *Metrics) sampleFailed(env, stage string) {
	if m == nil {
		return
	}
	m.sampleFailures.WithLabelValues(env, stage).Inc()
}

func (m *Metrics) reconnected() {
	if m == nil {
		return
	}
	m.reconnection.Inc()
}

// PendingLister lists the incidents with something to deliver (the store).
type PendingLister interface {
	PendingNotifications(ctx context.Context) ([]incident.Notification, error)
}

// RegisterOutbox registers mfbot_notifications_pending, the number of
// incidents with something not yet delivered to Slack (held ones
// included), read from the store at each scrape (bounded to 5 s; -1 when
// the store cannot answer).
func RegisterOutbox(reg prometheus.Registerer, store PendingLister) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mfbot_notifications_pending",
		Help: "Incidents with a notification, update or thread post not yet delivered (held by a mute included); -1: the store did not answer.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pending, err := store.PendingNotifications(ctx)
		if err != nil {
			return -1
		}
		return float64(len(pending))
	}))
}
