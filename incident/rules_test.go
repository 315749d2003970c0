package incident

import (
	"testing"
	"time"
)

var (
	t0  = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	app = Key{Env: "prod", Source: "docker", Target: "app"}
)

func at(d time.Duration) time.Time { return t0.Add(d) }

func sig(kind SignalKind, d time.Duration) Signal {
	return Signal{Key: app, Kind: kind, Time: at(d), ExitCode: 1, HasHealthcheck: true}
}

func TestACrashOpensOneIncidentThatRecovers(t *testing.T) {
	r := Rules{}
	inc, ch := Apply(r, nil, sig(SignalCrashed, 0))
	if ch != ChangeOpened || inc.State != StateOpen || inc.Count != 1 || inc.ExitCode != 1 {
		t.Fatalf("opened: %v %+v", ch, inc)
	}
	// A start is not recovery for a target with a healthcheck.
	if _, ch := Apply(r, inc, sig(SignalRunning, 5*time.Second)); ch != ChangeNone {
		t.Fatalf("start of a healthchecked target: %v", ch)
	}
	inc, ch = Apply(r, inc, sig(SignalHealthy, 10*time.Second))
	if ch != ChangeUp || !inc.UpSince.Equal(at(10*time.Second)) {
		t.Fatalf("healthy: %v %+v", ch, inc)
	}
	if same, ch := Apply(r, inc, sig(SignalHealthy, 20*time.Second)); ch != ChangeNone || !same.UpSince.Equal(inc.UpSince) {
		t.Fatal("a second healthy must not move UpSince")
	}
	if _, ch := Tick(r, inc, at(2*time.Minute)); ch != ChangeNone {
		t.Fatal("recovered too early")
	}
	inc, ch = Tick(r, inc, at(2*time.Minute+10*time.Second))
	if ch != ChangeRecovered || inc.State != StateRecovered || !inc.ClosedAt.Equal(at(2*time.Minute+10*time.Second)) {
		t.Fatalf("tick: %v %+v", ch, inc)
	}
	if got := inc.Duration(at(time.Hour)); got != 2*time.Minute+10*time.Second {
		t.Errorf("duration %s", got)
	}
}

func TestACrashLoopIsOneIncident(t *testing.T) {
	r := Rules{CrashLoopRestarts: 3, CrashLoopWindow: 10 * time.Minute}
	var inc *Incident
	var changes []Change
	for i := range 6 {
		var ch Change
		inc, ch = Apply(r, inc, sig(SignalCrashed, time.Duration(i)*30*time.Second))
		changes = append(changes, ch)
		inc, _ = Apply(r, inc, sig(SignalRunning, time.Duration(i)*30*time.Second+time.Second))
	}
	want := []Change{ChangeOpened, ChangeRecurred, ChangeEscalated, ChangeRecurred, ChangeRecurred, ChangeRecurred}
	for i := range want {
		if changes[i] != want[i] {
			t.Fatalf("changes %v, want %v", changes, want)
		}
	}
	if inc.State != StateCrashLooping || inc.Count != 6 || len(inc.Failures) != 6 {
		t.Fatalf("%+v", inc)
	}
}

func TestFailuresOutsideTheWindowAreNotALoop(t *testing.T) {
	r := Rules{CrashLoopRestarts: 3, CrashLoopWindow: 10 * time.Minute}
	inc, _ := Apply(r, nil, sig(SignalCrashed, 0))
	inc, _ = Apply(r, inc, sig(SignalCrashed, 8*time.Minute))
	inc, _ = Apply(r, inc, sig(SignalCrashed, 16*time.Minute))
	if inc.State != StateOpen || len(inc.Failures) != 2 {
		t.Fatalf("%+v", inc)
	}
}

func TestAFailureWhileRecoveringCancelsRecovery(t *testing.T) {
	r := Rules{}
	inc, _ := Apply(r, nil, sig(SignalUnhealthy, 0))
	inc, _ = Apply(r, inc, sig(SignalHealthy, time.Minute))
	inc, ch := Apply(r, inc, sig(SignalUnhealthy, 2*time.Minute))
	if ch != ChangeRecurred || !inc.UpSince.IsZero() {
		t.Fatalf("%v %+v", ch, inc)
	}
	if _, ch := Tick(r, inc, at(time.Hour)); ch != ChangeNone {
		t.Fatal("recovered while failing")
	}
}

func TestOOMAndPurposefulStop(t *testing.T) {
	s := sig(SignalOOMKilled, 0)
	s.ExitCode = 137
	inc, _ := Apply(Rules{}, nil, s)
	if !inc.OOM || inc.ExitCode != 137 {
		t.Fatalf("%+v", inc)
	}
	inc, ch := Apply(Rules{}, inc, sig(SignalStopped, time.Minute))
	if ch != ChangeResolved || inc.State != StateResolved {
		t.Fatalf("%v %+v", ch, inc)
	}
	if got, ch := Apply(Rules{}, nil, sig(SignalStopped, 0)); got != nil || ch != ChangeNone {
		t.Fatal("a stop opened an incident")
	}
}

func TestNoHealthcheckRecoversOnStart(t *testing.T) {
	s := sig(SignalRunning, time.Second)
	s.HasHealthcheck = false
	inc, _ := Apply(Rules{}, nil, sig(SignalCrashed, 0))
	if _, ch := Apply(Rules{}, inc, s); ch != ChangeUp {
		t.Fatalf("start without healthcheck: %v", ch)
	}
}

func TestApplyDoesNotMutateItsInput(t *testing.T) {
	inc, _ := Apply(Rules{}, nil, sig(SignalCrashed, 0))
	before := len(inc.Timeline)
	Apply(Rules{}, inc, sig(SignalCrashed, time.Second))
	if inc.Count != 1 || len(inc.Timeline) != before {
		t.Fatal("Apply changed the incident it was given")
	}
}

func TestTimelineIsBounded(t *testing.T) {
	var inc *Incident
	for i := range 1000 {
		inc, _ = Apply(Rules{}, inc, sig(SignalCrashed, time.Duration(i)*time.Hour))
	}
	if len(inc.Timeline) != maxTimeline || inc.Timeline[0].Time != t0 {
		t.Fatalf("timeline %d entries, first %v", len(inc.Timeline), inc.Timeline[0].Time)
	}
}

func TestAStillUnhealthyTargetIsNotCountedTwice(t *testing.T) {
	inc, _ := Apply(Rules{}, nil, sig(SignalUnhealthy, 0))
	if again, ch := Apply(Rules{}, inc, sig(SignalUnhealthy, time.Minute)); ch != ChangeNone || again.Count != 1 {
		t.Fatalf("repeated unhealthy: %v count %d", ch, again.Count)
	}
	inc, _ = Apply(Rules{}, inc, sig(SignalHealthy, 2*time.Minute))
	if again, ch := Apply(Rules{}, inc, sig(SignalUnhealthy, 3*time.Minute)); ch != ChangeRecurred || again.Count != 2 {
		t.Fatalf("unhealthy after healthy: %v count %d", ch, again.Count)
	}
}

func TestAReplayedFailureIsNotCountedTwice(t *testing.T) {
	inc, _ := Apply(Rules{}, nil, sig(SignalCrashed, time.Minute))
	inc, _ = Apply(Rules{}, inc, sig(SignalCrashed, 2*time.Minute))
	for _, d := range []time.Duration{time.Minute, 2 * time.Minute} {
		if again, ch := Apply(Rules{}, inc, sig(SignalCrashed, d)); ch != ChangeNone || again.Count != 2 {
			t.Fatalf("replay at %s: %v count %d", d, ch, again.Count)
		}
	}
}

// A condition found by polling (stale data, an unreachable database) is
// reported at every poll: one failure, not a crash loop, and it recovers
// like a container does.
func TestPolledConditionIsOneFailure(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	r := Rules{RecoveryAfter: time.Minute}
	key := Key{Env: "prod", Source: "freshness", Target: "positions-received"}
	inc, change := Apply(r, nil, Signal{Key: key, Kind: SignalFailing, Time: t0, Detail: "7 min ago (limit 5 min)"})
	if change != ChangeOpened || inc.Count != 1 {
		t.Fatalf("first poll: %s %+v", change, inc)
	}
	for i := 1; i <= 5; i++ {
		next, change := Apply(r, inc, Signal{Key: key, Kind: SignalFailing, Time: t0.Add(time.Duration(i) * time.Minute)})
		if change != ChangeNone || next.Count != 1 || next.State != StateOpen {
			t.Fatalf("poll %d: %s count %d state %s", i, change, next.Count, next.State)
		}
	}
	inc, change = Apply(r, inc, Signal{Key: key, Kind: SignalHealthy, Time: t0.Add(6 * time.Minute), Detail: "20 s ago"})
	if change != ChangeUp {
		t.Fatalf("fresh again: %s", change)
	}
	if _, change := Tick(r, inc, t0.Add(6*time.Minute+30*time.Second)); change != ChangeNone {
		t.Fatalf("recovered too early: %s", change)
	}
	closed, change := Tick(r, inc, t0.Add(7*time.Minute))
	if change != ChangeRecovered || closed.State != StateRecovered {
		t.Fatalf("recovery: %s %s", change, closed.State)
	}
	// An unreachable database after a stale check is another kind: a new failure.
	other, change := Apply(r, nil, Signal{Key: Key{Env: "prod", Source: "freshness", Target: "database"}, Kind: SignalUnreachable, Time: t0})
	if change != ChangeOpened || other.Reason != SignalUnreachable {
		t.Fatalf("unreachable: %s %+v", change, other)
	}
}

func TestFlowRunsFailAndASuccessRecoversAtOnce(t *testing.T) {
	flow := Key{Env: "prod", Source: "prefect", Target: "logbook"}
	run := func(kind SignalKind, d time.Duration, ref string) Signal {
		return Signal{Key: flow, Kind: kind, Time: at(d), Ref: ref, Detail: "run " + ref}
	}
	var inc *Incident
	var ch Change
	for i, d := range []time.Duration{0, time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute} {
		inc, ch = Apply(Rules{CrashLoopRestarts: 100}, inc, run(SignalFailed, d, "r"+string(rune('1'+i))))
		if i == 0 && ch != ChangeOpened || i > 0 && ch != ChangeRecurred {
			t.Fatalf("failure %d: %v", i, ch)
		}
	}
	if inc.Count != 5 || inc.Ref != "r5" || inc.Detail != "run r5" || inc.Reason != SignalFailed {
		t.Fatalf("five failures: %+v", inc)
	}
	// A success that ended before the last failure recovers nothing.
	if _, ch := Apply(Rules{}, inc, run(SignalSucceeded, 3*time.Minute+30*time.Second, "late")); ch != ChangeNone {
		t.Fatalf("an older success: %v", ch)
	}
	done, ch := Apply(Rules{}, inc, run(SignalSucceeded, 5*time.Minute, "ok"))
	if ch != ChangeRecovered || done.State != StateRecovered || !done.ClosedAt.Equal(at(5*time.Minute)) {
		t.Fatalf("success: %v %+v", ch, done)
	}
	if got := done.Timeline[len(done.Timeline)-1].Text; got != "recovered: run ok" {
		t.Errorf("timeline: %q", got)
	}
	// With nothing open, a success is nothing.
	if none, ch := Apply(Rules{}, nil, run(SignalSucceeded, 0, "x")); none != nil || ch != ChangeNone {
		t.Error("a success without an incident")
	}
}

func TestTwoRunsFailingAtOneInstantCountTwice(t *testing.T) {
	flow := Key{Env: "prod", Source: "prefect", Target: "logbook"}
	a := Signal{Key: flow, Kind: SignalFailed, Time: t0, Ref: "run-a"}
	inc, _ := Apply(Rules{}, nil, a)
	if again, ch := Apply(Rules{}, inc, a); ch != ChangeNone || again.Count != 1 {
		t.Fatalf("the same run again: %v", ch)
	}
	b := a
	b.Ref = "run-b"
	if both, ch := Apply(Rules{}, inc, b); ch != ChangeRecurred || both.Count != 2 {
		t.Fatalf("another run at the same instant: %v %+v", ch, both)
	}
}
