package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"mfbot/testenv/prefectfake"
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

// deployFlowsWorld is a Prefect 3 fake with three deployments at the seeded version, requiring
// PREFECT_API_AUTH_STRING admin:s3cret-auth.
func deployFlowsWorld(t *testing.T) (*prefectfake.Server, []*prefectfake.Flow, deployFlowsConfig) {
	t.Helper()
	s := prefectfake.Start(t)
	s.RequireAuthorization("Basic " + base64.StdEncoding.EncodeToString([]byte("admin:s3cret-auth")))
	flows := []*prefectfake.Flow{
		s.World.AddFlow("Monitorfish - Logbook", "*/1 * * * *"),
		s.World.AddFlow("Monitorfish - Beacons", "*/5 * * * *"),
		s.World.AddFlow("Monitorfish - Last positions", ""),
	}
	env := map[string]string{"PREFECT_API_URL": s.RESTURL() + "/", "MONITORFISH_VERSION": "v2", "PREFECT_API_AUTH_STRING": "admin:s3cret-auth"}
	c := deployFlowsEnv(func(k string) string { return env[k] })
	c.timeout = 2 * time.Second
	return s, flows, c
}

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

func TestDeployFlowsRegistersEveryDeployment(t *testing.T) {
	out, errOut := capture(t)
	s, flows, c := deployFlowsWorld(t)
	if c.image != defaultPipelineImage || c.apiURL != s.RESTURL() {
		t.Fatalf("config %+v: want the default image and the URL without its trailing /", c)
	}
	if code := deployFlows(c); code != 0 {
		t.Fatalf("deploy-flows exited %d: %s%s", code, out, errOut)
	}
	image := defaultPipelineImage + ":v2"
	for _, f := range flows {
		if v, img := s.World.DeploymentVersion(f.DeploymentID); v != "v2" || img != image {
			t.Errorf("%s carries %q, %q; want v2 and %s", f.Name, v, img, image)
		}
	}
	want := []string{
		"Deployment 'Monitorfish - Beacons' → v2 (image " + image + ")",
		"Deployment 'Monitorfish - Last positions' → v2 (image " + image + ")",
		"Deployment 'Monitorfish - Logbook' → v2 (image " + image + ")",
		"3 deployments registered",
	}
	if got := lines(out.String()); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
	if got := lines(errOut.String()); len(got) != 1 || got[0] != "Connecting to "+s.RESTURL()+" as admin:s3cret-auth" {
		t.Errorf("stderr %q, want one line quoting the URL and the auth string", errOut)
	}
	if invalid := s.World.Invalid(); len(invalid) != 0 {
		t.Errorf("requests Prefect refuses: %q", invalid)
	}
	if got := s.World.Requests(); got["POST /deployments/filter"] != 1 || got["PATCH /deployments/{id}"] != 3 || s.World.TotalRequests() != 4 {
		t.Errorf("requests %v, want one list and 3 PATCHes", got)
	}
}

func TestDeployFlowsPagesAndTakesTheImage(t *testing.T) {
	out, errOut := capture(t)
	s := prefectfake.Start(t)
	for i := range 205 {
		s.World.AddFlow(fmt.Sprintf("Monitorfish - Flow %03d", i), "")
	}
	env := map[string]string{"PREFECT_API_URL": s.RESTURL(), "MONITORFISH_VERSION": "v1.54.0", "PIPELINE_IMAGE": "127.0.0.1:5000/pipeline"}
	if code := deployFlows(deployFlowsEnv(func(k string) string { return env[k] })); code != 0 {
		t.Fatalf("deploy-flows exited %d: %s", code, errOut)
	}
	for _, f := range s.World.Flows() {
		if v, img := s.World.DeploymentVersion(f.ID); v != "v1.54.0" || img != "127.0.0.1:5000/pipeline:v1.54.0" {
			t.Fatalf("%s carries %q, %q", f.Name, v, img)
		}
	}
	if n := s.World.Requests()["POST /deployments/filter"]; n != 2 {
		t.Errorf("%d list requests, want 2 pages", n)
	}
	if !strings.HasSuffix(out.String(), "\n205 deployments registered\n") || lines(errOut.String())[0] != "Connecting to "+s.RESTURL() {
		t.Errorf("stdout ends %q, stderr %q", out.String()[max(0, len(out.String())-60):], errOut)
	}
	if invalid := s.World.Invalid(); len(invalid) != 0 {
		t.Errorf("requests Prefect refuses: %q", invalid)
	}
}

func TestDeployFlowsFailsOnRequest(t *testing.T) {
	out, errOut := capture(t)
	s, flows, c := deployFlowsWorld(t)
	c.fail = true
	if code := deployFlows(c); code != 1 {
		t.Fatalf("deploy-flows with DEPLOY_FLOWS_FAIL exited %d, want 1", code)
	}
	// By name: Beacons first, the others untouched.
	for i, want := range []string{prefectfake.DeploymentVersion, "v2", prefectfake.DeploymentVersion} {
		if v, _ := s.World.DeploymentVersion(flows[i].ID); v != want {
			t.Errorf("%s carries %q, want %q", flows[i].Name, v, want)
		}
	}
	if got := lines(out.String()); len(got) != 1 || !strings.HasPrefix(got[0], "Deployment 'Monitorfish - Beacons' → v2") {
		t.Errorf("stdout %q, want the first deployment alone", out)
	}
	if got := lines(errOut.String()); len(got) != 2 || !strings.HasPrefix(got[1], "Error: ") {
		t.Errorf("stderr %q, want the connection line then an error", errOut)
	}
}

func TestDeployFlowsFailSetting(t *testing.T) {
	for _, tc := range []struct {
		setting, version string
		fails            bool
	}{
		{"", "v2", false}, {"0", "v2", false}, {"false", "v2", false},
		{"1", "v2", true}, {"true", "v2", true}, {"*", "v2", true},
		{"v1", "v1", true}, {"v1", "v2", false}, {"v1, v3", "v3", true}, {"v1,v3", "v2", false},
	} {
		c := deployFlowsEnv(func(k string) string {
			return map[string]string{"MONITORFISH_VERSION": tc.version, "DEPLOY_FLOWS_FAIL": tc.setting}[k]
		})
		if c.fail != tc.fails {
			t.Errorf("DEPLOY_FLOWS_FAIL=%q deploying %s: fail %v, want %v", tc.setting, tc.version, c.fail, tc.fails)
		}
	}
}

func TestDeployFlowsNeedsItsVersion(t *testing.T) {
	out, errOut := capture(t)
	s, _, c := deployFlowsWorld(t)
	c.version = ""
	if code := deployFlows(c); code != 2 {
		t.Errorf("without MONITORFISH_VERSION: exit %d, want 2", code)
	}
	if !strings.Contains(errOut.String(), "MONITORFISH_VERSION is not set") || out.String() != "" || s.World.TotalRequests() != 0 {
		t.Errorf("stdout %q stderr %q, %d requests; want a clear message and nothing sent", out, errOut, s.World.TotalRequests())
	}
	c = deployFlowsEnv(func(k string) string { return map[string]string{"MONITORFISH_VERSION": "v2"}[k] })
	if code := deployFlows(c); code != 2 || !strings.Contains(errOut.String(), "PREFECT_API_URL is not set") {
		t.Errorf("without PREFECT_API_URL: exit %d, stderr %q", code, errOut)
	}
}

func TestDeployFlowsReportsHTTPFailures(t *testing.T) {
	t.Run("wrong credentials", func(t *testing.T) {
		out, errOut := capture(t)
		s, _, c := deployFlowsWorld(t)
		c.authString = "admin:wrong"
		if code := deployFlows(c); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		if got := lines(errOut.String()); len(got) != 2 || !strings.Contains(got[1], "HTTP 401") || out.String() != "" {
			t.Errorf("stdout %q stderr %q, want the 401 on stderr", out, errOut)
		}
		if v, _ := s.World.DeploymentVersion(s.World.Flows()[0].ID); v != prefectfake.DeploymentVersion {
			t.Errorf("a deployment changed: %q", v)
		}
	})
	t.Run("Prefect down", func(t *testing.T) {
		_, errOut := capture(t)
		s, _, c := deployFlowsWorld(t)
		s.Down()
		start := time.Now()
		if code := deployFlows(c); code != 1 || time.Since(start) > 3*time.Second {
			t.Errorf("exit %d after %s, want 1 within the timeout", code, time.Since(start))
		}
		if !strings.Contains(errOut.String(), "list deployments") {
			t.Errorf("stderr %q, want the error", errOut)
		}
	})
	t.Run("Prefect hangs", func(t *testing.T) {
		_, errOut := capture(t)
		hung := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hung:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(hung)
		c := deployFlowsConfig{apiURL: srv.URL + "/api", version: "v2", image: defaultPipelineImage, timeout: 200 * time.Millisecond}
		start := time.Now()
		if code := deployFlows(c); code != 1 || time.Since(start) > 2*time.Second {
			t.Errorf("exit %d after %s, want 1 at the timeout", code, time.Since(start))
		}
		if !strings.Contains(errOut.String(), "Timeout") {
			t.Errorf("stderr %q, want a timeout", errOut)
		}
	})
	t.Run("a PATCH refused", func(t *testing.T) {
		out, errOut := capture(t)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				io.WriteString(w, `[{"id":"00000001-0000-4000-8003-000000000001","name":"Monitorfish - Logbook"}]`)
				return
			}
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"detail":"Deployment is locked"}`)
		}))
		defer srv.Close()
		c := deployFlowsConfig{apiURL: srv.URL + "/api", version: "v2", image: defaultPipelineImage, timeout: time.Second}
		if code := deployFlows(c); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		if !strings.Contains(errOut.String(), "'Monitorfish - Logbook': PATCH /api/deployments/00000001-0000-4000-8003-000000000001: HTTP 409 Conflict: {\"detail\":\"Deployment is locked\"}") ||
			out.String() != "" {
			t.Errorf("stdout %q stderr %q", out, errOut)
		}
	})
}

// withFlavor sets the build flavor for one test.
func withFlavor(t *testing.T, f string) {
	old := flavor
	flavor = f
	t.Cleanup(func() { flavor = old })
}

func TestUnhealthyFlavorProbeAlwaysFails(t *testing.T) {
	a := newTestApp()
	srv := httptest.NewServer(a.routes())
	defer srv.Close()
	t.Setenv("FAKEAPP_HEALTH_URL", srv.URL+"/api/v1/healthcheck")

	if code := runHealthcheck(); code != 0 {
		t.Fatalf("the default flavor's probe of a healthy app exited %d", code)
	}
	if !startsHealthy() {
		t.Error("the default flavor starts unhealthy")
	}

	withFlavor(t, flavorUnhealthy)
	out, _ := capture(t)
	if code := runHealthcheck(); code != 1 {
		t.Errorf("the unhealthy flavor's probe exited %d, want 1", code)
	}
	want := "healthcheck: GET " + srv.URL + "/api/v1/healthcheck?token=" + unhealthyProbeSecret + ": 503 Service Unavailable\n"
	if out.String() != want {
		t.Errorf("probe output %q, want %q", out, want)
	}
	if startsHealthy() {
		t.Error("the unhealthy flavor starts healthy")
	}
	code, body := get(t, a.routes(), "/version")
	if code != http.StatusOK || !strings.Contains(body, `"version":"`+version+`"`) {
		t.Errorf("/version in the unhealthy flavor: %d %s", code, body)
	}

	t.Setenv("FAKEAPP_HEALTH_URL", "")
	t.Setenv("FAKEAPP_ADDR", ":9999")
	out.mu.Lock()
	out.b.Reset()
	out.mu.Unlock()
	runHealthcheck()
	if !strings.Contains(out.String(), "GET http://127.0.0.1:9999/api/v1/healthcheck?token=s3cr3t-probe-token: 503 Service Unavailable") {
		t.Errorf("probe output %q, want the app's own URL", out)
	}
}
