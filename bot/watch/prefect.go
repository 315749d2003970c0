package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"mfbot/bot/notify"
	"mfbot/human"
	"mfbot/incident"
	"mfbot/pipeline"
	"mfbot/reply"
)

// SourcePrefect is the Source of the keys of the Prefect watcher's
// signals; their Target is a flow's pipeline.Target ("logbook"), or
// PrefectAPITarget for the Prefect API itself.
const SourcePrefect = "prefect"

// PrefectAPITarget is the target of the incidents about the Prefect API
// itself (unreachable, or refusing the watcher's query).
const PrefectAPITarget = "prefect-api"

const (
	defaultPrefectInterval = 15 * time.Second
	defaultStuckAfter      = 50 * time.Minute // as MonitorFish's "Clean flow runs" flow
	defaultStuckEvery      = time.Minute
	defaultPrefectOverlap  = time.Minute
	// maxPrefectTimeout bounds one poll whatever the interval: Prefect
	// answers within seconds or is in trouble.
	maxPrefectTimeout = 30 * time.Second
	// prefectPage is how many finished runs one request asks for.
	prefectPage = 200
	// prefectMaxPages bounds the requests of one poll: a backlog (after a
	// long stop) drains over a few polls instead of one endless one.
	prefectMaxPages = 10
	// prefectOpenedTimeout bounds the reading of a new incident's thread.
	prefectOpenedTimeout = 10 * time.Second
	// prefectLogsRead lines are read to find the last prefectErrorLines
	// error lines of a failed run.
	prefectLogsRead   = 200
	prefectErrorLines = 30
	// prefectStuckLogLines is how many last log lines show what a stuck
	// run was doing.
	prefectStuckLogLines = 20
	// prefectTaskLines bounds the failed task runs listed (a mapped task
	// can fail hundreds of times).
	prefectTaskLines  = 20
	prefectDetailMax  = 300
	prefectMessageMax = 200
	prefectLogLineMax = 1500
)

// PrefectEnv is one environment's Prefect as the watcher reads it.
type PrefectEnv struct {
	Name string
	API  pipeline.API
	// Cursor is the saved cursor (the store's, for this environment and
	// SourcePrefect): the end time of the last run signal recorded. Zero on
	// a first start: runs that ended before the start are not alerted.
	Cursor time.Time
}

// PrefectSource watches the flow runs of every environment's Prefect:
// each failed run is a failure of its flow (Key{env, "prefect",
// pipeline.Target(flow)}), each completed run a recovery of it, each run
// stuck in Running a failing condition of it, and the Prefect API not
// answering a condition of PrefectAPITarget.
//
// Each poll is one request for the runs finished since the cursor (less
// Overlap, so that a run committed late, with an end time just behind
// the cursor, is still read; runs read twice are told apart by ID), plus,
// at most every StuckEvery, one for the runs running since before
// StuckAfter. A run counts by its end time, not its start.
type PrefectSource struct {
	Envs []PrefectEnv
	// Interval is the time between two polls of an environment (default
	// 15 s); the first poll is at start.
	Interval time.Duration
	// StuckAfter: a run Running longer is stuck (default 50 min).
	StuckAfter time.Duration
	// StuckEvery: the stuck-run check runs at most this often (default
	// 1 min); a failed check is retried at the next poll.
	StuckEvery time.Duration
	// Overlap: each poll reads this far behind its cursor (default 1 min).
	Overlap time.Duration
	// Timeout bounds one poll of one environment (default 3/4 of the
	// interval, at most 30 s); it is kept below the interval.
	Timeout time.Duration
	Log     *slog.Logger
	Now     func() time.Time // default time.Now
	// Seen is called with an environment and the time of each of its polls
	// that the Prefect API answered. nil: not reported.
	Seen func(env string, at time.Time)

	mu sync.Mutex
	// flowNames are the flows' names as Prefect shows them ("Monitorfish
	// - Logbook"), by environment and target, learnt from the runs read.
	flowNames map[flowRef]string
	// recorded is, by environment, the newest end time of a run signal
	// recorded: the cursor never moves back to a run that came late.
	recorded map[string]time.Time
}

type flowRef struct{ env, target string }

// Name implements bot.Source.
func (*PrefectSource) Name() string { return SourcePrefect }

func (s *PrefectSource) interval() time.Duration {
	if s.Interval > 0 {
		return s.Interval
	}
	return defaultPrefectInterval
}

func (s *PrefectSource) timeout() time.Duration {
	iv := s.interval()
	t := s.Timeout
	if t <= 0 {
		t = min(iv*3/4, maxPrefectTimeout)
	}
	return min(t, iv*9/10)
}

func (s *PrefectSource) stuckAfter() time.Duration {
	if s.StuckAfter > 0 {
		return s.StuckAfter
	}
	return defaultStuckAfter
}

func (s *PrefectSource) stuckEvery() time.Duration {
	if s.StuckEvery > 0 {
		return s.StuckEvery
	}
	return defaultStuckEvery
}

func (s *PrefectSource) overlap() time.Duration {
	if s.Overlap > 0 {
		return s.Overlap
	}
	return defaultPrefectOverlap
}

func (s *PrefectSource) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *PrefectSource) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Watch polls every environment's Prefect, each on its own goroutine (a
// slow one delays no other), until ctx ends.
func (s *PrefectSource) Watch(ctx context.Context, signals chan<- incident.Signal) error {
	var wg sync.WaitGroup
	for _, env := range s.Envs {
		if env.API == nil {
			s.log().Info("Prefect not watched: no Prefect API is configured", "env", env.Name)
			continue
		}
		p := s.newPoller(env)
		wg.Go(func() { p.run(ctx, signals) })
	}
	wg.Wait()
	return nil
}

// prefectPoller is the watcher of one environment. Its fields belong to
// its goroutine.
type prefectPoller struct {
	src *PrefectSource
	env PrefectEnv
	// cursor is the newest end time read; each poll reads from cursor -
	// Overlap.
	cursor time.Time
	// floor: runs ending at or before it were recorded before this start
	// (the saved cursor), or ended before a first start: not alerted.
	floor time.Time
	// seen holds the IDs of the runs read, with their end times, for as
	// long as the overlap can return them again: a bounded set, as the
	// runs of one overlap window are.
	seen map[string]time.Time
	// stuck holds the runs found stuck by the last check, by ID, with
	// their flow's target.
	stuck          map[string]string
	lastStuckCheck time.Time
}

func (s *PrefectSource) newPoller(env PrefectEnv) *prefectPoller {
	floor := env.Cursor
	if floor.IsZero() {
		floor = s.now()
	}
	return &prefectPoller{src: s, env: env, cursor: floor, floor: floor, seen: map[string]time.Time{}, stuck: map[string]string{}}
}

func (p *prefectPoller) run(ctx context.Context, signals chan<- incident.Signal) {
	ticker := time.NewTicker(p.src.interval())
	defer ticker.Stop()
	for {
		for _, sig := range p.poll(ctx) {
			select {
			case signals <- sig:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// poll reads Prefect once and returns what it says, oldest run first,
// then the stuck runs, then the API's state; nil when ctx ended.
func (p *prefectPoller) poll(ctx context.Context) []incident.Signal {
	now := p.src.now()
	pctx, cancel := context.WithTimeout(ctx, p.src.timeout())
	defer cancel()
	runs, err := p.readFinished(pctx)
	out := p.runSignals(runs)
	if err == nil && now.Sub(p.lastStuckCheck) >= p.src.stuckEvery() {
		var stuck []incident.Signal
		stuck, err = p.readStuck(pctx, now)
		out = append(out, stuck...)
	}
	if ctx.Err() != nil {
		return nil
	}
	if err == nil && p.src.Seen != nil {
		p.src.Seen(p.env.Name, p.src.now())
	}
	return append(out, p.apiSignal(now, err))
}

// readFinished reads the runs finished since cursor - Overlap: one
// request, and more only while they come back as full pages (a backlog).
// On an error it returns the runs read before it.
func (p *prefectPoller) readFinished(ctx context.Context) ([]pipeline.Run, error) {
	since := p.cursor.Add(-p.src.overlap())
	var runs []pipeline.Run
	for range prefectMaxPages {
		page, err := p.env.API.FinishedSince(ctx, since, prefectPage)
		if err != nil {
			return runs, fmt.Errorf("read the runs finished since %s: %w", human.Stamp(since), err)
		}
		runs = append(runs, page...)
		if len(page) < prefectPage {
			return runs, nil
		}
		next := page[len(page)-1].EndOrStateTime()
		if !next.After(since) {
			// A whole page ending at one instant: paging cannot go on from
			// it; the next poll starts from the cursor again.
			p.src.log().Warn("Prefect returned a full page of runs that ended at the same time", "env", p.env.Name, "at", since)
			return runs, nil
		}
		since = next
	}
	p.src.log().Info("Prefect backlog: reading on at the next poll", "env", p.env.Name, "pages", prefectMaxPages)
	return runs, nil
}

// runSignals turns the runs newly read into signals, oldest end first,
// and moves the cursor.
func (p *prefectPoller) runSignals(runs []pipeline.Run) []incident.Signal {
	slices.SortStableFunc(runs, func(a, b pipeline.Run) int { return a.EndOrStateTime().Compare(b.EndOrStateTime()) })
	var out []incident.Signal
	for _, r := range runs {
		if r.ID == "" || !r.State.Final() {
			continue
		}
		end := r.EndOrStateTime()
		// The same run read again by the overlap. A run that ends again
		// later (retried in Prefect's UI, same ID) is news.
		if seenEnd, dup := p.seen[r.ID]; dup && seenEnd.Equal(end) {
			continue
		}
		p.seen[r.ID] = end
		if end.After(p.cursor) {
			p.cursor = end
		}
		target := flowTarget(r)
		p.src.rememberFlow(p.env.Name, target, r.FlowName)
		delete(p.stuck, r.ID) // a stuck run that ended is stuck no more
		if !end.After(p.floor) {
			continue
		}
		key := incident.Key{Env: p.env.Name, Source: SourcePrefect, Target: target}
		switch {
		case r.State.Failure():
			out = append(out, incident.Signal{Key: key, Kind: incident.SignalFailed, Time: end, Ref: r.ID, Detail: failedRunDetail(r)})
		case r.State.Success():
			if p.otherRunStuck(target, r.ID) {
				// Prefect 1 runs a flow again while one of its runs hangs:
				// a run completing beside a stuck one is no recovery.
				continue
			}
			out = append(out, incident.Signal{Key: key, Kind: incident.SignalSucceeded, Time: end, Ref: r.ID, Detail: "run " + runName(r) + " completed"})
		}
		// Cancelled: an operator's or Prefect's decision, not a failure.
	}
	// Forget the runs the next poll cannot return again.
	since := p.cursor.Add(-p.src.overlap())
	for id, end := range p.seen {
		if end.Before(since) {
			delete(p.seen, id)
		}
	}
	return out
}

func (p *prefectPoller) otherRunStuck(target, runID string) bool {
	for id, t := range p.stuck {
		if t == target && id != runID {
			return true
		}
	}
	return false
}

// readStuck reads the runs Running since before now - StuckAfter.
func (p *prefectPoller) readStuck(ctx context.Context, now time.Time) ([]incident.Signal, error) {
	before := now.Add(-p.src.stuckAfter())
	runs, err := p.env.API.RunningSince(ctx, before)
	if err != nil {
		return nil, fmt.Errorf("read the runs running since before %s: %w", human.Stamp(before), err)
	}
	p.lastStuckCheck = now
	p.stuck = map[string]string{}
	slices.SortStableFunc(runs, func(a, b pipeline.Run) int { return runStart(a).Compare(runStart(b)) })
	var out []incident.Signal
	for _, r := range runs {
		if r.ID == "" || r.State.Final() {
			continue
		}
		target := flowTarget(r)
		p.src.rememberFlow(p.env.Name, target, r.FlowName)
		p.stuck[r.ID] = target
		out = append(out, incident.Signal{Key: incident.Key{Env: p.env.Name, Source: SourcePrefect, Target: target},
			Kind: incident.SignalFailing, Time: now, Ref: r.ID, Detail: stuckRunDetail(r, now)})
	}
	return out, nil
}

// apiSignal says whether the Prefect API answered the poll.
func (p *prefectPoller) apiSignal(now time.Time, err error) incident.Signal {
	sig := incident.Signal{Key: incident.Key{Env: p.env.Name, Source: SourcePrefect, Target: PrefectAPITarget},
		Time: now, HasHealthcheck: true, Kind: incident.SignalHealthy, Detail: "answers"}
	switch {
	case err == nil:
	case errors.Is(err, pipeline.ErrUnreachable) || errors.Is(err, context.DeadlineExceeded):
		sig.Kind, sig.Detail = incident.SignalUnreachable, prefectClip(err.Error(), prefectDetailMax)
	default:
		sig.Kind, sig.Detail = incident.SignalFailing, prefectClip(err.Error(), prefectDetailMax)
	}
	return sig
}

// CursorAt implements bot.CursorKeeper: a recorded run signal moves the
// cursor to its run's end time, unless a run that ended later was recorded
// already (runs read late); the stuck runs and the API's state do not
// move it (runs older than them may not be recorded yet).
func (s *PrefectSource) CursorAt(sig incident.Signal) (time.Time, bool) {
	if sig.Source != SourcePrefect || sig.Target == PrefectAPITarget || sig.Ref == "" ||
		(sig.Kind != incident.SignalFailed && sig.Kind != incident.SignalSucceeded) {
		return time.Time{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recorded == nil {
		s.recorded = map[string]time.Time{}
	}
	newest, ok := s.recorded[sig.Env]
	if !ok {
		newest = s.env(sig.Env).Cursor
	}
	if !sig.Time.After(newest) {
		return newest, false
	}
	s.recorded[sig.Env] = sig.Time
	return sig.Time, true
}

func (s *PrefectSource) rememberFlow(env, target, name string) {
	if name == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flowNames == nil {
		s.flowNames = map[flowRef]string{}
	}
	s.flowNames[flowRef{env, target}] = name
}

// FlowName is the name of a flow as Prefect shows it ("Monitorfish -
// Logbook"), by its target; "" until a run of it was read.
func (s *PrefectSource) FlowName(env, target string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flowNames[flowRef{env, target}]
}

func (s *PrefectSource) env(name string) PrefectEnv {
	for _, e := range s.Envs {
		if e.Name == name {
			return e
		}
	}
	return PrefectEnv{Name: name}
}

// flowTarget is the incident target of a run's flow.
func flowTarget(r pipeline.Run) string {
	if t := pipeline.Target(r.FlowName); t != "" {
		return t
	}
	if t := pipeline.Target(r.FlowID); t != "" {
		return t
	}
	return "unknown-flow"
}

func runName(r pipeline.Run) string {
	if r.Name != "" {
		return r.Name
	}
	return r.ID
}

// runStart is when a run started, as well as it is known.
func runStart(r pipeline.Run) time.Time {
	switch {
	case !r.Start.IsZero():
		return r.Start
	case !r.StateTime.IsZero():
		return r.StateTime
	}
	return r.ExpectedStart
}

// failedRunDetail is "run <name>: <state> — <message>".
func failedRunDetail(r pipeline.Run) string {
	d := "run " + runName(r) + ": " + r.State.String()
	if msg := strings.Join(strings.Fields(r.State.Message), " "); msg != "" {
		d += " — " + msg
	}
	return prefectClip(d, prefectDetailMax)
}

// failedStateName finds the state name back in a failedRunDetail.
func failedStateName(detail string) string {
	_, rest, ok := strings.Cut(detail, ": ")
	if !ok {
		return ""
	}
	state, _, _ := strings.Cut(rest, " — ")
	return state
}

// stuckRunDetail is "run <name> Running for 52 min (since 10:03:00 UTC)".
func stuckRunDetail(r pipeline.Run, now time.Time) string {
	start := runStart(r)
	if start.IsZero() {
		return prefectClip("run "+runName(r)+" "+r.State.String()+" for more than the stuck limit", prefectDetailMax)
	}
	return prefectClip(fmt.Sprintf("run %s %s for %s (since %s)", runName(r), r.State.String(), human.Duration(now.Sub(start)), human.Clock(start)), prefectDetailMax)
}

// prefectClip keeps a text on one line and within n characters.
func prefectClip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// prefectClipBlock keeps a multi-line text within n characters.
func prefectClipBlock(s string, n int) string {
	s = strings.TrimRight(s, "\n ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// isStuckIncident says whether an incident's last failure is a run stuck
// in Running (a polled condition about a run), not a failed run.
func isStuckIncident(inc *incident.Incident) bool {
	return inc.Key.Target != PrefectAPITarget && inc.Reason == incident.SignalFailing && inc.Ref != ""
}

// Opened starts a new incident's thread with what Prefect still knows
// (it keeps runs and logs for a day): for a failed run its failed task
// runs and its last error lines, for a stuck run its facts and last log
// lines, each with the link to the run. A part that cannot be read says
// so.
func (s *PrefectSource) Opened(ctx context.Context, inc *incident.Incident, sig incident.Signal) []incident.ThreadPost {
	ctx, cancel := context.WithTimeout(ctx, prefectOpenedTimeout)
	defer cancel()
	post := func(kind, title, text, code string) incident.ThreadPost {
		return incident.ThreadPost{IncidentID: inc.ID, Kind: kind, Title: title, Text: text, Code: code, CreatedAt: s.now()}
	}
	if sig.Target == PrefectAPITarget {
		text := "While Prefect does not answer, no failed or stuck run can be seen; the runs that end meanwhile are read when it answers again."
		if sig.Kind == incident.SignalFailing {
			text = "Prefect answers but refuses the watcher's query: no failed or stuck run can be seen until it accepts it again."
		}
		return []incident.ThreadPost{post("note", "Prefect API", text, "")}
	}
	api := s.env(sig.Env).API
	if sig.Ref == "" {
		return nil
	}
	if api == nil {
		return []incident.ThreadPost{post("note", "Run "+sig.Ref, "No Prefect API is configured for "+sig.Env+": the run cannot be read.", "")}
	}
	link := ""
	if url := api.RunURL(sig.Ref); url != "" {
		link = "Run in Prefect: " + url
	}
	logsPost := func(errorsOnly bool) incident.ThreadPost {
		title, text, code := s.logsText(ctx, api, sig.Ref, errorsOnly)
		return post("logs", title, text, code)
	}
	switch sig.Kind {
	case incident.SignalFailed:
		tasks := post("tasks", "Failed task runs", joinLines(link, s.failedTasksText(ctx, api, sig.Ref)), "")
		return []incident.ThreadPost{tasks, logsPost(true)}
	case incident.SignalFailing:
		facts := post("facts", "Stuck run", joinLines(s.stuckRunText(ctx, api, sig), link), "")
		return []incident.ThreadPost{facts, logsPost(false)}
	}
	return nil
}

// failedTasksText lists the failed task runs of a run: state, task,
// duration, message.
func (s *PrefectSource) failedTasksText(ctx context.Context, api pipeline.API, runID string) string {
	tasks, err := api.TaskRuns(ctx, runID)
	if err != nil {
		return "Task runs unavailable: " + prefectClip(fmt.Errorf("read the task runs of run %s: %w", runID, err).Error(), prefectDetailMax)
	}
	var lines []string
	failed := 0
	for _, t := range tasks {
		if !t.State.Failure() {
			continue
		}
		failed++
		if failed > prefectTaskLines {
			continue
		}
		line := t.State.String() + " · " + t.Name
		if !t.Start.IsZero() && !t.End.IsZero() {
			line += " · " + human.Duration(t.End.Sub(t.Start))
		}
		if msg := prefectClip(t.State.Message, prefectMessageMax); msg != "" {
			line += " · " + msg
		}
		lines = append(lines, line)
	}
	switch {
	case failed == 0 && len(tasks) == 0:
		return "The run has no task run: it failed before its tasks ran."
	case failed == 0:
		return fmt.Sprintf("None of its %d task runs failed: the flow run itself did.", len(tasks))
	case failed > prefectTaskLines:
		lines = append(lines, fmt.Sprintf("… and %d more", failed-prefectTaskLines))
	}
	return strings.Join(lines, "\n")
}

// stuckRunText is a stuck run's facts, read again now.
func (s *PrefectSource) stuckRunText(ctx context.Context, api pipeline.API, sig incident.Signal) string {
	r, err := api.Run(ctx, sig.Ref)
	if err != nil {
		return joinLines(sig.Detail, "Run details unavailable: "+prefectClip(fmt.Errorf("read run %s: %w", sig.Ref, err).Error(), prefectDetailMax))
	}
	lines := []string{fmt.Sprintf("Run %s of %s, ID %s", runName(r), r.FlowName, r.ID), "State: " + r.State.String()}
	if start := runStart(r); !start.IsZero() {
		lines[1] += fmt.Sprintf(" for %s (since %s)", human.Duration(s.now().Sub(start)), human.Stamp(start))
	}
	if msg := prefectClip(r.State.Message, prefectMessageMax); msg != "" {
		lines = append(lines, "Message: "+msg)
	}
	if !r.ExpectedStart.IsZero() {
		lines = append(lines, "Expected start: "+human.Stamp(r.ExpectedStart))
	}
	return strings.Join(lines, "\n")
}

// logsText is the title and text or code of a post of the last log
// lines of a run: its error lines only (errorsOnly), else every level.
func (s *PrefectSource) logsText(ctx context.Context, api pipeline.API, runID string, errorsOnly bool) (title, text, code string) {
	title, read, keep := "Last log lines", prefectStuckLogLines, prefectStuckLogLines
	if errorsOnly {
		title, read, keep = "Last error log lines", prefectLogsRead, prefectErrorLines
	}
	logs, err := api.Logs(ctx, runID, read)
	if err != nil {
		return title, "Logs unavailable: " + prefectClip(fmt.Errorf("read the logs of run %s: %w", runID, err).Error(), prefectDetailMax), ""
	}
	var lines []string
	for _, l := range logs {
		if errorsOnly && !l.IsError() {
			continue
		}
		lines = append(lines, fmt.Sprintf("%s %s %s: %s", human.Clock(l.Time), strings.ToUpper(l.Level), l.Logger, prefectClipBlock(l.Message, prefectLogLineMax)))
	}
	if len(lines) > keep {
		lines = lines[len(lines)-keep:]
	}
	switch {
	case len(lines) > 0:
		return title, "", strings.Join(lines, "\n")
	case errorsOnly:
		return title, fmt.Sprintf("No ERROR line among its last %d log lines.", read), ""
	}
	return title, "The run has no log line.", ""
}

func joinLines(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "\n")
}

// Present shows a Prefect incident: the flow's full name, the run's link,
// and the buttons Logs, Rerun, Pause schedule, Mute 1h for a failed run;
// Cancel, Logs, Mute 1h for a stuck one; Pipeline status and Mute 1h for
// the Prefect API.
func (s *PrefectSource) Present(inc *incident.Incident) notify.Presentation {
	k := inc.Key
	mute := notify.PresentedAction{Action: reply.Action{Label: "Mute 1h", Command: k.Env + " mute " + k.Target + " 1h"}}
	p := notify.Presentation{TargetLabel: "Flow", Thread: &reply.Target{Env: k.Env}}
	if k.Target == PrefectAPITarget {
		p.TargetLabel = "Dependency"
		p.Reason = "Prefect API unreachable"
		if inc.Reason == incident.SignalFailing {
			p.Reason = "Prefect API refuses the watcher's query"
		}
		p.Fields = append(p.Fields, reply.Field{Label: "What", Value: "the Prefect API, polled for finished and stuck flow runs"})
		p.Actions = []notify.PresentedAction{{Action: reply.Action{Label: "Pipeline status", Command: k.Env + " pipeline status"}}, mute}
		return p
	}
	if name := s.FlowName(k.Env, k.Target); name != "" {
		p.Fields = append(p.Fields, reply.Field{Label: "Flow name", Value: name})
	}
	if inc.Ref != "" {
		run := inc.Ref
		if api := s.env(k.Env).API; api != nil {
			if url := api.RunURL(inc.Ref); url != "" {
				run = url
			}
		}
		label := "Last run"
		if isStuckIncident(inc) {
			label = "Stuck run"
		}
		p.Fields = append(p.Fields, reply.Field{Label: label, Value: run})
	}
	var logs []notify.PresentedAction
	if inc.Ref != "" {
		logs = []notify.PresentedAction{{Action: reply.Action{Label: "Logs", Command: k.Env + " run logs " + inc.Ref}, KeepWhenClosed: true}}
	}
	if isStuckIncident(inc) {
		p.Reason = "run stuck in Running"
		p.Actions = append(p.Actions, notify.PresentedAction{Action: reply.Action{Label: "Cancel", Command: k.Env + " run cancel " + inc.Ref, Style: "danger"}})
		p.Actions = append(append(p.Actions, logs...), mute)
		return p
	}
	p.Reason = "run failed"
	if state := failedStateName(inc.Detail); state != "" {
		p.Fields = append(p.Fields, reply.Field{Label: "Run state", Value: state})
		switch strings.ToLower(state) {
		case "failed":
		case "crashed":
			p.Reason = "run crashed"
		default:
			p.Reason = "run failed (" + state + ")"
		}
	}
	p.Actions = append(logs,
		notify.PresentedAction{Action: reply.Action{Label: "Rerun", Command: k.Env + " flow run " + k.Target, Style: "primary"}},
		notify.PresentedAction{Action: reply.Action{Label: "Pause schedule", Command: k.Env + " flow pause " + k.Target, Style: "danger"}},
		mute)
	return p
}
