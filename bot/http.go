package bot

import (
	"net/http"
	"time"
)

// HTTPHandler serves /healthz, /metrics when metrics is set (nil: no
// /metrics) and, when a signing secret is set, Slack's HTTP endpoints.
// socketMode says whether the Socket Mode connection is part of being
// healthy; /healthz also asks every probe (Docker, store, database,
// Prefect), and answers 503 when the socket or a required probe is down.
// redact cleans the probes' error texts.
func HTTPHandler(s *Slack, signingSecret string, socketMode bool, metrics http.Handler, probes []Probe, redact func(string) string) http.Handler {
	mux := http.NewServeMux()
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	if signingSecret != "" {
		slackEndpoints := s.SlackHTTPHandler(signingSecret)
		mux.Handle("/slack/", slackEndpoints)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		status := map[string]any{"slack_http_endpoints": signingSecret != ""}
		healthy := true
		if socketMode {
			up := s.socketUp.Load()
			status["slack_socket_mode"] = map[bool]string{true: "connected", false: "disconnected"}[up]
			healthy = up
		}
		if last := s.LastEvent(); !last.IsZero() {
			status["slack_last_event_age_seconds"] = int(time.Since(last).Seconds())
		}
		if len(probes) > 0 {
			results, ok := runProbes(r.Context(), probes, redact)
			status["dependencies"] = results
			healthy = healthy && ok
		}
		status["ok"] = healthy
		if !healthy {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		writeJSON(w, status)
	})
	return mux
}
