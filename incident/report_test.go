package incident

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mfbot/audit"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var reportT0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// recoveredApp is an incident of app in prod: two crashes, a restart,
// healthy again, recovered.
func recoveredApp(t *testing.T) *Incident {
	t.Helper()
	r := Rules{RecoveryAfter: 2 * time.Minute}
	key := Key{Env: "prod", Source: "docker", Target: "app"}
	inc, _ := Apply(r, nil, Signal{Key: key, Kind: SignalCrashed, Time: reportT0, ExitCode: 1, HasHealthcheck: true, Detail: "image app:v1.54.0"})
	inc, _ = Apply(r, inc, Signal{Key: key, Kind: SignalHealthy, Time: reportT0.Add(30 * time.Second), HasHealthcheck: true})
	inc, _ = Apply(r, inc, Signal{Key: key, Kind: SignalCrashed, Time: reportT0.Add(time.Minute), ExitCode: 1, HasHealthcheck: true, Detail: "image app:v1.54.0"})
	inc, _ = Apply(r, inc, Signal{Key: key, Kind: SignalHealthy, Time: reportT0.Add(4 * time.Minute), HasHealthcheck: true})
	inc, change := Tick(r, inc, reportT0.Add(7*time.Minute))
	if change != ChangeRecovered {
		t.Fatalf("the fixture did not recover: %s", change)
	}
	inc.ID = 42
	return inc
}

func goldenReport(t *testing.T) Report {
	t.Helper()
	return Report{
		Incident: recoveredApp(t),
		Actions: []audit.Entry{
			{Time: reportT0.Add(90 * time.Second), User: "UOPERATOR1", Channel: "COPS", Env: "prod", Command: "prod restart app", Target: "app",
				Outcome: "pending", Duration: 12 * time.Millisecond, Via: "slack-socket"},
			{Time: reportT0.Add(100 * time.Second), User: "UOPERATOR1", Channel: "COPS", Env: "prod", Command: "prod restart app", Target: "app",
				Outcome: "ok", Duration: 41 * time.Second, Via: "button"},
			{Time: reportT0.Add(3 * time.Minute), User: "UVIEWER01", Channel: "COPS", Env: "prod", Command: "prod mute app 1h `deploying` | v1.54",
				Outcome: "pending", Duration: 3 * time.Millisecond, Via: "slack-socket"},
		},
		ActionsFrom: reportT0.Add(-15 * time.Minute),
		ActionsTo:   reportT0.Add(21 * time.Minute),
		Logs: []ThreadPost{{ID: 1, IncidentID: 42, Kind: PostKindLogs, Title: "Last log lines before the failure",
			Code:      "2026-11-27 09:59:58 INFO Connecting to database jdbc:postgresql://db:5432/monitorfishdb?user=postgres&password=[REDACTED]\n2026-11-27 09:59:59 ERROR ``` fenced ```\n",
			CreatedAt: reportT0.Add(time.Second)}},
		Generated: reportT0.Add(time.Hour),
	}
}

// TestRenderReportGolden: the whole document of a recovered incident.
func TestRenderReportGolden(t *testing.T) {
	got := RenderReport(goldenReport(t))
	golden := filepath.Join("testdata", "report.golden.md")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -run RenderReportGolden -update ./incident/ writes it)", err)
	}
	if string(want) != got {
		t.Errorf("report changed (go test -run RenderReportGolden -update ./incident/ to accept):\n%s", got)
	}
}

// TestRenderReportSections checks what the golden file shows, so that an
// -update cannot accept a report that lost one of them.
func TestRenderReportSections(t *testing.T) {
	got := RenderReport(goldenReport(t))
	for _, want := range []string{
		"# Incident 42: app in prod",
		"| What | exited with code 1 |",
		"| Where | environment `prod` · source `docker` · target `app` |",
		"| State | recovered |",
		"| Start | 2026-11-27 10:00:00 |",
		"| End | 2026-11-27 10:06:00 |", // up at 10:04 + 2 min
		"| Duration | 6 min |",
		"| Failures | 2 |",
		"| 2026-11-27 10:06:00 | recovered: up for 2m0s |",
		"| 2026-11-27 10:01:40 | UOPERATOR1 | `prod restart app` | ok | button | 41s |",
		"``prod mute app 1h `deploying` \\| v1.54``", // backticks and a pipe inside a cell
		"from 2026-11-27 09:45:00 to 2026-11-27 10:21:00",
		"### Last log lines before the failure",
		"````text\n2026-11-27 09:59:58 INFO Connecting", // a fence longer than the ``` inside
		"password=[REDACTED]",
		"## Cause",
		"## Follow-ups",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the report lacks %q:\n%s", want, got)
		}
	}
	if strings.Index(got, "## Timeline") > strings.Index(got, "## Operators' actions") ||
		strings.Index(got, "## Operators' actions") > strings.Index(got, "## Logs before the failure") ||
		strings.Index(got, "## Logs before the failure") > strings.Index(got, "## Cause") {
		t.Errorf("sections out of order:\n%s", got)
	}
}

// TestRenderReportOfAnOpenIncidentWithoutActionsOrLogs: what is missing is
// said, not left blank.
func TestRenderReportOfAnOpenIncidentWithoutActionsOrLogs(t *testing.T) {
	key := Key{Env: "prod", Source: "freshness", Target: "positions-received"}
	inc, _ := Apply(Rules{}, nil, Signal{Key: key, Kind: SignalFailing, Time: reportT0, Detail: "last position 7 min ago"})
	inc.ID = 7
	got := RenderReport(Report{Incident: inc, ActionsFrom: reportT0.Add(-15 * time.Minute), ActionsTo: reportT0.Add(20 * time.Minute),
		ActionsCut: true, Generated: reportT0.Add(20 * time.Minute)})
	for _, want := range []string{
		"| What | failing: last position 7 min ago |",
		"| End | — (still open) |",
		"| Duration | 20 min so far |",
		"_None recorded._",
		"_No log lines were kept with this incident._",
		"positions-received",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the report lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Exit code") || strings.Contains(got, "Only the first") {
		t.Errorf("an exit code, or a cut said of no actions:\n%s", got)
	}
}

// TestRenderReportSaysTimelineEntriesDropped: the timeline keeps the
// first entry and the last ones; the report says how many went between.
func TestRenderReportSaysTimelineEntriesDropped(t *testing.T) {
	key := Key{Env: "prod", Source: "docker", Target: "app"}
	inc, _ := Apply(Rules{}, nil, Signal{Key: key, Kind: SignalCrashed, Time: reportT0, ExitCode: 1})
	for i := 1; i < maxTimeline+10; i++ {
		inc, _ = Apply(Rules{}, inc, Signal{Key: key, Kind: SignalCrashed, Time: reportT0.Add(time.Duration(i) * time.Second), ExitCode: 1})
	}
	inc.ID = 3
	actions := make([]audit.Entry, 3)
	for i := range actions {
		actions[i] = audit.Entry{Time: reportT0, User: "U1", Env: "prod", Command: "prod logs app", Target: "app", Outcome: "ok"}
	}
	got := RenderReport(Report{Incident: inc, Actions: actions, ActionsCut: true, Generated: reportT0.Add(time.Hour)})
	if !strings.Contains(got, "| … | 10 entries not kept (the timeline keeps the first and the last 199) |") {
		t.Errorf("dropped entries not said:\n%s", got)
	}
	if !strings.Contains(got, "_Only the first 3 are shown") {
		t.Errorf("the cut actions are not said:\n%s", got)
	}
}

func TestMarkdownEscaping(t *testing.T) {
	for in, want := range map[string]string{
		"a|b":                 `a\|b`,
		"*bold* _it_ [l](x)":  `\*bold\* \_it\_ \[l](x)`,
		"line\nbreak":         "line break",
		"<script>":            "&lt;script>",
		"back\\slash `code`":  "back\\\\slash \\`code\\`",
		"positions-received":  "positions-received",
		"plain words, 1.54.0": "plain words, 1.54.0",
	} {
		if got := mdText(in); got != want {
			t.Errorf("mdText(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"":            "—",
		"prod":        "`prod`",
		"a `b` c":     "``a `b` c``",
		"`x`":         "`` `x` ``",
		"a|b\nc":      "`a\\|b c`",
		"a ``` fence": "````a ``` fence````",
	} {
		if got := mdCode(in); got != want {
			t.Errorf("mdCode(%q) = %q, want %q", in, got, want)
		}
	}
}
