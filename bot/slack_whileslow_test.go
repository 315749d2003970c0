package bot

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestWhileSlowFastCommandShowsNothing(t *testing.T) {
	s := NewSlack(nil, nil, nil, SlackOptions{WorkingAfter: 50 * time.Millisecond})
	var ran atomic.Bool
	stop := s.whileSlow(context.Background(), "test", func(context.Context) error { ran.Store(true); return nil })
	if stop() {
		t.Error("stop reports a show that did not run")
	}
	time.Sleep(100 * time.Millisecond)
	if ran.Load() {
		t.Error("show ran after stop")
	}
}

// A show still in flight when the command ends (a post being retried) is
// cancelled and waited for: the answer cannot overtake it.
func TestWhileSlowStopWaitsForTheShowInFlight(t *testing.T) {
	s := NewSlack(nil, nil, nil, SlackOptions{WorkingAfter: 10 * time.Millisecond})
	started := make(chan struct{})
	var finished atomic.Bool
	stop := s.whileSlow(context.Background(), "test", func(ctx context.Context) error {
		close(started)
		<-ctx.Done() // a call that would go on retrying
		time.Sleep(20 * time.Millisecond)
		finished.Store(true)
		return ctx.Err()
	})
	<-started
	if !stop() {
		t.Error("stop does not report the show that ran")
	}
	if !finished.Load() {
		t.Error("stop returned while the show was still in flight")
	}
}
