package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mfbot/config"
	"mfbot/containers"
	"mfbot/incident"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// step is one scripted Watch call.
type step struct {
	// The world before this session (applied at its first engine call:
	// the replay query of a resume, or the stream): when set, the
	// containers and their details, events in the engine's memory.
	containers []containers.Container
	details    map[string]containers.ContainerDetails
	gap        []containers.Event
	forget     bool               // the engine restarted: its memory is empty
	live       []containers.Event // events streamed after the replay
	lasts      time.Duration      // how long the stream stays up (on the clock)
	err        error              // how it ends (nil: it blocks until the context ends)
}

// fakeEngine plays the engine: a memory of events replayed by Events and
// Watch from since (inclusive, like dockerd), scripted live streams,
// containers and their details.
type fakeEngine struct {
	containers.Engine // unimplemented methods panic

	mu         sync.Mutex
	clock      *clock
	containers []containers.Container
	details    map[string]containers.ContainerDetails
	memory     []containers.Event
	steps      []step
	watchSince []time.Time
	replays    []time.Time
	inspects   int
	listErr    error
	lists      int          // listings so far
	failLists  map[int]bool // which listings fail (1: the first)
	// failReplays: the error of a replay (1: the first Events call).
	failReplays map[int]error
	idle        chan struct{} // closed when the script is over
	over        sync.Once
}

func newFake(clk *clock, containers []containers.Container, details map[string]containers.ContainerDetails, steps ...step) *fakeEngine {
	return &fakeEngine{clock: clk, containers: containers, details: details, steps: steps, idle: make(chan struct{})}
}

func (f *fakeEngine) Containers(ctx context.Context) ([]containers.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listErr != nil {
		return nil, f.listErr
	}
	f.lists++
	if f.failLists[f.lists] {
		return nil, errors.New("list containers: Docker engine did not answer in time")
	}
	return slices.Clone(f.containers), nil
}

func (f *fakeEngine) Inspect(ctx context.Context, id string) (containers.ContainerDetails, error) {
	if _, ok := ctx.Deadline(); !ok {
		return containers.ContainerDetails{}, errors.New("inspect without a timeout")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inspects++
	d, ok := f.details[id]
	if !ok {
		return d, fmt.Errorf("inspect %s: %w", id, containers.ErrNoSuchContainer)
	}
	return d, nil
}

// Events is the adapter's bounded query: since at second precision.
func (f *fakeEngine) Events(ctx context.Context, since time.Time, ids []string) ([]containers.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replays = append(f.replays, since)
	if err := f.failReplays[len(f.replays)]; err != nil {
		return nil, err
	}
	f.remember()
	var out []containers.Event
	for _, ev := range f.memory {
		if ev.Time.Unix() >= since.Unix() {
			out = append(out, ev)
		}
	}
	return out, nil
}

// remember applies the next step's changes of the world, once.
func (f *fakeEngine) remember() {
	if len(f.steps) == 0 {
		return
	}
	st := &f.steps[0]
	if st.forget {
		f.memory, st.forget = nil, false
	}
	f.memory = append(f.memory, st.gap...)
	st.gap = nil
	if st.containers != nil {
		f.containers, st.containers = st.containers, nil
	}
	for id, d := range st.details {
		f.details[id] = d
	}
	st.details = nil
}

func (f *fakeEngine) Watch(ctx context.Context, since time.Time, sink func(containers.Event) error) error {
	f.mu.Lock()
	f.watchSince = append(f.watchSince, since)
	f.remember()
	if len(f.steps) == 0 {
		f.mu.Unlock()
		f.over.Do(func() { close(f.idle) })
		<-ctx.Done()
		return nil
	}
	st := f.steps[0]
	f.steps = f.steps[1:]
	var replay []containers.Event
	for _, ev := range f.memory {
		if !ev.Time.Before(since) {
			replay = append(replay, ev)
		}
	}
	f.memory = append(f.memory, st.live...)
	f.mu.Unlock()
	for _, ev := range append(replay, st.live...) {
		if err := sink(ev); err != nil {
			return err
		}
	}
	f.clock.Add(st.lasts)
	if st.err == nil {
		f.over.Do(func() { close(f.idle) })
		<-ctx.Done()
		return nil
	}
	return st.err
}

var env = config.Environment{
	Name:           "prod",
	ComposeProject: "remote",
	Services: []config.Service{
		{Name: "app", KnownNames: []string{"remote_app_1"}},
		{Name: "db", KnownNames: []string{"remote_db_1"}},
		{Name: "geoserver", Container: "monitorfish-geoserver"},
		{Name: "pipeline-server", Container: "monitorfish-pipeline-server"},
		{Name: "pipeline-flows", Container: "monitorfish-pipeline-flows"},
		{Name: "web", Container: "web"},
		{Name: "absent", Container: "nowhere"},
	},
}

func ctr(id, name, state string) containers.Container {
	return containers.Container{ID: id, Name: name, State: state}
}

func running(id, name, health string) containers.ContainerDetails {
	return containers.ContainerDetails{Container: containers.Container{ID: id, Name: name, State: "running", Health: health, Image: "img:" + name}, StartedAt: at(-time.Hour)}
}

func exited(id, name string, code int, finished time.Time) containers.ContainerDetails {
	return containers.ContainerDetails{Container: containers.Container{ID: id, Name: name, State: "exited", Image: "img:" + name}, ExitCode: code, FinishedAt: finished, StartedAt: finished.Add(-time.Minute)}
}

// The usual stack: app running healthy, another container beside.
func stack() ([]containers.Container, map[string]containers.ContainerDetails) {
	return []containers.Container{ctr("app1", "remote_app_1", "running"), ctr("other", "something_else", "running")},
		map[string]containers.ContainerDetails{"app1": running("app1", "remote_app_1", "healthy"), "other": running("other", "something_else", "")}
}

func ev(d time.Duration, id, name, action string, attrs ...string) containers.Event {
	a := map[string]string{"name": name, "image": "img:" + name}
	for i := 0; i+1 < len(attrs); i += 2 {
		a[attrs[i]] = attrs[i+1]
	}
	return containers.Event{Time: at(d), Action: action, ID: id, Name: name, Attributes: a}
}

func die(d time.Duration, id, name string, code int) containers.Event {
	return ev(d, id, name, "die", "exitCode", fmt.Sprint(code))
}

func kill(d time.Duration, id, name string, sig int) containers.Event {
	return ev(d, id, name, "kill", "signal", fmt.Sprint(sig))
}

// describe renders a signal compactly for comparisons.
func describe(s incident.Signal) string {
	out := s.Target + " " + string(s.Kind)
	switch s.Kind {
	case incident.SignalCrashed, incident.SignalOOMKilled, incident.SignalStopped:
		out += fmt.Sprintf("(%d)", s.ExitCode)
	case incident.SignalRunning:
		if s.HasHealthcheck {
			out += "(hc)"
		}
	case incident.SignalUnhealthy:
		out += ": " + s.Detail
	}
	if s.Kind == incident.SignalOOMKilled && !s.OOM {
		out += " OOM=false"
	}
	return out
}

type harness struct {
	w       *DockerWatcher
	eng     *fakeEngine
	signals []incident.Signal // about the services
	engine  []incident.Signal // about the engine itself (DockerEngineTarget)
	slept   []time.Duration
	cursors []time.Time
}

// run runs a watcher until its engine's script is over.
func run(t *testing.T, eng *fakeEngine, opts DockerOptions) *harness {
	t.Helper()
	h := &harness{eng: eng}
	if opts.Now == nil {
		opts.Now = eng.clock.Now
	}
	opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		opts.Log = slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	opts.OnCursor = func(c time.Time) { h.cursors = append(h.cursors, c) }
	h.w = NewDockerWatcher(env, eng, opts)
	h.w.sleep = func(ctx context.Context, d time.Duration) error { h.slept = append(h.slept, d); return nil }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	signals := make(chan incident.Signal, 100)
	done := make(chan error, 1)
	go func() { done <- h.w.Run(ctx, signals) }()
	select {
	case <-eng.idle:
	case <-ctx.Done():
		t.Fatal("the script did not run to its end")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	close(signals)
	for s := range signals {
		if s.Env != "prod" || s.Source != "docker" {
			t.Errorf("signal key %v", s.Key)
		}
		if s.Target == DockerEngineTarget {
			h.engine = append(h.engine, s)
			continue
		}
		h.signals = append(h.signals, s)
	}
	return h
}

type tlog struct{ t *testing.T }

func (l tlog) Write(p []byte) (int, error) { l.t.Log(strings.TrimSpace(string(p))); return len(p), nil }

func (h *harness) got() []string {
	out := make([]string, len(h.signals))
	for i, s := range h.signals {
		out[i] = describe(s)
	}
	return out
}

func expect(t *testing.T, h *harness, want ...string) {
	t.Helper()
	if got := h.got(); !slices.Equal(got, want) {
		t.Fatalf("signals:\n got  %q\n want %q", got, want)
	}
}

func TestCrashIsOneSignal(t *testing.T) {
	clk := &clock{now: t0}
	list, details := stack()
	eng := newFake(clk, list, details, step{live: []containers.Event{
		die(time.Second, "app1", "remote_app_1", 1),
		ev(time.Second+time.Millisecond, "app1", "remote_app_1", "start"),
	}})
	h := run(t, eng, DockerOptions{})
	expect(t, h, "app healthy", "app crashed(1)", "app running(hc)")
	if s := h.signals[1]; !s.Time.Equal(at(time.Second)) || s.Detail != "img:remote_app_1" || s.OOM {
		t.Fatalf("crash signal %+v", s)
	}
	if !h.w.LastEvent().Equal(at(time.Second + time.Millisecond)) {
		t.Fatalf("LastEvent %v", h.w.LastEvent())
	}
	// The first reconciliation reports t0, then each event its time.
	if want := []time.Time{t0, at(time.Second), at(time.Second + time.Millisecond)}; !slices.EqualFunc(h.cursors, want, time.Time.Equal) {
		t.Fatalf("cursors %v, want %v", h.cursors, want)
	}
	if !eng.watchSince[0].Equal(t0) {
		t.Fatalf("first watch since %v, want t0 (the moment before the listing)", eng.watchSince[0])
	}
}

func TestEventTimeKeepsNanoseconds(t *testing.T) {
	clk := &clock{now: t0}
	list, details := stack()
	eng := newFake(clk, list, details, step{live: []containers.Event{die(time.Second+123456789, "app1", "remote_app_1", 1)}})
	h := run(t, eng, DockerOptions{})
	if s := h.signals[len(h.signals)-1]; !s.Time.Equal(at(time.Second + 123456789)) {
		t.Fatalf("time %v", s.Time)
	}
}

func TestOOMKillIsOneSignal(t *testing.T) {
	clk := &clock{now: t0}
	list, details := stack()
	eng := newFake(clk, list, details, step{live: []containers.Event{
		// What dockerd 20.10 sent here: oom, sometimes twice, then die 137.
		ev(time.Second, "app1", "remote_app_1", "oom"),
		ev(time.Second+6*time.Millisecond, "app1", "remote_app_1", "oom"),
		die(time.Second+120*time.Millisecond, "app1", "remote_app_1", 137),
		ev(2*time.Second, "app1", "remote_app_1", "start"),
		// A later ordinary crash is not an OOM.
		die(time.Minute, "app1", "remote_app_1", 1),
	}})
	h := run(t, eng, DockerOptions{})
	expect(t, h, "app healthy", "app oom(137)", "app running(hc)", "app crashed(1)")
	if !h.signals[1].OOM {
		t.Fatal("OOM flag not set")
	}
}

func TestStopsAreNotFailures(t *testing.T) {
	clk := &clock{now: t0}
	list, details := stack()
	app := func(d time.Duration, action string, attrs ...string) containers.Event {
		return ev(d, "app1", "remote_app_1", action, attrs...)
	}
	eng := newFake(clk, list, details, step{live: []containers.Event{
		// docker stop, clean exit
		kill(1*time.Second, "app1", "remote_app_1", 15), die(1*time.Second+100*time.Millisecond, "app1", "remote_app_1", 0), app(1*time.Second+200*time.Millisecond, "stop"),
		app(2*time.Second, "start"),
		// docker stop of a JVM: 143
		kill(3*time.Second, "app1", "remote_app_1", 15), die(3*time.Second+100*time.Millisecond, "app1", "remote_app_1", 143),
		app(4*time.Second, "start"),
		// grace period over: SIGTERM, SIGKILL, 137
		kill(5*time.Second, "app1", "remote_app_1", 15), kill(15*time.Second, "app1", "remote_app_1", 9), die(15*time.Second+100*time.Millisecond, "app1", "remote_app_1", 137),
		app(16*time.Second, "start"),
		// a clean exit without any kill
		die(20*time.Second, "app1", "remote_app_1", 0),
		app(21*time.Second, "start"),
		// a reload signal is not a stop
		kill(22*time.Second, "app1", "remote_app_1", 1), die(23*time.Second, "app1", "remote_app_1", 2),
		app(24*time.Second, "start"),
		// a stop request long ago does not cover a crash now
		kill(25*time.Second, "app1", "remote_app_1", 15), die(25*time.Second+2*time.Minute, "app1", "remote_app_1", 1),
		app(26*time.Second+2*time.Minute, "start"),
		// a stop request before a start is spent by it
		kill(27*time.Second+2*time.Minute, "app1", "remote_app_1", 15), app(28*time.Second+2*time.Minute, "start"), die(29*time.Second+2*time.Minute, "app1", "remote_app_1", 3),
	}})
	h := run(t, eng, DockerOptions{})
	expect(t, h, "app healthy",
		"app stopped(0)", "app running(hc)",
		"app stopped(143)", "app running(hc)",
		"app stopped(137)", "app running(hc)",
		"app stopped(0)", "app running(hc)",
		"app crashed(2)", "app running(hc)",
		"app crashed(1)", "app running(hc)",
		"app running(hc)", "app crashed(3)")
}

func TestHealthTransitions(t *testing.T) {
	clk := &clock{now: t0}
	list, details := stack()
	long := strings.Repeat("x", 300)
	d := details["app1"]
	d.HealthLog = []containers.HealthCheck{{ExitCode: 0, Output: "ok"}, {ExitCode: 1, Output: "\n  HTTP 503 " + long + "\n"}}
	details["app1"] = d
	eng := newFake(clk, list, details, step{live: []containers.Event{
		ev(time.Second, "app1", "remote_app_1", "health_status: unhealthy"),
		ev(2*time.Second, "app1", "remote_app_1", "health_status: healthy"),
	}})
	h := run(t, eng, DockerOptions{})
	if len(h.signals) != 3 {
		t.Fatalf("signals %q", h.got())
	}
	u := h.signals[1]
	if u.Kind != incident.SignalUnhealthy || !u.HasHealthcheck || !strings.HasPrefix(u.Detail, "HTTP 503 xxx") || len([]rune(u.Detail)) != 200 {
		t.Fatalf("unhealthy %+v (detail %d runes)", u, len([]rune(u.Detail)))
	}
	if h.signals[2].Kind != incident.SignalHealthy || !h.signals[2].Time.Equal(at(2*time.Second)) {
		t.Fatalf("healthy %+v", h.signals[2])
	}
}

func TestStartSaysWhetherThereIsAHealthcheck(t *testing.T) {
	clk := &clock{now: t0}
	list := []containers.Container{ctr("app1", "remote_app_1", "running"), ctr("web1", "web", "running")}
	details := map[string]containers.ContainerDetails{"app1": running("app1", "remote_app_1", "starting"), "web1": running("web1", "web", "")}
	eng := newFake(clk, list, details, step{live: []containers.Event{
		ev(time.Second, "web1", "web", "start"),
		ev(2*time.Second, "web1", "web", "start"),
		ev(3*time.Second, "app1", "remote_app_1", "start"),
	}})
	h := run(t, eng, DockerOptions{})
	// web has no healthcheck: its start is a sign of life; the app's is not.
	expect(t, h, "web running", "web running", "web running", "app running(hc)")
	// One inspect per container at the reconciliation, none at later starts.
	if eng.inspects != 2 {
		t.Fatalf("%d inspects, want 2 (the healthcheck is read once per container)", eng.inspects)
	}
}

func TestNoiseAndOtherContainersAreIgnored(t *testing.T) {
	clk := &clock{now: t0}
	list, details := stack()
	eng := newFake(clk, list, details, step{live: []containers.Event{
		ev(time.Second, "app1", "remote_app_1", "exec_create: /fakeapp healthcheck"),
		ev(time.Second, "app1", "remote_app_1", "exec_start: /fakeapp healthcheck"),
		ev(time.Second, "app1", "remote_app_1", "exec_die", "exitCode", "1"),
		ev(2*time.Second, "app1", "remote_app_1", "attach"),
		ev(2*time.Second, "app1", "remote_app_1", "resize"),
		ev(2*time.Second, "app1", "remote_app_1", "top"),
		die(3*time.Second, "other", "something_else", 1),
		ev(3*time.Second, "other", "something_else", "oom"),
		ev(4*time.Second, "other", "something_else", "health_status: unhealthy"),
		// A one-off `docker compose run app` is not the service.
		ev(5*time.Second, "run1", "remote_app_run_1", "die", "exitCode", "1",
			"com.docker.compose.project", "remote", "com.docker.compose.service", "app", "com.docker.compose.oneoff", "True"),
	}})
	h := run(t, eng, DockerOptions{})
	expect(t, h, "app healthy")
	if !h.w.LastEvent().Equal(at(5 * time.Second)) {
		t.Fatalf("the cursor must follow every event, also ignored ones: %v", h.w.LastEvent())
	}
}

func TestRecreatedContainerIsFollowed(t *testing.T) {
	clk := &clock{now: t0}
	list, details := stack()
	details["app2"] = running("app2", "remote_app_1", "starting")
	after := []containers.Container{ctr("app2", "remote_app_1", "created"), ctr("app1", "0123456789ab_remote_app_1", "exited"), ctr("other", "something_else", "running")}
	eng := newFake(clk, list, details, step{containers: after, live: []containers.Event{
		// mfbot's recreate: stop, rename aside, create, start, remove.
		kill(time.Second, "app1", "remote_app_1", 15),
		die(time.Second+100*time.Millisecond, "app1", "remote_app_1", 143),
		ev(time.Second+200*time.Millisecond, "app1", "remote_app_1", "stop"),
		ev(2*time.Second, "app1", "0123456789ab_remote_app_1", "rename", "oldName", "/remote_app_1"),
		ev(3*time.Second, "app2", "remote_app_1", "create"),
		ev(4*time.Second, "app2", "remote_app_1", "start"),
		ev(5*time.Second, "app1", "0123456789ab_remote_app_1", "destroy"),
		ev(6*time.Second, "app2", "remote_app_1", "health_status: healthy"),
		die(7*time.Second, "app2", "remote_app_1", 1),
	}})
	h := run(t, eng, DockerOptions{})
	expect(t, h, "app healthy", "app stopped(143)", "app running(hc)", "app healthy", "app crashed(1)")
}

func TestResumeFromTheCursorWithoutDuplicates(t *testing.T) {
	clk := &clock{now: t0}
	list, details := stack()
	broken := errors.New("watch events: the Docker engine at unix:///var/run/docker.sock closed the stream")
	eng := newFake(clk, list, details,
		step{live: []containers.Event{
			die(time.Second, "app1", "remote_app_1", 1),
			ev(time.Second+500*time.Millisecond, "app1", "remote_app_1", "start"),
		}, err: broken},
		// While disconnected: another crash, in the engine's memory.
		step{gap: []containers.Event{
			die(2*time.Second, "app1", "remote_app_1", 2),
			ev(2*time.Second+500*time.Millisecond, "app1", "remote_app_1", "start"),
		}, live: []containers.Event{
			die(3*time.Second, "app1", "remote_app_1", 3),
		}, err: broken},
		step{live: []containers.Event{
			// Two events at the same nanosecond (different actions) are not duplicates.
			ev(4*time.Second, "app1", "remote_app_1", "start"),
			ev(4*time.Second, "app1", "remote_app_1", "health_status: healthy"),
		}},
	)
	h := run(t, eng, DockerOptions{})
	expect(t, h, "app healthy",
		"app crashed(1)", "app running(hc)",
		"app crashed(2)", "app running(hc)",
		"app crashed(3)",
		"app running(hc)", "app healthy")
	// Each resume starts from the last event processed: replayed by the
	// bounded query, then by the stream.
	wantWatch := []time.Time{t0, at(2*time.Second + 500*time.Millisecond), at(3 * time.Second)}
	if !slices.EqualFunc(eng.watchSince, wantWatch, time.Time.Equal) {
		t.Fatalf("watch since %v, want %v", eng.watchSince, wantWatch)
	}
	wantReplay := []time.Time{at(time.Second + 500*time.Millisecond), at(3 * time.Second)}
	if !slices.EqualFunc(eng.replays, wantReplay, time.Time.Equal) {
		t.Fatalf("replays since %v, want %v", eng.replays, wantReplay)
	}
	if h.w.Reconnects() != 2 {
		t.Fatalf("reconnects %d", h.w.Reconnects())
	}
	// The event at the cursor was replayed: the gap was covered, so no
	// reconciliation (one inspect: the first reconciliation's).
	if eng.inspects != 1 {
		t.Fatalf("%d inspects, want 1", eng.inspects)
	}
}

func TestResumeAfterAnEngineRestartReconciles(t *testing.T) {
	clk := &clock{now: t0}
	list := []containers.Container{
		ctr("app1", "remote_app_1", "running"), ctr("db1", "remote_db_1", "running"),
		ctr("geo1", "monitorfish-geoserver", "running"), ctr("web1", "web", "running"),
		ctr("ps1", "monitorfish-pipeline-server", "running"),
	}
	details := map[string]containers.ContainerDetails{
		"app1": running("app1", "remote_app_1", "healthy"), "db1": running("db1", "remote_db_1", "healthy"),
		"geo1": running("geo1", "monitorfish-geoserver", "healthy"), "web1": running("web1", "web", ""),
		"ps1": running("ps1", "monitorfish-pipeline-server", ""),
	}
	unhealthy := running("geo1", "monitorfish-geoserver", "unhealthy")
	unhealthy.HealthLog = []containers.HealthCheck{{Start: at(20 * time.Second), ExitCode: 0}, {Start: at(30 * time.Second), ExitCode: 1, Output: "503"}}
	restarted := running("ps1", "monitorfish-pipeline-server", "")
	restarted.FinishedAt, restarted.StartedAt = at(8*time.Second), at(9*time.Second)
	eng := newFake(clk, list, details,
		step{live: []containers.Event{ev(time.Second, "app1", "remote_app_1", "health_status: healthy")}, err: errors.New("unexpected EOF")},
		// dockerd restarted: its memory is empty. Meanwhile the app
		// exited 2, the db was OOM-killed, geoserver became unhealthy,
		// web was stopped, the pipeline server restarted.
		step{forget: true, details: map[string]containers.ContainerDetails{
			"app1": exited("app1", "remote_app_1", 2, at(5*time.Second)),
			"db1": func() containers.ContainerDetails {
				d := exited("db1", "remote_db_1", 137, at(6*time.Second))
				d.OOMKilled = true
				return d
			}(),
			"geo1": unhealthy,
			"web1": exited("web1", "web", 143, at(7*time.Second)),
			"ps1":  restarted,
		}, live: []containers.Event{
			// The die of the app, if the engine sends it late, is not a second crash.
			die(5*time.Second+100*time.Millisecond, "app1", "remote_app_1", 2),
		}, err: errors.New("unexpected EOF")},
		// Another break: nothing new, nothing reported twice.
		step{},
	)
	h := run(t, eng, DockerOptions{})
	expect(t, h, "app healthy", "db healthy", "geoserver healthy", "pipeline-server running", "web running",
		"app healthy",
		"app crashed(2)", "db oom(137)", "geoserver unhealthy: 503", "web stopped(143)")
	if s := h.signals[6]; !s.Time.Equal(at(5 * time.Second)) {
		t.Fatalf("a reconciled exit is dated by FinishedAt: %v", s.Time)
	}
}

func TestPersistedCursorCoveredByTheReplay(t *testing.T) {
	clk := &clock{now: at(time.Hour)}
	list, details := stack()
	app := exited("app1", "remote_app_1", 4, at(8*time.Second))
	app.Health = "unhealthy" // the engine keeps State.Health after an exit
	details["app1"] = app
	eng := newFake(clk, list, details, step{gap: []containers.Event{
		die(4*time.Second+999*time.Millisecond, "app1", "remote_app_1", 9), // same second, before the cursor
		die(5*time.Second, "app1", "remote_app_1", 1),                      // the cursor: processed by the previous run
		ev(6*time.Second, "app1", "remote_app_1", "start"),
		// A container removed since: its name says it was the app.
		die(7*time.Second, "gone", "remote_app_1", 5),
		ev(7*time.Second+time.Millisecond, "gone", "remote_app_1", "destroy"),
		die(8*time.Second, "app1", "remote_app_1", 4),
	}})
	h := run(t, eng, DockerOptions{Cursor: at(5 * time.Second)})
	expect(t, h, "app running(hc)", "app crashed(5)", "app crashed(4)")
	if !eng.replays[0].Equal(at(5*time.Second)) || !eng.watchSince[0].Equal(at(8*time.Second)) {
		t.Fatalf("replay since %v, watch since %v", eng.replays, eng.watchSince)
	}
}

func TestPersistedCursorNotCoveredReportsOnlyTheGap(t *testing.T) {
	clk := &clock{now: at(time.Hour)}
	cursor := at(time.Minute)
	list := []containers.Container{
		ctr("app1", "remote_app_1", "exited"), ctr("db1", "remote_db_1", "exited"),
		ctr("geo1", "monitorfish-geoserver", "running"), ctr("web1", "web", "running"),
	}
	longUnhealthy := running("geo1", "monitorfish-geoserver", "unhealthy")
	for i := range 5 {
		longUnhealthy.HealthLog = append(longUnhealthy.HealthLog, containers.HealthCheck{Start: cursor.Add(time.Duration(i-2) * 10 * time.Second), ExitCode: 1, Output: "503"})
	}
	newUnhealthy := running("web1", "web", "unhealthy")
	newUnhealthy.StartedAt = cursor.Add(time.Second)
	newUnhealthy.HealthLog = []containers.HealthCheck{{Start: cursor.Add(-time.Minute), ExitCode: 1, Output: "boom"}}
	details := map[string]containers.ContainerDetails{
		"app1": exited("app1", "remote_app_1", 1, cursor.Add(-time.Second)), // before: reported then
		"db1":  exited("db1", "remote_db_1", 3, cursor.Add(time.Second)),    // in the gap
		"geo1": longUnhealthy,                                               // failing since before the cursor
		"web1": newUnhealthy,                                                // started in the gap
	}
	eng := newFake(clk, list, details)
	h := run(t, eng, DockerOptions{Cursor: cursor})
	expect(t, h, "db crashed(3)", "web unhealthy: boom")
}

func TestReconcileAtStart(t *testing.T) {
	clk := &clock{now: t0}
	list := []containers.Container{
		ctr("app1", "remote_app_1", "exited"), ctr("db1", "remote_db_1", "running"),
		ctr("geo1", "monitorfish-geoserver", "exited"), ctr("ps1", "monitorfish-pipeline-server", "restarting"),
		ctr("pf1", "monitorfish-pipeline-flows", "exited"), ctr("web1", "web", "running"),
		ctr("other", "something_else", "exited"),
	}
	unhealthy := running("db1", "remote_db_1", "unhealthy")
	unhealthy.HealthLog = []containers.HealthCheck{{ExitCode: 1, Output: "connection refused"}}
	oom := exited("geo1", "monitorfish-geoserver", 137, at(-2*time.Hour))
	oom.OOMKilled = true
	restarting := exited("ps1", "monitorfish-pipeline-server", 1, at(-time.Second))
	restarting.State = "restarting"
	details := map[string]containers.ContainerDetails{
		"app1":  exited("app1", "remote_app_1", 3, at(-time.Hour)),
		"db1":   unhealthy,
		"geo1":  oom,
		"ps1":   restarting,
		"pf1":   exited("pf1", "monitorfish-pipeline-flows", 0, at(-time.Hour)),
		"web1":  running("web1", "web", ""),
		"other": exited("other", "something_else", 1, at(-time.Hour)),
	}
	eng := newFake(clk, list, details, step{live: []containers.Event{
		// Restarting: its next die is what reports it.
		die(time.Second, "ps1", "monitorfish-pipeline-server", 1),
	}})
	h := run(t, eng, DockerOptions{})
	expect(t, h, "app crashed(3)", "db unhealthy: connection refused", "geoserver oom(137)", "pipeline-flows stopped(0)", "web running",
		"pipeline-server crashed(1)")
	if s := h.signals[0]; !s.Time.Equal(at(-time.Hour)) || s.Detail != "img:remote_app_1" {
		t.Fatalf("reconciled crash %+v", s)
	}
	if !h.signals[2].OOM {
		t.Fatal("OOM flag")
	}
}

func TestReconcileThenTheDieOfTheSameExit(t *testing.T) {
	clk := &clock{now: t0}
	list := []containers.Container{ctr("app1", "remote_app_1", "exited")}
	// Exited just after t0: its die event is replayed from t0, and only it reports.
	details := map[string]containers.ContainerDetails{"app1": exited("app1", "remote_app_1", 3, at(time.Millisecond))}
	eng := newFake(clk, list, details, step{live: []containers.Event{die(2*time.Millisecond, "app1", "remote_app_1", 3)}})
	h := run(t, eng, DockerOptions{})
	expect(t, h, "app crashed(3)")
}

func TestBackoffGrowsThenResets(t *testing.T) {
	clk := &clock{now: t0}
	list, details := stack()
	fail := errors.New("Docker engine is unreachable")
	eng := newFake(clk, list, details,
		step{err: fail}, step{err: fail}, step{err: fail}, step{err: fail},
		step{lasts: time.Minute, err: fail}, // a healthy stream, then a break
		step{err: fail},
		step{},
	)
	h := run(t, eng, DockerOptions{BackoffMin: time.Millisecond, BackoffMax: 4 * time.Millisecond})
	want := []time.Duration{1, 2, 4, 4, 1, 2}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if !slices.Equal(h.slept, want) {
		t.Fatalf("slept %v, want %v", h.slept, want)
	}
	if h.w.Reconnects() != 6 {
		t.Fatalf("reconnects %d", h.w.Reconnects())
	}
}

func TestStartRetriesWhenTheEngineIsDown(t *testing.T) {
	clk := &clock{now: t0}
	list, details := stack()
	eng := newFake(clk, list, details, step{live: []containers.Event{die(time.Second, "app1", "remote_app_1", 1)}})
	eng.listErr = errors.New("Docker engine is unreachable")
	go func() {
		time.Sleep(50 * time.Millisecond)
		eng.mu.Lock()
		eng.listErr = nil
		eng.mu.Unlock()
	}()
	h := run(t, eng, DockerOptions{})
	expect(t, h, "app healthy", "app crashed(1)")
	if len(h.slept) == 0 || h.w.Reconnects() != len(h.slept) {
		t.Fatalf("slept %v, reconnects %d", h.slept, h.w.Reconnects())
	}
}

func TestDefaults(t *testing.T) {
	w := NewDockerWatcher(env, &fakeEngine{}, DockerOptions{})
	if w.opts.BackoffMin != 250*time.Millisecond || w.opts.BackoffMax != 30*time.Second || w.opts.StopWindow != time.Minute {
		t.Fatalf("defaults %+v", w.opts)
	}
	if !w.LastEvent().IsZero() || w.Reconnects() != 0 {
		t.Fatal("fresh watcher")
	}
	if got := truncate(strings.Repeat("é", 300), 200); len([]rune(got)) != 200 || !strings.HasSuffix(got, "…") {
		t.Fatalf("truncate %q", got)
	}
}

func TestGapReconciledAfterARetry(t *testing.T) {
	clk := &clock{now: at(time.Hour)}
	cursor := at(time.Minute)
	list, details := stack()
	details["app1"] = exited("app1", "remote_app_1", 1, cursor.Add(time.Second))
	eng := newFake(clk, list, details, step{gap: []containers.Event{
		// What the engine still holds: later than the cursor, without the app's die.
		die(time.Minute+2*time.Second, "other", "something_else", 0),
	}})
	eng.failLists = map[int]bool{2: true} // the reconciliation's, after the replay's
	h := run(t, eng, DockerOptions{Cursor: cursor})
	expect(t, h, "app crashed(1)")
	if len(eng.replays) != 2 || !eng.replays[1].Equal(at(time.Minute+2*time.Second)) {
		t.Fatalf("replays %v", eng.replays)
	}
}

// kinds lists the kinds of signals.
func kinds(signals []incident.Signal) []incident.SignalKind {
	out := make([]incident.SignalKind, len(signals))
	for i, s := range signals {
		out[i] = s.Kind
	}
	return out
}

// An engine that cannot be reached at start is one "unreachable" signal
// about the engine, however many retries it takes, then one "healthy"
// when it answers; the services' signals are those of any start.
func TestEngineUnreachableAtStartThenBack(t *testing.T) {
	clk := &clock{now: t0}
	list, details := stack()
	eng := newFake(clk, list, details, step{live: []containers.Event{die(time.Second, "app1", "remote_app_1", 1)}})
	eng.listErr = fmt.Errorf("list containers: Docker engine at tcp://prod:2376 is unreachable: %w", containers.ErrUnreachable)
	go func() {
		time.Sleep(50 * time.Millisecond)
		eng.mu.Lock()
		eng.listErr = nil
		eng.mu.Unlock()
	}()
	var seen []time.Time
	h := run(t, eng, DockerOptions{Seen: func(at time.Time) { seen = append(seen, at) }})
	expect(t, h, "app healthy", "app crashed(1)")
	if got := kinds(h.engine); !slices.Equal(got, []incident.SignalKind{incident.SignalUnreachable, incident.SignalHealthy}) {
		t.Fatalf("engine signals %v, want unreachable then healthy (after %d retries)", got, len(h.slept))
	}
	down := h.engine[0]
	if down.Target != DockerEngineTarget || !down.HasHealthcheck || !strings.Contains(down.Detail, "tcp://prod:2376 is unreachable") {
		t.Fatalf("unreachable signal %+v", down)
	}
	if len(h.slept) < 2 {
		t.Fatalf("slept %v: the test wants several failed attempts", h.slept)
	}
	// Heard from at the listing that answered and at the crash's event.
	if len(seen) != 2 {
		t.Fatalf("Seen called %d times (%v), want 2", len(seen), seen)
	}
}

// A stream that breaks while the engine still answers is no outage; an
// engine that stops answering afterwards is, once, until it answers again.
func TestEngineUnreachableAfterAStreamBreak(t *testing.T) {
	clk := &clock{now: t0}
	list, details := stack()
	eng := newFake(clk, list, details,
		step{live: []containers.Event{die(time.Second, "app1", "remote_app_1", 1)}, err: errors.New("watch events: the Docker engine at tcp://prod:2376 closed the stream")},
		step{},
	)
	unreachable := fmt.Errorf("replay: Docker engine at tcp://prod:2376 is unreachable: %w", containers.ErrUnreachable)
	eng.failReplays = map[int]error{1: unreachable, 2: unreachable}
	h := run(t, eng, DockerOptions{})
	expect(t, h, "app healthy", "app crashed(1)")
	want := []incident.SignalKind{incident.SignalHealthy, incident.SignalUnreachable, incident.SignalHealthy}
	if got := kinds(h.engine); !slices.Equal(got, want) {
		t.Fatalf("engine signals %v, want %v", got, want)
	}
	if len(eng.replays) != 3 || h.w.Reconnects() != 3 {
		t.Fatalf("replays %v, reconnects %d", eng.replays, h.w.Reconnects())
	}
}

// The engine's own signals never move the cursor (taken when noticed, they
// could pass events not replayed yet); the services' do.
func TestEngineSignalsDoNotMoveTheCursor(t *testing.T) {
	var src DockerSource
	if _, moves := src.CursorAt(incident.Signal{Key: incident.Key{Env: "prod", Source: SourceDocker, Target: DockerEngineTarget}, Kind: incident.SignalUnreachable, Time: at(time.Minute)}); moves {
		t.Error("an engine signal moves the cursor")
	}
	crash := incident.Signal{Key: incident.Key{Env: "prod", Source: SourceDocker, Target: "app"}, Kind: incident.SignalCrashed, Time: at(time.Minute)}
	if c, moves := src.CursorAt(crash); !moves || !c.Equal(crash.Time) {
		t.Errorf("a crash: cursor %v, moves %v", c, moves)
	}
	p := src.Present(&incident.Incident{Key: incident.Key{Env: "prod", Source: SourceDocker, Target: DockerEngineTarget}, Reason: incident.SignalUnreachable})
	var commands []string
	for _, a := range p.Actions {
		commands = append(commands, a.Command)
	}
	if p.TargetLabel != "Docker engine" || !slices.Equal(commands, []string{"prod status", "prod mute docker-engine 1h"}) {
		t.Errorf("engine incident presented as %+v", p)
	}
	if posts := (DockerSource{LogsBefore: func(context.Context, string, string, time.Time, int) (string, error) {
		t.Error("logs asked for an engine incident")
		return "", nil
	}}).Opened(context.Background(), &incident.Incident{ID: 1}, incident.Signal{Key: incident.Key{Env: "prod", Source: SourceDocker, Target: DockerEngineTarget}}); posts != nil {
		t.Errorf("engine incident thread starts with %v", posts)
	}
}
