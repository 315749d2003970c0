package watch

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mfbot/freshness"
	"mfbot/incident"
)

var fresh0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

var testThresholds = freshness.Thresholds{PositionsReceived: 5 * time.Minute, PositionsUpdated: 5 * time.Minute, LogbookReceived: 10 * time.Minute}

// ticking is a clock that moves one minute at every reading, like the
// polls of production: two readings never share a time.
type ticking struct{ n atomic.Int64 }

func (c *ticking) Now() time.Time { return fresh0.Add(time.Duration(c.n.Add(1)) * time.Minute) }

// Next is the time the next reading will have (Read asks the sources
// before the clock).
func (c *ticking) Next() time.Time { return fresh0.Add(time.Duration(c.n.Load()+1) * time.Minute) }

// fakeFacts plays the app's healthcheck and the database: the ages of the
// facts at the time of the reading, or an error, or no answer until the
// context ends.
type fakeFacts struct {
	mu    sync.Mutex
	clock func() time.Time
	// age of the last position received (the others are fresh).
	positionsAge time.Duration
	drop         bool
	err          error
	hang         bool
}

func (f *fakeFacts) set(fn func(*fakeFacts)) { f.mu.Lock(); fn(f); f.mu.Unlock() }

func (f *fakeFacts) read(ctx context.Context) (freshness.Facts, error) {
	f.mu.Lock()
	hang, err, age, drop := f.hang, f.err, f.positionsAge, f.drop
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return freshness.Facts{}, ctx.Err()
	}
	if err != nil {
		return freshness.Facts{}, err
	}
	now := fresh0
	if f.clock != nil {
		now = f.clock()
	}
	return freshness.Facts{
		LastPositionReceived: now.Add(-age - 20*time.Second),
		LastPositionUpdated:  now.Add(-45 * time.Second),
		LastLogbookMessage:   now.Add(-90 * time.Second),
		SuddenDrop:           drop, SuddenDropKnown: true,
	}, nil
}

func (f *fakeFacts) Healthcheck(ctx context.Context) (freshness.Facts, error) { return f.read(ctx) }
func (f *fakeFacts) Freshness(ctx context.Context) (freshness.Facts, error)   { return f.read(ctx) }

// poll is the signals of one reading, by check.
type poll map[string]incident.Signal

// collect runs the source until it has sent n polls' worth of signals
// (grouped by environment and reading time), and returns them in order.
func collect(t *testing.T, src *FreshnessSource, env string, n int, within time.Duration) []poll {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := make(chan incident.Signal)
	done := make(chan struct{})
	go func() { src.Watch(ctx, signals); close(done) }()
	var polls []poll
	var last time.Time
	timeout := time.After(within)
	for {
		select {
		case s := <-signals:
			if s.Env != env {
				continue
			}
			if s.Source != SourceFreshness {
				t.Fatalf("signal of source %q", s.Source)
			}
			if !s.Time.Equal(last) {
				if len(polls) == n {
					cancel()
					<-done
					return polls
				}
				polls, last = append(polls, poll{}), s.Time
			}
			if _, dup := polls[len(polls)-1][s.Target]; dup {
				t.Fatalf("two signals for %s in one poll", s.Target)
			}
			polls[len(polls)-1][s.Target] = s
		case <-timeout:
			t.Fatalf("%d polls within %s, want %d", len(polls), within, n)
		}
	}
}

// fold applies signals to incidents as the recorder does, and counts the
// incidents opened per key.
type fold struct {
	rules  incident.Rules
	open   map[incident.Key]*incident.Incident
	opened map[incident.Key]int
	closed map[incident.Key]*incident.Incident
}

func newFold() *fold {
	return &fold{rules: incident.Rules{RecoveryAfter: time.Minute}, open: map[incident.Key]*incident.Incident{},
		opened: map[incident.Key]int{}, closed: map[incident.Key]*incident.Incident{}}
}

func (f *fold) apply(p poll) {
	for _, s := range p {
		inc, change := incident.Apply(f.rules, f.open[s.Key], s)
		if change == incident.ChangeOpened {
			f.opened[s.Key]++
		}
		if inc != nil {
			f.open[s.Key] = inc
		}
	}
	for k, inc := range f.open {
		var at time.Time
		for _, s := range p {
			at = s.Time
		}
		if next, change := incident.Tick(f.rules, inc, at); change == incident.ChangeRecovered {
			f.closed[k] = next
			delete(f.open, k)
		}
	}
}

func key(env, check string) incident.Key {
	return incident.Key{Env: env, Source: SourceFreshness, Target: check}
}

func TestFreshnessStaleIsOneFailurePerPoll(t *testing.T) {
	clk := &ticking{}
	app := &fakeFacts{clock: clk.Next, positionsAge: 12 * time.Minute}
	db := &fakeFacts{clock: clk.Next}
	src := &FreshnessSource{Envs: []FreshnessEnv{{Name: "prod", App: app, DB: db}}, Thresholds: testThresholds,
		Interval: 20 * time.Millisecond, Now: clk.Now}
	polls := collect(t, src, "prod", 4, 5*time.Second)
	f := newFold()
	for i, p := range polls {
		want := []string{freshness.CheckAppHealth, freshness.CheckDatabase, freshness.CheckPositionsReceived,
			freshness.CheckPositionsUpdated, freshness.CheckLogbookReceived, freshness.CheckSuddenDrop}
		if got := slices.Sorted(func(yield func(string) bool) {
			for k := range p {
				if !yield(k) {
					return
				}
			}
		}); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
			t.Fatalf("poll %d: signals for %v, want %v", i, got, want)
		}
		failing := 0
		for check, s := range p {
			if s.Kind == incident.SignalFailing {
				failing++
				if check != freshness.CheckPositionsReceived {
					t.Errorf("poll %d: %s failing: %s", i, check, s.Detail)
				}
				if s.Detail != "12 min ago (limit 5 min)" {
					t.Errorf("poll %d: detail %q", i, s.Detail)
				}
			} else if s.Kind != incident.SignalHealthy {
				t.Errorf("poll %d: %s is %s", i, check, s.Kind)
			}
		}
		if failing != 1 {
			t.Fatalf("poll %d: %d failing signals, want 1", i, failing)
		}
		f.apply(p)
	}
	k := key("prod", freshness.CheckPositionsReceived)
	if len(f.opened) != 1 || f.opened[k] != 1 || f.open[k].Count != 1 {
		t.Fatalf("opened %v, count %d: want one incident for positions-received counted once", f.opened, f.open[k].Count)
	}
}

func TestFreshnessBothDownEvaluatesNoDataCheck(t *testing.T) {
	clk := &ticking{}
	app := &fakeFacts{clock: clk.Next, positionsAge: 12 * time.Minute}
	db := &fakeFacts{clock: clk.Next}
	src := &FreshnessSource{Envs: []FreshnessEnv{{Name: "prod", App: app, DB: db}}, Thresholds: testThresholds, Now: clk.Now}
	f := newFold()
	// Stale: an incident for positions-received.
	read := func() poll {
		r := freshness.Read(context.Background(), app, db, testThresholds, clk.Now)
		src.remember("prod", r)
		p := poll{}
		for _, s := range src.Signals("prod", r) {
			p[s.Target] = s
		}
		return p
	}
	f.apply(read())
	if f.open[key("prod", freshness.CheckPositionsReceived)] == nil {
		t.Fatal("stale positions opened no incident")
	}
	app.set(func(f *fakeFacts) { f.err = errors.New("GET http://app:8880/api/v1/healthcheck: connection refused") })
	db.set(func(f *fakeFacts) {
		f.err = errors.New("read the data freshness: database monitorfishdb at db:5432 is unreachable: connection refused")
	})
	for i := range 5 {
		p := read()
		if len(p) != 2 {
			t.Fatalf("both down: signals %v, want app-healthcheck and database only", p)
		}
		for _, check := range []string{freshness.CheckAppHealth, freshness.CheckDatabase} {
			s := p[check]
			if s.Kind != incident.SignalUnreachable {
				t.Fatalf("%s: %s, want unreachable", check, s.Kind)
			}
			if !strings.Contains(s.Detail, "connection refused") || !strings.Contains(s.Detail, "data checks cannot be evaluated") {
				t.Errorf("%s detail: %q", check, s.Detail)
			}
		}
		f.apply(p)
		if i == 0 {
			// The thread of the database incident shows the facts as read.
			inc := f.open[key("prod", freshness.CheckDatabase)]
			posts := src.Opened(context.Background(), inc, incident.Signal{Key: inc.Key, Time: inc.FirstSeen})
			if len(posts) != 1 || !strings.Contains(posts[0].Text, "No source answered") || !strings.Contains(posts[0].Text, "Database: does not answer") ||
				!strings.Contains(posts[0].Text, "Last position received: unknown, cannot be evaluated") {
				t.Fatalf("thread post: %+v", posts)
			}
		}
	}
	// The stale incident neither recovered nor got another failure: nothing was known.
	if inc := f.open[key("prod", freshness.CheckPositionsReceived)]; inc == nil || inc.Count != 1 || !inc.UpSince.IsZero() {
		t.Fatalf("positions-received while blind: %+v", inc)
	}
	for _, check := range freshness.DataChecks[1:] {
		if f.opened[key("prod", check)] != 0 {
			t.Errorf("%s opened an incident while it could not be evaluated", check)
		}
	}
	if f.opened[key("prod", freshness.CheckAppHealth)] != 1 || f.opened[key("prod", freshness.CheckDatabase)] != 1 {
		t.Fatalf("opened: %v", f.opened)
	}

	// The database alone answers again: its facts are judged.
	db.set(func(f *fakeFacts) { f.err, f.positionsAge = nil, 12*time.Minute })
	p := read()
	if p[freshness.CheckDatabase].Kind != incident.SignalHealthy || p[freshness.CheckAppHealth].Kind != incident.SignalUnreachable ||
		p[freshness.CheckPositionsReceived].Kind != incident.SignalFailing || p[freshness.CheckLogbookReceived].Kind != incident.SignalHealthy {
		t.Fatalf("database back: %v", p)
	}
	if strings.Contains(p[freshness.CheckAppHealth].Detail, "cannot be evaluated") {
		t.Errorf("app detail while the database answers: %q", p[freshness.CheckAppHealth].Detail)
	}
}

func TestFreshnessRecovers(t *testing.T) {
	clk := &ticking{}
	app := &fakeFacts{clock: clk.Next, positionsAge: 12 * time.Minute}
	src := &FreshnessSource{Envs: []FreshnessEnv{{Name: "prod", App: app}}, Thresholds: testThresholds, Interval: 20 * time.Millisecond, Now: clk.Now}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := make(chan incident.Signal)
	go src.Watch(ctx, signals)
	f := newFold()
	k := key("prod", freshness.CheckPositionsReceived)
	var healthy incident.Signal
	deadline := time.After(5 * time.Second)
	for f.closed[k] == nil {
		select {
		case s := <-signals:
			if s.Key == k && s.Kind == incident.SignalFailing {
				app.set(func(f *fakeFacts) { f.positionsAge = 0 }) // fresh from the next poll on
			}
			if s.Key == k && s.Kind == incident.SignalHealthy && healthy.Time.IsZero() {
				healthy = s
			}
			f.apply(poll{s.Target: s})
		case <-deadline:
			t.Fatalf("no recovery: open %v", f.open)
		}
	}
	if f.opened[k] != 1 || healthy.Detail != "20 s ago (limit 5 min)" {
		t.Fatalf("opened %d, healthy signal %+v", f.opened[k], healthy)
	}
	if got := f.closed[k].Timeline[len(f.closed[k].Timeline)-2].Text; got != "ok again: 20 s ago (limit 5 min)" {
		t.Errorf("timeline: %q", got)
	}
	if _, ok := f.opened[key("prod", freshness.CheckDatabase)]; ok {
		t.Error("a database incident without a database")
	}
}

func TestFreshnessFirstPollAtStart(t *testing.T) {
	app := &fakeFacts{}
	src := &FreshnessSource{Envs: []FreshnessEnv{{Name: "prod", App: app}}, Thresholds: testThresholds, Interval: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan incident.Signal)
	done := make(chan struct{})
	go func() { src.Watch(ctx, signals); close(done) }()
	select {
	case s := <-signals:
		if s.Target != freshness.CheckAppHealth || s.Kind != incident.SignalHealthy {
			t.Errorf("first signal: %+v", s)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no poll at start")
	}
	// Stops on ctx, even while a send waits for the recorder.
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Watch did not return after ctx ended")
	}
}

func TestFreshnessEnvironmentsAreIndependent(t *testing.T) {
	slowApp := &fakeFacts{hang: true}
	fastApp := &fakeFacts{}
	const interval = 100 * time.Millisecond
	src := &FreshnessSource{Envs: []FreshnessEnv{
		{Name: "slow", App: slowApp},
		{Name: "nothing"}, // no app_url, no database: not polled
		{Name: "fast", App: fastApp},
	}, Thresholds: testThresholds, Interval: interval, Timeout: 80 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := make(chan incident.Signal)
	go src.Watch(ctx, signals)
	start := time.Now()
	var fastFirst time.Duration
	fast, slow := 0, 0
	var slowSignal incident.Signal
	for time.Since(start) < 750*time.Millisecond {
		select {
		case s := <-signals:
			switch s.Env {
			case "fast":
				if s.Target == freshness.CheckAppHealth {
					if fast == 0 {
						fastFirst = time.Since(start)
					}
					fast++
				}
			case "slow":
				slow++
				slowSignal = s
			default:
				t.Fatalf("signal of %s", s.Env)
			}
		case <-time.After(50 * time.Millisecond):
		}
	}
	if fastFirst > 60*time.Millisecond {
		t.Errorf("the fast environment's first poll came after %s: delayed by the slow one", fastFirst)
	}
	if fast < 5 {
		t.Errorf("%d polls of the fast environment in 750 ms at %s, want about 7", fast, interval)
	}
	// The slow one is cut by the timeout and said unreachable at every poll.
	if slow < 4 || slowSignal.Kind != incident.SignalUnreachable || !strings.Contains(slowSignal.Detail, "deadline exceeded") {
		t.Errorf("slow environment: %d signals, last %+v", slow, slowSignal)
	}
	if !strings.Contains(slowSignal.Detail, "data checks cannot be evaluated: the app healthcheck does not answer and no database is configured") {
		t.Errorf("slow detail: %q", slowSignal.Detail)
	}
}

func TestFreshnessTimeoutStaysUnderTheInterval(t *testing.T) {
	for _, c := range []struct{ interval, timeout, want time.Duration }{
		{0, 0, 30 * time.Second},
		{2 * time.Second, 0, 1500 * time.Millisecond},
		{10 * time.Minute, 0, 30 * time.Second},
		{time.Second, 5 * time.Second, 900 * time.Millisecond},
		{time.Minute, 10 * time.Second, 10 * time.Second},
	} {
		src := &FreshnessSource{Interval: c.interval, Timeout: c.timeout}
		if got := src.timeout(); got != c.want {
			t.Errorf("interval %s timeout %s: %s, want %s", c.interval, c.timeout, got, c.want)
		}
	}
}

func TestFreshnessDatabaseQueryErrorIsFailing(t *testing.T) {
	errQuery := errors.New("database query failed")
	db := &fakeFacts{err: errors.Join(errQuery, errors.New("permission denied for function find_last_operation_datetime"))}
	src := &FreshnessSource{Envs: []FreshnessEnv{{Name: "prod", DB: db}}, Thresholds: testThresholds,
		QueryFailed: func(err error) bool { return errors.Is(err, errQuery) }}
	r := freshness.Read(context.Background(), nil, db, testThresholds, func() time.Time { return fresh0 })
	sigs := src.Signals("prod", r)
	if len(sigs) != 1 || sigs[0].Target != freshness.CheckDatabase || sigs[0].Kind != incident.SignalFailing ||
		!strings.Contains(sigs[0].Detail, "permission denied") {
		t.Fatalf("signals: %+v", sigs)
	}
	inc, _ := incident.Apply(incident.Rules{}, nil, sigs[0])
	if got := FreshnessReason(inc); got != "database freshness query failing" {
		t.Errorf("reason %q", got)
	}
}

func TestFreshnessPresentation(t *testing.T) {
	src := &FreshnessSource{Envs: []FreshnessEnv{{Name: "prod", App: &fakeFacts{}, DB: &fakeFacts{}, AppService: "app", DBService: "db"}},
		Thresholds: testThresholds}
	open := func(check string, kind incident.SignalKind, detail string) *incident.Incident {
		inc, _ := incident.Apply(incident.Rules{}, nil, incident.Signal{Key: key("prod", check), Kind: kind, Time: fresh0, Detail: detail})
		return inc
	}
	type button struct {
		label, command string
		keep           bool
	}
	buttons := func(inc *incident.Incident) []button {
		var out []button
		for _, a := range src.Present(inc).Actions {
			out = append(out, button{a.Label, a.Command, a.KeepWhenClosed})
		}
		return out
	}
	fields := func(inc *incident.Incident) map[string]string {
		out := map[string]string{}
		for _, f := range src.Present(inc).Fields {
			out[f.Label] = f.Value
		}
		return out
	}

	stale := open(freshness.CheckPositionsReceived, incident.SignalFailing, "12 min ago (limit 5 min)")
	p := src.Present(stale)
	if p.TargetLabel != "Check" || p.Reason != "last position received 12 min ago (limit 5 min)" {
		t.Errorf("stale: label %q reason %q", p.TargetLabel, p.Reason)
	}
	if p.Thread == nil || p.Thread.Env != "prod" || p.Thread.Service != "app" {
		t.Errorf("stale: thread %+v", p.Thread)
	}
	if f := fields(stale); f["What"] != "Last position received" || f["Limit"] != "5 min" {
		t.Errorf("stale: fields %v", f)
	}
	if got, want := buttons(stale), []button{{"Health", "prod health", true}, {"Mute 1h", "prod mute positions-received 1h", false}}; !slices.Equal(got, want) {
		t.Errorf("stale: buttons %v, want %v", got, want)
	}

	logbook := open(freshness.CheckLogbookReceived, incident.SignalFailing, "25 min ago (limit 10 min)")
	if r := src.Present(logbook).Reason; r != "last logbook message 25 min ago (limit 10 min)" {
		t.Errorf("logbook reason %q", r)
	}
	prefect := open(freshness.CheckPositionsUpdated, incident.SignalFailing, "7 min ago (limit 5 min)")
	if r := src.Present(prefect).Reason; r != "last positions updated by Prefect 7 min ago (limit 5 min)" {
		t.Errorf("prefect reason %q", r)
	}
	drop := open(freshness.CheckSuddenDrop, incident.SignalFailing, "positions received dropped suddenly")
	if p := src.Present(drop); p.Reason != "sudden drop of positions received" || fields(drop)["Limit"] != "" || p.Thread.Service != "app" {
		t.Errorf("drop: %+v", p)
	}

	down := open(freshness.CheckAppHealth, incident.SignalUnreachable, "does not answer: connection refused")
	if p := src.Present(down); p.Reason != "app healthcheck down" || p.Thread.Service != "app" || fields(down)["What"] != "App healthcheck" {
		t.Errorf("app down: %+v", p)
	}

	dbDown := open(freshness.CheckDatabase, incident.SignalUnreachable, "unreachable: connection refused")
	p = src.Present(dbDown)
	if p.Reason != "database unreachable" || p.Thread.Service != "db" || fields(dbDown)["What"] != "Database" {
		t.Errorf("database: %+v", p)
	}
	if got, want := buttons(dbDown), []button{{"Health", "prod health", true}, {"DB status", "prod db status", false}, {"Mute 1h", "prod mute database 1h", false}}; !slices.Equal(got, want) {
		t.Errorf("database: buttons %v, want %v", got, want)
	}

	// An environment without the services: the thread is about the environment.
	other := &incident.Incident{Key: key("dev", freshness.CheckPositionsReceived), Reason: incident.SignalFailing}
	if p := src.Present(other); p.Thread.Env != "dev" || p.Thread.Service != "" {
		t.Errorf("dev thread %+v", p.Thread)
	}
}

func TestFreshnessOpenedShowsTheReading(t *testing.T) {
	app := &fakeFacts{positionsAge: 12 * time.Minute, clock: func() time.Time { return fresh0.Add(time.Minute) }}
	src := &FreshnessSource{Envs: []FreshnessEnv{{Name: "prod", App: app}}, Thresholds: testThresholds}
	r := freshness.Read(context.Background(), app, nil, testThresholds, func() time.Time { return fresh0.Add(time.Minute) })
	src.remember("prod", r)
	var sig incident.Signal
	for _, s := range src.Signals("prod", r) {
		if s.Target == freshness.CheckPositionsReceived {
			sig = s
		}
	}
	inc, _ := incident.Apply(incident.Rules{}, nil, sig)
	posts := src.Opened(context.Background(), inc, sig)
	if len(posts) != 1 {
		t.Fatalf("posts: %+v", posts)
	}
	text := posts[0].Text
	for _, want := range []string{
		"Facts read from the app healthcheck.",
		"App healthcheck: answers",
		"Database: not configured",
		"Last position received: failing, 12 min ago (limit 5 min) (2026-12-04 09:48:40 UTC)",
		"Last logbook message: ok, 2 min ago (limit 10 min)",
		"Sudden drop of positions: ok, no sudden drop",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("thread post lacks %q:\n%s", want, text)
		}
	}
	// A reading no longer at hand.
	posts = src.Opened(context.Background(), inc, incident.Signal{Key: inc.Key, Time: fresh0.Add(time.Hour)})
	if len(posts) != 1 || !strings.Contains(posts[0].Text, "health") {
		t.Errorf("missing reading: %+v", posts)
	}
}
