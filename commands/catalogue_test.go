package commands

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"mfbot/config"
)

// recordingEngine is an Engine whose containers are fixed and whose
// mutating calls are recorded, so tests can prove nothing ran.
type recordingEngine struct {
	Engine     // unimplemented methods panic: a test calling one is wrong
	containers []Container
	mutations  []string
	listErr    error
}

func (e *recordingEngine) Containers(context.Context) ([]Container, error) {
	return e.containers, e.listErr
}

func (e *recordingEngine) Inspect(_ context.Context, id string) (ContainerDetails, error) {
	for _, c := range e.containers {
		if c.ID == id {
			return ContainerDetails{Container: c, StartedAt: time.Now().Add(-time.Hour)}, nil
		}
	}
	return ContainerDetails{}, errors.New("no such container")
}

func (e *recordingEngine) Restart(_ context.Context, id string, _ time.Duration) error {
	e.mutations = append(e.mutations, "restart "+id)
	return nil
}

func (e *recordingEngine) Stop(_ context.Context, id string, _ time.Duration) error {
	e.mutations = append(e.mutations, "stop "+id)
	return nil
}

func (e *recordingEngine) Start(_ context.Context, id string) error {
	e.mutations = append(e.mutations, "start "+id)
	return nil
}

func (e *recordingEngine) Recreate(_ context.Context, id string, o RecreateOptions) (RecreateResult, error) {
	e.mutations = append(e.mutations, "recreate "+id)
	return RecreateResult{OldID: id, NewID: id}, nil
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
		engine := &recordingEngine{containers: []Container{
			{ID: "a1", Name: "remote_app_1", State: "running", Health: "healthy", Image: "repo/app:v1"},
			{ID: "d1", Name: "remote_db_1", State: "running", Image: "timescale/timescaledb-postgis:1.7.4-pg11"},
		}}
		engines[e.Name] = engine
		envs = append(envs, &Environment{Config: e, Docker: engine})
	}
	c, err := New(cfg, envs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, engines
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
		rep := c.Run(context.Background(), Request{Line: line, User: "U1"})
		if rep.Status != StatusPending || rep.Confirm == nil || rep.Confirm.Command != want {
			t.Errorf("%q: %s %+v, want pending with command %q", line, rep.Status, rep.Confirm, want)
		}
	}
	for env, e := range engines {
		if len(e.mutations) > 0 {
			t.Errorf("%s: ran %v without confirmation", env, e.mutations)
		}
	}
	rep := c.Run(context.Background(), Request{Line: "dev restart app --no-pull", User: "U1"})
	if !strings.Contains(rep.Confirm.Prompt, "dev") || !strings.Contains(rep.Confirm.Prompt, "no pull") {
		t.Errorf("prompt %q should name the environment and the mode", rep.Confirm.Prompt)
	}
}

func TestConfirmedCommandRunsOnce(t *testing.T) {
	c, engines := testCatalogue(t, "dev", "prod")
	rep := c.Run(context.Background(), Request{Line: "dev stop db", User: "U1", Confirmed: true})
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
		rep := c.Run(context.Background(), Request{Line: line, User: "U1", Confirmed: true})
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
	rep := c.Run(context.Background(), Request{Line: "stop", User: "U1", Default: &Target{Env: "dev", Service: "db"}})
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
	rep := c.Run(context.Background(), Request{Line: "status", User: "U1"})
	if rep.Status != StatusFailed || !strings.Contains(replyText(rep), "unreachable") {
		t.Fatalf("%s: %s", rep.Status, replyText(rep))
	}
}

func TestRepliesAreRedacted(t *testing.T) {
	c, engines := testCatalogue(t, "local")
	engines["local"].listErr = errors.New("connect postgres://mf:hunter2@db:5432/monitorfishdb: refused")
	rep := c.Run(context.Background(), Request{Line: "status", User: "U1"})
	if strings.Contains(replyText(rep), "hunter2") {
		t.Fatalf("secret in reply: %s", replyText(rep))
	}
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }
