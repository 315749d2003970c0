package commands

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"mfbot/human"
	"mfbot/mute"
	"mfbot/pipeline"
	"mfbot/reply"
)

// The Prefect verbs: flows, runs, run logs, flow run, run cancel, flow
// pause and flow resume. They know Prefect only through pipeline.API, the
// one interface of both Prefect generations. A flow is named the way
// operators say it and found with pipeline.Match ("logbook", "Logbook" and
// "Monitorfish - Logbook" are one flow); a name that fits several flows
// runs nothing and creates no confirmation.

const (
	// defaultRunsLimit and maxRunsLimit bound `runs --limit`.
	defaultRunsLimit = 10
	maxRunsLimit     = 200
	// runLogLines is how many log lines `run logs` reads: Prefect keeps a
	// day of them, and a failed MonitorFish flow rarely logs more.
	runLogLines = 1000
	// Up to runLogsInlineLines lines and runLogsInlineChars characters,
	// the logs of a run are code blocks in the reply; beyond, the whole
	// goes to a file and the reply keeps the last error lines.
	runLogsInlineLines = 40
	runLogsInlineChars = 2500
	// runErrorLinesKept bounds the error block of a long log.
	runErrorLinesKept = 20
	// failedRunButtons bounds the Logs buttons under `runs`.
	failedRunButtons = 5
	// prefectMessageChars cuts Prefect's state and task messages.
	prefectMessageChars = 300
	// idempotencyKeyFlag carries the key of `flow run`: minted when the
	// confirmation is asked, it travels in the confirmed command line, so
	// that the same confirmation run twice starts one run.
	idempotencyKeyFlag = "idempotency-key"
	// idempotencyKeyPrefix marks the runs mfbot started, in Prefect.
	idempotencyKeyPrefix = "mfbot-"
	// prefectAPITarget is the mute target of the Prefect API's incident
	// (bot/watch.PrefectAPITarget, which commands cannot import).
	prefectAPITarget = "prefect-api"
)

// runIDPattern is the shape of a flow run ID in both Prefect generations:
// a UUID. Checked before any call, so that bad input runs nothing.
var runIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// idempotencyKeyPattern is what --idempotency-key accepts.
var idempotencyKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// prefectVerbs are the catalogue entries of the Prefect verbs.
func (c *Catalogue) prefectVerbs() []*verb {
	flowVerb := func(name, summary, example string, active bool) *verb {
		return &verb{name: name, usage: name + " <flow>", summary: summary, examples: []string{example, "prod " + example},
			target: freeArgs, mutating: true,
			beforeConfirm: func(ctx context.Context, call *call) (reply.Reply, bool) { return c.beforeSchedule(ctx, call, active) },
			run:           func(ctx context.Context, call *call) (reply.Reply, error) { return c.setSchedule(ctx, call, active) },
		}
	}
	return []*verb{
		{
			name: "flows", usage: "flows", summary: "the Prefect flows: schedule, whether it is active or paused, last run state and time",
			examples: []string{"flows", "prod flows"}, target: noTarget, run: c.flowsVerb,
		},
		{
			name: "runs", usage: "runs [flow] [--failed] [--limit N]", summary: "recent flow runs, newest first",
			examples: []string{"runs", "runs logbook --failed", "prod runs --limit 50"},
			flags: []FlagSpec{
				{Name: "failed", Kind: FlagBool, Help: "only failed and crashed runs"},
				{Name: "limit", Kind: FlagInt, Unit: "runs", Min: 1, Max: maxRunsLimit, Help: fmt.Sprintf("how many (default %d, at most %d)", defaultRunsLimit, maxRunsLimit)},
			},
			target: freeArgs, run: c.runsVerb,
		},
		{
			name: "run logs", usage: "run logs <run-id>", summary: "a flow run: its state, its failed task runs and its logs, errors first",
			examples: []string{"run logs 6f1c2a9e-3b4d-4c5e-8f90-1a2b3c4d5e6f"}, target: freeArgs, run: c.runLogs,
		},
		{
			name: "run cancel", usage: "run cancel <run-id>", summary: "ask Prefect to cancel a flow run, and say what it decided",
			examples: []string{"run cancel 6f1c2a9e-3b4d-4c5e-8f90-1a2b3c4d5e6f"}, target: freeArgs, mutating: true,
			beforeConfirm: c.beforeRunCancel, run: c.runCancel,
		},
		{
			name: "flow run", usage: "flow run <flow>", summary: "start a run of a flow now (Prefect's Run button); a retried confirmation starts no second run",
			examples: []string{"flow run logbook", "prod flow run \"last positions\""},
			flags: []FlagSpec{{Name: idempotencyKeyFlag, Kind: FlagString,
				Help: "the key Prefect recognizes a retried request by (mfbot sets one when it asks for the confirmation)"}},
			target: freeArgs, mutating: true, beforeConfirm: c.beforeFlowRun, run: c.flowRun,
		},
		flowVerb("flow pause", "pause a flow's schedule: no new scheduled run until flow resume", "flow pause logbook", false),
		flowVerb("flow resume", "resume a flow's paused schedule", "flow resume logbook", true),
	}
}

// prefect returns the environment's Prefect, or the reply that says it
// is not configured and how to configure it.
func (c *Catalogue) prefect(call *call) (pipeline.API, reply.Reply, bool) {
	if api := call.env.Pipeline; api != nil {
		return api, reply.Reply{}, true
	}
	name := call.env.Config.Name
	text := fmt.Sprintf("Prefect is not configured for %s: set PREFECT_API_URL (…/graphql for Prefect 1, …/api for Prefect 3)", name)
	if name != c.cfg.DefaultEnv {
		// PREFECT_API_URL configures the default environment only.
		text = fmt.Sprintf("Prefect is not configured for %s: set environments.%s.prefect_url in the configuration file (…/graphql for Prefect 1, …/api for Prefect 3)", name, name)
	}
	if p := call.env.Config.Prefect; p != nil && p.URL != "" {
		text = fmt.Sprintf("Prefect is configured for %s (%s) but its client could not be set up: see mfbot's log, or run `mfbot check`", name, p.URL)
	}
	return nil, reply.Reply{Status: reply.StatusFailed, Title: "Prefect is not configured for " + name,
		Blocks: []reply.Block{&reply.Text{Text: text + ". Nothing was run."}}}, false
}

// prefectContext bounds the Prefect calls of the mutating verbs, which the
// catalogue leaves unbounded (a restart waits longer than a command).
func (c *Catalogue) prefectContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if d := c.cfg.Limits.CommandTimeout; d > 0 {
		return context.WithTimeout(ctx, d)
	}
	return context.WithCancel(ctx)
}

// prefectFailure is the reply of a failed Prefect call: short, one line
// of what was being done and why, never a stack trace. Bad input is a
// usage reply.
func (c *Catalogue) prefectFailure(call *call, doing string, err error) reply.Reply {
	var usage *UsageError
	if errors.As(err, &usage) {
		return usageReply(call.verb, usage.Msg)
	}
	name := call.env.Config.Name
	detail := cut(oneLine(err.Error()), 500)
	var title string
	switch {
	case errors.Is(err, pipeline.ErrUnreachable), errors.Is(err, context.DeadlineExceeded):
		title = "Prefect does not answer in " + name
		detail = fmt.Sprintf("Could not %s: %s", doing, detail)
		if p := call.env.Config.Prefect; p != nil && p.URL != "" {
			detail += ". Prefect API: " + p.URL
		}
	case errors.Is(err, pipeline.ErrRefused):
		title = fmt.Sprintf("Prefect refused to %s in %s", doing, name)
	default:
		title = fmt.Sprintf("Could not %s in %s", doing, name)
	}
	return reply.Reply{Status: reply.StatusFailed, Title: title, Target: &reply.Target{Env: name},
		Blocks: []reply.Block{&reply.Text{Text: detail}}}
}

// noSuchRun is the reply for a run ID Prefect does not know.
func noSuchRun(call *call, id string) reply.Reply {
	return reply.Reply{Status: reply.StatusFailed, Title: fmt.Sprintf("No flow run %s in %s", id, call.env.Config.Name),
		Target: &reply.Target{Env: call.env.Config.Name},
		Blocks: []reply.Block{&reply.Text{Text: fmt.Sprintf("no flow run %s: Prefect has none with that ID (it keeps runs a short time). `runs` lists the recent ones.", id)}}}
}

// resolveFlow finds the flow an operator names, among the API's flows.
// Ambiguous and unknown names are usage errors: nothing runs.
func resolveFlow(ctx context.Context, call *call, api pipeline.API, name string) (pipeline.Flow, error) {
	flows, err := api.Flows(ctx)
	if err != nil {
		return pipeline.Flow{}, fmt.Errorf("list the flows: %w", err)
	}
	return matchFlow(call, flows, name)
}

func matchFlow(call *call, flows []pipeline.Flow, name string) (pipeline.Flow, error) {
	flow, err := pipeline.Match(flows, name)
	var ambiguous *pipeline.AmbiguousError
	var unknown *pipeline.UnknownFlowError
	switch {
	case errors.As(err, &ambiguous):
		return flow, usageErrorf("%q fits %d flows: %s. Nothing was run: name one of them.", name, len(ambiguous.Candidates), strings.Join(ambiguous.Candidates, ", "))
	case errors.As(err, &unknown) && len(unknown.Known) == 0:
		return flow, usageErrorf("No flow is named %q: Prefect lists no flow in %s.", name, call.env.Config.Name)
	case errors.As(err, &unknown):
		return flow, usageErrorf("No flow is named %q in %s. Flows: %s.", name, call.env.Config.Name, strings.Join(unknown.Known, ", "))
	}
	return flow, err
}

// flowArg is the flow a verb names: its positional words, so that
// `flow run last positions` needs no quotes.
func flowArg(call *call) (string, error) {
	name := strings.TrimSpace(strings.Join(call.args.Positional, " "))
	if name == "" {
		return "", usageErrorf("Which flow? `flows` lists them.")
	}
	return name, nil
}

// runIDArg is the run ID a verb names, checked before any call.
func runIDArg(call *call) (string, error) {
	pos := call.args.Positional
	switch {
	case len(pos) == 0:
		return "", usageErrorf("%s needs a flow run ID (`runs` lists them).", call.verb.name)
	case len(pos) > 1:
		return "", usageErrorf("%s takes one run ID, got %q.", call.verb.name, strings.Join(pos, " "))
	case !runIDPattern.MatchString(pos[0]):
		return "", usageErrorf("%q is not a flow run ID: a UUID such as 6f1c2a9e-3b4d-4c5e-8f90-1a2b3c4d5e6f.", cut(pos[0], 80))
	}
	return strings.ToLower(pos[0]), nil
}

// flowsVerb answers `flows`: every flow, by name.
func (c *Catalogue) flowsVerb(ctx context.Context, call *call) (reply.Reply, error) {
	api, rep, ok := c.prefect(call)
	if !ok {
		return rep, nil
	}
	flows, err := api.Flows(ctx)
	if err != nil {
		return c.prefectFailure(call, "list the flows", err), nil
	}
	name := call.env.Config.Name
	if len(flows) == 0 {
		return reply.Reply{Status: reply.StatusOK, Title: "No flow in " + name,
			Blocks: []reply.Block{&reply.Text{Text: "Prefect answers but lists no flow (Prefect 3: no deployment)."}}}, nil
	}
	slices.SortFunc(flows, func(a, b pipeline.Flow) int {
		return strings.Compare(strings.ToLower(pipeline.ShortName(a.Name)), strings.ToLower(pipeline.ShortName(b.Name)))
	})
	now := c.now()
	t := &reply.Table{Header: []string{"flow", "schedule", "schedule active", "last run", "when"}}
	paused, failed := 0, 0
	for _, f := range flows {
		schedule, active := "none", "—"
		if f.Schedule != "" {
			schedule, active = f.Schedule, "yes"
			if !f.ScheduleActive {
				active = "paused"
				paused++
			}
		}
		last, when := "—", ""
		if r := f.LastRun; r != nil {
			last, when = r.State.String(), runWhen(*r, now)
			if r.State.Failure() {
				failed++
			}
		}
		t.Rows = append(t.Rows, []string{pipeline.ShortName(f.Name), schedule, active, last, when})
	}
	title := fmt.Sprintf("%d flows in %s", len(flows), name)
	if paused > 0 {
		title += fmt.Sprintf(", %d paused", paused)
	}
	if failed > 0 {
		title += fmt.Sprintf(", %d whose last run failed", failed)
	}
	return reply.Reply{Status: reply.StatusOK, Title: title, Blocks: []reply.Block{t}}, nil
}

// runWhen says when a run happened, the way people ask: "12 min ago",
// "running for 3 min", "expected in 2 min".
func runWhen(r pipeline.Run, now time.Time) string {
	switch {
	case r.State.Final():
		if at := r.EndOrStateTime(); !at.IsZero() {
			return human.Duration(now.Sub(at)) + " ago"
		}
	case !r.Start.IsZero():
		return "running for " + human.Duration(now.Sub(r.Start))
	}
	if r.ExpectedStart.IsZero() {
		return ""
	}
	if r.ExpectedStart.After(now) {
		return "expected in " + human.Duration(r.ExpectedStart.Sub(now))
	}
	return "expected " + human.Duration(now.Sub(r.ExpectedStart)) + " ago"
}

// runDuration is how long a run ran, or has been running.
func runDuration(r pipeline.Run, now time.Time) string {
	switch {
	case r.Start.IsZero():
		return "—"
	case r.State.Final():
		if end := r.EndOrStateTime(); !end.IsZero() {
			return human.Duration(end.Sub(r.Start))
		}
		return "—"
	}
	return human.Duration(now.Sub(r.Start)) + " so far"
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// runName is what a run is called in a title: its name, else its ID.
func runName(r pipeline.Run) string {
	if r.Name != "" {
		return r.Name
	}
	return shortID(r.ID)
}

// runsVerb answers `runs [flow] [--failed] [--limit N]`.
func (c *Catalogue) runsVerb(ctx context.Context, call *call) (reply.Reply, error) {
	api, rep, ok := c.prefect(call)
	if !ok {
		return rep, nil
	}
	q := pipeline.RunQuery{Failed: call.args.Bools["failed"], Limit: defaultRunsLimit}
	if call.args.Has("limit") {
		q.Limit = call.args.Ints["limit"]
	}
	of := ""
	if len(call.args.Positional) > 0 {
		name, _ := flowArg(call)
		flow, err := resolveFlow(ctx, call, api, name)
		if err != nil {
			return c.prefectFailure(call, "list the flows", err), nil
		}
		q.Flows, of = []pipeline.Flow{flow}, " of "+flow.Name
	}
	runs, err := api.Runs(ctx, q)
	if err != nil {
		return c.prefectFailure(call, "list the runs", err), nil
	}
	kind := "runs"
	if q.Failed {
		kind = "failed runs"
	}
	name := call.env.Config.Name
	if len(runs) == 0 {
		return reply.Reply{Status: reply.StatusOK, Title: fmt.Sprintf("No %s%s in %s", kind, of, name),
			Blocks: []reply.Block{&reply.Text{Text: "Prefect keeps run history a short time (a day or a week)."}}}, nil
	}
	now := c.now()
	t := &reply.Table{Header: []string{"run", "id", "flow", "state", "start", "duration"}}
	var actions []reply.Action
	for _, r := range runs {
		start := human.Stamp(r.Start)
		if r.Start.IsZero() {
			start = "not started"
		}
		t.Rows = append(t.Rows, []string{r.Name, shortID(r.ID), pipeline.ShortName(r.FlowName), r.State.String(), start, runDuration(r, now)})
		// Short IDs cannot be typed into `run logs`: the failed runs,
		// those one looks into, get a button.
		if r.State.Failure() && len(actions) < failedRunButtons {
			actions = append(actions, reply.Action{Label: "Logs of " + runName(r), Command: name + " run logs " + r.ID})
		}
	}
	return reply.Reply{Status: reply.StatusOK, Title: fmt.Sprintf("Last %d %s%s in %s", len(runs), kind, of, name),
		Blocks: []reply.Block{t}, Actions: actions}, nil
}

// runLogs answers `run logs <run-id>`: the run, its failed task runs, and
// its log lines, ERROR and above first.
func (c *Catalogue) runLogs(ctx context.Context, call *call) (reply.Reply, error) {
	id, err := runIDArg(call)
	if err != nil {
		return reply.Reply{}, err
	}
	api, run, rep, ok := c.readRun(ctx, call, id)
	if !ok {
		return rep, nil
	}
	now := c.now()
	name := call.env.Config.Name
	blocks := []reply.Block{&reply.Fields{Fields: c.runFields(api, run, now)}}
	// The task runs and the logs are worth showing each without the other.
	tasks, taskErr := api.TaskRuns(ctx, id)
	blocks = append(blocks, failedTaskBlocks(tasks, taskErr)...)
	logs, logErr := api.Logs(ctx, id, runLogLines)
	blocks = append(blocks, c.runLogBlocks(run, logs, logErr)...)

	rep = reply.Reply{Status: reply.StatusOK, Title: fmt.Sprintf("Run %s of %s in %s: %s", runName(run), pipeline.ShortName(run.FlowName), name, run.State),
		Blocks: blocks, Target: &reply.Target{Env: name}}
	if !run.State.Final() {
		rep.Actions = append(rep.Actions, reply.Action{Label: "Cancel", Command: name + " run cancel " + run.ID, Style: "danger"})
	}
	if run.State.Failure() && run.FlowName != "" {
		rep.Actions = append(rep.Actions, reply.Action{Label: "Rerun", Command: name + " flow run " + pipeline.Target(run.FlowName), Style: "primary"})
	}
	return rep, nil
}

// runFields are a run's header: flow, state, times, link.
func (c *Catalogue) runFields(api pipeline.API, r pipeline.Run, now time.Time) []reply.Field {
	state := r.State.String()
	if msg := cut(oneLine(c.redactor.String(r.State.Message)), prefectMessageChars); msg != "" {
		state += ": " + msg
	}
	fields := []reply.Field{
		{Label: "Flow", Value: r.FlowName},
		{Label: "State", Value: state},
		{Label: "Started", Value: human.Stamp(r.Start)},
	}
	if r.Start.IsZero() && !r.ExpectedStart.IsZero() {
		fields[2] = reply.Field{Label: "Expected start", Value: human.Stamp(r.ExpectedStart)}
	}
	if r.State.Final() {
		fields = append(fields, reply.Field{Label: "Ended", Value: human.Stamp(r.EndOrStateTime())})
	}
	fields = append(fields, reply.Field{Label: "Duration", Value: runDuration(r, now)}, reply.Field{Label: "Run ID", Value: r.ID})
	if url := api.RunURL(r.ID); url != "" {
		fields = append(fields, reply.Field{Label: "Link", Value: url})
	}
	return fields
}

// failedTaskBlocks lists the failed task runs of a run, one line each
// as in the alert's thread (a table would cut their messages).
func failedTaskBlocks(tasks []pipeline.TaskRun, err error) []reply.Block {
	if err != nil {
		return []reply.Block{&reply.Text{Text: "Task runs unavailable: " + cut(oneLine(err.Error()), 300)}}
	}
	var lines []string
	for _, task := range tasks {
		if !task.State.Failure() {
			continue
		}
		line := task.State.String() + " · " + task.Name
		if !task.Start.IsZero() && !task.End.IsZero() {
			line += " · " + human.Duration(task.End.Sub(task.Start))
		}
		if msg := cut(oneLine(task.State.Message), prefectMessageChars); msg != "" {
			line += " · " + msg
		}
		lines = append(lines, line)
	}
	switch {
	case len(lines) > 0:
		head := fmt.Sprintf("Failed task runs (%d of %d):", len(lines), len(tasks))
		return []reply.Block{&reply.Text{Text: head + "\n" + strings.Join(lines, "\n")}}
	case len(tasks) == 0:
		return []reply.Block{&reply.Text{Text: "No task run."}}
	}
	return []reply.Block{&reply.Text{Text: fmt.Sprintf("None of its %d task runs failed.", len(tasks))}}
}

// runLogBlocks are a run's log lines, ERROR and above first, then the
// others, each block oldest first: code blocks when short; when long, the
// last error lines in the message and the whole in a file.
func (c *Catalogue) runLogBlocks(run pipeline.Run, logs []pipeline.LogLine, err error) []reply.Block {
	if err != nil {
		return []reply.Block{&reply.Text{Text: "Logs unavailable: " + cut(oneLine(err.Error()), 300)}}
	}
	if len(logs) == 0 {
		return []reply.Block{&reply.Text{Text: "The run has no log line (Prefect keeps them a short time)."}}
	}
	// One line redactor for the run: a private key logged over several
	// lines is hidden whole.
	redact := c.redactor.Lines()
	var errorLines, otherLines []string
	chars := 0
	for _, l := range logs {
		text := fmt.Sprintf("%s %s %s: %s", human.Clock(l.Time), strings.ToUpper(l.Level), l.Logger, l.Message)
		var kept []string
		for _, line := range strings.Split(text, "\n") {
			if redacted, ok := redact.Line(line); ok {
				kept = append(kept, redacted)
			}
		}
		text = strings.Join(kept, "\n")
		chars += len(text) + 1
		if l.IsError() {
			errorLines = append(errorLines, text)
		} else {
			otherLines = append(otherLines, text)
		}
	}
	read := fmt.Sprintf("its last %d log lines", len(logs))
	if len(logs) < runLogLines {
		read = fmt.Sprintf("its %d log lines", len(logs))
	}
	errorsHead := fmt.Sprintf("ERROR and above: %d of %s.", len(errorLines), read)
	if len(errorLines) == 0 {
		errorsHead = fmt.Sprintf("No ERROR line among %s.", read)
	}
	othersHead := fmt.Sprintf("The other %d lines:", len(otherLines))

	if len(logs) <= runLogsInlineLines && chars <= runLogsInlineChars {
		blocks := []reply.Block{&reply.Text{Text: errorsHead}}
		if len(errorLines) > 0 {
			blocks = append(blocks, &reply.Code{Text: strings.Join(errorLines, "\n")})
		}
		if len(otherLines) > 0 {
			blocks = append(blocks, &reply.Text{Text: othersHead}, &reply.Code{Text: strings.Join(otherLines, "\n")})
		}
		return blocks
	}

	var file strings.Builder
	fmt.Fprintf(&file, "Flow run %s (%s) of %s: %s\n\n== %s\n", runName(run), run.ID, run.FlowName, run.State, errorsHead)
	for _, l := range errorLines {
		file.WriteString(l + "\n")
	}
	fmt.Fprintf(&file, "\n== %s\n", othersHead)
	for _, l := range otherLines {
		file.WriteString(l + "\n")
	}
	fileName := "run-" + slugName(runName(run)) + "-logs.txt"
	blocks := []reply.Block{&reply.Text{Text: errorsHead}}
	if len(errorLines) > 0 {
		shown := lastLinesWithin(errorLines, runErrorLinesKept, runLogsInlineChars)
		if hidden := len(errorLines) - len(shown); hidden > 0 {
			blocks = append(blocks, &reply.Text{Text: fmt.Sprintf("The last %d (the %d earlier ones are in %s):", len(shown), hidden, fileName)})
		}
		blocks = append(blocks, &reply.Code{Text: strings.Join(shown, "\n")})
	}
	return append(blocks, &reply.File{Name: fileName, Title: fmt.Sprintf("Logs of flow run %s (%s), errors first", runName(run), pipeline.ShortName(run.FlowName)),
		Content: []byte(file.String())})
}

// lastLinesWithin keeps the last lines, at most n of them and chars
// characters in all (at least the last one, cut from its start).
func lastLinesWithin(lines []string, n, chars int) []string {
	i, used := len(lines), 0
	for i > 0 && len(lines)-i < n && used+len(lines[i-1])+1 <= chars {
		used += len(lines[i-1]) + 1
		i--
	}
	if i == len(lines) {
		last := []rune(lines[len(lines)-1])
		return []string{"…" + string(last[max(0, len(last)-chars+1):])}
	}
	return lines[i:]
}

// slugName makes a name safe in a file name: "crimson-fox".
func slugName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

// beforeFlowRun resolves the flow before the confirmation, pins the
// resolved full name and a fresh idempotency key in the command line the
// confirmation will run, and names the flow in the prompt.
func (c *Catalogue) beforeFlowRun(ctx context.Context, call *call) (reply.Reply, bool) {
	api, rep, ok := c.prefect(call)
	if !ok {
		return rep, false
	}
	ctx, cancel := c.prefectContext(ctx)
	defer cancel()
	name, err := flowArg(call)
	if err != nil {
		return usageReply(call.verb, err.Error()), false
	}
	if key, given := call.args.Strings[idempotencyKeyFlag]; given && !idempotencyKeyPattern.MatchString(key) {
		return usageReply(call.verb, "--"+idempotencyKeyFlag+" wants 8 to 64 letters, digits, - or _."), false
	}
	flow, err := resolveFlow(ctx, call, api, name)
	if err != nil {
		return c.prefectFailure(call, "list the flows", err), false
	}
	call.args.Positional = []string{flow.Name}
	if !call.args.Has(idempotencyKeyFlag) {
		call.args.Strings[idempotencyKeyFlag] = newIdempotencyKey()
	}
	call.prompt = fmt.Sprintf("Start a run of %s in %s now?", flow.Name, call.env.Config.Name)
	if r := flow.LastRun; r != nil && !r.State.Final() && r.State.Type != pipeline.Scheduled {
		call.prompt += fmt.Sprintf(" Its run %s is still %s (%s): Prefect may refuse or cancel a second one.", runName(*r), r.State, runWhen(*r, c.now()))
	}
	return reply.Reply{}, true
}

// newIdempotencyKey is the key of one confirmation of `flow run`.
func newIdempotencyKey() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand documents it)
	return hex.EncodeToString(b)
}

// flowRun answers a confirmed `flow run <flow>`: one StartRun, with the
// key minted at the confirmation, so that running the same confirmed line
// again finds the run instead of starting another.
func (c *Catalogue) flowRun(ctx context.Context, call *call) (reply.Reply, error) {
	api, rep, ok := c.prefect(call)
	if !ok {
		return rep, nil
	}
	ctx, cancel := c.prefectContext(ctx)
	defer cancel()
	name, err := flowArg(call)
	if err != nil {
		return reply.Reply{}, err
	}
	key := call.args.Strings[idempotencyKeyFlag]
	switch {
	case key == "":
		// Confirmed without asking (the console's -c with a line typed
		// whole): no confirmation to retry, a fresh key.
		key = newIdempotencyKey()
	case !idempotencyKeyPattern.MatchString(key):
		return reply.Reply{}, usageErrorf("--%s wants 8 to 64 letters, digits, - or _.", idempotencyKeyFlag)
	}
	flow, err := resolveFlow(ctx, call, api, name)
	if err != nil {
		return c.prefectFailure(call, "list the flows", err), nil
	}
	started, err := api.StartRun(ctx, flow, idempotencyKeyPrefix+key)
	if err != nil {
		return c.prefectFailure(call, "start a run of "+flow.Name, err), nil
	}
	env := call.env.Config.Name
	r := started.Run
	title := fmt.Sprintf("Run %s of %s started in %s", runName(r), flow.Name, env)
	if !started.Created {
		title = fmt.Sprintf("Run %s of %s already started by this request in %s: no second run", runName(r), flow.Name, env)
	}
	fields := []reply.Field{{Label: "Flow", Value: flow.Name}, {Label: "Run", Value: r.Name}, {Label: "Run ID", Value: r.ID}, {Label: "State", Value: r.State.String()}}
	if url := api.RunURL(r.ID); url != "" {
		fields = append(fields, reply.Field{Label: "Link", Value: url})
	}
	return reply.Reply{Status: reply.StatusOK, Title: title, Target: &reply.Target{Env: env},
		Blocks: []reply.Block{&reply.Fields{Fields: fields}},
		Actions: []reply.Action{
			{Label: "Logs", Command: env + " run logs " + r.ID},
			{Label: "Cancel", Command: env + " run cancel " + r.ID, Style: "danger"},
		}}, nil
}

// readRun reads the run id of the environment's Prefect; when it cannot
// (no Prefect, no such run, Prefect failing), ok is false and rep says why.
func (c *Catalogue) readRun(ctx context.Context, call *call, id string) (api pipeline.API, run pipeline.Run, rep reply.Reply, ok bool) {
	api, rep, ok = c.prefect(call)
	if !ok {
		return nil, run, rep, false
	}
	run, err := api.Run(ctx, id)
	switch {
	case errors.Is(err, pipeline.ErrNotFound):
		return nil, run, noSuchRun(call, id), false
	case err != nil:
		return nil, run, c.prefectFailure(call, "read flow run "+id, err), false
	}
	return api, run, rep, true
}

// beforeRunCancel checks the run ID and reads the run, so that the
// confirmation names it and a run Prefect does not know asks nothing.
func (c *Catalogue) beforeRunCancel(ctx context.Context, call *call) (reply.Reply, bool) {
	id, err := runIDArg(call)
	if err != nil {
		return usageReply(call.verb, err.Error()), false
	}
	ctx, cancel := c.prefectContext(ctx)
	defer cancel()
	_, run, rep, ok := c.readRun(ctx, call, id)
	if !ok {
		return rep, false
	}
	call.args.Positional = []string{id}
	state := run.State.String()
	if when := runWhen(run, c.now()); when != "" {
		state += ", " + when
	}
	call.prompt = fmt.Sprintf("Cancel run %s of %s (%s) in %s?", runName(run), run.FlowName, state, call.env.Config.Name)
	return reply.Reply{}, true
}

// runCancel answers a confirmed `run cancel <run-id>` with what Prefect
// decided, never more: ACCEPT is cancelling, WAIT is not yet, REJECT and
// ABORT are a refusal with Prefect's reason.
func (c *Catalogue) runCancel(ctx context.Context, call *call) (reply.Reply, error) {
	id, err := runIDArg(call)
	if err != nil {
		return reply.Reply{}, err
	}
	ctx, cancel := c.prefectContext(ctx)
	defer cancel()
	api, run, rep, ok := c.readRun(ctx, call, id)
	if !ok {
		return rep, nil
	}
	decision, err := api.CancelRun(ctx, id)
	switch {
	case errors.Is(err, pipeline.ErrNotFound):
		return noSuchRun(call, id), nil
	case err != nil:
		return c.prefectFailure(call, "cancel run "+runName(run), err), nil
	}
	env := call.env.Config.Name
	what := fmt.Sprintf("run %s of %s", runName(run), pipeline.ShortName(run.FlowName))
	reason := cut(oneLine(decision.Reason), prefectMessageChars)
	fields := []reply.Field{{Label: "Prefect's answer", Value: orNone(decision.Status)}}
	if reason != "" {
		fields = append(fields, reply.Field{Label: "Reason", Value: reason})
	}
	state := decision.State
	if state.Type == "" && state.Name == "" {
		state = run.State
	}
	fields = append(fields, reply.Field{Label: "Run state", Value: state.String()}, reply.Field{Label: "Run ID", Value: run.ID})
	rep = reply.Reply{Status: reply.StatusFailed, Target: &reply.Target{Env: env}, Blocks: []reply.Block{&reply.Fields{Fields: fields}},
		Actions: []reply.Action{{Label: "Logs", Command: env + " run logs " + run.ID}}}
	switch {
	case decision.Accepted():
		rep.Status, rep.Title = reply.StatusOK, fmt.Sprintf("Cancelling %s in %s", what, env)
	case decision.Status == "WAIT":
		rep.Title = fmt.Sprintf("Prefect did not cancel %s in %s yet: it answered WAIT", what, env)
		rep.Blocks = append(rep.Blocks, &reply.Text{Text: "Nothing is cancelled for now: try `run cancel` again in a moment, or look at `run logs`."})
	default:
		rep.Title = fmt.Sprintf("Prefect refused to cancel %s in %s (%s)", what, env, orNone(decision.Status))
		if reason == "" {
			rep.Blocks = append(rep.Blocks, &reply.Text{Text: "Prefect gave no reason."})
		}
	}
	return rep, nil
}

// beforeSchedule resolves the flow of `flow pause|resume` and refuses,
// before any confirmation, a flow without schedule or already so.
func (c *Catalogue) beforeSchedule(ctx context.Context, call *call, active bool) (reply.Reply, bool) {
	api, rep, ok := c.prefect(call)
	if !ok {
		return rep, false
	}
	ctx, cancel := c.prefectContext(ctx)
	defer cancel()
	name, err := flowArg(call)
	if err != nil {
		return usageReply(call.verb, err.Error()), false
	}
	flow, err := resolveFlow(ctx, call, api, name)
	if err != nil {
		return c.prefectFailure(call, "list the flows", err), false
	}
	env := call.env.Config.Name
	if flow.Schedule == "" {
		return reply.Reply{Status: reply.StatusFailed, Title: fmt.Sprintf("%s has no schedule in %s", flow.Name, env),
			Blocks: []reply.Block{&reply.Text{Text: "It runs only when started (`flow run`): there is no schedule to pause or resume. Nothing was done."}}}, false
	}
	if flow.ScheduleActive == active {
		return reply.Reply{Status: reply.StatusOK, Title: fmt.Sprintf("The schedule of %s is already %s in %s: nothing to do", flow.Name, scheduleWord(active), env),
			Target: &reply.Target{Env: env}, Blocks: []reply.Block{&reply.Fields{Fields: []reply.Field{{Label: "Schedule", Value: flow.Schedule}}}}}, false
	}
	call.args.Positional = []string{flow.Name}
	if active {
		call.prompt = fmt.Sprintf("Resume the schedule of %s (%s) in %s?", flow.Name, flow.Schedule, env)
	} else {
		call.prompt = fmt.Sprintf("Pause the schedule of %s (%s) in %s? No scheduled run of it starts until `flow resume`.", flow.Name, flow.Schedule, env)
	}
	return reply.Reply{}, true
}

func scheduleWord(active bool) string {
	if active {
		return "active"
	}
	return "paused"
}

// setSchedule answers a confirmed `flow pause|resume <flow>`: one
// SetScheduleActive, then the flows read again to report what Prefect
// now says rather than what was asked.
func (c *Catalogue) setSchedule(ctx context.Context, call *call, active bool) (reply.Reply, error) {
	api, rep, ok := c.prefect(call)
	if !ok {
		return rep, nil
	}
	ctx, cancel := c.prefectContext(ctx)
	defer cancel()
	name, err := flowArg(call)
	if err != nil {
		return reply.Reply{}, err
	}
	flow, err := resolveFlow(ctx, call, api, name)
	if err != nil {
		return c.prefectFailure(call, "list the flows", err), nil
	}
	doing := "pause the schedule of " + flow.Name
	if active {
		doing = "resume the schedule of " + flow.Name
	}
	if err := api.SetScheduleActive(ctx, flow, active); err != nil {
		return c.prefectFailure(call, doing, err), nil
	}
	env := call.env.Config.Name
	done := "paused"
	if active {
		done = "resumed"
	}
	rep = reply.Reply{Status: reply.StatusOK, Title: fmt.Sprintf("Schedule of %s %s in %s", flow.Name, done, env),
		Target: &reply.Target{Env: env}}
	fields := []reply.Field{{Label: "Schedule", Value: orNone(flow.Schedule)}}
	now, err := readBackFlow(ctx, api, flow.ID)
	switch {
	case err != nil:
		fields = append(fields, reply.Field{Label: "Schedule active", Value: "not read back: " + cut(oneLine(err.Error()), 200)})
	case now.ScheduleActive != active:
		rep.Status = reply.StatusFailed
		rep.Title = fmt.Sprintf("Prefect accepted to %s in %s, but still shows it %s", doing, env, scheduleWord(now.ScheduleActive))
		fields = append(fields, reply.Field{Label: "Schedule active", Value: activeWord(now.ScheduleActive)})
	default:
		fields = append(fields, reply.Field{Label: "Schedule active", Value: activeWord(now.ScheduleActive) + " (read back from Prefect)"})
	}
	rep.Blocks = []reply.Block{&reply.Fields{Fields: fields}}
	undo := reply.Action{Label: "Resume", Command: env + " flow resume " + pipeline.Target(flow.Name)}
	if active {
		undo = reply.Action{Label: "Pause", Command: env + " flow pause " + pipeline.Target(flow.Name), Style: "danger"}
	}
	rep.Actions = []reply.Action{undo}
	return rep, nil
}

func activeWord(active bool) string {
	if active {
		return "yes"
	}
	return "paused"
}

// readBackFlow reads a flow again, by ID.
func readBackFlow(ctx context.Context, api pipeline.API, id string) (pipeline.Flow, error) {
	flows, err := api.Flows(ctx)
	if err != nil {
		return pipeline.Flow{}, fmt.Errorf("list the flows: %w", err)
	}
	for _, f := range flows {
		if f.ID == id {
			return f, nil
		}
	}
	return pipeline.Flow{}, fmt.Errorf("flow %s is no longer listed", id)
}

// muteTarget is what `mute` and `unmute` name: a service, a freshness
// check or all, and where Prefect is configured the Prefect API or a flow,
// stored as pipeline.Target (the key of the flow's incidents).
func (c *Catalogue) muteTarget(ctx context.Context, call *call, raw string) (string, error) {
	err := checkMuteTarget(call.env.Config, raw)
	if err == nil {
		return strings.ToLower(raw), nil
	}
	api := call.env.Pipeline
	if api == nil {
		return "", err
	}
	if strings.EqualFold(raw, prefectAPITarget) {
		return prefectAPITarget, nil
	}
	ctx, cancel := c.prefectContext(ctx)
	defer cancel()
	flows, ferr := api.Flows(ctx)
	if ferr != nil {
		return "", fmt.Errorf("%q is no service or check, and the flows cannot be listed to look for it: %w", raw, ferr)
	}
	flow, ferr := pipeline.Match(flows, raw)
	var unknown *pipeline.UnknownFlowError
	if errors.As(ferr, &unknown) {
		names := slices.Concat(call.env.Config.ServiceNames(), muteChecks, unknown.Known, []string{prefectAPITarget, dockerEngineTarget, mute.All})
		if suggestion := closestName(raw, names); suggestion != "" {
			return "", usageErrorf("Unknown service, check or flow %q (did you mean %s?).", raw, suggestion)
		}
		return "", usageErrorf("Unknown service, check or flow %q. Services: %s. Checks: %s. Flows: %s. Or %s, or all.",
			raw, strings.Join(call.env.Config.ServiceNames(), ", "), strings.Join(muteChecks, ", "), strings.Join(unknown.Known, ", "), prefectAPITarget)
	}
	if ferr != nil {
		_, uerr := matchFlow(call, flows, raw)
		return "", uerr
	}
	return pipeline.Target(flow.Name), nil
}
