package incident

import (
	"testing"
	"time"
)

// Noted counts every entry, beyond what the bounded timeline keeps: a
// reader that delivered n entries finds the new ones as the last Noted-n.
func TestNotedCountsPastTheTimelineBound(t *testing.T) {
	var inc *Incident
	for i := range maxTimeline + 50 {
		inc, _ = Apply(Rules{}, inc, sig(SignalCrashed, time.Duration(i)*time.Hour))
	}
	if inc.Noted != maxTimeline+50 || len(inc.Timeline) != maxTimeline {
		t.Fatalf("noted %d, timeline %d", inc.Noted, len(inc.Timeline))
	}
	sent := inc.Noted
	inc, _ = Apply(Rules{}, inc, sig(SignalHealthy, 1000*time.Hour))
	inc, _ = Tick(Rules{}, inc, at(1001*time.Hour))
	fresh := inc.Timeline[len(inc.Timeline)-(inc.Noted-sent):]
	if len(fresh) != 2 || fresh[0].Text != "healthy again" || fresh[1].Text != "recovered: up for 2m0s" {
		t.Fatalf("new entries: %+v", fresh)
	}
}
