// Command mfbot is a ChatOps bot for the MonitorFish operators: the runbook
// in Slack, and alerts when the stack fails.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"mfbot/adapters/plot"
	"mfbot/adapters/store"
	"mfbot/bot"
	"mfbot/commands"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `mfbot — MonitorFish ChatOps bot

Usage:
  mfbot run      [--config FILE]                    the Slack bot
  mfbot console  [--config FILE] [-c "CMD"] [--yes] the command catalogue in a terminal
  mfbot check    [--config FILE]                    validate the configuration, test every connection
  mfbot healthcheck                                 ask the running mfbot's /healthz (MFBOT_HTTP_ADDR): exit 0 when healthy
  mfbot version

Configuration: ./mfbot.yaml or $MFBOT_CONFIG, and environment variables (see README).
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return bot.ExitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "run":
		return runBot(ctx, args[1:], stderr)
	case "console":
		return runConsole(ctx, args[1:], stdin, stdout, stderr)
	case "check":
		return runCheck(ctx, args[1:], stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "mfbot", version)
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "mfbot: unknown subcommand %q\n\n%s", args[0], usage)
	return bot.ExitUsage
}

func runConsole(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("console", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration file")
	command := fs.String("c", "", "run one command and exit")
	yes := fs.Bool("yes", false, "confirm mutating commands without asking")
	if err := fs.Parse(args); err != nil {
		return bot.ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mfbot console: unexpected argument %q (quote the command: -c \"logs app\")\n", fs.Arg(0))
		return bot.ExitUsage
	}
	log := newLogger(stderr, slog.LevelWarn)
	app, err := wire(*configPath, log)
	if err != nil {
		fmt.Fprintln(stderr, "mfbot:", err)
		return bot.ExitUsage
	}
	defer app.Close()
	// The console audits to the store like Slack does; without a usable
	// store it still works, it just cannot keep the audit log.
	opts := commands.Options{Log: log, Redactor: app.Redactor, Charts: plot.Renderer{}}
	if st, err := store.Open(ctx, app.Config.Store); err != nil {
		log.Warn("no audit log: the store cannot be opened", "err", err)
	} else {
		app.onClose(st.Close)
		opts.Audit = st
		opts.Releases = st
		// What the bot recorded in the same store, if it shares it: the
		// sampled stats, incidents and their reports.
		opts.Samples, opts.Reports = st, st
		opts.Incidents = bot.IncidentSummaries{Store: st}
	}
	if err := app.buildCatalogue(opts); err != nil {
		fmt.Fprintln(stderr, "mfbot:", err)
		return bot.ExitUsage
	}
	console := &bot.Console{Runner: app.Catalogue, In: stdin, Out: stdout, Err: stderr, AssumeYes: *yes, User: consoleUser(), Redactor: app.Redactor}
	if *command != "" {
		return console.RunOne(ctx, *command)
	}
	if err := console.Interactive(ctx); err != nil {
		fmt.Fprintln(stderr, "mfbot:", err)
		return bot.ExitFailed
	}
	return bot.ExitOK
}

// newLogger logs as text to w. Every string and error it prints goes
// through the standard redaction patterns: mfbot never prints a token or
// a password, not even in its own logs.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	redactor, err := commands.NewRedactor(nil)
	if err != nil {
		panic(err) // the standard patterns compile: a bug, not a configuration problem
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr(redactor)}))
}

// redactAttr redacts the strings and errors of a log line.
func redactAttr(r *commands.Redactor) func([]string, slog.Attr) slog.Attr {
	return func(_ []string, a slog.Attr) slog.Attr {
		switch a.Value.Kind() {
		case slog.KindString:
			a.Value = slog.StringValue(r.String(a.Value.String()))
		case slog.KindAny:
			if err, ok := a.Value.Any().(error); ok {
				a.Value = slog.StringValue(r.String(err.Error()))
			}
		}
		return a
	}
}

func consoleUser() string {
	if u := os.Getenv("USER"); u != "" {
		return "console:" + u
	}
	return "console"
}
