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

	abs, err := prepareSQLiteFile(ctx, path)
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
// exist yet, creates it private (0600: the audit log says who did what);
// SQLite gives its -wal and -shm files the same mode.
func prepareSQLiteFile(ctx context.Context, path string) (string, error) {
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
	switch fi, err := os.Stat(abs); {
	case err == nil && fi.IsDir():
		return "", fmt.Errorf("%s is a directory", abs)
	case err == nil:
		return abs, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", err
	}
	return abs, createSQLiteFile(ctx, abs)
}

// createSQLiteFile makes a new database at abs, already in WAL mode, and
// puts it in place with one link(2). Processes starting together must never
// see an empty file: SQLite, finding a -wal beside an empty database,
// deletes it, and a second process doing the same fails with "disk I/O error
// (5898)" (SQLITE_IOERR_DELETE_NOENT). Whoever links first wins; the others
// find the file there and open it.
func createSQLiteFile(ctx context.Context, abs string) error {
	tmp, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".new-*") // 0600
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			_ = os.Remove(name + suffix)
		}
	}()
	if err := tmp.Close(); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: name}).EscapedPath())
	if err != nil {
		return err
	}
	var mode string
	err = db.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", abs, err)
	}
	if mode != "wal" {
		return fmt.Errorf("create %s: journal mode is %q, not wal", abs, mode)
	}
	if err := os.Link(name, abs); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: %w", abs, err)
	}
	return nil
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
		{4, "incidents and their notifications", `
CREATE TABLE incidents (
	id          INTEGER PRIMARY KEY,
	env         TEXT    NOT NULL,
	source      TEXT    NOT NULL,
	target      TEXT    NOT NULL,
	state       TEXT    NOT NULL,
	closed      INTEGER NOT NULL CHECK (closed IN (0, 1)),
	first_ns    INTEGER NOT NULL,
	last_ns     INTEGER,
	closed_ns   INTEGER,
	up_since_ns INTEGER,
	count       INTEGER NOT NULL,
	exit_code   INTEGER NOT NULL,
	oom         INTEGER NOT NULL CHECK (oom IN (0, 1)),
	reason      TEXT    NOT NULL,
	detail      TEXT    NOT NULL,
	failures    TEXT    NOT NULL, -- JSON array of ns
	timeline    TEXT    NOT NULL, -- JSON array of {"t": ns, "text": ...}
	noted       INTEGER NOT NULL,
	version     INTEGER NOT NULL,
	saved_ns    INTEGER NOT NULL
);
-- One open incident per failure identity, whoever saves it.
CREATE UNIQUE INDEX incidents_open_key ON incidents (env, source, target) WHERE closed = 0;
CREATE INDEX incidents_closed ON incidents (closed, closed_ns);

CREATE TABLE incident_notifications (
	incident_id      INTEGER PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
	channel          TEXT    NOT NULL,
	root_ts          TEXT    NOT NULL,
	notified_version INTEGER NOT NULL,
	last_update_ns   INTEGER,
	posting_since_ns INTEGER,
	timeline_sent    INTEGER NOT NULL,
	held             INTEGER NOT NULL CHECK (held IN (0, 1))
);

CREATE TABLE incident_thread_posts (
	id          INTEGER PRIMARY KEY,
	incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	kind        TEXT    NOT NULL,
	title       TEXT    NOT NULL,
	body        TEXT    NOT NULL,
	code        TEXT    NOT NULL,
	created_ns  INTEGER NOT NULL,
	done_ns     INTEGER
);
CREATE INDEX incident_thread_posts_pending ON incident_thread_posts (incident_id, id) WHERE done_ns IS NULL;
`},
		{5, "mutes and watcher cursors", `
CREATE TABLE mutes (
	id         INTEGER PRIMARY KEY,
	env        TEXT    NOT NULL,
	target     TEXT    NOT NULL,
	until_ns   INTEGER NOT NULL,
	reason     TEXT    NOT NULL,
	created_by TEXT    NOT NULL,
	created_ns INTEGER NOT NULL
);
CREATE INDEX mutes_until ON mutes (until_ns);

CREATE TABLE watch_cursors (
	env       TEXT    NOT NULL,
	source    TEXT    NOT NULL,
	cursor_ns INTEGER NOT NULL,
	PRIMARY KEY (env, source)
);
`},
		{6, "the moment a thread is about", `
ALTER TABLE thread_targets ADD COLUMN at_ns INTEGER NOT NULL DEFAULT 0;
`},
		{7, "what an incident's last failure is about", `
ALTER TABLE incidents ADD COLUMN ref TEXT NOT NULL DEFAULT '';
`},
		{8, "alerts grouped in one message", `
ALTER TABLE incident_notifications ADD COLUMN group_id INTEGER NOT NULL DEFAULT 0;
CREATE INDEX incident_notifications_group ON incident_notifications (group_id) WHERE group_id <> 0;
`},
		{9, "Slack deliveries seen", `
CREATE TABLE slack_deliveries (
	id      TEXT    PRIMARY KEY,
	seen_ns INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX slack_deliveries_seen ON slack_deliveries (seen_ns);
`},
		{10, "deploys and deploy locks", `
CREATE TABLE deploy_locks (
	env      TEXT    PRIMARY KEY,
	token    TEXT    NOT NULL,
	held_by  TEXT    NOT NULL,
	command  TEXT    NOT NULL,
	since_ns INTEGER NOT NULL,
	until_ns INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE deploys (
	id          INTEGER PRIMARY KEY,
	env         TEXT    NOT NULL,
	target      TEXT    NOT NULL,
	version     TEXT    NOT NULL,
	previous    TEXT    NOT NULL,
	image       TEXT    NOT NULL,
	image_id    TEXT    NOT NULL,
	digest      TEXT    NOT NULL,
	outcome     TEXT    NOT NULL,
	detail      TEXT    NOT NULL,
	deployed_by TEXT    NOT NULL,
	at_ns       INTEGER NOT NULL,
	took_ns     INTEGER NOT NULL
);
CREATE INDEX deploys_env_target_at ON deploys (env, target, at_ns);
`},
		{11, "container stats samples", `
-- A ring per service: slot is the sample's minute modulo the ring's
-- capacity (samples.go), so a new lap overwrites the old rows.
CREATE TABLE stats_samples (
	env          TEXT    NOT NULL,
	service      TEXT    NOT NULL,
	slot         INTEGER NOT NULL,
	time_ns      INTEGER NOT NULL,
	cpu_percent  REAL    NOT NULL,
	memory_bytes INTEGER NOT NULL,
	memory_limit INTEGER NOT NULL,
	cpu_limit    REAL    NOT NULL,
	PRIMARY KEY (env, service, slot)
) WITHOUT ROWID;
CREATE INDEX stats_samples_time ON stats_samples (env, service, time_ns);
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
INSERT INTO thread_targets (channel, ts, env, service, saved_ns, at_ns) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (channel, ts) DO UPDATE SET env = excluded.env, service = excluded.service, saved_ns = excluded.saved_ns, at_ns = excluded.at_ns`,
		selectThreadTarget: `SELECT env, service, at_ns FROM thread_targets WHERE channel = ? AND ts = ?`,
		purgeThreadTargets: `DELETE FROM thread_targets WHERE saved_ns < ?`,

		insertMute:  `INSERT INTO mutes (env, target, until_ns, reason, created_by, created_ns) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		endMutes:    `UPDATE mutes SET until_ns = ? WHERE env = ? AND (? = 'all' OR target = ?) AND until_ns > ?`,
		activeMutes: `SELECT id, env, target, until_ns, reason, created_by, created_ns FROM mutes WHERE until_ns > ? ORDER BY until_ns, id`,

		upsertCursor: `INSERT INTO watch_cursors (env, source, cursor_ns) VALUES (?, ?, ?)
	ON CONFLICT (env, source) DO UPDATE SET cursor_ns = max(cursor_ns, excluded.cursor_ns)`,
		selectCursor: `SELECT cursor_ns FROM watch_cursors WHERE env = ? AND source = ?`,

		insertIncident: `
INSERT INTO incidents (env, source, target, state, closed, first_ns, last_ns, closed_ns, up_since_ns,
	count, exit_code, oom, reason, detail, failures, timeline, noted, ref, version, saved_ns)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)
RETURNING id`,
		updateIncident: `
UPDATE incidents SET env = ?, source = ?, target = ?, state = ?, closed = ?, first_ns = ?, last_ns = ?,
	closed_ns = ?, up_since_ns = ?, count = ?, exit_code = ?, oom = ?, reason = ?, detail = ?,
	failures = ?, timeline = ?, noted = ?, ref = ?, version = version + 1, saved_ns = ?
WHERE id = ? AND version = ?`,
		selectIncident:  `SELECT ` + incidentColumns + ` FROM incidents WHERE id = ?`,
		openIncident:    `SELECT ` + incidentColumns + ` FROM incidents WHERE env = ? AND source = ? AND target = ? AND closed = 0`,
		openIncidents:   `SELECT ` + incidentColumns + ` FROM incidents WHERE closed = 0 ORDER BY first_ns, id`,
		recentIncidents: `SELECT ` + incidentColumns + ` FROM incidents ORDER BY id DESC LIMIT ?`,
		purgeIncidents:  `DELETE FROM incidents WHERE closed = 1 AND closed_ns < ?`,

		selectNotification: `SELECT ` + notificationColumns + ` FROM incident_notifications WHERE incident_id = ?`,
		upsertNotification: `
INSERT INTO incident_notifications (incident_id, channel, root_ts, notified_version, last_update_ns,
	posting_since_ns, timeline_sent, held, group_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (incident_id) DO UPDATE SET channel = excluded.channel, root_ts = excluded.root_ts,
	notified_version = excluded.notified_version, last_update_ns = excluded.last_update_ns,
	posting_since_ns = excluded.posting_since_ns, timeline_sent = excluded.timeline_sent, held = excluded.held,
	group_id = excluded.group_id`,
		groupNotifications: `SELECT ` + notificationColumns + ` FROM incident_notifications WHERE group_id = ? ORDER BY incident_id`,
		pendingNotifications: `
SELECT i.id, coalesce(n.channel, ''), coalesce(n.root_ts, ''), coalesce(n.notified_version, 0),
	n.last_update_ns, n.posting_since_ns, coalesce(n.timeline_sent, 0), coalesce(n.held, 0), coalesce(n.group_id, 0)
FROM incidents i LEFT JOIN incident_notifications n ON n.incident_id = i.id
WHERE n.incident_id IS NULL OR i.version > n.notified_version OR i.noted > n.timeline_sent
	OR EXISTS (SELECT 1 FROM incident_thread_posts p WHERE p.incident_id = i.id AND p.done_ns IS NULL)
ORDER BY i.id`,

		insertThreadPost: `
INSERT INTO incident_thread_posts (incident_id, kind, title, body, code, created_ns) VALUES (?, ?, ?, ?, ?, ?)`,
		pendingThreadPosts: `
SELECT id, incident_id, kind, title, body, code, created_ns FROM incident_thread_posts
WHERE incident_id = ? AND done_ns IS NULL ORDER BY id`,
		allThreadPosts: `
SELECT id, incident_id, kind, title, body, code, created_ns FROM incident_thread_posts
WHERE incident_id = ? ORDER BY id`,
		closedIncidents: `SELECT ` + incidentColumns + ` FROM incidents WHERE closed = 1 AND closed_ns >= ? ORDER BY closed_ns DESC, id DESC LIMIT ?`,
		auditAbout: `
SELECT time_ns, user_id, channel, env, command, target, outcome, duration_ns, via
FROM audit WHERE env = ? AND (target = ? OR target = '') AND time_ns BETWEEN ? AND ?
ORDER BY time_ns, id LIMIT ?`,
		doneThreadPost: `UPDATE incident_thread_posts SET done_ns = ? WHERE id = ? AND done_ns IS NULL`,

		claimDelivery:   `INSERT INTO slack_deliveries (id, seen_ns) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`,
		purgeDeliveries: `DELETE FROM slack_deliveries WHERE seen_ns < ?`,

		acquireDeployLock: `
INSERT INTO deploy_locks (env, token, held_by, command, since_ns, until_ns) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (env) DO UPDATE SET token = excluded.token, held_by = excluded.held_by, command = excluded.command,
	since_ns = excluded.since_ns, until_ns = excluded.until_ns
WHERE deploy_locks.until_ns <= ? OR deploy_locks.token = excluded.token`,
		selectDeployLock:  `SELECT ` + deployLockColumns + ` FROM deploy_locks WHERE env = ?`,
		releaseDeployLock: `DELETE FROM deploy_locks WHERE env = ? AND token = ?`,
		insertDeploy: `
INSERT INTO deploys (env, target, version, previous, image, image_id, digest, outcome, detail, deployed_by, at_ns, took_ns)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id`,
		lastDeploy: `
SELECT ` + deployColumns + ` FROM deploys
WHERE env = ? AND target = ? AND outcome IN (?, ?)
ORDER BY at_ns DESC, id DESC LIMIT 1`,
		purgeDeploys: `
DELETE FROM deploys WHERE at_ns < ? AND EXISTS (
	SELECT 1 FROM deploys n WHERE n.env = deploys.env AND n.target = deploys.target AND n.outcome IN (?, ?)
		AND (n.at_ns > deploys.at_ns OR (n.at_ns = deploys.at_ns AND n.id > deploys.id)))`,
	}
}

// The columns scanIncident and scanNotification read, in order.
const (
	incidentColumns = `id, env, source, target, state, first_ns, last_ns, closed_ns, up_since_ns,
	count, exit_code, oom, reason, detail, failures, timeline, noted, version, ref`
	notificationColumns = `incident_id, channel, root_ts, notified_version, last_update_ns,
	posting_since_ns, timeline_sent, held, group_id`
)
