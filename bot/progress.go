package bot

import (
	"context"
	"strconv"
	"sync"
	"time"

	"mfbot/reply"
)

// ProgressGap is the least time between two updates of a progress message:
// Slack allows about one chat.update per second per message, and a step
// shown for less than that is not read anyway.
const ProgressGap = 2 * time.Second

// maxPendingLines bounds the output lines waiting for the next post: a
// program that floods its output loses its oldest lines, not mfbot's memory.
const maxPendingLines = 400

// pacedSteps shows the steps of a long action, at most one every gap and
// always the newest (the steps between are skipped, not queued), and
// hands the output lines of the programs it runs to post, in batches at
// the same pace. It implements commands.Steps.
type pacedSteps struct {
	gap  time.Duration
	show func(ctx context.Context, p reply.Progress)
	post func(ctx context.Context, lines []string) // nil: lines are dropped

	mu        sync.Mutex
	latest    *reply.Progress
	lines     []string
	dropped   int
	lastShown time.Time

	wake    chan struct{}
	done    chan struct{}
	stopped chan struct{}
}

// newPacedSteps starts pacing; shownAt is when the message was last
// updated (zero: never), so that the first step too keeps the gap.
func newPacedSteps(ctx context.Context, gap time.Duration, shownAt time.Time,
	show func(context.Context, reply.Progress), post func(context.Context, []string)) *pacedSteps {
	p := &pacedSteps{gap: gap, show: show, post: post, lastShown: shownAt,
		wake: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
	go p.loop(ctx)
	return p
}

// Step keeps p as the newest step.
func (p *pacedSteps) Step(step reply.Progress) {
	p.mu.Lock()
	p.latest = &step
	p.mu.Unlock()
	p.poke()
}

// drop forgets the step waiting to be shown (a newer one was shown another way).
func (p *pacedSteps) drop() {
	p.mu.Lock()
	p.latest = nil
	p.mu.Unlock()
}

// Output queues a line for the next post.
func (p *pacedSteps) Output(line string) {
	if p.post == nil {
		return
	}
	p.mu.Lock()
	p.lines = append(p.lines, line)
	if over := len(p.lines) - maxPendingLines; over > 0 {
		p.lines = p.lines[over:]
		p.dropped += over
	}
	p.mu.Unlock()
	p.poke()
}

func (p *pacedSteps) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *pacedSteps) loop(ctx context.Context) {
	defer close(p.stopped)
	for {
		select {
		case <-p.wake:
		case <-p.done:
			p.flushLines(ctx)
			return
		case <-ctx.Done():
			return
		}
		if wait := time.Until(p.shownAt().Add(p.gap)); wait > 0 {
			select {
			case <-time.After(wait):
			case <-p.done:
				p.flushLines(ctx) // the outcome replaces the step: skip it
				return
			case <-ctx.Done():
				return
			}
		}
		p.mu.Lock()
		step := p.latest
		p.latest = nil
		p.mu.Unlock()
		if step != nil {
			p.show(ctx, *step)
			p.shown(time.Now())
		}
		p.flushLines(ctx)
	}
}

// flushLines posts the lines waiting, if any.
func (p *pacedSteps) flushLines(ctx context.Context) {
	p.mu.Lock()
	lines, dropped := p.lines, p.dropped
	p.lines, p.dropped = nil, 0
	p.mu.Unlock()
	if len(lines) == 0 || p.post == nil {
		return
	}
	if dropped > 0 {
		lines = append([]string{"… " + strconv.Itoa(dropped) + " earlier lines not shown"}, lines...)
	}
	p.post(ctx, lines)
}

// shown records that the message was updated at t (by a step, or by
// whoever shares the message: the "Running …" of a confirmation).
func (p *pacedSteps) shown(t time.Time) {
	p.mu.Lock()
	p.lastShown = t
	p.mu.Unlock()
}

func (p *pacedSteps) shownAt() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastShown
}

// finish stops the pacing, posts the lines still waiting and, when
// keepGap, waits until the gap since the last update has passed, so that
// the outcome, shown next in the same message, keeps the pace too.
func (p *pacedSteps) finish(keepGap bool) {
	close(p.done)
	<-p.stopped
	if keepGap {
		if wait := time.Until(p.shownAt().Add(p.gap)); wait > 0 {
			time.Sleep(wait)
		}
	}
}
