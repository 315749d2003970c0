package bot

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"mfbot/commands"
	"mfbot/human"
	"mfbot/reply"
)

// Runner is what the console needs from the catalogue.
type Runner interface {
	Run(ctx context.Context, req commands.Request) reply.Reply
}

// Console is the terminal transport: the same catalogue as Slack, with
// confirmations asked on the terminal.
type Console struct {
	Runner Runner
	In     io.Reader
	Out    io.Writer
	// Err shows the steps of long commands as they happen (stderr), so
	// that Out keeps only the replies; nil: not shown.
	Err io.Writer
	// AssumeYes confirms every mutating command (scripts: --yes).
	AssumeYes bool
	User      string
	// Redactor redacts everything the console prints (the edge of the
	// redaction boundary, as the Slack client is for Slack); nil: nothing
	// is redacted (tests only).
	Redactor Redactor
}

// Redactor removes secrets from text (commands.Redactor).
type Redactor interface {
	String(s string) string
}

// print writes s to the terminal, redacted.
func (c *Console) print(s string) {
	if c.Redactor != nil {
		s = c.Redactor.String(s)
	}
	io.WriteString(c.Out, s)
}

// Exit statuses of a one-shot console command.
const (
	ExitOK     = 0 // the command succeeded
	ExitFailed = 1 // it failed, was refused or was not confirmed
	ExitUsage  = 2 // bad input: nothing ran
)

// RunOne runs one command, asking for confirmation when needed, and returns
// the exit status.
func (c *Console) RunOne(ctx context.Context, line string) int {
	return c.runLine(ctx, line, bufio.NewReader(c.In))
}

func (c *Console) runLine(ctx context.Context, line string, in *bufio.Reader) int {
	steps := c.steps(ctx)
	req := commands.Request{Line: line, User: c.user(), Channel: "console", Via: commands.ViaConsole, Progress: steps}
	rep := c.Runner.Run(ctx, req)
	if rep.Status == reply.StatusPending && rep.Confirm != nil {
		if !c.confirm(rep.Confirm, in) {
			steps.finish()
			c.print("Cancelled: nothing was done.\n")
			return ExitFailed
		}
		rep = c.Runner.Run(ctx, commands.Request{Line: rep.Confirm.Command, User: c.user(), Channel: "console", Via: commands.ViaConsole, Confirmed: true, Progress: steps})
	}
	steps.finish()
	rep = c.saveBinaryFiles(rep)
	c.print(RenderText(rep))
	switch rep.Status {
	case reply.StatusOK:
		return ExitOK
	case reply.StatusUsage:
		return ExitUsage
	}
	return ExitFailed
}

// saveBinaryFiles writes the reply's pictures to their files (--out, or
// their name in the working directory): a terminal cannot show them. Each
// becomes a line saying where it went, or why it could not be written.
func (c *Console) saveBinaryFiles(rep reply.Reply) reply.Reply {
	var blocks []reply.Block
	for i, blk := range rep.Blocks {
		f, ok := blk.(*reply.File)
		if !ok || !f.Binary() {
			continue
		}
		if blocks == nil {
			blocks = slices.Clone(rep.Blocks)
		}
		path := f.Path
		if path == "" {
			path = f.Name
		}
		line := fmt.Sprintf("%s written to %s (%s, %s)", f.Title, path, f.MediaType, human.Bytes(int64(len(f.Content))))
		if err := os.WriteFile(path, f.Content, 0o644); err != nil {
			line = fmt.Sprintf("%s not written: %v", f.Title, err)
			rep.Status = reply.StatusFailed
		}
		if f.Alt != "" && !saysAlready(rep, f.Alt) {
			line += "\n" + f.Alt
		}
		blocks[i] = &reply.Text{Text: line}
	}
	if blocks != nil {
		rep.Blocks = blocks
	}
	return rep
}

// saysAlready: a text block of the reply is s (a chart's alt text is
// often its summary, printed once is enough).
func saysAlready(rep reply.Reply, s string) bool {
	for _, blk := range rep.Blocks {
		if t, ok := blk.(*reply.Text); ok && t.Text == s {
			return true
		}
	}
	return false
}

func (c *Console) confirm(conf *reply.Confirmation, in *bufio.Reader) bool {
	if c.AssumeYes {
		c.print(conf.Prompt + " yes (--yes)\n")
		return true
	}
	c.print(conf.Prompt + " [y/N] ")
	answer, err := in.ReadString('\n')
	if err != nil && answer == "" {
		fmt.Fprintln(c.Out)
		return false
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes", "o", "oui":
		return true
	}
	return false
}

// Interactive reads commands until EOF or "exit".
func (c *Console) Interactive(ctx context.Context) error {
	in := bufio.NewReader(c.In)
	for {
		fmt.Fprint(c.Out, "mf> ")
		line, err := in.ReadString('\n')
		line = strings.TrimSpace(line)
		if line == "exit" || line == "quit" {
			return nil
		}
		if line != "" {
			c.runLine(ctx, line, in)
		}
		if err == io.EOF {
			fmt.Fprintln(c.Out)
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the terminal: %w", err)
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// consoleSteps prints the steps of a long command on the console's Err,
// paced like Slack's progress message, and the output of the programs it
// runs at once, each line redacted.
type consoleSteps struct {
	c     *Console
	paced *pacedSteps // nil: Err is not set
	mu    sync.Mutex  // one writer at a time on Err
	step  string      // the step printed last
}

func (c *Console) steps(ctx context.Context) *consoleSteps {
	s := &consoleSteps{c: c}
	if c.Err != nil {
		s.paced = newPacedSteps(ctx, ProgressGap, time.Time{}, func(_ context.Context, p reply.Progress) { s.print(p) }, nil)
	}
	return s
}

// Step prints a new step at once; the details of the same step (bytes
// pulled, seconds waited) at the pace of the Slack message.
func (s *consoleSteps) Step(p reply.Progress) {
	if s.paced == nil {
		return
	}
	s.mu.Lock()
	changed := p.Step != s.step
	s.mu.Unlock()
	if !changed {
		s.paced.Step(p)
		return
	}
	s.paced.drop()
	s.print(p)
	s.paced.shown(time.Now())
}

func (s *consoleSteps) print(p reply.Progress) {
	line := fmt.Sprintf("⏳ [%s] %s: %s", p.Elapsed.Round(time.Second), p.Title, p.Step)
	if p.Detail != "" {
		line += " — " + p.Detail
	}
	s.mu.Lock()
	s.step = p.Step
	s.mu.Unlock()
	s.write(line)
}

func (s *consoleSteps) Output(line string) {
	if s.paced != nil {
		s.write("   │ " + line)
	}
}

func (s *consoleSteps) write(line string) {
	if s.c.Redactor != nil {
		line = s.c.Redactor.String(line)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintln(s.c.Err, line)
}

// finish stops the steps once the command has answered.
func (s *consoleSteps) finish() {
	if s.paced != nil {
		s.paced.finish(false)
		s.paced = nil
	}
}

func (c *Console) user() string {
	if c.User != "" {
		return c.User
	}
	return "console"
}
