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
	memoryLimit       uint64  // what Inspect reports as the containers' limits
	cpuLimit          float64 // (0: none, like docker)
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
			return containers.ContainerDetails{Container: c, StartedAt: time.Now().Add(-time.Hour), MemoryLimit: e.memoryLimit, CPULimit: e.cpuLimit}, nil
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

func TestInspectShowsLimits(t *testing.T) {
	c, engines := testCatalogue(t, "local")
	for _, tt := range []struct {
		memory uint64
		cpus   float64
		want   string
	}{
		{0, 0, "Limits no memory limit, no CPU limit"},
		{512 << 20, 1.5, "Limits 512.0MiB memory, 1.5 CPUs"},
		{2 << 30, 0, "Limits 2.0GiB memory, no CPU limit"},
	} {
		engines["local"].memoryLimit, engines["local"].cpuLimit = tt.memory, tt.cpus
		rep := c.Run(context.Background(), Request{Line: "inspect app", User: "U1", Via: ViaConsole})
		if rep.Status != StatusOK || !strings.Contains(replyText(rep), tt.want+"\n") {
			t.Errorf("limits %d B, %g CPUs: %s, want a line %q:\n%s", tt.memory, tt.cpus, rep.Status, tt.want, replyText(rep))
		}
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

// watchedEngine counts every read of the engine, on top of the mutations
// recordingEngine records: a usage error must not even list containers.
type watchedEngine struct {
	loggingEngine
	reads  int
	events []time.Time // the since of each Events call
}

func (e *watchedEngine) Containers(ctx context.Context) ([]containers.Container, error) {
	e.reads++
	return e.loggingEngine.Containers(ctx)
}

func (e *watchedEngine) Inspect(ctx context.Context, id string) (containers.ContainerDetails, error) {
	e.reads++
	return e.loggingEngine.Inspect(ctx, id)
}

func (e *watchedEngine) Logs(ctx context.Context, id string, q containers.LogQuery, sink func(containers.LogLine) error) error {
	e.reads++
	return e.loggingEngine.Logs(ctx, id, q, sink)
}

func (e *watchedEngine) Events(_ context.Context, since time.Time, _ []string) ([]containers.Event, error) {
	e.reads++
	e.events = append(e.events, since)
	return nil, nil
}

// watchedNow is the clock of the catalogues over a watchedEngine.
var watchedNow = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func watchedCatalogue(t *testing.T, yaml string) (*Catalogue, *watchedEngine) {
	t.Helper()
	cfg := loadConfig(t, yaml)
	engine := &watchedEngine{loggingEngine: loggingEngine{recordingEngine: recordingEngine{containers: []containers.Container{
		{ID: "a1", Name: "remote_app_1", State: "running", Image: "repo/app:v1"},
		{ID: "d1", Name: "remote_db_1", State: "running", Image: "postgis:11"},
	}}}}
	var envs []*Environment
	for _, e := range cfg.Environments {
		envs = append(envs, &Environment{Config: e, Docker: engine})
	}
	c, err := New(cfg, envs, Options{Now: func() time.Time { return watchedNow }})
	if err != nil {
		t.Fatal(err)
	}
	return c, engine
}

// usageMessage is a usage reply's message without its usage line.
func usageMessage(rep Reply) string {
	for _, b := range rep.Blocks {
		if text, ok := b.(*Text); ok {
			message, _, _ := strings.Cut(text.Text, "\nUsage: ")
			return message
		}
	}
	return ""
}

// Every usage error that rejects a name suggests the nearest valid one,
// or lists them when none is close; nothing runs, nothing is read.
func TestUsageErrorsSuggestTheNearestName(t *testing.T) {
	single, singleEngine := watchedCatalogue(t, "environments:\n  local: {}\n")
	two, twoEngine := watchedCatalogue(t, "environments:\n  prod: {}\n  local: {}\n")
	for _, tc := range []struct {
		c    *Catalogue
		line string
		want string
	}{
		// Environments: a first word that is no command, before a command.
		{single, "prod logs app", `Unknown environment "prod". Environments: local.`},
		{single, "prod flow run logbook", `Unknown environment "prod". Environments: local.`},
		{single, "staging help", `Unknown environment "staging". Environments: local.`},
		{two, "prdo logs app", `Unknown environment "prdo" (did you mean prod?).`},
		{two, "PRDO status", `Unknown environment "PRDO" (did you mean prod?).`},
		{two, "lcoal restart app", `Unknown environment "lcoal" (did you mean local?).`},
		// A typo of a command before a word that happens to be one is a command.
		{single, "hlep logs", `Unknown command "hlep" (did you mean help?).`},
		// Commands.
		{single, "lgos app", `Unknown command "lgos" (did you mean logs?).`},
		{single, "restrat app", `Unknown command "restrat" (did you mean restart?).`},
		{single, "stauts", `Unknown command "stauts" (did you mean status?).`},
		{single, "flow rn x", `Unknown command "flow rn" (did you mean flow run?).`},
		{single, "run lgos 6f1c2a9e", `Unknown command "run lgos" (did you mean run logs?).`},
		{single, "flwo run x", `Unknown command "flwo" (did you mean flow run?).`},
		{single, "flwo", `Unknown command "flwo" (did you mean flow?).`},
		{single, "prune imgaes", `Unknown command "prune imgaes" (did you mean prune images?).`},
		{two, "prod lgos app", `Unknown command "lgos" (did you mean logs?).`},
		{single, "flow xyz", "flow what? flow pause <flow> · flow resume <flow> · flow run <flow>."},
		{single, "frobnicate", `Unknown command "frobnicate". Commands: `},
		// Services and flags.
		{single, "logs ap", `Unknown service "ap" (did you mean app?).`},
		{single, "logs APPP", `Unknown service "APPP" (did you mean app?).`},
		{single, "restart web", `Unknown service "web". Services: app, db, geoserver, pipeline-server, pipeline-flows.`},
		{single, "logs app --tial 5", "unknown flag --tial (did you mean --tail?)"},
		{single, "logs app --sicne 5m", "unknown flag --sicne (did you mean --since?)"},
		// help.
		{single, "help lgos", `No command "lgos" (did you mean logs?).`},
		{single, "help flow rn", `No command "flow rn" (did you mean flow run?).`},
		{single, "help frob", `No command "frob". Commands: `},
		// The verbs that read their own names.
		{single, "db stauts", `Unknown db command "stauts" (did you mean status?).`},
		{single, "db tabels", `Unknown db command "tabels" (did you mean tables?).`},
		{single, "db foo", `Unknown db command "foo". db commands: status, tables, activity.`},
	} {
		rep := tc.c.Run(context.Background(), Request{Line: tc.line, User: "U1", Via: ViaConsole, Confirmed: true})
		if got := usageMessage(rep); rep.Status != StatusUsage || !strings.HasPrefix(got, tc.want) || (!strings.HasSuffix(tc.want, ": ") && got != tc.want) {
			t.Errorf("%q: %s %q\nwant usage %q", tc.line, rep.Status, got, tc.want)
		}
	}
	for name, engine := range map[string]*watchedEngine{"single": singleEngine, "two": twoEngine} {
		if engine.reads != 0 || len(engine.mutations) != 0 || len(engine.queries) != 0 {
			t.Errorf("%s: bad input read the engine %d times, ran %v", name, engine.reads, engine.mutations)
		}
	}
}

// The pipeline, deploy, versions and mute refuse their names the same way.
func TestVerbArgumentsSuggestTheNearestName(t *testing.T) {
	ctx := context.Background()
	c, engine, _ := prefectCatalogue(t, nil)
	for line, want := range map[string]string{
		"pipeline status sever":      `Unknown part of the pipeline "sever" (did you mean server?).`,
		"pipeline start flwos":       `Unknown part of the pipeline "flwos" (did you mean flows?).`,
		"pipeline stop web":          `Which part of the pipeline? server or flows (both when omitted), got "web".`,
		"mute ap 1h":                 `Unknown service or check "ap" (did you mean app?).`,
		"mute positions-recieved 2h": `Unknown service or check "positions-recieved" (did you mean positions-received?).`,
		"unmute al":                  `Unknown service or check "al" (did you mean all?).`,
		"mute app 9999d":             "a mute may not exceed 7d",
		"mute zzz 1h":                `Unknown service or check "zzz". Services: `,
	} {
		// mute checks its target once confirmed: in the console, right away.
		requests := []Request{confirmedInConsole(line)}
		if strings.HasPrefix(line, "pipeline") {
			requests = append(requests, byOperator(line))
		}
		for _, req := range requests {
			rep := c.Run(ctx, req)
			if got := usageMessage(rep); rep.Status != StatusUsage || rep.Confirm != nil || !strings.HasPrefix(got, want) || (!strings.HasSuffix(want, ": ") && got != want) {
				t.Errorf("%q via %s: %s %q\nwant usage %q", line, req.Via, rep.Status, got, want)
			}
		}
	}
	if len(engine.mutations) > 0 {
		t.Errorf("ran %v", engine.mutations)
	}

	deploy, deployEngine, _ := deployCatalogue(t)
	for line, want := range map[string]string{
		"deploy v2 ap":       `Unknown deploy target "ap" (did you mean app?).`,
		"deploy v2 pipelien": `Unknown deploy target "pipelien" (did you mean pipeline?).`,
		"deploy v2 database": `deploy what? "database": say app, pipeline or all.`,
	} {
		rep := deploy.Run(ctx, Request{Line: line, User: "UOPS", Via: ViaConsole})
		if got := usageMessage(rep); rep.Status != StatusUsage || got != want {
			t.Errorf("%q: %s %q\nwant usage %q", line, rep.Status, got, want)
		}
	}
	if len(deployEngine.log) != 0 {
		t.Errorf("deploy used the engine: %v", deployEngine.log)
	}

	cfg := loadConfig(t, "environments:\n  prod: {}\n")
	registry := &countingRegistry{}
	versions, err := New(cfg, []*Environment{{Config: cfg.Environments[0], Docker: &recordingEngine{}, Registry: registry}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for line, want := range map[string]string{
		"versions ap":      `Unknown service "ap" (did you mean app?).`,
		"versions pipelne": `Unknown service "pipelne" (did you mean pipeline?).`,
		"versions nosuch":  `Unknown service "nosuch". Services: `,
	} {
		rep := versions.Run(ctx, Request{Line: line, User: "U1", Via: ViaConsole})
		if got := usageMessage(rep); rep.Status != StatusUsage || !strings.HasPrefix(got, want) || (!strings.HasSuffix(want, ": ") && got != want) {
			t.Errorf("%q: %s %q\nwant usage %q", line, rep.Status, got, want)
		}
	}
	if registry.calls != 0 {
		t.Errorf("versions asked the registry %d times", registry.calls)
	}
}

// countingRegistry is a TagLister that counts its calls.
type countingRegistry struct{ calls int }

func (r *countingRegistry) Tags(context.Context, string) ([]string, error) {
	r.calls++
	return nil, errors.New("no registry in this test")
}

// --since and --until take docker's absolute forms as well as durations;
// past the limit, or in the wrong order, nothing is read.
func TestLogsWindowFromDurationsAndTimes(t *testing.T) {
	c, engine := watchedCatalogue(t, "environments:\n  prod: {}\n")
	for _, tc := range []struct {
		line         string
		since, until time.Time
	}{
		{"logs app --since 30m", watchedNow.Add(-30 * time.Minute), time.Time{}},
		{"logs app --since 2h --until 1h", watchedNow.Add(-2 * time.Hour), watchedNow.Add(-time.Hour)},
		{"logs app --since 2026-12-04T10:00", time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC), time.Time{}},
		{"logs app --since 2026-12-04T10:00:00+01:00 --until 2026-12-04T09:30:00Z", time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC), time.Date(2026, 12, 4, 9, 30, 0, 0, time.UTC)},
		{`logs app --since "2026-12-04 10:00" --until 30m`, time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC), watchedNow.Add(-30 * time.Minute)},
		{"logs app --since 2026-12-04 --until 2026-12-04T00:00:00.5Z", time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 4, 0, 0, 0, 5e8, time.UTC)},
		{"logs app --until 2026-12-05T10:00:00-03:00", time.Time{}, time.Date(2026, 12, 5, 13, 0, 0, 0, time.UTC)},
	} {
		engine.queries = nil
		rep := c.Run(context.Background(), Request{Line: tc.line, User: "U1", Via: ViaConsole})
		if rep.Status != StatusOK || len(engine.queries) != 1 {
			t.Errorf("%q: %s, %d queries\n%s", tc.line, rep.Status, len(engine.queries), replyText(rep))
			continue
		}
		if q := engine.queries[0]; !q.Since.Equal(tc.since) || !q.Until.Equal(tc.until) {
			t.Errorf("%q: since %v until %v, want %v and %v", tc.line, q.Since, q.Until, tc.since, tc.until)
		}
	}

	engine.queries, engine.reads = nil, 0
	for line, want := range map[string]string{
		"logs app --since 9999d":                                        "--since: at most 7d",
		"logs app --since 99999999d":                                    "--since: at most 7d",
		"logs app --until 8d":                                           "--until: at most 7d",
		"logs app --since 2026-11-28T11:00":                             "--since: at most 7d ago, got 2026-11-28T11:00:00Z",
		"logs app --since 2026-12-04T25:00":                             `--since: bad time "2026-12-04T25:00": use 2026-12-04T10:00 (UTC), 2026-12-04T10:00:00+01:00 or 2026-12-04`,
		"logs app --since 1h --until 2h":                                "--until must be after --since (--since 1h ago, --until 2h ago)",
		"logs app --since 1h --until 1h":                                "--until must be after --since (--since 1h ago, --until 1h ago)",
		"logs app --since 2026-12-04T10:00 --until 2026-12-04T09:59:59": "--until must be after --since (--since 2026-12-04T10:00:00Z, --until 2026-12-04T09:59:59Z)",
		"logs app --since 30m --until 2026-12-05T11:00:00Z":             "--until must be after --since (--since 30m ago, --until 2026-12-05T11:00:00Z)",
		"events --since 8d":                                             "--since: at most 7d",
		"events --since 2026-11-01":                                     "--since: at most 7d ago, got 2026-11-01T00:00:00Z",
	} {
		rep := c.Run(context.Background(), Request{Line: line, User: "U1", Via: ViaConsole})
		if got := usageMessage(rep); rep.Status != StatusUsage || got != want {
			t.Errorf("%q: %s %q\nwant usage %q", line, rep.Status, got, want)
		}
	}
	if engine.reads != 0 || len(engine.queries) != 0 || len(engine.events) != 0 {
		t.Errorf("bad windows read the engine %d times", engine.reads)
	}
}

// events --since takes a duration or a time, 1h back by default.
func TestEventsSinceDurationOrTime(t *testing.T) {
	c, engine := watchedCatalogue(t, "environments:\n  prod: {}\n")
	for line, want := range map[string]struct {
		since time.Time
		title string
	}{
		"events":                                {watchedNow.Add(-time.Hour), "No events of the stack in the last 1 h"},
		"events --since 6h":                     {watchedNow.Add(-6 * time.Hour), "No events of the stack in the last 6 h"},
		"events --since 2026-12-04T10:00+01:00": {time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC), "No events of the stack since 2026-12-04 09:00:00 UTC"},
	} {
		engine.events = nil
		rep := c.Run(context.Background(), Request{Line: line, User: "U1", Via: ViaConsole})
		if rep.Status != StatusOK || rep.Title != want.title || len(engine.events) != 1 || !engine.events[0].Equal(want.since) {
			t.Errorf("%q: %s %q since %v, want %q since %v", line, rep.Status, rep.Title, engine.events, want.title, want.since)
		}
	}
}

// help logs shows the absolute form of --since and --until.
func TestHelpLogsMentionsAbsoluteTimes(t *testing.T) {
	c, _ := watchedCatalogue(t, "environments:\n  prod: {}\n")
	for _, line := range []string{"help logs", "help events"} {
		out := replyText(c.Run(context.Background(), Request{Line: line, User: "U1", Via: ViaConsole}))
		for _, want := range []string{"D|TIME", "2026-12-04T10:00", "RFC 3339", "at most 7d back"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q:\n%s", line, want, out)
			}
		}
	}
}
