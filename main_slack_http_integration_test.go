//go:build integration

package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mfbot/testenv"
	"mfbot/testenv/slackfake"
)

// End-to-end tests of `mfbot run` over Slack's HTTP endpoints only (no app
// token, so no Socket Mode): the fake Slack builds the signed requests Slack
// would POST, and records everything the bot sends back.

const (
	httpSigningSecret = "e3b0c44298fc1c149afbf4c8996fb924"
	httpAckBudget     = 500 * time.Millisecond // "well under" Slack's 3 s
)

// httpSlackBot is a running `mfbot run` serving the Slack HTTP endpoints.
type httpSlackBot struct {
	*testBot
	t    *testing.T
	fake *slackfake.Server
	base string // http://127.0.0.1:port
}

// httpBot starts a fake Slack and `mfbot run` with SLACK_SIGNING_SECRET set
// and no app token, with extraLimits appended under limits: in its YAML,
// and waits until /healthz answers.
func httpBot(t *testing.T, stack testenv.Stack, extraLimits string) *httpSlackBot {
	t.Helper()
	fake := newFake(t)
	bot := startBot(t, stack, fake, botOptions{YAML: extraLimits, Env: map[string]string{
		"SLACK_APP_TOKEN":      "",
		"SLACK_SIGNING_SECRET": httpSigningSecret,
	}})
	b := &httpSlackBot{testBot: bot, t: t, fake: fake, base: "http://" + bot.listenAddr(t)}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if code, ok := bot.exited(0); ok {
			t.Fatalf("mfbot run exited with %d before serving:\n%s", code, bot.logs.String())
		}
		resp, err := http.Get(b.base + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return b
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz never answered 200 (last error %v):\n%s", err, bot.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// httpResult is the bot's answer to one POST.
type httpResult struct {
	Status  int
	Body    string
	Latency time.Duration
}

// httpPost POSTs body with headers to the bot and reads the whole answer.
func (b *httpSlackBot) httpPost(path, body string, h http.Header) httpResult {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return httpResult{Status: resp.StatusCode, Body: string(out), Latency: time.Since(start)}
}

// httpAcked checks Slack's acknowledgement: an empty 200, at once.
func (b *httpSlackBot) httpAcked(what string, r httpResult) {
	b.t.Helper()
	if r.Status != http.StatusOK || strings.TrimSpace(r.Body) != "" {
		b.t.Fatalf("%s: got %d %q, want an empty 200", what, r.Status, r.Body)
	}
	if r.Latency > httpAckBudget {
		b.t.Errorf("%s acknowledged after %s, want under %s", what, r.Latency, httpAckBudget)
	}
}

// httpSlash sends a correctly signed `/mf text` from user and checks the ack.
func (b *httpSlackBot) httpSlash(user, text string) {
	b.t.Helper()
	body, h := b.fake.SignedSlashCommand(httpSigningSecret, slackfake.SlashCommand{Command: "/mf", Text: text, UserID: user, ChannelID: channel}, time.Now())
	b.httpAcked("/mf "+text, b.httpPost("/slack/commands", body, h))
}

// httpClick builds user's click on the button actionID of the message ts.
func (b *httpSlackBot) httpClick(ts, actionID, user string) map[string]any {
	b.t.Helper()
	payload, err := b.fake.ButtonClick(channel, ts, actionID, "", user)
	if err != nil {
		b.t.Fatal(err)
	}
	return payload
}

// httpSendClick POSTs a click payload, signed now, to /slack/interactivity.
func (b *httpSlackBot) httpSendClick(what string, payload map[string]any) {
	b.t.Helper()
	body, h := b.fake.SignedInteraction(httpSigningSecret, payload, time.Now())
	b.httpAcked(what, b.httpPost("/slack/interactivity", body, h))
}

// httpWaitMessage waits for the bot's message in channel containing every
// want and not among skip (timestamps already seen).
func (b *httpSlackBot) httpWaitMessage(what string, skip map[string]bool, want ...string) slackfake.Message {
	b.t.Helper()
	var found slackfake.Message
	waitFor(b.t, b.fake, what, func(s *slackfake.Server) bool {
		for _, m := range s.Messages(channel) {
			if m.BotID == "" || skip[m.TS] {
				continue
			}
			if httpContainsAll(m.Text+string(m.Blocks), want...) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

func httpContainsAll(s string, want ...string) bool {
	for _, w := range want {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// httpMentions matches a mention of user in raw JSON blocks (escaped or not).
func httpMentions(raw json.RawMessage, prefix, user string) bool {
	s := string(raw)
	return strings.Contains(s, prefix+" \\u003c@"+user) || strings.Contains(s, prefix+" <@"+user)
}

// httpStartedAt is when a container of the stack last started.
func httpStartedAt(t *testing.T, name string) string {
	t.Helper()
	return testenv.Docker(t, "inspect", "-f", "{{.State.StartedAt}}", name)
}

// httpOutbound lists what the bot sent Slack beyond its start-up auth.test.
func httpOutbound(fake *slackfake.Server) []string {
	var out []string
	for _, c := range fake.Calls("") {
		if c.Method != "auth.test" {
			out = append(out, c.Method)
		}
	}
	return out
}

func TestSlackHTTPStatusAndLogs(t *testing.T) {
	stack := testenv.Require(t)
	b := httpBot(t, stack, "")

	b.httpSlash(viewer, "status")
	b.httpWaitMessage("the status reply", nil, "remote_app_1", "pipeline-flows")

	b.httpSlash(viewer, "logs app")
	b.httpWaitMessage("the logs reply", nil, "Logs of app")
	// The app logs its JDBC URL with the password at start: it must arrive
	// redacted.
	b.httpSlash(viewer, "logs app --grep Connecting")
	b.httpWaitMessage("the logs reply with the JDBC URL", nil, "Logs of app", "matching Connecting", "jdbc:postgresql://db:5432")

	for _, c := range b.fake.Calls("") {
		if strings.Contains(string(c.Body)+c.Params.Encode(), "Sup3rS3cr3t") {
			t.Errorf("a secret reached Slack in %s: %s", c.Method, c.Body)
		}
	}
	for _, f := range b.fake.Files() {
		if strings.Contains(string(f.Content)+f.InitialComment+f.Title, "Sup3rS3cr3t") {
			t.Errorf("a secret reached Slack in file %s", f.Name)
		}
	}
	for _, m := range b.fake.Messages(channel) {
		if strings.Contains(m.Text+string(m.Blocks), "Sup3rS3cr3t") {
			t.Errorf("a secret reached Slack in message %s", m.TS)
		}
	}
	if strings.Contains(b.logs.String(), httpSigningSecret) || strings.Contains(b.logs.String(), b.fake.BotToken()) {
		t.Error("mfbot logged its own signing secret or bot token")
	}
}

func TestSlackHTTPRefusesForgedStaleReplayedAndOversizedRequests(t *testing.T) {
	stack := testenv.Require(t)
	b := httpBot(t, stack, "")
	dbStarted := httpStartedAt(t, "remote_db_1")

	restartDB := slackfake.SlashCommand{Command: "/mf", Text: "restart db", UserID: operator, ChannelID: channel}
	now := time.Now()
	refused := []struct {
		name       string
		path       string
		body       func() (string, http.Header)
		wantStatus int
	}{
		{"forged signature (wrong secret)", "/slack/commands", func() (string, http.Header) {
			return b.fake.SignedSlashCommand("not-the-signing-secret", restartDB, now)
		}, http.StatusUnauthorized},
		{"stale timestamp (6 min old, correctly signed)", "/slack/commands", func() (string, http.Header) {
			return b.fake.SignedSlashCommand(httpSigningSecret, restartDB, now.Add(-6*time.Minute))
		}, http.StatusUnauthorized},
		{"timestamp 6 min in the future", "/slack/commands", func() (string, http.Header) {
			return b.fake.SignedSlashCommand(httpSigningSecret, restartDB, now.Add(6*time.Minute))
		}, http.StatusUnauthorized},
		{"missing signature headers", "/slack/commands", func() (string, http.Header) {
			body, _ := b.fake.SignedSlashCommand(httpSigningSecret, restartDB, now)
			return body, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
		}, http.StatusUnauthorized},
		{"missing signature, timestamp present", "/slack/commands", func() (string, http.Header) {
			body, h := b.fake.SignedSlashCommand(httpSigningSecret, restartDB, now)
			h.Del("X-Slack-Signature")
			return body, h
		}, http.StatusUnauthorized},
		{"missing timestamp, signature present", "/slack/commands", func() (string, http.Header) {
			body, h := b.fake.SignedSlashCommand(httpSigningSecret, restartDB, now)
			h.Del("X-Slack-Request-Timestamp")
			return body, h
		}, http.StatusUnauthorized},
		{"body tampered with after signing", "/slack/commands", func() (string, http.Header) {
			body, h := b.fake.SignedSlashCommand(httpSigningSecret, slackfake.SlashCommand{Command: "/mf", Text: "status", UserID: operator, ChannelID: channel}, now)
			tampered := strings.Replace(body, "text=status", "text="+url.QueryEscape("restart db"), 1)
			if tampered == body {
				t.Fatal("could not tamper with the body")
			}
			return tampered, h
		}, http.StatusUnauthorized},
		{"replay of a request Slack signed 5 min 30 s ago", "/slack/commands", func() (string, http.Header) {
			return b.fake.SignedSlashCommand(httpSigningSecret, restartDB, now.Add(-5*time.Minute-30*time.Second))
		}, http.StatusUnauthorized},
		{"replay of an app_mention signed 5 min 30 s ago", "/slack/events", func() (string, http.Header) {
			return b.fake.SignedEvent(httpSigningSecret, b.fake.AppMention(channel, "", operator, "restart db"), now.Add(-5*time.Minute-30*time.Second))
		}, http.StatusUnauthorized},
		{"forged app_mention", "/slack/events", func() (string, http.Header) {
			return b.fake.SignedEvent("not-the-signing-secret", b.fake.AppMention(channel, "", operator, "restart db"), now)
		}, http.StatusUnauthorized},
		{"forged url_verification", "/slack/events", func() (string, http.Header) {
			return b.fake.URLVerification("not-the-signing-secret", "forged-challenge", now)
		}, http.StatusUnauthorized},
		{"forged interaction", "/slack/interactivity", func() (string, http.Header) {
			payload := map[string]any{"type": "block_actions", "user": map[string]any{"id": operator}, "channel": map[string]any{"id": channel},
				"actions": []any{map[string]any{"action_id": "mf_run", "value": "restart db", "type": "button"}}}
			return b.fake.SignedInteraction("not-the-signing-secret", payload, now)
		}, http.StatusUnauthorized},
		{"oversized slash command (> 256 KiB), correctly signed", "/slack/commands", func() (string, http.Header) {
			big := restartDB
			big.Text = "restart db " + strings.Repeat("x", 300<<10)
			return b.fake.SignedSlashCommand(httpSigningSecret, big, time.Now())
		}, http.StatusRequestEntityTooLarge},
		{"oversized event (> 256 KiB), correctly signed", "/slack/events", func() (string, http.Header) {
			return b.fake.SignedEvent(httpSigningSecret, map[string]any{"type": "app_mention", "user": operator, "channel": channel,
				"ts": "1700000000.000100", "text": "<@" + b.fake.BotUserID() + "> restart db " + strings.Repeat("x", 300<<10)}, time.Now())
		}, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range refused {
		body, h := tc.body()
		r := b.httpPost(tc.path, body, h)
		if r.Status != tc.wantStatus {
			t.Errorf("%s: got %d %q, want %d", tc.name, r.Status, r.Body, tc.wantStatus)
		}
	}

	// Nothing of it reached the dispatcher: Slack's liveness is not touched,
	// nothing was sent to Slack, nothing was audited, nothing restarted.
	resp, err := http.Get(b.base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health map[string]any
	json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if _, ok := health["slack_last_event_age_seconds"]; ok {
		t.Errorf("refused requests count as Slack activity in /healthz: %v", health)
	}
	if sent := httpOutbound(b.fake); len(sent) > 0 {
		t.Errorf("the bot called Slack after refused requests: %v", sent)
	}
	// A valid request afterwards is served, and the audit log it shows is
	// empty: the refused ones ran nothing.
	b.httpSlash(viewer, "audit")
	m := b.httpWaitMessage("the audit reply", nil, "Audit log")
	if !strings.Contains(m.Text+string(m.Blocks), "last 0 entries") {
		t.Errorf("refused requests reached the audit log:\n%s", prettyBlocks(m.Blocks))
	}
	var posted []string
	for _, m := range b.fake.Messages(channel) {
		if m.BotID != "" {
			posted = append(posted, m.Text)
		}
	}
	if len(posted) != 1 {
		t.Errorf("the bot posted %d messages, want only the audit reply: %q", len(posted), posted)
	}
	if len(b.fake.Ephemerals(channel)) > 0 || len(b.fake.Calls(slackfake.ResponseURLMethod)) > 0 {
		t.Errorf("the bot answered a refused request: ephemerals %v, response_url posts %d", b.fake.Ephemerals(channel), len(b.fake.Calls(slackfake.ResponseURLMethod)))
	}
	if now := httpStartedAt(t, "remote_db_1"); now != dbStarted {
		t.Errorf("remote_db_1 was restarted (StartedAt %s, was %s) by a refused request", now, dbStarted)
	}
	if n := strings.Count(b.logs.String(), "refused an unsigned, forged or stale Slack request"); n != 12 {
		t.Errorf("%d refusals logged, want 12 (one per 401)", n)
	}
}

func TestSlackHTTPURLVerification(t *testing.T) {
	stack := testenv.Require(t)
	b := httpBot(t, stack, "")
	const challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
	body, h := b.fake.URLVerification(httpSigningSecret, challenge, time.Now())
	r := b.httpPost("/slack/events", body, h)
	if r.Status != http.StatusOK || r.Body != challenge {
		t.Fatalf("url_verification: got %d %q, want 200 %q", r.Status, r.Body, challenge)
	}
	if r.Latency > httpAckBudget {
		t.Errorf("url_verification answered after %s", r.Latency)
	}

	// Slack's certificate check of the slash command URL: 200, no command.
	sslCheck := "ssl_check=1&token=" + b.fake.VerificationToken()
	h = slackfake.Sign(httpSigningSecret, time.Now(), sslCheck)
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	b.httpAcked("the ssl_check", b.httpPost("/slack/commands", sslCheck, h))
	// A command after it is answered, and is the only thing that ran.
	b.httpSlash(viewer, "audit")
	m := b.httpWaitMessage("the audit reply", nil, "Audit log")
	if !strings.Contains(m.Text+string(m.Blocks), "last 0 entries") {
		t.Errorf("the ssl_check or url_verification ran a command:\n%s", prettyBlocks(m.Blocks))
	}
	if calls := b.fake.Calls("chat.postEphemeral"); len(calls) > 0 {
		t.Errorf("the bot answered the ssl_check: %v", calls)
	}
}

func TestSlackHTTPConfirmedRestartDoubleClickAndCancel(t *testing.T) {
	stack := testenv.Require(t)
	b := httpBot(t, stack, "")
	seen := map[string]bool{}

	// Confirm: the database really restarts, once, even when clicked twice.
	b.httpSlash(operator, "restart db")
	pending := b.httpWaitMessage("the confirmation message", seen, "mf_confirm", "mf_cancel")
	seen[pending.TS] = true
	before := httpStartedAt(t, "remote_db_1")
	// Both clicks leave the browser before the message changes, as in a
	// real double click: each carries the message with its buttons.
	first := b.httpClick(pending.TS, "mf_confirm", operator)
	second := b.httpClick(pending.TS, "mf_confirm", operator)
	b.httpSendClick("the first click on Confirm", first)
	b.httpSendClick("the second click on Confirm", second)
	waitFor(t, b.fake, "the confirmation message updated with the outcome", func(s *slackfake.Server) bool {
		m, _ := s.Message(channel, pending.TS)
		return strings.Contains(m.Text+string(m.Blocks), "db restarted")
	})
	done, _ := b.fake.Message(channel, pending.TS)
	if !httpMentions(done.Blocks, "confirmed by", operator) {
		t.Errorf("the outcome does not say who confirmed:\n%s", prettyBlocks(done.Blocks))
	}
	if strings.Contains(string(done.Blocks), "mf_confirm") {
		t.Errorf("the outcome still offers Confirm:\n%s", prettyBlocks(done.Blocks))
	}
	afterConfirm := httpStartedAt(t, "remote_db_1")
	if afterConfirm == before {
		t.Fatalf("remote_db_1 was not restarted (StartedAt still %s)", before)
	}
	waitFor(t, b.fake, "the double click answered ephemerally", func(s *slackfake.Server) bool {
		for _, e := range s.Ephemerals(channel) {
			if e.User == operator && strings.Contains(e.Text+string(e.Blocks), "Already confirmed") {
				return true
			}
		}
		return false
	})

	// Cancel on another confirmation: nothing restarts.
	b.httpSlash(operator, "restart db")
	other := b.httpWaitMessage("the second confirmation message", seen, "mf_confirm", "mf_cancel")
	seen[other.TS] = true
	b.httpSendClick("the click on Cancel", b.httpClick(other.TS, "mf_cancel", operator))
	waitFor(t, b.fake, "the confirmation message saying cancelled", func(s *slackfake.Server) bool {
		m, _ := s.Message(channel, other.TS)
		return strings.Contains(m.Text+string(m.Blocks), "Cancelled")
	})
	if m, _ := b.fake.Message(channel, other.TS); strings.Contains(string(m.Blocks), "mf_confirm") {
		t.Errorf("the cancelled message still offers Confirm:\n%s", prettyBlocks(m.Blocks))
	}

	// The audit log has the whole story, and the database restarted once.
	b.httpSlash(viewer, "audit")
	audit := b.httpWaitMessage("the audit reply", seen, "Audit log")
	all := audit.Text + string(audit.Blocks)
	for _, want := range []string{"confirm (local restart db)", "duplicate", "cancel (local restart db)", "cancelled"} {
		if !strings.Contains(all, want) {
			t.Errorf("the audit log lacks %q:\n%s", want, prettyBlocks(audit.Blocks))
		}
	}
	if now := httpStartedAt(t, "remote_db_1"); now != afterConfirm {
		t.Errorf("remote_db_1 restarted again (StartedAt %s, was %s after the confirmed restart)", now, afterConfirm)
	}
}

func TestSlackHTTPExpiredConfirmation(t *testing.T) {
	stack := testenv.Require(t)
	b := httpBot(t, stack, "  confirm_timeout: 2s\n")

	b.httpSlash(operator, "restart db")
	pending := b.httpWaitMessage("the confirmation message", nil, "mf_confirm", "mf_cancel")
	before := httpStartedAt(t, "remote_db_1")
	click := b.httpClick(pending.TS, "mf_confirm", operator)
	time.Sleep(2500 * time.Millisecond) // let the 2 s confirmation expire
	b.httpSendClick("the late click on Confirm", click)
	waitFor(t, b.fake, "the confirmation message saying expired", func(s *slackfake.Server) bool {
		m, _ := s.Message(channel, pending.TS)
		return strings.Contains(m.Text+string(m.Blocks), "Expired")
	})
	if m, _ := b.fake.Message(channel, pending.TS); strings.Contains(string(m.Blocks), "mf_confirm") {
		t.Errorf("the expired message still offers Confirm:\n%s", prettyBlocks(m.Blocks))
	}
	if now := httpStartedAt(t, "remote_db_1"); now != before {
		t.Errorf("remote_db_1 was restarted by an expired confirmation (StartedAt %s, was %s)", now, before)
	}
}

func TestSlackHTTPMentionInThreadOnce(t *testing.T) {
	stack := testenv.Require(t)
	b := httpBot(t, stack, "")

	// A bot reply about pipeline-server, then `@mfbot logs` in its thread.
	b.httpSlash(viewer, "inspect pipeline-server")
	root := b.httpWaitMessage("the inspect reply", nil, "Inspect pipeline-server")
	// The bot stores what its reply is about right after chat.postMessage
	// answers with the ts; a person cannot mention it faster than that, a
	// test can.
	if target := b.threadTarget(t, root.TS); target.Service != "pipeline-server" {
		t.Fatalf("the bot stored that %s is about %+v, want pipeline-server", root.TS, target)
	}
	body, h := b.fake.SignedEvent(httpSigningSecret, b.fake.AppMention(channel, root.TS, viewer, "logs"), time.Now())
	b.httpAcked("the app_mention", b.httpPost("/slack/events", body, h))
	// Slack retries an event it thinks was not acknowledged: same body (same
	// event_id), signed again, with X-Slack-Retry-Num.
	retry := slackfake.Sign(httpSigningSecret, time.Now(), body)
	retry.Set("Content-Type", "application/json")
	retry.Set("X-Slack-Retry-Num", "1")
	retry.Set("X-Slack-Retry-Reason", "http_timeout")
	b.httpAcked("the app_mention's retry", b.httpPost("/slack/events", body, retry))

	isLogsReply := func(m slackfake.Message) bool {
		return m.BotID != "" && m.TS != root.TS && strings.Contains(m.Text+string(m.Blocks), "Logs of pipeline-server")
	}
	waitFor(t, b.fake, "the logs of pipeline-server in the thread", func(s *slackfake.Server) bool {
		for _, m := range s.Thread(channel, root.TS) {
			if isLogsReply(m) {
				return true
			}
		}
		return false
	})
	// The retry would have been queued with the original: give it the time
	// a logs command takes, then count (posts to a channel are paced ~1 s apart).
	time.Sleep(2 * time.Second)
	var answers int
	for _, m := range b.fake.Messages(channel) {
		if isLogsReply(m) {
			answers++
			if m.ThreadTS != root.TS {
				t.Errorf("the logs reply %s is not in the thread of %s (thread_ts %q)", m.TS, root.TS, m.ThreadTS)
			}
		}
	}
	if answers != 1 {
		t.Errorf("the mention was answered %d times, want once", answers)
	}
}
