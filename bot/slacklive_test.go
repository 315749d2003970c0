package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"mfbot/testenv/slackfake"
)

// The Slack probe over Socket Mode follows the real connection: failing
// before it is up, passing while Slack's pings keep coming (each one moves
// the time of the last read, no event is needed), failing with the age of
// the last ping when the socket is gone and cannot come back, passing again
// once it is back, and failing on a connection that went silent.
func TestSlackProbeFollowsTheSocket(t *testing.T) {
	fake := slackfake.New(slackfake.Options{PingInterval: 50 * time.Millisecond})
	defer fake.Close()
	s := NewSlack(nil, nil, nil, SlackOptions{})
	activity := &SocketActivity{}
	probe := s.SlackProbe(activity)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	check := func() error {
		cctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		return probe.Check(cctx)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: the probe says %v (%s)", what, check(), probe.Detail())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if !probe.Required || probe.Name != "slack" {
		t.Fatalf("probe %+v: the Socket Mode connection is required", probe)
	}
	if err := check(); err == nil || !strings.Contains(err.Error(), "not connected yet") {
		t.Fatalf("before connecting: %v", err)
	}

	api := slack.New(fake.BotToken(), slack.OptionAppLevelToken(fake.AppToken()), slack.OptionAPIURL(fake.APIURL()))
	done := make(chan error, 1)
	go func() { done <- s.RunSocketMode(ctx, api, activity.Option()) }()
	waitFor("the connection", func() bool { return check() == nil })
	first := activity.Last()
	waitFor("pings", func() bool { return len(fake.ConnectionLog()[0].Pings) >= 3 })
	if !activity.Last().After(first) {
		t.Fatalf("the last read did not move with Slack's pings: %v then %v", first, activity.Last())
	}
	if d := probe.Detail(); !strings.HasPrefix(d, "Socket Mode: last message or ping ") || !strings.HasSuffix(d, " ago") {
		t.Errorf("detail %q", d)
	}

	fake.SetDown(true) // refuses reconnections
	fake.DropConnections()
	waitFor("the probe to fail", func() bool { return check() != nil })
	if err := check(); !strings.Contains(err.Error(), "Socket Mode disconnected; Slack last sent a message or ping ") {
		t.Errorf("socket gone: %v", err)
	}
	fake.SetDown(false)
	waitFor("the reconnection", func() bool { return check() == nil })

	// Connected as far as the client knows, but nothing for too long.
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunSocketMode: %v", err)
	}
	s.socketUp.Store(true)
	activity.last.Store(time.Now().Add(-SocketSilenceLimit - 5*time.Second).UnixNano())
	if err := probe.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "silent: no message or ping from Slack for 1m35") {
		t.Errorf("silent socket: %v", err)
	}
}

// Over the HTTP endpoints only, the probe reports the age of the last
// signed request and is not required: Slack calls only when someone types.
func TestSlackProbeOverHTTPIsReported(t *testing.T) {
	s := NewSlack(nil, nil, nil, SlackOptions{})
	probe := s.SlackProbe(nil)
	if probe.Required || probe.Check(context.Background()) != nil {
		t.Fatalf("HTTP probe %+v: reported, never failing", probe)
	}
	if d := probe.Detail(); d != "HTTP endpoints: no signed request from Slack yet" {
		t.Errorf("before any request: %q", d)
	}
	s.Touch()
	if d := probe.Detail(); !strings.HasPrefix(d, "HTTP endpoints: last signed request from Slack 0s ago") {
		t.Errorf("after a request: %q", d)
	}
}
