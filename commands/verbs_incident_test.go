package commands_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"mfbot/adapters/store"
	"mfbot/audit"
	"mfbot/bot"
	. "mfbot/commands"
	"mfbot/containers"
	"mfbot/incident"
	. "mfbot/reply"
)

// storeIncidents is what bot.IncidentSummaries is to the catalogue: the
// open incidents' summaries, and the store's reads behind reports.
type storeIncidents struct{ *store.Store }

func (s storeIncidents) OpenIncidentSummaries(ctx context.Context) ([]IncidentSummary, error) {
	open, err := s.OpenIncidents(ctx)
	if err != nil {
		return nil, err
	}
	var out []IncidentSummary
	for _, inc := range open {
		out = append(out, IncidentSummary{ID: inc.ID, Env: inc.Key.Env, Source: inc.Key.Source, Target: inc.Key.Target,
			State: string(inc.State), FirstSeen: inc.FirstSeen, LastSeen: inc.LastSeen, Count: inc.Count})
	}
	return out, nil
}

const reportRolesYAML = `operators: [UOPS]
environments:
  prod:
    viewers: [UVIEW]
  dev: {}
`

var reportT0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// reportCatalogue is a catalogue over a real (in-memory) store that keeps
// incidents, thread posts and the audit log, at a fixed now.
func reportCatalogue(t *testing.T, now time.Time, incidents IncidentLister) (*Catalogue, *store.Store) {
	t.Helper()
	cfg := loadConfig(t, reportRolesYAML)
	st, err := store.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if incidents == nil {
		incidents = storeIncidents{st}
	}
	engine := &recordingEngine{containers: []containers.Container{{ID: "a1", Name: "remote_app_1", State: "running"}}}
	var envs []*Environment
	for _, e := range cfg.Environments {
		envs = append(envs, &Environment{Config: e, Docker: engine})
	}
	opts := Options{Audit: st, Confirmations: st, Mutes: st, Incidents: incidents, Now: func() time.Time { return now }}
	if reports, ok := incidents.(IncidentReports); ok {
		opts.Reports = reports
	}
	c, err := New(cfg, envs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, st
}

// recordIncident records a crash of key at at; closedAfter > 0 recovers it
// that long after.
func recordIncident(t *testing.T, st *store.Store, key incident.Key, at time.Time, closedAfter time.Duration) *incident.Incident {
	t.Helper()
	ctx := context.Background()
	r := incident.Rules{RecoveryAfter: time.Minute}
	inc, _, err := incident.Record(ctx, st, r, incident.Signal{Key: key, Kind: incident.SignalCrashed, Time: at, ExitCode: 3, HasHealthcheck: true})
	if err != nil {
		t.Fatal(err)
	}
	if closedAfter <= 0 {
		return inc
	}
	inc, _, err = incident.Record(ctx, st, r, incident.Signal{Key: key, Kind: incident.SignalHealthy, Time: at.Add(closedAfter - time.Minute), HasHealthcheck: true})
	if err != nil {
		t.Fatal(err)
	}
	closed, err := incident.TickOpen(ctx, st, r, at.Add(closedAfter))
	if err != nil || len(closed) != 1 {
		t.Fatalf("recover %s: %v, %v", key, closed, err)
	}
	return closed[0]
}

func reportFile(t *testing.T, rep Reply) *File {
	t.Helper()
	for _, b := range rep.Blocks {
		if f, ok := b.(*File); ok {
			return f
		}
	}
	t.Fatalf("no file in the reply %q:\n%s", rep.Title, replyText(rep))
	return nil
}

// TestIncidentReportGathersTheIncident: a viewer asks for the report of a
// recovered incident; the file holds the summary, the timeline, the
// actions about its target (only those) and the redacted logs, and
// nothing was changed.
func TestIncidentReportGathersTheIncident(t *testing.T) {
	now := reportT0.Add(3 * time.Hour)
	c, st := reportCatalogue(t, now, nil)
	ctx := context.Background()
	app := incident.Key{Env: "prod", Source: "docker", Target: "app"}
	inc := recordIncident(t, st, app, reportT0, 12*time.Minute)
	const secret = "hunter2-report"
	for _, p := range []incident.ThreadPost{
		{Kind: incident.PostKindLogs, Title: "Last log lines before the failure", Code: "INFO Connecting to database jdbc:postgresql://db/x?user=u&password=" + secret + "\nERROR boom", CreatedAt: reportT0.Add(time.Second)},
		{Kind: "note", Title: "a note of the thread", Text: "not logs", CreatedAt: reportT0.Add(2 * time.Second)},
	} {
		if err := st.AppendThreadPost(ctx, inc.ID, p); err != nil {
			t.Fatal(err)
		}
	}
	posts, _ := st.PendingThreadPosts(ctx, inc.ID)
	_ = st.MarkThreadPostDone(ctx, posts[0].ID) // delivered: still in the report
	for _, e := range []audit.Entry{
		{Time: reportT0.Add(-time.Hour), Env: "prod", Target: "app", Command: "prod restart app # long before", Outcome: "ok"},
		{Time: reportT0.Add(-5 * time.Minute), Env: "prod", Command: "prod deploy v1.54.0 app", Outcome: "ok", User: "UOPS"},
		{Time: reportT0.Add(time.Minute), Env: "prod", Target: "app", Command: "prod restart app", Outcome: "pending", User: "UOPS", Via: ViaSocket},
		{Time: reportT0.Add(90 * time.Second), Env: "prod", Target: "app", Command: "prod restart app", Outcome: "ok", User: "UOPS", Via: ViaButton},
		{Time: reportT0.Add(2 * time.Minute), Env: "prod", Command: "prod mute app 1h password=" + secret, Outcome: "pending", User: "UOPS"},
		{Time: reportT0.Add(150 * time.Second), Env: "prod", Command: "confirm (prod mute app 1h password=" + secret + ")", Outcome: "confirmed", User: "UOPS", Via: ViaButton},
		{Time: reportT0.Add(150 * time.Second), Env: "prod", Command: "cancel (prod mute db 1h)", Outcome: "cancelled", User: "UOPS", Via: ViaButton},
		{Time: reportT0.Add(3 * time.Minute), Env: "prod", Command: "prod mute all 30m", Outcome: "pending", User: "UOPS"},
		{Time: reportT0.Add(4 * time.Minute), Env: "prod", Command: "prod unmute", Outcome: "pending", User: "UOPS"},
		{Time: reportT0.Add(4 * time.Minute), Env: "prod", Command: "prod mute db 1h other service", Outcome: "pending", User: "UOPS"},
		{Time: reportT0.Add(4 * time.Minute), Env: "prod", Target: "db", Command: "prod restart db", Outcome: "ok", User: "UOPS"},
		{Time: reportT0.Add(4 * time.Minute), Env: "prod", Command: "prod status", Outcome: "ok", User: "UVIEW"},
		{Time: reportT0.Add(4 * time.Minute), Env: "dev", Target: "app", Command: "dev restart app", Outcome: "ok", User: "UOPS"},
		{Time: reportT0.Add(5 * time.Minute), Env: "prod", Target: "app", Command: "prod logs app --tail 200", Outcome: "ok", User: "UVIEW"},
		{Time: reportT0.Add(2 * time.Hour), Env: "prod", Target: "app", Command: "prod restart app # long after", Outcome: "ok"},
	} {
		if err := st.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}

	rep := c.Run(ctx, slack(fmt.Sprintf("prod incident %d report", inc.ID), "UVIEW", "COPS"))
	if rep.Status != StatusOK {
		t.Fatalf("a viewer's report: %s\n%s", rep.Status, replyText(rep))
	}
	text := replyText(rep)
	for _, want := range []string{fmt.Sprintf("Report of incident %d", inc.ID), "app in prod, recovered", "12 min", "1 failure", "8 actions in the audit log"} {
		if !strings.Contains(text, want) {
			t.Errorf("the reply lacks %q:\n%s", want, text)
		}
	}
	if rep.Target == nil || rep.Target.Env != "prod" || rep.Target.Service != "app" {
		t.Errorf("target %+v, want prod/app", rep.Target)
	}
	f := reportFile(t, rep)
	if f.Name != fmt.Sprintf("incident-%d-report.md", inc.ID) || f.Binary() {
		t.Errorf("file %q (%s)", f.Name, f.MediaType)
	}
	md := string(f.Content)
	for _, want := range []string{
		fmt.Sprintf("# Incident %d: app in prod", inc.ID),
		"| What | exited with code 3 |",
		"| Start | 2026-11-27 10:00:00 |",
		"| End | 2026-11-27 10:12:00 |",
		"| Duration | 12 min |",
		"| 2026-11-27 10:00:00 | exited with code 3 |",
		"| 2026-11-27 10:12:00 | recovered: up for 1m0s |",
		"from 2026-11-27 09:45:00 to 2026-11-27 10:27:00",
		"| 2026-11-27 09:55:00 | UOPS | `prod deploy v1.54.0 app` |",
		"| 2026-11-27 10:01:00 | UOPS | `prod restart app` | pending | slack-socket |",
		"| 2026-11-27 10:01:30 | UOPS | `prod restart app` | ok | button |",
		"`prod mute app 1h password=[REDACTED]`",
		"| UOPS | `confirm (prod mute app 1h password=[REDACTED])` | confirmed | button |",
		"`prod mute all 30m`",
		"`prod unmute`",
		"`prod logs app --tail 200`",
		"### Last log lines before the failure",
		"password=[REDACTED]\nERROR boom",
		"## Cause",
		"## Follow-ups",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	for _, unwanted := range []string{secret, "long before", "long after", "mute db", "restart db", "dev restart", "prod status", "a note of the thread"} {
		if strings.Contains(md, unwanted) {
			t.Errorf("the report holds %q:\n%s", unwanted, md)
		}
	}
	// It changed nothing; it is audited like any command.
	after, err := st.Incident(ctx, inc.ID)
	if err != nil || after.Version != inc.Version {
		t.Errorf("the incident changed: version %d → %d, %v", inc.Version, after.Version, err)
	}
	last, _ := st.RecentAudit(ctx, 1)
	if len(last) != 1 || last[0].Command != fmt.Sprintf("prod incident %d report", inc.ID) || last[0].Outcome != "ok" || last[0].User != "UVIEW" {
		t.Errorf("audit: %+v", last)
	}
}

// TestIncidentReportOfAnOpenIncident: the story so far, up to now.
func TestIncidentReportOfAnOpenIncident(t *testing.T) {
	now := reportT0.Add(20 * time.Minute)
	c, st := reportCatalogue(t, now, nil)
	inc := recordIncident(t, st, incident.Key{Env: "prod", Source: "docker", Target: "app"}, reportT0, 0)
	rep := c.Run(context.Background(), slack(fmt.Sprintf("incident #%d REPORT", inc.ID), "UVIEW", "COPS"))
	if rep.Status != StatusOK {
		t.Fatalf("%s\n%s", rep.Status, replyText(rep))
	}
	md := string(reportFile(t, rep).Content)
	for _, want := range []string{"| End | — (still open) |", "| Duration | 20 min so far |", "to 2026-11-27 10:20:00", "_None recorded._",
		"_No log lines were kept with this incident._"} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	if !strings.Contains(replyText(rep), "now (still open)") {
		t.Errorf("reply: %s", replyText(rep))
	}
}

// TestIncidentReportCutsLongActionLists: at most 200 actions, and it says so.
func TestIncidentReportCutsLongActionLists(t *testing.T) {
	c, st := reportCatalogue(t, reportT0.Add(time.Hour), nil)
	inc := recordIncident(t, st, incident.Key{Env: "prod", Source: "docker", Target: "app"}, reportT0, 10*time.Minute)
	for i := range 205 {
		_ = st.AppendAudit(context.Background(), audit.Entry{Time: reportT0.Add(time.Duration(i) * time.Second), Env: "prod", Target: "app",
			Command: fmt.Sprintf("prod logs app #%d", i), Outcome: "ok"})
	}
	rep := c.Run(context.Background(), slack(fmt.Sprintf("prod incident %d report", inc.ID), "UVIEW", "COPS"))
	md := string(reportFile(t, rep).Content)
	if !strings.Contains(md, "#199`") || strings.Contains(md, "#200`") || !strings.Contains(md, "_Only the first 200 are shown") {
		t.Errorf("not cut at 200, or not said:\n%s", md[strings.Index(md, "## Operators"):])
	}
}

// TestIncidentReportCapCountsActionsKept: commands about nothing in
// particular (status, help …) are read with the incident's but are not its
// actions, so they neither use up the 200 nor hide the actions after them.
func TestIncidentReportCapCountsActionsKept(t *testing.T) {
	c, st := reportCatalogue(t, reportT0.Add(time.Hour), nil)
	inc := recordIncident(t, st, incident.Key{Env: "prod", Source: "docker", Target: "app"}, reportT0, 10*time.Minute)
	for i := range 300 {
		_ = st.AppendAudit(context.Background(), audit.Entry{Time: reportT0.Add(time.Duration(i) * time.Second), Env: "prod",
			Command: fmt.Sprintf("prod status #%d", i), Outcome: "ok"})
	}
	for i := range 3 {
		_ = st.AppendAudit(context.Background(), audit.Entry{Time: reportT0.Add(6*time.Minute + time.Duration(i)*time.Second), Env: "prod", Target: "app",
			Command: fmt.Sprintf("prod restart app #%d", i), Outcome: "ok"})
	}
	rep := c.Run(context.Background(), slack(fmt.Sprintf("prod incident %d report", inc.ID), "UVIEW", "COPS"))
	md := string(reportFile(t, rep).Content)
	actions := md[strings.Index(md, "## Operators"):]
	for i := range 3 {
		if !strings.Contains(actions, fmt.Sprintf("restart app #%d`", i)) {
			t.Errorf("action #%d missing behind 300 unrelated entries:\n%s", i, actions)
		}
	}
	if strings.Contains(actions, "status #") || strings.Contains(actions, "_Only the first") {
		t.Errorf("unrelated entries shown, or a cut announced:\n%s", actions)
	}
}

func TestIncidentReportRefusals(t *testing.T) {
	c, st := reportCatalogue(t, reportT0.Add(time.Hour), nil)
	inc := recordIncident(t, st, incident.Key{Env: "prod", Source: "docker", Target: "app"}, reportT0, 10*time.Minute)
	for _, tc := range []struct {
		req    Request
		status Status
		want   string
	}{
		{slack("prod incident 999 report", "UVIEW", "COPS"), StatusUsage, "No incident 999. `incidents` lists the open ones and `incidents --closed`"},
		{slack("prod incident abc report", "UVIEW", "COPS"), StatusUsage, `"abc" is no incident ID`},
		{slack("prod incident -3 report", "UVIEW", "COPS"), StatusUsage, "is no incident ID"},
		{slack(fmt.Sprintf("prod incident %d", inc.ID), "UVIEW", "COPS"), StatusUsage, "Usage: incident <id> report"},
		{slack(fmt.Sprintf("prod incident %d summary", inc.ID), "UVIEW", "COPS"), StatusUsage, "Which incident?"},
		{slack("prod incident", "UVIEW", "COPS"), StatusUsage, "Which incident?"},
		{slack(fmt.Sprintf("dev incident %d report", inc.ID), "UVIEW", "COPS"), StatusUsage, fmt.Sprintf("Incident %d is in prod: `prod incident %d report`", inc.ID, inc.ID)},
		{slack(fmt.Sprintf("prod incident %d report", inc.ID), "USTRANGER", "COPS"), StatusDenied, "viewer role in prod"},
	} {
		rep := c.Run(context.Background(), tc.req)
		if rep.Status != tc.status || !strings.Contains(replyText(rep), tc.want) {
			t.Errorf("%s by %s: %s, want %s with %q:\n%s", tc.req.Line, tc.req.User, rep.Status, tc.status, tc.want, replyText(rep))
		}
		for _, b := range rep.Blocks {
			if _, ok := b.(*File); ok {
				t.Errorf("%s: a file in a refusal", tc.req.Line)
			}
		}
	}
}

// TestIncidentReportWithoutTheStore: the console has no incidents.
func TestIncidentReportWithoutTheStore(t *testing.T) {
	c, _ := testCatalogue(t, "prod")
	for _, line := range []string{"incident 1 report", "incidents --closed"} {
		rep := c.Run(context.Background(), Request{Line: line, User: "console:me", Via: ViaConsole})
		if rep.Status != StatusFailed || !strings.Contains(replyText(rep), "need the store") {
			t.Errorf("%s: %s\n%s", line, rep.Status, replyText(rep))
		}
	}
	// A lister without the reads of reports (an older wiring).
	c, _ = reportCatalogue(t, reportT0, staticIncidents{})
	if rep := c.Run(context.Background(), slack("prod incident 1 report", "UVIEW", "COPS")); rep.Status != StatusFailed || !strings.Contains(replyText(rep), "need the store") {
		t.Errorf("without IncidentReports: %s\n%s", rep.Status, replyText(rep))
	}
}

// failingReports fails the read named by failing.
type failingReports struct {
	storeIncidents
	failing string
}

var errStoreDown = errors.New("store down")

func (f failingReports) Incident(ctx context.Context, id int64) (*incident.Incident, error) {
	if f.failing == "incident" {
		return nil, errStoreDown
	}
	return f.storeIncidents.Incident(ctx, id)
}

func (f failingReports) ClosedIncidents(ctx context.Context, since time.Time, limit int) ([]*incident.Incident, error) {
	if f.failing == "closed" {
		return nil, errStoreDown
	}
	return f.storeIncidents.ClosedIncidents(ctx, since, limit)
}

func (f failingReports) IncidentThreadPosts(ctx context.Context, id int64) ([]incident.ThreadPost, error) {
	if f.failing == "posts" {
		return nil, errStoreDown
	}
	return f.storeIncidents.IncidentThreadPosts(ctx, id)
}

func (f failingReports) AuditAbout(ctx context.Context, env, target string, from, to time.Time, limit int) ([]audit.Entry, error) {
	if f.failing == "audit" {
		return nil, errStoreDown
	}
	return f.storeIncidents.AuditAbout(ctx, env, target, from, to, limit)
}

func TestIncidentReportStoreFailures(t *testing.T) {
	st, err := store.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	inc := recordIncident(t, st, incident.Key{Env: "prod", Source: "docker", Target: "app"}, reportT0, 10*time.Minute)
	for failing, want := range map[string]string{
		"incident": fmt.Sprintf("read incident %d: store down", inc.ID),
		"audit":    fmt.Sprintf("read the audit log for incident %d: store down", inc.ID),
		"posts":    fmt.Sprintf("read the thread of incident %d: store down", inc.ID),
		"closed":   "list the closed incidents: store down",
	} {
		c, _ := reportCatalogue(t, reportT0.Add(time.Hour), failingReports{storeIncidents{st}, failing})
		line := fmt.Sprintf("prod incident %d report", inc.ID)
		if failing == "closed" {
			line = "incidents --closed"
		}
		rep := c.Run(context.Background(), slack(line, "UVIEW", "COPS"))
		if rep.Status != StatusFailed || !strings.Contains(replyText(rep), want) {
			t.Errorf("%s failing: %s, want failed with %q:\n%s", failing, rep.Status, want, replyText(rep))
		}
	}
}

// TestIncidentsClosed: `incidents --closed` lists the incidents closed in
// its window (7 days unless --since says, at most 30), with their IDs.
func TestIncidentsClosed(t *testing.T) {
	now := reportT0.Add(40 * 24 * time.Hour)
	c, st := reportCatalogue(t, now, nil)
	recent := recordIncident(t, st, incident.Key{Env: "prod", Source: "docker", Target: "app"}, now.Add(-24*time.Hour), 12*time.Minute)
	older := recordIncident(t, st, incident.Key{Env: "dev", Source: "freshness", Target: "positions-received"}, now.Add(-10*24*time.Hour), 3*time.Hour)
	ancient := recordIncident(t, st, incident.Key{Env: "prod", Source: "docker", Target: "db"}, now.Add(-35*24*time.Hour), time.Hour)
	open := recordIncident(t, st, incident.Key{Env: "prod", Source: "docker", Target: "geoserver"}, now.Add(-time.Hour), 0)
	row := func(inc *incident.Incident) string {
		return fmt.Sprintf("%d %s %s/%s recovered %s", inc.ID, inc.Key.Env, inc.Key.Source, inc.Key.Target, inc.FirstSeen.Format("01-02 15:04"))
	}
	run := func(line string) (Reply, string) {
		rep := c.Run(context.Background(), slack(line, "UVIEW", "COPS"))
		return rep, replyText(rep)
	}

	rep, text := run("incidents --closed")
	if rep.Status != StatusOK || !strings.Contains(text, "1 incident closed in the last 7 d") || !strings.Contains(text, row(recent)+" 12 min 1") ||
		strings.Contains(text, row(older)) || strings.Contains(text, fmt.Sprintf("\n%d ", open.ID)) || !strings.Contains(text, "incident <id> report") {
		t.Errorf("default window:\n%s", text)
	}
	_, text = run("prod incidents --closed --since 30d")
	if !strings.Contains(text, "2 incidents closed in the last 30 d") || !strings.Contains(text, row(recent)) || !strings.Contains(text, row(older)+" 3 h 1") ||
		strings.Contains(text, row(ancient)) {
		t.Errorf("30 days:\n%s", text)
	}
	if strings.Index(text, row(recent)) > strings.Index(text, row(older)) {
		t.Errorf("not the most recently closed first:\n%s", text)
	}
	_, text = run("incidents --closed --since 1h")
	if !strings.Contains(text, "No incident closed in the last 1 h") {
		t.Errorf("an empty window:\n%s", text)
	}
	for line, want := range map[string]string{
		"incidents --closed --since 31d": "30d",
		"incidents --closed --since 0s":  "--since must be more than 0",
		"incidents --since 3d":           "--since goes with --closed",
		"incidents --closed --since":     "--since needs a duration",
	} {
		if rep, text := run(line); rep.Status != StatusUsage || !strings.Contains(text, want) {
			t.Errorf("%s: %s, want usage with %q:\n%s", line, rep.Status, want, text)
		}
	}

	// Plain `incidents` still lists the open ones and mutes, with their IDs.
	rep, text = run("incidents")
	if rep.Status != StatusOK || !strings.Contains(text, fmt.Sprintf("%d prod docker/geoserver open", open.ID)) || strings.Contains(text, "docker/app") {
		t.Errorf("incidents:\n%s", text)
	}
}

// TestIncidentsClosedIsBounded: at most 50 listed, and the title says
// there are more.
func TestIncidentsClosedIsBounded(t *testing.T) {
	now := reportT0.Add(24 * time.Hour)
	c, st := reportCatalogue(t, now, nil)
	for i := range 52 {
		recordIncident(t, st, incident.Key{Env: "prod", Source: "docker", Target: fmt.Sprintf("svc-%02d", i)}, reportT0.Add(time.Duration(i)*time.Minute), 5*time.Minute)
	}
	rep := c.Run(context.Background(), slack("incidents --closed", "UVIEW", "COPS"))
	var table *Table
	for _, b := range rep.Blocks {
		if t, ok := b.(*Table); ok {
			table = t
		}
	}
	if table == nil || len(table.Rows) != 50 || !strings.Contains(rep.Title, "The 50 incidents closed last") || table.Rows[0][2] != "docker/svc-51" {
		t.Fatalf("%q, %d rows", rep.Title, len(table.Rows))
	}
}

// summariesAndReports is the wiring of `mfbot run`: bot.IncidentSummaries
// as Options.Incidents, the store as Options.Reports.
type summariesAndReports struct {
	bot.IncidentSummaries
	*store.Store
}

func (s summariesAndReports) OpenIncidentSummaries(ctx context.Context) ([]IncidentSummary, error) {
	return s.IncidentSummaries.OpenIncidentSummaries(ctx)
}

// TestBotIncidentSummariesServeReports: the wiring of `mfbot run`
// (bot.IncidentSummaries and the store) serves reports and lists IDs;
// without Reports, reports say they need the store.
func TestBotIncidentSummariesServeReports(t *testing.T) {
	st, err := store.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	closed := recordIncident(t, st, incident.Key{Env: "prod", Source: "docker", Target: "app"}, reportT0, 10*time.Minute)
	open := recordIncident(t, st, incident.Key{Env: "prod", Source: "docker", Target: "db"}, reportT0, 0)

	c, _ := reportCatalogue(t, reportT0.Add(time.Hour), summariesAndReports{bot.IncidentSummaries{Store: st}, st})
	if rep := c.Run(context.Background(), slack(fmt.Sprintf("prod incident %d report", closed.ID), "UVIEW", "COPS")); rep.Status != StatusOK {
		t.Errorf("report: %s\n%s", rep.Status, replyText(rep))
	}
	if text := replyText(c.Run(context.Background(), slack("incidents --closed", "UVIEW", "COPS"))); !strings.Contains(text, fmt.Sprintf("%d prod docker/app", closed.ID)) {
		t.Errorf("closed:\n%s", text)
	}
	if text := replyText(c.Run(context.Background(), slack("incidents", "UVIEW", "COPS"))); !strings.Contains(text, fmt.Sprintf("%d prod docker/db", open.ID)) {
		t.Errorf("open, with IDs:\n%s", text)
	}

	c, _ = reportCatalogue(t, reportT0.Add(time.Hour), bot.IncidentSummaries{Store: st}) // no Reports
	for _, line := range []string{fmt.Sprintf("prod incident %d report", closed.ID), "incidents --closed"} {
		if rep := c.Run(context.Background(), slack(line, "UVIEW", "COPS")); rep.Status != StatusFailed || !strings.Contains(replyText(rep), "need the store") {
			t.Errorf("%s without Reports: %s\n%s", line, rep.Status, replyText(rep))
		}
	}
}

// TestIncidentReportOfAFlow: a flow's incident gathers the commands that
// name its flow or its failed run, stored without a target.
func TestIncidentReportOfAFlow(t *testing.T) {
	c, st := reportCatalogue(t, reportT0.Add(time.Hour), nil)
	ctx := context.Background()
	const run = "6f1c2a9e-3b4d-4c5e-8f90-1a2b3c4d5e6f"
	key := incident.Key{Env: "prod", Source: "prefect", Target: "logbook"}
	inc, _, err := incident.Record(ctx, st, incident.Rules{}, incident.Signal{Key: key, Kind: incident.SignalFailed, Time: reportT0, Ref: run, Detail: "run " + run + " failed"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []audit.Entry{
		{Time: reportT0.Add(time.Minute), Env: "prod", Command: "prod run logs " + run, Outcome: "ok"},
		{Time: reportT0.Add(2 * time.Minute), Env: "prod", Command: "prod flow run logbook", Outcome: "pending"},
		{Time: reportT0.Add(3 * time.Minute), Env: "prod", Command: "prod flow pause sales", Outcome: "pending"},
		{Time: reportT0.Add(4 * time.Minute), Env: "prod", Command: "prod runs --failed", Outcome: "ok"},
		{Time: reportT0.Add(5 * time.Minute), Env: "prod", Command: "prod runs logbook --failed", Outcome: "ok"},
	} {
		if err := st.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	rep := c.Run(ctx, slack(fmt.Sprintf("prod incident %d report", inc.ID), "UVIEW", "COPS"))
	md := string(reportFile(t, rep).Content)
	for _, want := range []string{"`prod run logs " + run + "`", "`prod flow run logbook`", "`prod runs logbook --failed`", "| Reference | `" + run + "` |", "source `prefect` · target `logbook`"} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	for _, unwanted := range []string{"flow pause sales", "runs --failed"} {
		if strings.Contains(md, unwanted) {
			t.Errorf("the report holds %q:\n%s", unwanted, md)
		}
	}
	if rep.Target == nil || rep.Target.Service != "" {
		t.Errorf("a flow is no service: target %+v", rep.Target)
	}
}
