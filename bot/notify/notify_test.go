package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	slackapi "mfbot/adapters/slack"
	"mfbot/adapters/store"
	"mfbot/bot/notify"
	"mfbot/bot/watch"
	"mfbot/commands"
	"mfbot/incident"
	"mfbot/testenv/slackfake"
)

const alerts = "C0ALERTS"

var (
	appKey = incident.Key{Env: "prod", Source: "docker", Target: "app"}
	dbKey  = incident.Key{Env: "prod", Source: "docker", Target: "db"}
)

// harness: the real store on a file, the Slack fake, the real client.
type harness struct {
	t      *testing.T
	fake   *slackfake.Server
	path   string
	store  *store.Store
	client *slackapi.Client

	mu     sync.Mutex
	events []string
}

func newHarness(t *testing.T, clientOpts slackapi.ClientOptions) *harness {
	t.Helper()
	h := &harness{t: t, fake: slackfake.New(slackfake.Options{}), path: filepath.Join(t.TempDir(), "mfbot.db")}
	t.Cleanup(h.fake.Close)
	h.openStore()
	h.client = h.newClient(clientOpts)
	return h
}

func (h *harness) newClient(opts slackapi.ClientOptions) *slackapi.Client {
	if opts.PerChannelInterval == 0 {
		opts.PerChannelInterval = -1
	}
	if opts.RetryBackoff == 0 {
		opts.RetryBackoff = 20 * time.Millisecond
	}
	return slackapi.NewClient(h.fake.BotToken(), h.fake.APIURL(), opts)
}

// openStore opens the store file (again: a restarted process).
func (h *harness) openStore() {
	s, err := store.Open(context.Background(), h.path)
	if err != nil {
		h.t.Fatal(err)
	}
	h.store = s
	h.t.Cleanup(func() { _ = s.Close() })
}

func (h *harness) options(opts notify.Options) notify.Options {
	if opts.UpdateInterval == 0 {
		opts.UpdateInterval = 200 * time.Millisecond
	}
	if opts.Poll == 0 {
		opts.Poll = 100 * time.Millisecond
	}
	if opts.RetryBackoffMax == 0 {
		opts.RetryBackoff, opts.RetryBackoffMax = 50*time.Millisecond, 200*time.Millisecond
	}
	opts.Threads = h.store
	if opts.Presenters == nil {
		opts.Presenters = map[string]notify.Presenter{watch.SourceDocker: watch.DockerSource{}}
	}
	opts.Log = slog.New(slog.NewTextHandler(testWriter{h.t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.OnEvent = func(kind notify.EventKind, inc *incident.Incident) {
		h.mu.Lock()
		h.events = append(h.events, fmt.Sprintf("%s %s", kind, inc.Key.Target))
		h.mu.Unlock()
	}
	return opts
}

func (h *harness) eventList() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.events)
}

// run starts a notifier; stop cancels it and returns what Run returned.
func (h *harness) run(api notify.Slack, opts notify.Options) (*notify.Notifier, func() error) {
	n := notify.New(h.store, api, alerts, h.options(opts))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				err = errors.New("Run did not return")
			}
		})
		return err
	}
	h.t.Cleanup(func() { _ = stop() })
	return n, stop
}

func (h *harness) record(n *notify.Notifier, s incident.Signal) *incident.Incident {
	h.t.Helper()
	inc, _, err := incident.Record(context.Background(), h.store, incident.Rules{}, s)
	if err != nil {
		h.t.Fatal(err)
	}
	if n != nil {
		n.Kick()
	}
	return inc
}

func (h *harness) appendPost(n *notify.Notifier, inc *incident.Incident, p incident.ThreadPost) {
	h.t.Helper()
	if err := h.store.AppendThreadPost(context.Background(), inc.ID, p); err != nil {
		h.t.Fatal(err)
	}
	if n != nil {
		n.Kick()
	}
}

// waitFor waits for cond, checked at every change of the fake and every
// 20 ms (for conditions on the store or the events).
func (h *harness) waitFor(what string, timeout time.Duration, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		err := h.fake.WaitFor(ctx, func(*slackfake.Server) bool { return cond() })
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("waiting for %s: not after %v\nevents: %v", what, timeout, h.eventList())
		}
	}
}

// roots are the top-level messages of the alert channel.
func (h *harness) roots() []slackfake.Message {
	var out []slackfake.Message
	for _, m := range h.fake.Messages(alerts) {
		if !m.IsReply() {
			out = append(out, m)
		}
	}
	return out
}

// replies are the thread's messages after the root.
func (h *harness) replies(root string) []slackfake.Message {
	th := h.fake.Thread(alerts, root)
	if len(th) == 0 {
		return nil
	}
	return th[1:]
}

func crashAt(key incident.Key, code int) incident.Signal {
	return incident.Signal{Key: key, Kind: incident.SignalCrashed, Time: time.Now().UTC(), ExitCode: code, HasHealthcheck: true}
}

func logsPost(lines string) incident.ThreadPost {
	return incident.ThreadPost{Kind: "logs", Title: "Last log lines before the failure", Code: lines}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// buttons returns the value (command line) of each button of a message.
func buttons(t *testing.T, m slackfake.Message) map[string]string {
	t.Helper()
	var blocks []struct {
		Type     string `json:"type"`
		Elements []struct {
			Type  string `json:"type"`
			Text  struct{ Text string }
			Value string `json:"value"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(m.Blocks, &blocks); err != nil {
		t.Fatalf("blocks: %v", err)
	}
	out := map[string]string{}
	for _, b := range blocks {
		for _, e := range b.Elements {
			if e.Type == "button" {
				out[e.Text.Text] = e.Value
			}
		}
	}
	return out
}

func metadataID(t *testing.T, m slackfake.Message) int64 {
	t.Helper()
	var meta struct {
		EventType    string `json:"event_type"`
		EventPayload struct {
			IncidentID int64 `json:"incident_id"`
		} `json:"event_payload"`
	}
	if err := json.Unmarshal(m.Metadata, &meta); err != nil || meta.EventType != slackapi.IncidentEventType {
		t.Fatalf("metadata %s: %v", m.Metadata, err)
	}
	return meta.EventPayload.IncidentID
}

func TestOpenPostsOneRootThenItsThreadInOrder(t *testing.T) {
	h := newHarness(t, slackapi.ClientOptions{})
	n, _ := h.run(h.client, notify.Options{})

	inc := h.record(n, crashAt(appKey, 1))
	h.appendPost(n, inc, logsPost("line 1\nline 2 <b>\nline 50"))
	h.waitFor("the root and the logs", 5*time.Second, func() bool {
		r := h.roots()
		return len(r) == 1 && len(h.replies(r[0].TS)) == 1
	})
	root := h.roots()[0]
	for _, want := range []string{"app in prod: exited with code 1", "*Service*\\napp", "*Environment*\\nprod",
		"*State*\\n🔴 open", "*Exit code*\\n1", "*OOM-killed*\\nno", "*Failures*\\n1", "*First seen*", "*Last seen*"} {
		if !strings.Contains(string(root.Blocks), want) {
			t.Errorf("root lacks %q:\n%s", want, root.Blocks)
		}
	}
	if !strings.HasPrefix(root.Text, "🔴 app in prod") {
		t.Errorf("root text %q", root.Text)
	}
	wantButtons := map[string]string{"Logs": "prod logs app --tail 200", "Restart": "prod restart app", "Mute 1h": "prod mute app 1h"}
	if got := buttons(t, root); fmt.Sprint(got) != fmt.Sprint(wantButtons) {
		t.Errorf("buttons %v, want %v", got, wantButtons)
	}
	for _, line := range wantButtons {
		if _, err := commands.Tokenize(line); err != nil {
			t.Errorf("button command %q does not parse: %v", line, err)
		}
	}
	if id := metadataID(t, root); id != inc.ID {
		t.Errorf("root metadata incident %d, want %d", id, inc.ID)
	}
	logs := h.replies(root.TS)[0]
	if !strings.Contains(logs.Text, "Last log lines before the failure") || !strings.Contains(strings.ReplaceAll(string(logs.Blocks), `\u0026`, "&"), "line 2 &lt;b&gt;") {
		t.Errorf("logs post: %q %s", logs.Text, logs.Blocks)
	}
	if tgt, ok, err := h.store.ThreadTarget(context.Background(), alerts, root.TS); !ok || err != nil || tgt.Env != "prod" || tgt.Service != "app" || tgt.At.IsZero() {
		t.Errorf("thread target: %+v %v %v", tgt, ok, err)
	}

	// More thread posts, then a change: the posts in order, then the
	// update, then the timeline line.
	h.appendPost(n, inc, incident.ThreadPost{Kind: "note", Title: "second"})
	h.appendPost(n, inc, incident.ThreadPost{Kind: "note", Title: "third"})
	inc = h.record(n, crashAt(appKey, 2))
	h.waitFor("the update and the timeline", 5*time.Second, func() bool {
		m, _ := h.fake.Message(alerts, root.TS)
		return len(m.Revisions) == 2 && len(h.replies(root.TS)) == 4
	})
	var got []string
	for _, m := range h.replies(root.TS) {
		got = append(got, m.Text)
	}
	if !strings.Contains(got[1], "second") || !strings.Contains(got[2], "third") || !strings.Contains(got[3], "exited with code 2") {
		t.Errorf("thread: %q", got)
	}
	updated, _ := h.fake.Message(alerts, root.TS)
	if !strings.Contains(string(updated.Blocks), "*Failures*\\n2") || !strings.Contains(string(updated.Blocks), "*Exit code*\\n2") {
		t.Errorf("updated root: %s", updated.Blocks)
	}
	if len(h.roots()) != 1 || len(h.fake.Calls("chat.update")) != 1 {
		t.Errorf("%d roots, %d updates", len(h.roots()), len(h.fake.Calls("chat.update")))
	}
}

func TestRapidChangesAreCoalesced(t *testing.T) {
	h := newHarness(t, slackapi.ClientOptions{})
	interval := 200 * time.Millisecond
	n, _ := h.run(h.client, notify.Options{UpdateInterval: interval})
	h.record(n, crashAt(appKey, 1))
	h.waitFor("the root", 5*time.Second, func() bool { return len(h.roots()) == 1 })
	for i := range 5 {
		h.record(n, crashAt(appKey, 10+i))
		time.Sleep(20 * time.Millisecond)
	}
	root := h.roots()[0]
	h.waitFor("the final state", 5*time.Second, func() bool {
		m, _ := h.fake.Message(alerts, root.TS)
		return strings.Contains(string(m.Blocks), "*Failures*\\n6")
	})
	time.Sleep(3 * interval) // nothing more comes
	final, _ := h.fake.Message(alerts, root.TS)
	for _, want := range []string{"*Failures*\\n6", "*Exit code*\\n14", "🔁 crash-looping"} {
		if !strings.Contains(string(final.Blocks), want) {
			t.Errorf("final root lacks %q: %s", want, final.Blocks)
		}
	}
	posts, updates := h.fake.Calls("chat.postMessage"), h.fake.Calls("chat.update")
	if len(updates) == 0 || len(updates) > 3 {
		t.Fatalf("%d updates for 5 changes in 100 ms, want 1 to 3", len(updates))
	}
	last := posts[0].Time
	for i, u := range updates {
		if gap := u.Time.Sub(last); gap < interval {
			t.Errorf("update %d came %v after the previous post or update, want ≥ %v", i+1, gap, interval)
		}
		last = u.Time
	}
	// The timeline told everything once, in a few messages.
	var thread strings.Builder
	for _, m := range h.replies(root.TS) {
		thread.WriteString(string(m.Blocks) + m.Text)
	}
	for i := range 5 {
		if c := strings.Count(thread.String(), fmt.Sprintf("exited with code %d", 10+i)); c == 0 {
			t.Errorf("timeline entry %d missing from the thread", i)
		}
	}
	if r := len(h.replies(root.TS)); r > len(updates) {
		t.Errorf("%d timeline messages for %d updates: not coalesced", r, len(updates))
	}
}

// crashingSlack posts for real, then hangs until the process "dies": the
// notifier never learns the ts.
type crashingSlack struct {
	notify.Slack
	posted chan struct{}
}

func (c crashingSlack) Post(ctx context.Context, channel, thread string, m slackapi.Message) (string, error) {
	if _, err := c.Slack.Post(ctx, channel, thread, m); err != nil {
		return "", err
	}
	close(c.posted)
	<-ctx.Done()
	return "", ctx.Err()
}

func TestCrashBetweenPostAndSaveAdoptsTheRoot(t *testing.T) {
	h := newHarness(t, slackapi.ClientOptions{})
	ctx := context.Background()
	posted := make(chan struct{})
	_, kill := h.run(crashingSlack{Slack: h.client, posted: posted}, notify.Options{})
	inc := h.record(nil, crashAt(appKey, 1))
	<-posted
	if err := kill(); err != nil {
		t.Fatal(err)
	}
	if len(h.roots()) != 1 {
		t.Fatalf("%d roots before the restart", len(h.roots()))
	}
	before, _ := h.store.Notification(ctx, inc.ID)
	if before.RootTS != "" || before.PostingSince.IsZero() {
		t.Fatalf("state left by the crash: %+v", before)
	}

	// The incident moves on while the bot is down; then it restarts.
	h.record(nil, crashAt(appKey, 3))
	_ = h.store.Close()
	h.openStore()
	n, _ := h.run(h.newClient(slackapi.ClientOptions{}), notify.Options{})
	root := h.roots()[0]
	h.waitFor("the adopted root updated", 5*time.Second, func() bool {
		m, _ := h.fake.Message(alerts, root.TS)
		return len(m.Revisions) == 2
	})
	after, _ := h.store.Notification(ctx, inc.ID)
	if after.RootTS != root.TS || !after.PostingSince.IsZero() {
		t.Errorf("state after adoption: %+v", after)
	}
	if !slices.Contains(h.eventList(), "adopted app") || slices.Contains(h.eventList(), "posted app") {
		t.Errorf("events: %v", h.eventList())
	}
	if m, _ := h.fake.Message(alerts, root.TS); !strings.Contains(string(m.Blocks), "*Failures*\\n2") {
		t.Errorf("adopted root not brought up to date: %s", m.Blocks)
	}
	// Later changes land on the same message.
	h.record(n, crashAt(appKey, 4))
	h.waitFor("a later update", 5*time.Second, func() bool {
		m, _ := h.fake.Message(alerts, root.TS)
		return len(m.Revisions) == 3
	})
	if len(h.roots()) != 1 {
		t.Fatalf("%d roots after the restart, want 1", len(h.roots()))
	}
	if len(h.fake.Calls("conversations.history")) == 0 {
		t.Error("the root was not looked for")
	}
}

func TestCrashBeforeThePostPostsOnce(t *testing.T) {
	h := newHarness(t, slackapi.ClientOptions{})
	ctx := context.Background()
	inc := h.record(nil, crashAt(appKey, 1))
	// It had saved that it was posting, and died before Slack saw it.
	if err := h.store.SaveNotification(ctx, incident.Notification{IncidentID: inc.ID, Channel: alerts, PostingSince: time.Now()}); err != nil {
		t.Fatal(err)
	}
	h.run(h.client, notify.Options{})
	h.waitFor("the root", 5*time.Second, func() bool { return len(h.roots()) == 1 })
	time.Sleep(300 * time.Millisecond)
	if len(h.roots()) != 1 || len(h.fake.Calls("conversations.history")) != 1 {
		t.Errorf("%d roots, %d searches", len(h.roots()), len(h.fake.Calls("conversations.history")))
	}
}

func TestSlackDownDuringTheOpening(t *testing.T) {
	// The client gives up quickly: the notifier's own retries are tested.
	h := newHarness(t, slackapi.ClientOptions{RetryFor: 300 * time.Millisecond})
	h.fake.SetDown(true)
	n, _ := h.run(h.client, notify.Options{GroupWindow: -1}) // two roots, in order
	app := h.record(n, crashAt(appKey, 1))
	h.appendPost(n, app, logsPost("app log"))
	db := h.record(n, crashAt(dbKey, 1))
	h.appendPost(n, db, logsPost("db log"))
	time.Sleep(2 * time.Second)
	if len(h.fake.Messages(alerts)) != 0 {
		t.Fatal("posted while Slack was down")
	}
	if len(h.fake.Calls("")) < 2 {
		t.Fatal("no attempt while Slack was down")
	}
	h.fake.SetDown(false)
	h.waitFor("both alerts and their logs", 10*time.Second, func() bool { return len(h.fake.Messages(alerts)) == 4 })
	time.Sleep(300 * time.Millisecond)
	msgs := h.fake.Messages(alerts)
	if len(msgs) != 4 || len(h.roots()) != 2 {
		t.Fatalf("%d messages, %d roots; want 4 and 2", len(msgs), len(h.roots()))
	}
	// The roots first, in order of opening, then one logs post in each thread.
	threads := map[string]int{msgs[2].ThreadTS: 1}
	threads[msgs[3].ThreadTS]++
	if !strings.Contains(msgs[0].Text, "app in prod") || !strings.Contains(msgs[1].Text, "db in prod") ||
		threads[msgs[0].TS] != 1 || threads[msgs[1].TS] != 1 {
		t.Errorf("order: %q %q %q %q", msgs[0].Text, msgs[1].Text, msgs[2].Text, msgs[3].Text)
	}
}

func TestRateLimitStormKeepsOrder(t *testing.T) {
	h := newHarness(t, slackapi.ClientOptions{})
	h.fake.RateLimit("chat.postMessage", 3, time.Second)
	var limited atomic.Int32
	h.client = h.newClient(slackapi.ClientOptions{OnRateLimited: func(string, time.Duration) { limited.Add(1) }})
	n, _ := h.run(h.client, notify.Options{GroupWindow: -1}) // two roots, in order
	app := h.record(n, crashAt(appKey, 1))
	h.appendPost(n, app, logsPost("app log"))
	h.record(n, crashAt(dbKey, 1))
	h.waitFor("both roots and the logs", 15*time.Second, func() bool { return len(h.fake.Messages(alerts)) == 3 })
	time.Sleep(300 * time.Millisecond)
	msgs := h.fake.Messages(alerts)
	if len(msgs) != 3 || limited.Load() != 3 {
		t.Fatalf("%d messages after %d rate limits; want 3 after 3", len(msgs), limited.Load())
	}
	// The roots in order of opening; app's logs in its thread, after its
	// root (before db's root if db was not open yet at that pass).
	appRoot, dbRoot, logs := -1, -1, -1
	for i, m := range msgs {
		switch {
		case strings.Contains(m.Text, "app in prod"):
			appRoot = i
		case strings.Contains(m.Text, "db in prod"):
			dbRoot = i
		case m.ThreadTS != "" && m.ThreadTS != m.TS:
			logs = i
		}
	}
	if appRoot != 0 || dbRoot < 0 || logs < 0 || msgs[logs].ThreadTS != msgs[appRoot].TS {
		t.Errorf("order: %q %q %q", msgs[0].Text, msgs[1].Text, msgs[2].Text)
	}
}

func TestMutedIncidentsAreHeldThenPosted(t *testing.T) {
	h := newHarness(t, slackapi.ClientOptions{})
	var muted atomic.Bool
	muted.Store(true)
	n, _ := h.run(h.client, notify.Options{Muted: func(k incident.Key, _ time.Time) bool { return muted.Load() }})
	app := h.record(n, crashAt(appKey, 1))
	h.appendPost(n, app, logsPost("app log"))
	h.record(n, crashAt(dbKey, 1))
	// db recovers (stops on purpose) while muted: it is never posted.
	h.record(n, incident.Signal{Key: dbKey, Kind: incident.SignalStopped, Time: time.Now()})
	h.waitFor("held and suppressed", 5*time.Second, func() bool {
		ev := h.eventList()
		return slices.Contains(ev, "held app") && slices.Contains(ev, "suppressed db")
	})
	time.Sleep(300 * time.Millisecond)
	if len(h.fake.Calls("")) != 0 {
		t.Fatalf("Slack called while muted: %+v", h.fake.Calls(""))
	}
	recent, _ := h.store.RecentIncidents(context.Background(), 10)
	if len(recent) != 2 {
		t.Errorf("the incidents are still recorded: %d", len(recent))
	}

	muted.Store(false)
	n.Kick()
	h.waitFor("app's root and logs", 5*time.Second, func() bool { return len(h.fake.Messages(alerts)) == 2 })
	time.Sleep(300 * time.Millisecond)
	if r := h.roots(); len(r) != 1 || !strings.Contains(r[0].Text, "app in prod") || len(h.fake.Messages(alerts)) != 2 {
		t.Errorf("after the mute: %d messages", len(h.fake.Messages(alerts)))
	}
}

func TestAThreadPostSlackRefusesIsDropped(t *testing.T) {
	h := newHarness(t, slackapi.ClientOptions{})
	n, _ := h.run(h.client, notify.Options{})
	inc := h.record(n, crashAt(appKey, 1))
	h.waitFor("the root", 5*time.Second, func() bool { return len(h.roots()) == 1 })
	// Refused with its blocks, then as text only.
	h.fake.FailNext("chat.postMessage", "msg_too_long")
	h.fake.FailNext("chat.postMessage", "msg_too_long")
	h.appendPost(n, inc, incident.ThreadPost{Kind: "note", Title: "too long"})
	h.appendPost(n, inc, incident.ThreadPost{Kind: "note", Title: "next"})
	root := h.roots()[0]
	h.waitFor("the next post", 5*time.Second, func() bool {
		left, _ := h.store.PendingThreadPosts(context.Background(), inc.ID)
		return len(h.replies(root.TS)) == 1 && len(left) == 0
	})
	if r := h.replies(root.TS); !strings.Contains(r[0].Text, "next") {
		t.Errorf("thread: %q", r[0].Text)
	}
}

func TestADeletedRootIsPostedAgain(t *testing.T) {
	h := newHarness(t, slackapi.ClientOptions{})
	n, _ := h.run(h.client, notify.Options{})
	h.record(n, crashAt(appKey, 1))
	h.waitFor("the root", 5*time.Second, func() bool { return len(h.roots()) == 1 })
	if _, _, err := h.client.API().DeleteMessage(alerts, h.roots()[0].TS); err != nil {
		t.Fatal(err)
	}
	h.record(n, crashAt(appKey, 2))
	h.waitFor("a new root", 5*time.Second, func() bool {
		return len(h.roots()) == 1 && strings.Contains(string(h.roots()[0].Blocks), "*Failures*\\n2")
	})
}

func TestFatalAuthErrorStopsRun(t *testing.T) {
	h := newHarness(t, slackapi.ClientOptions{})
	h.fake.FailNext("chat.postMessage", "token_revoked")
	n := notify.New(h.store, h.client, alerts, h.options(notify.Options{}))
	h.record(nil, crashAt(appKey, 1))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := n.Run(ctx)
	if !slackapi.IsFatalAuthError(err) {
		t.Fatalf("Run = %v, want the fatal auth error", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Run returned only when its context ended")
	}
}

func TestRecoveryUpdatesTheRootAndTellsTheThread(t *testing.T) {
	h := newHarness(t, slackapi.ClientOptions{})
	n, _ := h.run(h.client, notify.Options{})
	t0 := time.Now().UTC().Add(-15 * time.Minute)
	s := crashAt(appKey, 1)
	s.Time = t0
	h.record(n, s)
	h.waitFor("the root", 5*time.Second, func() bool { return len(h.roots()) == 1 })
	h.record(n, incident.Signal{Key: appKey, Kind: incident.SignalHealthy, Time: t0.Add(10 * time.Minute), HasHealthcheck: true})
	if _, err := incident.TickOpen(context.Background(), h.store, incident.Rules{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	n.Kick()
	root := h.roots()[0]
	h.waitFor("the recovery", 5*time.Second, func() bool {
		m, _ := h.fake.Message(alerts, root.TS)
		th := h.replies(root.TS)
		return strings.Contains(string(m.Blocks), "recovered after 12 min") && len(th) > 0 &&
			strings.Contains(th[len(th)-1].Text, "Recovered after 12 min")
	})
	m, _ := h.fake.Message(alerts, root.TS)
	if !strings.HasPrefix(m.Text, "✅ app in prod: recovered after 12 min") {
		t.Errorf("recovered root text %q", m.Text)
	}
	if got := buttons(t, m); len(got) != 1 || got["Logs"] == "" {
		t.Errorf("buttons of a recovered incident: %v", got)
	}
}
