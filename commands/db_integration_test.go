//go:build integration

package commands_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mfbot/adapters/monitorfish"
	"mfbot/adapters/postgres"
	"mfbot/commands"
	"mfbot/config"
	"mfbot/reply"
	"mfbot/testenv"
)

// The db and health verbs against the shared fixture database
// (monitorfishdb, read through mfbot's read-only role) and the compose
// stack's fake backend.

func fixtureCatalogue(t *testing.T) (*commands.Catalogue, testenv.Stack, testenv.MonitorFishDB) {
	t.Helper()
	stack := testenv.Require(t)
	mfdb := testenv.RequireMonitorFishDB(t)
	cfg, err := config.Load(stack.WriteConfig(t, ""), func(name string) (string, bool) {
		if name == "ENV_DB_URL" {
			return mfdb.JDBC, true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	var envs []*commands.Environment
	for _, e := range cfg.Environments {
		env := &commands.Environment{Config: e, App: monitorfish.New(e.AppURL, 0)}
		if e.Database != nil {
			db, err := postgres.New(*e.Database, postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(db.Close)
			env.DB = db
		}
		envs = append(envs, env)
	}
	c, err := commands.New(cfg, envs, commands.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c, stack, mfdb
}

func runOK(t *testing.T, c *commands.Catalogue, line string) (reply.Reply, string) {
	t.Helper()
	rep := run(t, c, line, false)
	out := text(rep)
	t.Logf("%s →\n%s", line, out)
	if rep.Status != reply.StatusOK {
		t.Fatalf("%s: %s\n%s", line, rep.Status, out)
	}
	return rep, out
}

func TestDbStatusAgainstTheFixture(t *testing.T) {
	c, _, mfdb := fixtureCatalogue(t)
	_, out := runOK(t, c, "db status")
	for _, want := range []string{"Reachable: yes, PostgreSQL ", "monitorfishdb at 127.0.0.1:", "postgis 3.", "Last migration: V", ", success", "Connections: "} {
		if !strings.Contains(out, want) {
			t.Errorf("db status lacks %q", want)
		}
	}
	if strings.Contains(out, mfdb.Password) {
		t.Error("db status shows the password")
	}
}

func TestDbTablesAgainstTheFixture(t *testing.T) {
	c, _, _ := fixtureCatalogue(t)
	rep, _ := runOK(t, c, "db tables")
	tbl := rep.Blocks[0].(*reply.Table)
	found := false
	for _, r := range tbl.Rows {
		if r[0] == "positions" {
			found = true
			if !strings.HasPrefix(r[1], "~") && r[1] != "never analyzed" || !strings.HasSuffix(r[2], "B") {
				t.Errorf("positions row %q", r)
			}
		}
	}
	if !found {
		t.Errorf("db tables does not list positions: %q", tbl.Rows)
	}
}

// A pg_sleep(30) started from the admin role shows in db activity with
// its duration; it is cancelled at the end.
func TestDbActivityShowsASleepingQuery(t *testing.T) {
	c, _, mfdb := fixtureCatalogue(t)
	ctx, cancel := context.WithCancel(context.Background())
	cfg, err := pgx.ParseConfig(mfdb.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["application_name"] = "mfbot-db-activity-test"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := conn.Exec(ctx, "SELECT pg_sleep(30)")
		done <- err
	}()
	t.Cleanup(func() {
		cancel() // pgx cancels the running query on the server
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the pg_sleep was not cancelled")
		}
		conn.Close(context.Background())
	})
	time.Sleep(2500 * time.Millisecond)
	rep, _ := runOK(t, c, "db activity --over 2s")
	if !strings.Contains(rep.Title, "running longer than 2 s") {
		t.Errorf("title %q", rep.Title)
	}
	var row []string
	for _, r := range rep.Blocks[0].(*reply.Table).Rows {
		if strings.Contains(r[6], "pg_sleep(30)") {
			row = r
		}
	}
	if row == nil {
		t.Fatal("db activity does not show the pg_sleep(30)")
	}
	if !strings.HasSuffix(row[1], " s") || row[2] != "active" || row[4] != "mfbot-db-activity-test" {
		t.Errorf("row %q: want a duration in seconds, active, the application name", row)
	}
	// A higher threshold leaves it out; db status names it as the longest.
	rep, _ = runOK(t, c, "db activity --over 5m")
	if !strings.HasPrefix(rep.Title, "No query running longer than 5 min") {
		t.Errorf("title %q", rep.Title)
	}
	_, out := runOK(t, c, "db status")
	if !strings.Contains(out, "Longest query: ") || !strings.Contains(out, "pg_sleep(30)") {
		t.Errorf("db status does not name the sleeping query as the longest:\n%s", out)
	}
}

// setFreshness drives the fake backend's healthcheck (/control/freshness).
func setFreshness(t *testing.T, appURL, query string) {
	t.Helper()
	resp, err := http.Get(appURL + "/control/freshness?" + query)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/control/freshness?%s: %s %s", query, resp.Status, body)
	}
}

func TestHealthAgainstTheFakeApp(t *testing.T) {
	c, stack, _ := fixtureCatalogue(t)
	setFreshness(t, stack.AppURL, "reset=1")
	t.Cleanup(func() { setFreshness(t, stack.AppURL, "reset=1") })

	rep, out := runOK(t, c, "health")
	if rep.Title != "local: app up, data fresh" || !strings.Contains(out, "Data facts from the app healthcheck") {
		t.Errorf("fresh health:\n%s", out)
	}
	if strings.Contains(out, "FAILING") || strings.Contains(out, "DOWN") {
		t.Errorf("something fails while all is fresh:\n%s", out)
	}

	setFreshness(t, stack.AppURL, "positions=10m")
	rep = run(t, c, "health", false)
	out = text(rep)
	t.Logf("stale health →\n%s", out)
	if rep.Status != reply.StatusFailed || rep.Title != "local: positions stale" {
		t.Errorf("stale health: %s %q", rep.Status, rep.Title)
	}
	if !strings.Contains(out, "Last position received | FAILING | 10 min ago (limit 5 min)") {
		t.Errorf("no failing positions line:\n%s", out)
	}
}
