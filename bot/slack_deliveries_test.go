package bot

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	slackapi "mfbot/adapters/slack"
	"mfbot/adapters/store"
	"mfbot/commands"
	"mfbot/confirm"
	"mfbot/reply"
)

// fakeDeliveries answers claims from a set, or fails.
type fakeDeliveries struct {
	mu     sync.Mutex
	seen   map[string]bool
	calls  int
	failed error
}

func (f *fakeDeliveries) ClaimDelivery(ctx context.Context, id string, _ time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failed != nil {
		return false, f.failed
	}
	if _, ok := ctx.Deadline(); !ok {
		return false, errors.New("asked without a deadline")
	}
	if f.seen[id] {
		return false, nil
	}
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	f.seen[id] = true
	return true, nil
}

func TestFirstAnywhereAsksDeliveries(t *testing.T) {
	ctx := context.Background()
	shared := &fakeDeliveries{}
	var logs bytes.Buffer
	a := NewSlack(nil, nil, nil, SlackOptions{Deliveries: shared, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	b := NewSlack(nil, nil, nil, SlackOptions{Deliveries: shared})
	// The transports' filter stays in memory: no store on their goroutine.
	if !a.FirstDelivery("env-1") || a.FirstDelivery("env-1") || shared.calls != 0 {
		t.Fatalf("FirstDelivery: a redelivery to this process not dropped, or the store asked (%d claims)", shared.calls)
	}
	if !a.firstAnywhere(ctx, "env-1") {
		t.Fatal("the first replica's claim refused")
	}
	if b.firstAnywhere(ctx, "env-1") {
		t.Error("a redelivery to another replica was handled")
	}
	if !a.firstAnywhere(ctx, "") || shared.calls != 2 {
		t.Errorf("a delivery without ID: refused or claimed (%d claims)", shared.calls)
	}
	if !NewSlack(nil, nil, nil, SlackOptions{}).firstAnywhere(ctx, "env-1") {
		t.Error("without Deliveries, a delivery was refused")
	}

	// The store failing: handled anyway, and said.
	shared.failed = errors.New("store down")
	if !a.firstAnywhere(ctx, "env-2") {
		t.Error("a delivery was dropped because the store failed")
	}
	if out := logs.String(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "store down") {
		t.Errorf("the failure is not logged:\n%s", out)
	}
	if got := deliveryOfAction("env-3", 0) + " " + deliveryOfAction("env-3", 1) + " " + deliveryOfAction("", 2); got != "env-3 env-3#2 " {
		t.Errorf("delivery IDs of an envelope's actions: %q", got)
	}
}

// countingCatalogue counts the commands run; Decide is not used.
type countingCatalogue struct{ runs atomic.Int32 }

func (c *countingCatalogue) Run(context.Context, commands.Request) reply.Reply {
	c.runs.Add(1)
	return reply.Reply{Status: reply.StatusUsage, Title: "ran"}
}

func (c *countingCatalogue) Decide(context.Context, commands.Decision, func(confirm.Record)) (reply.Reply, commands.DecisionOutcome) {
	panic("not used")
}

// quietAPI accepts every Slack call.
type quietAPI struct{}

func (quietAPI) Post(context.Context, string, string, slackapi.Message) (string, error) {
	return "1.1", nil
}
func (quietAPI) UploadFiles(context.Context, string, string, []slackapi.Upload) error { return nil }
func (quietAPI) Update(context.Context, string, string, slackapi.Message) error       { return nil }
func (quietAPI) PostEphemeral(context.Context, string, string, string, slackapi.Message) error {
	return nil
}
func (quietAPI) Respond(context.Context, string, slackapi.Message, bool) error { return nil }
func (quietAPI) React(context.Context, string, string, string) error           { return nil }
func (quietAPI) Unreact(context.Context, string, string, string) error         { return nil }

// Two dispatchers on one store file, as two replicas on one database: a
// command, a mention and a click each delivered to both at once run once.
func TestDeliveryToBothReplicasRunsOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	path := filepath.Join(t.TempDir(), "mfbot.db")
	cat := &countingCatalogue{}
	var replicas []*Slack
	var wg sync.WaitGroup
	for range 2 {
		st, err := store.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		r := NewSlack(cat, quietAPI{}, nil, SlackOptions{Deliveries: st})
		wg.Go(func() { _ = r.Run(ctx, time.Second) })
		replicas = append(replicas, r)
	}
	deliver := []func(r *Slack) error{
		func(r *Slack) error {
			return r.HandleSlashCommand(SlashCommand{Text: "status", DeliveryID: "env-slash"})
		},
		func(r *Slack) error { return r.HandleMention(Mention{Text: "<@B1> status", DeliveryID: "env-mention"}) },
		func(r *Slack) error {
			return r.HandleClick(Click{ActionID: slackapi.ActionRun, Value: "status", DeliveryID: "env-click"})
		},
	}
	for _, d := range deliver {
		for _, r := range replicas {
			if err := d(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for cat.runs.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a second run of one would come by now
	if n := cat.runs.Load(); n != 3 {
		t.Errorf("%d commands ran for 3 deliveries made to both replicas, want 3", n)
	}
	cancel()
	wg.Wait()
}
