package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"mfbot/reply"
	"mfbot/testenv/slackfake"
)

func fakeClient(t *testing.T) (*slackfake.Server, *Client) {
	t.Helper()
	f := slackfake.New(slackfake.Options{})
	t.Cleanup(f.Close)
	return f, NewClient(f.BotToken(), f.APIURL(), ClientOptions{PerChannelInterval: -1, RetryBackoff: 10 * time.Millisecond})
}

func TestFindRootByMetadata(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	f, c := fakeClient(t)
	start := time.Now()

	root := textMessage("app is down")
	root.Metadata = IncidentMetadata(42)
	ts, err := c.Post(ctx, "C1", "", root)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := f.Message("C1", ts)
	var meta struct {
		EventType    string `json:"event_type"`
		EventPayload struct {
			IncidentID int64 `json:"incident_id"`
		} `json:"event_payload"`
	}
	if err := json.Unmarshal(m.Metadata, &meta); err != nil || meta.EventType != IncidentEventType || meta.EventPayload.IncidentID != 42 {
		t.Fatalf("metadata posted: %s (%v)", m.Metadata, err)
	}
	// Another incident's root, replies, and enough chatter to need pages.
	other := textMessage("db is down")
	other.Metadata = IncidentMetadata(43)
	if _, err := c.Post(ctx, "C1", "", other); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Post(ctx, "C1", ts, textMessage("log lines")); err != nil {
		t.Fatal(err)
	}
	for i := range 2*findRootPageSize + 10 {
		f.PostUserMessage("C1", "", "U1", fmt.Sprintf("chatter %d", i))
	}

	if got, found, err := c.FindRoot(ctx, "C1", 42, start.Add(-time.Minute)); err != nil || !found || got != ts {
		t.Fatalf("FindRoot(42) = %q, %v, %v; want %q", got, found, err, ts)
	}
	if _, found, err := c.FindRoot(ctx, "C1", 44, start.Add(-time.Minute)); err != nil || found {
		t.Fatalf("FindRoot of an incident never posted: found %v, %v", found, err)
	}
	if _, found, err := c.FindRoot(ctx, "C1", 42, time.Now().Add(time.Second)); err != nil || found {
		t.Fatalf("FindRoot since after the post: found %v, %v", found, err)
	}
	if _, found, err := c.FindRoot(ctx, "C2", 42, start.Add(-time.Minute)); err != nil || found {
		t.Fatalf("FindRoot in another channel: found %v, %v", found, err)
	}
	if n := len(f.Calls("conversations.history")); n < 3 {
		t.Errorf("%d conversations.history calls: the history was not paged", n)
	}

	// An update keeps the metadata; so does the text-only fallback.
	upd := textMessage("app recovered")
	upd.Metadata = IncidentMetadata(42)
	f.FailNext("chat.update", "invalid_blocks")
	if err := c.Update(ctx, "C1", ts, upd); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.Message("C1", ts); json.Unmarshal(m.Metadata, &meta) != nil || meta.EventPayload.IncidentID != 42 || len(m.Revisions) != 2 {
		t.Fatalf("after a text-only update: %s, %d revisions", m.Metadata, len(m.Revisions))
	}
	if got, found, err := c.FindRoot(ctx, "C1", 42, start); err != nil || !found || got != ts {
		t.Fatalf("FindRoot after the update = %q, %v, %v", got, found, err)
	}
}

func TestFindRootWaitsForSlack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	f, c := fakeClient(t)
	root := textMessage("app is down")
	root.Metadata = IncidentMetadata(1)
	ts, err := c.Post(ctx, "C1", "", root)
	if err != nil {
		t.Fatal(err)
	}
	f.RateLimit("conversations.history", 1, time.Second)
	if got, found, err := c.FindRoot(ctx, "C1", 1, time.Now().Add(-time.Minute)); err != nil || !found || got != ts {
		t.Fatalf("FindRoot through a 429 = %q, %v, %v", got, found, err)
	}
	f.FailNext("conversations.history", "missing_scope")
	_, _, err = c.FindRoot(ctx, "C1", 1, time.Now().Add(-time.Minute))
	if ErrorCode(err) != "missing_scope" || IsRetryable(err) {
		t.Fatalf("missing scope: %v (code %q, retryable %v)", err, ErrorCode(err), IsRetryable(err))
	}
}

func TestPayloadID(t *testing.T) {
	for _, c := range []struct {
		v    any
		want int64
	}{{float64(7), 7}, {json.Number("8"), 8}, {"9", 9}, {1.5, -1}, {nil, -1}, {"x", -1}} {
		if got := payloadID(c.v); got != c.want {
			t.Errorf("payloadID(%#v) = %d, want %d", c.v, got, c.want)
		}
	}
}

func TestRenderWithEmoji(t *testing.T) {
	rep := reply.Reply{Status: reply.StatusFailed, Title: "app in prod: crash-looping", Target: &reply.Target{Env: "prod", Service: "app"}}
	m := RenderWithEmoji(rep, "🔁")
	if m.Text != "🔁 app in prod: crash-looping" || m.Metadata != nil {
		t.Errorf("text %q, metadata %v", m.Text, m.Metadata)
	}
	head, ok := m.Blocks[0].(*slack.SectionBlock)
	if !ok || head.Text.Text != "🔁 *app in prod: crash-looping*" {
		t.Errorf("head %+v", m.Blocks[0])
	}
	if plain := Render(rep); plain.Text != "❌ app in prod: crash-looping" {
		t.Errorf("Render keeps the status emoji: %q", plain.Text)
	}
}
