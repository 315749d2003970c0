package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// scriptedTerms is a leadership that gives terms one after the other and
// ends each when the test says.
type scriptedTerms struct {
	terms int
	end   chan struct{} // a value ends the current term
}

func (s *scriptedTerms) Lead(ctx context.Context, lead func(ctx context.Context)) {
	for range s.terms {
		term, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-s.end:
			case <-ctx.Done():
			}
			cancel()
		}()
		lead(term)
		cancel()
	}
	<-ctx.Done()
}

// Each term starts the pipeline and ends once the pipeline has stopped;
// mfbot_leader is 1 during a term, 0 outside.
func TestLeadAlertsRunsThePipelinePerTerm(t *testing.T) {
	reg := prometheus.NewRegistry()
	gauge := newLeaderGauge(reg)
	l := &scriptedTerms{terms: 2, end: make(chan struct{})}
	var starts, running atomic.Int32
	started := make(chan struct{}, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		leadAlerts(ctx, l, gauge, slog.New(slog.DiscardHandler), make(chan error, 1), func(ctx context.Context, wg *sync.WaitGroup, _ chan<- error) error {
			if running.Load() != 0 {
				t.Error("a pipeline started while the last one still ran")
			}
			starts.Add(1)
			running.Add(1)
			wg.Go(func() {
				<-ctx.Done()
				time.Sleep(20 * time.Millisecond) // stopping takes a moment
				running.Add(-1)
			})
			started <- struct{}{}
			return nil
		})
	}()
	for term := 1; term <= 2; term++ {
		<-started
		if v := testutil.ToFloat64(gauge); v != 1 {
			t.Errorf("term %d: mfbot_leader = %v, want 1", term, v)
		}
		l.end <- struct{}{}
	}
	cancel()
	<-done
	if n, r, v := starts.Load(), running.Load(), testutil.ToFloat64(gauge); n != 2 || r != 0 || v != 0 {
		t.Errorf("%d pipelines started, %d still running, mfbot_leader = %v; want 2, 0, 0", n, r, v)
	}
}

// A pipeline's fatal error stops the bot (it goes to fatal); one that
// cannot start gives the term up.
func TestLeadAlertsFatalAndStartErrors(t *testing.T) {
	gauge := newLeaderGauge(prometheus.NewRegistry())
	fatal := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		leadAlerts(ctx, &scriptedTerms{terms: 1, end: make(chan struct{})}, gauge, slog.New(slog.DiscardHandler), fatal,
			func(ctx context.Context, wg *sync.WaitGroup, errs chan<- error) error {
				wg.Go(func() { errs <- errors.New("token revoked") })
				return nil
			})
	}()
	select {
	case err := <-fatal:
		if err.Error() != "token revoked" {
			t.Errorf("fatal error %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the pipeline's fatal error did not reach the bot")
	}
	cancel()
	<-done

	l := &scriptedTerms{terms: 3, end: make(chan struct{})}
	var attempts atomic.Int32
	ctx, cancel = context.WithCancel(context.Background())
	done = make(chan struct{})
	go func() {
		defer close(done)
		leadAlerts(ctx, l, gauge, slog.New(slog.DiscardHandler), make(chan error, 1), func(context.Context, *sync.WaitGroup, chan<- error) error {
			attempts.Add(1)
			return errors.New("store unreachable")
		})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for attempts.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if n := attempts.Load(); n != 3 {
		t.Errorf("%d attempts over 3 terms, want 3: a failed start gives the term up", n)
	}
	if v := testutil.ToFloat64(gauge); v != 0 {
		t.Errorf("mfbot_leader = %v after failed starts, want 0", v)
	}
}
