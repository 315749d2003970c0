//go:build integration

package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"mfbot/testenv"
	"mfbot/testenv/slackfake"
)

// Issue 9 item 3: /healthz reports Slack's real state — the age of the
// last Socket Mode message or ping, not a constant — and answers 503 when
// the socket is gone; /metrics has the watchers' last-event times.

// healthz is /healthz as decoded.
type healthz struct {
	OK           bool `json:"ok"`
	Dependencies map[string]struct {
		OK       bool   `json:"ok"`
		Required bool   `json:"required"`
		Error    string `json:"error"`
		Detail   string `json:"detail"`
	} `json:"dependencies"`
}

func readHealthz(t *testing.T, url string) (int, healthz, string) {
	t.Helper()
	code, body := moreHealthz(t, url)
	var h healthz
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatalf("/healthz: %v: %s", err, body)
	}
	return code, h, body
}

// waitHealthz polls /healthz until cond holds.
func waitHealthz(t *testing.T, url, what string, within time.Duration, cond func(int, healthz) bool) (healthz, string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		code, h, body := readHealthz(t, url)
		if cond(code, h) {
			return h, body
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting %s for %s: %d %s", within, what, code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var socketAge = regexp.MustCompile(`^Socket Mode: last message or ping (\S+) ago$`)

// TestHealthzSlackSocket: with Slack pinging every second and nothing else
// said on the socket, /healthz's slack dependency stays fresh (the pings
// count); the socket dropped and reconnections refused, /healthz is 503
// with slack failing and saying how long ago Slack last spoke; reconnected,
// 200 again. /metrics has the Docker watcher's last-event time.
func TestHealthzSlackSocket(t *testing.T) {
	stack := testenv.Require(t)
	fake := slackfake.New(slackfake.Options{PingInterval: time.Second})
	t.Cleanup(fake.Close)
	b := startBot(t, stack, fake, botOptions{CleanExit: true})
	waitConnected(t, fake)
	base := "http://" + b.listenAddr(t)
	url := base + "/healthz"

	h, body := waitHealthz(t, url, "healthy", 30*time.Second, func(code int, h healthz) bool { return code == http.StatusOK })
	ages := []time.Duration{}
	for i := range 3 {
		if i > 0 {
			_, h, body = readHealthz(t, url)
		}
		slack := h.Dependencies["slack"]
		m := socketAge.FindStringSubmatch(slack.Detail)
		if !slack.OK || !slack.Required || m == nil {
			t.Fatalf("/healthz slack: %s", body)
		}
		age, err := time.ParseDuration(m[1])
		if err != nil {
			t.Fatal(err)
		}
		ages = append(ages, age)
		time.Sleep(1500 * time.Millisecond)
	}
	// 3 s without a message: only the pings keep the age under 2 s.
	for _, age := range ages {
		if age > 2*time.Second {
			t.Errorf("slack ages %v: the pings do not count", ages)
		}
	}
	connections := len(fake.ConnectionLog())
	if pings := len(fake.ConnectionLog()[connections-1].Pings); pings < 3 {
		t.Errorf("%d pings on the connection", pings)
	}

	// The socket gone, reconnections refused: 503, slack failing.
	fake.SetDown(true)
	fake.DropConnections()
	goneAt := time.Now()
	h, body = waitHealthz(t, url, "503 with slack failing", 30*time.Second, func(code int, h healthz) bool {
		return code == http.StatusServiceUnavailable && !h.Dependencies["slack"].OK
	})
	t.Logf("/healthz without the socket (after %s): %s", time.Since(goneAt).Round(time.Millisecond), body)
	if err := h.Dependencies["slack"].Error; !strings.HasPrefix(err, "Socket Mode disconnected; Slack last sent a message or ping ") || h.OK {
		t.Errorf("slack failing: %s", body)
	}
	if !h.Dependencies["docker[local]"].OK || !h.Dependencies["store"].OK {
		t.Errorf("the other dependencies: %s", body)
	}

	// Back.
	fake.SetDown(false)
	backAt := time.Now()
	waitHealthz(t, url, "200 again", time.Minute, func(code int, h healthz) bool {
		return code == http.StatusOK && h.Dependencies["slack"].OK
	})
	t.Logf("/healthz 200 %s after Slack came back", time.Since(backAt).Round(time.Millisecond))

	// The Docker watcher's last event (its connection at start at least).
	seen, ok := tlsMetric(t, base, `mfbot_watcher_last_event_timestamp_seconds{env="local",source="docker"}`)
	if !ok || time.Since(time.Unix(int64(seen), 0)) > 5*time.Minute {
		t.Errorf("the Docker watcher's last event time: %v (present %v)", seen, ok)
	}
}
