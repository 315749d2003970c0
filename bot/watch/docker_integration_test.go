//go:build integration

package watch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"

	"mfbot/adapters/docker"
	"mfbot/config"
	"mfbot/containers"
	"mfbot/incident"
	"mfbot/testenv"
)

// These tests run their own throwaway containers (mfbot-watch-*, label
// mfbot.test=1) from the fake app's image, never the compose stack that
// other tests use, and an environment whose only services are them.

type spec struct {
	env       []string
	memory    int64 // bytes; 0: no limit
	restart   container.RestartPolicyMode
	health    bool // the fake app's probe every second
	published bool // publish 8880 on 127.0.0.1
}

type liveContainer struct {
	ID, Name string
	Port     string // published host port, when asked
}

// startNamed creates and starts a container through the API (the image
// has no shell: an exec-form healthcheck cannot be given to docker run).
func startNamed(t *testing.T, stack testenv.Stack, api *client.Client, name string, s spec) liveContainer {
	t.Helper()
	cfg := &container.Config{
		Image:  stack.AppImage("v1"),
		Env:    append([]string{"FAKEAPP_LOG_INTERVAL=0"}, s.env...),
		Labels: map[string]string{"mfbot.test": "1"},
	}
	hc := &container.HostConfig{RestartPolicy: container.RestartPolicy{Name: s.restart}}
	if s.restart == "" {
		hc.RestartPolicy.Name = container.RestartPolicyDisabled
	}
	if s.health {
		cfg.Healthcheck = &container.HealthConfig{Test: []string{"CMD", "/fakeapp", "healthcheck"}, Interval: time.Second, Timeout: 3 * time.Second, Retries: 2}
	}
	if s.memory > 0 {
		hc.Memory, hc.MemorySwap = s.memory, s.memory
	}
	if s.published {
		cfg.ExposedPorts = nat.PortSet{"8880/tcp": {}}
		hc.PortBindings = nat.PortMap{"8880/tcp": {{HostIP: "127.0.0.1"}}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	created, err := api.ContainerCreate(ctx, cfg, hc, nil, nil, name)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := api.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true}); err != nil && !client.IsErrNotFound(err) {
			t.Errorf("remove %s: %v", name, err)
		}
	})
	if err := api.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	c := liveContainer{ID: created.ID, Name: name}
	if s.published {
		info, err := api.ContainerInspect(ctx, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		if b := info.NetworkSettings.Ports["8880/tcp"]; len(b) > 0 {
			c.Port = b[0].HostPort
		} else {
			t.Fatalf("%s: port 8880 not published", name)
		}
	}
	return c
}

// environment loads a configuration whose only services are the given
// containers (service name → container name).
func environment(t *testing.T, services map[string]string) config.Environment {
	t.Helper()
	var b strings.Builder
	b.WriteString("environments:\n  watch:\n    compose_project: mfbot-watch-none\n    services:\n")
	for _, d := range []string{"app", "db", "geoserver", "pipeline-server", "pipeline-flows"} {
		fmt.Fprintf(&b, "      %s:\n        enabled: false\n", d)
	}
	for svc, name := range services {
		fmt.Fprintf(&b, "      %s:\n        container: %s\n", svc, name)
	}
	path := filepath.Join(t.TempDir(), "mfbot.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	env, ok := cfg.Environment("watch")
	if !ok || len(env.Services) != len(services) {
		t.Fatalf("environment: %+v", cfg.Environments)
	}
	return env
}

// watching runs a watcher of env on the real engine until the test ends.
type watching struct {
	t       *testing.T
	w       *DockerWatcher
	signals chan incident.Signal
	mu      sync.Mutex
	cursor  time.Time
	stop    func() // stops the watcher and waits for Run to return
}

func watch(t *testing.T, engine containers.Engine, env config.Environment, cursor time.Time) *watching {
	t.Helper()
	wt := &watching{t: t, signals: make(chan incident.Signal, 100)}
	wt.w = NewDockerWatcher(env, engine, DockerOptions{
		Cursor: cursor,
		OnCursor: func(c time.Time) {
			wt.mu.Lock()
			wt.cursor = c
			wt.mu.Unlock()
		},
		Log: slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- wt.w.Run(ctx, wt.signals) }()
	stopped := false
	wt.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	}
	t.Cleanup(wt.stop)
	return wt
}

func (wt *watching) Cursor() time.Time { wt.mu.Lock(); defer wt.mu.Unlock(); return wt.cursor }

// next waits for the next signal of a target (others are skipped).
func (wt *watching) next(target string, timeout time.Duration) incident.Signal {
	wt.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case s := <-wt.signals:
			wt.t.Logf("signal %s %s exit=%d oom=%v hc=%v detail=%q at %s", s.Target, s.Kind, s.ExitCode, s.OOM, s.HasHealthcheck, s.Detail, s.Time.Format(time.RFC3339Nano))
			if s.Target == target {
				return s
			}
		case <-deadline:
			wt.t.Fatalf("no signal for %s within %s", target, timeout)
		}
	}
}

// until waits for a signal of a kind, failing on any failure signal
// before it other than the allowed kinds.
func (wt *watching) until(target string, kind incident.SignalKind, timeout time.Duration, allowed ...incident.SignalKind) incident.Signal {
	wt.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := wt.next(target, time.Until(deadline))
		if s.Kind == kind {
			return s
		}
		if s.Kind.IsFailure() && !contains(allowed, s.Kind) {
			wt.t.Fatalf("unexpected failure %s (exit %d) while waiting for %s", s.Kind, s.ExitCode, kind)
		}
	}
}

// quiet asserts that no failure of target comes within d.
func (wt *watching) quiet(target string, d time.Duration) {
	wt.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case s := <-wt.signals:
			wt.t.Logf("signal %s %s exit=%d oom=%v", s.Target, s.Kind, s.ExitCode, s.OOM)
			if s.Target == target && s.Kind.IsFailure() {
				wt.t.Fatalf("unexpected failure %s (exit %d)", s.Kind, s.ExitCode)
			}
		case <-deadline:
			return
		}
	}
}

func contains(kinds []incident.SignalKind, k incident.SignalKind) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}

func setup(t *testing.T) (testenv.Stack, *docker.Engine, *client.Client) {
	t.Helper()
	stack := testenv.Require(t)
	engine, err := docker.New(docker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	return stack, engine, api
}

func get(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Logf("GET %s: %v", url, err) // the OOM endpoint may not answer before the kill
		return
	}
	resp.Body.Close()
}

func TestWatchCrashIsOneSignal(t *testing.T) {
	t.Parallel()
	stack, engine, api := setup(t)
	name := "mfbot-watch-crash-" + randomSuffix()
	wt := watch(t, engine, environment(t, map[string]string{"crasher": name}), time.Time{})
	c := startNamed(t, stack, api, name, spec{env: []string{"FAKEAPP_CRASH_AFTER=1s", "FAKEAPP_EXIT_CODE=3"}})
	s := wt.until("crasher", incident.SignalCrashed, 20*time.Second)
	if s.ExitCode != 3 || s.OOM || s.Env != "watch" || s.Source != "docker" {
		t.Fatalf("crash signal %+v", s)
	}
	d, err := engine.Inspect(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The signal is dated by the die event, just after the exit.
	if lag := s.Time.Sub(d.FinishedAt); lag < 0 || lag > 5*time.Second {
		t.Fatalf("signal at %s, container finished at %s", s.Time, d.FinishedAt)
	}
	wt.quiet("crasher", 2*time.Second)
}

func TestWatchOOMKillIsOneOOMSignal(t *testing.T) {
	t.Parallel()
	stack, engine, api := setup(t)
	name := "mfbot-watch-oom-" + randomSuffix()
	wt := watch(t, engine, environment(t, map[string]string{"hog": name}), time.Time{})
	c := startNamed(t, stack, api, name, spec{memory: 32 << 20, published: true})
	wt.until("hog", incident.SignalRunning, 20*time.Second)
	waitListening(t, c.Port)
	get(t, "http://127.0.0.1:"+c.Port+"/control/oom")
	s := wt.until("hog", incident.SignalOOMKilled, 30*time.Second)
	if !s.OOM || s.ExitCode != 137 {
		t.Fatalf("oom signal %+v", s)
	}
	wt.quiet("hog", 2*time.Second)
}

func TestWatchStopIsNotAFailure(t *testing.T) {
	t.Parallel()
	stack, engine, api := setup(t)
	clean := "mfbot-watch-stop-" + randomSuffix()
	jvm := "mfbot-watch-stop143-" + randomSuffix()
	byBot := "mfbot-watch-restart-" + randomSuffix()
	wt := watch(t, engine, environment(t, map[string]string{"clean": clean, "jvm": jvm, "bybot": byBot}), time.Time{})
	startNamed(t, stack, api, clean, spec{})
	startNamed(t, stack, api, jvm, spec{env: []string{"FAKEAPP_SIGTERM_EXIT_CODE=143"}})
	b := startNamed(t, stack, api, byBot, spec{health: true})
	wt.until("clean", incident.SignalRunning, 20*time.Second)
	wt.until("jvm", incident.SignalRunning, 20*time.Second)
	wt.until("bybot", incident.SignalHealthy, 30*time.Second)

	testenv.Docker(t, "stop", clean)
	if s := wt.until("clean", incident.SignalStopped, 20*time.Second); s.ExitCode != 0 {
		t.Fatalf("docker stop: %+v", s)
	}
	testenv.Docker(t, "stop", jvm)
	if s := wt.until("jvm", incident.SignalStopped, 20*time.Second); s.ExitCode != 143 {
		t.Fatalf("docker stop, exit 143: %+v", s)
	}
	// mfbot's own restart (the engine's, as /mf restart uses it).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := engine.Restart(ctx, b.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	wt.until("bybot", incident.SignalStopped, 20*time.Second)
	if s := wt.until("bybot", incident.SignalRunning, 20*time.Second); !s.HasHealthcheck {
		t.Fatalf("a container with a healthcheck: %+v", s)
	}
	wt.until("bybot", incident.SignalHealthy, 30*time.Second)
	for _, target := range []string{"clean", "jvm", "bybot"} {
		wt.quiet(target, 500*time.Millisecond)
	}
}

func TestWatchUnhealthyThenHealthy(t *testing.T) {
	t.Parallel()
	stack, engine, api := setup(t)
	name := "mfbot-watch-health-" + randomSuffix()
	wt := watch(t, engine, environment(t, map[string]string{"sick": name}), time.Time{})
	c := startNamed(t, stack, api, name, spec{env: []string{"FAKEAPP_UNHEALTHY=1"}, health: true, published: true})
	if s := wt.until("sick", incident.SignalRunning, 20*time.Second); !s.HasHealthcheck {
		t.Fatalf("start of a container with a healthcheck: %+v", s)
	}
	s := wt.until("sick", incident.SignalUnhealthy, 30*time.Second)
	if !strings.Contains(s.Detail, "503") || len([]rune(s.Detail)) > 200 {
		t.Fatalf("unhealthy detail %q", s.Detail)
	}
	get(t, "http://127.0.0.1:"+c.Port+"/control/healthy")
	wt.until("sick", incident.SignalHealthy, 30*time.Second)
}

func TestWatchRestartLoopGivesSuccessiveCrashes(t *testing.T) {
	t.Parallel()
	stack, engine, api := setup(t)
	name := "mfbot-watch-loop-" + randomSuffix()
	wt := watch(t, engine, environment(t, map[string]string{"looper": name}), time.Time{})
	startNamed(t, stack, api, name, spec{env: []string{"FAKEAPP_CRASH_AFTER=1s", "FAKEAPP_EXIT_CODE=3"}, restart: container.RestartPolicyAlways})
	var last time.Time
	for i := range 3 {
		s := wt.until("looper", incident.SignalCrashed, 30*time.Second)
		if s.ExitCode != 3 || !s.Time.After(last) {
			t.Fatalf("crash %d: %+v (previous at %s)", i+1, s, last)
		}
		last = s.Time
		if i < 2 {
			if s := wt.until("looper", incident.SignalRunning, 30*time.Second); s.HasHealthcheck {
				t.Fatalf("no healthcheck configured: %+v", s)
			}
		}
	}
}

// A watcher stopped and started again from its persisted cursor sees the
// crash that happened in between, once, and nothing before the cursor again.
func TestWatchResumeFromPersistedCursor(t *testing.T) {
	t.Parallel()
	stack, engine, api := setup(t)
	name := "mfbot-watch-resume-" + randomSuffix()
	env := environment(t, map[string]string{"resumed": name})
	first := watch(t, engine, env, time.Time{})
	c := startNamed(t, stack, api, name, spec{published: true})
	first.until("resumed", incident.SignalRunning, 20*time.Second)
	waitListening(t, c.Port)
	// A crash seen by the first watcher.
	get(t, "http://127.0.0.1:"+c.Port+"/control/crash?code=5")
	if s := first.until("resumed", incident.SignalCrashed, 20*time.Second); s.ExitCode != 5 {
		t.Fatalf("first crash %+v", s)
	}
	first.stop()
	cursor := first.Cursor()
	if cursor.IsZero() {
		t.Fatal("no cursor reported")
	}
	// While no watcher runs: restarted, crashes again with another code.
	testenv.Docker(t, "start", name)
	hostPort := testenv.Docker(t, "port", name, "8880") // a new one at each start
	port := hostPort[strings.LastIndex(hostPort, ":")+1:]
	waitListening(t, port)
	get(t, "http://127.0.0.1:"+port+"/control/crash?code=6")
	waitExited(t, engine, c.ID)

	second := watch(t, engine, env, cursor)
	s := second.until("resumed", incident.SignalCrashed, 20*time.Second)
	if s.ExitCode != 6 {
		t.Fatalf("resumed: %+v, want the crash of the gap (6), not the one before the cursor (5)", s)
	}
	second.quiet("resumed", 2*time.Second)
}

// waitListening waits until the fake app answers on a published port.
func waitListening(t *testing.T, port string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://127.0.0.1:" + port + "/version")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app on port %s does not answer: %v", port, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitExited waits until a container has exited.
func waitExited(t *testing.T, engine containers.Engine, id string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := engine.Inspect(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if d.State == "exited" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s is %s, want exited", id, d.State)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func randomSuffix() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// A cursor whose event the engine no longer holds (its memory is 256
// events; a restart empties it): the state of the containers fills the
// gap, and the die the engine still replays does not report the exit twice.
func TestWatchResumeFromAnOldCursorReconciles(t *testing.T) {
	t.Parallel()
	stack, engine, api := setup(t)
	name := "mfbot-watch-old-" + randomSuffix()
	running := "mfbot-watch-up-" + randomSuffix()
	env := environment(t, map[string]string{"gone": name, "up": running})
	cursor := time.Now().Add(-time.Second) // no event at this very nanosecond
	c := startNamed(t, stack, api, name, spec{env: []string{"FAKEAPP_CRASH_AFTER=500ms", "FAKEAPP_EXIT_CODE=7"}})
	startNamed(t, stack, api, running, spec{})
	waitExited(t, engine, c.ID)
	wt := watch(t, engine, env, cursor)
	var crashes int
	deadline := time.After(5 * time.Second)
	for done := false; !done; {
		select {
		case s := <-wt.signals:
			t.Logf("signal %s %s exit=%d", s.Target, s.Kind, s.ExitCode)
			if s.Target == "gone" && s.Kind == incident.SignalCrashed {
				crashes++
				if s.ExitCode != 7 {
					t.Fatalf("crash %+v", s)
				}
			}
		case <-deadline:
			done = true
		}
	}
	if crashes != 1 {
		t.Fatalf("%d crash signals for one exit, want 1", crashes)
	}
}

// An engine that does not answer: the watcher says so once (the engine's
// incident), retries with backoff and stops cleanly.
func TestWatchUnreachableEngineRetries(t *testing.T) {
	t.Parallel()
	engine, err := docker.New(docker.Options{Host: "unix://" + filepath.Join(t.TempDir(), "no-docker.sock")})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	env := environment(t, map[string]string{"x": "mfbot-watch-none"})
	w := NewDockerWatcher(env, engine, DockerOptions{BackoffMin: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(tlog{t}, nil))})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	signals := make(chan incident.Signal)
	var got []incident.Signal
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for s := range signals {
			got = append(got, s)
		}
	}()
	if err := w.Run(ctx, signals); err != nil {
		t.Fatalf("Run: %v", err)
	}
	close(signals)
	<-drained
	if time.Since(start) > 3*time.Second {
		t.Fatalf("Run took %s to stop", time.Since(start))
	}
	if len(got) != 1 || got[0].Target != DockerEngineTarget || got[0].Kind != incident.SignalUnreachable || !strings.Contains(got[0].Detail, "is unreachable") {
		t.Fatalf("signals %+v, want one: the engine unreachable", got)
	}
	// 20+40+80+100+100+… ms within a second.
	if n := w.Reconnects(); n < 5 || n > 15 {
		t.Fatalf("%d reconnections in a second", n)
	}
}
