package bot

import (
	"context"
	"log/slog"
	"time"
)

// Purger deletes the store's rows older than a cutoff and says how many
// went. adapters/store.Store is one.
type Purger interface {
	// PurgeConfirmations deletes the confirmations expired or decided
	// before olderThan.
	PurgeConfirmations(ctx context.Context, olderThan time.Time) (int, error)
	// PurgeThreadTargets deletes the thread targets saved before olderThan.
	PurgeThreadTargets(ctx context.Context, olderThan time.Time) (int, error)
	// PurgeIncidents deletes the incidents closed before olderThan (open
	// ones stay, whatever their age).
	PurgeIncidents(ctx context.Context, olderThan time.Time) (int, error)
	// PurgeDeliveries forgets the Slack deliveries claimed before
	// olderThan (see Deliveries).
	PurgeDeliveries(ctx context.Context, olderThan time.Time) (int, error)
	// PurgeDeploys deletes the deploys recorded before olderThan that a
	// later one superseded (the last one, drift's reference, stays).
	PurgeDeploys(ctx context.Context, olderThan time.Time) (int, error)
	// PurgeSamples deletes the container stats sampled before olderThan
	// (the rings of services no longer configured: the others overwrite
	// their own).
	PurgeSamples(ctx context.Context, olderThan time.Time) (int, error)
}

// Retention defaults, for the zero fields of Retention.
const (
	DefaultKeepConfirmations   = 24 * time.Hour
	DefaultKeepThreadTargets   = 30 * 24 * time.Hour
	DefaultKeepClosedIncidents = 90 * 24 * time.Hour
	// DefaultKeepDeliveries: Slack retries a delivery for minutes, not days.
	DefaultKeepDeliveries = 24 * time.Hour
	// DefaultKeepDeploys: a year of release history (the last deploy of
	// each environment and target is kept whatever its age).
	DefaultKeepDeploys = 365 * 24 * time.Hour
	// DefaultKeepSamples: the stats ring's length, the longest --since of
	// `stats <svc> --chart`.
	DefaultKeepSamples       = 7 * 24 * time.Hour
	DefaultRetentionInterval = time.Hour
	DefaultRetentionTimeout  = time.Minute
)

// Retention is the job that keeps the store small: every Interval it
// purges the confirmations, thread targets and closed incidents older than
// their keep duration, the Slack deliveries older than a day and the
// superseded deploys older than a year and the stats samples older than
// a week. Zero
// fields take the Default* values.
type Retention struct {
	Store Purger

	KeepConfirmations   time.Duration // default 1 day
	KeepThreadTargets   time.Duration // default 30 days
	KeepClosedIncidents time.Duration // default 90 days

	Interval time.Duration // between passes, the first at start; default 1 h
	Timeout  time.Duration // bounds each pass; default 1 min

	Log *slog.Logger     // default: discard
	Now func() time.Time // default time.Now
}

// Run purges at start, then every Interval, until ctx ends. A failing
// purge is logged and does not stop the others, nor the next passes.
func (r *Retention) Run(ctx context.Context) {
	interval := keepOr(r.Interval, DefaultRetentionInterval)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		r.pass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// pass runs the three purges once, bounded by Timeout, logs what went at
// Info when something did and each failure at Error, and returns the
// counts (for tests).
func (r *Retention) pass(ctx context.Context) (confirmations, threadTargets, incidents int) {
	if ctx.Err() != nil {
		return 0, 0, 0
	}
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	ctx, cancel := context.WithTimeout(ctx, keepOr(r.Timeout, DefaultRetentionTimeout))
	defer cancel()
	at := now()
	purge := func(what string, fn func(context.Context, time.Time) (int, error), keep, def time.Duration) int {
		n, err := fn(ctx, at.Add(-keepOr(keep, def)))
		if err != nil {
			log.Error("retention: purge failed", "what", what, "err", err)
			return 0
		}
		return n
	}
	confirmations = purge("confirmations", r.Store.PurgeConfirmations, r.KeepConfirmations, DefaultKeepConfirmations)
	threadTargets = purge("thread targets", r.Store.PurgeThreadTargets, r.KeepThreadTargets, DefaultKeepThreadTargets)
	incidents = purge("closed incidents", r.Store.PurgeIncidents, r.KeepClosedIncidents, DefaultKeepClosedIncidents)
	deliveries := purge("Slack deliveries", r.Store.PurgeDeliveries, 0, DefaultKeepDeliveries)
	deploys := purge("deploys", r.Store.PurgeDeploys, 0, DefaultKeepDeploys)
	samples := purge("stats samples", r.Store.PurgeSamples, 0, DefaultKeepSamples)
	if confirmations+threadTargets+incidents+deliveries+deploys+samples > 0 {
		log.Info("retention: purged old rows", "confirmations", confirmations, "thread_targets", threadTargets, "closed_incidents", incidents,
			"slack_deliveries", deliveries, "deploys", deploys, "stats_samples", samples)
	}
	return confirmations, threadTargets, incidents
}

func keepOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
