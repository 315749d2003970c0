//go:build integration

package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"mfbot/testenv"
	"mfbot/testenv/slackfake"
)

// Slack resilience over Socket Mode, with `mfbot run` in-process against
// the fake Slack and the real Docker test stack: rate limits, socket
// disconnects, long output as files in threads, thread follow-ups,
// cancelled and expired confirmations, the working indicator, a revoked
// token and a Slack outage.

const resThirdUser = "UTHIRD0001" // neither operator nor requester

// resSecrets must never leave mfbot (testenv/README.md: the compose
// file's ENV_DB_URL password and what /control/burst writes).
var resSecrets = []string{
	"Sup3rS3cr3t",
	"hunter2-burst",
	"s3cr3t-datasource-burst",
	"eyJhbGciOiJIUzI1NiJ9.ZmFrZS1idXJzdA.c2lnbmF0dXJlLWJ1cnN0",
	"xoxb-000000000000-000000000000-FAKEfakeFAKEfakeFAKEfake",
	"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCfakeBURSTkey",
	"U2VjcmV0S2V5TWF0ZXJpYWxGb3JUZXN0c09ubHlOb3RBUmVhbEtleUJ1cnN0",
}

// resBotMessages lists the bot's messages in channel containing every want.
func resBotMessages(fake *slackfake.Server, want ...string) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range fake.Messages(channel) {
		all := m.Text + string(m.Blocks)
		ok := m.BotID != ""
		for _, w := range want {
			ok = ok && strings.Contains(all, w)
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}

// resNoSecret checks everything mfbot sent to Slack: every request body
// and parameter, and every uploaded file.
func resNoSecret(t *testing.T, fake *slackfake.Server) {
	t.Helper()
	for _, c := range fake.Calls("") {
		all := string(c.Body)
		for _, vs := range c.Params {
			all += "\n" + strings.Join(vs, "\n")
		}
		for _, s := range resSecrets {
			if strings.Contains(all, s) {
				t.Errorf("secret %q reached Slack in a %s call", s, c.Method)
			}
		}
	}
	for _, f := range fake.Files() {
		for _, s := range resSecrets {
			if strings.Contains(string(f.Content), s) {
				i := strings.Index(string(f.Content), s)
				t.Errorf("secret %q reached Slack in file %s: …%s…", s, f.Name, string(f.Content)[max(0, i-300):min(len(f.Content), i+100)])
			}
		}
	}
}

// resNoRejectedContent: Slack refused none of mfbot's messages for their
// size or blocks (the fake validates them as Slack does).
func resNoRejectedContent(t *testing.T, fake *slackfake.Server) {
	t.Helper()
	for _, c := range fake.Calls("") {
		switch c.Error {
		case "invalid_blocks", "invalid_blocks_format", "msg_too_long", "msg_blocks_too_long", "invalid_arguments", "no_text":
			t.Errorf("%s was refused: %s", c.Method, c.Error)
		}
	}
	for _, m := range fake.Messages(channel) {
		if strings.Contains(m.Text+string(m.Blocks), "could not be displayed") {
			t.Errorf("a message fell back to text only: %s", m.Text)
		}
	}
}

// resContainer is a container's "running startedAt" (a stop or restart
// changes it).
func resContainer(t *testing.T, name string) string {
	t.Helper()
	return testenv.Docker(t, "inspect", "-f", "{{.State.Running}} {{.State.StartedAt}}", name)
}

func resClick(t *testing.T, fake *slackfake.Server, ts, actionID, user string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := fake.ClickButton(ctx, channel, ts, actionID, "", user)
	if err != nil {
		t.Fatalf("click %s: %v", actionID, err)
	}
	if ack.Latency > time.Second {
		t.Errorf("click %s acknowledged after %s", actionID, ack.Latency)
	}
}

// resEphemeralTo reports whether user got an ephemeral containing want.
func resEphemeralTo(s *slackfake.Server, user, want string) bool {
	for _, e := range s.Ephemerals(channel) {
		if e.User == user && strings.Contains(e.Text+string(e.Blocks), want) {
			return true
		}
	}
	return false
}

// 1. A 429 with Retry-After on chat.postMessage: the reply is posted again
// once the wait has passed, not before, and exactly once.
func TestSlackResRateLimitedReplyArrivesAfterRetryAfter(t *testing.T) {
	stack := testenv.Require(t)
	fake := newFake(t)
	startBot(t, stack, fake, botOptions{})

	fake.RateLimit("chat.postMessage", 1, 2*time.Second)
	slash(t, fake, viewer, "status")
	waitBotMessage(t, fake, "the status reply", "remote_app_1", "pipeline-flows")

	calls := fake.Calls("chat.postMessage")
	if len(calls) != 2 {
		t.Fatalf("chat.postMessage called %d times, want 2 (the 429, then the post): %+v", len(calls), calls)
	}
	limited, posted := calls[0], calls[1]
	if limited.HTTPStatus != http.StatusTooManyRequests || limited.RetryAfter != 2*time.Second {
		t.Fatalf("first call: HTTP %d, Retry-After %s; want 429 with 2s", limited.HTTPStatus, limited.RetryAfter)
	}
	if !posted.OK() {
		t.Fatalf("second call failed: HTTP %d %s", posted.HTTPStatus, posted.Error)
	}
	if wait := posted.Time.Sub(limited.Time); wait < 2*time.Second {
		t.Errorf("the post was retried %s after the 429, before its Retry-After of 2s", wait)
	} else {
		t.Logf("posted %s after the 429", wait.Round(time.Millisecond))
	}
	if n := len(resBotMessages(fake, "remote_app_1")); n != 1 {
		t.Errorf("%d status replies in the channel, want 1", n)
	}
}

// 2. Socket Mode: a disconnect with refresh_requested, then an abrupt drop;
// each time the bot reconnects and the next command is acked at once and
// answered.
func TestSlackResSocketReconnects(t *testing.T) {
	stack := testenv.Require(t)
	fake := newFake(t)
	startBot(t, stack, fake, botOptions{})

	slash(t, fake, viewer, "status")
	waitBotMessage(t, fake, "the first status reply", "remote_app_1")

	for i, c := range []struct {
		name  string
		cause string
		cut   func()
	}{
		{"refresh_requested", "disconnect:refresh_requested", func() { fake.Disconnect("refresh_requested") }},
		{"dropped connection", "dropped", fake.DropConnections},
	} {
		c.cut()
		conns := i + 2
		waitFor(t, fake, "a new connection after "+c.name, func(s *slackfake.Server) bool {
			return len(s.ConnectionLog()) >= conns && s.Connections() == 1
		})
		log := fake.ConnectionLog()
		if got := log[conns-2].CloseCause; got != c.cause {
			t.Errorf("connection %d closed by %q, want %q", conns-1, got, c.cause)
		}
		t.Logf("%s: reconnected %s after the close", c.name, log[conns-1].OpenedAt.Sub(log[conns-2].ClosedAt).Round(time.Millisecond))

		ack := slash(t, fake, viewer, "status")
		if ack.Latency >= time.Second {
			t.Errorf("after %s: /mf status acked in %s, want < 1s", c.name, ack.Latency)
		}
		if ack.ConnID != conns {
			t.Errorf("after %s: acked on connection %d, want the new one %d", c.name, ack.ConnID, conns)
		}
		waitFor(t, fake, "the status reply after "+c.name, func(s *slackfake.Server) bool {
			return len(resBotMessages(s, "remote_app_1")) == i+2
		})
	}
}

// 3. Logs longer than a message: a summary message and the full log as a
// file in its thread, through the files upload V2 flow, redacted. Sharing
// the file is rate-limited once: it is shared after the Retry-After, and
// meanwhile a mention in the reply's thread already knows the reply is
// about app.
func TestSlackResLongLogsGoToAFileInTheThread(t *testing.T) {
	stack := testenv.Require(t)
	fake := newFake(t)
	startBot(t, stack, fake, botOptions{})

	resp, err := http.Get(stack.AppURL + "/control/burst?lines=500")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("burst: HTTP %d", resp.StatusCode)
	}

	fake.RateLimit("files.completeUploadExternal", 1, 2*time.Second)
	slash(t, fake, viewer, "logs app --tail 2000")
	reply := waitBotMessage(t, fake, "the logs reply", "Logs of app")
	waitFor(t, fake, "the file's sharing rate-limited", func(s *slackfake.Server) bool {
		return len(s.Calls("files.completeUploadExternal")) > 0
	})

	// While the file waits for its Retry-After: @mfbot logs in the thread.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := fake.Mention(ctx, channel, reply.TS, viewer, "logs --tail 3"); err != nil {
		t.Fatal(err)
	}
	var followUp slackfake.Message
	var refusal *slackfake.Ephemeral
	waitFor(t, fake, "the answer to the mention in the reply's thread", func(s *slackfake.Server) bool {
		for _, m := range s.Thread(channel, reply.TS) {
			if m.BotID != "" && m.IsReply() && m.Via == "chat.postMessage" {
				followUp = m
				return true
			}
		}
		for _, e := range s.Ephemerals(channel) {
			if e.User == viewer && e.ThreadTS == reply.TS {
				refusal = &e
				return true
			}
		}
		return false
	})
	if refusal != nil {
		t.Fatalf("@mfbot logs in the thread of app's logs was answered only to its author: %s\n%s", refusal.Text, prettyBlocks(refusal.Blocks))
	}
	if all := followUp.Text + string(followUp.Blocks); !strings.Contains(all, "Logs of app") {
		t.Errorf("@mfbot logs in the thread of app's logs answered:\n%s", prettyBlocks(followUp.Blocks))
	}

	var file slackfake.File
	waitFor(t, fake, "the log file shared", func(s *slackfake.Server) bool {
		for _, f := range s.Files() {
			if f.Completed {
				file = f
				return true
			}
		}
		return false
	})
	if n := len(fake.Files()); n != 1 {
		t.Errorf("%d files, want 1 (the log file, uploaded once)", n)
	}
	if shares := fake.Calls("files.completeUploadExternal"); len(shares) != 2 || shares[0].HTTPStatus != http.StatusTooManyRequests || !shares[1].OK() {
		t.Errorf("files.completeUploadExternal calls: %+v, want a 429 then a success", shares)
	} else if wait := shares[1].Time.Sub(shares[0].Time); wait < 2*time.Second {
		t.Errorf("the file was shared again %s after the 429, before its Retry-After of 2s", wait)
	}

	if reply.Via != "chat.postMessage" || reply.IsReply() {
		t.Errorf("the reply is via %s (reply in a thread: %v), want a top-level chat.postMessage", reply.Via, reply.IsReply())
	}
	if !strings.Contains(reply.Text+string(reply.Blocks), "attached file") {
		t.Errorf("the reply does not say the rest is in a file:\n%s", prettyBlocks(reply.Blocks))
	}
	if file.Channel != channel || file.ThreadTS != reply.TS {
		t.Errorf("the file is in %s thread %q, want %s thread %s (the reply's)", file.Channel, file.ThreadTS, channel, reply.TS)
	}
	if !file.Uploaded || file.Length != len(file.Content) {
		t.Errorf("file uploaded %v, %d bytes declared, %d uploaded", file.Uploaded, file.Length, len(file.Content))
	}
	lines := strings.Count(string(file.Content), "\n")
	if lines < 500 || !strings.Contains(string(file.Content), "(no secret here)") {
		t.Errorf("the file has %d lines and no burst line; want the log (> 500 lines)", lines)
	}
	t.Logf("file %s: %d bytes, %d lines; message %d bytes of blocks", file.Name, len(file.Content), lines, len(reply.Blocks))

	// The V2 flow, in order (beside the 429); never the retired files.upload.
	var flow []string
	for _, c := range fake.Calls("") {
		switch c.Method {
		case "files.getUploadURLExternal", slackfake.UploadMethod, "files.completeUploadExternal", "files.upload":
			if c.HTTPStatus == http.StatusTooManyRequests {
				continue
			}
			if !c.OK() {
				t.Errorf("%s failed: HTTP %d %s", c.Method, c.HTTPStatus, c.Error)
			}
			flow = append(flow, c.Method)
		}
	}
	if got, want := strings.Join(flow, " → "), "files.getUploadURLExternal → upload → files.completeUploadExternal"; got != want {
		t.Errorf("upload flow: %s, want %s", got, want)
	}
	resNoRejectedContent(t, fake)
	resNoSecret(t, fake)
}

// 4. `@mfbot logs` in the thread of a reply about pipeline-server gives the
// logs of pipeline-server, in that thread; a mention outside a thread is
// answered in a new thread under it.
func TestSlackResMentionInThreadTakesTheTarget(t *testing.T) {
	stack := testenv.Require(t)
	fake := newFake(t)
	run := startBot(t, stack, fake, botOptions{})

	slash(t, fake, viewer, "logs pipeline-server")
	reply := waitBotMessage(t, fake, "the pipeline-server logs reply", "Logs of pipeline-server")
	if target := run.threadTarget(t, reply.TS); target.Service != "pipeline-server" {
		t.Fatalf("the reply is recorded as about %+v, want pipeline-server", target)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ack, err := fake.Mention(ctx, channel, reply.TS, viewer, "logs")
	if err != nil {
		t.Fatal(err)
	}
	if ack.Latency > time.Second {
		t.Errorf("mention acknowledged after %s", ack.Latency)
	}
	var answer slackfake.Message
	waitFor(t, fake, "the answer in the reply's thread", func(s *slackfake.Server) bool {
		for _, m := range s.Thread(channel, reply.TS) {
			if m.BotID != "" && m.IsReply() && strings.Contains(m.Text+string(m.Blocks), "Logs of ") {
				answer = m
				return true
			}
		}
		return false
	})
	all := answer.Text + string(answer.Blocks)
	if answer.ThreadTS != reply.TS {
		t.Errorf("answered in thread %s, want %s", answer.ThreadTS, reply.TS)
	}
	if !strings.Contains(all, "Logs of pipeline-server") || strings.Contains(all, "Logs of app") {
		t.Fatalf("the mention in pipeline-server's thread answered:\n%s", prettyBlocks(answer.Blocks))
	}
	// The Prefect server's own lines (banner, "Server available at
	// http://localhost:4200", prefect-server.* lines), not the app's.
	if !strings.Contains(all, "localhost:4200") && !strings.Contains(all, "prefect-server") && !strings.Contains(all, "|  __ \\|  __ \\|") {
		t.Errorf("the answer does not show the Prefect server's log:\n%s", prettyBlocks(answer.Blocks))
	}

	// A mention outside any thread: the answer starts a thread under it.
	ev := fake.AppMention(channel, "", viewer, "status")
	mentionTS, _ := ev["ts"].(string)
	if _, err := fake.SendEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	waitFor(t, fake, "the answer in a thread under the mention", func(s *slackfake.Server) bool {
		for _, m := range s.Thread(channel, mentionTS) {
			if m.BotID != "" && m.ThreadTS == mentionTS && strings.Contains(m.Text+string(m.Blocks), "remote_app_1") {
				return true
			}
		}
		return false
	})
	if n := len(resBotMessages(fake, "remote_app_1")); n != 1 {
		t.Errorf("%d status answers, want 1 (in the mention's thread)", n)
	}
}

// 5a. Cancel → nothing happens; a third user's Cancel is refused.
func TestSlackResCancelDoesNothing(t *testing.T) {
	stack := testenv.Require(t)
	fake := newFake(t)
	startBot(t, stack, fake, botOptions{})
	const target = "monitorfish-pipeline-flows"
	before := resContainer(t, target)

	slash(t, fake, operator, "stop pipeline-flows")
	pending := waitBotMessage(t, fake, "the confirmation message", "mf_confirm", "mf_cancel")

	// Neither operator nor requester: refused, to that user only.
	resClick(t, fake, pending.TS, "mf_cancel", resThirdUser)
	waitFor(t, fake, "the third user's Cancel refused", func(s *slackfake.Server) bool {
		return resEphemeralTo(s, resThirdUser, "operator role")
	})
	if m, _ := fake.Message(channel, pending.TS); len(m.Revisions) != 1 {
		t.Fatalf("the third user's click changed the confirmation message:\n%s", prettyBlocks(m.Blocks))
	}

	resClick(t, fake, pending.TS, "mf_cancel", operator)
	waitFor(t, fake, "the message says cancelled", func(s *slackfake.Server) bool {
		m, _ := s.Message(channel, pending.TS)
		return strings.Contains(m.Text+string(m.Blocks), "Cancelled")
	})
	m, _ := fake.Message(channel, pending.TS)
	if strings.Contains(string(m.Blocks), "mf_confirm") {
		t.Errorf("the cancelled message still has a Confirm button:\n%s", prettyBlocks(m.Blocks))
	}
	if after := resContainer(t, target); after != before || !strings.HasPrefix(after, "true ") {
		t.Fatalf("%s was %q, is %q after Cancel", target, before, after)
	}
}

// 5b. A Confirm clicked after limits.confirm_timeout → expired, nothing done.
func TestSlackResExpiredConfirmDoesNothing(t *testing.T) {
	stack := testenv.Require(t)
	fake := newFake(t)
	startBot(t, stack, fake, botOptions{YAML: "  confirm_timeout: 2s\n"})
	const target = "monitorfish-pipeline-flows"
	before := resContainer(t, target)

	slash(t, fake, operator, "stop pipeline-flows")
	pending := waitBotMessage(t, fake, "the confirmation message", "mf_confirm")
	// Nothing to wait on here but the clock: the confirmation was created
	// before the message was posted, so 3 s after the post it has expired.
	time.Sleep(time.Until(pending.Time.Add(3 * time.Second)))

	resClick(t, fake, pending.TS, "mf_confirm", operator)
	waitFor(t, fake, "the message says expired", func(s *slackfake.Server) bool {
		m, _ := s.Message(channel, pending.TS)
		return strings.Contains(m.Text+string(m.Blocks), "Expired")
	})
	if after := resContainer(t, target); after != before || !strings.HasPrefix(after, "true ") {
		t.Fatalf("%s was %q, is %q after an expired Confirm", target, before, after)
	}
	if m, _ := fake.Message(channel, pending.TS); strings.Contains(string(m.Blocks), "mf_confirm") {
		t.Errorf("the expired message still has a Confirm button:\n%s", prettyBlocks(m.Blocks))
	}
}

// 6. A slow command (stats: Docker samples twice) first says it is
// working: an ephemeral "Working on" for a slash command, a ⏳ reaction
// (removed afterwards) for a mention.
func TestSlackResSlowCommandShowsItIsWorking(t *testing.T) {
	stack := testenv.Require(t)
	fake := newFake(t)
	startBot(t, stack, fake, botOptions{})

	ack := slash(t, fake, viewer, "stats")
	reply := waitBotMessage(t, fake, "the stats reply", "Resource usage")
	var working *slackfake.ResponsePost
	for _, p := range fake.ResponsePosts(ack.ResponseURL) {
		if strings.Contains(p.Text+string(p.Blocks), "Working on") {
			working = &p
			break
		}
	}
	switch {
	case working == nil:
		t.Errorf("no \"Working on\" response before the stats reply (took %s)", reply.Time.Sub(ack.SentAt).Round(time.Millisecond))
	case working.ResponseType != "ephemeral" || working.Error != "":
		t.Errorf("the working notice is %s (error %q), want an accepted ephemeral", working.ResponseType, working.Error)
	case !working.Time.Before(reply.Time):
		t.Errorf("the working notice came at %s, after the reply at %s", working.Time, reply.Time)
	default:
		t.Logf("working notice %s after the command, reply %s after", working.Time.Sub(ack.SentAt).Round(time.Millisecond), reply.Time.Sub(ack.SentAt).Round(time.Millisecond))
	}

	ev := fake.AppMention(channel, "", viewer, "stats")
	mentionTS, _ := ev["ts"].(string)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := fake.SendEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	var answer slackfake.Message
	waitFor(t, fake, "the mention's stats answer", func(s *slackfake.Server) bool {
		for _, m := range s.Thread(channel, mentionTS) {
			if m.BotID != "" && strings.Contains(m.Text+string(m.Blocks), "Resource usage") {
				answer = m
				return true
			}
		}
		return false
	})
	var added, removed time.Time
	for _, c := range fake.Calls("") {
		if c.Params.Get("timestamp") != mentionTS || c.Params.Get("name") != "hourglass_flowing_sand" || !c.OK() {
			continue
		}
		switch c.Method {
		case "reactions.add":
			added = c.Time
		case "reactions.remove":
			removed = c.Time
		}
	}
	if added.IsZero() || removed.IsZero() {
		t.Fatalf("⏳ on the mention: added at %v, removed at %v; want both", added, removed)
	}
	if !added.Before(removed) || !added.Before(answer.Time) {
		t.Errorf("⏳ added at %s, removed at %s, answer at %s", added, removed, answer.Time)
	}
	if m, _ := fake.Message(channel, mentionTS); len(m.Reactions) != 0 {
		t.Errorf("the mention still has reactions %+v", m.Reactions)
	}
}

// 7. Slack revokes the token while the bot runs: `mfbot run` says so and
// exits 1 rather than staying connected and answering nothing.
func TestSlackResRevokedTokenStopsTheBot(t *testing.T) {
	stack := testenv.Require(t)
	fake := newFake(t)
	run := startBot(t, stack, fake, botOptions{})

	slash(t, fake, viewer, "help")
	waitFor(t, fake, "the help answer", func(s *slackfake.Server) bool {
		return len(s.Calls("chat.postMessage"))+len(s.Calls(slackfake.ResponseURLMethod)) > 0
	})
	fake.FailNext("chat.postMessage", "token_revoked")
	slash(t, fake, viewer, "status")

	code, ok := run.exited(15 * time.Second)
	if !ok {
		t.Fatal("mfbot run is still running 15 s after Slack answered token_revoked")
	}
	if code != 1 {
		t.Errorf("mfbot run exited %d, want 1", code)
	}
	logs := run.logs.String()
	if !strings.Contains(logs, "token_revoked") || !strings.Contains(logs, "refused the bot token") {
		t.Errorf("the log does not say Slack refused the bot token (token_revoked):\n%s", logs)
	}
	waitFor(t, fake, "the Socket Mode connection closed", func(s *slackfake.Server) bool { return s.Connections() == 0 })
	if n := len(fake.Calls("apps.connections.open")); n != 1 {
		t.Errorf("apps.connections.open called %d times, want 1 (no reconnection after the exit)", n)
	}
}

// 7b. Slack refuses the app token: at start (token_expired, which slack-go
// would retry for ever, or an unknown token), or when the bot reconnects
// after a refresh (token_revoked). `mfbot run` exits 1 and says which token.
func TestSlackResRefusedAppTokenStopsTheBot(t *testing.T) {
	stack := testenv.Require(t)
	for _, c := range []struct {
		name, code string
		env        map[string]string
		before     func(*slackfake.Server) // before the bot starts
		after      func(*slackfake.Server) // once it is connected
	}{
		{name: "expired at start", code: "token_expired",
			before: func(f *slackfake.Server) { f.FailNext("apps.connections.open", "token_expired") }},
		{name: "unknown at start", code: "invalid_auth", env: map[string]string{"SLACK_APP_TOKEN": "xapp-1-A0FAKEAPP-0000-not-this-one"}},
		{name: "revoked at reconnection", code: "token_revoked", after: func(f *slackfake.Server) {
			f.FailNext("apps.connections.open", "token_revoked")
			f.Disconnect("refresh_requested")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake := newFake(t)
			if c.before != nil {
				c.before(fake)
			}
			run := startBot(t, stack, fake, botOptions{Env: c.env})
			if c.after != nil {
				waitFor(t, fake, "the bot connected", func(s *slackfake.Server) bool { return s.Connections() == 1 })
				c.after(fake)
			}
			code, ok := run.exited(10 * time.Second)
			if !ok {
				t.Fatalf("mfbot run still runs 10 s after apps.connections.open answered %s", c.code)
			}
			if code != 1 {
				t.Errorf("mfbot run exited %d, want 1", code)
			}
			opens := fake.Calls("apps.connections.open")
			if last := opens[len(opens)-1]; last.Error != c.code {
				t.Errorf("last apps.connections.open answered %q, want %s", last.Error, c.code)
			}
			if logs := run.logs.String(); !strings.Contains(logs, "refused the app token (SLACK_APP_TOKEN)") || !strings.Contains(logs, c.code) {
				t.Errorf("the log does not say Slack refused the app token (%s):\n%s", c.code, logs)
			}
		})
	}
}

// 8. Slack is down (HTTP 503) when the reply is posted: the client retries
// and the reply arrives once Slack is back.
func TestSlackResReplyArrivesAfterSlackOutage(t *testing.T) {
	stack := testenv.Require(t)
	fake := newFake(t)
	startBot(t, stack, fake, botOptions{})

	slash(t, fake, viewer, "status")
	fake.SetDown(true)
	downAt := time.Now()
	upAt := downAt.Add(3 * time.Second)
	timer := time.AfterFunc(3*time.Second, func() { fake.SetDown(false) })
	defer timer.Stop()

	waitFor(t, fake, "a post refused by the outage", func(s *slackfake.Server) bool {
		for _, c := range s.Calls("chat.postMessage") {
			if c.HTTPStatus == http.StatusServiceUnavailable {
				return true
			}
		}
		return false
	})
	reply := waitBotMessage(t, fake, "the status reply after the outage", "remote_app_1")
	if reply.Time.Before(upAt) {
		t.Errorf("reply posted at %s, before Slack was back at %s", reply.Time, upAt)
	}
	var refused int
	for _, c := range fake.Calls("chat.postMessage") {
		if c.HTTPStatus == http.StatusServiceUnavailable {
			refused++
		}
	}
	t.Logf("%d posts refused during the outage; reply %s after Slack was back", refused, reply.Time.Sub(upAt).Round(time.Millisecond))
	if n := len(resBotMessages(fake, "remote_app_1")); n != 1 {
		t.Errorf("%d status replies, want 1", n)
	}
	if d := reply.Time.Sub(upAt); d > 10*time.Second {
		t.Errorf("the reply came %s after Slack was back", d)
	}
}
