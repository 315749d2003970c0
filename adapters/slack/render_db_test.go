package slack

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mfbot/commands"
	"mfbot/config"
	"mfbot/database"
	"mfbot/freshness"
	"mfbot/reply"
)

// The Slack rendering of `db status` and `health`, as the catalogue
// makes them (fixed database and app answers, clock at renderNow), kept
// in golden files testdata/db-*.golden.json and health-*.golden.json
// (go test -update rewrites them, like TestRenderGolden's).

type goldenDB struct{ facts freshness.Facts }

func (goldenDB) Status(context.Context) (database.Status, error) {
	return database.Status{
		ServerVersion: "16.4 (Debian 16.4-1.pgdg120+2)", Database: "monitorfishdb",
		StartedAt: renderNow.Add(-(41*24 + 3) * time.Hour), SizeBytes: 48 << 30,
		Extensions:  []database.Extension{{Name: "plpgsql", Version: "1.0"}, {Name: "postgis", Version: "3.4.2"}, {Name: "timescaledb", Version: "2.14.2"}},
		Connections: map[string]int{"idle": 14, "active": 2, "idle in transaction": 1}, MaxConnections: 100,
		Longest: &database.Query{PID: 31337, User: "monitorfish", Application: "PostgreSQL JDBC Driver", State: "active", Duration: 47 * time.Second,
			Text: "SELECT p.* FROM positions p\n  JOIN last_positions lp ON lp.internal_reference_number = p.internal_reference_number\n WHERE p.date_time > now() - interval '2 days'"},
		LastMigration: &database.Migration{Version: "1.54.2", Description: "Add index on reportings", InstalledOn: time.Date(2025, 3, 10, 8, 2, 11, 0, time.UTC), Success: true},
	}, nil
}

func (goldenDB) Tables(context.Context) ([]database.Table, error) { return nil, nil }

func (goldenDB) Activity(context.Context, time.Duration) ([]database.Query, error) { return nil, nil }

func (g goldenDB) Freshness(context.Context) (freshness.Facts, error) { return g.facts, nil }

type goldenApp struct {
	facts freshness.Facts
	err   error
}

func (goldenApp) Version(context.Context) (map[string]string, error) {
	return nil, errors.New("unused")
}

func (a goldenApp) Healthcheck(context.Context) (freshness.Facts, error) { return a.facts, a.err }

func goldenCatalogue(t *testing.T, db database.Reader, app commands.AppProbe) *commands.Catalogue {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mfbot.yaml")
	yaml := "environments:\n  prod:\n    app_url: http://monitorfish_backend:8880\n" +
		"    database_url: jdbc:postgresql://monitorfish_database:5432/monitorfishdb?user=readaccess&password=Sup3rS3cr3t-db\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	env := &commands.Environment{Config: cfg.Environments[0], DB: db, App: app}
	c, err := commands.New(cfg, []*commands.Environment{env}, commands.Options{Now: func() time.Time { return renderNow }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func dbRenderCases(t *testing.T) []renderCase {
	fresh := freshness.Facts{LastPositionReceived: renderNow.Add(-40 * time.Second), LastPositionUpdated: renderNow.Add(-70 * time.Second),
		LastLogbookMessage: renderNow.Add(-3 * time.Minute), SuddenDropKnown: true}
	stale := fresh
	stale.LastPositionReceived = renderNow.Add(-17 * time.Minute)
	run := func(c *commands.Catalogue, line string) reply.Reply {
		return c.Run(context.Background(), commands.Request{Line: line, User: "U0123VIEWER", Via: commands.ViaSocket})
	}
	notPublic := func(t *testing.T, m Message) {
		if m.Ephemeral {
			t.Error("a report is posted in the channel, not as an ephemeral error")
		}
	}
	return []renderCase{
		{name: "db-status", reply: run(goldenCatalogue(t, goldenDB{}, goldenApp{facts: fresh}), "db status"), check: func(t *testing.T, m Message) {
			notPublic(t, m)
			raw := mustJSON(t, m.Blocks)
			for _, want := range []string{"postgis 3.4.2", "timescaledb 2.14.2", "V1.54.2 Add index on reportings", "17 (server max 100)"} {
				if !strings.Contains(raw, want) {
					t.Errorf("blocks lack %q", want)
				}
			}
			if strings.Contains(raw, "Sup3rS3cr3t") {
				t.Error("the password shows")
			}
		}},
		{name: "health-stale-from-database", reply: run(goldenCatalogue(t, goldenDB{facts: stale},
			goldenApp{err: errors.New("GET /api/v1/healthcheck: HTTP 503: Could not fetch healthcheck data")}), "health"),
			check: func(t *testing.T, m Message) {
				notPublic(t, m)
				if !strings.HasPrefix(m.Text, "❌ prod: app healthcheck down, positions stale") {
					t.Errorf("text %q: a failing health report is red", m.Text)
				}
				raw := mustJSON(t, m.Blocks)
				for _, want := range []string{"positions stale", "FAILING", "17 min ago (limit 5 min)", "from the database"} {
					if !strings.Contains(raw, want) {
						t.Errorf("blocks lack %q", want)
					}
				}
			}},
		{name: "health-fresh", reply: run(goldenCatalogue(t, goldenDB{facts: fresh}, goldenApp{facts: fresh}), "health"), check: func(t *testing.T, m Message) {
			notPublic(t, m)
			if m.Text != "✅ prod: app up, data fresh" {
				t.Errorf("text %q", m.Text)
			}
		}},
	}
}
