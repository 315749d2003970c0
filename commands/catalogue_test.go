package commands_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"mfbot/adapters/store"
	. "mfbot/commands"
	"mfbot/config"
	"mfbot/confirm"
	"mfbot/containers"
	"mfbot/mute"
	. "mfbot/reply"
)

// recordingEngine is an Engine whose containers are fixed and whose
// mutating calls are recorded, so tests can prove nothing ran.
type recordingEngine struct {
	containers.Engine // unimplemented methods panic: a test calling one is wrong
	containers        []containers.Container
	listErr           error
	mu                sync.Mutex
	mutations         []string
}

func (e *recordingEngine) mutate(what string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mutations = append(e.mutations, what)
}

func (e *recordingEngine) Containers(context.Context) ([]containers.Container, error) {
	return e.containers, e.listErr
}

func (e *recordingEngine) Inspect(_ context.Context, id string) (containers.ContainerDetails, error) {
	for _, c := range e.containers {
		if c.ID == id {
			return containers.ContainerDetails{Container: c, StartedAt: time.Now().Add(-time.Hour)}, nil
		}
	}
	return containers.ContainerDetails{}, errors.New("no such container")
}

func (e *recordingEngine) Restart(_ context.Context, id string, _ time.Duration) error {
	e.mutate("restart " + id)
	return nil
}

func (e *recordingEngine) Stop(_ context.Context, id string, _ time.Duration) error {
	e.mutate("stop " + id)
	return nil
}

func (e *recordingEngine) Start(_ context.Context, id string) error {
	e.mutate("start " + id)
	return nil
}

func (e *recordingEngine) Recreate(_ context.Context, id string, o containers.RecreateOptions) (containers.RecreateResult, error) {
	e.mutate("recreate " + id)
	return containers.RecreateResult{OldID: id, NewID: id}, nil
}

func testCatalogue(t *testing.T, envNames ...string) (*Catalogue, map[string]*recordingEngine) {
	t.Helper()
	yaml := "environments:\n"
	for _, n := range envNames {
		yaml += "  " + n + ": {}\n"
	}
	cfg := loadConfig(t, yaml)
	engines := map[string]*recordingEngine{}
	var envs []*Environment
	for _, e := range cfg.Environments {
		engine := &recordingEngine{containers: []containers.Container{
			{ID: "a1", Name: "remote_app_1", State: "running", Health: "healthy", Image: "repo/app:v1"},
			{ID: "d1", Name: "remote_db_1", State: "running", Image: "timescale/timescaledb-postgis:1.7.4-pg11"},
		}}
		engines[e.Name] = engine
		envs = append(envs, &Environment{Config: e, Docker: engine})
	}
	c, err := New(cfg, envs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c, engines
}

// catalogueOver is a catalogue whose every environment uses engine.
func catalogueOver(t *testing.T, cfg *config.Config, engine containers.Engine) *Catalogue {
	t.Helper()
	var envs []*Environment
	for _, e := range cfg.Environments {
		envs = append(envs, &Environment{Config: e, Docker: engine})
	}
	c, err := New(cfg, envs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func loadConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	path := t.TempDir() + "/mfbot.yaml"
	if err := writeFile(path, yaml); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func replyText(rep Reply) string {
	var b strings.Builder
	b.WriteString(rep.Title + "\n")
	for _, blk := range rep.Blocks {
		switch blk := blk.(type) {
		case *Text:
			b.WriteString(blk.Text + "\n")
		case *Code:
			b.WriteString(blk.Text + "\n")
		case *Table:
			for _, r := range blk.Rows {
				b.WriteString(strings.Join(r, " ") + "\n")
			}
		case *Fields:
			for _, f := range blk.Fields {
				b.WriteString(f.Label + " " + f.Value + "\n")
			}
		}
	}
	return b.String()
}

func TestMutatingCommandsWaitForConfirmation(t *testing.T) {
	c, engines := testCatalogue(t, "dev", "prod")
	for line, want := range map[string]string{
		"restart app":                "dev restart app", // the first environment is the default
		"prod restart app --no-pull": "prod restart app --no-pull",
		"dev stop db":                "dev stop db",
		"DEV Start db":               "dev start db",
		"“prod” restart “app” —no-pull": "prod restart app --no-pull",
	} {
		rep := c.Run(context.Background(), Request{Line: line, User: "U1", Via: ViaConsole})
		if rep.Status != StatusPending || rep.Confirm == nil || rep.Confirm.Command != want {
			t.Errorf("%q: %s %+v, want pending with command %q", line, rep.Status, rep.Confirm, want)
		}
	}
	for env, e := range engines {
		if len(e.mutations) > 0 {
			t.Errorf("%s: ran %v without confirmation", env, e.mutations)
		}
	}
	rep := c.Run(context.Background(), Request{Line: "dev restart app --no-pull", User: "U1", Via: ViaConsole})
	if !strings.Contains(rep.Confirm.Prompt, "dev") || !strings.Contains(rep.Confirm.Prompt, "no pull") {
		t.Errorf("prompt %q should name the environment and the mode", rep.Confirm.Prompt)
	}
}

func TestConfirmedCommandRunsOnce(t *testing.T) {
	c, engines := testCatalogue(t, "dev", "prod")
	rep := c.Run(context.Background(), Request{Line: "dev stop db", User: "U1", Via: ViaConsole, Confirmed: true})
	if rep.Status != StatusOK {
		t.Fatalf("%s: %s", rep.Status, replyText(rep))
	}
	if got := engines["dev"].mutations; len(got) != 1 || got[0] != "stop d1" || len(engines["prod"].mutations) != 0 {
		t.Fatalf("mutations dev %v prod %v", got, engines["prod"].mutations)
	}
}

func TestBadInputGetsUsageAndRunsNothing(t *testing.T) {
	c, engines := testCatalogue(t, "local")
	for line, want := range map[string]string{
		"":                      "Empty command",
		"frobnicate":            `Unknown command "frobnicate"`,
		"restart":               "Which service? One of: app, db",
		"restart web":           `Unknown service "web". Services: app, db`,
		"restart app --force":   "Usage: restart <service> [--no-pull]",
		"logs app --tail 0":     "Usage: logs <service>",
		"logs app --tail abc":   "--tail",
		"logs app --since 8d":   "7d",
		`logs app --grep "a(b"`: "regular expression",
		`logs "app`:             "quote",
		"status now":            "status takes no argument",
		"stop app db":           "takes one service",
		"local":                 "Missing command",
		"help frob":             `No command "frob"`,
	} {
		rep := c.Run(context.Background(), Request{Line: line, User: "U1", Via: ViaConsole, Confirmed: true})
		if rep.Status != StatusUsage || !strings.Contains(replyText(rep), want) {
			t.Errorf("%q: %s, want usage containing %q, got:\n%s", line, rep.Status, want, replyText(rep))
		}
	}
	if m := engines["local"].mutations; len(m) > 0 {
		t.Fatalf("bad input ran %v", m)
	}
}

func TestThreadTargetDefaultsTheService(t *testing.T) {
	c, engines := testCatalogue(t, "dev", "prod")
	rep := c.Run(context.Background(), Request{Line: "stop", User: "U1", Via: ViaConsole, Default: &Target{Env: "dev", Service: "db"}})
	if rep.Status != StatusPending || rep.Confirm.Command != "dev stop db" {
		t.Fatalf("stop in a dev/db thread: %s %+v", rep.Status, rep.Confirm)
	}
	if len(engines["dev"].mutations) != 0 {
		t.Fatal("ran before confirmation")
	}
}

func TestEngineErrorsBecomeFailedReplies(t *testing.T) {
	c, engines := testCatalogue(t, "local")
	engines["local"].listErr = errors.New("list containers: Docker engine at tcp://x:2375 is unreachable")
	rep := c.Run(context.Background(), Request{Line: "status", User: "U1", Via: ViaConsole})
	if rep.Status != StatusFailed || !strings.Contains(replyText(rep), "unreachable") {
		t.Fatalf("%s: %s", rep.Status, replyText(rep))
	}
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

// slackCatalogue is a catalogue as the Slack transports see it: roles from
// the configuration, confirmations and audit in a real (in-memory) store.
func slackCatalogue(t *testing.T, yaml string, groups GroupResolver, now func() time.Time) (*Catalogue, *recordingEngine, *store.Store) {
	t.Helper()
	cfg := loadConfig(t, yaml)
	st, err := store.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	engine := &recordingEngine{containers: []containers.Container{
		{ID: "a1", Name: "remote_app_1", State: "running", Health: "healthy", Image: "repo/app:v1"},
		{ID: "d1", Name: "remote_db_1", State: "running", Image: "postgis:11"},
	}}
	var envs []*Environment
	for _, e := range cfg.Environments {
		envs = append(envs, &Environment{Config: e, Docker: engine})
	}
	c, err := New(cfg, envs, Options{Groups: groups, Audit: st, Confirmations: st, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return c, engine, st
}

type staticGroups map[string][]string

func (g staticGroups) UsergroupMembers(_ context.Context, id string) ([]string, error) {
	if m, ok := g[id]; ok {
		return m, nil
	}
	return nil, errors.New("no_such_subteam")
}

const rolesYAML = `operators: [UOPS, SOPSTEAM]
environments:
  prod:
    viewers: [UVIEW, SREADERS]
    channels: [COPS]
  dev:
    open_mutations: true
`

func slack(line, user, channel string) Request {
	return Request{Line: line, User: user, Channel: channel, Via: ViaSocket}
}

func TestAuthorizationByRoleChannelAndGroup(t *testing.T) {
	groups := staticGroups{"SOPSTEAM": {"UGROUPOP"}, "SREADERS": {"UGROUPVIEW"}}
	c, engine, _ := slackCatalogue(t, rolesYAML, groups, nil)
	for _, tc := range []struct {
		req    Request
		status Status
		want   string
	}{
		{slack("prod status", "UVIEW", "COPS"), StatusOK, ""},
		{slack("prod status", "UGROUPVIEW", "COPS"), StatusOK, ""},
		{slack("prod status", "USTRANGER", "COPS"), StatusDenied, "viewer role in prod"},
		{slack("prod status", "UVIEW", "CRANDOM"), StatusDenied, "this channel"},
		{slack("prod restart app", "UVIEW", "COPS"), StatusDenied, "operator role in prod"},
		{slack("prod restart app", "UOPS", "COPS"), StatusPending, ""},
		{slack("prod restart app", "UGROUPOP", "COPS"), StatusPending, ""},
		{slack("dev restart app", "UANYONE", "CANY"), StatusPending, ""}, // open_mutations
		{Request{Line: "prod restart app", User: "UVIEW", Channel: "COPS", Via: ViaHTTP, Confirmed: true}, StatusDenied, "operator role"},
	} {
		rep := c.Run(context.Background(), tc.req)
		if rep.Status != tc.status || !strings.Contains(replyText(rep), tc.want) {
			t.Errorf("%s by %s in %s: %s, want %s with %q:\n%s", tc.req.Line, tc.req.User, tc.req.Channel, rep.Status, tc.status, tc.want, replyText(rep))
		}
	}
	if len(engine.mutations) > 0 {
		t.Fatalf("ran %v", engine.mutations)
	}
}

func TestNoOperatorsConfiguredRefusesMutations(t *testing.T) {
	c, engine, _ := slackCatalogue(t, "environments:\n  prod: {}\n", nil, nil)
	rep := c.Run(context.Background(), slack("restart app", "U1", "C1"))
	if rep.Status != StatusDenied || !strings.Contains(replyText(rep), "no operator is configured") {
		t.Fatalf("%s:\n%s", rep.Status, replyText(rep))
	}
	if len(engine.mutations) > 0 {
		t.Fatal("ran a mutation")
	}
}

func TestConfirmationFlow(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	c, engine, st := slackCatalogue(t, rolesYAML, nil, clock)
	ctx := context.Background()

	rep := c.Run(ctx, slack("prod stop db", "UOPS", "COPS"))
	if rep.Status != StatusPending || rep.Confirm.ID == "" || !rep.Confirm.ExpiresAt.Equal(now.Add(2*time.Minute)) || rep.RequestedBy != "UOPS" {
		t.Fatalf("pending reply %+v %+v", rep, rep.Confirm)
	}
	id := rep.Confirm.ID

	// A viewer's click is refused and does not use the confirmation up.
	rep, outcome := c.Decide(ctx, Decision{ID: id, User: "UVIEW", Channel: "COPS", Confirm: true}, nil)
	if outcome != DecisionDenied || rep.Status != StatusDenied || len(engine.mutations) != 0 {
		t.Fatalf("viewer click: %v %s %v", outcome, rep.Status, engine.mutations)
	}
	claimed := 0
	rep, outcome = c.Decide(ctx, Decision{ID: id, User: "UOPS", Channel: "COPS", Confirm: true}, func(confirm.Record) { claimed++ })
	if outcome != DecisionRan || rep.Status != StatusOK || rep.DecidedBy != "UOPS" || claimed != 1 {
		t.Fatalf("confirm: %v %s %+v", outcome, rep.Status, rep)
	}
	if len(engine.mutations) != 1 || engine.mutations[0] != "stop d1" {
		t.Fatalf("mutations %v", engine.mutations)
	}
	// The double click: nothing more runs.
	rep, outcome = c.Decide(ctx, Decision{ID: id, User: "UOPS", Channel: "COPS", Confirm: true}, nil)
	if outcome != DecisionDuplicate || outcome.UpdatesMessage() || len(engine.mutations) != 1 || !strings.Contains(replyText(rep), "Already confirmed by UOPS") {
		t.Fatalf("double click: %v %v\n%s", outcome, engine.mutations, replyText(rep))
	}

	// Cancel by the requester, then a late confirm.
	rep = c.Run(ctx, slack("prod stop db", "UOPS", "COPS"))
	rep, outcome = c.Decide(ctx, Decision{ID: rep.Confirm.ID, User: "UOPS", Channel: "COPS", Confirm: false}, nil)
	if outcome != DecisionCancelled || rep.Status != StatusCancelled || len(engine.mutations) != 1 {
		t.Fatalf("cancel: %v %s %v", outcome, rep.Status, engine.mutations)
	}

	// Expiry: after 2 minutes nothing runs.
	rep = c.Run(ctx, slack("prod stop db", "UOPS", "COPS"))
	now = now.Add(2*time.Minute + time.Second)
	rep, outcome = c.Decide(ctx, Decision{ID: rep.Confirm.ID, User: "UOPS", Channel: "COPS", Confirm: true}, nil)
	if outcome != DecisionExpired || !outcome.UpdatesMessage() || len(engine.mutations) != 1 {
		t.Fatalf("expired: %v %v\n%s", outcome, engine.mutations, replyText(rep))
	}
	_, outcome = c.Decide(ctx, Decision{ID: "0123456789abcdef0123456789abcdef", User: "UOPS", Channel: "COPS", Confirm: true}, nil)
	if outcome != DecisionUnknown {
		t.Fatalf("unknown id: %v", outcome)
	}

	entries, err := st.RecentAudit(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for i := len(entries) - 1; i >= 0; i-- {
		outcomes = append(outcomes, entries[i].Outcome)
	}
	want := "pending denied ok confirmed duplicate pending cancelled pending expired unknown"
	if got := strings.Join(outcomes, " "); got != want {
		t.Errorf("audit outcomes\n got %s\nwant %s", got, want)
	}
}

func TestConcurrentClicksRunOnce(t *testing.T) {
	c, engine, _ := slackCatalogue(t, rolesYAML, nil, nil)
	ctx := context.Background()
	rep := c.Run(ctx, slack("prod restart db", "UOPS", "COPS"))
	outcomes := make(chan DecisionOutcome, 10)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			_, o := c.Decide(ctx, Decision{ID: rep.Confirm.ID, User: "UOPS", Channel: "COPS", Confirm: true}, nil)
			outcomes <- o
		})
	}
	wg.Wait()
	close(outcomes)
	ran := 0
	for o := range outcomes {
		if o == DecisionRan {
			ran++
		}
	}
	if ran != 1 || len(engine.mutations) != 1 {
		t.Fatalf("%d clicks ran, mutations %v", ran, engine.mutations)
	}
}

func TestAuditVerb(t *testing.T) {
	c, _, _ := slackCatalogue(t, rolesYAML, nil, nil)
	ctx := context.Background()
	c.Run(ctx, slack("prod status", "UVIEW", "COPS"))
	c.Run(ctx, slack("prod restart app", "UVIEW", "COPS"))
	rep := c.Run(ctx, slack("prod audit --limit 5", "UVIEW", "COPS"))
	out := replyText(rep)
	if rep.Status != StatusOK || !strings.Contains(out, "prod status") || !strings.Contains(out, "prod restart app") || !strings.Contains(out, "denied") {
		t.Fatalf("%s:\n%s", rep.Status, out)
	}
	if rep := c.Run(ctx, slack("prod audit --limit 500", "UVIEW", "COPS")); rep.Status != StatusUsage {
		t.Fatalf("limit 500: %s", rep.Status)
	}
}

// loggingEngine records the log queries it answers.
type loggingEngine struct {
	recordingEngine
	queries []containers.LogQuery
}

func (e *loggingEngine) Logs(_ context.Context, _ string, q containers.LogQuery, sink func(containers.LogLine) error) error {
	e.queries = append(e.queries, q)
	return sink(containers.LogLine{Stream: "stdout", Text: "Exception in thread main"})
}

func TestLogsInAnAlertThreadShowTheFailure(t *testing.T) {
	cfg := loadConfig(t, "environments:\n  prod: {}\n")
	engine := &loggingEngine{recordingEngine: recordingEngine{containers: []containers.Container{{ID: "a1", Name: "remote_app_1", State: "running"}}}}
	c, err := New(cfg, []*Environment{{Config: cfg.Environments[0], Docker: engine}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	failure := time.Date(2026, 11, 27, 3, 12, 0, 0, time.UTC)
	thread := &Target{Env: "prod", Service: "app", At: failure}
	rep := c.Run(context.Background(), Request{Line: "logs", User: "U1", Via: ViaConsole, Default: thread})
	if rep.Status != StatusOK || !strings.Contains(rep.Title, "after the failure of 03:12:00 UTC") {
		t.Fatalf("%s: %s", rep.Status, rep.Title)
	}
	if q := engine.queries[0]; !q.Until.Equal(failure.Add(30 * time.Second)) {
		t.Fatalf("until %v", q.Until)
	}
	// An explicit window, or another service, is the user's choice.
	c.Run(context.Background(), Request{Line: "logs --since 5m", User: "U1", Via: ViaConsole, Default: thread})
	c.Run(context.Background(), Request{Line: "logs app", User: "U1", Via: ViaConsole, Default: thread})
	for _, q := range engine.queries[1:] {
		if !q.Until.IsZero() {
			t.Fatalf("until %v for an explicit request", q.Until)
		}
	}
}

type staticIncidents []IncidentSummary

func (s staticIncidents) OpenIncidentSummaries(context.Context) ([]IncidentSummary, error) {
	return s, nil
}

func TestStatusCountsIncidentsAndMutes(t *testing.T) {
	cfg := loadConfig(t, "environments:\n  prod: {}\n  dev: {}\n")
	st, err := store.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	st.AddMute(context.Background(), mute.Mute{Env: "prod", Target: "app", Until: now.Add(time.Hour), CreatedAt: now})
	st.AddMute(context.Background(), mute.Mute{Env: "dev", Target: mute.All, Until: now.Add(time.Hour), CreatedAt: now})
	incidents := staticIncidents{{Env: "prod", Target: "app", State: "open"}, {Env: "dev", Target: "db", State: "open"}, {Env: "prod", Target: "db", State: "crash-looping"}}
	engine := &recordingEngine{containers: []containers.Container{{ID: "a1", Name: "remote_app_1", State: "running"}}}
	var envs []*Environment
	for _, e := range cfg.Environments {
		envs = append(envs, &Environment{Config: e, Docker: engine})
	}
	c, err := New(cfg, envs, Options{Mutes: st, Incidents: incidents})
	if err != nil {
		t.Fatal(err)
	}
	out := replyText(c.Run(context.Background(), Request{Line: "prod status", User: "U1", Via: ViaConsole}))
	if !strings.Contains(out, "open incidents: 2") || !strings.Contains(out, "muted: app until") || strings.Contains(out, "muted: all") {
		t.Fatalf("status:\n%s", out)
	}
}
