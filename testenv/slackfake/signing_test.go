package slackfake

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

const secret = "8f742231b10e8888abcd99yyyzzz85a5"

func verify(headers http.Header, secret, body string) error {
	sv, err := slack.NewSecretsVerifier(headers, secret)
	if err != nil {
		return err
	}
	if _, err := sv.Write([]byte(body)); err != nil {
		return err
	}
	return sv.Ensure()
}

func request(body string, headers http.Header) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/slack/x", strings.NewReader(body))
	r.Header = headers.Clone()
	return r
}

func TestSignedSlashCommand(t *testing.T) {
	f := newFake(t, Options{})
	body, h := f.SignedSlashCommand(secret, SlashCommand{Command: "/mf", Text: "restart backend & co", UserID: "U1", ChannelID: "C1"}, time.Now())
	if err := verify(h, secret, body); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if h.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("content type %q", h.Get("Content-Type"))
	}
	cmd, err := slack.SlashCommandParse(request(body, h))
	if err != nil || cmd.Command != "/mf" || cmd.Text != "restart backend & co" || cmd.UserID != "U1" || cmd.ChannelID != "C1" ||
		cmd.Token != f.VerificationToken() || cmd.ResponseURL == "" || cmd.TriggerID == "" || cmd.APIAppID != f.AppID() {
		t.Fatalf("parsed: %+v %v", cmd, err)
	}
	if err := verify(h, "another secret", body); !errors.Is(err, slack.ErrInvalidSignature) {
		t.Fatalf("wrong secret: %v", err)
	}
	if err := verify(h, secret, body+"&text=forged"); !errors.Is(err, slack.ErrInvalidSignature) {
		t.Fatalf("tampered body: %v", err)
	}
	old, oh := f.SignedSlashCommand(secret, SlashCommand{Command: "/mf", UserID: "U1", ChannelID: "C1"}, time.Now().Add(-6*time.Minute))
	if err := verify(oh, secret, old); !errors.Is(err, slack.ErrExpiredTimestamp) {
		t.Fatalf("replay: %v", err)
	}
	// Sign reproduces the example of Slack's "Verifying requests" guide.
	body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	sig := Sign(secret, time.Unix(1531420618, 0), body)
	if sig.Get("X-Slack-Request-Timestamp") != "1531420618" || sig.Get("X-Slack-Signature") != "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503" {
		t.Fatalf("headers: %v", sig)
	}
}

func TestSignedInteractionAndEvents(t *testing.T) {
	f := newFake(t, Options{})
	ctx := testCtx(t)
	_, ts, err := client(f).PostMessageContext(ctx, "C1", slack.MsgOptionBlocks(alertBlocks()...))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := f.ButtonClick("C1", ts, "restart", "", "U1")
	if err != nil {
		t.Fatal(err)
	}
	body, h := f.SignedInteraction(secret, payload, time.Now())
	if err := verify(h, secret, body); err != nil {
		t.Fatal(err)
	}
	ic, err := slack.InteractionCallbackParse(request(body, h))
	if err != nil || ic.Type != slack.InteractionTypeBlockActions || ic.ActionCallback.BlockActions[0].Value != "svc-backend" || ic.Message.Timestamp != ts {
		t.Fatalf("interaction: %+v %v", ic, err)
	}

	body, h = f.SignedEvent(secret, f.AppMention("C1", ts, "U2", "logs"), time.Now())
	if err := verify(h, secret, body); err != nil || h.Get("Content-Type") != "application/json" {
		t.Fatalf("event signature: %v %v", err, h)
	}
	ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionVerifyToken(&slackevents.TokenComparator{VerificationToken: f.VerificationToken()}))
	if err != nil || ev.Type != slackevents.CallbackEvent || ev.TeamID != f.TeamID() {
		t.Fatalf("event: %+v %v", ev, err)
	}
	m, ok := ev.InnerEvent.Data.(*slackevents.AppMentionEvent)
	if !ok || m.ThreadTimeStamp != ts || m.Text != "<@"+f.BotUserID()+"> logs" {
		t.Fatalf("inner event: %+v", ev.InnerEvent.Data)
	}

	body, h = f.URLVerification(secret, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", time.Now())
	if err := verify(h, secret, body); err != nil {
		t.Fatal(err)
	}
	ev, err = slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil || ev.Type != slackevents.URLVerification || ev.Data.(*slackevents.EventsAPIURLVerificationEvent).Challenge == "" {
		t.Fatalf("url_verification: %+v %v", ev, err)
	}
}
