package bot

import (
	"flag"
	"mfbot/reply"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestRenderTextGolden(t *testing.T) {
	rep := reply.Reply{
		Status: reply.StatusFailed,
		Title:  "app recreated but is not healthy",
		Blocks: []reply.Block{
			&reply.Fields{Fields: []reply.Field{{Label: "Container", Value: "remote_app_1"}, {Label: "Health", Value: "unhealthy"}}},
			&reply.Table{Header: []string{"service", "state"}, Rows: [][]string{{"app", "running"}, {"pipeline-server", "exited"}}},
			&reply.Text{Text: "Last healthcheck: exit 1"},
			&reply.Code{Text: "line 1\nline 2"},
		},
		Actions: []reply.Action{{Label: "Logs", Command: "prod logs app"}, {Label: "Roll back", Command: "prod rollback app --to sha256:abc"}},
	}
	got := RenderText(rep)
	path := filepath.Join("testdata", "render_text.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
