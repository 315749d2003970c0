package bot

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mfbot/bot/notify"
	"mfbot/incident"
)

// Metrics counts what the bot's pipelines do: incidents recorded,
// notifications suppressed by mutes, Socket Mode reconnections. It is
// built against an injected registerer; a nil *Metrics counts nothing.
type Metrics struct {
	incidents    *prometheus.CounterVec
	suppressed   *prometheus.CounterVec
	reconnection prometheus.Counter
	watcherSeen  *prometheus.GaugeVec
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
	}
	if reg != nil {
		reg.MustRegister(m.incidents, m.suppressed, m.reconnection, m.watcherSeen)
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
