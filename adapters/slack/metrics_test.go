package slack

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/slack-go/slack"
)

func TestMetricsCountCallsByMethodAndOutcome(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("chat.update", func(w http.ResponseWriter, c apiCall, n int) {
		writeJSON(w, map[string]any{"ok": false, "error": "message_not_found"})
	})
	f.handle("reactions.add", func(w http.ResponseWriter, c apiCall, n int) {
		if n == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defaultHandler(w, c, n)
	})
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	c := f.client(ClientOptions{Metrics: m})
	ctx := context.Background()
	if _, err := c.Post(ctx, "C1", "", textMessage("hello")); err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, "C1", "1700000000.000001", textMessage("again")); err == nil {
		t.Fatal("Update: want message_not_found")
	}
	if err := c.React(ctx, "C1", "1700000000.000001", "eyes"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, outcome string
		want            float64
	}{
		{"chat.postMessage", "ok", 1},
		{"chat.update", "error", 1},
		{"reactions.add", "transient_error", 1},
		{"reactions.add", "ok", 1},
	} {
		if got := testutil.ToFloat64(m.calls.WithLabelValues(tc.method, tc.outcome)); got != tc.want {
			t.Errorf("%s/%s = %v, want %v", tc.method, tc.outcome, got, tc.want)
		}
	}
	if n := testutil.CollectAndCount(reg, "mfbot_slack_api_call_duration_seconds"); n != 3 {
		t.Errorf("duration series = %d, want 3", n)
	}
	if n := testutil.CollectAndCount(reg, "mfbot_slack_rate_limited_total"); n != 0 {
		t.Errorf("rate limited series = %d, want 0", n)
	}
	if problems, err := testutil.CollectAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

// A 429 is counted as a rate limit (unit: the end-to-end wait is ≥ 1 s,
// TestPostWaitsOutRateLimits covers the retry itself).
func TestMetricsCountRateLimits(t *testing.T) {
	m := NewMetrics(nil)
	m.call("chat.postMessage", time.Millisecond, &slack.RateLimitedError{RetryAfter: time.Second}, nil)
	m.call("chat.postMessage", time.Millisecond, slack.SlackErrorResponse{Err: "ratelimited"}, nil)
	m.call("chat.postMessage", time.Millisecond, context.Canceled, context.Canceled)
	if got := testutil.ToFloat64(m.rateLimited.WithLabelValues("chat.postMessage")); got != 2 {
		t.Errorf("rate limited = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.calls.WithLabelValues("chat.postMessage", "rate_limited")); got != 2 {
		t.Errorf("calls rate_limited = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.calls.WithLabelValues("chat.postMessage", "cancelled")); got != 1 {
		t.Errorf("calls cancelled = %v, want 1", got)
	}
	var nilMetrics *Metrics
	nilMetrics.call("chat.postMessage", 0, nil, nil) // no panic
}
