package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"mfbot/bot"
	"mfbot/commands"
	"mfbot/config"
)

func TestMetricsEndpointServesCommandCounts(t *testing.T) {
	path := t.TempDir() + "/mfbot.yaml"
	if err := os.WriteFile(path, []byte("environments:\n  dev: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	reg := newMetricsRegistry()
	c, err := commands.New(cfg, []*commands.Environment{{Config: cfg.Environments[0]}}, commands.Options{Metrics: commands.NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	c.Run(context.Background(), commands.Request{Line: "help", User: "U1", Via: commands.ViaConsole})

	srv := httptest.NewServer(bot.HTTPHandler(bot.NewSlack(nil, nil, nil, bot.SlackOptions{}), "", false, metricsHandler(reg), nil, nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	for _, want := range []string{`mfbot_commands_total{outcome="ok",verb="help"} 1`, "mfbot_command_duration_seconds_count{verb=\"help\"} 1", "go_goroutines", "process_"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	health, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	health.Body.Close()
	if health.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %s", health.Status)
	}
}

func TestNoMetricsHandlerNoMetricsEndpoint(t *testing.T) {
	srv := httptest.NewServer(bot.HTTPHandler(bot.NewSlack(nil, nil, nil, bot.SlackOptions{}), "", false, nil, nil, nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics without a handler: %s, want 404", resp.Status)
	}
}
