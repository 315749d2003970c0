//go:build integration

package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mfbot/testenv"
	"mfbot/testenv/slackfake"
)

const alertChannel = "CALERTS01"

// alertsYAML makes the incident life cycle fast enough for tests.
const alertsYAML = "alerts:\n  recovery_after: 3s\n  update_interval: 1s\n"

// alertEnv sends the bot's alerts to alertChannel.
var alertEnv = map[string]string{"MFBOT_ALERT_CHANNEL": alertChannel}

// alertRoots are the bot's root messages in the alert channel about a
// service (its name stands in the alert's fields).
func alertRoots(fake *slackfake.Server, service string) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range fake.Messages(alertChannel) {
		if m.BotID != "" && (m.ThreadTS == "" || m.ThreadTS == m.TS) && strings.Contains(m.Text+string(m.Blocks), service) {
			out = append(out, m)
		}
	}
	return out
}

// crashApp makes the fake MonitorFish backend exit with code; restart:
// always brings it back.
func crashApp(t *testing.T, stack testenv.Stack, code string) {
	t.Helper()
	resp, err := http.Get(stack.AppURL + "/control/crash?code=" + code)
	if err == nil {
		resp.Body.Close()
	}
}

// waitAppUp waits for the app to answer HTTP again after a crash.
func waitAppUp(t *testing.T, stack testenv.Stack) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(stack.AppURL + "/version"); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the app did not come back")
}

func waitRoot(t *testing.T, fake *slackfake.Server, what string, within time.Duration, cond func(slackfake.Message) bool) slackfake.Message {
	t.Helper()
	var root slackfake.Message
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	err := fake.WaitFor(ctx, func(s *slackfake.Server) bool {
		roots := alertRoots(s, "app")
		if len(roots) == 0 {
			return false
		}
		root = roots[0]
		return cond(root)
	})
	if err != nil {
		t.Fatalf("waiting %s for %s: %v (roots: %d)", within, what, err, len(alertRoots(fake, "app")))
	}
	return root
}

func TestAlertCrashGivesOneRootWithLogsThenRecovery(t *testing.T) {
	stack := testenv.Require(t)
	testenv.WaitHealthy(t, "remote_app_1", time.Minute)
	fake := newFake(t)
	startBot(t, stack, fake, botOptions{YAML: alertsYAML, Env: alertEnv})
	slash(t, fake, viewer, "help") // the bot is up and connected

	crashed := time.Now()
	crashApp(t, stack, "1")
	root := waitRoot(t, fake, "the alert", 10*time.Second, func(slackfake.Message) bool { return true })
	if took := root.Time.Sub(crashed); took > 2*time.Second {
		t.Errorf("alert posted %s after the crash", took)
	}
	text := root.Text + string(root.Blocks)
	for _, want := range []string{"app", "local", "Exit code", "mf_run"} {
		if !strings.Contains(text, want) {
			t.Errorf("the alert lacks %q:\n%s", want, prettyBlocks(root.Blocks))
		}
	}
	waitFor(t, fake, "the logs in the alert's thread", func(s *slackfake.Server) bool {
		for _, m := range s.Thread(alertChannel, root.TS) {
			if m.TS != root.TS && strings.Contains(m.Text+string(m.Blocks), "Last log lines") {
				return true
			}
		}
		return false
	})
	for _, m := range fake.Thread(alertChannel, root.TS) {
		if strings.Contains(m.Text+string(m.Blocks), "Sup3rS3cr3t") {
			t.Fatal("a secret reached the alert's thread")
		}
	}
	// restart: always brings it back; healthy for 3 s = recovered.
	waitRoot(t, fake, "the recovery", time.Minute, func(m slackfake.Message) bool {
		return strings.Contains(m.Text+string(m.Blocks), "recovered")
	})
	if n := len(alertRoots(fake, "app")); n != 1 {
		t.Fatalf("%d root messages, want 1", n)
	}
}

func TestAlertCrashLoopIsOneRoot(t *testing.T) {
	stack := testenv.Require(t)
	testenv.WaitHealthy(t, "remote_app_1", time.Minute)
	fake := newFake(t)
	startBot(t, stack, fake, botOptions{YAML: alertsYAML, Env: alertEnv})
	slash(t, fake, viewer, "help")
	for range 4 {
		waitAppUp(t, stack)
		crashApp(t, stack, "2")
		time.Sleep(300 * time.Millisecond) // let it die before asking again
	}
	waitRoot(t, fake, "a crash-looping alert", 30*time.Second, func(m slackfake.Message) bool {
		return strings.Contains(m.Text+string(m.Blocks), "crash-looping")
	})
	if n := len(alertRoots(fake, "app")); n != 1 {
		t.Fatalf("%d root messages for one crash loop, want 1", n)
	}
	testenv.WaitHealthy(t, "remote_app_1", time.Minute)
}

func TestAlertCleanStopsGiveNoAlert(t *testing.T) {
	stack := testenv.Require(t)
	testenv.WaitHealthy(t, "remote_app_1", time.Minute)
	fake := newFake(t)
	startBot(t, stack, fake, botOptions{YAML: alertsYAML, Env: alertEnv})
	slash(t, fake, viewer, "help")

	testenv.Docker(t, "stop", "-t", "5", "remote_app_1")
	testenv.Docker(t, "start", "remote_app_1")
	testenv.WaitHealthy(t, "remote_app_1", time.Minute)
	// mfbot's own stop, confirmed on the console path of the catalogue.
	slash(t, fake, operator, "stop pipeline-flows")
	pending := waitBotMessage(t, fake, "the stop confirmation", "mf_confirm")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := fake.ClickButton(ctx, channel, pending.TS, "mf_confirm", "", operator); err != nil {
		t.Fatal(err)
	}
	waitBotMessage(t, fake, "the stop outcome", "pipeline-flows stopped")
	testenv.Docker(t, "start", "monitorfish-pipeline-flows")
	time.Sleep(3 * time.Second) // an alert would come within a second: give it three
	if n := len(fake.Messages(alertChannel)); n != 0 {
		t.Fatalf("%d alert message(s) for clean stops", n)
	}
}

func TestAlertMutedIsRecordedNotPosted(t *testing.T) {
	stack := testenv.Require(t)
	testenv.WaitHealthy(t, "remote_app_1", time.Minute)
	fake := newFake(t)
	startBot(t, stack, fake, botOptions{YAML: "alerts:\n  recovery_after: 1m\n  update_interval: 1s\n", Env: alertEnv})
	slash(t, fake, operator, "mute app 10m maintenance")
	pending := waitBotMessage(t, fake, "the mute confirmation", "mf_confirm")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := fake.ClickButton(ctx, channel, pending.TS, "mf_confirm", "", operator); err != nil {
		t.Fatal(err)
	}
	waitBotMessage(t, fake, "the mute outcome", "muted for 10 min")
	crashApp(t, stack, "1")
	time.Sleep(2 * time.Second) // an alert would be posted within a second
	slash(t, fake, viewer, "incidents")
	waitBotMessage(t, fake, "the incident listed as muted", "docker/app", "yes")
	if n := len(fake.Messages(alertChannel)); n != 0 {
		t.Fatalf("%d alert message(s) while muted", n)
	}
	testenv.WaitHealthy(t, "remote_app_1", time.Minute)
}

func TestAlertDuringASlackOutageArrivesAfter(t *testing.T) {
	stack := testenv.Require(t)
	testenv.WaitHealthy(t, "remote_app_1", time.Minute)
	fake := newFake(t)
	startBot(t, stack, fake, botOptions{YAML: alertsYAML, Env: alertEnv})
	slash(t, fake, viewer, "help")
	fake.SetDown(true)
	crashApp(t, stack, "1")
	time.Sleep(30 * time.Second) // Slack down for 30 s during the failure
	refusedPosts := 0
	for _, c := range fake.Calls("chat.postMessage") {
		if c.HTTPStatus == http.StatusServiceUnavailable {
			refusedPosts++
		}
	}
	if refusedPosts == 0 || len(fake.Messages(alertChannel)) != 0 {
		t.Fatalf("during the outage: %d refused posts, %d messages; want the bot to keep trying and nothing delivered", refusedPosts, len(fake.Messages(alertChannel)))
	}
	fake.SetDown(false)
	waitRoot(t, fake, "the alert after the outage", time.Minute, func(slackfake.Message) bool { return true })
	time.Sleep(2 * time.Second)
	if n := len(alertRoots(fake, "app")); n != 1 {
		t.Fatalf("%d root messages after the outage, want 1", n)
	}
	testenv.WaitHealthy(t, "remote_app_1", time.Minute)
}

// TestAlertSurvivesSIGKILL runs mfbot as a real process, kills it with
// SIGKILL during an open incident and starts it again: the incident keeps
// its one root message, which the new process updates.
func TestAlertSurvivesSIGKILL(t *testing.T) {
	stack := testenv.Require(t)
	testenv.WaitHealthy(t, "remote_app_1", time.Minute)
	bin := buildMfbot(t)
	fake := newFake(t)
	dir := t.TempDir()
	cfg := stack.WriteConfig(t, "alerts:\n  recovery_after: 4s\n  update_interval: 1s\n")
	vars := botEnv(fake, cfg, filepath.Join(dir, "mfbot.db"))
	for k, v := range alertEnv {
		vars[k] = v
	}
	env := processEnv(vars)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "run")
		cmd.Env = env
		log, _ := os.Create(filepath.Join(dir, "mfbot.log"))
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	first := start()
	slash(t, fake, viewer, "help")
	crashApp(t, stack, "1")
	root := waitRoot(t, fake, "the alert", 10*time.Second, func(slackfake.Message) bool { return true })
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()

	second := start()
	t.Cleanup(func() {
		second.Process.Signal(syscall.SIGTERM)
		second.Wait()
		if t.Failed() {
			out, _ := os.ReadFile(filepath.Join(dir, "mfbot.log"))
			t.Logf("mfbot log:\n%s", out)
		}
	})
	// The app recovers; the restarted bot closes the incident on the same root.
	waitRoot(t, fake, "the recovery on the same root", time.Minute, func(m slackfake.Message) bool {
		return m.TS == root.TS && strings.Contains(m.Text+string(m.Blocks), "recovered")
	})
	if n := len(alertRoots(fake, "app")); n != 1 {
		t.Fatalf("%d root messages across a SIGKILL, want 1", n)
	}
}
