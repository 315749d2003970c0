package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"mfbot/database"
	"mfbot/freshness"
)

// maxActivity caps the rows of Activity.
const maxActivity = 100

const statusSQL = `
SELECT current_setting('server_version'),
       current_database(),
       pg_postmaster_start_time(),
       pg_database_size(current_database()),
       current_setting('max_connections')::int,
       pg_is_in_recovery()`

const extensionsSQL = `SELECT extname::text, extversion FROM pg_extension ORDER BY extname`

// connectionsSQL counts the client backends of this database by state,
// ours excluded. Without pg_read_all_stats the state of other roles'
// sessions is hidden: they count as "unknown".
const connectionsSQL = `
SELECT coalesce(state, 'unknown'), count(*)::int
FROM pg_stat_activity
WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
GROUP BY 1`

// activitySQL lists the non-idle sessions of other backends of this
// database, running (active) or holding a transaction (idle in
// transaction) for longer than $1 seconds, longest first, at most $2.
const activitySQL = `
SELECT pid, coalesce(usename::text, ''), coalesce(application_name, ''), state,
       coalesce(wait_event_type || ':' || wait_event, ''),
       started, extract(epoch FROM clock_timestamp() - started)::float8,
       coalesce(query, '')
FROM (
    SELECT *, CASE WHEN state = 'active' THEN query_start ELSE coalesce(xact_start, query_start) END AS started
    FROM pg_stat_activity
    WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
      AND state IS NOT NULL AND state <> 'idle'
) a
WHERE started IS NOT NULL AND clock_timestamp() - started > make_interval(secs => $1)
ORDER BY started
LIMIT $2`

// migrationSQL reads Flyway's newest migration; flywayExistsSQL first
// tells whether the table is there (a database not managed by Flyway).
const (
	flywayExistsSQL = `SELECT to_regclass('flyway_schema_history') IS NOT NULL`
	migrationSQL    = `
SELECT coalesce(version, ''), description, installed_on, success
FROM flyway_schema_history
ORDER BY installed_rank DESC
LIMIT 1`
)

// Status reads the server's version and start, the database's size,
// extensions, connections by state, the longest running query of another
// session and the last Flyway migration.
func (d *DB) Status(ctx context.Context) (database.Status, error) {
	var st database.Status
	err := d.readOnly(ctx, "read the database status", func(ctx context.Context, tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, statusSQL).Scan(&st.ServerVersion, &st.Database, &st.StartedAt, &st.SizeBytes, &st.MaxConnections, &st.InRecovery); err != nil {
			return err
		}
		exts, err := pgx.CollectRows(mustQuery(ctx, tx, extensionsSQL), pgx.RowToStructByPos[database.Extension])
		if err != nil {
			return err
		}
		st.Extensions = exts
		st.Connections = map[string]int{}
		rows, _ := tx.Query(ctx, connectionsSQL)
		var state string
		var n int
		if _, err := pgx.ForEachRow(rows, []any{&state, &n}, func() error {
			st.Connections[state] = n
			return nil
		}); err != nil {
			return err
		}
		longest, err := activity(ctx, tx, 0, 1)
		if err != nil {
			return err
		}
		if len(longest) > 0 {
			st.Longest = &longest[0]
		}
		st.LastMigration, err = lastMigration(ctx, tx)
		return err
	})
	return st, err
}

func lastMigration(ctx context.Context, tx pgx.Tx) (*database.Migration, error) {
	var exists bool
	if err := tx.QueryRow(ctx, flywayExistsSQL).Scan(&exists); err != nil || !exists {
		return nil, err
	}
	var m database.Migration
	err := tx.QueryRow(ctx, migrationSQL).Scan(&m.Version, &m.Description, &m.InstalledOn, &m.Success)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// Activity lists the queries of other sessions of this database that are
// not idle and have been running (or holding their transaction open) for
// longer than over, longest first, at most 100. Texts are raw.
func (d *DB) Activity(ctx context.Context, over time.Duration) ([]database.Query, error) {
	var out []database.Query
	err := d.readOnly(ctx, "list the running queries", func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = activity(ctx, tx, over, maxActivity)
		return err
	})
	return out, err
}

func activity(ctx context.Context, tx pgx.Tx, over time.Duration, limit int) ([]database.Query, error) {
	rows, _ := tx.Query(ctx, activitySQL, max(over.Seconds(), 0), limit)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (database.Query, error) {
		var q database.Query
		var seconds float64
		err := row.Scan(&q.PID, &q.User, &q.Application, &q.State, &q.WaitEvent, &q.Started, &seconds, &q.Text)
		q.Duration = time.Duration(seconds * float64(time.Second)).Round(time.Millisecond)
		return q, err
	})
}

// Tables lists the tables of the non-system schemas with their row
// estimates and total sizes, largest first. With TimescaleDB, a hypertable
// is one row counting its chunks, and the chunks are not listed.
func (d *DB) Tables(ctx context.Context) ([]database.Table, error) {
	var out []database.Table
	err := d.readOnly(ctx, "list the tables", func(ctx context.Context, tx pgx.Tx) error {
		ts, err := timescaleOf(ctx, tx)
		if err != nil {
			return err
		}
		out, err = tables(ctx, tx, ts)
		return err
	})
	return out, err
}

// timescale is what Tables needs to know of an installed TimescaleDB.
type timescale struct {
	Installed bool
	Schema    string // of its functions (hypertable_size ...)
	// ApproximateSize: hypertable_approximate_size exists (2.14+), cheaper
	// than hypertable_size on many chunks.
	ApproximateSize bool
}

const timescaleSQL = `
SELECT n.nspname::text,
       to_regprocedure(quote_ident(n.nspname) || '.hypertable_approximate_size(regclass)') IS NOT NULL
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'timescaledb'`

func timescaleOf(ctx context.Context, tx pgx.Tx) (timescale, error) {
	ts := timescale{Installed: true}
	err := tx.QueryRow(ctx, timescaleSQL).Scan(&ts.Schema, &ts.ApproximateSize)
	if errors.Is(err, pgx.ErrNoRows) {
		return timescale{}, nil
	}
	return ts, err
}

// The tables of user schemas. Extension members (PostGIS's
// spatial_ref_sys ...) and TimescaleDB's own schemas (chunks live in
// _timescaledb_internal) are left out.
const tablesFromWhere = `
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
  AND n.nspname NOT LIKE '\_timescaledb%' AND n.nspname NOT LIKE 'timescaledb\_%'
  AND NOT EXISTS (SELECT FROM pg_depend dep
                  WHERE dep.classid = 'pg_class'::regclass AND dep.objid = c.oid AND dep.deptype = 'e')`

// plainTablesSQL: reltuples is -1 for a table never analyzed (or
// vacuumed). A partitioned table is summed over its leaf partitions.
const plainTablesSQL = `
SELECT n.nspname::text, c.relname::text,
       CASE WHEN c.relkind = 'p' THEN
                (SELECT coalesce(sum(greatest(pc.reltuples, 0)), 0)::bigint FROM pg_partition_tree(c.oid) pt JOIN pg_class pc ON pc.oid = pt.relid WHERE pt.isleaf)
            ELSE c.reltuples::bigint END AS row_estimate,
       CASE WHEN c.relkind = 'p' THEN
                (SELECT coalesce(sum(pg_total_relation_size(pt.relid)), 0)::bigint FROM pg_partition_tree(c.oid) pt)
            ELSE pg_total_relation_size(c.oid) END AS total_bytes,
       false AS hypertable, 0 AS chunks` + tablesFromWhere + `
ORDER BY total_bytes DESC, 1, 2`

// timescaleTablesSQL is plainTablesSQL where hypertables are counted with
// their chunks through TimescaleDB's own functions. %[1]s is the quoted
// schema of the extension's functions, %[2]s the size function.
const timescaleTablesSQL = `
WITH ht AS (
    SELECT format('%%I.%%I', h.hypertable_schema, h.hypertable_name)::regclass AS oid, h.num_chunks
    FROM timescaledb_information.hypertables h
)
SELECT n.nspname::text, c.relname::text,
       CASE WHEN ht.oid IS NOT NULL THEN %[1]s.approximate_row_count(c.oid)::bigint
            WHEN c.relkind = 'p' THEN
                (SELECT coalesce(sum(greatest(pc.reltuples, 0)), 0)::bigint FROM pg_partition_tree(c.oid) pt JOIN pg_class pc ON pc.oid = pt.relid WHERE pt.isleaf)
            ELSE c.reltuples::bigint END AS row_estimate,
       CASE WHEN ht.oid IS NOT NULL THEN coalesce(%[1]s.%[2]s(c.oid), 0)::bigint
            WHEN c.relkind = 'p' THEN
                (SELECT coalesce(sum(pg_total_relation_size(pt.relid)), 0)::bigint FROM pg_partition_tree(c.oid) pt)
            ELSE pg_total_relation_size(c.oid) END AS total_bytes,
       ht.oid IS NOT NULL AS hypertable, coalesce(ht.num_chunks, 0)::int AS chunks
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN ht ON ht.oid = c.oid
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%%' AND n.nspname NOT LIKE 'pg\_temp\_%%'
  AND n.nspname NOT LIKE '\_timescaledb%%' AND n.nspname NOT LIKE 'timescaledb\_%%'
  AND NOT EXISTS (SELECT FROM pg_depend dep
                  WHERE dep.classid = 'pg_class'::regclass AND dep.objid = c.oid AND dep.deptype = 'e')
ORDER BY total_bytes DESC, 1, 2`

// tablesSQL is the fixed query for a database with or without TimescaleDB.
// The only variable part, the extension's schema, comes from pg_extension
// and is quoted as an identifier.
func tablesSQL(ts timescale) string {
	if !ts.Installed {
		return plainTablesSQL
	}
	size := "hypertable_size"
	if ts.ApproximateSize {
		size = "hypertable_approximate_size"
	}
	return fmt.Sprintf(timescaleTablesSQL, pgx.Identifier{ts.Schema}.Sanitize(), size)
}

func tables(ctx context.Context, tx pgx.Tx, ts timescale) ([]database.Table, error) {
	rows, _ := tx.Query(ctx, tablesSQL(ts))
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (database.Table, error) {
		var t database.Table
		err := row.Scan(&t.Schema, &t.Name, &t.RowEstimate, &t.TotalBytes, &t.Hypertable, &t.Chunks)
		if t.RowEstimate < 0 {
			t.RowEstimate = -1
		}
		return t, err
	})
}

// freshnessProbeSQL says which of MonitorFish's freshness functions and
// view exist: a database older than MonitorFish's migrations V0.316/V0.317
// has the view but not the functions.
const freshnessProbeSQL = `
SELECT to_regprocedure('find_last_datetime_in_positions_table()') IS NOT NULL,
       to_regprocedure('find_last_operation_datetime()') IS NOT NULL,
       to_regclass('recent_positions_metrics') IS NOT NULL`

// The facts, each read as MonitorFish's GetHealthcheck use case reads it:
//   - dateLastPositionReceivedByAPI: DBPositionRepository.findLastPositionDateTime,
//     `select find_last_datetime_in_positions_table()` (V0.316: newest
//     date_time of the last month, before now, through the date_time index);
//   - dateLastPositionUpdatedByPrefect: DBLastPositionRepository.findLastPositionDateTime
//     (last_positions is one row per vessel);
//   - dateLogbookMessageReceived: DBLogbookReportRepository.findLastOperationDateTime,
//     `select find_last_operation_datetime()` (V0.317);
//   - suddenDropOfPositionsReceived: DBRecentPositionsMetricsRepository,
//     `SELECT sudden_drop_of_positions_received FROM recent_positions_metrics WHERE id = 1`
//     (V0.237: counts the last 24 h of positions by the date_time index).
//
// Without the functions, their bodies are inlined. Times are UTC
// (timestamp without time zone holding UTC, as MonitorFish stores them).
const (
	lastPositionReceivedFunc   = `find_last_datetime_in_positions_table()`
	lastPositionReceivedInline = `(SELECT date_time FROM positions
      WHERE date_time > now() AT TIME ZONE 'UTC' - INTERVAL '1 month' AND date_time < now() AT TIME ZONE 'UTC'
      ORDER BY date_time DESC LIMIT 1)`
	lastPositionUpdated = `(SELECT last_position_datetime_utc FROM last_positions
      WHERE last_position_datetime_utc < now() AT TIME ZONE 'UTC'
      ORDER BY last_position_datetime_utc DESC LIMIT 1)`
	lastLogbookFunc   = `find_last_operation_datetime()`
	lastLogbookInline = `(SELECT operation_datetime_utc FROM logbook_reports
      WHERE operation_datetime_utc > now() AT TIME ZONE 'UTC' - INTERVAL '1 month' AND operation_datetime_utc < now() AT TIME ZONE 'UTC'
      ORDER BY operation_datetime_utc DESC LIMIT 1)`
	suddenDrop        = `(SELECT sudden_drop_of_positions_received FROM recent_positions_metrics WHERE id = 1)`
	suddenDropUnknown = `NULL::boolean`
)

// freshnessSQL is the one fixed query for what the database has.
func freshnessSQL(positionsFunc, logbookFunc, metricsView bool) string {
	p, l, s := lastPositionReceivedInline, lastLogbookInline, suddenDropUnknown
	if positionsFunc {
		p = lastPositionReceivedFunc
	}
	if logbookFunc {
		l = lastLogbookFunc
	}
	if metricsView {
		s = suddenDrop
	}
	return "SELECT " + p + ",\n  " + lastPositionUpdated + ",\n  " + l + ",\n  " + s
}

// Freshness reads the facts MonitorFish's healthcheck reports, from the
// database, with MonitorFish's own functions, table and view. An unknown
// time (no row in the last month) is the zero time; SuddenDropKnown is
// false when the view is missing or says nothing.
func (d *DB) Freshness(ctx context.Context) (freshness.Facts, error) {
	f := freshness.Facts{From: freshness.FromDatabase}
	err := d.readOnly(ctx, "read the data freshness", func(ctx context.Context, tx pgx.Tx) error {
		var positionsFunc, logbookFunc, metricsView bool
		if err := tx.QueryRow(ctx, freshnessProbeSQL).Scan(&positionsFunc, &logbookFunc, &metricsView); err != nil {
			return err
		}
		var received, updated, logbook *time.Time
		var drop *bool
		if err := tx.QueryRow(ctx, freshnessSQL(positionsFunc, logbookFunc, metricsView)).Scan(&received, &updated, &logbook, &drop); err != nil {
			return err
		}
		f.LastPositionReceived = utc(received)
		f.LastPositionUpdated = utc(updated)
		f.LastLogbookMessage = utc(logbook)
		if drop != nil {
			f.SuddenDrop, f.SuddenDropKnown = *drop, true
		}
		return nil
	})
	return f, err
}

func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// mustQuery runs a query whose error CollectRows reports.
func mustQuery(ctx context.Context, tx pgx.Tx, sql string, args ...any) pgx.Rows {
	rows, _ := tx.Query(ctx, sql, args...)
	return rows
}
