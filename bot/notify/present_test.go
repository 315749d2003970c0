package notify

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mfbot/incident"
	"mfbot/reply"
)

// containerPresenter presents like the Docker source: Logs kept once
// closed, Restart and Mute 1h only while open.
var containerPresenter = PresenterFunc(func(inc *incident.Incident) Presentation {
	return Presentation{TargetLabel: "Service", Thread: &reply.Target{Env: inc.Key.Env, Service: inc.Key.Target},
		Actions: []PresentedAction{
			{Action: reply.Action{Label: "Logs", Command: inc.Key.Env + " logs " + inc.Key.Target + " --tail 200"}, KeepWhenClosed: true},
			{Action: reply.Action{Label: "Restart", Command: inc.Key.Env + " restart " + inc.Key.Target, Style: "danger"}},
			{Action: reply.Action{Label: "Mute 1h", Command: inc.Key.Env + " mute " + inc.Key.Target + " 1h"}},
		}}
})

// appIncident: app in prod crashed at t0, healthy at +1 min; closed
// (recovered at +3 min) when recovered is set.
func appIncident(t *testing.T, recovered bool) *incident.Incident {
	t.Helper()
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	key := incident.Key{Env: "prod", Source: "docker", Target: "app"}
	r := incident.Rules{RecoveryAfter: 2 * time.Minute}
	inc, _ := incident.Apply(r, nil, incident.Signal{Key: key, Kind: incident.SignalCrashed, Time: t0, ExitCode: 1, HasHealthcheck: true})
	inc, _ = incident.Apply(r, inc, incident.Signal{Key: key, Kind: incident.SignalHealthy, Time: t0.Add(time.Minute), HasHealthcheck: true})
	if recovered {
		inc, _ = incident.Tick(r, inc, t0.Add(3*time.Minute))
	}
	inc.ID = 42
	return inc
}

func labels(actions []reply.Action) []string {
	var out []string
	for _, a := range actions {
		out = append(out, a.Label+" → "+a.Command)
	}
	return out
}

func TestRecoveredRootOffersItsReport(t *testing.T) {
	p := WithReport(containerPresenter)
	open := appIncident(t, false)
	rep, _ := rootReply(open, p.Present(open))
	if got := labels(rep.Actions); len(got) != 3 || got[0] != "Logs → prod logs app --tail 200" || got[1] != "Restart → prod restart app" {
		t.Errorf("open root: %q, want Logs, Restart, Mute 1h and no Report", got)
	}
	for _, a := range rep.Actions {
		if a.Label == "Report" {
			t.Errorf("an open incident offers its report: %q", labels(rep.Actions))
		}
	}

	recovered := appIncident(t, true)
	if recovered.State != incident.StateRecovered {
		t.Fatalf("fixture: %s", recovered.State)
	}
	rep, _ = rootReply(recovered, p.Present(recovered))
	if got := labels(rep.Actions); len(got) != 2 || got[0] != "Logs → prod logs app --tail 200" || got[1] != "Report → prod incident 42 report" {
		t.Errorf("recovered root: %q, want Logs then Report", got)
	}

	resolved, _ := incident.Apply(incident.Rules{}, appIncident(t, false), incident.Signal{Key: open.Key, Kind: incident.SignalStopped, Time: open.LastSeen.Add(time.Hour)})
	rep, _ = rootReply(resolved, p.Present(resolved))
	if got := labels(rep.Actions); len(got) != 2 || got[1] != "Report → prod incident 42 report" {
		t.Errorf("resolved root: %q, want Logs then Report", got)
	}

	// A source without a presenter, closed: Report alone.
	rep, _ = rootReply(recovered, genericPresenter(recovered))
	if got := labels(rep.Actions); len(got) != 1 || got[0] != "Report → prod incident 42 report" {
		t.Errorf("generic recovered root: %q", got)
	}
	// Not saved yet (no ID): nothing to report on.
	unsaved := appIncident(t, true)
	unsaved.ID = 0
	if rep, _ := rootReply(unsaved, p.Present(unsaved)); len(rep.Actions) != 1 {
		t.Errorf("an incident without ID: %q", labels(rep.Actions))
	}
}

// TestWithReportLeavesTheSourcesActionsAlone: the Report button goes on
// a copy, never into the slice a source hands out again.
func TestWithReportLeavesTheSourcesActionsAlone(t *testing.T) {
	shared := make([]PresentedAction, 1, 4) // room to append in place
	shared[0] = PresentedAction{Action: reply.Action{Label: "Logs", Command: "prod logs app"}, KeepWhenClosed: true}
	p := WithReport(PresenterFunc(func(*incident.Incident) Presentation { return Presentation{Actions: shared} }))
	first := p.Present(appIncident(t, true))
	other := appIncident(t, true)
	other.ID = 43
	second := p.Present(other)
	if len(shared[:cap(shared)][1].Label) != 0 {
		t.Errorf("the source's slice was written to: %+v", shared[:cap(shared)])
	}
	if first.Actions[1].Command != "prod incident 42 report" || second.Actions[1].Command != "prod incident 43 report" {
		t.Errorf("reports: %q, %q", first.Actions[1].Command, second.Actions[1].Command)
	}
}

// TestRecoveredRootGolden: the recovered root as Slack gets it, its
// buttons Logs and Report.
func TestRecoveredRootGolden(t *testing.T) {
	inc := appIncident(t, true)
	msg := rootMessage(inc, WithReport(containerPresenter).Present(inc))
	got, err := json.MarshalIndent(map[string]any{"text": msg.Text, "blocks": msg.Blocks}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "recovered-root.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -run RecoveredRootGolden -update ./bot/notify/ writes it)", err)
	}
	if string(want) != string(got)+"\n" {
		t.Errorf("recovered root changed (go test -run RecoveredRootGolden -update ./bot/notify/ to accept):\n%s", got)
	}
}
