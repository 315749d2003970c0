package bot

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestRunDrainsTheQueueAtShutdown: commands acked and queued when the bot
// is told to stop still run, within the drain bound; past it, they run
// with a cancelled context.
func TestRunDrainsTheQueueAtShutdown(t *testing.T) {
	s := NewSlack(nil, nil, nil, SlackOptions{Workers: 1, Queue: 8})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, 5*time.Second) }()

	release := make(chan struct{})
	var ran, cancelled atomic.Int32
	if err := s.submit(func(context.Context) { <-release; ran.Add(1) }); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if err := s.submit(func(ctx context.Context) {
			if ctx.Err() != nil {
				cancelled.Add(1)
			}
			ran.Add(1)
		}); err != nil {
			t.Fatal(err)
		}
	}
	cancel() // SIGTERM while one runs and four wait
	time.Sleep(50 * time.Millisecond)
	close(release)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if ran.Load() != 5 || cancelled.Load() != 0 {
		t.Errorf("%d of 5 commands ran, %d with a cancelled context; want all 5, none cancelled", ran.Load(), cancelled.Load())
	}
}
