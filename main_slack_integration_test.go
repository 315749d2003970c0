//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mfbot/testenv"
	"mfbot/testenv/slackfake"
)

const (
	operator = "UOPERATOR1"
	viewer   = "UVIEWER01"
	channel  = "COPS00001"
)

// syncBuffer collects the bot's log while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runningBot starts `mfbot run` in-process against the fake Slack, with
// only the variables the issue names set, and stops it at the end.
func runningBot(t *testing.T, stack testenv.Stack, fake *slackfake.Server, extraEnv map[string]string) (*syncBuffer, <-chan int) {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "mfbot.yaml")
	yaml := "environments:\n  local:\n    app_url: " + stack.AppURL + "\nlimits:\n  restart_timeout: 1m\n  stop_timeout: 5s\n"
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"MFBOT_CONFIG":         cfgPath,
		"SLACK_BOT_TOKEN":      fake.BotToken(),
		"SLACK_APP_TOKEN":      fake.AppToken(),
		"SLACK_API_URL":        fake.APIURL(),
		"MFBOT_OPERATORS":      operator,
		"MFBOT_STORE":          filepath.Join(dir, "mfbot.db"),
		"MFBOT_HTTP_ADDR":      "127.0.0.1:0",
		"SLACK_SIGNING_SECRET": "",
	}
	for k, v := range extraEnv {
		env[k] = v
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	exit := make(chan int, 1)
	go func() { exit <- runBotUntil(ctx, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exit:
		case <-time.After(40 * time.Second):
			t.Error("mfbot run did not stop")
		}
		if t.Failed() {
			t.Logf("mfbot log:\n%s", logs.String())
		}
	})
	return logs, exit
}

// runBotUntil is `mfbot run` with a context the test controls.
func runBotUntil(ctx context.Context, logs *syncBuffer) int {
	return runBot(ctx, nil, logs)
}

func waitFor(t *testing.T, fake *slackfake.Server, what string, cond func(*slackfake.Server) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := fake.WaitFor(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// messageWith finds the bot's message in channel whose text or blocks
// contain every want.
func messageWith(fake *slackfake.Server, channel string, want ...string) (slackfake.Message, bool) {
	for _, m := range fake.Messages(channel) {
		all := m.Text + string(m.Blocks)
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(all, w)
		}
		if ok {
			return m, true
		}
	}
	return slackfake.Message{}, false
}

func slash(t *testing.T, fake *slackfake.Server, user, text string) slackfake.Ack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Wait for the socket: the bot connects right after it starts.
	if err := fake.WaitFor(ctx, func(s *slackfake.Server) bool { return s.Connections() > 0 }); err != nil {
		t.Fatalf("the bot never connected: %v", err)
	}
	ack, err := fake.SendSlashCommand(ctx, slackfake.SlashCommand{Command: "/mf", Text: text, UserID: user, ChannelID: channel})
	if err != nil {
		t.Fatalf("/mf %s: %v", text, err)
	}
	if ack.Latency > time.Second {
		t.Errorf("/mf %s acknowledged after %s", text, ack.Latency)
	}
	return ack
}

func TestSlackSocketModeStatusLogsAndConfirmedRestart(t *testing.T) {
	stack := testenv.Require(t)
	t.Cleanup(func() { stack.ResetApp(t) })
	stack.ResetApp(t)
	stack.PublishSnapshot(t, "v2")
	fake := slackfake.New(slackfake.Options{})
	defer fake.Close()
	runningBot(t, stack, fake, nil)

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

func prettyBlocks(raw json.RawMessage) string {
	var v any
	json.Unmarshal(raw, &v)
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
