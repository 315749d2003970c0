//go:build integration

package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"mfbot/testenv"
	"mfbot/testenv/slackfake"
)

func TestSlackSocketModeStatusLogsAndConfirmedRestart(t *testing.T) {
	stack := testenv.Require(t)
	t.Cleanup(func() { stack.ResetApp(t) })
	stack.ResetApp(t)
	stack.PublishSnapshot(t, "v2")
	fake := newFake(t)
	startBot(t, stack, fake, botOptions{})

	slash(t, fake, viewer, "status")
	waitFor(t, fake, "the status reply", func(s *slackfake.Server) bool {
		_, ok := messageWith(s, channel, "remote_app_1", "pipeline-flows")
		return ok
	})

	slash(t, fake, viewer, "logs app --tail 30")
	waitFor(t, fake, "the logs reply", func(s *slackfake.Server) bool {
		_, ok := messageWith(s, channel, "Logs of app")
		return ok
	})
	for _, m := range fake.Messages(channel) {
		if strings.Contains(m.Text+string(m.Blocks), "Sup3rS3cr3t") {
			t.Fatal("a secret reached Slack")
		}
	}

	// A viewer may not restart: an ephemeral denial, nothing restarted.
	before := testenv.Docker(t, "inspect", "-f", "{{.Id}}", "remote_app_1")
	slash(t, fake, viewer, "restart app")
	waitFor(t, fake, "the viewer's denial", func(s *slackfake.Server) bool {
		for _, u := range s.ResponseURLs() {
			for _, p := range s.ResponsePosts(u) {
				if p.ResponseType == "ephemeral" && strings.Contains(p.Text+string(p.Blocks), "operator role") {
					return true
				}
			}
		}
		return false
	})

	// The operator's restart asks for a confirmation first.
	slash(t, fake, operator, "restart app")
	var pending slackfake.Message
	waitFor(t, fake, "the confirmation message", func(s *slackfake.Server) bool {
		var ok bool
		pending, ok = messageWith(s, channel, "mf_confirm", "recreate it")
		return ok
	})
	if now := testenv.Docker(t, "inspect", "-f", "{{.Id}}", "remote_app_1"); now != before {
		t.Fatal("the app was recreated before any confirmation")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := fake.ClickButton(ctx, channel, pending.TS, "mf_confirm", "", viewer); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.ClickButton(ctx, channel, pending.TS, "mf_confirm", "", operator); err != nil {
		t.Fatal(err)
	}
	waitFor(t, fake, "the confirmation message updated with the outcome", func(s *slackfake.Server) bool {
		m, _ := s.Message(channel, pending.TS)
		return strings.Contains(m.Text+string(m.Blocks), "app recreated")
	})
	m, _ := fake.Message(channel, pending.TS)
	if !strings.Contains(string(m.Blocks), "confirmed by \\u003c@"+operator) && !strings.Contains(string(m.Blocks), "confirmed by <@"+operator) {
		t.Errorf("the outcome does not say who confirmed:\n%s", prettyBlocks(m.Blocks))
	}
	if got, want := testenv.Docker(t, "inspect", "-f", "{{.Image}}", "remote_app_1"), testenv.ImageID(t, stack.AppImage("v2")); got != want {
		t.Fatalf("remote_app_1 runs %s, want v2 %s", got, want)
	}
	var denied bool
	for _, e := range fake.Ephemerals(channel) {
		denied = denied || (e.User == viewer && strings.Contains(e.Text+string(e.Blocks), "operator role"))
	}
	if !denied {
		t.Error("the viewer's click on Confirm was not refused ephemerally")
	}
}
