// Package commands is the transport-neutral command catalogue of mfbot:
// parsing, service resolution, confirmations, redaction and replies. Slack,
// the console and tests all drive it through Catalogue.Run.
package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode"

	"mfbot/audit"
	"mfbot/config"
	"mfbot/confirm"
	"mfbot/containers"
	"mfbot/database"
	"mfbot/freshness"
	"mfbot/mute"
	"mfbot/pipeline"
	"mfbot/release"
	"mfbot/reply"
)

// Environment is one configured environment with its live dependencies.
type Environment struct {
	Config config.Environment
	Docker containers.Engine
	// App reaches the backend's HTTP endpoints; nil when not wired.
	App AppProbe
	// DB reads the environment's MonitorFish database, read-only; nil when
	// no database is configured (ENV_DB_URL / database_url). Never a typed
	// nil: wire leaves it nil.
	DB database.Reader
	// Pipeline is the environment's Prefect; nil when no Prefect is
	// configured (PREFECT_API_URL / prefect_url). Never a typed nil.
	Pipeline pipeline.API
	// Registry lists the tags of image repositories (`versions`).
	Registry TagLister
	// Positions counts the positions received over time (`health
	// --chart`); nil when no database is configured.
	Positions PositionCounter
}

// AppProbe reads the MonitorFish backend's own HTTP endpoints.
type AppProbe interface {
	// Version returns the fields of GET /version.
	Version(ctx context.Context) (map[string]string, error)
	// Healthcheck reads the data freshness facts of the backend's
	// healthcheck (GET /api/v1/healthcheck, or the older
	// /bff/v1/healthcheck); an error when it does not answer 200 with them.
	Healthcheck(ctx context.Context) (freshness.Facts, error)
}

// Request is one command as typed by a user.
type Request struct {
	Line    string
	User    string // who typed it (Slack user ID, or "console:<login>")
	Channel string
	Via     string // ViaConsole, ViaSocket, ViaHTTP, ViaButton
	// Confirmed is set when the user already confirmed this exact command.
	// Only the console (after its prompt) and Decide set it: a Slack
	// transport never does, so a Slack user always goes through a stored
	// confirmation and its Confirm button.
	Confirmed bool
	// Default is the target implied by the context (a reply's or an alert's thread).
	Default *reply.Target
	// Progress shows the steps of a long action while it runs; nil: not shown.
	Progress Steps
}

// Options are the catalogue's optional collaborators.
type Options struct {
	Log *slog.Logger
	// Redactor is shared with the transports; nil: one is built from the
	// configuration's patterns.
	Redactor *Redactor
	// Groups resolves Slack user groups in operator and viewer lists.
	Groups GroupResolver
	// Audit records every command and click; nil: no audit log.
	Audit audit.Log
	// Confirmations keeps pending confirmations for Slack's buttons; nil:
	// only the console's inline confirmation works.
	Confirmations confirm.Store
	// Mutes keeps maintenance windows; Incidents lists open incidents.
	// nil: mute, unmute and incidents say they need the store.
	Mutes     mute.Store
	Incidents IncidentLister
	// Reports reads closed incidents, their threads and the audit log
	// (`incident <id> report`, `incidents --closed`); nil: they say they
	// need the store.
	Reports IncidentReports
	// ConfirmTTL is how long a confirmation stays valid (default 2 min).
	ConfirmTTL time.Duration
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Metrics counts commands by verb and outcome; nil: not counted.
	Metrics *Metrics
	// Releases keeps the deploys made and the deploy locks; nil: deploy
	// says it needs the store, and drift is not shown.
	Releases release.Store
	// Announcer announces deploys in the alert channel; nil: not announced.
	Announcer Announcer
	// Charts draws charts (--chart); nil: charts are not available.
	Charts ChartRenderer
	// Samples reads the sampled container stats (`stats <svc> --chart`);
	// nil: no history is kept.
	Samples SampleReader
}

// Catalogue runs commands against the configured environments.
type Catalogue struct {
	cfg           *config.Config
	envs          map[string]*Environment
	redactor      *Redactor
	verbs         map[string]*verb
	log           *slog.Logger
	groups        GroupResolver
	audit         audit.Log
	confirmations confirm.Store
	mutes         mute.Store
	mutePolicy    mute.Policy
	incidents     IncidentLister
	confirmTTL    time.Duration
	now           func() time.Time
	metrics       *Metrics
	releases      release.Store
	announcer     Announcer
	charts        ChartRenderer
	samples       SampleReader
	reports       IncidentReports
}

// New builds the catalogue. Every configured environment must be given.
func New(cfg *config.Config, envs []*Environment, opts Options) (*Catalogue, error) {
	redactor := opts.Redactor
	if redactor == nil {
		var err error
		if redactor, err = NewRedactor(cfg.Redaction.Patterns); err != nil {
			return nil, fmt.Errorf("build redactor: %w", err)
		}
	}
	c := &Catalogue{cfg: cfg, envs: map[string]*Environment{}, redactor: redactor, log: opts.Log,
		groups: opts.Groups, audit: opts.Audit, confirmations: opts.Confirmations, mutes: opts.Mutes, incidents: opts.Incidents,
		confirmTTL: opts.ConfirmTTL, now: opts.Now, metrics: opts.Metrics,
		releases: opts.Releases, announcer: opts.Announcer, charts: opts.Charts, samples: opts.Samples, reports: opts.Reports}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.mutePolicy = MutePolicy(cfg, opts.Mutes)
	if c.confirmTTL == 0 {
		c.confirmTTL = 2 * time.Minute
	}
	if c.now == nil {
		c.now = time.Now
	}
	for _, e := range envs {
		c.envs[e.Config.Name] = e
	}
	for _, e := range cfg.Environments {
		if c.envs[e.Name] == nil {
			return nil, fmt.Errorf("environment %q is configured but not wired", e.Name)
		}
	}
	c.verbs = map[string]*verb{}
	for _, v := range c.catalogue() {
		c.verbs[v.name] = v
	}
	return c, nil
}

// verb is one command of the catalogue.
type verb struct {
	name     string
	usage    string // "logs <service> [--tail N] ..."
	summary  string
	examples []string
	flags    []FlagSpec
	target   targetRule
	mutating bool
	run      func(ctx context.Context, call *call) (reply.Reply, error)
	// beforeConfirm, when set, runs before a confirmation is asked: it
	// refuses what cannot run (bad input, an ambiguous flow name, a
	// dependency not configured), so that no confirmation is created for
	// it, and may resolve the arguments and set call.prompt so that the
	// confirmation names exactly what will run. ok false: rep says why.
	beforeConfirm func(ctx context.Context, call *call) (rep reply.Reply, ok bool)
}

// targetRule says whether a verb takes a service.
type targetRule int

const (
	noTarget       targetRule = iota
	freeArgs                  // the verb reads its own positional arguments
	serviceTarget             // exactly one service
	optionalTarget            // zero or one service
)

// call is a parsed invocation ready to run.
type call struct {
	env     *Environment
	verb    *verb
	args    Args
	service *config.Service // nil for verbs without target or when omitted
	// around is the moment the thread's target is about, when the service
	// came from it (zero otherwise).
	around  time.Time
	request Request
	// prompt, when set (by beforeConfirm), is the confirmation's question.
	prompt string
}

// Run parses, authorizes and runs one command line. It never panics on bad
// input and always returns a reply, audited (its command line redacted).
// The reply itself is redacted at the edge, by the transport that shows
// it (the console, the Slack client); log lines are redacted as they are
// read, so that --grep matches the redacted text.
func (c *Catalogue) Run(ctx context.Context, req Request) reply.Reply {
	started := c.now()
	call, rep, ok := c.parse(req)
	if ok {
		rep = c.runCall(ctx, call)
	}
	if rep.Status == reply.StatusFailed && rep.Title == "" {
		rep.Title = "Command failed"
	}
	c.record(ctx, req, call, rep.Status.String(), started)
	return rep
}

func (c *Catalogue) runCall(ctx context.Context, call *call) reply.Reply {
	if err := c.authorize(ctx, call.env.Config, call.request, call.verb.name, call.verb.mutating); err != nil {
		return denial(err)
	}
	if call.verb.mutating && !call.request.Confirmed {
		if call.verb.beforeConfirm != nil {
			if rep, ok := call.verb.beforeConfirm(ctx, call); !ok {
				return rep
			}
		}
		return c.askConfirmation(ctx, call)
	}
	if c.cfg.Limits.CommandTimeout > 0 && !call.verb.mutating {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.Limits.CommandTimeout)
		defer cancel()
	}
	rep, err := call.verb.run(ctx, call)
	if err != nil {
		rep = failure(call, err)
	}
	if rep.Target == nil {
		rep.Target = call.target()
	}
	return rep
}

// denial turns an authorization error into a reply; a failure to resolve
// a user group is not a denial but an error to fix.
func denial(err error) reply.Reply {
	var denied *deniedError
	if errors.As(err, &denied) {
		return reply.Reply{Status: reply.StatusDenied, Title: "Not allowed", Blocks: []reply.Block{&reply.Text{Text: denied.msg}}}
	}
	return reply.Reply{Status: reply.StatusFailed, Title: "Could not check your role", Blocks: []reply.Block{&reply.Text{Text: err.Error()}}}
}

// record audits a command.
func (c *Catalogue) record(ctx context.Context, req Request, call *call, outcome string, started time.Time) {
	entry := audit.Entry{Time: started, User: req.User, Channel: req.Channel, Command: c.redactor.String(req.Line),
		Outcome: outcome, Duration: c.now().Sub(started), Via: req.Via}
	verb := ""
	if call != nil {
		verb = call.verb.name
		entry.Env = call.env.Config.Name
		if call.service != nil {
			entry.Target = call.service.Name
		}
	}
	c.metrics.command(verb, outcome, entry.Duration)
	c.writeAudit(ctx, entry)
}

// writeAudit logs an entry and appends it to the audit log; the audit log
// failing must not fail the command, but it is logged loudly.
func (c *Catalogue) writeAudit(ctx context.Context, entry audit.Entry) {
	c.log.Info("audit", "user", entry.User, "channel", entry.Channel, "via", entry.Via, "env", entry.Env,
		"line", entry.Command, "outcome", entry.Outcome, "duration", entry.Duration.Round(time.Millisecond))
	if c.audit == nil {
		return
	}
	if err := c.audit.AppendAudit(context.WithoutCancel(ctx), entry); err != nil {
		c.log.Error("audit log write failed", "err", err, "line", entry.Command)
	}
}

func (call *call) target() *reply.Target {
	if call.service == nil {
		return &reply.Target{Env: call.env.Config.Name}
	}
	return &reply.Target{Env: call.env.Config.Name, Service: call.service.Name}
}

// failure turns an error into a reply that says what failed; the Logs
// button lets the user look at the service right away.
func failure(call *call, err error) reply.Reply {
	var usage *UsageError
	if errors.As(err, &usage) {
		return usageReply(call.verb, usage.Msg)
	}
	rep := reply.Reply{Status: reply.StatusFailed, Title: call.verb.name + " failed", Blocks: []reply.Block{&reply.Text{Text: err.Error()}}}
	if call.service != nil {
		rep.Actions = []reply.Action{logsAction(call)}
	}
	return rep
}

func usageReply(v *verb, msg string) reply.Reply {
	text := msg
	if v != nil {
		text += "\nUsage: " + v.usage
	}
	return reply.Reply{Status: reply.StatusUsage, Title: "Usage", Blocks: []reply.Block{&reply.Text{Text: text}}}
}

// parse turns a request into a call, or a usage reply.
func (c *Catalogue) parse(req Request) (*call, reply.Reply, bool) {
	tokens, err := Tokenize(req.Line)
	if err != nil {
		return nil, usageReply(nil, err.Error()), false
	}
	if len(tokens) == 0 {
		return nil, usageReply(nil, "Empty command. Try `help`."), false
	}
	env, tokens, rep, ok := c.pickEnvironment(tokens, req.Default)
	if !ok {
		return nil, rep, false
	}
	if len(tokens) == 0 {
		return nil, usageReply(nil, "Missing command after the environment. Try `help`."), false
	}
	v, rest := c.lookupVerb(tokens)
	if v == nil {
		return nil, usageReply(nil, c.unknownCommandMessage(tokens)), false
	}
	args, err := ParseFlags(rest, v.flags, c.now())
	if err != nil {
		return nil, usageReply(v, err.Error()), false
	}
	cl := &call{env: env, verb: v, args: args, request: req}
	switch v.target {
	case noTarget:
		if len(args.Positional) > 0 {
			return nil, usageReply(v, fmt.Sprintf("%s takes no argument, got %q.", v.name, args.Positional[0])), false
		}
	case serviceTarget, optionalTarget:
		if len(args.Positional) > 1 {
			return nil, usageReply(v, fmt.Sprintf("%s takes one service, got %q.", v.name, strings.Join(args.Positional, " "))), false
		}
		svcName := ""
		if len(args.Positional) == 1 {
			svcName = args.Positional[0]
		} else if req.Default != nil && req.Default.Env == env.Config.Name && req.Default.Service != "" {
			svcName = req.Default.Service
			cl.around = req.Default.At
		}
		if svcName == "" {
			if v.target == serviceTarget {
				return nil, usageReply(v, fmt.Sprintf("Which service? One of: %s.", strings.Join(env.Config.ServiceNames(), ", "))), false
			}
			break
		}
		svc, ok := env.Config.Service(strings.ToLower(svcName))
		if !ok {
			return nil, usageReply(v, unknownNameMessage("service", svcName, "Services", env.Config.ServiceNames())), false
		}
		cl.service = &svc
	}
	return cl, reply.Reply{}, true
}

// pickEnvironment consumes a leading environment name, or falls back to the
// context's environment, then the default one. A first word that is no
// command, followed by a command, was meant as an environment (`prod logs
// app` where only local is configured): it is refused as one.
func (c *Catalogue) pickEnvironment(tokens []string, def *reply.Target) (*Environment, []string, reply.Reply, bool) {
	first := strings.ToLower(tokens[0])
	if e, ok := c.envs[first]; ok && c.verbs[first] == nil {
		return e, tokens[1:], reply.Reply{}, true
	}
	if len(tokens) > 1 && !c.isCommandWord(first) && c.startsWithCommand(tokens[1:]) {
		// A typo of a command followed by a word that happens to be one
		// (`hlep logs`) is a command, unless it is as close to an environment.
		envs := c.environmentNames()
		if closestName(first, envs) != "" || closestName(first, c.commandWords()) == "" {
			return nil, nil, usageReply(nil, unknownNameMessage("environment", tokens[0], "Environments", envs)), false
		}
	}
	if def != nil {
		if e, ok := c.envs[def.Env]; ok {
			return e, tokens, reply.Reply{}, true
		}
	}
	name := c.cfg.DefaultEnv
	if name == "" && len(c.cfg.Environments) > 0 {
		name = c.cfg.Environments[0].Name
	}
	e, ok := c.envs[name]
	if !ok {
		return nil, nil, usageReply(nil, "No environment is configured."), false
	}
	return e, tokens, reply.Reply{}, true
}

// unknownCommandMessage refuses a command line whose first words name no
// verb, suggesting the nearest one: `lgos app` → logs, `flow rn x` →
// flow run.
func (c *Catalogue) unknownCommandMessage(tokens []string) string {
	word := strings.ToLower(tokens[0])
	if family := c.verbsUnder(word); len(family) > 0 {
		if len(tokens) > 1 {
			if second := closestName(tokens[1], secondWords(family)); second != "" {
				return fmt.Sprintf("Unknown command %q (did you mean %s %s?).", word+" "+tokens[1], word, second)
			}
		}
		return fmt.Sprintf("%s what? %s.", word, strings.Join(usages(family), " · "))
	}
	suggestion := closestName(tokens[0], c.commandWords())
	if suggestion == "" {
		return fmt.Sprintf("Unknown command %q. Commands: %s.", tokens[0], strings.Join(c.verbNames(), ", "))
	}
	// `flwo run x`: the whole verb, when the next word completes it.
	if len(tokens) > 1 && c.verbs[suggestion+" "+strings.ToLower(tokens[1])] != nil {
		suggestion += " " + strings.ToLower(tokens[1])
	}
	return fmt.Sprintf("Unknown command %q (did you mean %s?).", tokens[0], suggestion)
}

// commandWords are the words a command may start with: the one-word verbs
// and the first words of the two-word ones (flow, pipeline, run, ...).
func (c *Catalogue) commandWords() []string {
	var words []string
	for _, name := range c.verbNames() {
		first, _, _ := strings.Cut(name, " ")
		if !slices.Contains(words, first) {
			words = append(words, first)
		}
	}
	return words
}

// isCommandWord tells whether word starts a command: a verb, or the first
// word of a two-word verb.
func (c *Catalogue) isCommandWord(word string) bool {
	return c.verbs[strings.ToLower(word)] != nil || len(c.verbsUnder(word)) > 0
}

// startsWithCommand tells whether tokens start with a verb or a verb family.
func (c *Catalogue) startsWithCommand(tokens []string) bool {
	v, _ := c.lookupVerb(tokens)
	return v != nil || len(c.verbsUnder(tokens[0])) > 0
}

// environmentNames lists the configured environments in configuration order.
func (c *Catalogue) environmentNames() []string {
	names := make([]string, 0, len(c.cfg.Environments))
	for _, e := range c.cfg.Environments {
		names = append(names, e.Name)
	}
	return names
}

// secondWords are the second words of two-word verbs (flow run → run).
func secondWords(verbs []*verb) []string {
	words := make([]string, len(verbs))
	for i, v := range verbs {
		_, words[i], _ = strings.Cut(v.name, " ")
	}
	return words
}

// lookupVerb finds the verb a command starts with, two words ("flow
// run", "run logs") before one, and returns the tokens after it.
func (c *Catalogue) lookupVerb(tokens []string) (*verb, []string) {
	if len(tokens) > 1 {
		if v := c.verbs[strings.ToLower(tokens[0]+" "+tokens[1])]; v != nil {
			return v, tokens[2:]
		}
	}
	return c.verbs[strings.ToLower(tokens[0])], tokens[1:]
}

// verbsUnder lists, by name, the two-word verbs whose first word is word
// ("flow": flow pause, flow resume, flow run).
func (c *Catalogue) verbsUnder(word string) []*verb {
	var out []*verb
	for _, name := range c.verbNames() {
		if strings.HasPrefix(name, strings.ToLower(word)+" ") {
			out = append(out, c.verbs[name])
		}
	}
	return out
}

func usages(verbs []*verb) []string {
	out := make([]string, len(verbs))
	for i, v := range verbs {
		out[i] = v.usage
	}
	return out
}

func (c *Catalogue) verbNames() []string {
	names := make([]string, 0, len(c.verbs))
	for n := range c.verbs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// canonical is the command line to run once confirmed: explicit
// environment, verb, target and flags, so a click runs exactly what was shown.
func (c *Catalogue) canonical(call *call) string {
	parts := []string{call.env.Config.Name, call.verb.name}
	var positional []string
	if call.service != nil {
		positional = []string{call.service.Name}
	} else {
		for _, p := range call.args.Positional {
			positional = append(positional, quoteIfNeeded(p))
		}
	}
	// An argument that reads as a flag (`mute app 1h -- --force`) comes
	// after the flags and a --, as the user had to type it.
	afterFlags := slices.ContainsFunc(call.args.Positional, parseReadsAsFlag)
	if !afterFlags {
		parts = append(parts, positional...)
	}
	for _, f := range call.verb.flags {
		if !call.args.Has(f.Name) {
			continue
		}
		switch f.Kind {
		case FlagBool:
			if call.args.Bools[f.Name] {
				parts = append(parts, "--"+f.Name)
			}
		case FlagInt:
			parts = append(parts, fmt.Sprintf("--%s=%d", f.Name, call.args.Ints[f.Name]))
		case FlagDuration:
			parts = append(parts, "--"+f.Name+"="+call.args.Durations[f.Name].String())
		case FlagString:
			parts = append(parts, "--"+f.Name+"="+quoteIfNeeded(call.args.Strings[f.Name]))
		case FlagRegexp:
			parts = append(parts, "--"+f.Name+"="+quoteIfNeeded(call.args.Regexps[f.Name].String()))
		case FlagInstant:
			// A duration stays relative to when the command runs; a time
			// is written in UTC, which reads back as the same instant.
			instant := call.args.Instants[f.Name]
			value := instant.Ago.String()
			if !instant.At.IsZero() {
				value = parseFormatTime(instant.At)
			}
			parts = append(parts, "--"+f.Name+"="+value)
		}
	}
	if afterFlags {
		parts = append(append(parts, "--"), positional...)
	}
	return strings.Join(parts, " ")
}

// quoteIfNeeded quotes a word that Tokenize would otherwise split or
// unquote, Slack's typographic quotes included.
func quoteIfNeeded(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == '\\' || parseIsDoubleQuote(r) || parseIsSingleQuote(r)
	}) {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "“", `\“`, "”", `\”`).Replace(s) + `"`
}

func (c *Catalogue) confirmPrompt(call *call) string {
	if call.prompt != "" {
		return call.prompt
	}
	what := call.verb.name
	if call.service != nil {
		what += " " + call.service.Name
	} else if len(call.args.Positional) > 0 {
		what += " " + strings.Join(call.args.Positional, " ")
	}
	if call.verb.name == "restart" && call.service != nil && recreatesOnRestart(*call.service) {
		if call.args.Bools["no-pull"] {
			what = "recreate " + call.service.Name + " (no pull)"
		} else {
			what = "pull the image of " + call.service.Name + " and recreate it"
		}
	}
	return fmt.Sprintf("%s in %s?", upperFirst(what), call.env.Config.Name)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func logsAction(call *call) reply.Action {
	return reply.Action{Label: "Logs", Command: call.env.Config.Name + " logs " + call.service.Name}
}
