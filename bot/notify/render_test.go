package notify

import (
	"encoding/json"
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
