package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// SQLite connection settings. WAL lets readers run beside the writer;
// synchronous=NORMAL is durable across a crash of mfbot (only a power loss
// can take the last commits back, never corrupt the file); busy_timeout makes
// a writer of another process wait for the lock instead of failing.
const (
	sqliteBusyTimeoutMS = 5000
	sqliteReaders       = 4
)

// openSQLite opens the SQLite store at path (":memory:" for a private
// in-memory database). In this process writes go through one connection
// (taking the write lock at BEGIN: _txlock=immediate), so they queue in Go
// instead of contending in SQLite; reads use a small pool of read-only
// connections. Other processes on the same file wait on busy_timeout.
func openSQLite(ctx context.Context, path string) (*Store, error) {
	s := &Store{q: sqliteQueries(), name: "sqlite " + path}
	params := url.Values{}
	params.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeoutMS))
	params.Add("_pragma", "foreign_keys(1)")
	params.Set("_txlock", "immediate")

	if path == ":memory:" {
		// Every connection to ":memory:" is its own database: keep one.
		db, err := sql.Open("sqlite", ":memory:?"+params.Encode())
		if err != nil {
			return nil, fmt.Errorf("open store %s: %w", s.name, err)
		}
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		s.write, s.read = db, db
		return s.start(ctx, sqliteMigrations())
	}

	abs, err := prepareSQLiteFile(path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", s.name, err)
	}
	// A file: URI, so that SQLite takes the path verbatim ('?', '#', spaces).
	uri := "file:" + (&url.URL{Path: abs}).EscapedPath()

	writeParams := url.Values{}
	for k, v := range params {
		writeParams[k] = append([]string(nil), v...)
	}
	writeParams.Add("_pragma", "journal_mode(WAL)")
	writeParams.Add("_pragma", "synchronous(NORMAL)")
	if s.write, err = sql.Open("sqlite", uri+"?"+writeParams.Encode()); err != nil {
		return nil, fmt.Errorf("open store %s: %w", s.name, err)
	}
	s.write.SetMaxOpenConns(1)
	s.write.SetMaxIdleConns(1)

	// Readers never write; WAL is a property of the file, set by the writer.
	params.Set("_txlock", "deferred")
	params.Add("_pragma", "query_only(1)")
	if s.read, err = sql.Open("sqlite", uri+"?"+params.Encode()); err != nil {
		_ = s.write.Close()
		return nil, fmt.Errorf("open store %s: %w", s.name, err)
	}
	s.read.SetMaxOpenConns(sqliteReaders)
	s.read.SetMaxIdleConns(sqliteReaders)
	return s.start(ctx, sqliteMigrations())
}

// prepareSQLiteFile checks the directory and, when the database does not
// exist yet, creates it empty and private (0600: the audit log says who did
// what); SQLite gives its -wal and -shm files the same mode.
func prepareSQLiteFile(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(abs)
	if fi, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("directory %s does not exist", dir)
		}
		return "", err
	} else if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		return abs, f.Close()
	case errors.Is(err, fs.ErrExist):
		if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
			return "", fmt.Errorf("%s is a directory", abs)
		}
		return abs, nil
	default:
		return "", err
	}
}

// sqliteMigrations is the SQLite schema, oldest first. Times are INTEGER
// nanoseconds since the Unix epoch (UTC), durations INTEGER nanoseconds.
func sqliteMigrations() []migration {
	return []migration{
		{1, "audit log", `
CREATE TABLE audit (
	id          INTEGER PRIMARY KEY,
	time_ns     INTEGER NOT NULL,
	user_id     TEXT    NOT NULL,
	channel     TEXT    NOT NULL,
	env         TEXT    NOT NULL,
	command     TEXT    NOT NULL,
	target      TEXT    NOT NULL,
	outcome     TEXT    NOT NULL,
	duration_ns INTEGER NOT NULL,
	via         TEXT    NOT NULL
);
CREATE INDEX audit_time ON audit (time_ns);
`},
		{2, "confirmations", `
CREATE TABLE confirmations (
	id           TEXT    PRIMARY KEY,
	command      TEXT    NOT NULL,
	env          TEXT    NOT NULL,
	target       TEXT    NOT NULL,
	requested_by TEXT    NOT NULL,
	channel      TEXT    NOT NULL,
	created_ns   INTEGER NOT NULL,
	expires_ns   INTEGER NOT NULL,
	state        TEXT    NOT NULL DEFAULT 'pending'
		CHECK (state IN ('pending', 'confirmed', 'cancelled', 'expired')),
	decided_by   TEXT    NOT NULL DEFAULT '',
	decided_ns   INTEGER
) WITHOUT ROWID;
CREATE INDEX confirmations_expires ON confirmations (expires_ns);
`},
		{3, "thread targets", `
CREATE TABLE thread_targets (
	channel  TEXT    NOT NULL,
	ts       TEXT    NOT NULL,
	env      TEXT    NOT NULL,
	service  TEXT    NOT NULL,
	saved_ns INTEGER NOT NULL,
	PRIMARY KEY (channel, ts)
) WITHOUT ROWID;
CREATE INDEX thread_targets_saved ON thread_targets (saved_ns);
`},
	}
}

// sqliteQueries is the SQL the store runs on SQLite.
func sqliteQueries() queries {
	return queries{
		ping: `SELECT count(*) FROM schema_migrations`,

		hasMigrationsTable: `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`,
		countTables:        `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`,
		createMigrationsTable: `
CREATE TABLE schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL DEFAULT '',
	applied_at INTEGER NOT NULL -- ns since the Unix epoch
)`,
		schemaVersion:   `SELECT coalesce(max(version), 0), count(*) FROM schema_migrations`,
		recordMigration: `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,

		insertAudit: `
INSERT INTO audit (time_ns, user_id, channel, env, command, target, outcome, duration_ns, via)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		recentAudit: `
SELECT time_ns, user_id, channel, env, command, target, outcome, duration_ns, via
FROM audit ORDER BY time_ns DESC, id DESC LIMIT ?`,

		insertConfirmation: `
INSERT INTO confirmations (id, command, env, target, requested_by, channel, created_ns, expires_ns)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		decideConfirmation: `
UPDATE confirmations SET state = ?, decided_by = ?, decided_ns = ?
WHERE id = ? AND state = 'pending' AND expires_ns > ?`,
		expireConfirmation: `
UPDATE confirmations SET state = 'expired', decided_ns = expires_ns
WHERE id = ? AND state = 'pending' AND expires_ns <= ?`,
		selectConfirmation: `
SELECT id, command, env, target, requested_by, channel, created_ns, expires_ns, state, decided_by, decided_ns
FROM confirmations WHERE id = ?`,
		purgeConfirmations: `
DELETE FROM confirmations
WHERE expires_ns < ? OR (state <> 'pending' AND decided_ns < ?)`,

		upsertThreadTarget: `
INSERT INTO thread_targets (channel, ts, env, service, saved_ns) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (channel, ts) DO UPDATE SET env = excluded.env, service = excluded.service, saved_ns = excluded.saved_ns`,
		selectThreadTarget: `SELECT env, service FROM thread_targets WHERE channel = ? AND ts = ?`,
		purgeThreadTargets: `DELETE FROM thread_targets WHERE saved_ns < ?`,
	}
}
