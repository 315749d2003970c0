//go:build integration

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mfbot/adapters/store"
	"mfbot/bot"
	"mfbot/testenv"
	"mfbot/testenv/prefectfake"
	"mfbot/testenv/slackfake"
)

// confirmedCommand types line as operator, clicks Confirm on the
// confirmation message that names want, and returns that message's ts.
func confirmedCommand(t *testing.T, fake *slackfake.Server, line, want string) string {
	t.Helper()
	slash(t, fake, operator, line)
	var pending slackfake.Message
	waitFor(t, fake, "the confirmation of "+line, func(s *slackfake.Server) bool {
		for _, m := range s.Messages(channel) {
			if strings.Contains(string(m.Blocks), "mf_confirm") && strings.Contains(m.Text+string(m.Blocks), want) && len(m.Revisions) == 1 {
				pending = m
				return true
			}
		}
		return false
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := fake.ClickButton(ctx, channel, pending.TS, "mf_confirm", "", operator); err != nil {
		t.Fatal(err)
	}
	return pending.TS
}

// waitOutcome waits until the message ts shows one of the outcomes.
func waitOutcome(t *testing.T, fake *slackfake.Server, ts string, outcomes ...string) slackfake.Message {
	t.Helper()
	var m slackfake.Message
	waitFor(t, fake, "the outcome in message "+ts, func(s *slackfake.Server) bool {
		m, _ = s.Message(channel, ts)
		for _, o := range outcomes {
			if strings.Contains(m.Text, o) {
				return true
			}
		}
		return false
	})
	return m
}

// checkPaced checks that the updates of a progress message after the
// click (revisions 2…) are at least 2 s apart, and that there were at
// least min of them; it returns how many.
func checkPaced(t *testing.T, m slackfake.Message, min int) int {
	t.Helper()
	updates := m.Revisions[1:]
	for i := 1; i < len(updates); i++ {
		if gap := updates[i].Time.Sub(updates[i-1].Time); gap < bot.ProgressGap {
			t.Errorf("message %s updated twice in %s (updates %d and %d: %q then %q)", m.TS, gap, i, i+1, updates[i-1].Text, updates[i].Text)
		}
	}
	if len(updates) < min {
		var texts []string
		for _, u := range updates {
			texts = append(texts, u.Text)
		}
		t.Errorf("message %s updated %d times, want at least %d: %q", m.TS, len(updates), min, texts)
	}
	return len(updates)
}

// TestSlackDeployApp: deploy a good tag (verified by /version, announced
// in the alert channel, audited step by step), then two bad ones that
// roll back on their own (one crash-loops, one never gets healthy), and
// a second deploy while one runs is refused.
func TestSlackDeployApp(t *testing.T) {
	stack := testenv.Require(t)
	t.Cleanup(func() { stack.ResetApp(t) })
	stack.ResetApp(t)
	fake := newFake(t)
	b := startBot(t, stack, fake, botOptions{Env: map[string]string{"MFBOT_ALERT_CHANNEL": alertChannel}})
	v1 := testenv.ImageID(t, stack.AppImage("v1"))
	v2 := testenv.ImageID(t, stack.AppImage("v2"))

	// A tag the registry does not have is refused before any confirmation.
	slash(t, fake, operator, "deploy v7.7.7")
	waitFor(t, fake, "the unknown version refused", func(s *slackfake.Server) bool {
		for _, u := range s.ResponseURLs() {
			for _, p := range s.ResponsePosts(u) {
				if strings.Contains(p.Text+string(p.Blocks), "has no tag v7.7.7") {
					return true
				}
			}
		}
		return false
	})

	// A good tag: pulled, recreated, healthy, /version checked.
	ts := confirmedCommand(t, fake, "deploy v2", "Deploy v2 to app in local")
	m := waitOutcome(t, fake, ts, "Deployed v2", "failed")
	if !strings.Contains(m.Text, "Deployed v2 to app in local") || !strings.Contains(string(m.Blocks), "2.0.0") {
		t.Fatalf("deploy v2 did not succeed with /version checked:\n%s", prettyBlocks(m.Blocks))
	}
	checkPaced(t, m, 3)
	if got := testenv.Docker(t, "inspect", "-f", "{{.Image}} {{.Config.Image}}", "remote_app_1"); got != v2+" "+stack.AppImage("v2") {
		t.Fatalf("remote_app_1 runs %q, want v2 (%s %s)", got, v2, stack.AppImage("v2"))
	}
	announced, ok := messageWith(fake, alertChannel, "Deployed v2 to app in local")
	if !ok {
		t.Fatalf("no announcement of the deploy in the alert channel: %v", fake.Messages(alertChannel))
	}
	if len(announced.Revisions) < 2 {
		t.Errorf("the announcement was never updated: %d revisions", len(announced.Revisions))
	}
	checkPaced(t, announced, 1)

	// A release that crash-loops: rolled back on its own to v2, healthy.
	ts = confirmedCommand(t, fake, "deploy broken", "Deploy broken to app")
	m = waitOutcome(t, fake, ts, "Deployed broken", "failed")
	if !strings.Contains(m.Text, "rolled back") || !strings.Contains(string(m.Blocks), "Rolled back on its own") {
		t.Fatalf("deploy broken did not roll back on its own:\n%s\n%s", m.Text, prettyBlocks(m.Blocks))
	}
	testenv.WaitHealthy(t, "remote_app_1", 30*time.Second)
	if got := testenv.Docker(t, "inspect", "-f", "{{.Image}}", "remote_app_1"); got != v2 {
		t.Fatalf("after the roll back remote_app_1 runs %s, want v2 %s", got, v2)
	}

	// A release that runs but never gets healthy: its last probe is shown,
	// redacted, and it is rolled back.
	ts = confirmedCommand(t, fake, "deploy unhealthy", "Deploy unhealthy to app")
	m = waitOutcome(t, fake, ts, "Deployed unhealthy", "failed")
	body := m.Text + string(m.Blocks)
	if !strings.Contains(body, "unhealthy") || !strings.Contains(body, "Rolled back on its own") {
		t.Fatalf("deploy unhealthy did not roll back:\n%s", prettyBlocks(m.Blocks))
	}
	for _, rev := range m.Revisions {
		if strings.Contains(rev.Text+string(rev.Blocks), "s3cr3t-probe-token") {
			t.Fatalf("the probe's secret reached Slack: %s", rev.Blocks)
		}
	}
	testenv.WaitHealthy(t, "remote_app_1", 30*time.Second)
	if got := testenv.Docker(t, "inspect", "-f", "{{.Image}}", "remote_app_1"); got != v2 {
		t.Fatalf("after the roll back remote_app_1 runs %s, want v2 %s", got, v2)
	}

	// One deploy at a time: a second one, confirmed while the first runs,
	// is refused and names who holds the deploy.
	slash(t, fake, operator, "deploy v1")
	slash(t, fake, operator, "deploy v2")
	var first, second string
	waitFor(t, fake, "both confirmations", func(s *slackfake.Server) bool {
		first, second = "", ""
		for _, m := range s.Messages(channel) {
			if len(m.Revisions) != 1 || !strings.Contains(string(m.Blocks), "mf_confirm") {
				continue
			}
			switch {
			case strings.Contains(m.Text+string(m.Blocks), "Deploy v1 to app"):
				first = m.TS
			case strings.Contains(m.Text+string(m.Blocks), "Deploy v2 to app"):
				second = m.TS
			}
		}
		return first != "" && second != ""
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := fake.ClickButton(ctx, channel, first, "mf_confirm", "", operator); err != nil {
		t.Fatal(err)
	}
	// "Deploying …" once it holds the lock; the "Running …" a confirmed
	// command shows at once comes before it and would race the second click.
	waitFor(t, fake, "the first deploy holding the lock", func(s *slackfake.Server) bool {
		m, _ := s.Message(channel, first)
		return strings.Contains(m.Text+string(m.Blocks), "Deploying v1 to app")
	})
	if _, err := fake.ClickButton(ctx, channel, second, "mf_confirm", "", operator); err != nil {
		t.Fatal(err)
	}
	m = waitOutcome(t, fake, second, "already running", "Deployed v2")
	if !strings.Contains(m.Text+string(m.Blocks), "deploy v1 app") || !strings.Contains(string(m.Blocks), operator) {
		t.Errorf("the refusal does not name the deploy running and its author:\n%s", prettyBlocks(m.Blocks))
	}
	waitOutcome(t, fake, first, "Deployed v1", "failed")
	if got := testenv.Docker(t, "inspect", "-f", "{{.Image}}", "remote_app_1"); got != v1 {
		t.Fatalf("remote_app_1 runs %s, want v1 %s", got, v1)
	}

	// Every step is audited.
	st, err := store.Open(ctx, b.storePath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries, err := st.RecentAudit(ctx, 200)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, e := range entries {
		if e.Target == "deploy" && strings.HasPrefix(e.Command, "v2 to app in local:") {
			steps = append(steps, e.Command+" → "+e.Outcome)
		}
	}
	for _, want := range []string{"started", "pulled", "recreated", "healthy after", "/version answers", "finished"} {
		found := false
		for _, s := range steps {
			found = found || strings.Contains(s, want)
		}
		if !found {
			t.Errorf("no audit entry for the step %q of deploy v2: %q", want, steps)
		}
	}
}

// TestSlackRestartShowsProgress: a restart's message is updated as it goes,
// at least 3 times and never more than once per 2 s.
func TestSlackRestartShowsProgress(t *testing.T) {
	stack := testenv.Require(t)
	t.Cleanup(func() { stack.ResetApp(t) })
	stack.ResetApp(t)
	stack.PublishSnapshot(t, "v2")
	fake := newFake(t)
	startBot(t, stack, fake, botOptions{})
	ts := confirmedCommand(t, fake, "restart app", "recreate it")
	m := waitOutcome(t, fake, ts, "app recreated", "failed")
	if !strings.Contains(m.Text, "app recreated") {
		t.Fatalf("restart failed: %s\n%s", m.Text, prettyBlocks(m.Blocks))
	}
	n := checkPaced(t, m, 3)
	var steps []string
	for _, r := range m.Revisions[1:] {
		steps = append(steps, r.Text)
	}
	t.Logf("%d updates: %q", n, steps)
	if !strings.Contains(strings.Join(steps, "\n"), "Restarting app in local") {
		t.Errorf("no step of the restart was shown: %q", steps)
	}
}

// TestConsoleDeployShowsStepsAndDrift: the console prints the steps on
// stderr and the outcome on stdout; then status tells when the version
// file names another version, and when the app was changed outside mfbot.
func TestConsoleDeployShowsStepsAndDrift(t *testing.T) {
	stack := testenv.Require(t)
	t.Cleanup(func() { stack.ResetApp(t) })
	stack.ResetApp(t)
	versionFile := filepath.Join(t.TempDir(), ".monitorfish")
	if err := os.WriteFile(versionFile, []byte("export MONITORFISH_VERSION=v1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MFBOT_CONFIG", writeEnvConfig(t, stack, "    version_file: "+versionFile+"\n"))
	t.Setenv("MFBOT_STORE", filepath.Join(t.TempDir(), "mfbot.db"))
	var out, errOut strings.Builder
	code := run([]string{"console", "--yes", "-c", "deploy v2"}, strings.NewReader(""), &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d:\n%s\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"pulling", "recreating", "checking /version"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks the step %q:\n%s", want, errOut.String())
		}
	}
	if strings.Contains(out.String(), "⏳") || !strings.Contains(out.String(), "Deployed v2 to app in local") {
		t.Errorf("stdout should hold the outcome only:\n%s", out.String())
	}

	// The version file still names v1: the next make restart-remote-app
	// would revert the deploy.
	code, status := console(t, "", "-c", "status")
	if code != 0 || !strings.Contains(status, versionFile+" names v1 while v2 runs") || strings.Contains(status, "drift: app runs") {
		t.Errorf("status after the deploy (exit %d):\n%s", code, status)
	}
	// Changed outside mfbot: compose recreates the app on snapshot (v1).
	stack.ResetApp(t)
	for _, line := range []string{"status", "version app"} {
		code, got := console(t, "", "-c", line)
		if code != 0 || !strings.Contains(got, "drift: app runs") || !strings.Contains(got, "mfbot last deployed v2") {
			t.Errorf("%s does not show the drift (exit %d):\n%s", line, code, got)
		}
	}
}

// TestSlackDeployPipeline: the deploy-flows container runs with the new
// image, its output streamed redacted into the thread, and Prefect's
// deployments then carry the new version; a failing deploy-flows is run
// again with the previous version.
func TestSlackDeployPipeline(t *testing.T) {
	stack := testenv.Require(t)
	prefect := prefectfake.Start(t)
	prefect.World.AddFlow("Monitorfish - Logbook", "*/1 * * * *")
	prefect.World.AddFlow("Monitorfish - Last positions", "*/2 * * * *")
	versions := func() map[string]string {
		out := map[string]string{}
		for _, f := range prefect.World.Flows() {
			out[f.Name], _ = prefect.World.DeploymentVersion(f.ID)
		}
		return out
	}
	envFile := filepath.Join(t.TempDir(), "pipeline.env")
	const authString = "pipeline:Pr3fectS3cr3t-auth"
	if err := os.WriteFile(envFile, []byte("# the pipeline's .env\nPREFECT_API_URL="+prefect.RESTURL()+"\nPREFECT_API_AUTH_STRING="+authString+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := "    prefect_url: " + prefect.RESTURL() + "\n" +
		"    deploy:\n      flows:\n        image: " + stack.PipelineImage + "\n        command: [deploy-flows]\n" +
		"        env_file: " + envFile + "\n        network: host\n        environment:\n          PIPELINE_IMAGE: " + stack.PipelineImage + "\n" +
		"          DEPLOY_FLOWS_FAIL: v1\n"
	fake := newFake(t)
	startBot(t, stack, fake, botOptions{Env: map[string]string{"MFBOT_CONFIG": writeEnvConfig(t, stack, yaml)}})

	ts := confirmedCommand(t, fake, "deploy v2 pipeline", "Deploy v2 to pipeline in local")
	m := waitOutcome(t, fake, ts, "Deployed v2", "failed")
	if !strings.Contains(m.Text, "Deployed v2 to pipeline in local") {
		t.Fatalf("deploy v2 pipeline failed: %s\n%s", m.Text, prettyBlocks(m.Blocks))
	}
	for name, version := range versions() {
		if version != "v2" {
			t.Errorf("deployment %s carries %q after the deploy, want v2", name, version)
		}
	}
	thread := fake.Thread(channel, ts)
	var output string
	for _, r := range thread {
		output += r.Text + string(r.Blocks) + "\n"
	}
	if !strings.Contains(output, "deployments registered") {
		t.Errorf("the thread lacks deploy-flows' output:\n%s", output)
	}
	if strings.Contains(output, "Pr3fectS3cr3t") || strings.Contains(m.Text+string(m.Blocks), "Pr3fectS3cr3t") {
		t.Fatalf("the auth string printed by deploy-flows reached Slack:\n%s", output)
	}

	// deploy-flows fails with v1 here (DEPLOY_FLOWS_FAIL names it):
	// the deploy fails and runs deploy-flows again with v2.
	ts = confirmedCommand(t, fake, "deploy v1 pipeline", "Deploy v1 to pipeline")
	m = waitOutcome(t, fake, ts, "Deployed v1", "failed")
	if !strings.Contains(m.Text, "rolled back") {
		t.Fatalf("a failing deploy-flows did not roll back: %s\n%s", m.Text, prettyBlocks(m.Blocks))
	}
	for name, version := range versions() {
		if version != "v2" {
			t.Errorf("deployment %s carries %q after the roll back, want v2", name, version)
		}
	}
}

// writeEnvConfig is the stack's configuration with lines added to the
// local environment.
func writeEnvConfig(t *testing.T, stack testenv.Stack, envLines string) string {
	t.Helper()
	cfg := strings.Replace(stack.ConfigYAML(""), "  local:\n", "  local:\n"+envLines, 1)
	path := filepath.Join(t.TempDir(), "mfbot.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
