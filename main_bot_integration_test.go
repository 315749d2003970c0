//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"mfbot/adapters/store"
	"mfbot/reply"
	"mfbot/testenv"
	"mfbot/testenv/slackfake"
)

// What the end-to-end tests of `mfbot run` share: starting the bot
// in-process against the fake Slack and the real Docker test stack, and
// talking to it.

const (
	operator = "UOPERATOR1"
	viewer   = "UVIEWER01"
	channel  = "COPS00001"
)

// botOptions changes how startBot runs the bot.
type botOptions struct {
	// YAML is appended to the stack's configuration (testenv's ConfigYAML):
	// indented lines go on under limits: (e.g. "  confirm_timeout: 2s\n"),
	// unindented ones add sections (e.g. "alerts:\n  recovery_after: 3s\n").
	YAML string
	// Env overrides the variables of botEnv ("" unsets one: empty variables
	// count as unset), e.g. {"SLACK_APP_TOKEN": ""} for HTTP endpoints only.
	Env map[string]string
	// CleanExit fails the test or benchmark unless `mfbot run`, stopped at
	// the end, exits 0.
	CleanExit bool
}

// testBot is a running `mfbot run`. Its exit status can be read by the
// test (exited) and is still waited for at cleanup.
type testBot struct {
	logs      *syncBuffer
	storePath string // MFBOT_STORE
	done      chan struct{}
	code      int // once done is closed
}

// botEnv is the environment of `mfbot run` against the fake Slack: the bot
// token, the app token (Socket Mode), the fake's API URL, operator as the
// only operator, no signing secret, no alert channel, the given store and
// configuration, and a free HTTP port.
func botEnv(fake *slackfake.Server, cfgPath, storePath string) map[string]string {
	return map[string]string{
		"MFBOT_CONFIG":         cfgPath,
		"SLACK_BOT_TOKEN":      fake.BotToken(),
		"SLACK_APP_TOKEN":      fake.AppToken(),
		"SLACK_API_URL":        fake.APIURL(),
		"SLACK_SIGNING_SECRET": "",
		"MFBOT_OPERATORS":      operator,
		"MFBOT_ALERT_CHANNEL":  "",
		"MFBOT_STORE":          storePath,
		"MFBOT_HTTP_ADDR":      "127.0.0.1:0",
	}
}

// buildMfbot builds the mfbot binary into a temporary directory, for the
// tests that run it as a real process (SIGKILL, SIGTERM, replicas, RSS).
func buildMfbot(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "mfbot")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// processEnv is this process's environment plus vars, for a real mfbot.
func processEnv(vars map[string]string) []string {
	env := os.Environ()
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// startBot starts `mfbot run` in-process against the fake Slack, with the
// stack's configuration plus opts.YAML, the variables of botEnv (a store in
// a temporary directory) overridden by opts.Env, and stops it at the end.
func startBot(tb testing.TB, stack testenv.Stack, fake *slackfake.Server, opts botOptions) *testBot {
	tb.Helper()
	storePath := filepath.Join(tb.TempDir(), "mfbot.db")
	env := botEnv(fake, stack.WriteConfig(tb, opts.YAML), storePath)
	for k, v := range opts.Env {
		env[k] = v
	}
	for k, v := range env {
		tb.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &testBot{logs: &syncBuffer{}, storePath: storePath, done: make(chan struct{})}
	go func() {
		b.code = runBot(ctx, nil, b.logs)
		close(b.done)
	}()
	tb.Cleanup(func() {
		cancel()
		code, ok := b.exited(40 * time.Second)
		switch {
		case !ok:
			tb.Error("mfbot run did not stop")
		case opts.CleanExit && code != 0:
			tb.Errorf("mfbot run exited with %d", code)
		}
		if tb.Failed() {
			tb.Logf("mfbot log:\n%s", b.logs.String())
		}
	})
	return b
}

// exited waits up to d for `mfbot run` to return and gives its status.
func (b *testBot) exited(d time.Duration) (int, bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-b.done:
	case <-timer.C:
		select { // done may have closed as the time ran out
		case <-b.done:
		default:
			return 0, false
		}
	}
	return b.code, true
}

var runningLine = regexp.MustCompile(`msg="mfbot is running" http=(\S+)`)

// listenAddr is the address `mfbot run` listens on, from its log.
func (b *testBot) listenAddr(tb testing.TB) string {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := runningLine.FindStringSubmatch(b.logs.String()); m != nil {
			return m[1]
		}
		if code, ok := b.exited(10 * time.Millisecond); ok {
			tb.Fatalf("mfbot run exited with %d before it was running:\n%s", code, b.logs.String())
		}
	}
	tb.Fatalf("mfbot run never said it was running:\n%s", b.logs.String())
	return ""
}

// threadTarget waits until the bot has recorded what its message ts is
// about: a person needs seconds to read a reply and answer in its thread,
// a test only milliseconds, so it waits for the bot to finish delivering.
// The fake sees nothing of it: this reads the bot's store (SQLite in WAL
// mode, made for concurrent readers).
func (b *testBot) threadTarget(t testing.TB, ts string) reply.Target {
	t.Helper()
	return b.threadTargetIn(t, channel, ts)
}

// threadTargetIn is threadTarget for a message of channel ch.
func (b *testBot) threadTargetIn(t testing.TB, ch, ts string) reply.Target {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := store.Open(ctx, b.storePath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for {
		target, ok, err := st.ThreadTarget(ctx, ch, ts)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return target
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the bot never recorded the target of its message %s", ts)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// newFake starts a fake Slack, closed at the end, after the bot has
// stopped when the bot is started after it (cleanups run last-in
// first-out).
func newFake(tb testing.TB) *slackfake.Server {
	fake := slackfake.New(slackfake.Options{})
	tb.Cleanup(fake.Close)
	return fake
}

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

func waitFor(t testing.TB, fake *slackfake.Server, what string, cond func(*slackfake.Server) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := fake.WaitFor(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// waitConnected waits for the bot's Socket Mode connection: the bot
// connects right after it starts.
func waitConnected(t testing.TB, fake *slackfake.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := fake.WaitFor(ctx, func(s *slackfake.Server) bool { return s.Connections() > 0 }); err != nil {
		t.Fatalf("the bot never connected: %v", err)
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

// waitBotMessage waits for the bot's message in channel containing every
// want (text or blocks) and returns it.
func waitBotMessage(t testing.TB, fake *slackfake.Server, what string, want ...string) slackfake.Message {
	t.Helper()
	var m slackfake.Message
	waitFor(t, fake, what, func(s *slackfake.Server) bool {
		var ok bool
		m, ok = messageWith(s, channel, want...)
		return ok && m.BotID != ""
	})
	return m
}

// slash sends `/mf text` from user over Socket Mode, once the bot is
// connected, and checks it is acknowledged within a second.
func slash(t testing.TB, fake *slackfake.Server, user, text string) slackfake.Ack {
	t.Helper()
	waitConnected(t, fake)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ack, err := fake.SendSlashCommand(ctx, slackfake.SlashCommand{Command: "/mf", Text: text, UserID: user, ChannelID: channel})
	if err != nil {
		t.Fatalf("/mf %s: %v", text, err)
	}
	if ack.Latency > time.Second {
		t.Errorf("/mf %s acknowledged after %s", text, ack.Latency)
	}
	return ack
}

func prettyBlocks(raw json.RawMessage) string {
	var v any
	json.Unmarshal(raw, &v)
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
