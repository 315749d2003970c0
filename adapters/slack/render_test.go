package slack

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"mfbot/reply"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files of the render tests")

// renderNow is the fixed "now" of the golden files.
var renderNow = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

type renderCase struct {
	name  string
	reply reply.Reply
	check func(t *testing.T, m Message)
}

func logLines(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "2025-03-14T09:%02d:%02d.123Z INFO  [main] f.g.c.m.MonitorFishApplication: request %d handled in %d ms\n", i/60%60, i%60, i, i%97)
	}
	return b.String()
}

func renderCases() []renderCase {
	prod := &reply.Target{Env: "prod", Service: "app"}
	return []renderCase{
		{name: "deploy-progress", reply: reply.Progress{Title: "Deploying v1.54.0 to app in prod", Step: "waiting for healthy",
			Detail:  "12s, running, starting; last probe: exit 1: GET http://127.0.0.1:8880/api/v1/healthcheck: connection refused",
			Elapsed: 41 * time.Second, Done: []string{"pulled ghcr.io/mtes-mct/monitorfish/monitorfish-app:v1.54.0 in 23s", "recreated remote_app_1 on ghcr.io/mtes-mct/monitorfish/monitorfish-app:v1.54.0"}}.Reply()},
		{name: "status-table", reply: reply.Reply{
			Status: reply.StatusOK, Title: "Status of prod", Target: &reply.Target{Env: "prod"},
			Blocks: []reply.Block{
				&reply.Table{
					Header: []string{"service", "container", "state", "health", "uptime", "image", "restarts"},
					Rows: [][]string{
						{"app", "remote_app_1", "running", "healthy", "3d 4h", "monitorfish-app:v1.52.0", "0"},
						{"db", "remote_db_1", "running", "healthy", "41d", "monitorfish-database:pg16-ts2.14-postgis3.4", "0"},
						{"geoserver", "monitorfish_geoserver", "running", "—", "41d", "geoserver:2.24", "1"},
						{"pipeline-server", "monitorfish-pipeline-server", "exited (1)", "—", "—", "monitorfish-pipeline:v1.8", "5"},
						{"pipeline-flows", "—", "no container", "", "", "", ""},
					},
				},
				&reply.Text{Text: "Database reachable · Prefect reachable, last failure 2h ago · 1 open incident"},
			},
		}},
		{name: "logs-short", reply: reply.Reply{
			Status: reply.StatusOK, Title: "Logs of app (remote_app_1), last 20 lines", Target: prod,
			Blocks:  []reply.Block{&reply.Code{Text: logLines(20)}},
			Actions: []reply.Action{{Label: "Logs", Command: "prod logs app"}},
		}},
		{name: "logs-10000", reply: reply.Reply{
			Status: reply.StatusOK, Title: "Logs of app (remote_app_1), last 10000 lines", Target: prod,
			Blocks:  []reply.Block{&reply.Code{Text: logLines(10000)}},
			Actions: []reply.Action{{Label: "Logs", Command: "prod logs app"}},
		}, check: func(t *testing.T, m Message) {
			if len(m.Files) != 1 || m.Files[0].Name != "logs-app.txt" || string(m.Files[0].Content) != logLines(10000) {
				t.Errorf("want the whole log in logs-app.txt, got %v", fileSummaries(m.Files))
			}
			js := mustJSON(t, m.Blocks[1])
			if !strings.Contains(js, "request 10000 handled") || strings.Contains(js, "request 1 handled") {
				t.Errorf("the message must keep the newest lines")
			}
			if !regexp.MustCompile(`…\d+ earlier lines in the attached file logs-app.txt`).MatchString(js) {
				t.Errorf("missing the earlier-lines note: %.200s", js)
			}
		}},
		{name: "inspect-fields", reply: reply.Reply{
			Status: reply.StatusOK, Title: "Inspect app", Target: prod,
			Blocks: []reply.Block{
				&reply.Fields{Fields: inspectFields(23)},
				&reply.Code{Text: "Environment:\nSPRING_PROFILES_ACTIVE=prod\nENV_DB_URL=jdbc:postgresql://db:5432/monitorfishdb?user=postgres&password=[REDACTED]\nMONITORFISH_OIDC_ENABLED=true"},
			},
			Actions: []reply.Action{{Label: "Logs", Command: "prod logs app"}},
		}, check: func(t *testing.T, m Message) {
			if len(m.Blocks) != 1+3+1+1 {
				t.Errorf("23 fields should make 3 sections: %d blocks", len(m.Blocks))
			}
		}},
		{name: "failure", reply: reply.Reply{
			Status: reply.StatusFailed, Title: "stop failed", Target: prod,
			Blocks:  []reply.Block{&reply.Text{Text: "Error response from daemon: cannot stop container remote_app_1: tried to kill container, but did not receive an exit event"}},
			Actions: []reply.Action{{Label: "Logs", Command: "prod logs app"}},
		}, check: func(t *testing.T, m Message) {
			if m.Ephemeral {
				t.Error("a failure about a service must stay visible to the channel")
			}
		}},
		{name: "failure-no-target", reply: reply.Reply{
			Status: reply.StatusFailed, Title: "status failed",
			Blocks: []reply.Block{&reply.Text{Text: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock"}},
		}, check: func(t *testing.T, m Message) {
			if !m.Ephemeral {
				t.Error("a failure about nothing in particular is ephemeral")
			}
		}},
		{name: "usage", reply: reply.Reply{
			Status: reply.StatusUsage, Title: "Usage",
			Blocks: []reply.Block{&reply.Text{Text: "unknown flag --tial (did you mean --tail?)\nUsage: logs <service> [--tail N] [--since D] [--until D] [--grep RE] [--stderr]"}},
		}, check: func(t *testing.T, m Message) {
			if !m.Ephemeral {
				t.Error("usage errors are ephemeral")
			}
		}},
		{name: "denied", reply: reply.Reply{
			Status: reply.StatusDenied, Title: "Not allowed",
			Blocks: []reply.Block{&reply.Text{Text: "restart needs an operator: ask one of <!subteam^S0123|ops>"}},
		}, check: func(t *testing.T, m Message) {
			if !m.Ephemeral {
				t.Error("denials are ephemeral")
			}
		}},
		{name: "pending-confirmation", reply: reply.Reply{
			Status: reply.StatusPending, Title: "Confirmation needed", Target: prod, RequestedBy: "U024BE7LH",
			Confirm: &reply.Confirmation{
				Prompt:    "Pull monitorfish-app:v1.53.0 and recreate app in prod?",
				Command:   "prod restart app",
				ID:        "cf_01HQ3Z8K2M",
				ExpiresAt: renderNow.Add(2 * time.Minute),
			},
		}, check: func(t *testing.T, m Message) {
			js := mustJSON(t, m.Blocks)
			for _, want := range []string{`"action_id": "mf_confirm"`, `"action_id": "mf_cancel"`, `"value": "cf_01HQ3Z8K2M"`,
				"Are you sure?", "Yes, do it", "Expires in 2 min", `Requested by \u003c@U024BE7LH\u003e`, fmt.Sprintf("<!date^%d^{time}|09:28 UTC>", renderNow.Add(2*time.Minute).Unix())} {
				if !strings.Contains(js, want) {
					t.Errorf("missing %s", want)
				}
			}
		}},
		{name: "restart-report", reply: reply.Reply{
			Status: reply.StatusFailed, Title: "app recreated but not healthy after 2m0s", Target: prod,
			Blocks: []reply.Block{
				&reply.Fields{Fields: []reply.Field{
					{Label: "Image", Value: "sha256:1a2b3c4d5e6f → sha256:9f8e7d6c5b4a"},
					{Label: "Container", Value: "remote_app_1"}, {Label: "State", Value: "running"},
					{Label: "Health", Value: "unhealthy"},
				}},
			},
			RequestedBy: "U024BE7LH", DecidedBy: "console:<@mallory>",
			Actions: []reply.Action{
				{Label: "Logs", Command: "prod logs app"},
				{Label: "Roll back", Style: "danger", Command: "prod rollback app --to sha256:" + strings.Repeat("ab", 32)},
			},
		}, check: func(t *testing.T, m Message) {
			js := mustJSON(t, m.Blocks)
			for _, want := range []string{`"action_id": "mf_run"`, `"action_id": "mf_run#2"`, `"style": "danger"`, `"value": "prod logs app"`,
				`Requested by \u003c@U024BE7LH\u003e · confirmed by console:\u0026lt;@mallory\u0026gt;`} {
				if !strings.Contains(js, want) {
					t.Errorf("missing %s", want)
				}
			}
		}},
		{name: "evil-text", reply: reply.Reply{
			Status: reply.StatusOK, Title: "Logs of app <!channel>", Target: prod,
			Blocks: []reply.Block{
				&reply.Text{Text: "hello <!channel> see <https://evil.example|click here> & <@U123> <#C123>"},
				&reply.Fields{Fields: []reply.Field{{Label: "<!here>", Value: "<https://evil|click>"}}},
				&reply.Code{Text: "line 1 <!channel>\n```\n</code> now outside? <https://evil|click>\n````` & ``\nend`"},
				&reply.Table{Header: []string{"name", "value"}, Rows: [][]string{{"<!everyone>", "a```b"}}},
			},
			Actions: []reply.Action{{Label: "<!channel> click", Command: "prod logs app"}},
		}, check: func(t *testing.T, m Message) {
			// checkLimits proves no mrkdwn text holds a bare < > or &; here,
			// that the content is still there, escaped.
			js := mustJSON(t, m)
			for _, want := range []string{"&lt;!channel&gt;", "&lt;https://evil.example|click here&gt;", "&lt;!everyone&gt;", "&amp;"} {
				if !strings.Contains(js, want) {
					t.Errorf("missing %s", want)
				}
			}
			if m.Text != "✅ Logs of app &lt;!channel&gt;" {
				t.Errorf("fallback text %q", m.Text)
			}
		}},
		{name: "files-and-many-actions", reply: reply.Reply{
			Status: reply.StatusOK, Title: "Database dump of table positions", Target: prod,
			Blocks: []reply.Block{
				&reply.File{Name: "positions.csv", Title: "positions", Content: []byte("id,lat,lon\n1,47.1,-3.2\n")},
				&reply.File{Name: "positions.csv", Content: []byte("id\n2\n")},
			},
			Actions: manyActions(30),
		}, check: func(t *testing.T, m Message) {
			if len(m.Files) != 2 || m.Files[0].Name == m.Files[1].Name {
				t.Errorf("two files with distinct names expected: %v", fileSummaries(m.Files))
			}
		}},
		{name: "sixty-blocks", reply: reply.Reply{
			Status: reply.StatusOK, Title: "Events of prod", Target: &reply.Target{Env: "prod"},
			Blocks: sixtyBlocks(), Actions: []reply.Action{{Label: "Status", Command: "prod status"}},
		}, check: func(t *testing.T, m Message) {
			if len(m.Files) != 1 || !strings.Contains(string(m.Files[0].Content), "event 60 ") {
				t.Errorf("the overflow must go to a file: %v", fileSummaries(m.Files))
			}
			if !strings.Contains(mustJSON(t, m.Blocks[len(m.Blocks)-1]), "mf_run") {
				t.Error("the actions must stay at the end")
			}
		}},
		{name: "text-45000", reply: reply.Reply{
			Status: reply.StatusOK, Title: "Help", Blocks: []reply.Block{&reply.Text{Text: longText(45000)}},
		}, check: func(t *testing.T, m Message) {
			if len(m.Files) != 1 {
				t.Fatalf("the overflow must go to a file: %v", fileSummaries(m.Files))
			}
			if !strings.HasSuffix(strings.TrimSpace(string(m.Files[0].Content)), strings.TrimSpace(longText(45000)[40000:])) {
				t.Error("the file must hold the end of the text")
			}
		}},
		{name: "multibyte-boundary", reply: reply.Reply{
			Status: reply.StatusOK, Title: "Événements de la pêche — données", Target: prod,
			Blocks: []reply.Block{
				&reply.Text{Text: strings.Repeat("a", 2999) + "é日本語🐟🐟 suite"},
				&reply.Fields{Fields: []reply.Field{{Label: "Navire", Value: strings.Repeat("b", 1990) + strings.Repeat("🐟", 20)}}},
				&reply.Code{Text: "premier\n" + strings.Repeat("日本", 2000) + "🐟fin"},
			},
		}, check: func(t *testing.T, m Message) {
			js := mustJSON(t, m)
			if !utf8.ValidString(js) || strings.ContainsRune(js, utf8.RuneError) {
				t.Error("a rune was cut")
			}
			if !strings.Contains(js, "🐟fin") {
				t.Error("the end of the long line must be kept")
			}
		}},
	}
}

func inspectFields(n int) []reply.Field {
	base := []reply.Field{
		{Label: "Image", Value: "monitorfish-app:v1.52.0"}, {Label: "Image ID", Value: "sha256:1a2b3c4d5e6f"}, {Label: "Created", Value: "2025-03-11T05:22:48Z"},
		{Label: "Restart policy", Value: "unless-stopped"}, {Label: "Restart count", Value: "0"}, {Label: "Health", Value: "healthy (3 checks)"},
		{Label: "Ports", Value: "8880/tcp → 0.0.0.0:8880"}, {Label: "Log path", Value: "/var/lib/docker/containers/abc/abc-json.log"},
		{Label: "Mounts", Value: "/opt/monitorfish/data → /data (rw)"}, {Label: "Network", Value: "remote_default"}, {Label: "PID", Value: "4242"},
	}
	var out []reply.Field
	for i := 0; len(out) < n; i++ {
		f := base[i%len(base)]
		if i >= len(base) {
			f.Label = fmt.Sprintf("%s %d", f.Label, i/len(base)+1)
		}
		out = append(out, f)
	}
	return out
}

func manyActions(n int) []reply.Action {
	var out []reply.Action
	out = append(out, reply.Action{Label: "Way too long " + strings.Repeat("x", 100), Command: "prod logs app"})
	out = append(out, reply.Action{Label: "Huge", Command: "prod run " + strings.Repeat("y", 2100)})
	for i := 1; len(out) < n; i++ {
		out = append(out, reply.Action{Label: fmt.Sprintf("Flow %d", i), Command: fmt.Sprintf("prod flow run flow-%d", i)})
	}
	return out
}

func sixtyBlocks() []reply.Block {
	var out []reply.Block
	for i := 1; i <= 60; i++ {
		out = append(out, &reply.Text{Text: fmt.Sprintf("event %d at 09:%02d: container remote_app_1 health_status: healthy", i, i%60)})
	}
	return out
}

func longText(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		line := fmt.Sprintf("%05d The quick brown fox jumps over the lazy dog; MonitorFish positions flow ran fine.", i)
		b.WriteString(line + strings.Repeat(".", 99-len(line)) + "\n")
	}
	return b.String()[:n]
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

type fileSummary struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	Size  int    `json:"size"`
}

func fileSummaries(files []Upload) []fileSummary {
	out := []fileSummary{}
	for _, f := range files {
		out = append(out, fileSummary{f.Name, f.Title, len(f.Content)})
	}
	return out
}

func TestRenderGolden(t *testing.T) {
	for _, c := range slices.Concat(renderCases(), dbRenderCases(t), prefectRenderCases(t)) {
		t.Run(c.name, func(t *testing.T) {
			m := renderAt(c.reply, renderNow, "")
			if err := checkLimits(m); err != nil {
				t.Errorf("limits: %v", err)
			}
			if c.check != nil {
				c.check(t, m)
			}
			got := mustJSON(t, struct {
				Text      string        `json:"text"`
				Ephemeral bool          `json:"ephemeral"`
				Blocks    any           `json:"blocks"`
				Files     []fileSummary `json:"files"`
			}{m.Text, m.Ephemeral, m.Blocks, fileSummaries(m.Files)})
			path := filepath.Join("testdata", c.name+".golden.json")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the rendering (go test -update to accept):\n%s", path, firstDiff(string(want), got))
			}
		})
	}
}

// TestGoldenFilesWithinLimits checks the stored golden outputs themselves,
// so a hand-edited or stale golden file cannot hide a limit violation.
func TestGoldenFilesWithinLimits(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.golden.json"))
	if len(paths) < len(renderCases()) {
		t.Fatalf("%d golden files for %d cases", len(paths), len(renderCases()))
	}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var g struct {
			Text   string `json:"text"`
			Blocks []any  `json:"blocks"`
		}
		if err := json.Unmarshal(raw, &g); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if err := checkBlocks(g.Text, g.Blocks); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n- %.300s\n+ %.300s", i+1, x, y)
		}
	}
	return ""
}

// checkLimits verifies a message against Slack's limits and mfbot's
// escaping rules, independently of the renderer's own accounting: it reads
// the JSON that would be sent.
func checkLimits(m Message) error {
	raw, err := json.Marshal(m.Blocks)
	if err != nil {
		return err
	}
	var blocks []any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return err
	}
	if err := checkBlocks(m.Text, blocks); err != nil {
		return err
	}
	for _, f := range m.Files {
		if f.Name == "" || len(f.Content) == 0 {
			return fmt.Errorf("file %q: empty name or content", f.Name)
		}
	}
	return nil
}

var (
	entity  = regexp.MustCompile(`&(amp|lt|gt);`)
	dateTag = regexp.MustCompile(`<!date\^\d+\^\{time\}\|\d\d:\d\d UTC>`)
	// Mentions of user IDs are the only other markup mfbot writes itself.
	userMention = regexp.MustCompile(`<@[UW][A-Z0-9]{2,30}>`)
)

func checkBlocks(text string, blocks []any) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(blocks) == 0 || len(blocks) > 50 {
		fail("%d blocks", len(blocks))
	}
	total := utf8.RuneCountInString(text)
	if strings.ContainsAny(text, "<>") {
		fail("text: unescaped < or >")
	}
	if total > 40000 {
		fail("text: %d characters", total)
	}
	count := func(v any) int {
		s, _ := v.(map[string]any)["text"].(string)
		return utf8.RuneCountInString(s)
	}
	safe := func(where string, obj any) {
		o, _ := obj.(map[string]any)
		s, _ := o["text"].(string)
		if s == "" {
			fail("%s: empty text", where)
		}
		if !utf8.ValidString(s) {
			fail("%s: invalid UTF-8", where)
		}
		if o["type"] != "mrkdwn" {
			return
		}
		if o["verbatim"] != true {
			fail("%s: mrkdwn without verbatim", where)
		}
		bare := userMention.ReplaceAllString(dateTag.ReplaceAllString(s, ""), "")
		if strings.ContainsAny(bare, "<>") {
			fail("%s: unescaped < or >: %.80q", where, bare)
		}
		if strings.Count(bare, "&") != len(entity.FindAllString(bare, -1)) {
			fail("%s: unescaped &", where)
		}
		if n := strings.Count(s, "```"); n != 0 && n != 2 {
			fail("%s: %d ``` runs (content must not close the block)", where, n)
		}
	}
	ids := map[string]bool{}
	for i, b := range blocks {
		blk, _ := b.(map[string]any)
		where := fmt.Sprintf("block %d (%v)", i, blk["type"])
		switch blk["type"] {
		case "section":
			fields, _ := blk["fields"].([]any)
			if t, ok := blk["text"]; ok {
				if n := count(t); n > 3000 {
					fail("%s: text of %d characters", where, n)
				}
				total += count(t)
				safe(where, t)
			} else if len(fields) == 0 {
				fail("%s: neither text nor fields", where)
			}
			if len(fields) > 10 {
				fail("%s: %d fields", where, len(fields))
			}
			for j, f := range fields {
				if n := count(f); n > 2000 {
					fail("%s field %d: %d characters", where, j, n)
				}
				total += count(f)
				safe(fmt.Sprintf("%s field %d", where, j), f)
			}
		case "context":
			els, _ := blk["elements"].([]any)
			if len(els) == 0 || len(els) > 10 {
				fail("%s: %d elements", where, len(els))
			}
			for _, e := range els {
				if n := count(e); n > 3000 {
					fail("%s: %d characters", where, n)
				}
				total += count(e)
				safe(where, e)
			}
		case "header":
			if n := count(blk["text"]); n > 150 {
				fail("%s: %d characters", where, n)
			}
			total += count(blk["text"])
		case "actions":
			els, _ := blk["elements"].([]any)
			if len(els) == 0 || len(els) > 25 {
				fail("%s: %d elements", where, len(els))
			}
			for _, e := range els {
				el, _ := e.(map[string]any)
				id, _ := el["action_id"].(string)
				if ids[id] {
					fail("%s: duplicate action_id %s", where, id)
				}
				ids[id] = true
				if n := count(el["text"]); n > 75 || n == 0 {
					fail("%s: button label of %d characters", where, n)
				}
				total += count(el["text"])
				if v, _ := el["value"].(string); utf8.RuneCountInString(v) > 2000 {
					fail("%s: button value of %d characters", where, utf8.RuneCountInString(v))
				}
				if c, ok := el["confirm"].(map[string]any); ok {
					for key, limit := range map[string]int{"title": 100, "text": 300, "confirm": 30, "deny": 30} {
						if n := count(c[key]); n > limit || n == 0 {
							fail("%s: confirm %s of %d characters", where, key, n)
						}
						total += count(c[key])
					}
				}
			}
		default:
			fail("%s: unexpected block type", where)
		}
	}
	if total > 40000 {
		fail("message of %d characters", total)
	}
	return errors.Join(errs...)
}

func TestCheckLimitsCatchesViolations(t *testing.T) {
	bad := Message{Text: "x", Blocks: nil}
	bad.Blocks = append(bad.Blocks, mrkdwnSection(strings.Repeat("x", 3001)), mrkdwnSection("<!channel>"), mrkdwnSection("```a```b```"))
	err := checkLimits(bad)
	for _, want := range []string{"3001", "unescaped <", "``` runs"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("checkLimits should report %q: %v", want, err)
		}
	}
}

func TestEscapeCode(t *testing.T) {
	for _, in := range []string{"```", "````", "`````", "``````x``", "a```b"} {
		if out := escapeCode(in); strings.Contains(out, "``") {
			t.Errorf("escapeCode(%q) = %q still has adjacent backticks", in, out)
		}
	}
	if got := escape(`<!channel> & <https://x|y>`); got != "&lt;!channel&gt; &amp; &lt;https://x|y&gt;" {
		t.Errorf("escape: %q", got)
	}
}

func TestTruncateAndCuts(t *testing.T) {
	s := "ab日本🐟"
	for n := 0; n <= 6; n++ {
		if got := truncate(s, n); !utf8.ValidString(got) || utf8.RuneCountInString(got) > n {
			t.Errorf("truncate(%d) = %q", n, got)
		}
		if got := headFitting(s, n); !utf8.ValidString(got) || !strings.HasPrefix(s, got) {
			t.Errorf("headFitting(%d) = %q", n, got)
		}
		if got := tailFitting(s, n); !utf8.ValidString(got) || !strings.HasSuffix(s, got) {
			t.Errorf("tailFitting(%d) = %q", n, got)
		}
	}
	if got := slug("Logs of app (remote_app_1), last 200 lines"); got != "logs-app" {
		t.Errorf("slug: %q", got)
	}
	if got := ActionOf("mf_run#3"); got != ActionRun {
		t.Errorf("ActionOf: %q", got)
	}
}

func TestRenderEveryStatus(t *testing.T) {
	for s := reply.StatusOK; s <= reply.StatusCancelled; s++ {
		m := Render(reply.Reply{Status: s})
		if err := checkLimits(m); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}
