//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"mfbot/testenv"
	"mfbot/testenv/slackfake"
)

// TestIncidentReportFromTheRecoveredRoot is issue 11's report end to end:
// the app crashes, an operator mutes and unmutes it from Slack, the app
// recovers, a viewer clicks Report on the recovered root, and the
// incident's thread gets a Markdown file with the summary, the timeline,
// the operator's actions and the log lines before the failure, without
// the password the app logs at start; `incidents --closed` lists it.
func TestIncidentReportFromTheRecoveredRoot(t *testing.T) {
	stack := testenv.Require(t)
	began := time.Now()
	// A fresh start puts the line with the password among the last log
	// lines before the crash (a clean restart is no incident).
	testenv.Docker(t, "restart", "-t", "5", "remote_app_1")
	testenv.WaitHealthy(t, "remote_app_1", time.Minute)
	fake := newFake(t)
	startBot(t, stack, fake, botOptions{YAML: alertsYAML, Env: alertEnv})
	slash(t, fake, viewer, "help") // the bot is up and connected

	crashApp(t, stack, "1")
	root := waitRoot(t, fake, "the alert", 10*time.Second, func(slackfake.Message) bool { return true })
	waitFor(t, fake, "the logs in the alert's thread", func(s *slackfake.Server) bool {
		for _, m := range s.Thread(alertChannel, root.TS) {
			if m.IsReply() && strings.Contains(m.Text+string(m.Blocks), "Last log lines") {
				return true
			}
		}
		return false
	})

	// The operator's actions, confirmed: a mute, then its end (a mute
	// holds the root's updates, so the recovery shows after the unmute).
	slash(t, fake, operator, "mute app 10m looking into the crash")
	confirmIn(t, fake, "the mute", "Mute app")
	waitBotMessage(t, fake, "the mute outcome", "muted for 10 min")
	slash(t, fake, operator, "unmute app")
	confirmIn(t, fake, "the unmute", "Unmute app")
	waitBotMessage(t, fake, "the unmute outcome", "unmuted")

	recovered := waitRoot(t, fake, "the recovered root with Report", 45*time.Second, func(m slackfake.Message) bool {
		_, _, ok := reportButton(m)
		return strings.Contains(m.Text+string(m.Blocks), "recovered") && ok
	})
	actionID, command, _ := reportButton(recovered)
	id := regexp.MustCompile(`^local incident (\d+) report$`).FindStringSubmatch(command)
	if id == nil {
		t.Fatalf("the Report button runs %q", command)
	}
	clicked := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := fake.ClickButton(ctx, alertChannel, root.TS, actionID, command, viewer); err != nil {
		t.Fatal(err)
	}
	name := "incident-" + id[1] + "-report.md"
	var report slackfake.File
	waitFor(t, fake, "the report in the incident's thread", func(s *slackfake.Server) bool {
		for _, f := range s.Files() {
			if f.Completed && f.Name == name {
				report = f
				return true
			}
		}
		return false
	})
	t.Logf("report uploaded %s after the click, %s after the test began", time.Since(clicked).Round(time.Millisecond), time.Since(began).Round(time.Second))
	if report.Channel != alertChannel || report.ThreadTS != root.TS {
		t.Errorf("the report went to %s thread %q, want the incident's thread %s", report.Channel, report.ThreadTS, root.TS)
	}
	md := string(report.Content)
	for _, want := range []string{
		"# Incident " + id[1] + ": app in local",
		"| What | exited with code 1 |",
		"| Where | environment `local` · source `docker` · target `app` |",
		"| State | recovered |",
		"| Failures | 1 |",
		"recovered: up for 3s |",
		"| " + operator + " | `local mute app 10m looking into the crash` | ok | button |",
		"| " + operator + " | `local unmute app` | ok | button |",
		"### Last log lines before the failure",
		"Connecting to database",
		"password=[REDACTED]",
		"## Cause",
		"## Follow-ups",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	for _, row := range []string{`\| Start \| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \|`, `\| End \| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \|`,
		`\| Duration \| \d+ s \|`, `\| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| exited with code 1 \|`} {
		if !regexp.MustCompile(row).MatchString(md) {
			t.Errorf("the report has no row matching %s:\n%s", row, md)
		}
	}
	if strings.Contains(md, "Sup3rS3cr3t") {
		t.Fatalf("a secret is in the report:\n%s", md)
	}
	waitFor(t, fake, "the report's summary in the thread", func(s *slackfake.Server) bool {
		for _, m := range s.Thread(alertChannel, root.TS) {
			if m.IsReply() && strings.Contains(m.Text+string(m.Blocks), "Report of incident "+id[1]) {
				return true
			}
		}
		return false
	})

	slash(t, fake, viewer, "incidents --closed")
	list := waitBotMessage(t, fake, "the closed incidents", "closed in the last 7 d", "docker/app")
	if !regexp.MustCompile(`(?:^|[^0-9])` + id[1] + ` +local +docker/app +recovered\b`).MatchString(list.Text + string(list.Blocks)) {
		t.Errorf("incidents --closed does not list incident %s:\n%s", id[1], prettyBlocks(list.Blocks))
	}
	t.Logf("took %s", time.Since(began).Round(time.Second))
}

// confirmIn clicks Confirm on the bot's confirmation in channel that
// names what.
func confirmIn(t *testing.T, fake *slackfake.Server, what, prompt string) {
	t.Helper()
	pending := waitBotMessage(t, fake, what+" confirmation", prompt, "mf_confirm")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := fake.ClickButton(ctx, channel, pending.TS, "mf_confirm", "", operator); err != nil {
		t.Fatal(fmt.Errorf("confirm %s: %w", what, err))
	}
}

// reportButton finds the Report button of a root: its action ID and the
// command it runs.
func reportButton(m slackfake.Message) (actionID, command string, ok bool) {
	var blocks []struct {
		Type     string `json:"type"`
		Elements []struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
			Text     struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"elements"`
	}
	if json.Unmarshal(m.Blocks, &blocks) != nil {
		return "", "", false
	}
	for _, b := range blocks {
		for _, e := range b.Elements {
			if b.Type == "actions" && e.Type == "button" && e.Text.Text == "Report" {
				return e.ActionID, e.Value, true
			}
		}
	}
	return "", "", false
}
