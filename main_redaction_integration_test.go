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

// The redaction boundary end to end (issue 7): an app whose failing
// healthcheck quotes its JDBC URL, password included, and secrets typed or
// printed along every path that leaves mfbot — an alert's root, its
// update and its thread, command replies and their updates, ephemerals,
// response_url answers, files, the audit mirror — and the password is
// found nowhere in what Slack received.
func TestRedactionNoSecretReachesSlack(t *testing.T) {
	stack := testenv.Require(t)
	const password = "Leaky-Pw-9f3b2c"
	jdbc := "jdbc:postgresql://db:5432/monitorfishdb?user=postgres&password=" + password
	api := moreAPI(t, "")
	c := moreRun(t, api, stack.AppImage("v1"), "mfbot-alert-leaky", moreSpec{health: true, published: true,
		env: []string{"ENV_DB_URL=" + jdbc}})
	testenv.WaitHealthy(t, c.Name, time.Minute)
	fake := newFake(t)
	const auditChannel = "CAUDIT001"
	moreStartBot(t, stack, fake, moreConfig(t, stack, "", map[string]string{"leaky": c.Name},
		alertsYAML+"operators: ["+operator+"]\naudit_channel: "+auditChannel+"\n"))
	addr := "127.0.0.1:" + c.Port

	// Replies: logs (the app prints its JDBC URL at start), inspect (its env).
	slash(t, fake, viewer, "logs leaky --tail 200")
	waitBotMessage(t, fake, "the logs reply", "Connecting to database")
	slash(t, fake, viewer, "inspect leaky")
	waitBotMessage(t, fake, "the inspect reply", "ENV_DB_URL")
	// A usage error quoting what was typed: ephemeral, through response_url.
	slash(t, fake, viewer, "logs leaky --tail password="+password)
	// A confirmation whose prompt and outcome hold the secret (a mute's
	// reason), confirmed: a message, then its update.
	slash(t, fake, operator, "mute leaky 1h password="+password)
	pending := waitBotMessage(t, fake, "the mute confirmation", "mf_confirm")
	resClick(t, fake, pending.TS, "mf_confirm", operator)
	waitFor(t, fake, "the mute confirmed", func(s *slackfake.Server) bool {
		m, _ := s.Message(channel, pending.TS)
		return strings.Contains(m.Text+string(m.Blocks), "muted")
	})
	slash(t, fake, operator, "unmute leaky")
	pending = waitBotMessage(t, fake, "the unmute confirmation", "Unmute leaky", "mf_confirm")
	resClick(t, fake, pending.TS, "mf_confirm", operator)
	waitFor(t, fake, "the unmute confirmed", func(s *slackfake.Server) bool {
		m, _ := s.Message(channel, pending.TS)
		return strings.Contains(m.Text+string(m.Blocks), "unmuted")
	})

	// The alert: the failing probe's output quotes the JDBC URL.
	moreGet(t, "http://"+addr+"/control/unhealthy?leak=1", 5*time.Second)
	root := moreWaitRoot(t, fake, "leaky", "the unhealthy alert", 45*time.Second, func(m slackfake.Message) bool {
		return strings.Contains(moreFields(m)["Detail"], "JDBC")
	})
	if d := moreFields(root)["Detail"]; !strings.Contains(d, "500") || !strings.Contains(d, "password=[REDACTED]") {
		t.Errorf("the alert's detail should show the 500 with the password redacted: %q", d)
	}
	threadCtx, cancelThread := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancelThread()
	if err := fake.WaitFor(threadCtx, func(s *slackfake.Server) bool {
		for _, m := range s.Thread(alertChannel, root.TS) {
			if m.IsReply() && strings.Contains(m.Text+string(m.Blocks), "Connecting to database") {
				return true
			}
		}
		// When the app logged more before the failure, the start's
		// lines go to the file attached in the thread.
		for _, f := range s.Files() {
			if f.Completed && f.ThreadTS == root.TS && strings.Contains(string(f.Content), "Connecting to database") {
				return true
			}
		}
		return false
	}); err != nil {
		// What the alert channel holds tells a missing post from one
		// without that line (pushed out of the last lines, or an error).
		for _, m := range fake.AllMessages(alertChannel) {
			t.Logf("alert channel %s (thread %s): %s\n%s", m.TS, m.ThreadTS, m.Text, prettyBlocks(m.Blocks))
		}
		t.Fatalf("waiting for the logs before the failure in the thread: %v", err)
	}
	waitFor(t, fake, "the audit mirror", func(s *slackfake.Server) bool {
		return len(s.Messages(auditChannel)) >= 5
	})

	// Nothing that left for Slack holds the password: requests, files,
	// response_url bodies.
	var sent []string
	for _, call := range fake.Calls("") {
		sent = append(sent, string(call.Body))
		for _, vs := range call.Params {
			sent = append(sent, vs...)
		}
	}
	for _, f := range fake.Files() {
		sent = append(sent, f.Name, f.Title, string(f.Content))
	}
	responses := 0
	for _, url := range fake.ResponseURLs() {
		for _, p := range fake.ResponsePosts(url) {
			sent = append(sent, string(p.Body))
			responses++
		}
	}
	if responses == 0 {
		t.Error("no response_url answer was sent: the usage error path was not exercised")
	}
	all := strings.Join(sent, "\n")
	if i := strings.Index(all, password); i >= 0 {
		t.Fatalf("the password reached Slack: …%s…", all[max(0, i-200):min(len(all), i+50)])
	}
	if !strings.Contains(all, "password=[REDACTED]") {
		t.Fatal("no redacted password in what was sent: were the paths exercised?")
	}
}
