// Package store is mfbot's state store: the audit log, pending confirmations,
// the targets of the bot's threads, incidents with the state of their
// Slack notifications (the outbox), the watchers' cursors, the Slack
// deliveries already seen, the deploys and each environment's deploy lock
// (releases.go), and the election of the replica that runs the alerts
// (Leadership).
//
// MFBOT_STORE names it: a file path opens an embedded SQLite database
// (modernc.org/sqlite, pure Go), ":memory:" a private in-memory one for
// tests, a postgres:// (or postgresql://) URL a PostgreSQL database, which
// several replicas of mfbot may share. Each dialect keeps all its SQL
// (migrations and queries) in one place — sqlite.go, postgres.go — with
// the same migrations (versions and names) on both; the code around them
// is the same.
//
// Times are stored in UTC as integer nanoseconds since the Unix epoch (so
// years 1678 to 2262), durations as integer nanoseconds; both read back
// equal to what was written, in UTC.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNewerSchema is returned by Open for a database written by a newer mfbot
// (a schema version this one does not know): it is left untouched.
var ErrNewerSchema = errors.New("store schema is newer than this mfbot knows")

// Store is mfbot's state store. It is safe for concurrent use by many
// goroutines and by several processes sharing the SQLite file or the
// PostgreSQL database.
type Store struct {
	q       queries
	write   *sql.DB // every write goes through here
	read    *sql.DB // reads; the same pool as write when there is only one connection
	name    string  // "sqlite ./mfbot.db", "postgres mfbot@db:5432/mfbot": never a password
	version int     // schema version after Open

	// leaderConn configures the dedicated sessions of Leadership
	// (PostgreSQL); nil: a store of one process, which leads alone.
	leaderConn *pgx.ConnConfig
	// scrub takes the URL's password out of an error text (nil: nothing to take).
	scrub func(string) string
}

// Open opens the store named by MFBOT_STORE — a file path (embedded SQLite,
// created if missing, parent directory must exist), ":memory:", or a
// postgres:// or postgresql:// URL (the database must exist; mfbot creates
// its tables) — and brings its schema up to date.
func Open(ctx context.Context, dsn string) (*Store, error) {
	lower := strings.ToLower(dsn)
	switch {
	case strings.TrimSpace(dsn) == "":
		return nil, errors.New("open store: empty MFBOT_STORE: use a file path or a postgres:// URL")
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return openPostgres(ctx, dsn)
	}
	if scheme, _, ok := strings.Cut(dsn, "://"); ok && !strings.ContainsAny(scheme, `/\`) {
		return nil, fmt.Errorf("open store: unsupported store URL scheme %q: use a file path or a postgres:// URL", scheme)
	}
	return openSQLite(ctx, dsn)
}

// Close closes the store's connections.
func (s *Store) Close() error {
	var errs []error
	if s.read != s.write {
		errs = append(errs, s.read.Close())
	}
	errs = append(errs, s.write.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Ping checks that the store answers.
func (s *Store) Ping(ctx context.Context) error {
	var n int
	if err := s.read.QueryRowContext(ctx, s.q.ping).Scan(&n); err != nil {
		return fmt.Errorf("ping store %s: %w", s.name, err)
	}
	return nil
}

// Describe names the store for logs and `mfbot check`, e.g.
// "sqlite ./mfbot.db (schema v3)". It never includes a password.
func (s *Store) Describe() string {
	return fmt.Sprintf("%s (schema v%d)", s.name, s.version)
}

// queries is the SQL a dialect provides: everything the store runs.
type queries struct {
	ping string

	// migrationLock runs first in every migration transaction: it makes
	// processes that start together migrate one after the other
	// (PostgreSQL; empty for SQLite, whose BEGIN IMMEDIATE does it).
	migrationLock         string
	hasMigrationsTable    string // → count of schema_migrations tables (0 or 1)
	countTables           string // → count of the database's own tables
	createMigrationsTable string
	schemaVersion         string // → max(version) (0 when none), count(*)
	recordMigration       string // version, name, applied_at (ns)

	insertAudit string // time, user, channel, env, command, target, outcome, duration, via
	recentAudit string // limit → the same columns, newest first

	insertConfirmation string // id, command, env, target, requested_by, channel, created, expires
	decideConfirmation string // state, decided_by, decided_at, id, now: pending and unexpired only
	expireConfirmation string // id, now: pending and expired at now only
	selectConfirmation string // id → the insert's columns then state, decided_by, decided_at
	purgeConfirmations string // older_than, older_than

	upsertThreadTarget string // channel, ts, env, service, saved_at, at
	selectThreadTarget string // channel, ts → env, service, at
	purgeThreadTargets string // older_than

	insertIncident  string // env, source, target, state, closed, first, last, closed_at, up_since, count, exit_code, oom, reason, detail, failures, timeline, noted, ref, saved_at → id
	updateIncident  string // the insert's columns, then id, version read
	selectIncident  string // id → incidentColumns
	openIncident    string // env, source, target → incidentColumns
	openIncidents   string // → incidentColumns, oldest first
	recentIncidents string // limit → incidentColumns, newest first
	purgeIncidents  string // closed before

	selectNotification   string // incident_id → notificationColumns
	upsertNotification   string // notificationColumns
	pendingNotifications string // → notificationColumns (zero values when none saved)
	groupNotifications   string // group_id → notificationColumns, by incident_id

	insertMute  string // env, target, until, reason, created_by, created → id
	endMutes    string // now, env, target, target, now: active mutes of env for target ('all': every one)
	activeMutes string // now → id, env, target, until, reason, created_by, created

	upsertCursor string // env, source, cursor (never moves back)
	selectCursor string // env, source → cursor

	insertThreadPost   string // incident_id, kind, title, body, code, created
	pendingThreadPosts string // incident_id → id, incident_id, kind, title, body, code, created
	allThreadPosts     string // incident_id → the same columns, delivered posts too (incident reports)
	closedIncidents    string // closed since, limit → incidentColumns, the most recently closed first
	auditAbout         string // env, target, from, to, limit → the audit columns, oldest first
	doneThreadPost     string // done_at, id

	claimDelivery   string // id, seen: inserted unless the id is there (1 row affected: the first)
	purgeDeliveries string // older_than

	// acquireDeployLock: env, token, held_by, command, since, until, now:
	// inserts env's lock, or takes it over when it lapsed (until <= now)
	// or this token holds it; otherwise leaves (and, on PostgreSQL, locks)
	// the holder's row.
	acquireDeployLock string
	selectDeployLock  string // env → deployLockColumns
	releaseDeployLock string // env, token
	insertDeploy      string // env, target, version, previous, image, image_id, digest, outcome, detail, deployed_by, at, took → id
	lastDeploy        string // env, target, outcome, outcome → deployColumns, the newest of those outcomes
	purgeDeploys      string // older_than, outcome, outcome: those with a newer deploy of these outcomes (of their env and target)
}

// start migrates the freshly opened store and checks that it answers.
func (s *Store) start(ctx context.Context, migs []migration) (*Store, error) {
	version, err := migrate(ctx, s.write, s.q, migs)
	if err == nil {
		s.version = version
		var n int
		if err = s.read.QueryRowContext(ctx, s.q.ping).Scan(&n); err != nil {
			err = fmt.Errorf("first read: %w", err)
		}
	}
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("open store %s: %w", s.name, scrubErr(s.scrub, err))
	}
	return s, nil
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE for SQLite, READ
// COMMITTED for PostgreSQL), committing when fn returns nil and rolling
// back otherwise.
func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := beginTx(ctx, db)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// beginBusyPatience bounds how long a BEGIN refused by a busy SQLite file
// is tried again.
const beginBusyPatience = 10 * time.Second

// beginTx begins a transaction. SQLite may refuse a BEGIN at once with
// SQLITE_BUSY, without waiting on busy_timeout, while another process
// opens the same new file (switching it to WAL): nothing was done yet, so
// it is tried again, briefly.
func beginTx(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	deadline := time.Now().Add(beginBusyPatience)
	for {
		tx, err := db.BeginTx(ctx, nil)
		if err == nil || !isSQLiteBusy(err) || time.Now().After(deadline) {
			return tx, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func isSQLiteBusy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

// toNanos converts t to nanoseconds since the Unix epoch, refusing the times
// that do not fit (the zero time among them) rather than storing garbage.
func toNanos(t time.Time) (int64, error) {
	if t.Before(time.Unix(0, math.MinInt64)) || t.After(time.Unix(0, math.MaxInt64)) {
		return 0, fmt.Errorf("time %s out of range (years 1678 to 2262)", t.UTC().Format(time.RFC3339Nano))
	}
	return t.UnixNano(), nil
}

// fromNanos is the inverse of toNanos, in UTC.
func fromNanos(ns int64) time.Time {
	return time.Unix(0, ns).UTC()
}

// toNullNanos is toNanos with the zero time stored as NULL.
func toNullNanos(t time.Time) (sql.NullInt64, error) {
	if t.IsZero() {
		return sql.NullInt64{}, nil
	}
	ns, err := toNanos(t)
	return sql.NullInt64{Int64: ns, Valid: err == nil}, err
}

// fromNullNanos is the inverse of toNullNanos.
func fromNullNanos(ns sql.NullInt64) time.Time {
	if !ns.Valid {
		return time.Time{}
	}
	return fromNanos(ns.Int64)
}

// purge runs a DELETE of what is older than olderThan; query takes that
// time args times. It returns how many rows went.
func (s *Store) purge(ctx context.Context, what, query string, args int, olderThan time.Time) (int, error) {
	at, err := toNanos(olderThan)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	params := make([]any, args)
	for i := range params {
		params[i] = at
	}
	res, err := s.write.ExecContext(ctx, query, params...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return int(n), nil
}
