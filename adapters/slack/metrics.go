package slack

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts the Web API calls of a Client. It is built against an
// injected registerer; a nil *Metrics counts nothing.
type Metrics struct {
	calls       *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	rateLimited *prometheus.CounterVec
}

// NewMetrics builds the Slack client's metrics and registers them with reg
// (nil: not registered, still usable).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mfbot_slack_api_calls_total",
			Help: "Slack Web API HTTP calls (each attempt), by method and outcome (ok, rate_limited, transient_error, error, cancelled).",
		}, []string{"method", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mfbot_slack_api_call_duration_seconds",
			Help:    "Latency of one Slack Web API HTTP call (one attempt), by method.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mfbot_slack_rate_limited_total",
			Help: "Slack Web API answers that were rate limits (429 or ratelimited), by method.",
		}, []string{"method"}),
	}
	if reg != nil {
		reg.MustRegister(m.calls, m.duration, m.rateLimited)
	}
	return m
}

// callOutcome labels one attempt; cancelled: the caller's context ended.
func callOutcome(err, ctxErr error) string {
	if err == nil {
		return "ok"
	}
	if ctxErr != nil {
		return "cancelled"
	}
	switch kind, _ := classify(err); kind {
	case rateLimited:
		return "rate_limited"
	case transient:
		return "transient_error"
	}
	return "error"
}

// call records one attempt of method.
func (m *Metrics) call(method string, took time.Duration, err, ctxErr error) {
	if m == nil {
		return
	}
	outcome := callOutcome(err, ctxErr)
	m.calls.WithLabelValues(method, outcome).Inc()
	m.duration.WithLabelValues(method).Observe(took.Seconds())
	if outcome == "rate_limited" {
		m.rateLimited.WithLabelValues(method).Inc()
	}
}
