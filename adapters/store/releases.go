package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"mfbot/release"
)

// The releases: the deploys mfbot made (deploys) and, per environment,
// the lock of the one deploy that may run at a time (deploy_locks), which
// the replicas sharing a PostgreSQL store take from each other.

// The columns scanHolder and scanDeploy read, in order.
const (
	deployLockColumns = `env, token, held_by, command, since_ns, until_ns`
	deployColumns     = `id, env, target, version, previous, image, image_id, digest, outcome, detail,
	deployed_by, at_ns, took_ns`
)

var _ release.Store = (*Store)(nil)

// AcquireDeploy takes h.Env's deploy lock for h unless a holder whose
// Until is after now has it: then ok is false and current names that
// holder. A lapsed lock (Until at or before now) is taken over. h's token
// taking the lock again while it holds it succeeds, the lock then being
// h as given (a renewal). When ok, current is h as stored (times in UTC).
// Of concurrent callers for one environment, in this process or another
// sharing the store, exactly one gets the lock; the others are told who.
func (s *Store) AcquireDeploy(ctx context.Context, h release.Holder, now time.Time) (release.Holder, bool, error) {
	switch {
	case h.Env == "":
		return release.Holder{}, false, errors.New("acquire deploy lock: empty environment")
	case h.Token == "":
		return release.Holder{}, false, fmt.Errorf("acquire deploy lock of %s: empty token", h.Env)
	case !h.Until.After(now):
		return release.Holder{}, false, fmt.Errorf("acquire deploy lock of %s: it would lapse at once (until %s, now %s)",
			h.Env, h.Until.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano))
	}
	since, err := toNanos(h.Since)
	if err != nil {
		return release.Holder{}, false, fmt.Errorf("acquire deploy lock of %s: since: %w", h.Env, err)
	}
	until, err := toNanos(h.Until)
	if err != nil {
		return release.Holder{}, false, fmt.Errorf("acquire deploy lock of %s: until: %w", h.Env, err)
	}
	at, err := toNanos(now)
	if err != nil {
		return release.Holder{}, false, fmt.Errorf("acquire deploy lock of %s: now: %w", h.Env, err)
	}
	var current release.Holder
	err = inTx(ctx, s.write, func(tx *sql.Tx) error {
		// The row is env's holder once the statement ran — h, or the live
		// holder it left alone — and stays so until the commit (SQLite:
		// the write lock; PostgreSQL: the row lock ON CONFLICT took).
		if _, err := tx.ExecContext(ctx, s.q.acquireDeployLock, h.Env, h.Token, h.By, h.Command, since, until, at); err != nil {
			return err
		}
		current, err = scanHolder(tx.QueryRowContext(ctx, s.q.selectDeployLock, h.Env))
		return err
	})
	if err != nil {
		return release.Holder{}, false, fmt.Errorf("acquire deploy lock of %s: %w", h.Env, err)
	}
	return current, current.Token == h.Token, nil
}

// DeployHolder reads who holds env's deploy lock at now, without taking
// it; ok false: nobody, or a holder whose lock has lapsed.
func (s *Store) DeployHolder(ctx context.Context, env string, now time.Time) (release.Holder, bool, error) {
	h, err := scanHolder(s.read.QueryRowContext(ctx, s.q.selectDeployLock, env))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return release.Holder{}, false, nil
	case err != nil:
		return release.Holder{}, false, fmt.Errorf("read the deploy lock of %s: %w", env, err)
	}
	return h, h.Until.After(now), nil
}

// ReleaseDeploy gives env's deploy lock back if token still holds it;
// a lock another token holds (or none) is left as it is, without error.
func (s *Store) ReleaseDeploy(ctx context.Context, env, token string) error {
	if _, err := s.write.ExecContext(ctx, s.q.releaseDeployLock, env, token); err != nil {
		return fmt.Errorf("release deploy lock of %s: %w", env, err)
	}
	return nil
}

// RecordDeploy keeps a finished deploy and returns it with its ID.
func (s *Store) RecordDeploy(ctx context.Context, d release.Deploy) (release.Deploy, error) {
	switch {
	case d.Env == "" || d.Target == "":
		return d, fmt.Errorf("record deploy: empty environment or target (%q, %q)", d.Env, d.Target)
	case d.Outcome != release.Deployed && d.Outcome != release.RolledBack && d.Outcome != release.Failed:
		return d, fmt.Errorf("record deploy of %s/%s: unknown outcome %q", d.Env, d.Target, d.Outcome)
	}
	at, err := toNanos(d.At)
	if err != nil {
		return d, fmt.Errorf("record deploy of %s/%s: at: %w", d.Env, d.Target, err)
	}
	err = s.write.QueryRowContext(ctx, s.q.insertDeploy, d.Env, d.Target, d.Version, d.Previous, d.Image, d.ImageID,
		d.Digest, d.Outcome, d.Detail, d.By, at, int64(d.Took)).Scan(&d.ID)
	if err != nil {
		return d, fmt.Errorf("record deploy of %s/%s: %w", d.Env, d.Target, err)
	}
	return d, nil
}

// LastDeploy is the newest deploy (by At, then by ID) of target in env
// whose outcome is release.Deployed or release.RolledBack: what mfbot
// left running. ok is false when there is none.
func (s *Store) LastDeploy(ctx context.Context, env, target string) (release.Deploy, bool, error) {
	d, err := scanDeploy(s.read.QueryRowContext(ctx, s.q.lastDeploy, env, target, release.Deployed, release.RolledBack))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return release.Deploy{}, false, nil
	case err != nil:
		return release.Deploy{}, false, fmt.Errorf("read last deploy of %s/%s: %w", env, target, err)
	}
	return d, true, nil
}

// PurgeDeploys deletes the deploys made before olderThan that a newer
// Deployed or RolledBack deploy of their environment and target
// follows — never what LastDeploy returns, nor the failures after it —
// and returns how many it deleted.
func (s *Store) PurgeDeploys(ctx context.Context, olderThan time.Time) (int, error) {
	at, err := toNanos(olderThan)
	if err != nil {
		return 0, fmt.Errorf("purge deploys: %w", err)
	}
	res, err := s.write.ExecContext(ctx, s.q.purgeDeploys, at, release.Deployed, release.RolledBack)
	if err != nil {
		return 0, fmt.Errorf("purge deploys: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge deploys: %w", err)
	}
	return int(n), nil
}

// scanHolder reads a row of deployLockColumns.
func scanHolder(row *sql.Row) (release.Holder, error) {
	var h release.Holder
	var since, until int64
	if err := row.Scan(&h.Env, &h.Token, &h.By, &h.Command, &since, &until); err != nil {
		return release.Holder{}, err
	}
	h.Since, h.Until = fromNanos(since), fromNanos(until)
	return h, nil
}

// scanDeploy reads a row of deployColumns.
func scanDeploy(row *sql.Row) (release.Deploy, error) {
	var d release.Deploy
	var at, took int64
	err := row.Scan(&d.ID, &d.Env, &d.Target, &d.Version, &d.Previous, &d.Image, &d.ImageID, &d.Digest,
		&d.Outcome, &d.Detail, &d.By, &at, &took)
	if err != nil {
		return release.Deploy{}, err
	}
	d.At, d.Took = fromNanos(at), time.Duration(took)
	return d, nil
}
