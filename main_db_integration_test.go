//go:build integration

package main

import (
	"net/http"
	"strings"
	"testing"

	"mfbot/testenv"
)

// `db status` and `health` end to end: the console in-process, then over
// Slack Socket Mode with the fake Slack, against the fixture database
// (ENV_DB_URL in the app's JDBC form) and the compose stack's backend.

func resetFreshness(t *testing.T, stack testenv.Stack) {
	t.Helper()
	resp, err := http.Get(stack.AppURL + "/control/freshness?reset=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestConsoleDbStatusAndHealth(t *testing.T) {
	stack := testenv.Require(t)
	mfdb := testenv.RequireMonitorFishDB(t)
	resetFreshness(t, stack)
	withStackConfig(t, stack)
	t.Setenv("ENV_DB_URL", mfdb.JDBC)

	code, out := console(t, "", "-c", "db status")
	t.Logf("db status:\n%s", out)
	if code != 0 {
		t.Fatalf("db status: exit %d\n%s", code, out)
	}
	for _, want := range []string{"Database of local: reachable, PostgreSQL", "postgis 3.", "Last migration", "V"} {
		if !strings.Contains(out, want) {
			t.Errorf("db status lacks %q", want)
		}
	}
	if strings.Contains(out, mfdb.Password) {
		t.Error("the console shows the database password")
	}

	code, out = console(t, "", "-c", "health")
	t.Logf("health:\n%s", out)
	if code != 0 || !strings.Contains(out, "local: app up, data fresh") || !strings.Contains(out, "Last position received") {
		t.Fatalf("health: exit %d\n%s", code, out)
	}
}

func TestConsoleDbWithoutADatabase(t *testing.T) {
	stack := testenv.Require(t)
	withStackConfig(t, stack)
	t.Setenv("ENV_DB_URL", "")
	code, out := console(t, "", "-c", "db tables")
	if code != 1 || !strings.Contains(out, "No database configured for local") || !strings.Contains(out, "ENV_DB_URL") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

func TestSlackDbStatusAndHealth(t *testing.T) {
	stack := testenv.Require(t)
	mfdb := testenv.RequireMonitorFishDB(t)
	resetFreshness(t, stack)
	fake := newFake(t)
	startBot(t, stack, fake, botOptions{Env: map[string]string{"ENV_DB_URL": mfdb.JDBC}})

	slash(t, fake, viewer, "db status")
	m := waitBotMessage(t, fake, "the db status reply", "Database of local: reachable", "postgis")
	if raw := m.Text + string(m.Blocks); strings.Contains(raw, mfdb.Password) || !strings.Contains(raw, "Last migration") {
		t.Errorf("db status reply:\n%s", prettyBlocks(m.Blocks))
	}

	slash(t, fake, viewer, "health")
	m = waitBotMessage(t, fake, "the health reply", "local: app up, data fresh")
	if raw := string(m.Blocks); !strings.Contains(raw, "Last position received") || !strings.Contains(raw, "Data facts from the app healthcheck") {
		t.Errorf("health reply:\n%s", prettyBlocks(m.Blocks))
	}
}
