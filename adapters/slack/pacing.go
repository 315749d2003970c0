package slack

import (
	"context"
	"sync"
	"time"
)

// pacer gives each channel a lane: the writes to a channel go out one at
// a time, in the order they were submitted, each at least interval after
// the previous one to that channel ended (Slack allows about one message
// per second per channel). Channels do not wait for one another. A post
// keeps its turn until its call is over, 429 waits included, so when a
// Retry-After ends the posts queued behind it still go out one by one, in
// order, at the channel's pace.
//
// The interval runs from the end of the previous write (its answer), not
// its start: the server received that write before it answered, so two
// writes are at least interval apart as Slack sees them, whatever the
// latency. A lane is created on first use of a channel.
type pacer struct {
	interval time.Duration
	mu       sync.Mutex
	lanes    map[string]*lane
}

type lane struct {
	// tail is closed when the last turn taken in the lane is over (guarded
	// by pacer.mu). Each turn waits for the one taken before it: a chain
	// of channels is a FIFO queue.
	tail chan struct{}
	// last is when the previous write to the channel ended. Only the turn
	// in progress touches it (a turn starts after the previous one closed
	// its channel, which orders the accesses).
	last time.Time
}

// turn is a place in a channel's lane, from enter to leave. A nil *turn
// (pacing off, or no channel) paces nothing.
type turn struct {
	lane     *lane
	interval time.Duration
	done     chan struct{}
}

func newPacer(interval time.Duration) *pacer {
	return &pacer{interval: interval, lanes: map[string]*lane{}}
}

// enter queues in channel's lane and returns once it is this caller's
// turn and interval has passed since the previous write to the channel
// ended. The caller must leave the turn when its writes are done. If ctx
// ends first, enter returns its error, and the place in the queue is
// handed on to the next caller as soon as it comes up: the callers queued
// behind are neither blocked nor reordered.
func (p *pacer) enter(ctx context.Context, channel string) (*turn, error) {
	if p.interval <= 0 || channel == "" {
		return nil, nil
	}
	p.mu.Lock()
	l := p.lanes[channel]
	if l == nil {
		l = &lane{tail: make(chan struct{})}
		close(l.tail)
		p.lanes[channel] = l
	}
	prev, done := l.tail, make(chan struct{})
	l.tail = done
	p.mu.Unlock()
	select {
	case <-prev:
	case <-ctx.Done():
		go func() { <-prev; close(done) }()
		return nil, ctx.Err()
	}
	t := &turn{lane: l, interval: p.interval, done: done}
	if err := t.space(ctx); err != nil {
		t.leave()
		return nil, err
	}
	return t, nil
}

// space waits until interval has passed since the previous write ended.
func (t *turn) space(ctx context.Context) error {
	return sleep(ctx, time.Until(t.lane.last.Add(t.interval)))
}

// write wraps one attempt of a Web API call for Client.call: every attempt
// is a write to the channel, so a retry (after a 5xx, say) also keeps the
// pace; enter already waited for the first one.
func (t *turn) write(fn func(context.Context) error) func(context.Context) error {
	if t == nil {
		return fn
	}
	return func(ctx context.Context) error {
		if err := t.space(ctx); err != nil {
			return err
		}
		defer func() { t.lane.last = time.Now() }()
		return fn(ctx)
	}
}

// leave ends the turn: the next caller in the lane goes.
func (t *turn) leave() {
	if t != nil {
		close(t.done)
	}
}

// gate holds back the calls to a Web API method that answered 429 until
// its Retry-After has passed: every caller of that method waits, not only
// the one that got the 429.
type gate struct {
	mu    sync.Mutex
	until map[string]time.Time
}

func newGate() *gate { return &gate{until: map[string]time.Time{}} }

// block keeps method closed for d from now (never shortening a longer
// block).
func (g *gate) block(method string, d time.Duration) {
	t := time.Now().Add(d)
	g.mu.Lock()
	if t.After(g.until[method]) {
		g.until[method] = t
	}
	g.mu.Unlock()
}

// wait returns once method is open again.
func (g *gate) wait(ctx context.Context, method string) error {
	for {
		g.mu.Lock()
		until, ok := g.until[method]
		if ok && !time.Now().Before(until) {
			delete(g.until, method)
		}
		g.mu.Unlock()
		d := time.Until(until)
		if !ok || d <= 0 {
			return nil
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
