package bot

import (
	"net/http"
	"time"
)

// HTTPHandler serves /healthz, /metrics when metrics is set (nil: no
// /metrics) and, when a signing secret is set, Slack's HTTP endpoints.
// socketMode says whether the Socket Mode connection is part of being
// healthy.
func HTTPHandler(s *Slack, signingSecret string, socketMode bool, metrics http.Handler) http.Handler {
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
		status["ok"] = healthy
		if !healthy {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		writeJSON(w, status)
	})
	return mux
}
