package commands_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"mfbot/adapters/postgres"
	. "mfbot/commands"
	"mfbot/config"
	"mfbot/database"
	"mfbot/freshness"
	. "mfbot/reply"
)

// dbNow is the fixed clock of the db and health tests.
var dbNow = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// fakeDB is a database.Reader with canned answers; it records the
// thresholds `db activity` asks for and counts its calls.
type fakeDB struct {
	mu       sync.Mutex
	status   database.Status
	tables   []database.Table
	queries  []database.Query
	facts    freshness.Facts
	err      error // returned by every method when set
	factsErr error
	overs    []time.Duration
	calls    int
}

func (f *fakeDB) Status(context.Context) (database.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.status, f.err
}

func (f *fakeDB) Tables(context.Context) ([]database.Table, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.tables, f.err
}

func (f *fakeDB) Activity(_ context.Context, over time.Duration) ([]database.Query, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.overs = append(f.overs, over)
	return f.queries, f.err
}

func (f *fakeDB) Freshness(context.Context) (freshness.Facts, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return freshness.Facts{}, f.err
	}
	return f.facts, f.factsErr
}

// fakeApp is the backend's healthcheck and /version.
type fakeApp struct {
	facts freshness.Facts
	err   error
}

func (a *fakeApp) Version(context.Context) (map[string]string, error) {
	return map[string]string{"version": "1.54.2"}, nil
}

func (a *fakeApp) Healthcheck(context.Context) (freshness.Facts, error) { return a.facts, a.err }

const dbYAML = `environments:
  local:
    database_url: jdbc:postgresql://db.example:5433/monitorfishdb?user=readaccess&password=Sup3rS3cr3t-db
  prod: {}
default_environment: local
`

// dbCatalogue wires db (nil: none configured) and app (nil: no app_url)
// into the environment local of yaml; other environments get neither.
func dbCatalogue(t *testing.T, yaml string, db database.Reader, app AppProbe) *Catalogue {
	t.Helper()
	cfg := loadConfig(t, yaml)
	var envs []*Environment
	for _, e := range cfg.Environments {
		env := &Environment{Config: e, Docker: &recordingEngine{}}
		if e.Name == "local" {
			env.DB, env.App = db, app
		}
		envs = append(envs, env)
	}
	c, err := New(cfg, envs, Options{Now: func() time.Time { return dbNow }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func runAs(c *Catalogue, line string) (Reply, string) {
	rep := c.Run(context.Background(), Request{Line: line, User: "U1", Via: ViaConsole})
	return rep, replyText(rep)
}

func mustContain(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func fieldValue(t *testing.T, rep Reply, label string) string {
	t.Helper()
	for _, b := range rep.Blocks {
		if f, ok := b.(*Fields); ok {
			for _, fl := range f.Fields {
				if fl.Label == label {
					return fl.Value
				}
			}
		}
	}
	t.Fatalf("no field %q in:\n%s", label, replyText(rep))
	return ""
}

func sampleStatus() database.Status {
	return database.Status{
		ServerVersion: "16.4 (Debian 16.4-1.pgdg120+2)", Database: "monitorfishdb",
		StartedAt: dbNow.Add(-(3*24 + 4) * time.Hour), SizeBytes: 1288490188,
		Extensions:  []database.Extension{{Name: "plpgsql", Version: "1.0"}, {Name: "postgis", Version: "3.4.2"}, {Name: "timescaledb", Version: "2.14.2"}, {Name: "pg_trgm", Version: "1.6"}},
		Connections: map[string]int{"idle": 8, "active": 3, "idle in transaction": 1}, MaxConnections: 100,
		Longest: &database.Query{PID: 4242, User: "monitorfish", Application: "PostgreSQL JDBC Driver", State: "active",
			Duration: 2*time.Minute + 5*time.Second,
			Text:     "SELECT *\n  FROM positions\n WHERE internal_reference_number = $1 AND password = 'hunter2-secret' ORDER BY date_time DESC"},
		LastMigration: &database.Migration{Version: "1.54.2", Description: "Add index on positions", InstalledOn: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC), Success: true},
	}
}

func TestDbStatusShowsEverythingOperatorsLookFor(t *testing.T) {
	c := dbCatalogue(t, dbYAML, &fakeDB{status: sampleStatus()}, nil)
	rep, out := runAs(c, "db status")
	if rep.Status != StatusOK {
		t.Fatalf("%s:\n%s", rep.Status, out)
	}
	if rep.Title != "Database of local: reachable, PostgreSQL 16.4" {
		t.Errorf("title %q", rep.Title)
	}
	for label, want := range map[string]string{
		"Reachable":      "yes, PostgreSQL 16.4 (Debian 16.4-1.pgdg120+2)",
		"Database":       "monitorfishdb at db.example:5433, 1.2GiB",
		"Up":             "3 d 4 h (since 2025-03-11 05:26:53 UTC)",
		"Extensions":     "timescaledb 2.14.2, postgis 3.4.2, pg_trgm 1.6",
		"Connections":    "12 (server max 100): 8 idle, 3 active, 1 idle in transaction",
		"Longest query":  "2 min, pid 4242 monitorfish (PostgreSQL JDBC Driver): SELECT * FROM positions WHERE internal_reference_number = $1 AND password = '[REDACTED]'",
		"Last migration": "V1.54.2 Add index on positions, installed 2025-03-01 10:00:00 UTC, success",
	} {
		got := fieldValue(t, rep, label)
		if label == "Longest query" {
			if !strings.HasPrefix(got, want) || len([]rune(got)) > 200 || strings.Contains(got, "hunter2") {
				t.Errorf("%s = %q, want prefix %q, redacted and short", label, got, want)
			}
			continue
		}
		if got != want {
			t.Errorf("%s = %q, want %q", label, got, want)
		}
	}
	if strings.Contains(out, "Sup3rS3cr3t") {
		t.Errorf("the password shows:\n%s", out)
	}
}

func TestDbStatusSaysWhatIsMissing(t *testing.T) {
	st := sampleStatus()
	st.Extensions = []database.Extension{{Name: "plpgsql", Version: "1.0"}}
	st.Longest, st.Connections = nil, map[string]int{}
	st.LastMigration = &database.Migration{Version: "1.55.0", Description: "Broken", InstalledOn: dbNow, Success: false}
	st.InRecovery = true
	c := dbCatalogue(t, dbYAML, &fakeDB{status: st}, nil)
	rep, out := runAs(c, "db status")
	if rep.Status != StatusOK || rep.Title != "Database of local: reachable, but the last Flyway migration FAILED" {
		t.Errorf("a failed migration is not in the title: %s %q", rep.Status, rep.Title)
	}
	mustContain(t, out, "timescaledb not installed, postgis not installed", "none running", "standby (in recovery)",
		"0 (server max 100): none but mfbot's", "V1.55.0 Broken, installed 2025-03-14 09:26:53 UTC, FAILED")
	st.LastMigration = nil
	_, out = runAs(dbCatalogue(t, dbYAML, &fakeDB{status: st}, nil), "db status")
	mustContain(t, out, "none (no flyway_schema_history table, or it is empty)")
}

func TestDbTablesLargestFirst(t *testing.T) {
	db := &fakeDB{tables: []database.Table{
		{Schema: "public", Name: "vessels", RowEstimate: 41234, TotalBytes: 12 << 20},
		{Schema: "public", Name: "positions", RowEstimate: 1000000, TotalBytes: 3 << 30, Hypertable: true, Chunks: 52},
		{Schema: "public", Name: "beacons", RowEstimate: -1, TotalBytes: 8192},
		{Schema: "analytics", Name: "ais_positions", RowEstimate: 12, TotalBytes: 40 << 20, Hypertable: true, Chunks: 1},
	}}
	c := dbCatalogue(t, dbYAML, db, nil)
	rep, _ := runAs(c, "db tables")
	if rep.Status != StatusOK || rep.Title != "Tables of monitorfishdb at db.example:5433 in local: 4, 3.1GiB in all" {
		t.Fatalf("%s %q", rep.Status, rep.Title)
	}
	tbl := rep.Blocks[0].(*Table)
	wantRow(t, tbl.Header, "table", "rows (estimate)", "total size", "hypertable")
	want := [][]string{
		{"positions", "~1,000,000", "3.0GiB", "yes, 52 chunks"},
		{"analytics.ais_positions", "~12", "40.0MiB", "yes, 1 chunk"},
		{"vessels", "~41,234", "12.0MiB", ""},
		{"beacons", "never analyzed", "8.0KiB", ""},
	}
	if len(tbl.Rows) != len(want) {
		t.Fatalf("rows %q", tbl.Rows)
	}
	for i := range want {
		wantRow(t, tbl.Rows[i], want[i]...)
	}
}

func TestDbActivityThresholdRedactionAndShortening(t *testing.T) {
	long := "SELECT pg_sleep(30) /* " + strings.Repeat("padding ", 60) + "*/"
	db := &fakeDB{queries: []database.Query{
		{PID: 77, User: "mfbot_test", Application: "psql", State: "active", WaitEvent: "Timeout:PgSleep", Duration: 12 * time.Second, Text: long},
		{PID: 78, User: "monitorfish", State: "idle in transaction", Duration: 6 * time.Second,
			Text: "UPDATE vessels\nSET x = 1 -- jdbc:postgresql://db:5432/monitorfishdb?user=u&password=Sup3rS3cr3t-q"},
	}}
	c := dbCatalogue(t, dbYAML, db, nil)
	rep, out := runAs(c, "db activity")
	if rep.Status != StatusOK || rep.Title != "2 queries running longer than 5 s in local" {
		t.Fatalf("%s %q\n%s", rep.Status, rep.Title, out)
	}
	tbl := rep.Blocks[0].(*Table)
	wantRow(t, tbl.Header, "pid", "running for", "state", "user", "application", "waiting on", "query")
	r0 := tbl.Rows[0]
	if r0[0] != "77" || r0[1] != "12 s" || len([]rune(r0[6])) != 200 || !strings.HasPrefix(r0[6], "SELECT pg_sleep(30) /* padding") || !strings.HasSuffix(r0[6], "…") {
		t.Errorf("first row %q", r0)
	}
	r1 := tbl.Rows[1]
	if strings.Contains(r1[6], "\n") || strings.Contains(r1[6], "Sup3rS3cr3t") || !strings.Contains(r1[6], "UPDATE vessels SET x = 1") {
		t.Errorf("second row's query not on one line, redacted: %q", r1[6])
	}
	runAs(c, "db activity --over 30s")
	runAs(c, "db activity --over=0s")
	if len(db.overs) != 3 || db.overs[0] != 5*time.Second || db.overs[1] != 30*time.Second || db.overs[2] != 0 {
		t.Errorf("thresholds asked %v, want [5s 30s 0s]", db.overs)
	}
	db.queries = nil
	rep, _ = runAs(c, "db activity --over 1m")
	if rep.Status != StatusOK || rep.Title != "No query running longer than 1 min in local" {
		t.Errorf("%s %q", rep.Status, rep.Title)
	}
}

func TestDbBadInputIsAUsageErrorListingTheSubCommands(t *testing.T) {
	db := &fakeDB{}
	c := dbCatalogue(t, dbYAML, db, nil)
	for line, want := range map[string]string{
		"db":                     "Which one? db status, db tables, db activity.",
		"db foo":                 `Unknown db command "foo". db commands: status, tables, activity.`,
		"db status now":          `db status takes no argument, got "now".`,
		"db tables --over 5s":    "--over applies to db activity only.",
		"db activity --over 2d":  "--over: at most 1d",
		"db activity --over abc": "--over",
	} {
		rep, out := runAs(c, line)
		if rep.Status != StatusUsage || !strings.Contains(out, want) || !strings.Contains(out, "Usage: db status|tables|activity [--over D]") {
			t.Errorf("%s: %s\n%s", line, rep.Status, out)
		}
	}
	if db.calls != 0 {
		t.Errorf("bad input read the database %d times", db.calls)
	}
}

func TestDbWithoutADatabaseSaysHowToConfigureIt(t *testing.T) {
	c := dbCatalogue(t, "environments:\n  local: {}\n  prod: {}\n", nil, nil)
	rep, out := runAs(c, "db status")
	if rep.Status != StatusFailed || rep.Title != "No database configured for local" {
		t.Fatalf("%s %q", rep.Status, rep.Title)
	}
	mustContain(t, out, "set ENV_DB_URL", "environments.local.database_url")
	// ENV_DB_URL only configures the default environment: prod is told its key.
	rep, out = runAs(c, "prod db tables")
	if rep.Status != StatusFailed || strings.Contains(out, "ENV_DB_URL") || !strings.Contains(out, "environments.prod.database_url") {
		t.Errorf("%s:\n%s", rep.Status, out)
	}
}

// The real adapter against a port nobody listens on: a clear failure
// naming host, port and database, never the password, within the connect
// timeout.
func TestDbUnreachableNamesTheDatabaseNotThePassword(t *testing.T) {
	dbCfg, err := config.ParseDatabaseURL("jdbc:postgresql://127.0.0.1:1/monitorfishdb?user=readaccess&password=Sup3rS3cr3t-db")
	if err != nil {
		t.Fatal(err)
	}
	pg, err := postgres.New(dbCfg, postgres.Options{ConnectTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	c := dbCatalogue(t, "environments:\n  local:\n    database_url: jdbc:postgresql://127.0.0.1:1/monitorfishdb?user=readaccess&password=Sup3rS3cr3t-db\n", pg, nil)
	for _, sub := range []string{"status", "tables", "activity"} {
		start := time.Now()
		rep, out := runAs(c, "db "+sub)
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("db %s took %s", sub, took)
		}
		if rep.Status != StatusFailed || rep.Title != "db "+sub+" failed in local" {
			t.Errorf("%s %q", rep.Status, rep.Title)
		}
		mustContain(t, out, "monitorfishdb at 127.0.0.1:1 is unreachable")
		if strings.Contains(out, "Sup3rS3cr3t") {
			t.Errorf("the password shows:\n%s", out)
		}
	}
}

func TestDbStatementTimeoutIsSaid(t *testing.T) {
	cut := &postgres.Error{Op: "list the tables", Database: "monitorfishdb at db.example:5433", Kind: postgres.ErrStatementTimeout, Timeout: 5 * time.Second}
	c := dbCatalogue(t, dbYAML, &fakeDB{err: cut}, nil)
	rep, out := runAs(c, "db tables")
	if rep.Status != StatusFailed || !errors.Is(cut, postgres.ErrStatementTimeout) {
		t.Fatalf("%s", rep.Status)
	}
	mustContain(t, out, "db tables failed in local", "query cancelled by the statement timeout of 5 s (database monitorfishdb at db.example:5433)")
}

// Read-only verbs are open to viewers; a user who is not one is refused
// before the database is read.
func TestDbAndHealthAreOpenToViewers(t *testing.T) {
	db := &fakeDB{status: sampleStatus(), facts: freshness.Facts{LastPositionReceived: dbNow}}
	yaml := "environments:\n  local:\n    viewers: [UVIEWER]\n    operators: [UOPS]\n"
	c := dbCatalogue(t, yaml, db, nil)
	for _, line := range []string{"db status", "db tables", "db activity", "health"} {
		if rep := c.Run(context.Background(), Request{Line: line, User: "UVIEWER", Channel: "C1", Via: ViaSocket}); rep.Status != StatusOK {
			t.Errorf("viewer: %s → %s %q", line, rep.Status, rep.Title)
		}
		if rep := c.Run(context.Background(), Request{Line: line, User: "USTRANGER", Channel: "C1", Via: ViaSocket}); rep.Status != StatusDenied {
			t.Errorf("stranger: %s → %s", line, rep.Status)
		}
	}
}

func TestHelpListsDbAndHealth(t *testing.T) {
	c := dbCatalogue(t, dbYAML, nil, nil)
	_, out := runAs(c, "help")
	mustContain(t, out, "db status|tables|activity [--over D]", "health")
	_, out = runAs(c, "help db")
	mustContain(t, out, "--over", "default 5 s", "db activity --over 30s")
	_, out = runAs(c, "help health")
	mustContain(t, out, "from the database")
}
