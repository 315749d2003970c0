package commands

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts the catalogue's commands. It is built against an injected
// registerer; a nil *Metrics counts nothing, so that a catalogue without
// metrics (tests, the console) keeps working.
type Metrics struct {
	commands *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics builds the commands' metrics and registers them with reg
// (nil: not registered, still usable).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mfbot_commands_total",
			Help: "Commands run through the catalogue, by verb and audited outcome (ok, failed, usage, denied, pending, cancelled).",
		}, []string{"verb", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mfbot_command_duration_seconds",
			Help:    "Time to answer a command, by verb.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"verb"}),
	}
	if reg != nil {
		reg.MustRegister(m.commands, m.duration)
	}
	return m
}

// unknownVerb labels a line whose verb could not be parsed: the label never
// takes free user input.
const unknownVerb = "unknown"

func (m *Metrics) command(verb, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	if verb == "" {
		verb = unknownVerb
	}
	m.commands.WithLabelValues(verb, outcome).Inc()
	m.duration.WithLabelValues(verb).Observe(took.Seconds())
}

// CommandsTotal is mfbot_commands_total (tests read it).
func (m *Metrics) CommandsTotal() *prometheus.CounterVec { return m.commands }
