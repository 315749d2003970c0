package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// leadership elects, among the replicas sharing the store, the one that
// runs the alerts (adapters/store.Leadership: a PostgreSQL advisory lock;
// a SQLite store's one process simply leads).
type leadership interface {
	// Lead calls lead for each term of this replica as leader, with a
	// context that ends with the term, until ctx ends.
	Lead(ctx context.Context, lead func(ctx context.Context))
}

// alertPipeline starts the watchers, the notifier and the retention job
// under ctx, each in wg; a fatal error of one of them goes to errs.
type alertPipeline func(ctx context.Context, wg *sync.WaitGroup, errs chan<- error) error

// newLeaderGauge registers mfbot_leader on reg.
func newLeaderGauge(reg prometheus.Registerer) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "mfbot_leader",
		Help: "1 while this replica leads (runs the watchers and the notifier), 0 while it stands by; every replica answers commands.",
	})
	reg.MustRegister(g)
	return g
}

// leadAlerts runs the alert pipeline during each of this replica's terms
// as leader, until ctx ends. A term ends only once the pipeline has
// stopped, so that this replica never runs two pipelines, and a standby
// that takes over starts from what the store holds (cursors, outbox). A
// pipeline that cannot start gives the lead up (another replica may do
// better; this one tries again); a fatal error of the pipeline (Slack
// refused the token) goes to fatal, which stops the bot as it did with one
// replica.
func leadAlerts(ctx context.Context, l leadership, gauge prometheus.Gauge, log *slog.Logger, fatal chan<- error, start alertPipeline) {
	l.Lead(ctx, func(ctx context.Context) {
		gauge.Set(1)
		defer gauge.Set(0)
		var wg sync.WaitGroup
		defer wg.Wait()
		errs := make(chan error, 4)
		if err := start(ctx, &wg, errs); err != nil {
			log.Error("cannot start the watchers: giving the lead up", "err", err)
			return
		}
		for {
			select {
			case <-ctx.Done():
				return
			case err := <-errs:
				if err == nil || ctx.Err() != nil {
					continue // a component seeing the term end
				}
				select {
				case fatal <- err:
				default: // the bot is stopping already
				}
				<-ctx.Done()
				return
			}
		}
	})
}

// waitClosed waits for done to close, at most d; false when it did not.
func waitClosed(done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
