package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	slackapi "mfbot/adapters/slack"
	"mfbot/human"
	"mfbot/incident"
)

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		45 * time.Second:                               "45 s",
		12*time.Minute + 20*time.Second:                "12 min",
		2*time.Hour + 5*time.Minute:                    "2 h 5 min",
		3 * time.Hour:                                  "3 h",
		3*24*time.Hour + 4*time.Hour:                   "3 d 4 h",
		2*24*time.Hour + 10*time.Minute:                "2 d",
		59*time.Minute + 50*time.Second:                "1 h",
		59*time.Second + 600*time.Millisecond:          "1 min",
		23*time.Hour + 59*time.Minute + 40*time.Second: "1 d",
		23*time.Hour + 59*time.Minute:                  "23 h 59 min",
		90 * time.Second:                               "2 min",
		0:                                              "0 s",
		36*time.Hour + 29*time.Minute:                  "1 d 12 h",
		10*24*time.Hour + 30*time.Minute:               "10 d 1 h",
	} {
		if got := human.Duration(d); got != want {
			t.Errorf("human.Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestRootOfOtherSources(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	inc, _ := incident.Apply(incident.Rules{}, nil, incident.Signal{
		Key:  incident.Key{Env: "prod", Source: "freshness", Target: "positions_received"},
		Kind: incident.SignalDown, Time: t0, Detail: "last position 7 min ago",
	})
	rep, emoji := rootReply(inc)
	if emoji != "🔴" || rep.Title != "positions_received in prod: down" || len(rep.Actions) != 0 {
		t.Errorf("root: %q %q %+v", emoji, rep.Title, rep.Actions)
	}
	text := rootMessage(inc).Text + " " + blocksText(rootMessage(inc))
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
	if rep, emoji := rootReply(closed); emoji != "⚪" || !strings.HasSuffix(rep.Title, ": resolved") {
		t.Errorf("resolved: %q %q", emoji, rep.Title)
	}
}

func blocksText(m slackapi.Message) string {
	b, _ := json.Marshal(m.Blocks)
	return string(b)
}
