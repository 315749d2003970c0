package notify

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	slackapi "mfbot/adapters/slack"
	"mfbot/incident"
	"mfbot/reply"
)

func TestRootOfOtherSources(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	inc, _ := incident.Apply(incident.Rules{}, nil, incident.Signal{
		Key:  incident.Key{Env: "prod", Source: "freshness", Target: "positions_received"},
		Kind: incident.SignalDown, Time: t0, Detail: "last position 7 min ago",
	})
	check := Presentation{TargetLabel: "Check", Reason: "7 min old",
		Actions: []PresentedAction{{Action: reply.Action{Label: "Mute 1h", Command: "prod mute positions_received 1h"}}}}
	rep, emoji := rootReply(inc, check)
	if emoji != "🔴" || rep.Title != "positions_received in prod: 7 min old" || len(rep.Actions) != 1 {
		t.Errorf("root: %q %q %+v", emoji, rep.Title, rep.Actions)
	}
	text := rootMessage(inc, check).Text + " " + blocksText(rootMessage(inc, check))
	for _, want := range []string{"Check", "last position 7 min ago"} {
		if !strings.Contains(text, want) {
			t.Errorf("root lacks %q: %s", want, text)
		}
	}
	for _, unwanted := range []string{"OOM-killed", "Exit code"} {
		if strings.Contains(text, unwanted) {
			t.Errorf("root of a freshness check shows %q: %s", unwanted, text)
		}
	}
	closed, _ := incident.Apply(incident.Rules{}, inc, incident.Signal{Key: inc.Key, Kind: incident.SignalStopped, Time: t0.Add(time.Minute)})
	if rep, emoji := rootReply(closed, check); emoji != "⚪" || !strings.HasSuffix(rep.Title, ": resolved") || len(rep.Actions) != 0 {
		t.Errorf("resolved: %q %q %+v", emoji, rep.Title, rep.Actions)
	}
	// A source without a presenter is shown plainly: no buttons, "Target".
	plain := rootMessage(inc, genericPresenter(inc))
	if text := blocksText(plain); !strings.Contains(text, "Target") || strings.Contains(text, "Mute") {
		t.Errorf("generic root: %s", text)
	}
}

func blocksText(m slackapi.Message) string {
	b, _ := json.Marshal(m.Blocks)
	return string(b)
}

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGroupMessageGolden: the grouped message of a storm, worst first, a
// line and a Logs button each.
func TestGroupMessageGolden(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	crash := func(target string, code int, at time.Time) *incident.Incident {
		inc, _ := incident.Apply(incident.Rules{}, nil, incident.Signal{Key: incident.Key{Env: "prod", Source: "docker", Target: target},
			Kind: incident.SignalCrashed, Time: at, ExitCode: code, HasHealthcheck: true})
		return inc
	}
	app := crash("app", 1, t0)
	app.ID = 7
	loop := crash("pipeline-flows", 137, t0.Add(time.Second))
	for i := 2; i <= 3; i++ {
		loop, _ = incident.Apply(incident.Rules{CrashLoopRestarts: 3, CrashLoopWindow: time.Hour}, loop,
			incident.Signal{Key: loop.Key, Kind: incident.SignalCrashed, Time: t0.Add(time.Duration(i) * time.Second), ExitCode: 137, HasHealthcheck: true})
	}
	loop.ID = 8
	db := crash("db", 3, t0.Add(2*time.Second))
	db, _ = incident.Apply(incident.Rules{}, db, incident.Signal{Key: db.Key, Kind: incident.SignalStopped, Time: t0.Add(time.Minute)})
	db.ID = 9
	logs := PresenterFunc(func(inc *incident.Incident) Presentation {
		return Presentation{Actions: []PresentedAction{
			{Action: reply.Action{Label: "Restart", Command: "prod restart " + inc.Key.Target}},
			{Action: reply.Action{Label: "Logs", Command: "prod logs " + inc.Key.Target + " --tail 200"}, KeepWhenClosed: true},
		}}
	})
	n := New(nil, nil, "C0ALERTS", Options{Presenters: map[string]Presenter{"docker": logs}})
	msg := n.groupMessage(7, []groupMember{{inc: app}, {inc: loop}, {inc: db}})
	if msg.Metadata.EventPayload["incident_id"] != int64(7) {
		t.Errorf("metadata %+v, want the group's incident 7", msg.Metadata)
	}
	got, err := json.MarshalIndent(map[string]any{"text": msg.Text, "blocks": msg.Blocks}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "group.golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -run GroupMessageGolden -update ./bot/notify/ writes it)", err)
	}
	if string(want) != string(got)+"\n" {
		t.Errorf("group message changed (go test -update to accept):\n%s", got)
	}
}

// TestGroupMessageOfAHugeStorm: past maxGroupLines the rest are counted,
// and the message stays within Slack's 50 blocks.
func TestGroupMessageOfAHugeStorm(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	var members []groupMember
	for i := range maxGroupLines + 5 {
		inc, _ := incident.Apply(incident.Rules{}, nil, incident.Signal{Key: incident.Key{Env: "prod", Source: "docker", Target: fmt.Sprintf("svc-%02d", i)},
			Kind: incident.SignalCrashed, Time: t0, ExitCode: 1, HasHealthcheck: true})
		inc.ID = int64(i + 1)
		members = append(members, groupMember{inc: inc})
	}
	msg := New(nil, nil, "C0ALERTS", Options{}).groupMessage(1, members)
	text := blocksText(msg)
	if !strings.Contains(text, "45 incidents in prod: 45 open") || !strings.Contains(text, "5 more incidents") || strings.Contains(text, "svc-44") {
		t.Errorf("huge group: %s", text)
	}
	if len(msg.Blocks) > 50 {
		t.Errorf("%d blocks: Slack takes 50", len(msg.Blocks))
	}
}
