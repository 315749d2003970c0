package commands_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"mfbot/freshness"
	. "mfbot/reply"
)

const healthYAML = `environments:
  local:
    app_url: http://app.example:8880
    database_url: jdbc:postgresql://db.example:5432/monitorfishdb?user=readaccess&password=Sup3rS3cr3t-db
alerts:
  freshness:
    positions_received: 5m
    positions_updated: 5m
    logbook_received: 10m
`

// freshFacts are facts of a healthy MonitorFish at dbNow.
func freshFacts(from string) freshness.Facts {
	return freshness.Facts{LastPositionReceived: dbNow.Add(-30 * time.Second), LastPositionUpdated: dbNow.Add(-45 * time.Second),
		LastLogbookMessage: dbNow.Add(-90 * time.Second), SuddenDropKnown: true, From: from}
}

// healthRows maps each check's label to its row.
func healthRows(t *testing.T, rep Reply) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, b := range rep.Blocks {
		if tbl, ok := b.(*Table); ok {
			for _, r := range tbl.Rows {
				out[r[0]] = r
			}
			return out
		}
	}
	t.Fatalf("no table in:\n%s", replyText(rep))
	return nil
}

func TestHealthAppUpAllFresh(t *testing.T) {
	c := dbCatalogue(t, healthYAML, &fakeDB{facts: freshFacts("")}, &fakeApp{facts: freshFacts("")})
	rep, out := runAs(c, "health")
	if rep.Status != StatusOK || rep.Title != "local: app up, data fresh" {
		t.Fatalf("%s %q\n%s", rep.Status, rep.Title, out)
	}
	rows := healthRows(t, rep)
	wantRow(t, rows["App healthcheck"], "App healthcheck", "up", "answered", "")
	wantRow(t, rows["Database"], "Database", "reachable", "answered", "")
	wantRow(t, rows["Last position received"], "Last position received", "ok", "30 s ago (limit 5 min)", "2025-03-14 09:26:23 UTC")
	wantRow(t, rows["Last positions updated by Prefect"], "Last positions updated by Prefect", "ok", "45 s ago (limit 5 min)", "2025-03-14 09:26:08 UTC")
	wantRow(t, rows["Last logbook message"], "Last logbook message", "ok", "2 min ago (limit 10 min)", "2025-03-14 09:25:23 UTC")
	wantRow(t, rows["Sudden drop of positions"], "Sudden drop of positions", "ok", "no sudden drop", "")
	mustContain(t, out, "Data facts from the app healthcheck, judged at 09:26:53 UTC.", "Thresholds: positions received 5 min, positions updated 5 min, logbook 10 min.")
	if rep.Target == nil || rep.Target.Service != "app" {
		t.Errorf("target %+v: a thread under the report should default to the app", rep.Target)
	}
}

func TestHealthStalePositionsIsAFailingReport(t *testing.T) {
	stale := freshFacts("")
	stale.LastPositionReceived = dbNow.Add(-12 * time.Minute)
	stale.SuddenDrop = true
	c := dbCatalogue(t, healthYAML, &fakeDB{facts: freshFacts("")}, &fakeApp{facts: stale})
	rep, _ := runAs(c, "health")
	if rep.Status != StatusFailed {
		t.Errorf("status %s: a health report that finds stale data is red (failed), like check's exit status", rep.Status)
	}
	if len(rep.Blocks) != 2 || rep.Title != "local: positions stale, sudden drop of positions" {
		t.Errorf("title %q", rep.Title)
	}
	rows := healthRows(t, rep)
	wantRow(t, rows["Last position received"], "Last position received", "FAILING", "12 min ago (limit 5 min)", "2025-03-14 09:14:53 UTC")
	wantRow(t, rows["Sudden drop of positions"], "Sudden drop of positions", "FAILING", "positions received dropped suddenly", "")
	wantRow(t, rows["Last logbook message"], "Last logbook message", "ok", "2 min ago (limit 10 min)", "2025-03-14 09:25:23 UTC")
}

func TestHealthAppDownReadsTheDatabase(t *testing.T) {
	dbFacts := freshFacts("")
	dbFacts.LastLogbookMessage = dbNow.Add(-25 * time.Minute)
	app := &fakeApp{err: errors.New("GET /api/v1/healthcheck: HTTP 503: Could not fetch healthcheck data")}
	c := dbCatalogue(t, healthYAML, &fakeDB{facts: dbFacts}, app)
	rep, out := runAs(c, "health")
	if rep.Status != StatusFailed || rep.Title != "local: app healthcheck down, logbook stale" {
		t.Fatalf("%s %q", rep.Status, rep.Title)
	}
	rows := healthRows(t, rep)
	wantRow(t, rows["App healthcheck"], "App healthcheck", "DOWN", "no answer (why below)", "")
	wantRow(t, rows["Database"], "Database", "reachable", "answered", "")
	wantRow(t, rows["Last logbook message"], "Last logbook message", "FAILING", "25 min ago (limit 10 min)", "2025-03-14 09:01:53 UTC")
	wantRow(t, rows["Last position received"], "Last position received", "ok", "30 s ago (limit 5 min)", "2025-03-14 09:26:23 UTC")
	mustContain(t, out, "App healthcheck: GET /api/v1/healthcheck: HTTP 503: Could not fetch healthcheck data",
		"The app healthcheck does not answer: data facts read from the database instead")
}

func TestHealthBothDownCannotBeEvaluated(t *testing.T) {
	app := &fakeApp{err: errors.New("GET http://app.example:8880/api/v1/healthcheck: connection refused")}
	db := &fakeDB{err: errors.New("read the data freshness: database monitorfishdb at db.example:5432 is unreachable: connection refused")}
	c := dbCatalogue(t, healthYAML, db, app)
	rep, out := runAs(c, "health")
	if rep.Status != StatusFailed {
		t.Errorf("status %s", rep.Status)
	}
	if rep.Title != "local: app healthcheck down, database check failed, freshness cannot be evaluated" {
		t.Errorf("title %q", rep.Title)
	}
	rows := healthRows(t, rep)
	wantRow(t, rows["Database"], "Database", "FAILING", "no answer (why below)", "")
	mustContain(t, out, "Database: read the data freshness: database monitorfishdb at db.example:5432 is unreachable: connection refused")
	for _, check := range freshness.DataChecks {
		r := rows[freshness.Label(check)]
		if r[1] != "unknown" || r[2] != "cannot be evaluated: the app healthcheck and the database are both unreachable" || r[3] != "" {
			t.Errorf("%s: %q, want unknown, never guessed", check, r)
		}
	}
	mustContain(t, out, "No source answered: the data checks cannot be evaluated (they are not guessed).")
	for label, r := range rows {
		if r[1] == "ok" {
			t.Errorf("%s is judged ok although nothing answered", label)
		}
	}
}

func TestHealthWithOnlyTheDatabase(t *testing.T) {
	yaml := "environments:\n  local:\n    database_url: postgres://db.example/monitorfishdb\n"
	c := dbCatalogue(t, yaml, &fakeDB{facts: freshFacts("")}, nil)
	rep, out := runAs(c, "health")
	if rep.Status != StatusOK || rep.Title != "local: data fresh (from the database)" {
		t.Errorf("%s %q", rep.Status, rep.Title)
	}
	wantRow(t, healthRows(t, rep)["App healthcheck"], "App healthcheck", "not configured", "no app_url for local", "")
	mustContain(t, out, "No app_url: data facts read from the database")
}

func TestHealthWithNothingConfiguredFails(t *testing.T) {
	c := dbCatalogue(t, "environments:\n  local: {}\n", nil, nil)
	rep, out := runAs(c, "health")
	if rep.Status != StatusFailed || !strings.Contains(out, "neither is configured") {
		t.Errorf("%s\n%s", rep.Status, out)
	}
}
