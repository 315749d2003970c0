package store

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// A SQLite store has one process: it leads at once, until ctx ends; a
// lead that returns is taken again after Retry.
func TestLeadershipOfASingleProcessStore(t *testing.T) {
	s := openMemory(t)
	l := s.Leadership(LeaderOptions{Retry: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var terms atomic.Int32
	leading := make(chan context.Context, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Lead(ctx, func(term context.Context) {
			if terms.Add(1) == 1 {
				return // gives the lead up: taken again
			}
			leading <- term
			<-term.Done()
		})
	}()
	var term context.Context
	select {
	case term = <-leading:
	case <-time.After(5 * time.Second):
		t.Fatal("the lead was not taken again after it was given up")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Lead did not return when its context ended")
	}
	if term.Err() == nil {
		t.Error("the term did not end with the context")
	}
	if n := terms.Load(); n != 2 {
		t.Errorf("%d terms, want 2", n)
	}
}
