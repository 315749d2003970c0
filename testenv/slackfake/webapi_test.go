package slackfake

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func newFake(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	f := New(opts)
	t.Cleanup(f.Close)
	return f
}

func client(f *Server, opts ...slack.Option) *slack.Client {
	return slack.New(f.BotToken(), append([]slack.Option{
		slack.OptionAPIURL(f.APIURL()), slack.OptionAppLevelToken(f.AppToken()),
	}, opts...)...)
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func slackErr(t *testing.T, err error) slack.SlackErrorResponse {
	t.Helper()
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) {
		t.Fatalf("want a slack.SlackErrorResponse, got %T %v", err, err)
	}
	return se
}

func alertBlocks() []slack.Block {
	return []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*backend* is down", false, false), nil, nil),
		slack.NewActionBlock("alert-actions",
			slack.NewButtonBlockElement("restart", "svc-backend", slack.NewTextBlockObject(slack.PlainTextType, "Restart", false, false)),
			slack.NewButtonBlockElement("logs", "svc-backend", slack.NewTextBlockObject(slack.PlainTextType, "Logs", false, false)),
		),
	}
}

func TestMessagesThroughSlackGo(t *testing.T) {
	f := newFake(t, Options{})
	api := client(f)
	ctx := testCtx(t)

	auth, err := api.AuthTestContext(ctx)
	if err != nil || auth.UserID != f.BotUserID() || auth.TeamID != f.TeamID() {
		t.Fatalf("auth.test: %+v %v", auth, err)
	}

	ch, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("backend is down", false), slack.MsgOptionBlocks(alertBlocks()...))
	if err != nil || ch != "C1" {
		t.Fatalf("postMessage: %q %q %v", ch, ts, err)
	}
	// Timestamps are the time of posting, in µs, as on Slack.
	if us, ok := parseTS(ts, 0); !ok || len(ts) != 17 || time.Since(time.UnixMicro(us)).Abs() > time.Minute {
		t.Fatalf("ts %q is not the time of posting", ts)
	}
	_, reply, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("details", false), slack.MsgOptionTS(ts), slack.MsgOptionBroadcast())
	if err != nil || reply <= ts {
		t.Fatalf("reply: %q %v", reply, err)
	}
	// A reply to a reply lands in the root's thread, as on Slack.
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("more", false), slack.MsgOptionTS(reply)); err != nil {
		t.Fatal(err)
	}
	thread := f.Thread("C1", ts)
	if len(thread) != 3 || thread[0].TS != ts || thread[1].ThreadTS != ts || thread[2].ThreadTS != ts || !thread[1].ReplyBroadcast {
		t.Fatalf("thread: %+v", thread)
	}
	var blocks []map[string]any
	if err := json.Unmarshal(thread[0].Blocks, &blocks); err != nil || len(blocks) != 2 || thread[0].User != f.BotUserID() {
		t.Fatalf("stored blocks %s: %v", thread[0].Blocks, err)
	}

	msgs, _, _, err := api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: "C1", Timestamp: reply})
	if err != nil || len(msgs) != 3 || msgs[0].Timestamp != ts || msgs[0].ReplyCount != 2 || len(msgs[0].Blocks.BlockSet) != 2 {
		t.Fatalf("conversations.replies: %+v %v", msgs, err)
	}

	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("backend is back", false), slack.MsgOptionBlocks()); err != nil {
		t.Fatal(err)
	}
	m, _ := f.Message("C1", ts)
	if m.Text != "backend is back" || len(m.Blocks) != 0 || len(m.Revisions) != 2 || m.Revisions[0].Text != "backend is down" {
		t.Fatalf("after update: %+v", m)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", "1.2", slack.MsgOptionText("x", false)); slackErr(t, err).Err != "message_not_found" {
		t.Fatalf("update of a missing message: %v", err)
	}

	ets, err := api.PostEphemeralContext(ctx, "C1", "U1", slack.MsgOptionText("only you", false), slack.MsgOptionTS(ts))
	if err != nil || ets == "" {
		t.Fatalf("postEphemeral: %q %v", ets, err)
	}
	if e := f.Ephemerals("C1"); len(e) != 1 || e[0].User != "U1" || e[0].Text != "only you" || e[0].ThreadTS != ts || e[0].TS != ets {
		t.Fatalf("ephemerals: %+v", e)
	}

	ref := slack.NewRefToMessage("C1", ts)
	if err := api.AddReactionContext(ctx, "white_check_mark", ref); err != nil {
		t.Fatal(err)
	}
	if err := api.AddReactionContext(ctx, "white_check_mark", ref); slackErr(t, err).Err != "already_reacted" {
		t.Fatalf("second reaction: %v", err)
	}
	if m, _ := f.Message("C1", ts); len(m.Reactions) != 1 || m.Reactions[0].Name != "white_check_mark" {
		t.Fatalf("reactions: %+v", m.Reactions)
	}
	if err := api.RemoveReactionContext(ctx, "white_check_mark", ref); err != nil {
		t.Fatal(err)
	}
	if err := api.RemoveReactionContext(ctx, "white_check_mark", ref); slackErr(t, err).Err != "no_reaction" {
		t.Fatalf("removing a missing reaction: %v", err)
	}

	if _, _, err := api.DeleteMessageContext(ctx, "C1", thread[2].TS); err != nil {
		t.Fatal(err)
	}
	if len(f.Thread("C1", ts)) != 2 || len(f.AllMessages("C1")) != 3 {
		t.Fatalf("after delete: %+v", f.AllMessages("C1"))
	}

	f.SetUsergroup("S1", "U1", "U2")
	users, err := api.GetUserGroupMembersContext(ctx, "S1")
	if err != nil || strings.Join(users, ",") != "U1,U2" {
		t.Fatalf("usergroups.users.list: %v %v", users, err)
	}
	if _, err := api.GetUserGroupMembersContext(ctx, "S404"); slackErr(t, err).Err != "no_such_subteam" {
		t.Fatalf("unknown usergroup: %v", err)
	}
	f.SetUser(User{ID: "U1", Name: "alice", RealName: "Alice"})
	if u, err := api.GetUserInfoContext(ctx, "U1"); err != nil || u.Name != "alice" || u.RealName != "Alice" {
		t.Fatalf("users.info: %+v %v", u, err)
	}
	link, err := api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: "C1", Ts: ts})
	if err != nil || !strings.Contains(link, "/archives/C1/p"+strings.ReplaceAll(ts, ".", "")) {
		t.Fatalf("permalink %q: %v", link, err)
	}

	// Every call is recorded with its parsed parameters.
	calls := f.Calls("chat.postMessage")
	if len(calls) != 3 || calls[0].Params.Get("channel") != "C1" || calls[0].Token != f.BotToken() ||
		!strings.Contains(calls[0].Params.Get("blocks"), `"action_id":"restart"`) || calls[1].Params.Get("reply_broadcast") != "true" {
		t.Fatalf("recorded calls: %+v", calls)
	}
}

func TestAuthAndUnknownMethods(t *testing.T) {
	f := newFake(t, Options{})
	ctx := testCtx(t)

	bad := slack.New("xoxb-wrong", slack.OptionAPIURL(f.APIURL()))
	if _, err := bad.AuthTestContext(ctx); slackErr(t, err).Err != "invalid_auth" {
		t.Fatalf("wrong token: %v", err)
	}
	appAsBot := slack.New(f.AppToken(), slack.OptionAPIURL(f.APIURL()))
	if _, _, err := appAsBot.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false)); slackErr(t, err).Err != "not_allowed_token_type" {
		t.Fatalf("app token on chat.postMessage: %v", err)
	}
	botOnly := slack.New(f.BotToken(), slack.OptionAPIURL(f.APIURL()))
	if _, _, err := botOnly.StartSocketModeContext(ctx); slackErr(t, err).Err != "not_authed" {
		t.Fatalf("apps.connections.open without app token: %v", err)
	}
	if _, err := client(f).GetTeamInfoContext(ctx); slackErr(t, err).Err != "unknown_method" {
		t.Fatalf("team.info: %v", err)
	}
	if c := f.Calls("auth.test"); len(c) != 1 || c[0].Error != "invalid_auth" || c[0].OK() {
		t.Fatalf("recorded: %+v", c)
	}

	// JSON bodies with a bearer token work too, as on Slack.
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.APIURL()+"chat.postMessage",
		strings.NewReader(`{"channel":"C2","text":"json","reply_broadcast":false}`))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+f.BotToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		OK bool   `json:"ok"`
		TS string `json:"ts"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if !out.OK || len(f.Messages("C2")) != 1 || f.Calls("chat.postMessage")[1].Params.Get("reply_broadcast") != "false" {
		t.Fatalf("JSON post: %+v %+v", out, f.Messages("C2"))
	}
}

func TestUploadFileV2(t *testing.T) {
	f := newFake(t, Options{})
	api := client(f)
	ctx := testCtx(t)
	_, root, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("alert", false))
	if err != nil {
		t.Fatal(err)
	}
	content := strings.Repeat("log line\n", 5000)
	sum, err := api.UploadFileContext(ctx, slack.UploadFileParameters{
		Content: content, FileSize: len(content), Filename: "backend.log", Title: "backend logs",
		Channel: "C1", ThreadTimestamp: root, InitialComment: "logs around the failure",
	})
	if err != nil {
		t.Fatal(err)
	}
	files := f.Files()
	if len(files) != 1 || files[0].ID != sum.ID || string(files[0].Content) != content || files[0].Name != "backend.log" ||
		files[0].Title != "backend logs" || files[0].Channel != "C1" || files[0].ThreadTS != root || !files[0].Completed ||
		files[0].Length != len(content) || files[0].InitialComment != "logs around the failure" {
		t.Fatalf("files: %+v", files)
	}
	thread := f.Thread("C1", root)
	if len(thread) != 2 || len(thread[1].Files) != 1 || thread[1].Files[0] != sum.ID || thread[1].Text != "logs around the failure" {
		t.Fatalf("thread: %+v", thread)
	}
	if up := f.Calls(UploadMethod); len(up) != 1 || !up[0].OK() || !strings.HasPrefix(up[0].ContentType, "multipart/form-data") {
		t.Fatalf("upload calls: %+v", up)
	}

	// The same flow from an io.Reader, in a channel, no thread.
	if _, err := api.UploadFileContext(ctx, slack.UploadFileParameters{
		Reader: strings.NewReader("abc"), FileSize: 3, Filename: "a.txt", Channel: "C2",
	}); err != nil {
		t.Fatal(err)
	}
	if files := f.Files(); len(files) != 2 || string(files[1].Content) != "abc" || files[1].Title != "a.txt" || files[1].ThreadTS != "" {
		t.Fatalf("files: %+v", files)
	}
	// Completing an upload that never got its content fails.
	u, err := api.GetUploadURLExternalContext(ctx, slack.GetUploadURLExternalParameters{FileName: "x", FileSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{Files: []slack.FileSummary{{ID: u.FileID}}, Channel: "C1"}); slackErr(t, err).Err != "file_not_found" {
		t.Fatalf("complete without upload: %v", err)
	}
}

func TestBlockValidation(t *testing.T) {
	f := newFake(t, Options{})
	api := client(f)
	ctx := testCtx(t)
	text := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
	}
	section := func(s string) slack.Block {
		return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, s, false, false), nil, nil)
	}
	button := func(label, value string) slack.BlockElement {
		return slack.NewButtonBlockElement("act", value, text(label))
	}
	many := func(n int) []slack.Block {
		var bs []slack.Block
		for range n {
			bs = append(bs, section("x"))
		}
		return bs
	}
	var buttons []slack.BlockElement
	for i := range 26 {
		buttons = append(buttons, slack.NewButtonBlockElement("b"+strings.Repeat("x", i), "v", text("b")))
	}

	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionBlocks(many(50)...)); err != nil {
		t.Fatalf("50 blocks must pass: %v", err)
	}
	cases := []struct {
		name    string
		opts    []slack.MsgOption
		code    string
		message string
	}{
		{"51 blocks", []slack.MsgOption{slack.MsgOptionBlocks(many(51)...)}, "invalid_blocks", "no more than 50 items allowed [json-pointer:/blocks]"},
		{"section text", []slack.MsgOption{slack.MsgOptionBlocks(section(strings.Repeat("é", 3001)))}, "invalid_blocks", "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"},
		{"context text", []slack.MsgOption{slack.MsgOptionBlocks(slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, strings.Repeat("a", 3001), false, false)))}, "invalid_blocks", "[json-pointer:/blocks/0/elements/0/text]"},
		{"button text", []slack.MsgOption{slack.MsgOptionBlocks(slack.NewActionBlock("", button(strings.Repeat("a", 76), "v")))}, "invalid_blocks", "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]"},
		{"button value", []slack.MsgOption{slack.MsgOptionBlocks(slack.NewActionBlock("", button("ok", strings.Repeat("a", 2001))))}, "invalid_blocks", "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]"},
		{"26 actions", []slack.MsgOption{slack.MsgOptionBlocks(slack.NewActionBlock("", buttons...))}, "invalid_blocks", "no more than 25 items allowed [json-pointer:/blocks/0/elements]"},
		{"header", []slack.MsgOption{slack.MsgOptionBlocks(slack.NewHeaderBlock(text(strings.Repeat("h", 151))))}, "invalid_blocks", "must be less than 151 characters"},
		{"empty section", []slack.MsgOption{slack.MsgOptionBlocks(section(""))}, "invalid_blocks", "must be more than 0 characters"},
		{"text too long", []slack.MsgOption{slack.MsgOptionText(strings.Repeat("a", 40001), false)}, "msg_too_long", ""},
		{"nothing", nil, "no_text", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := api.PostMessageContext(ctx, "C1", c.opts...)
			se := slackErr(t, err)
			if se.Err != c.code {
				t.Fatalf("error %q, want %q", se.Err, c.code)
			}
			if c.message != "" && (len(se.ResponseMetadata.Messages) == 0 ||
				!strings.HasPrefix(se.ResponseMetadata.Messages[0], "[ERROR] ") || !strings.Contains(se.ResponseMetadata.Messages[0], c.message)) {
				t.Fatalf("messages %q, want one with %q", se.ResponseMetadata.Messages, c.message)
			}
		})
	}
	if n := len(f.Messages("C1")); n != 1 {
		t.Fatalf("%d messages stored, want only the valid one", n)
	}

	// Raw bodies: blocks that are not an array, and an unknown block type.
	post := func(blocks string) string {
		v := url.Values{"token": {f.BotToken()}, "channel": {"C1"}, "text": {"t"}, "blocks": {blocks}}
		resp, err := http.PostForm(f.APIURL()+"chat.postMessage", v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Error  string   `json:"error"`
			Errors []string `json:"errors"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return out.Error + " " + strings.Join(out.Errors, ";")
	}
	if got := post(`{"type":"section"}`); !strings.HasPrefix(got, "invalid_blocks_format") {
		t.Fatalf("object blocks: %q", got)
	}
	if got := post(`[{"type":"sparkles"}]`); !strings.Contains(got, "unsupported type: sparkles") {
		t.Fatalf("unknown type: %q", got)
	}
	if got := post(`[{"type":"section","text":{"type":"mrkdwn","text":"a"},"block_id":"x"},{"type":"divider","block_id":"x"}]`); !strings.Contains(got, "duplicate block_id") {
		t.Fatalf("duplicate block_id: %q", got)
	}
}

func TestRateLimitsFailuresAndOutage(t *testing.T) {
	f := newFake(t, Options{})
	api := client(f)
	ctx := testCtx(t)

	f.RateLimit("chat.postMessage", 1, 1500*time.Millisecond)
	_, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Fatalf("want *slack.RateLimitedError with RetryAfter 2s (1.5s rounded up), got %T %v", err, err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false)); err != nil {
		t.Fatalf("after the rate limit: %v", err)
	}
	calls := f.Calls("chat.postMessage")
	if len(calls) != 2 || calls[0].HTTPStatus != http.StatusTooManyRequests || calls[0].Error != "ratelimited" ||
		calls[0].RetryAfter != 1500*time.Millisecond || !calls[1].OK() {
		t.Fatalf("calls: %+v", calls)
	}

	// slack-go's opt-in retry honours Retry-After (no jitter in this config).
	retrying := client(f, slack.OptionRetryConfig(slack.RetryConfig{MaxRetries: 2}))
	f.RateLimit("reactions.add", 1, time.Second)
	_, ts, _ := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("y", false))
	if err := retrying.AddReactionContext(ctx, "eyes", slack.NewRefToMessage("C1", ts)); err != nil {
		t.Fatal(err)
	}
	if rc := f.Calls("reactions.add"); len(rc) != 2 || rc[1].Time.Sub(rc[0].Time) < time.Second {
		t.Fatalf("retry came too early: %+v", rc)
	}

	f.FailNext("chat.postMessage", "channel_not_found")
	f.FailNext("chat.postMessage", "token_revoked")
	for _, want := range []string{"channel_not_found", "token_revoked"} {
		if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false)); slackErr(t, err).Err != want {
			t.Fatalf("FailNext: %v, want %s", err, want)
		}
	}

	f.SetDown(true)
	_, _, err = api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false))
	var sc slack.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != http.StatusServiceUnavailable || !sc.Retryable() {
		t.Fatalf("outage: %T %v", err, err)
	}
	if _, _, err := api.StartSocketModeContext(ctx); !errors.As(err, &sc) {
		t.Fatalf("apps.connections.open during outage: %v", err)
	}
	f.SetDown(false)
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false)); err != nil {
		t.Fatal(err)
	}
	down := 0
	for _, c := range f.Calls("") {
		if c.HTTPStatus == http.StatusServiceUnavailable {
			down++
		}
	}
	if down != 2 {
		t.Fatalf("%d calls recorded as 503, want 2", down)
	}
}

func TestWaitFor(t *testing.T) {
	f := newFake(t, Options{})
	ctx := testCtx(t)
	go func() {
		_, _, _ = client(f).PostMessageContext(ctx, "C9", slack.MsgOptionText("later", false))
	}()
	if err := f.WaitFor(ctx, func(s *Server) bool { return len(s.Messages("C9")) == 1 }); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := f.WaitFor(short, func(*Server) bool { return false }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitFor on a condition never met: %v", err)
	}
}

func TestMetadataAndHistoryPages(t *testing.T) {
	f := newFake(t, Options{})
	api := client(f)
	ctx := testCtx(t)

	meta := slack.SlackMetadata{EventType: "mfbot_incident", EventPayload: map[string]any{"incident_id": 7}}
	_, root, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("app is down", false), slack.MsgOptionMetadata(meta))
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := f.Message("C1", root); string(m.Metadata) != `{"event_type":"mfbot_incident","event_payload":{"incident_id":7}}` {
		t.Fatalf("stored metadata %s", m.Metadata)
	}
	// An update without metadata keeps it.
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", root, slack.MsgOptionText("app recovered", false)); err != nil {
		t.Fatal(err)
	}
	var tss []string
	for i := range 5 {
		_, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("other "+string(rune('a'+i)), false))
		if err != nil {
			t.Fatal(err)
		}
		tss = append(tss, ts)
	}
	// A reply is not in the history.
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("log lines", false), slack.MsgOptionTS(root)); err != nil {
		t.Fatal(err)
	}

	// Metadata only with include_all_metadata.
	h, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: "C1"})
	if err != nil || len(h.Messages) != 6 || h.HasMore {
		t.Fatalf("history: %+v %v", h, err)
	}
	if last := h.Messages[5]; last.Timestamp != root || last.Metadata.EventType != "" || last.Text != "app recovered" {
		t.Fatalf("oldest message without include_all_metadata: %+v", last)
	}
	h, _ = api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: "C1", IncludeAllMetadata: true})
	if m := h.Messages[5].Metadata; m.EventType != "mfbot_incident" || m.EventPayload["incident_id"] != float64(7) {
		t.Fatalf("metadata: %+v", m)
	}

	// Pages of 2, newest first, from oldest (exclusive) on.
	var seen []string
	params := &slack.GetConversationHistoryParameters{ChannelID: "C1", Oldest: root, Limit: 2}
	for pages := 0; ; pages++ {
		h, err := api.GetConversationHistoryContext(ctx, params)
		if err != nil || pages > 5 {
			t.Fatalf("page %d: %v", pages, err)
		}
		for _, m := range h.Messages {
			seen = append(seen, m.Timestamp)
		}
		if !h.HasMore {
			break
		}
		params.Cursor = h.ResponseMetaData.NextCursor
	}
	want := []string{tss[4], tss[3], tss[2], tss[1], tss[0]}
	if strings.Join(seen, " ") != strings.Join(want, " ") {
		t.Fatalf("pages: %v, want %v", seen, want)
	}
	// latest and inclusive bound the other end.
	h, _ = api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: "C1", Latest: tss[1], Oldest: root, Inclusive: true})
	if len(h.Messages) != 3 || h.Messages[0].Timestamp != tss[1] || h.Messages[2].Timestamp != root {
		t.Fatalf("inclusive window: %+v", h.Messages)
	}
	// A time as oldest: nothing was posted after now.
	h, _ = api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: "C1",
		Oldest: strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10)})
	if len(h.Messages) != 0 {
		t.Fatalf("messages after now: %+v", h.Messages)
	}

	// Malformed metadata is refused, as by Slack.
	call := func(params url.Values) string {
		params.Set("token", f.BotToken())
		resp, err := http.PostForm(f.APIURL()+"chat.postMessage", params)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return out.Error
	}
	if e := call(url.Values{"channel": {"C1"}, "text": {"x"}, "metadata": {"{"}}); e != "invalid_metadata_format" {
		t.Errorf("bad JSON metadata: %q", e)
	}
	if e := call(url.Values{"channel": {"C1"}, "text": {"x"}, "metadata": {`{"event_payload":{}}`}}); e != "invalid_metadata_schema" {
		t.Errorf("metadata without event_type: %q", e)
	}
}

// A held answer: the message is posted at once, the caller learns it
// only after the hold; the next call is answered at once.
func TestHoldNextAnswer(t *testing.T) {
	f := newFake(t, Options{})
	ctx := testCtx(t)
	f.HoldNextAnswer("chat.postMessage", 300*time.Millisecond)
	posted := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		_, _, err := client(f).PostMessageContext(ctx, "C1", slack.MsgOptionText("held", false))
		if err != nil {
			t.Error(err)
		}
		posted <- time.Since(start)
	}()
	if err := f.WaitFor(ctx, func(s *Server) bool { return len(s.Messages("C1")) == 1 }); err != nil {
		t.Fatal(err)
	}
	if in := time.Since(start); in >= 300*time.Millisecond {
		t.Errorf("the message appeared after %s, want at once", in)
	}
	if took := <-posted; took < 300*time.Millisecond {
		t.Errorf("the answer came after %s, want the hold (300ms)", took)
	}
	start = time.Now()
	if _, _, err := client(f).PostMessageContext(ctx, "C1", slack.MsgOptionText("not held", false)); err != nil || time.Since(start) > 200*time.Millisecond {
		t.Errorf("the next call: %v after %s, want an answer at once", err, time.Since(start))
	}
}
