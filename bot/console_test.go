package bot

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"mfbot/commands"
	"mfbot/reply"
)

// scriptedRunner answers like the catalogue: mutating lines need a
// confirmation, and it records what really ran.
type scriptedRunner struct{ ran []string }

func (r *scriptedRunner) Run(_ context.Context, req commands.Request) reply.Reply {
	switch {
	case strings.HasPrefix(req.Line, "bad"):
		return reply.Reply{Status: reply.StatusUsage, Title: "Usage"}
	case strings.Contains(req.Line, "restart") && !req.Confirmed:
		return reply.Reply{Status: reply.StatusPending, Confirm: &reply.Confirmation{Prompt: "Restart db in local?", Command: "local restart db"}}
	}
	r.ran = append(r.ran, req.Line)
	return reply.Reply{Status: reply.StatusOK, Title: "done " + req.Line}
}

func TestConsoleConfirmations(t *testing.T) {
	for _, tc := range []struct {
		input string
		yes   bool
		code  int
		ran   int
	}{
		{"y\n", false, ExitOK, 1},
		{"oui\n", false, ExitOK, 1},
		{"n\n", false, ExitFailed, 0},
		{"", false, ExitFailed, 0}, // EOF: no answer is no
		{"", true, ExitOK, 1},
	} {
		r := &scriptedRunner{}
		var out bytes.Buffer
		c := &Console{Runner: r, In: strings.NewReader(tc.input), Out: &out, AssumeYes: tc.yes}
		if code := c.RunOne(context.Background(), "restart db"); code != tc.code || len(r.ran) != tc.ran {
			t.Errorf("input %q yes %t: exit %d ran %v\n%s", tc.input, tc.yes, code, r.ran, out.String())
		}
		if tc.ran == 1 && r.ran[0] != "local restart db" {
			t.Errorf("ran %q, want the canonical confirmed command", r.ran[0])
		}
	}
}

func TestConsoleInteractive(t *testing.T) {
	r := &scriptedRunner{}
	var out bytes.Buffer
	c := &Console{Runner: r, In: strings.NewReader("status\n\nbad cmd\nrestart db\ny\nexit\nstatus\n"), Out: &out}
	if err := c.Interactive(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []string{"status", "local restart db"}; strings.Join(r.ran, "|") != strings.Join(want, "|") {
		t.Errorf("ran %v, want %v (and nothing after exit)", r.ran, want)
	}
	if !strings.Contains(out.String(), "mf> ") || !strings.Contains(out.String(), "! Usage") {
		t.Errorf("output:\n%s", out.String())
	}
}

// secretRunner answers with a secret in every part of a reply, and asks
// for a confirmation whose prompt holds one too.
type secretRunner struct{}

func (secretRunner) Run(_ context.Context, req commands.Request) reply.Reply {
	const url = "jdbc:postgresql://db:5432/monitorfishdb?user=postgres&password=hunter2"
	if !req.Confirmed {
		return reply.Reply{Status: reply.StatusPending, Confirm: &reply.Confirmation{Prompt: "Restart with password=hunter2?", Command: "local restart app"}}
	}
	return reply.Reply{Status: reply.StatusFailed, Title: "connect " + url + " refused",
		Blocks: []reply.Block{
			&reply.Text{Text: "SLACK_BOT_TOKEN=xoxb-1-2-hunter2"},
			&reply.Fields{Fields: []reply.Field{{Label: "URL", Value: url}}},
			&reply.Table{Header: []string{"env"}, Rows: [][]string{{"DB_PASSWORD=hunter2"}}},
			&reply.Code{Text: "Authorization: Bearer hunter2hunter2"},
			&reply.File{Name: "logs.txt", Content: []byte("password: hunter2\n")},
		}}
}

// The console is an edge of the redaction boundary: whatever the runner
// answers, no secret reaches the terminal.
func TestConsoleRedactsEverythingItPrints(t *testing.T) {
	redactor, err := commands.NewRedactor(nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c := &Console{Runner: secretRunner{}, In: strings.NewReader("y\n"), Out: &out, Redactor: redactor}
	if code := c.RunOne(context.Background(), "restart app"); code != ExitFailed {
		t.Fatalf("exit %d", code)
	}
	if strings.Contains(out.String(), "hunter2") {
		t.Fatalf("a secret reached the terminal:\n%s", out.String())
	}
	if n := strings.Count(out.String(), commands.Redacted); n < 6 {
		t.Fatalf("%d redactions, want every part redacted:\n%s", n, out.String())
	}
}

// replyRunner answers one fixed reply.
type replyRunner struct{ rep reply.Reply }

func (r replyRunner) Run(context.Context, commands.Request) reply.Reply { return r.rep }

// A picture cannot be printed: the console writes it to --out (or its
// name in the working directory) and says where, with its alt text.
func TestConsoleWritesPicturesToFiles(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\nchart")
	dir := t.TempDir()
	chartReply := func(path string) reply.Reply {
		return reply.Reply{Status: reply.StatusOK, Title: "Positions", Blocks: []reply.Block{
			&reply.Text{Text: "12 positions"},
			&reply.File{Name: "positions-local.png", Title: "Positions chart", Content: png, MediaType: "image/png", Alt: "12 positions, no stale period", Path: path},
		}}
	}

	out := dir + "/chart.png"
	var buf bytes.Buffer
	c := &Console{Runner: replyRunner{chartReply(out)}, In: strings.NewReader(""), Out: &buf}
	if code := c.RunOne(context.Background(), "health --chart --out "+out); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, buf.String())
	}
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, png) {
		t.Errorf("file %q: %v", got, err)
	}
	if text := buf.String(); !strings.Contains(text, "Positions chart written to "+out+" (image/png, 13B)") || !strings.Contains(text, "12 positions, no stale period") || strings.Contains(text, "\x89PNG") {
		t.Errorf("output:\n%s", text)
	}
	// An alt text that is the reply's text already is not printed twice.
	buf.Reset()
	same := chartReply(out)
	same.Blocks[0] = &reply.Text{Text: "12 positions, no stale period"}
	c.Runner = replyRunner{same}
	if c.RunOne(context.Background(), "health --chart"); strings.Count(buf.String(), "12 positions, no stale period") != 1 {
		t.Errorf("output:\n%s", buf.String())
	}

	// No --out: the file's name, in the working directory.
	t.Chdir(dir)
	buf.Reset()
	c.Runner = replyRunner{chartReply("")}
	if code := c.RunOne(context.Background(), "health --chart"); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, buf.String())
	}
	if got, err := os.ReadFile(dir + "/positions-local.png"); err != nil || !bytes.Equal(got, png) {
		t.Errorf("default file %q: %v", got, err)
	}

	// A file that cannot be written fails the command, saying why.
	buf.Reset()
	c.Runner = replyRunner{chartReply(dir + "/no/such/dir/chart.png")}
	if code := c.RunOne(context.Background(), "health --chart"); code != ExitFailed || !strings.Contains(buf.String(), "Positions chart not written") {
		t.Errorf("exit %d\n%s", code, buf.String())
	}
}
