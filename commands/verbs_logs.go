package commands

import (
	"context"
	"fmt"
	"mfbot/containers"
	"mfbot/reply"
	"regexp"
	"strings"
	"time"
)

// logs answers `logs <svc>`: the engine tails, the catalogue filters and
// redacts. With --grep the search covers the --since window or, without
// one, the last MaxTail lines, and keeps the last --tail matches: bounded
// work whatever the size of the log file.
func (c *Catalogue) logs(ctx context.Context, call *call) (reply.Reply, error) {
	// The window is checked before anything asks the engine.
	since, until, err := logsWindow(call.args, c.now())
	if err != nil {
		return reply.Reply{}, err
	}
	ctr, err := call.container(ctx)
	if err != nil {
		return reply.Reply{}, err
	}
	tail := c.cfg.Limits.DefaultTail
	if call.args.Has("tail") {
		tail = call.args.Ints["tail"]
	}
	q := containers.LogQuery{Tail: tail, Stderr: call.args.Bools["stderr"], Since: since, Until: until}
	// In an alert's thread, a bare `logs` shows the lines around the
	// failure rather than whatever the container printed since.
	aroundFailure := !call.around.IsZero() && !call.args.Has("since") && !call.args.Has("until")
	if aroundFailure {
		q.Until = call.around.Add(afterFailure)
	}
	grep := call.args.Regexps["grep"]
	if grep != nil {
		q.Tail = c.cfg.Limits.MaxTail
		if !q.Since.IsZero() {
			q.Tail = 0
		}
	}
	lines, err := c.collectLogs(ctx, call.env, ctr.ID, q, grep, tail)
	if err != nil {
		return reply.Reply{}, err
	}
	title := fmt.Sprintf("Logs of %s (%s), last %d lines", call.service.Name, ctr.Name, lines.len())
	if grep != nil {
		title = fmt.Sprintf("Logs of %s (%s) matching %s, last %d", call.service.Name, ctr.Name, grep, lines.len())
	}
	if aroundFailure {
		title += fmt.Sprintf(" up to %s after the failure of %s", afterFailure, call.around.UTC().Format("15:04:05 UTC"))
	}
	rep := reply.Reply{Status: reply.StatusOK, Title: title, Actions: []reply.Action{logsAction(call)}}
	if lines.len() == 0 {
		rep.Blocks = []reply.Block{&reply.Text{Text: "No log lines in that window."}}
		return rep, nil
	}
	rep.Blocks = []reply.Block{&reply.Code{Text: lines.join()}}
	return rep, nil
}

// logsWindow resolves --since and --until against now (zero when not
// given); a window that ends before it starts is a usage error.
func logsWindow(args Args, now time.Time) (since, until time.Time, err error) {
	sinceArg, hasSince := args.Instants["since"]
	untilArg, hasUntil := args.Instants["until"]
	if hasSince {
		since = sinceArg.Time(now)
	}
	if hasUntil {
		until = untilArg.Time(now)
	}
	if hasSince && hasUntil && !until.After(since) {
		return time.Time{}, time.Time{}, usageErrorf("--until must be after --since (--since %s, --until %s)",
			parseFormatInstant(sinceArg), parseFormatInstant(untilArg))
	}
	return since, until, nil
}

// afterFailure is how far past a failure `logs` in an alert's thread reads:
// the crash itself and the first lines of the restart.
const afterFailure = 30 * time.Second

// logsWithoutTimes is implemented by engines that can leave out the time
// of each log line (the Docker engine, for which a long tail then costs
// markedly less): `logs` and the alerts' context show the lines as the
// container wrote them, never the engine's time of each.
type logsWithoutTimes interface {
	LogsWithoutTimes(ctx context.Context, id string, q containers.LogQuery, sink func(containers.LogLine) error) error
}

// collectLogs streams a container's logs through the line redactor and an
// optional filter into a ring of the last keep lines.
func (c *Catalogue) collectLogs(ctx context.Context, env *Environment, id string, q containers.LogQuery, grep *regexp.Regexp, keep int) (*lineRing, error) {
	lines := newLineRing(keep)
	logs := env.Docker.Logs
	if engine, ok := env.Docker.(logsWithoutTimes); ok {
		logs = engine.LogsWithoutTimes
	}
	// One redactor per stream: stdout and stderr interleave, and a private
	// key written to one must not end (or hide) a key written to the other.
	redactors := map[string]*LineRedactor{}
	err := logs(ctx, id, q, func(l containers.LogLine) error {
		redact := redactors[l.Stream]
		if redact == nil {
			redact = c.redactor.Lines()
			redactors[l.Stream] = redact
		}
		// Match the redacted text: --grep must not become a way to probe
		// a secret one character at a time.
		text, ok := redact.Line(l.Text)
		if ok && (grep == nil || grep.MatchString(text)) {
			lines.add(text)
		}
		return nil
	})
	return lines, err
}

// LogsBefore returns the last n log lines of a service's container up to
// until, redacted: the context an alert's thread shows.
func (c *Catalogue) LogsBefore(ctx context.Context, envName, service string, until time.Time, n int) (string, error) {
	env, ok := c.envs[envName]
	if !ok {
		return "", fmt.Errorf("unknown environment %q", envName)
	}
	svc, ok := env.Config.Service(service)
	if !ok {
		return "", fmt.Errorf("unknown service %q in %s", service, envName)
	}
	call := &call{env: env, service: &svc}
	ctr, err := call.container(ctx)
	if err != nil {
		return "", err
	}
	lines, err := c.collectLogs(ctx, env, ctr.ID, containers.LogQuery{Tail: n, Until: until}, nil, n)
	if err != nil {
		return "", err
	}
	return lines.join(), nil
}

// lineRing keeps the last max lines, one after the other in one buffer,
// so that joining them costs nothing: a 10,000-line --tail is not copied
// again. Memory stays bounded by --tail even when a --grep search streams
// many more: the room of the lines that fell out is reclaimed as it goes.
type lineRing struct {
	max   int
	text  *strings.Builder // the lines from offset start on, each followed by '\n'
	start int
	ends  []int // ring of the offsets in text just past each kept line
	next  int   // index in ends of the oldest line once the ring is full
}

// lineRingReserve is the room reserved per line of --tail: about a long
// log line. Lines that need more make the buffer grow.
const lineRingReserve = 256

func newLineRing(max int) *lineRing {
	return &lineRing{max: max, text: new(strings.Builder)}
}

func (r *lineRing) add(s string) {
	if r.max <= 0 {
		return
	}
	if r.text.Cap() == 0 {
		r.text.Grow(min(r.max, 1<<16) * lineRingReserve)
	}
	full := len(r.ends) == r.max
	if full {
		r.start = r.ends[r.next] // the oldest line falls out
	}
	r.text.WriteString(s)
	r.text.WriteByte('\n')
	if full {
		r.ends[r.next] = r.text.Len()
		r.next = (r.next + 1) % r.max
	} else {
		r.ends = append(r.ends, r.text.Len())
	}
	// Reclaim the room of the fallen lines once they take more than the
	// kept ones: copying the kept lines then costs less than what was
	// added since the last time.
	if r.start > 4096 && r.start > r.text.Len()-r.start {
		kept := r.text.String()[r.start:]
		text := new(strings.Builder)
		text.Grow(2 * len(kept))
		text.WriteString(kept)
		for i := range r.ends {
			r.ends[i] -= r.start
		}
		r.text, r.start = text, 0
	}
}

func (r *lineRing) len() int { return len(r.ends) }

// join returns the lines, oldest first, separated by newlines.
func (r *lineRing) join() string {
	if len(r.ends) == 0 {
		return ""
	}
	text := r.text.String()
	return text[r.start : len(text)-1]
}
