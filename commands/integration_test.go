//go:build integration

package commands_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"mfbot/adapters/docker"
	"mfbot/adapters/monitorfish"
	"mfbot/commands"
	"mfbot/config"
	"mfbot/reply"
	"mfbot/testenv"
)

// The test stack's app is started with this database password in ENV_DB_URL.
const stackSecret = "Sup3rS3cr3t-test"

// catalogueFor builds the catalogue of the test stack's configuration, on
// the Docker engine at dockerHost when set (as DOCKER_HOST gives it to the
// default environment; no other variable is read).
func catalogueFor(t *testing.T, stack testenv.Stack, dockerHost string) *commands.Catalogue {
	t.Helper()
	return catalogueFromFile(t, stack.WriteConfig(t, ""), func(name string) (string, bool) {
		if name == "DOCKER_HOST" && dockerHost != "" {
			return dockerHost, true
		}
		return "", false
	})
}

// catalogueFromFile builds the catalogue of a configuration file, wired as
// mfbot wires it (each environment's engine, and its app when app_url is
// set); lookup gives the environment variables (nil: none).
func catalogueFromFile(t *testing.T, path string, lookup func(string) (string, bool)) *commands.Catalogue {
	t.Helper()
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	cfg, err := config.Load(path, lookup)
	if err != nil {
		t.Fatal(err)
	}
	var envs []*commands.Environment
	for _, e := range cfg.Environments {
		engine, err := docker.New(docker.Options{Host: e.DockerHost})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { engine.Close() })
		env := &commands.Environment{Config: e, Docker: engine}
		if e.AppURL != "" {
			env.App = monitorfish.New(e.AppURL, 0)
		}
		envs = append(envs, env)
	}
	c, err := commands.New(cfg, envs, commands.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func run(t *testing.T, c *commands.Catalogue, line string, confirmed bool) reply.Reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return c.Run(ctx, commands.Request{Line: line, User: "tester", Via: commands.ViaConsole, Confirmed: confirmed})
}

// text flattens a reply into the strings a user could see.
func text(rep reply.Reply) string {
	var b strings.Builder
	b.WriteString(rep.Title + "\n")
	for _, blk := range rep.Blocks {
		switch blk := blk.(type) {
		case *reply.Text:
			b.WriteString(blk.Text + "\n")
		case *reply.Code:
			b.WriteString(blk.Text + "\n")
		case *reply.Fields:
			for _, f := range blk.Fields {
				b.WriteString(f.Label + ": " + f.Value + "\n")
			}
		case *reply.Table:
			for _, row := range append([][]string{blk.Header}, blk.Rows...) {
				b.WriteString(strings.Join(row, " | ") + "\n")
			}
		case *reply.File:
			b.Write(blk.Content)
		}
	}
	if rep.Confirm != nil {
		b.WriteString(rep.Confirm.Prompt + "\n")
	}
	return b.String()
}

func rowOf(t *testing.T, rep reply.Reply, first string) []string {
	t.Helper()
	for _, blk := range rep.Blocks {
		if tbl, ok := blk.(*reply.Table); ok {
			for _, row := range tbl.Rows {
				if row[0] == first {
					return row
				}
			}
		}
	}
	t.Fatalf("no row %q in:\n%s", first, text(rep))
	return nil
}

func TestStatusListsTheStack(t *testing.T) {
	stack := testenv.Require(t)
	rep := run(t, catalogueFor(t, stack, ""), "status", false)
	if rep.Status != reply.StatusOK {
		t.Fatalf("status: %s\n%s", rep.Status, text(rep))
	}
	for svc, want := range map[string][]string{
		"app":             {"remote_app_1", "running", "healthy"},
		"db":              {"remote_db_1", "running", "—"},
		"pipeline-server": {"monitorfish-pipeline-server", "running"},
		"pipeline-flows":  {"monitorfish-pipeline-flows", "running"},
		"geoserver":       {"—", "no container"},
	} {
		row := rowOf(t, rep, svc)
		for i, w := range want {
			if row[i+1] != w {
				t.Errorf("%s row %v, column %d = %q, want %q", svc, row, i+1, row[i+1], w)
			}
		}
	}
	if tag := rowOf(t, rep, "app")[5]; tag != "snapshot" {
		t.Errorf("app image tag %q, want snapshot", tag)
	}
}

func TestLogsAreRedactedAndFiltered(t *testing.T) {
	stack := testenv.Require(t)
	c := catalogueFor(t, stack, "")
	// The app logs its ENV_DB_URL at start: make sure that line is recent.
	testenv.Docker(t, "restart", "-t", "5", "remote_app_1")
	testenv.WaitHealthy(t, "remote_app_1", time.Minute)
	// The burst answers with the exact secrets it wrote.
	resp, err := http.Get(stack.AppURL + "/control/burst?lines=300")
	if err != nil {
		t.Fatal(err)
	}
	var burst struct{ Secrets []string }
	err = json.NewDecoder(resp.Body).Decode(&burst)
	resp.Body.Close()
	if err != nil || len(burst.Secrets) < 5 {
		t.Fatalf("burst answered %+v, %v", burst, err)
	}

	rep := run(t, c, "logs app --tail 1000", false)
	out := text(rep)
	if rep.Status != reply.StatusOK || !strings.Contains(out, "jdbc:postgresql://db:5432/monitorfishdb") {
		t.Fatalf("logs app: %s\n%s", rep.Status, out)
	}
	for _, secret := range append(burst.Secrets, stackSecret) {
		if strings.Contains(out, secret) {
			t.Errorf("secret %q reached the reply", secret)
		}
	}
	if !strings.Contains(out, commands.Redacted) {
		t.Error("nothing was redacted, although the app logs secrets")
	}

	// A private key's inner lines are dropped, so 20 log lines may show
	// as fewer reply lines, never more.
	rep = run(t, c, "logs app --tail 20", false)
	if n := len(strings.Split(rep.Blocks[0].(*reply.Code).Text, "\n")); n < 10 || n > 20 {
		t.Errorf("--tail 20 gave %d lines", n)
	}

	rep = run(t, c, `logs app --grep "ERROR|WARN" --tail 5000 --since 10m`, false)
	lines := strings.Split(rep.Blocks[0].(*reply.Code).Text, "\n")
	if rep.Status != reply.StatusOK || len(lines) == 0 {
		t.Fatalf("grep: %s\n%s", rep.Status, text(rep))
	}
	for _, l := range lines {
		if !strings.Contains(l, "ERROR") && !strings.Contains(l, "WARN") {
			t.Errorf("--grep let through %q", l)
		}
	}
}

func TestInspectMasksSecrets(t *testing.T) {
	stack := testenv.Require(t)
	rep := run(t, catalogueFor(t, stack, ""), "inspect app", false)
	out := text(rep)
	if rep.Status != reply.StatusOK || !strings.Contains(out, "ENV_DB_URL=jdbc:postgresql://db:5432/monitorfishdb") {
		t.Fatalf("inspect: %s\n%s", rep.Status, out)
	}
	if strings.Contains(out, stackSecret) {
		t.Errorf("the database password reached the reply:\n%s", out)
	}
	for _, want := range []string{"always", "healthy", "127.0.0.1:18880", "json-file", "no memory limit, no CPU limit"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect lacks %q:\n%s", want, out)
		}
	}
}

func TestRestartAppNeedsConfirmationThenPullsAndRecreates(t *testing.T) {
	stack := testenv.Require(t)
	t.Cleanup(func() { stack.ResetApp(t) })
	stack.ResetApp(t)
	stack.PublishSnapshot(t, "v2")
	c := catalogueFor(t, stack, "")
	before := testenv.Docker(t, "inspect", "-f", "{{.Id}}", "remote_app_1")

	rep := run(t, c, "restart app", false)
	if rep.Status != reply.StatusPending || rep.Confirm == nil || rep.Confirm.Command != "local restart app" {
		t.Fatalf("unconfirmed restart: %+v", rep)
	}
	if now := testenv.Docker(t, "inspect", "-f", "{{.Id}}", "remote_app_1"); now != before {
		t.Fatal("the container changed before any confirmation")
	}

	rep = run(t, c, rep.Confirm.Command, true)
	out := text(rep)
	if rep.Status != reply.StatusOK {
		t.Fatalf("restart: %s\n%s", rep.Status, out)
	}
	v2 := testenv.ImageID(t, stack.AppImage("v2"))
	if got := testenv.Docker(t, "inspect", "-f", "{{.Image}}", "remote_app_1"); got != v2 {
		t.Fatalf("remote_app_1 runs %s after restart, want v2 %s", got, v2)
	}
	if !strings.Contains(out, "→") || !strings.Contains(out, "healthy") {
		t.Errorf("the report lacks old → new digests or health:\n%s", out)
	}
}

func TestRestartOntoABrokenReleaseOffersARollback(t *testing.T) {
	stack := testenv.Require(t)
	t.Cleanup(func() { stack.ResetApp(t) })
	stack.ResetApp(t)
	stack.PublishSnapshot(t, "broken")
	c := catalogueFor(t, stack, "")
	rep := run(t, c, "restart app", true)
	if rep.Status != reply.StatusFailed {
		t.Fatalf("restart onto a broken release: %s\n%s", rep.Status, text(rep))
	}
	var rollback *reply.Action
	for i, a := range rep.Actions {
		if a.Label == "Roll back" {
			rollback = &rep.Actions[i]
		}
	}
	v1 := testenv.ImageID(t, stack.AppImage("v1"))
	if rollback == nil || rollback.Command != "local rollback app --to "+v1 {
		t.Fatalf("actions %+v, want a Roll back to %s", rep.Actions, v1)
	}
	rep = run(t, c, rollback.Command, true)
	if rep.Status != reply.StatusOK {
		t.Fatalf("rollback: %s\n%s", rep.Status, text(rep))
	}
	if got := testenv.Docker(t, "inspect", "-f", "{{.Image}}", "remote_app_1"); got != v1 {
		t.Fatalf("after rollback remote_app_1 runs %s, want %s", got, v1)
	}
}

func TestRollbackRefusesImagesOfAnotherRepository(t *testing.T) {
	stack := testenv.Require(t)
	c := catalogueFor(t, stack, "")
	other := testenv.ImageID(t, "mfbot-test/stack:latest")
	before := testenv.Docker(t, "inspect", "-f", "{{.Id}}", "remote_app_1")
	rep := run(t, c, "rollback app --to "+other, true)
	if rep.Status != reply.StatusFailed || !strings.Contains(text(rep), "not an image of") {
		t.Fatalf("rollback to a foreign image: %s\n%s", rep.Status, text(rep))
	}
	if testenv.Docker(t, "inspect", "-f", "{{.Id}}", "remote_app_1") != before {
		t.Fatal("the container was touched")
	}
}

func TestStopAndStartAService(t *testing.T) {
	stack := testenv.Require(t)
	c := catalogueFor(t, stack, "")
	rep := run(t, c, "stop pipeline-flows", true)
	if rep.Status != reply.StatusOK || testenv.Docker(t, "inspect", "-f", "{{.State.Status}}", "monitorfish-pipeline-flows") != "exited" {
		t.Fatalf("stop: %s\n%s", rep.Status, text(rep))
	}
	rep = run(t, c, "start pipeline-flows", true)
	if rep.Status != reply.StatusOK || testenv.Docker(t, "inspect", "-f", "{{.State.Status}}", "monitorfish-pipeline-flows") != "running" {
		t.Fatalf("start: %s\n%s", rep.Status, text(rep))
	}
	rep = run(t, c, "restart db", true)
	if rep.Status != reply.StatusOK || !strings.Contains(text(rep), "restarted") {
		t.Fatalf("restart db: %s\n%s", rep.Status, text(rep))
	}
}

func TestReadOnlyCommandsAnswer(t *testing.T) {
	stack := testenv.Require(t)
	c := catalogueFor(t, stack, "")
	for line, want := range map[string]string{
		"ps":                "remote_db_1",
		"stats":             "app",
		"stats app":         "%",
		"top app":           "fakeapp",
		"events --since 1h": "start",
		"df":                "Images",
		"volumes":           "remote_db-data",
		"version":           "snapshot",
		"version app":       "app /version: ",
		"help":              "restart",
		"help logs":         "--grep",
	} {
		rep := run(t, c, line, false)
		if rep.Status != reply.StatusOK || !strings.Contains(text(rep), want) {
			t.Errorf("%s: %s, want %q in:\n%s", line, rep.Status, want, text(rep))
		}
	}
}

func TestAServiceWithoutContainer(t *testing.T) {
	stack := testenv.Require(t)
	rep := run(t, catalogueFor(t, stack, ""), "logs geoserver", false)
	if rep.Status != reply.StatusFailed || !strings.Contains(text(rep), "geoserver has no container") {
		t.Fatalf("logs geoserver: %s\n%s", rep.Status, text(rep))
	}
}

func TestBadInputRunsNothing(t *testing.T) {
	stack := testenv.Require(t)
	c := catalogueFor(t, stack, "")
	before := testenv.Docker(t, "inspect", "-f", "{{.Id}} {{.State.StartedAt}}", "remote_app_1")
	for line, want := range map[string]string{
		"restrat app":             "Unknown command",
		"restart ap":              "Unknown service \"ap\"",
		"restart app --force":     "unknown flag",
		"logs app --tail 99999":   "Usage: logs",
		"logs app --since 30d":    "7d",
		`logs app --grep "(oops"`: "regular expression",
		`logs app "unterminated`:  "quote",
		"restart":                 "Which service?",
		"restart app db":          "one service",
	} {
		rep := run(t, c, line, true)
		if rep.Status != reply.StatusUsage || !strings.Contains(text(rep), want) {
			t.Errorf("%q: %s, want usage with %q:\n%s", line, rep.Status, want, text(rep))
		}
	}
	if after := testenv.Docker(t, "inspect", "-f", "{{.Id}} {{.State.StartedAt}}", "remote_app_1"); after != before {
		t.Fatal("bad input changed the app container")
	}
}

func TestUnreachableEngineGivesAClearErrorQuickly(t *testing.T) {
	stack := testenv.Require(t)
	c := catalogueFor(t, stack, "tcp://127.0.0.1:1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rep := c.Run(ctx, commands.Request{Line: "status", User: "tester", Via: commands.ViaConsole})
	if rep.Status != reply.StatusFailed || !strings.Contains(text(rep), "unreachable") {
		t.Fatalf("status against a dead engine: %s\n%s", rep.Status, text(rep))
	}
	if ctx.Err() != nil {
		t.Fatal("the command used its whole deadline")
	}
}
