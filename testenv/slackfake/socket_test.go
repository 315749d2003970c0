package slackfake

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// testBot runs slack-go's Socket Mode client against the fake and acks every
// request, forwarding what it got to channels.
type testBot struct {
	api          *slack.Client
	sm           *socketmode.Client
	hellos       chan socketmode.Request
	commands     chan slack.SlashCommand
	interactions chan slack.InteractionCallback
	mentions     chan *slackevents.AppMentionEvent
	runErr       chan error
}

func startBot(t *testing.T, f *Server, appToken string, opts ...socketmode.Option) *testBot {
	t.Helper()
	api := slack.New(f.BotToken(), slack.OptionAPIURL(f.APIURL()), slack.OptionAppLevelToken(appToken))
	b := &testBot{
		api:          api,
		sm:           socketmode.New(api, opts...),
		hellos:       make(chan socketmode.Request, 10),
		commands:     make(chan slack.SlashCommand, 10),
		interactions: make(chan slack.InteractionCallback, 10),
		mentions:     make(chan *slackevents.AppMentionEvent, 10),
		runErr:       make(chan error, 1),
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { b.runErr <- b.sm.RunContext(ctx) })
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-b.sm.Events:
				b.handle(evt)
			}
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return b
}

func (b *testBot) handle(evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeHello:
		b.hellos <- *evt.Request
	case socketmode.EventTypeSlashCommand:
		cmd := evt.Data.(slack.SlashCommand)
		_ = b.sm.Ack(*evt.Request, map[string]any{"text": "working on " + cmd.Text})
		b.commands <- cmd
	case socketmode.EventTypeInteractive:
		_ = b.sm.Ack(*evt.Request)
		b.interactions <- evt.Data.(slack.InteractionCallback)
	case socketmode.EventTypeEventsAPI:
		_ = b.sm.Ack(*evt.Request)
		if m, ok := evt.Data.(slackevents.EventsAPIEvent).InnerEvent.Data.(*slackevents.AppMentionEvent); ok {
			b.mentions <- m
		}
	}
}

func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		var zero T
		t.Fatalf("nothing received on %T", ch)
		return zero
	}
}

func TestSocketModeWithSlackGo(t *testing.T) {
	f := newFake(t, Options{PingInterval: 200 * time.Millisecond})
	ctx := testCtx(t)
	if _, err := f.SendSlashCommand(ctx, SlashCommand{Command: "/mf", Text: "status"}); !errors.Is(err, ErrNoConnection) {
		t.Fatalf("envelope without a connection: %v", err)
	}
	bot := startBot(t, f, f.AppToken())

	hello := recv(t, bot.hellos)
	if hello.NumConnections != 1 || hello.ConnectionInfo.AppID != f.AppID() || hello.DebugInfo.Host == "" {
		t.Fatalf("hello: %+v", hello)
	}
	ack, err := f.SendSlashCommand(ctx, SlashCommand{Command: "/mf", Text: "status", UserID: "U1", ChannelID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	cmd := recv(t, bot.commands)
	if cmd.Command != "/mf" || cmd.Text != "status" || cmd.UserID != "U1" || cmd.ChannelID != "C1" || cmd.TeamID != f.TeamID() ||
		cmd.TriggerID == "" || cmd.ResponseURL != ack.ResponseURL || !strings.HasPrefix(cmd.ResponseURL, f.URL()+"/commands/") {
		t.Fatalf("command as the bot saw it: %+v (ack %+v)", cmd, ack)
	}
	if ack.ConnID != 1 || ack.Latency <= 0 || !strings.Contains(string(ack.Payload), "working on status") {
		t.Fatalf("ack: %+v", ack)
	}

	// The bot answers through the response URL: ephemeral, then in channel.
	if _, _, err := bot.api.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(cmd.ResponseURL, slack.ResponseTypeEphemeral), slack.MsgOptionText("all good", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := bot.api.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(cmd.ResponseURL, slack.ResponseTypeInChannel), slack.MsgOptionText("for everyone", false)); err != nil {
		t.Fatal(err)
	}
	if e := f.Ephemerals("C1"); len(e) != 1 || e[0].User != "U1" || e[0].Text != "all good" {
		t.Fatalf("ephemerals: %+v", e)
	}
	if m := f.Messages("C1"); len(m) != 1 || m[0].Text != "for everyone" || m[0].User != f.BotUserID() {
		t.Fatalf("messages: %+v", m)
	}
	if p := f.ResponsePosts(cmd.ResponseURL); len(p) != 2 || p[1].ResponseType != "in_channel" || p[1].HTTPStatus != http.StatusOK {
		t.Fatalf("response posts: %+v", p)
	}

	// Slack recycles the connection: slack-go reopens one by itself.
	f.Disconnect("refresh_requested")
	if err := f.WaitFor(ctx, func(s *Server) bool { return len(s.ConnectionLog()) == 2 && s.Connections() == 1 }); err != nil {
		t.Fatal(err)
	}
	recv(t, bot.hellos)
	if log := f.ConnectionLog(); log[0].CloseCause != "disconnect:refresh_requested" || log[0].Open || !log[1].Open {
		t.Fatalf("connection log: %+v", log)
	}
	ack2, err := f.SendSlashCommand(ctx, SlashCommand{Command: "/mf", Text: "logs backend", UserID: "U1", ChannelID: "C1"})
	if err != nil || ack2.ConnID != 2 || recv(t, bot.commands).Text != "logs backend" {
		t.Fatalf("after reconnect: %+v %v", ack2, err)
	}
	if n := len(f.Calls("apps.connections.open")); n != 2 {
		t.Fatalf("%d apps.connections.open calls, want 2", n)
	}

	// A network failure: slack-go notices and reconnects too.
	f.DropConnections()
	if err := f.WaitFor(ctx, func(s *Server) bool { return len(s.ConnectionLog()) == 3 && s.Connections() == 1 }); err != nil {
		t.Fatal(err)
	}
	recv(t, bot.hellos)

	// A button click on an alert, answered by replacing the alert.
	_, alertTS, err := bot.api.PostMessageContext(ctx, "C1", slack.MsgOptionText("backend is down", false), slack.MsgOptionBlocks(alertBlocks()...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ClickButton(ctx, "C1", alertTS, "nope", "", "U3"); err == nil {
		t.Fatal("clicking a button the message doesn't have must fail")
	}
	click, err := f.ClickButton(ctx, "C1", alertTS, "restart", "", "U3")
	if err != nil {
		t.Fatal(err)
	}
	ic := recv(t, bot.interactions)
	if ic.Type != slack.InteractionTypeBlockActions || len(ic.ActionCallback.BlockActions) != 1 || ic.User.ID != "U3" ||
		ic.Channel.ID != "C1" || ic.Container.MessageTs != alertTS || ic.Message.Timestamp != alertTS || ic.ResponseURL != click.ResponseURL {
		t.Fatalf("interaction: %+v", ic)
	}
	if a := ic.ActionCallback.BlockActions[0]; a.ActionID != "restart" || a.Value != "svc-backend" || a.BlockID != "alert-actions" || a.Type != "button" {
		t.Fatalf("action: %+v", a)
	}
	if len(ic.Message.Blocks.BlockSet) != 2 {
		t.Fatalf("the payload's message has %d blocks", len(ic.Message.Blocks.BlockSet))
	}
	if _, _, err := bot.api.PostMessageContext(ctx, "", slack.MsgOptionReplaceOriginal(ic.ResponseURL), slack.MsgOptionText("restarting backend", false)); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.Message("C1", alertTS); m.Text != "restarting backend" || len(m.Revisions) != 2 || m.Revisions[1].Via != ResponseURLMethod {
		t.Fatalf("alert after replace_original: %+v", m)
	}

	// A mention in the alert's thread.
	if _, err := f.Mention(ctx, "C1", alertTS, "U2", "logs"); err != nil {
		t.Fatal(err)
	}
	mention := recv(t, bot.mentions)
	if mention.Text != "<@"+f.BotUserID()+"> logs" || mention.ThreadTimeStamp != alertTS || mention.User != "U2" || mention.Channel != "C1" {
		t.Fatalf("mention: %+v", mention)
	}
	if th := f.Thread("C1", alertTS); len(th) != 2 || th[1].User != "U2" {
		t.Fatalf("thread: %+v", th)
	}

	for _, e := range f.Envelopes() {
		if e.Ack == nil {
			t.Fatalf("envelope not acked: %+v", e)
		}
	}
}

func TestResponseURLLimits(t *testing.T) {
	f := newFake(t, Options{})
	ctx := testCtx(t)
	body, _ := f.SignedSlashCommand("s", SlashCommand{Command: "/mf", Text: "x", UserID: "U1", ChannelID: "C1"}, time.Now())
	u := f.ResponseURLs()[0]
	if !strings.Contains(body, "response_url="+strings.ReplaceAll(strings.ReplaceAll(u, ":", "%3A"), "/", "%2F")) {
		t.Fatalf("body %q lacks response_url %q", body, u)
	}
	api := client(f)
	post := func(opts ...slack.MsgOption) error {
		_, _, err := api.PostMessageContext(ctx, "", append([]slack.MsgOption{slack.MsgOptionResponseURL(u, slack.ResponseTypeEphemeral)}, opts...)...)
		return err
	}
	var sc slack.StatusCodeError
	if err := post(slack.MsgOptionBlocks(slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, strings.Repeat("h", 151), false, false)))); !errors.As(err, &sc) || sc.Code != http.StatusBadRequest {
		t.Fatalf("invalid blocks: %v", err)
	}
	for i := range MaxResponseURLUses {
		if err := post(slack.MsgOptionText("update", false)); err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	if err := post(slack.MsgOptionText("one too many", false)); !errors.As(err, &sc) || sc.Code != http.StatusNotFound {
		t.Fatalf("6th post: %v", err)
	}
	p := f.ResponsePosts(u)
	if len(p) != 7 || p[0].Error != "invalid_blocks" || p[6].Error != "used_url" {
		t.Fatalf("posts: %+v", p)
	}
	// Without replace_original, each accepted post is a new ephemeral.
	if n := len(f.Ephemerals("C1")); n != MaxResponseURLUses {
		t.Fatalf("%d ephemerals", n)
	}
}

func TestSocketPingsAtInterval(t *testing.T) {
	const interval = 100 * time.Millisecond
	f := newFake(t, Options{PingInterval: interval})
	ctx := testCtx(t)
	_, wsURL, err := client(f).StartSocketModeContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pings := make(chan time.Time, 100)
	conn.SetPingHandler(func(data string) error {
		pings <- time.Now()
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	var hello struct {
		Type           string `json:"type"`
		NumConnections int    `json:"num_connections"`
		DebugInfo      struct {
			Host string `json:"host"`
		} `json:"debug_info"`
	}
	if err := conn.ReadJSON(&hello); err != nil || hello.Type != "hello" || hello.NumConnections != 1 || hello.DebugInfo.Host == "" {
		t.Fatalf("hello: %+v %v", hello, err)
	}
	go func() { // keep reading so that ping frames are handled
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	var times []time.Time
	for range 6 {
		times = append(times, recv(t, pings))
	}
	for i := 1; i < len(times); i++ {
		if d := times[i].Sub(times[i-1]); d < interval/2 || d > 4*interval {
			t.Fatalf("ping %d came %s after the previous one, want about %s", i, d, interval)
		}
	}
	if avg := times[len(times)-1].Sub(times[0]) / time.Duration(len(times)-1); avg < interval*8/10 || avg > interval*2 {
		t.Fatalf("average ping interval %s, want about %s", avg, interval)
	}
	if err := f.WaitFor(ctx, func(s *Server) bool { return len(s.ConnectionLog()[0].Pongs) >= 3 }); err != nil {
		t.Fatalf("pongs: %v", err)
	}

	// A ticket is good for one websocket only.
	if _, resp, err := websocket.DefaultDialer.DialContext(ctx, wsURL, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("reused ticket: %v", err)
	}
	// During an outage the endpoint refuses new websockets.
	_, wsURL2, err := client(f).StartSocketModeContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDown(true)
	if _, resp, err := websocket.DefaultDialer.DialContext(ctx, wsURL2, nil); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial during outage: %v", err)
	}
}

func TestSlackGoPingDeadline(t *testing.T) {
	// Pings more often than the client's deadline keep the connection up.
	f := newFake(t, Options{PingInterval: 50 * time.Millisecond})
	ctx := testCtx(t)
	startBot(t, f, f.AppToken(), socketmode.OptionPingInterval(250*time.Millisecond))
	if err := f.WaitFor(ctx, func(s *Server) bool { l := s.ConnectionLog(); return len(l) > 0 && len(l[0].Pings) >= 12 }); err != nil {
		t.Fatal(err)
	}
	if l := f.ConnectionLog(); len(l) != 1 || !l[0].Open {
		t.Fatalf("connection dropped although pinged: %+v", l)
	}

	// Without pings, slack-go gives the connection up and opens another.
	quiet := newFake(t, Options{PingInterval: time.Hour})
	startBot(t, quiet, quiet.AppToken(), socketmode.OptionPingInterval(200*time.Millisecond))
	if err := quiet.WaitFor(ctx, func(s *Server) bool { return len(s.ConnectionLog()) >= 2 }); err != nil {
		t.Fatal(err)
	}
	if l := quiet.ConnectionLog(); l[0].Open {
		t.Fatalf("first connection still open: %+v", l[0])
	}
}

func TestSocketModeInvalidAppToken(t *testing.T) {
	f := newFake(t, Options{})
	bot := startBot(t, f, "xapp-wrong")
	select {
	case err := <-bot.runErr:
		if err == nil || err.Error() != "invalid_auth" {
			t.Fatalf("RunContext: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("socketmode kept running with an invalid app token")
	}
}

func TestInteractionPayloadShape(t *testing.T) {
	f := newFake(t, Options{})
	ctx := testCtx(t)
	eph, err := client(f).PostEphemeralContext(ctx, "C1", "U1", slack.MsgOptionBlocks(alertBlocks()...))
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.ButtonClick("C1", eph, "logs", "svc-backend", "U1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	var ic slack.InteractionCallback
	if err := json.Unmarshal(b, &ic); err != nil {
		t.Fatal(err)
	}
	if !ic.Container.IsEphemeral || ic.Message.Timestamp != "" || len(ic.ActionCallback.BlockActions) != 1 || ic.ActionCallback.BlockActions[0].ActionID != "logs" {
		t.Fatalf("ephemeral click: %s", b)
	}
	// delete_original on an ephemeral's response URL removes it.
	if _, _, err := client(f).PostMessageContext(ctx, "", slack.MsgOptionDeleteOriginal(ic.ResponseURL)); err != nil {
		t.Fatal(err)
	}
	if e := f.Ephemerals("C1"); len(e) != 1 || !e[0].Deleted {
		t.Fatalf("ephemerals: %+v", e)
	}
}

// Two apps connected (two replicas): an envelope goes to the connection
// chosen, and its redelivery under the same ID to the other; each is
// acked on its own connection.
func TestSendInteractionViaAConnection(t *testing.T) {
	f := newFake(t, Options{})
	ctx := testCtx(t)
	a := startBot(t, f, f.AppToken())
	recv(t, a.hellos)
	b := startBot(t, f, f.AppToken())
	recv(t, b.hellos)
	conns := f.OpenConnections()
	if len(conns) != 2 {
		t.Fatalf("open connections %v, want 2", conns)
	}
	payload := map[string]any{"type": "block_actions", "user": map[string]any{"id": "U1"}, "actions": []any{}}
	first, err := f.SendInteractionVia(ctx, Delivery{ConnID: conns[0]}, payload)
	if err != nil {
		t.Fatal(err)
	}
	recv(t, a.interactions)
	again, err := f.SendInteractionVia(ctx, Delivery{ConnID: conns[1], EnvelopeID: first.EnvelopeID}, payload)
	if err != nil {
		t.Fatal(err)
	}
	recv(t, b.interactions)
	if first.ConnID != conns[0] || again.ConnID != conns[1] || again.EnvelopeID != first.EnvelopeID {
		t.Errorf("acks %+v and %+v, want the same envelope acked on each connection", first, again)
	}
	envs := f.Envelopes()
	if len(envs) != 2 || envs[0].ID != envs[1].ID || envs[0].ConnID != conns[0] || envs[1].ConnID != conns[1] ||
		envs[0].Ack == nil || envs[1].Ack == nil || envs[1].Ack.ConnID != conns[1] {
		t.Errorf("envelopes %+v", envs)
	}
	if _, err := f.SendInteractionVia(ctx, Delivery{ConnID: 99}, payload); err == nil {
		t.Error("an envelope was sent on a connection that is not open")
	}
}
