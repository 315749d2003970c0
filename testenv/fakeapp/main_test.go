package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// capture redirects the fakeapp's stdout and stderr writers to buffers for the test.
func capture(t *testing.T) (out, errOut *syncBuffer) {
	t.Helper()
	out, errOut = &syncBuffer{}, &syncBuffer{}
	oldOut, oldErr := stdout.w, stderr.w
	stdout.w, stderr.w = out, errOut
	t.Cleanup(func() { stdout.w, stderr.w = oldOut, oldErr })
	return out, errOut
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTestApp() *app {
	a := &app{positionsAge: 30 * time.Second, prefectAge: 45 * time.Second, logbookAge: 90 * time.Second}
	a.healthy.Store(true)
	return a
}

func get(t *testing.T, h http.Handler, url string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, url, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func TestHealthcheckShapeAndToggle(t *testing.T) {
	capture(t)
	a := newTestApp()
	h := a.routes()

	code, body := get(t, h, "/api/v1/healthcheck")
	if code != http.StatusOK {
		t.Fatalf("healthcheck: %d %s", code, body)
	}
	var hc map[string]any
	if err := json.Unmarshal([]byte(body), &hc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"dateLastPositionReceivedByAPI", "dateLastPositionUpdatedByPrefect", "dateLogbookMessageReceived"} {
		s, ok := hc[k].(string)
		if !ok {
			t.Fatalf("%s missing in %s", k, body)
		}
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || time.Since(ts) > 5*time.Minute {
			t.Errorf("%s = %q: not a fresh RFC 3339 time (%v)", k, s, err)
		}
	}
	if hc["suddenDropOfPositionsReceived"] != false {
		t.Errorf("suddenDropOfPositionsReceived = %v", hc["suddenDropOfPositionsReceived"])
	}

	if code, _ := get(t, h, "/control/unhealthy"); code != http.StatusOK {
		t.Fatal(code)
	}
	if code, _ := get(t, h, "/api/v1/healthcheck"); code != http.StatusServiceUnavailable {
		t.Errorf("unhealthy healthcheck answered %d", code)
	}
	get(t, h, "/control/healthy")
	if code, _ := get(t, h, "/api/v1/healthcheck"); code != http.StatusOK {
		t.Errorf("healthy again answered %d", code)
	}

	get(t, h, "/control/freshness?positions=10m&drop=true")
	_, body = get(t, h, "/api/v1/healthcheck")
	_ = json.Unmarshal([]byte(body), &hc)
	ts, _ := time.Parse(time.RFC3339Nano, hc["dateLastPositionReceivedByAPI"].(string))
	if age := time.Since(ts); age < 9*time.Minute || age > 11*time.Minute {
		t.Errorf("positions age %v, want ~10m", age)
	}
	if hc["suddenDropOfPositionsReceived"] != true {
		t.Errorf("drop not reported: %s", body)
	}
	if code, _ := get(t, h, "/control/freshness?positions=soon"); code != http.StatusBadRequest {
		t.Errorf("bad duration answered %d", code)
	}
}

func TestVersion(t *testing.T) {
	code, body := get(t, newTestApp().routes(), "/version")
	if code != http.StatusOK || !strings.Contains(body, `"version":"`+version+`"`) || !strings.Contains(body, `"commit":"`) {
		t.Errorf("version: %d %s", code, body)
	}
}

func TestBurstWritesEverySecret(t *testing.T) {
	out, errOut := capture(t)
	code, body := get(t, newTestApp().routes(), "/control/burst?lines=14")
	if code != http.StatusOK {
		t.Fatalf("burst: %d %s", code, body)
	}
	all := out.String() + errOut.String()
	for _, s := range burstSecrets {
		if !strings.Contains(all, s) {
			t.Errorf("secret %q not written", s)
		}
	}
	for _, form := range []string{"password=", "admin:hunter2-burst@", "SPRING_DATASOURCE_PASSWORD=", "Authorization: Bearer ", "xoxb-", "-----BEGIN PRIVATE KEY-----"} {
		if !strings.Contains(all, form) {
			t.Errorf("form %q missing", form)
		}
	}
	if code, _ := get(t, newTestApp().routes(), "/control/burst?lines=0"); code != http.StatusBadRequest {
		t.Errorf("lines=0 answered %d", code)
	}
}

func TestFillWritesRequestedSize(t *testing.T) {
	out, _ := capture(t)
	code, body := get(t, newTestApp().routes(), "/control/fill?mb=2")
	if code != http.StatusOK {
		t.Fatalf("fill: %d %s", code, body)
	}
	n := len(out.String())
	if n < 2<<20 || n > 2<<20+4096 {
		t.Errorf("fill wrote %d bytes, want ~2 MiB", n)
	}
	if !strings.Contains(out.String(), "fill done: ") {
		t.Error("no final 'fill done' line")
	}
	for i, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if line == "" || (!strings.HasPrefix(line, "{") && !strings.HasPrefix(line, "20")) {
			t.Fatalf("line %d is not a log line: %q", i, line)
		}
	}
}

func TestSpringAndJSONLines(t *testing.T) {
	l := springLine("WARN", "main", "f.g.c.m.X", "hello")
	if !strings.Contains(l, "  WARN 1 --- [           main] f.g.c.m.X") || !strings.HasSuffix(l, " : hello") {
		t.Errorf("spring line %q", l)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(jsonLine("ERROR", "main", "x.Y", "boom", nil)), &ev); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"instant", "thread", "level", "loggerName", "message"} {
		if _, ok := ev[k]; !ok {
			t.Errorf("JSON line lacks %q: %v", k, ev)
		}
	}
}
