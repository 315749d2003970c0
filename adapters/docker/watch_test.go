package docker

import (
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
)

func TestSinceKeepsNanoseconds(t *testing.T) {
	at := time.Date(2026, 11, 27, 15, 34, 35, 7, time.UTC)
	if got, want := sinceNano(at), "1795793675.000000007"; got != want {
		t.Fatalf("since %q, want %q", got, want)
	}
}

func TestEventFromDropsExecNoise(t *testing.T) {
	for _, action := range []events.Action{"exec_create: /fakeapp healthcheck", "exec_start: /fakeapp healthcheck", "exec_die"} {
		if _, ok := eventFrom(events.Message{Type: events.ContainerEventType, Action: action}); ok {
			t.Errorf("%s kept", action)
		}
	}
	m := events.Message{Type: events.ContainerEventType, Action: "die", TimeNano: 1795793675185234478,
		Actor: events.Actor{ID: "abc", Attributes: map[string]string{"name": "remote_app_1", "exitCode": "3"}}}
	ev, ok := eventFrom(m)
	if !ok || ev.Action != "die" || ev.ID != "abc" || ev.Name != "remote_app_1" || ev.Time.UnixNano() != m.TimeNano {
		t.Fatalf("die: %+v %v", ev, ok)
	}
	if _, ok := eventFrom(events.Message{Type: events.NetworkEventType, Action: "connect"}); ok {
		t.Error("a network event kept")
	}
}
