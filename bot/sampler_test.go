package bot

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"mfbot/config"
	"mfbot/containers"
)

// fakeSampledEngine is an engine of listed containers whose stats and
// limits the tests decide, counting the calls.
type fakeSampledEngine struct {
	mu      sync.Mutex
	list    []containers.Container
	listErr []error // returned by the next listings, one each

	stats     func(ctx context.Context, id string) (containers.Stats, error) // nil: statsOf
	limits    map[string][2]float64                                          // id → memory bytes, cpus
	limitsErr map[string]error

	statsCalls, limitsCalls map[string]int
	inFlight, maxInFlight   int            // stats calls at once, all containers
	inFlightOf, maxOfOne    map[string]int // … and per container
}

func newFakeSampledEngine(list ...containers.Container) *fakeSampledEngine {
	return &fakeSampledEngine{list: list, limits: map[string][2]float64{}, limitsErr: map[string]error{},
		statsCalls: map[string]int{}, limitsCalls: map[string]int{}, inFlightOf: map[string]int{}, maxOfOne: map[string]int{}}
}

func (f *fakeSampledEngine) Containers(ctx context.Context) ([]containers.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.listErr) > 0 {
		err := f.listErr[0]
		f.listErr = f.listErr[1:]
		return nil, err
	}
	return append([]containers.Container(nil), f.list...), nil
}

func (f *fakeSampledEngine) Stats(ctx context.Context, id string) (containers.Stats, error) {
	f.mu.Lock()
	f.statsCalls[id]++
	f.inFlight++
	f.inFlightOf[id]++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.maxOfOne[id] = max(f.maxOfOne[id], f.inFlightOf[id])
	stats := f.stats
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.inFlightOf[id]--
		f.mu.Unlock()
	}()
	if stats != nil {
		return stats(ctx, id)
	}
	return statsOf(id), nil
}

// statsOf is the stats the fake reports for id when not told otherwise.
func statsOf(id string) containers.Stats {
	return containers.Stats{CPUPercent: float64(len(id)) * 10, MemoryUsage: uint64(len(id)) << 20, MemoryLimit: 64 << 30}
}

func (f *fakeSampledEngine) Inspect(ctx context.Context, id string) (containers.ContainerDetails, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limitsCalls[id]++
	if err := f.limitsErr[id]; err != nil {
		return containers.ContainerDetails{}, err
	}
	l := f.limits[id]
	return containers.ContainerDetails{MemoryLimit: uint64(l[0]), CPULimit: l[1]}, nil
}

func (f *fakeSampledEngine) calls(id string) (stats, limits int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.statsCalls[id], f.limitsCalls[id]
}

// fakeSampleStore keeps the batches appended.
type fakeSampleStore struct {
	mu      sync.Mutex
	batches [][]containers.Sample
	err     error
}

func (s *fakeSampleStore) AppendSamples(ctx context.Context, samples []containers.Sample) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.batches = append(s.batches, append([]containers.Sample(nil), samples...))
	return nil
}

func (s *fakeSampleStore) Samples(ctx context.Context, env, service string, from, to time.Time) ([]containers.Sample, error) {
	return nil, errors.New("not used by the sampler")
}

func (s *fakeSampleStore) saved() [][]containers.Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]containers.Sample(nil), s.batches...)
}

// composed is a running container of the compose project "remote".
func composed(service, id, state string) containers.Container {
	return containers.Container{ID: id, Name: "remote-" + service + "-1", State: state,
		Labels: map[string]string{"com.docker.compose.project": "remote", "com.docker.compose.service": service}}
}

func stackEnv(name string, services ...string) config.Environment {
	env := config.Environment{Name: name, ComposeProject: "remote"}
	for _, s := range services {
		env.Services = append(env.Services, config.Service{Name: s})
	}
	return env
}

// logBuffer is a logger whose lines the test reads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

func TestSamplerRoundSamplesTheStacksRunningServices(t *testing.T) {
	engine := newFakeSampledEngine(
		composed("app", "id-app", "running"),
		composed("db", "id-database", "running"),
		composed("geoserver", "id-geo", "exited"),
		// Not a service of the stack, and a one-off run of the app.
		containers.Container{ID: "id-other", Name: "other", State: "running"},
	)
	engine.limits["id-app"] = [2]float64{512 << 20, 1.5}
	store := &fakeSampleStore{}
	reg := prometheus.NewPedanticRegistry()
	at := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	s := &Sampler{Envs: []SamplerEnv{{Config: stackEnv("prod", "app", "db", "geoserver", "pipeline-flows"), Engine: engine}},
		Store: store, Metrics: NewMetrics(reg), Now: func() time.Time { return at }}

	if n := s.round(context.Background(), s.Envs[0]); n != 2 {
		t.Fatalf("round saved %d samples, want 2 (app and db run)", n)
	}
	batches := store.saved()
	if len(batches) != 1 || len(batches[0]) != 2 {
		t.Fatalf("batches %+v, want one of 2", batches)
	}
	want := map[string]containers.Sample{
		"app": {Env: "prod", Service: "app", Time: at, CPUPercent: 60, MemoryBytes: 6 << 20, MemoryLimit: 512 << 20, CPULimit: 1.5},
		// No limit configured: 0, not the host's memory that stats report.
		"db": {Env: "prod", Service: "db", Time: at, CPUPercent: 110, MemoryBytes: 11 << 20},
	}
	for _, sm := range batches[0] {
		if sm != want[sm.Service] {
			t.Errorf("sample %+v, want %+v", sm, want[sm.Service])
		}
	}
	if st, _ := engine.calls("id-geo"); st != 0 {
		t.Errorf("an exited container was asked for stats")
	}
	if st, _ := engine.calls("id-other"); st != 0 {
		t.Errorf("a container outside the stack was asked for stats")
	}
	if got := testutil.ToFloat64(s.Metrics.samples.WithLabelValues("prod")); got != 2 {
		t.Errorf("mfbot_stats_samples_total = %v, want 2", got)
	}
	if got := testutil.CollectAndCount(s.Metrics.sampleRounds); got != 1 {
		t.Errorf("round duration series = %d, want 1", got)
	}
	if problems, err := testutil.CollectAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

func TestSamplerReadsLimitsOncePerContainer(t *testing.T) {
	engine := newFakeSampledEngine(composed("app", "id-app", "running"), composed("db", "id-db", "running"))
	engine.limits["id-app"] = [2]float64{1 << 30, 2}
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	store := &fakeSampleStore{}
	s := &Sampler{Envs: []SamplerEnv{{Config: stackEnv("prod", "app", "db"), Engine: engine}}, Store: store,
		Now: func() time.Time { return now }}
	ctx := context.Background()
	for range 3 {
		s.round(ctx, s.Envs[0])
		now = now.Add(time.Minute)
	}
	for _, id := range []string{"id-app", "id-db"} {
		if st, lim := engine.calls(id); st != 3 || lim != 1 {
			t.Errorf("%s: %d stats and %d limits calls over 3 rounds, want 3 and 1", id, st, lim)
		}
	}
	for _, b := range store.saved() {
		for _, sm := range b {
			if sm.Service == "app" && (sm.MemoryLimit != 1<<30 || sm.CPULimit != 2) {
				t.Errorf("cached limits lost: %+v", sm)
			}
		}
	}

	// The app recreated: a new container, whose limits are read, and the
	// old one forgotten.
	engine.mu.Lock()
	engine.list[0] = composed("app", "id-app-2", "running")
	engine.limits["id-app-2"] = [2]float64{2 << 30, 4}
	engine.mu.Unlock()
	s.round(ctx, s.Envs[0])
	if _, lim := engine.calls("id-app-2"); lim != 1 {
		t.Errorf("the new container's limits read %d times, want 1", lim)
	}
	s.mu.Lock()
	_, oldKept := s.limits[limitsKey{env: "prod", id: "id-app"}]
	cached := len(s.limits)
	s.mu.Unlock()
	if oldKept || cached != 2 {
		t.Errorf("cache holds %d containers (old one kept: %v), want the 2 listed", cached, oldKept)
	}
	if b := store.saved(); b[len(b)-1][0].MemoryLimit != 2<<30 && b[len(b)-1][1].MemoryLimit != 2<<30 {
		t.Errorf("the new container's limit is not in the round: %+v", b[len(b)-1])
	}

	// An hour later, limits are read again (`docker update --memory`).
	now = now.Add(sampleLimitsMaxAge)
	s.round(ctx, s.Envs[0])
	if _, lim := engine.calls("id-db"); lim != 2 {
		t.Errorf("limits of db read %d times after an hour, want 2", lim)
	}
}

func TestSamplerTakesStatsConcurrently(t *testing.T) {
	const n = 6
	var list []containers.Container
	var services []string
	for i := range n {
		svc := string(rune('a' + i))
		list = append(list, composed(svc, "id-"+svc, "running"))
		services = append(services, svc)
	}
	engine := newFakeSampledEngine(list...)
	// Each call waits until all n are in flight: taken one after the
	// other, every one would run into the timeout.
	var arrived sync.WaitGroup
	arrived.Add(n)
	allIn := make(chan struct{})
	go func() { arrived.Wait(); close(allIn) }()
	engine.stats = func(ctx context.Context, id string) (containers.Stats, error) {
		arrived.Done()
		select {
		case <-allIn:
			return statsOf(id), nil
		case <-ctx.Done():
			return containers.Stats{}, ctx.Err()
		}
	}
	store := &fakeSampleStore{}
	s := &Sampler{Envs: []SamplerEnv{{Config: stackEnv("prod", services...), Engine: engine}}, Store: store, CallTimeout: 5 * time.Second}
	start := time.Now()
	if got := s.round(context.Background(), s.Envs[0]); got != n {
		t.Fatalf("saved %d samples, want %d", got, n)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the round took %s: stats were not taken concurrently", took)
	}
	if engine.maxInFlight != n {
		t.Errorf("at most %d stats calls at once, want %d", engine.maxInFlight, n)
	}
	if b := store.saved(); len(b) != 1 {
		t.Errorf("%d batches, want the round in one", len(b))
	}
}

func TestSamplerOneFailureDoesNotStopTheOthers(t *testing.T) {
	engine := newFakeSampledEngine(composed("app", "id-app", "running"), composed("db", "id-db", "running"),
		composed("geoserver", "id-geo", "running"))
	engine.stats = func(ctx context.Context, id string) (containers.Stats, error) {
		switch id {
		case "id-db":
			return containers.Stats{}, errors.New("read stats of id-db: the engine said no")
		case "id-geo":
			<-ctx.Done() // an engine that does not answer for this one
			return containers.Stats{}, ctx.Err()
		}
		return statsOf(id), nil
	}
	engine.limitsErr["id-app"] = errors.New("inspect id-app: the engine said no")
	store := &fakeSampleStore{}
	var logs logBuffer
	s := &Sampler{Envs: []SamplerEnv{{Config: stackEnv("prod", "app", "db", "geoserver"), Engine: engine}}, Store: store,
		CallTimeout: 100 * time.Millisecond, Log: logs.logger(), Metrics: NewMetrics(nil)}
	start := time.Now()
	if got := s.round(context.Background(), s.Envs[0]); got != 1 {
		t.Fatalf("saved %d samples, want app's", got)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the round took %s: the per-call timeout did not cut the silent engine", took)
	}
	if b := store.saved(); len(b) != 1 || b[0][0].Service != "app" || b[0][0].MemoryLimit != 0 || b[0][0].MemoryBytes == 0 {
		t.Fatalf("batches %+v: want app's sample, without its unreadable limits", b)
	}
	if got := testutil.ToFloat64(s.Metrics.sampleFailures.WithLabelValues("prod", SampleStageStats)); got != 2 {
		t.Errorf("stats failures = %v, want 2 (db, geoserver)", got)
	}
	if got := testutil.ToFloat64(s.Metrics.sampleFailures.WithLabelValues("prod", SampleStageLimits)); got != 1 {
		t.Errorf("limits failures = %v, want 1", got)
	}
	for _, want := range []string{"service=db", "the engine said no", "service=geoserver", "deadline exceeded", "cannot read the container's limits"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
	// A failed read of the limits is not cached: the next round asks again.
	delete(engine.limitsErr, "id-app")
	engine.limits["id-app"] = [2]float64{256 << 20, 0}
	s.round(context.Background(), s.Envs[0])
	if _, lim := engine.calls("id-app"); lim != 2 {
		t.Errorf("limits of app asked %d times, want 2", lim)
	}
	if b := store.saved(); len(b) != 2 || b[1][0].MemoryLimit != 256<<20 {
		t.Errorf("second round %+v: want app with its limit", b)
	}
}

func TestSamplerFailingListingTriesAgainNextRound(t *testing.T) {
	engine := newFakeSampledEngine(composed("app", "id-app", "running"))
	engine.listErr = []error{errors.New("list containers: Docker engine unreachable"), errors.New("still down")}
	store := &fakeSampleStore{}
	var logs logBuffer
	s := &Sampler{Envs: []SamplerEnv{{Config: stackEnv("prod", "app"), Engine: engine}}, Store: store,
		Interval: 5 * time.Millisecond, Log: logs.logger(), Metrics: NewMetrics(nil)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(store.saved()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if len(store.saved()) == 0 {
		t.Fatal("no round saved anything once the engine answered")
	}
	if got := testutil.ToFloat64(s.Metrics.sampleFailures.WithLabelValues("prod", SampleStageList)); got != 2 {
		t.Errorf("list failures = %v, want 2", got)
	}
	if !strings.Contains(logs.String(), "cannot list the containers") || !strings.Contains(logs.String(), "still down") {
		t.Errorf("logs:\n%s", logs.String())
	}
}

func TestSamplerFailingStoreIsCounted(t *testing.T) {
	engine := newFakeSampledEngine(composed("app", "id-app", "running"))
	store := &fakeSampleStore{err: errors.New("save 1 stats samples: database is locked")}
	var logs logBuffer
	s := &Sampler{Envs: []SamplerEnv{{Config: stackEnv("prod", "app"), Engine: engine}}, Store: store,
		Log: logs.logger(), Metrics: NewMetrics(nil)}
	if got := s.round(context.Background(), s.Envs[0]); got != 0 {
		t.Fatalf("round saved %d with a failing store", got)
	}
	if got := testutil.ToFloat64(s.Metrics.sampleFailures.WithLabelValues("prod", SampleStageStore)); got != 1 {
		t.Errorf("store failures = %v, want 1", got)
	}
	if got := testutil.ToFloat64(s.Metrics.samples.WithLabelValues("prod")); got != 0 {
		t.Errorf("samples counted = %v, want 0", got)
	}
	if !strings.Contains(logs.String(), "cannot save the round's samples") || !strings.Contains(logs.String(), "database is locked") {
		t.Errorf("logs:\n%s", logs.String())
	}
	// Nothing running: no batch at all, and no failure.
	engine.list[0].State = "exited"
	store.err = nil
	if got := s.round(context.Background(), s.Envs[0]); got != 0 || len(store.saved()) != 0 {
		t.Errorf("nothing running: %d saved, batches %v", got, store.saved())
	}
}

func TestSamplerRoundsDoNotPileUp(t *testing.T) {
	engine := newFakeSampledEngine(composed("app", "id-app", "running"), composed("db", "id-db", "running"))
	// An engine that never answers stats: each round lasts the timeout.
	engine.stats = func(ctx context.Context, id string) (containers.Stats, error) {
		<-ctx.Done()
		return containers.Stats{}, ctx.Err()
	}
	const timeout = 50 * time.Millisecond
	s := &Sampler{Envs: []SamplerEnv{{Config: stackEnv("prod", "app", "db"), Engine: engine}}, Store: &fakeSampleStore{},
		Interval: time.Millisecond, CallTimeout: timeout}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	const run = 500 * time.Millisecond
	time.Sleep(run)
	cancel()
	<-done
	for _, id := range []string{"id-app", "id-db"} {
		st, _ := engine.calls(id)
		if st == 0 || st > int(run/timeout)+1 {
			t.Errorf("%s: %d stats calls in %s of %s rounds, want at most %d", id, st, run, timeout, int(run/timeout)+1)
		}
		if engine.maxOfOne[id] != 1 {
			t.Errorf("%s: %d stats calls at once: rounds overlapped", id, engine.maxOfOne[id])
		}
	}
}

func TestSamplerSlowEngineDelaysOnlyItsEnvironment(t *testing.T) {
	slow := newFakeSampledEngine(composed("app", "id-slow", "running"))
	slow.stats = func(ctx context.Context, id string) (containers.Stats, error) {
		<-ctx.Done()
		return containers.Stats{}, ctx.Err()
	}
	fast := newFakeSampledEngine(composed("app", "id-fast", "running"))
	store := &fakeSampleStore{}
	s := &Sampler{Envs: []SamplerEnv{{Config: stackEnv("prod", "app"), Engine: slow}, {Config: stackEnv("dev", "app"), Engine: fast}},
		Store: store, Interval: 10 * time.Millisecond, CallTimeout: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(store.saved()) < 5 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after its context ended (a stats call waiting on the engine)")
	}
	if n := len(store.saved()); n < 5 {
		t.Fatalf("dev saved %d rounds while prod's engine hung, want 5", n)
	}
	for _, b := range store.saved() {
		if b[0].Env != "dev" {
			t.Fatalf("a sample of the hung engine: %+v", b)
		}
	}
}

func TestSamplerStopsWhenItsContextEnds(t *testing.T) {
	engine := newFakeSampledEngine(composed("app", "id-app", "running"))
	entered := make(chan struct{}, 1)
	engine.stats = func(ctx context.Context, id string) (containers.Stats, error) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return containers.Stats{}, ctx.Err()
	}
	var logs logBuffer
	s := &Sampler{Envs: []SamplerEnv{{Config: stackEnv("prod", "app"), Engine: engine}}, Store: &fakeSampleStore{},
		CallTimeout: time.Hour, Log: logs.logger(), Metrics: NewMetrics(nil)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	<-entered
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	// Stopping is not a failure of the engine.
	if got := testutil.ToFloat64(s.Metrics.sampleFailures.WithLabelValues("prod", SampleStageStats)); got != 0 {
		t.Errorf("stats failures = %v after a stop, want 0", got)
	}
	if logs.String() != "" {
		t.Errorf("logs after a stop:\n%s", logs.String())
	}
	// A round asked after the end does nothing.
	if got := s.round(ctx, s.Envs[0]); got != 0 {
		t.Errorf("round after the end saved %d", got)
	}
}
