package slack

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// pacer spaces the writes to each channel (Slack allows about one message
// per second per channel); channels do not wait for one another. A
// limiter is created on first use of a channel.
type pacer struct {
	interval time.Duration
	mu       sync.Mutex
	channels map[string]*rate.Limiter
}

func newPacer(interval time.Duration) *pacer {
	return &pacer{interval: interval, channels: map[string]*rate.Limiter{}}
}

// wait blocks until channel may receive the next write. Reservations are
// served in the order of the calls, so sequential writers keep their order.
func (p *pacer) wait(ctx context.Context, channel string) error {
	if p.interval <= 0 || channel == "" {
		return nil
	}
	p.mu.Lock()
	l, ok := p.channels[channel]
	if !ok {
		l = rate.NewLimiter(rate.Every(p.interval), 1)
		p.channels[channel] = l
	}
	p.mu.Unlock()
	r := l.Reserve()
	delay := r.Delay()
	if delay == 0 {
		return nil
	}
	if err := sleep(ctx, delay); err != nil {
		r.Cancel()
		return err
	}
	return nil
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
