package bot

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"mfbot/commands"
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
	req := commands.Request{Line: line, User: c.user(), Channel: "console", Via: commands.ViaConsole}
	rep := c.Runner.Run(ctx, req)
	if rep.Status == reply.StatusPending && rep.Confirm != nil {
		if !c.confirm(rep.Confirm, in) {
			c.print("Cancelled: nothing was done.\n")
			return ExitFailed
		}
		rep = c.Runner.Run(ctx, commands.Request{Line: rep.Confirm.Command, User: c.user(), Channel: "console", Via: commands.ViaConsole, Confirmed: true})
	}
	c.print(RenderText(rep))
	switch rep.Status {
	case reply.StatusOK:
		return ExitOK
	case reply.StatusUsage:
		return ExitUsage
	}
	return ExitFailed
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

func (c *Console) user() string {
	if c.User != "" {
		return c.User
	}
	return "console"
}
