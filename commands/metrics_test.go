package commands_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	. "mfbot/commands"
	"mfbot/containers"
	. "mfbot/reply"
)

func TestMetricsCountCommandsByVerbAndOutcome(t *testing.T) {
	cfg := loadConfig(t, "environments:\n  dev: {}\n")
	engine := &recordingEngine{containers: []containers.Container{
		{ID: "a1", Name: "remote_app_1", State: "running", Health: "healthy", Image: "repo/app:v1"},
	}}
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	c, err := New(cfg, []*Environment{{Config: cfg.Environments[0], Docker: engine}}, Options{Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, line := range []string{"status", "status", "restart app", "frobnicate"} {
		c.Run(ctx, Request{Line: line, User: "U1", Via: ViaConsole})
	}
	counter := func(verb, outcome string) float64 {
		return testutil.ToFloat64(m.CommandsTotal().WithLabelValues(verb, outcome))
	}
	if got := counter("status", "ok"); got != 2 {
		t.Errorf("status/ok = %v, want 2", got)
	}
	if got := counter("restart", StatusPending.String()); got != 1 {
		t.Errorf("restart/pending = %v, want 1", got)
	}
	if got := counter("unknown", StatusUsage.String()); got != 1 {
		t.Errorf("unknown/usage = %v, want 1 (free input must not become a label)", got)
	}
	if n := testutil.CollectAndCount(reg, "mfbot_command_duration_seconds"); n != 3 {
		t.Errorf("duration series = %d, want 3 (status, restart, unknown)", n)
	}
	if problems, err := testutil.CollectAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

func TestNilMetricsCountNothing(t *testing.T) {
	c, _ := testCatalogue(t, "dev")
	if rep := c.Run(context.Background(), Request{Line: "status", User: "U1", Via: ViaConsole}); rep.Status != StatusOK {
		t.Fatalf("status without metrics: %s", rep.Status)
	}
}
