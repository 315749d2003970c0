package commands

import (
	"context"
	"fmt"
	"mfbot/containers"
	"regexp"
	"strings"
	"time"
)

// logs answers `logs <svc>`: the engine tails, the catalogue filters and
// redacts. With --grep the search covers the --since window or, without
// one, the last MaxTail lines, and keeps the last --tail matches: bounded
// work whatever the size of the log file.
func (c *Catalogue) logs(ctx context.Context, call *call) (Reply, error) {
	ctr, err := call.container(ctx)
	if err != nil {
		return Reply{}, err
	}
	tail := c.cfg.Limits.DefaultTail
	if call.args.Has("tail") {
		tail = call.args.Ints["tail"]
	}
	now := time.Now()
	q := containers.LogQuery{Tail: tail, Stderr: call.args.Bools["stderr"]}
	if d, ok := call.args.Durations["since"]; ok {
		q.Since = now.Add(-d)
	}
	if d, ok := call.args.Durations["until"]; ok {
		q.Until = now.Add(-d)
	}
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
		return Reply{}, err
	}
	title := fmt.Sprintf("Logs of %s (%s), last %d lines", call.service.Name, ctr.Name, lines.len())
	if grep != nil {
		title = fmt.Sprintf("Logs of %s (%s) matching %s, last %d", call.service.Name, ctr.Name, grep, lines.len())
	}
	if aroundFailure {
		title += fmt.Sprintf(" up to %s after the failure of %s", afterFailure, call.around.UTC().Format("15:04:05 UTC"))
	}
	rep := Reply{Status: StatusOK, Title: title, Actions: []Action{logsAction(call)}}
	if lines.len() == 0 {
		rep.Blocks = []Block{&Text{Text: "No log lines in that window."}}
		return rep, nil
	}
	rep.Blocks = []Block{&Code{Text: lines.join()}}
	return rep, nil
}

// afterFailure is how far past a failure `logs` in an alert's thread reads:
// the crash itself and the first lines of the restart.
const afterFailure = 30 * time.Second

// collectLogs streams a container's logs through the line redactor and an
// optional filter into a ring of the last keep lines.
func (c *Catalogue) collectLogs(ctx context.Context, env *Environment, id string, q containers.LogQuery, grep *regexp.Regexp, keep int) (*lineRing, error) {
	lines := newLineRing(keep)
	// One redactor per stream: stdout and stderr interleave, and a private
	// key written to one must not end (or hide) a key written to the other.
	redactors := map[string]*LineRedactor{}
	err := env.Docker.Logs(ctx, id, q, func(l containers.LogLine) error {
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

// lineRing keeps the last max lines: memory stays bounded by --tail even
// when a --grep search streams many more.
type lineRing struct {
	lines []string
	max   int
	next  int // oldest line once the ring is full
}

func newLineRing(max int) *lineRing { return &lineRing{max: max} }

func (r *lineRing) add(s string) {
	if len(r.lines) < r.max {
		r.lines = append(r.lines, s)
		return
	}
	r.lines[r.next] = s
	r.next = (r.next + 1) % r.max
}

func (r *lineRing) len() int { return len(r.lines) }

func (r *lineRing) join() string {
	size := len(r.lines)
	for _, l := range r.lines {
		size += len(l)
	}
	var b strings.Builder
	b.Grow(size)
	for i := range r.lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(r.lines[(r.next+i)%len(r.lines)])
	}
	return b.String()
}
