package bot

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// /healthz asks every dependency: a required one down is 503 and says
// why (redacted); back up, 200; an optional one down is reported only; a
// dependency that hangs is down within the probe timeout.
func TestHealthzAsksEveryDependency(t *testing.T) {
	var dockerDown, prefectDown, hang atomic.Bool
	probes := []Probe{
		{Name: "docker[prod]", Required: true, Check: func(ctx context.Context) error {
			if dockerDown.Load() {
				return errors.New("Docker engine at tcp://docker:2376 is unreachable (password=hunter2)")
			}
			return nil
		}},
		{Name: "store", Required: true, Check: func(ctx context.Context) error {
			if hang.Load() {
				<-ctx.Done()
				return ctx.Err()
			}
			return nil
		}},
		{Name: "prefect[prod]", Check: func(ctx context.Context) error {
			if prefectDown.Load() {
				return errors.New("Prefect does not answer")
			}
			return nil
		}},
	}
	redact := func(s string) string { return strings.ReplaceAll(s, "hunter2", "[REDACTED]") }
	srv := httptest.NewServer(HTTPHandler(NewSlack(nil, nil, nil, SlackOptions{}), "", false, nil, probes, redact))
	defer srv.Close()
	get := func() (int, map[string]any, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(body)
		return resp.StatusCode, body, string(raw)
	}
	if code, body, raw := get(); code != 200 || body["ok"] != true || !strings.Contains(raw, `"docker[prod]":{"ok":true,"required":true}`) {
		t.Fatalf("all up: %d %s", code, raw)
	}
	prefectDown.Store(true)
	if code, _, raw := get(); code != 200 || !strings.Contains(raw, `"prefect[prod]":{"error":"Prefect does not answer","ok":false,"required":false}`) {
		t.Errorf("an optional dependency down: %d %s", code, raw)
	}
	dockerDown.Store(true)
	code, _, raw := get()
	if code != http.StatusServiceUnavailable || !strings.Contains(raw, "unreachable") || strings.Contains(raw, "hunter2") {
		t.Errorf("Docker down: %d %s", code, raw)
	}
	dockerDown.Store(false)
	if code, _, raw := get(); code != 200 {
		t.Errorf("Docker back: %d %s", code, raw)
	}
	hang.Store(true)
	start := time.Now()
	if code, _, raw := get(); code != http.StatusServiceUnavailable || !strings.Contains(raw, "deadline exceeded") {
		t.Errorf("a hung store: %d %s", code, raw)
	}
	if waited := time.Since(start); waited > probeTimeout+time.Second {
		t.Errorf("/healthz waited %s for a hung dependency", waited)
	}
}
