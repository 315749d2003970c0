package watch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mfbot/bot"
	"mfbot/incident"
	"mfbot/pipeline"
)

// The watcher is a Source whose cursor moves with its run signals only.
var (
	_ bot.Source       = (*PrefectSource)(nil)
	_ bot.CursorKeeper = (*PrefectSource)(nil)
)

var prefect0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

// pfClock is the watcher's clock, moved by the test.
type pfClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *pfClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *pfClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// fakePrefect plays one environment's Prefect: the runs it has, what it
// answers to each call, and how many calls it got.
type fakePrefect struct {
	mu       sync.Mutex
	finished []pipeline.Run // runs in a final state
	running  []pipeline.Run
	tasks    map[string][]pipeline.TaskRun
	logs     map[string][]pipeline.LogLine
	uiURL    string // "" : no UI configured

	finishedErr, runningErr, readErr error
	hang                             bool // FinishedSince answers only when ctx ends

	finishedCalls, runningCalls int
	sinces                      []time.Time
	runningBefore               []time.Time
}

func (f *fakePrefect) set(fn func(*fakePrefect)) { f.mu.Lock(); fn(f); f.mu.Unlock() }

func (f *fakePrefect) calls() (finished, running int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.finishedCalls, f.runningCalls
}

func (f *fakePrefect) FinishedSince(ctx context.Context, since time.Time, limit int) ([]pipeline.Run, error) {
	f.mu.Lock()
	f.finishedCalls++
	f.sinces = append(f.sinces, since)
	hang, err := f.hang, f.finishedErr
	var out []pipeline.Run
	for _, r := range f.finished {
		if !r.EndOrStateTime().Before(since) { // inclusive, as the overlap must cope with
			out = append(out, r)
		}
	}
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return nil, fmt.Errorf("%w: %w", pipeline.ErrUnreachable, ctx.Err())
	}
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b pipeline.Run) int { return a.EndOrStateTime().Compare(b.EndOrStateTime()) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (f *fakePrefect) RunningSince(ctx context.Context, startedBefore time.Time) ([]pipeline.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runningCalls++
	f.runningBefore = append(f.runningBefore, startedBefore)
	if f.runningErr != nil {
		return nil, f.runningErr
	}
	var out []pipeline.Run
	for _, r := range f.running {
		if r.Start.Before(startedBefore) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fakePrefect) Run(ctx context.Context, id string) (pipeline.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.readErr != nil {
		return pipeline.Run{}, f.readErr
	}
	for _, r := range append(slices.Clone(f.running), f.finished...) {
		if r.ID == id {
			return r, nil
		}
	}
	return pipeline.Run{}, pipeline.ErrNotFound
}

func (f *fakePrefect) TaskRuns(ctx context.Context, runID string) ([]pipeline.TaskRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.readErr != nil {
		return nil, f.readErr
	}
	return f.tasks[runID], nil
}

func (f *fakePrefect) Logs(ctx context.Context, runID string, limit int) ([]pipeline.LogLine, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.readErr != nil {
		return nil, f.readErr
	}
	l := f.logs[runID]
	if len(l) > limit {
		l = l[len(l)-limit:]
	}
	return l, nil
}

func (f *fakePrefect) RunURL(runID string) string {
	if f.uiURL == "" {
		return ""
	}
	return f.uiURL + "/runs/flow-run/" + runID
}

var errNotUsed = errors.New("not used by the watcher")

func (f *fakePrefect) Version(context.Context) (string, error)        { return "", errNotUsed }
func (f *fakePrefect) Flows(context.Context) ([]pipeline.Flow, error) { return nil, errNotUsed }
func (f *fakePrefect) Runs(context.Context, pipeline.RunQuery) ([]pipeline.Run, error) {
	return nil, errNotUsed
}
func (f *fakePrefect) StartRun(context.Context, pipeline.Flow, string) (pipeline.Started, error) {
	return pipeline.Started{}, errNotUsed
}
func (f *fakePrefect) CancelRun(context.Context, string) (pipeline.Cancellation, error) {
	return pipeline.Cancellation{}, errNotUsed
}
func (f *fakePrefect) SetScheduleActive(context.Context, pipeline.Flow, bool) error {
	return errNotUsed
}

// pfRun is a finished run of a flow.
func pfRun(id, flow string, state pipeline.State, end time.Time) pipeline.Run {
	return pipeline.Run{ID: id, Name: "run-" + id, FlowName: flow, State: state, Start: end.Add(-40 * time.Second), End: end}
}

var (
	pfFailed    = pipeline.State{Type: pipeline.Failed, Name: "Failed", Message: "Flow run encountered an exception: KeyError 'cfr'"}
	pfTimedOut  = pipeline.State{Type: pipeline.Failed, Name: "TimedOut", Message: "Task timed out\nafter 600 seconds"}
	pfCrashed   = pipeline.State{Type: pipeline.Crashed, Name: "Crashed", Message: "Worker exited"}
	pfCompleted = pipeline.State{Type: pipeline.Completed, Name: "Completed"}
	pfCancelled = pipeline.State{Type: pipeline.Cancelled, Name: "Cancelled"}
	pfRunning   = pipeline.State{Type: pipeline.Running, Name: "Running"}
)

const pfLogbook = "Monitorfish - Logbook"

// pfWatcher is a source of one environment "prod" on a fake Prefect and a
// test clock, and its poller, driven poll by poll.
func pfWatcher(api *fakePrefect, cursor time.Time) (*PrefectSource, *prefectPoller, *pfClock) {
	clk := &pfClock{now: prefect0}
	src := &PrefectSource{Envs: []PrefectEnv{{Name: "prod", API: api, Cursor: cursor}}, Now: clk.Now}
	return src, src.newPoller(src.Envs[0]), clk
}

// runSignals are a poll's signals about runs (flows), without the API's.
func runSignals(sigs []incident.Signal) []incident.Signal {
	var out []incident.Signal
	for _, s := range sigs {
		if s.Target != PrefectAPITarget {
			out = append(out, s)
		}
	}
	return out
}

func apiSignal(t *testing.T, sigs []incident.Signal) incident.Signal {
	t.Helper()
	var out []incident.Signal
	for _, s := range sigs {
		if s.Target == PrefectAPITarget {
			out = append(out, s)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%d signals about the Prefect API in a poll, want 1: %+v", len(out), sigs)
	}
	return out[0]
}

func pfKey(target string) incident.Key {
	return incident.Key{Env: "prod", Source: SourcePrefect, Target: target}
}

func TestPrefectFailedRunIsOneSignal(t *testing.T) {
	api := &fakePrefect{}
	_, p, clk := pfWatcher(api, time.Time{})
	if got := runSignals(p.poll(context.Background())); len(got) != 0 {
		t.Fatalf("nothing ran: %+v", got)
	}
	end := prefect0.Add(20 * time.Second)
	api.set(func(f *fakePrefect) {
		f.finished = append(f.finished, pipeline.Run{ID: "r1", Name: "crimson-fox", FlowName: pfLogbook, State: pfTimedOut,
			Start: prefect0.Add(-3 * time.Hour), End: end}) // started long before: its end counts
	})
	clk.Add(15 * time.Second)
	got := runSignals(p.poll(context.Background()))
	if len(got) != 1 {
		t.Fatalf("signals %+v, want one", got)
	}
	s := got[0]
	if s.Key != pfKey("logbook") || s.Kind != incident.SignalFailed || s.Ref != "r1" || !s.Time.Equal(end) {
		t.Errorf("signal %+v", s)
	}
	if s.Detail != "run crimson-fox: TimedOut — Task timed out after 600 seconds" {
		t.Errorf("detail %q", s.Detail)
	}
	clk.Add(15 * time.Second)
	if got := runSignals(p.poll(context.Background())); len(got) != 0 {
		t.Fatalf("the same run again: %+v", got)
	}
}

func TestPrefectFiveFailuresAreOneIncidentCountedFive(t *testing.T) {
	api := &fakePrefect{}
	_, p, clk := pfWatcher(api, time.Time{})
	var open *incident.Incident
	opened := 0
	for i := range 5 {
		clk.Add(time.Minute)
		api.set(func(f *fakePrefect) {
			f.finished = append(f.finished, pfRun(fmt.Sprintf("r%d", i), pfLogbook, pfFailed, clk.Now().Add(-5*time.Second)))
		})
		got := runSignals(p.poll(context.Background()))
		if len(got) != 1 || got[0].Kind != incident.SignalFailed || got[0].Ref != fmt.Sprintf("r%d", i) {
			t.Fatalf("poll %d: %+v", i, got)
		}
		var change incident.Change
		open, change = incident.Apply(incident.Rules{}, open, got[0])
		if change == incident.ChangeOpened {
			opened++
		}
	}
	if opened != 1 || open.Count != 5 || open.Ref != "r4" {
		t.Fatalf("opened %d, incident %+v: want one incident counted 5", opened, open)
	}
}

func TestPrefectSuccessRecoversAndCancelledIsNothing(t *testing.T) {
	api := &fakePrefect{}
	_, p, clk := pfWatcher(api, time.Time{})
	api.set(func(f *fakePrefect) {
		f.finished = []pipeline.Run{
			pfRun("fail", pfLogbook, pfCrashed, prefect0.Add(10*time.Second)),
			pfRun("stop", pfLogbook, pfCancelled, prefect0.Add(20*time.Second)),
			pfRun("ok", pfLogbook, pfCompleted, prefect0.Add(30*time.Second)),
		}
	})
	clk.Add(time.Minute)
	got := runSignals(p.poll(context.Background()))
	if len(got) != 2 || got[0].Kind != incident.SignalFailed || got[1].Kind != incident.SignalSucceeded {
		t.Fatalf("signals %+v, want failed then succeeded (cancelled: nothing)", got)
	}
	if s := got[1]; s.Key != pfKey("logbook") || s.Ref != "ok" || !s.Time.Equal(prefect0.Add(30*time.Second)) || s.Detail != "run run-ok completed" {
		t.Errorf("success %+v", s)
	}
	inc, _ := incident.Apply(incident.Rules{}, nil, got[0])
	inc, change := incident.Apply(incident.Rules{}, inc, got[1])
	if change != incident.ChangeRecovered {
		t.Errorf("the success after the failure: %s", change)
	}
}

func TestPrefectOverlapAndLateRun(t *testing.T) {
	api := &fakePrefect{}
	src, p, clk := pfWatcher(api, time.Time{})
	a := pfRun("a", pfLogbook, pfFailed, prefect0.Add(5*time.Minute))
	api.set(func(f *fakePrefect) { f.finished = []pipeline.Run{a} })
	clk.Add(5*time.Minute + 10*time.Second)
	if got := runSignals(p.poll(context.Background())); len(got) != 1 || got[0].Ref != "a" {
		t.Fatalf("first poll %+v", got)
	}
	// The next poll reads from a's end less the overlap: a comes again.
	clk.Add(15 * time.Second)
	if got := runSignals(p.poll(context.Background())); len(got) != 0 {
		t.Fatalf("a read again by the overlap: %+v", got)
	}
	if since := api.sinces[len(api.sinces)-1]; !since.Equal(a.End.Add(-src.overlap())) {
		t.Errorf("read since %s, want the cursor less the overlap %s", since, a.End.Add(-time.Minute))
	}
	// A run committed late: it ended before a, but Prefect returns it only now.
	late := pfRun("late", "Monitorfish - Last positions", pfFailed, a.End.Add(-20*time.Second))
	api.set(func(f *fakePrefect) { f.finished = append(f.finished, late) })
	clk.Add(15 * time.Second)
	got := runSignals(p.poll(context.Background()))
	if len(got) != 1 || got[0].Ref != "late" || got[0].Key != pfKey("last-positions") || !got[0].Time.Equal(late.End) {
		t.Fatalf("late run: %+v", got)
	}
	// a retried in Prefect (same ID) and completing: a new end, news.
	api.set(func(f *fakePrefect) { f.finished[0] = pfRun("a", pfLogbook, pfCompleted, clk.Now().Add(-time.Second)) })
	clk.Add(15 * time.Second)
	if got := runSignals(p.poll(context.Background())); len(got) != 1 || got[0].Ref != "a" || got[0].Kind != incident.SignalSucceeded {
		t.Fatalf("a retried and completed: %+v", got)
	}
	// The set of runs seen holds only what the overlap can return again.
	clk.Add(10 * time.Minute)
	api.set(func(f *fakePrefect) {
		f.finished = append(f.finished, pfRun("b", pfLogbook, pfCompleted, clk.Now().Add(-time.Second)))
	})
	p.poll(context.Background())
	if _, ok := p.seen["a"]; ok || len(p.seen) != 1 {
		t.Errorf("seen %v, want only b", p.seen)
	}
}

func TestPrefectRestartFromTheSavedCursor(t *testing.T) {
	api := &fakePrefect{}
	src, p, clk := pfWatcher(api, time.Time{})
	api.set(func(f *fakePrefect) {
		f.finished = []pipeline.Run{
			pfRun("a", pfLogbook, pfFailed, prefect0.Add(10*time.Second)),
			pfRun("b", "Monitorfish - Vessels", pfCompleted, prefect0.Add(40*time.Second)),
		}
	})
	clk.Add(time.Minute)
	var saved time.Time
	got := p.poll(context.Background())
	for _, s := range got { // as bot.Alerts does, after recording each signal
		if at, moves := src.CursorAt(s); moves {
			saved = at
		}
	}
	if !saved.Equal(prefect0.Add(40 * time.Second)) {
		t.Fatalf("saved cursor %s after %+v", saved, got)
	}

	// A new process, resuming from the saved cursor: Prefect returns the
	// same runs (the overlap reaches back before the cursor).
	src2 := &PrefectSource{Envs: []PrefectEnv{{Name: "prod", API: api, Cursor: saved}}, Now: clk.Now}
	p2 := src2.newPoller(src2.Envs[0])
	clk.Add(30 * time.Second)
	if got := runSignals(p2.poll(context.Background())); len(got) != 0 {
		t.Fatalf("re-emitted after the restart: %+v", got)
	}
	if since := api.sinces[len(api.sinces)-1]; !since.Equal(saved.Add(-time.Minute)) {
		t.Errorf("first poll after the restart read since %s", since)
	}
	newer := pfRun("c", pfLogbook, pfFailed, saved.Add(time.Second))
	api.set(func(f *fakePrefect) { f.finished = append(f.finished, newer) })
	clk.Add(15 * time.Second)
	if got := runSignals(p2.poll(context.Background())); len(got) != 1 || got[0].Ref != "c" {
		t.Fatalf("a newer run after the restart: %+v", got)
	}
}

func TestPrefectFirstStartDoesNotAlertHistory(t *testing.T) {
	api := &fakePrefect{finished: []pipeline.Run{
		pfRun("old1", pfLogbook, pfFailed, prefect0.Add(-2*time.Hour)),
		pfRun("old2", pfLogbook, pfFailed, prefect0.Add(-30*time.Second)), // within the overlap
	}}
	_, p, clk := pfWatcher(api, time.Time{})
	if got := runSignals(p.poll(context.Background())); len(got) != 0 {
		t.Fatalf("history alerted: %+v", got)
	}
	api.set(func(f *fakePrefect) {
		f.finished = append(f.finished, pfRun("new", pfLogbook, pfFailed, prefect0.Add(5*time.Second)))
	})
	clk.Add(15 * time.Second)
	if got := runSignals(p.poll(context.Background())); len(got) != 1 || got[0].Ref != "new" {
		t.Fatalf("a run after the start: %+v", got)
	}
}

func TestPrefectPollIsOneRequestAndPagesABacklog(t *testing.T) {
	api := &fakePrefect{}
	_, p, clk := pfWatcher(api, time.Time{})
	p.poll(context.Background())
	if finished, _ := api.calls(); finished != 1 {
		t.Fatalf("%d FinishedSince calls in one poll", finished)
	}
	// A backlog of 450 runs: pages of 200 in the same poll, each run once.
	var backlog []pipeline.Run
	for i := range 450 {
		backlog = append(backlog, pfRun(fmt.Sprintf("r%03d", i), pfLogbook, pfFailed, prefect0.Add(time.Duration(i+1)*time.Second)))
	}
	api.set(func(f *fakePrefect) { f.finished = backlog; f.finishedCalls = 0 })
	clk.Add(10 * time.Minute)
	got := runSignals(p.poll(context.Background()))
	if finished, _ := api.calls(); finished != 3 {
		t.Errorf("%d FinishedSince calls for 450 runs, want 3 pages", finished)
	}
	if len(got) != 450 {
		t.Fatalf("%d signals for 450 runs", len(got))
	}
	for i, s := range got {
		if want := fmt.Sprintf("r%03d", i); s.Ref != want {
			t.Fatalf("signal %d is about %s, want %s, oldest first", i, s.Ref, want)
		}
	}
	api.set(func(f *fakePrefect) { f.finishedCalls = 0 })
	clk.Add(15 * time.Second)
	if got := runSignals(p.poll(context.Background())); len(got) != 0 {
		t.Fatalf("the backlog again: %d signals", len(got))
	}
	if finished, _ := api.calls(); finished != 1 {
		t.Errorf("%d FinishedSince calls once the backlog is read", finished)
	}
}

func TestPrefectStuckRun(t *testing.T) {
	hungStart := prefect0.Add(-52 * time.Minute)
	api := &fakePrefect{running: []pipeline.Run{
		{ID: "hung", Name: "hung-owl", FlowName: pfLogbook, State: pfRunning, Start: hungStart},
		{ID: "young", Name: "young-cat", FlowName: "Monitorfish - Vessels", State: pfRunning, Start: prefect0.Add(-10 * time.Minute)},
	}}
	src, p, clk := pfWatcher(api, time.Time{})
	src.Interval, src.StuckEvery = 15*time.Second, time.Minute
	var stuck []incident.Signal
	for range 6 { // 0 s, 15 s ... 75 s: the stuck check at 0 s and 60 s
		stuck = append(stuck, runSignals(p.poll(context.Background()))...)
		clk.Add(15 * time.Second)
	}
	finished, running := api.calls()
	if finished != 6 || running != 2 {
		t.Fatalf("FinishedSince %d, RunningSince %d calls in 6 polls over 75 s, want 6 and 2", finished, running)
	}
	if !api.runningBefore[0].Equal(prefect0.Add(-50 * time.Minute)) {
		t.Errorf("running since before %s, want now - 50 min", api.runningBefore[0])
	}
	if len(stuck) != 2 {
		t.Fatalf("stuck signals %+v, want the hung run at each check", stuck)
	}
	s := stuck[0]
	if s.Key != pfKey("logbook") || s.Kind != incident.SignalFailing || s.Ref != "hung" || !s.Time.Equal(prefect0) {
		t.Errorf("stuck signal %+v", s)
	}
	if s.Detail != "run hung-owl Running for 52 min (since 09:08:00 UTC)" {
		t.Errorf("detail %q", s.Detail)
	}
	if stuck[1].Detail != "run hung-owl Running for 53 min (since 09:08:00 UTC)" {
		t.Errorf("detail a minute later %q", stuck[1].Detail)
	}
	// Reported at each check, it is one failure of one incident.
	inc, _ := incident.Apply(incident.Rules{}, nil, stuck[0])
	if again, change := incident.Apply(incident.Rules{}, inc, stuck[1]); change != incident.ChangeNone || again.Count != 1 {
		t.Errorf("stuck again: %s, count %d", change, again.Count)
	}

	// Another run of the flow completing beside the hung one is no
	// recovery; the hung one ending (cancelled), the next success is.
	api.set(func(f *fakePrefect) {
		f.finished = append(f.finished, pfRun("beside", pfLogbook, pfCompleted, clk.Now().Add(-time.Second)))
	})
	clk.Add(15 * time.Second)
	if got := runSignals(p.poll(context.Background())); len(got) != 0 {
		t.Fatalf("a success beside a stuck run: %+v", got)
	}
	api.set(func(f *fakePrefect) {
		f.running = nil
		f.finished = append(f.finished,
			pipeline.Run{ID: "hung", Name: "hung-owl", FlowName: pfLogbook, State: pfCancelled, Start: hungStart, End: clk.Now().Add(-2 * time.Second)},
			pfRun("next", pfLogbook, pfCompleted, clk.Now().Add(-time.Second)))
	})
	clk.Add(15 * time.Second)
	got := runSignals(p.poll(context.Background()))
	if len(got) != 1 || got[0].Kind != incident.SignalSucceeded || got[0].Ref != "next" {
		t.Fatalf("after the stuck run ended: %+v", got)
	}
	if _, change := incident.Apply(incident.Rules{}, inc, got[0]); change != incident.ChangeRecovered {
		t.Errorf("the success after the stuck run: %s", change)
	}
}

func TestPrefectAPIState(t *testing.T) {
	api := &fakePrefect{}
	src, p, clk := pfWatcher(api, time.Time{})
	if s := apiSignal(t, p.poll(context.Background())); s.Key != pfKey(PrefectAPITarget) || s.Kind != incident.SignalHealthy || !s.Time.Equal(prefect0) {
		t.Fatalf("answering: %+v", s)
	}
	api.set(func(f *fakePrefect) {
		f.finishedErr = fmt.Errorf("%w: dial tcp 10.0.0.5:4200: connection refused", pipeline.ErrUnreachable)
		f.runningCalls = 0
	})
	clk.Add(time.Minute)
	sigs := p.poll(context.Background())
	s := apiSignal(t, sigs)
	if s.Kind != incident.SignalUnreachable || !strings.Contains(s.Detail, "connection refused") || !strings.Contains(s.Detail, "read the runs finished since") {
		t.Fatalf("unreachable: %+v", s)
	}
	if _, running := api.calls(); running != 0 || len(sigs) != 1 {
		t.Errorf("while unreachable: %d RunningSince calls, signals %+v", running, sigs)
	}
	inc, _ := incident.Apply(incident.Rules{}, nil, s)

	api.set(func(f *fakePrefect) { f.finishedErr = nil })
	clk.Add(15 * time.Second)
	back := apiSignal(t, p.poll(context.Background()))
	if back.Kind != incident.SignalHealthy {
		t.Fatalf("back: %+v", back)
	}
	if _, change := incident.Apply(incident.Rules{}, inc, back); change != incident.ChangeUp {
		t.Errorf("answering again: %s", change)
	}

	api.set(func(f *fakePrefect) {
		f.finishedErr = fmt.Errorf("%w: 422 Unprocessable Entity: end_time_after: invalid datetime", pipeline.ErrRefused)
	})
	clk.Add(15 * time.Second)
	if s := apiSignal(t, p.poll(context.Background())); s.Kind != incident.SignalFailing || !strings.Contains(s.Detail, "422") {
		t.Fatalf("refused: %+v", s)
	}

	// The stuck check failing fails the poll too, and is retried at the next.
	api.set(func(f *fakePrefect) {
		f.finishedErr, f.runningErr = nil, fmt.Errorf("%w: 502 Bad Gateway", pipeline.ErrUnreachable)
	})
	clk.Add(time.Minute) // the stuck check is due
	if s := apiSignal(t, p.poll(context.Background())); s.Kind != incident.SignalUnreachable || !strings.Contains(s.Detail, "running since before") {
		t.Fatalf("stuck check unreachable: %+v", s)
	}
	api.set(func(f *fakePrefect) { f.runningErr, f.runningCalls = nil, 0 })
	clk.Add(15 * time.Second)
	if s := apiSignal(t, p.poll(context.Background())); s.Kind != incident.SignalHealthy {
		t.Fatalf("stuck check back: %+v", s)
	}
	if _, running := api.calls(); running != 1 {
		t.Errorf("the failed stuck check was not retried at the next poll")
	}

	// No answer within the poll's timeout: unreachable.
	src.Interval, src.Timeout = time.Second, 20*time.Millisecond
	api.set(func(f *fakePrefect) { f.hang = true })
	if s := apiSignal(t, p.poll(context.Background())); s.Kind != incident.SignalUnreachable || !strings.Contains(s.Detail, "deadline exceeded") {
		t.Fatalf("hanging: %+v", s)
	}
}

func TestPrefectCursorAt(t *testing.T) {
	saved := prefect0.Add(-time.Hour)
	src := &PrefectSource{Envs: []PrefectEnv{{Name: "prod", Cursor: saved}}}
	flow := pfKey("logbook")
	for _, c := range []struct {
		name  string
		sig   incident.Signal
		moves bool
		at    time.Time
	}{
		{"failed run", incident.Signal{Key: flow, Kind: incident.SignalFailed, Time: prefect0, Ref: "r1"}, true, prefect0},
		{"succeeded run", incident.Signal{Key: flow, Kind: incident.SignalSucceeded, Time: prefect0.Add(time.Minute), Ref: "r2"}, true, prefect0.Add(time.Minute)},
		{"a run read late", incident.Signal{Key: flow, Kind: incident.SignalFailed, Time: prefect0.Add(30 * time.Second), Ref: "r3"}, false, prefect0.Add(time.Minute)},
		{"stuck run", incident.Signal{Key: flow, Kind: incident.SignalFailing, Time: prefect0.Add(2 * time.Minute), Ref: "r4"}, false, time.Time{}},
		{"API unreachable", incident.Signal{Key: pfKey(PrefectAPITarget), Kind: incident.SignalUnreachable, Time: prefect0.Add(3 * time.Minute)}, false, time.Time{}},
		{"API failing", incident.Signal{Key: pfKey(PrefectAPITarget), Kind: incident.SignalFailing, Time: prefect0.Add(3 * time.Minute)}, false, time.Time{}},
		{"API healthy", incident.Signal{Key: pfKey(PrefectAPITarget), Kind: incident.SignalHealthy, Time: prefect0.Add(3 * time.Minute)}, false, time.Time{}},
	} {
		at, moves := src.CursorAt(c.sig)
		if moves != c.moves || (moves && !at.Equal(c.at)) {
			t.Errorf("%s: cursor at %s, moves %v; want %s, %v", c.name, at, moves, c.at, c.moves)
		}
	}
	other := &PrefectSource{Envs: []PrefectEnv{{Name: "prod", Cursor: prefect0}}}
	if _, moves := other.CursorAt(incident.Signal{Key: flow, Kind: incident.SignalFailed, Time: prefect0.Add(-time.Second), Ref: "r"}); moves {
		t.Error("a run older than the saved cursor moved it back")
	}
}

// pfOpen opens the incident of one signal.
func pfOpen(sig incident.Signal) *incident.Incident {
	inc, _ := incident.Apply(incident.Rules{}, nil, sig)
	inc.ID = 7
	return inc
}

func TestPrefectOpenedFailedRun(t *testing.T) {
	end := prefect0.Add(-time.Minute)
	api := &fakePrefect{uiURL: "https://prefect.example/prod",
		tasks: map[string][]pipeline.TaskRun{"r1": {
			{Name: "extract_logbook", State: pfCompleted, Start: end.Add(-3 * time.Minute), End: end.Add(-2 * time.Minute)},
			{Name: "load_logbook", State: pipeline.State{Type: pipeline.Failed, Name: "Failed", Message: "psycopg2.OperationalError: server closed the connection"},
				Start: end.Add(-2 * time.Minute), End: end.Add(-5 * time.Second)},
			{Name: "notify", State: pipeline.State{Type: pipeline.Failed, Name: "TriggerFailed", Message: "Trigger was all_successful"}},
		}},
		logs: map[string][]pipeline.LogLine{"r1": {
			{Time: end.Add(-2 * time.Minute), Level: "INFO", Logger: "prefect.task_runs", Message: "loading 1200 messages"},
			{Time: end.Add(-6 * time.Second), Level: "ERROR", Logger: "prefect.task_runs", Message: "Traceback (most recent call last):\n  psycopg2.OperationalError"},
			{Time: end.Add(-5 * time.Second), Level: "critical", Logger: "prefect.flow_runs", Message: "Finished in state Failed"},
		}}}
	src, _, _ := pfWatcher(api, time.Time{})
	sig := incident.Signal{Key: pfKey("logbook"), Kind: incident.SignalFailed, Time: end, Ref: "r1", Detail: "run crimson-fox: Failed — boom"}
	posts := src.Opened(context.Background(), pfOpen(sig), sig)
	if len(posts) != 2 {
		t.Fatalf("posts %+v", posts)
	}
	tasks, logs := posts[0], posts[1]
	if tasks.Title != "Failed task runs" || tasks.IncidentID != 7 {
		t.Errorf("tasks post %+v", tasks)
	}
	for _, want := range []string{
		"Run in Prefect: https://prefect.example/prod/runs/flow-run/r1",
		"Failed · load_logbook · 2 min · psycopg2.OperationalError: server closed the connection",
		"TriggerFailed · notify · Trigger was all_successful",
	} {
		if !strings.Contains(tasks.Text, want) {
			t.Errorf("tasks post lacks %q:\n%s", want, tasks.Text)
		}
	}
	if strings.Contains(tasks.Text, "extract_logbook") {
		t.Errorf("a completed task listed:\n%s", tasks.Text)
	}
	if logs.Title != "Last error log lines" || logs.Kind != "logs" || strings.Contains(logs.Code, "loading") ||
		!strings.Contains(logs.Code, "09:58:54 UTC ERROR prefect.task_runs: Traceback") || !strings.Contains(logs.Code, "CRITICAL prefect.flow_runs: Finished in state Failed") {
		t.Errorf("logs post %+v", logs)
	}

	// Prefect no longer answering: each post says what could not be read.
	api.set(func(f *fakePrefect) { f.readErr = fmt.Errorf("%w: connection refused", pipeline.ErrUnreachable) })
	posts = src.Opened(context.Background(), pfOpen(sig), sig)
	if len(posts) != 2 || !strings.HasPrefix(strings.Split(posts[0].Text, "\n")[1], "Task runs unavailable: read the task runs of run r1") ||
		!strings.Contains(posts[1].Text, "Logs unavailable: read the logs of run r1") || !strings.Contains(posts[1].Text, "connection refused") {
		t.Errorf("posts while Prefect fails: %+v", posts)
	}
}

func TestPrefectOpenedStuckRunAndAPI(t *testing.T) {
	hung := pipeline.Run{ID: "hung", Name: "hung-owl", FlowName: pfLogbook, State: pfRunning, Start: prefect0.Add(-52 * time.Minute), ExpectedStart: prefect0.Add(-53 * time.Minute)}
	api := &fakePrefect{running: []pipeline.Run{hung}, logs: map[string][]pipeline.LogLine{"hung": {
		{Time: prefect0.Add(-51 * time.Minute), Level: "INFO", Logger: "prefect.task_runs", Message: "waiting for the lock on logbook_reports"},
	}}}
	src, _, _ := pfWatcher(api, time.Time{})
	sig := incident.Signal{Key: pfKey("logbook"), Kind: incident.SignalFailing, Time: prefect0, Ref: "hung", Detail: stuckRunDetail(hung, prefect0)}
	posts := src.Opened(context.Background(), pfOpen(sig), sig)
	if len(posts) != 2 {
		t.Fatalf("posts %+v", posts)
	}
	for _, want := range []string{"Run hung-owl of Monitorfish - Logbook, ID hung", "State: Running for 52 min (since 2026-12-04 09:08:00 UTC)", "Expected start: 2026-12-04 09:07:00 UTC"} {
		if !strings.Contains(posts[0].Text, want) {
			t.Errorf("stuck facts lack %q:\n%s", want, posts[0].Text)
		}
	}
	if strings.Contains(posts[0].Text, "Run in Prefect") {
		t.Errorf("a link without a UI URL:\n%s", posts[0].Text)
	}
	if !strings.Contains(posts[1].Code, "waiting for the lock") {
		t.Errorf("stuck run's last log lines: %+v", posts[1])
	}
	api.set(func(f *fakePrefect) { f.readErr = errors.New("boom") })
	posts = src.Opened(context.Background(), pfOpen(sig), sig)
	if !strings.Contains(posts[0].Text, "run hung-owl Running for 52 min") || !strings.Contains(posts[0].Text, "Run details unavailable: read run hung: boom") {
		t.Errorf("stuck facts unavailable:\n%s", posts[0].Text)
	}

	down := incident.Signal{Key: pfKey(PrefectAPITarget), Kind: incident.SignalUnreachable, Time: prefect0, Detail: "connection refused"}
	posts = src.Opened(context.Background(), pfOpen(down), down)
	if len(posts) != 1 || !strings.Contains(posts[0].Text, "no failed or stuck run can be seen") {
		t.Errorf("API posts %+v", posts)
	}
}

func TestPrefectPresentation(t *testing.T) {
	api := &fakePrefect{uiURL: "https://prefect.example/prod"}
	src, p, clk := pfWatcher(api, time.Time{})
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
	// shown are the buttons the notifier shows: all while open, the kept ones once closed.
	shown := func(inc *incident.Incident) []string {
		var out []string
		for _, a := range src.Present(inc).Actions {
			if !inc.State.Closed() || a.KeepWhenClosed {
				out = append(out, a.Label)
			}
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

	// The flow's full name is learnt from its runs.
	api.set(func(f *fakePrefect) {
		f.finished = []pipeline.Run{{ID: "r1", Name: "crimson-fox", FlowName: "Monitorfish - Sales and Logbook", State: pfTimedOut, End: prefect0.Add(5 * time.Second)}}
	})
	clk.Add(15 * time.Second)
	sigs := runSignals(p.poll(context.Background()))
	if len(sigs) != 1 || sigs[0].Target != "sales-and-logbook" {
		t.Fatalf("signals %+v", sigs)
	}
	failed := pfOpen(sigs[0])
	pr := src.Present(failed)
	if pr.TargetLabel != "Flow" || pr.Reason != "run failed (TimedOut)" || pr.Thread == nil || pr.Thread.Env != "prod" {
		t.Errorf("failed run: %+v", pr)
	}
	if f := fields(failed); f["Flow name"] != "Monitorfish - Sales and Logbook" || f["Last run"] != "https://prefect.example/prod/runs/flow-run/r1" || f["Run state"] != "TimedOut" {
		t.Errorf("failed run fields %v", f)
	}
	if got, want := buttons(failed), []button{
		{"Logs", "prod run logs r1", true},
		{"Rerun", "prod flow run sales-and-logbook", false},
		{"Pause schedule", "prod flow pause sales-and-logbook", false},
		{"Mute 1h", "prod mute sales-and-logbook 1h", false},
	}; !slices.Equal(got, want) {
		t.Errorf("failed run buttons %v, want %v", got, want)
	}
	recovered, _ := incident.Apply(incident.Rules{}, failed, incident.Signal{Key: failed.Key, Kind: incident.SignalSucceeded, Time: prefect0.Add(time.Minute), Ref: "r2"})
	if got := shown(recovered); !slices.Equal(got, []string{"Logs"}) {
		t.Errorf("closed failed-run incident shows %v", got)
	}
	crashed := pfOpen(incident.Signal{Key: pfKey("vessels"), Kind: incident.SignalFailed, Time: prefect0, Ref: "r9", Detail: "run x: Crashed — Worker exited"})
	if pr := src.Present(crashed); pr.Reason != "run crashed" {
		t.Errorf("crashed reason %q", pr.Reason)
	}
	if f := fields(crashed); f["Flow name"] != "" {
		t.Errorf("a flow name never read: %v", f)
	}

	stuck := pfOpen(incident.Signal{Key: pfKey("logbook"), Kind: incident.SignalFailing, Time: prefect0, Ref: "hung", Detail: "run hung-owl Running for 52 min (since 09:08:00 UTC)"})
	if pr := src.Present(stuck); pr.Reason != "run stuck in Running" || fields(stuck)["Stuck run"] != "https://prefect.example/prod/runs/flow-run/hung" {
		t.Errorf("stuck: %+v", pr)
	}
	if got, want := buttons(stuck), []button{
		{"Cancel", "prod run cancel hung", false},
		{"Logs", "prod run logs hung", true},
		{"Mute 1h", "prod mute logbook 1h", false},
	}; !slices.Equal(got, want) {
		t.Errorf("stuck buttons %v, want %v", got, want)
	}
	stuckOver, _ := incident.Apply(incident.Rules{}, stuck, incident.Signal{Key: stuck.Key, Kind: incident.SignalSucceeded, Time: prefect0.Add(time.Minute), Ref: "next"})
	if got := shown(stuckOver); !slices.Equal(got, []string{"Logs"}) {
		t.Errorf("closed stuck incident shows %v", got)
	}

	down := pfOpen(incident.Signal{Key: pfKey(PrefectAPITarget), Kind: incident.SignalUnreachable, Time: prefect0, Detail: "connection refused"})
	if pr := src.Present(down); pr.Reason != "Prefect API unreachable" {
		t.Errorf("API: %+v", pr)
	}
	if got, want := buttons(down), []button{{"Pipeline status", "prod pipeline status", false}, {"Mute 1h", "prod mute prefect-api 1h", false}}; !slices.Equal(got, want) {
		t.Errorf("API buttons %v, want %v", got, want)
	}
	refused := pfOpen(incident.Signal{Key: pfKey(PrefectAPITarget), Kind: incident.SignalFailing, Time: prefect0, Detail: "422"})
	if pr := src.Present(refused); pr.Reason != "Prefect API refuses the watcher's query" {
		t.Errorf("API refusing: %+v", pr)
	}
	back, _ := incident.Apply(incident.Rules{}, down, incident.Signal{Key: down.Key, Kind: incident.SignalHealthy, Time: prefect0.Add(time.Minute)})
	back, _ = incident.Tick(incident.Rules{}, back, prefect0.Add(10*time.Minute))
	if got := shown(back); len(got) != 0 {
		t.Errorf("closed API incident shows %v", got)
	}

	// Without a UI URL the run is named by its ID.
	noUI := &PrefectSource{Envs: []PrefectEnv{{Name: "prod", API: &fakePrefect{}}}}
	if got := noUI.Present(failed).Fields; !slices.Contains(got, struct{ Label, Value string }{"Last run", "r1"}) {
		t.Errorf("fields without a UI URL: %v", got)
	}
}

func TestPrefectWatchPollsAtStartAndStops(t *testing.T) {
	api := &fakePrefect{}
	src := &PrefectSource{Envs: []PrefectEnv{{Name: "prod", API: api}, {Name: "no-prefect"}}, Interval: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan incident.Signal)
	done := make(chan struct{})
	go func() { src.Watch(ctx, signals); close(done) }()
	select {
	case s := <-signals:
		if s.Key != pfKey(PrefectAPITarget) || s.Kind != incident.SignalHealthy {
			t.Errorf("first signal %+v", s)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no poll at start")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Watch did not return after ctx ended")
	}
}

func TestPrefectDefaults(t *testing.T) {
	src := &PrefectSource{}
	if src.interval() != 15*time.Second || src.stuckAfter() != 50*time.Minute || src.stuckEvery() != time.Minute ||
		src.overlap() != time.Minute || src.timeout() != 11250*time.Millisecond {
		t.Errorf("defaults: %s %s %s %s %s", src.interval(), src.stuckAfter(), src.stuckEvery(), src.overlap(), src.timeout())
	}
	if got := (&PrefectSource{Interval: 5 * time.Minute}).timeout(); got != 30*time.Second {
		t.Errorf("timeout at a 5 min interval: %s", got)
	}
	if got := (&PrefectSource{Interval: time.Second, Timeout: 5 * time.Second}).timeout(); got != 900*time.Millisecond {
		t.Errorf("timeout above the interval: %s", got)
	}
}
