//go:build integration

package postgres_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"mfbot/adapters/postgres"
	"mfbot/config"
	"mfbot/database"
	"mfbot/freshness"
	"mfbot/testenv"
)

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// open makes a DB from a URL in either form, as ENV_DB_URL would give it.
func open(t testing.TB, rawURL string, opts postgres.Options) *postgres.DB {
	t.Helper()
	cfg, err := config.ParseDatabaseURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	d, err := postgres.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// adminConn is a plain connection as the tables' owner, to set the data up.
func adminConn(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctxFor(t, 10*time.Second), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func exec(t testing.TB, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(ctxFor(t, 30*time.Second), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func queryTime(t testing.TB, conn *pgx.Conn, sql string) time.Time {
	t.Helper()
	var at *time.Time
	if err := conn.QueryRow(ctxFor(t, 10*time.Second), sql).Scan(&at); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if at == nil {
		return time.Time{}
	}
	return at.UTC()
}

func TestStatusOfTheFixture(t *testing.T) {
	mf := testenv.RequireMonitorFishDB(t)
	d := open(t, mf.URL, postgres.Options{})
	st, err := d.Status(ctxFor(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(st.ServerVersion, "15.") || st.Database != "monitorfishdb" {
		t.Errorf("server %q, database %q", st.ServerVersion, st.Database)
	}
	if st.StartedAt.IsZero() || st.StartedAt.After(time.Now()) || st.SizeBytes < 1<<20 || st.MaxConnections < 10 || st.InRecovery {
		t.Errorf("started %s, size %d, max connections %d, in recovery %t", st.StartedAt, st.SizeBytes, st.MaxConnections, st.InRecovery)
	}
	versions := map[string]string{}
	for _, e := range st.Extensions {
		versions[e.Name] = e.Version
	}
	if !strings.HasPrefix(versions["postgis"], "3.") || versions["plpgsql"] == "" {
		t.Errorf("extensions %v, want postgis 3.x and plpgsql", st.Extensions)
	}
	if st.Connections == nil {
		t.Error("Connections is nil")
	}
	want := database.Migration{Version: "0.392", Description: "Update vessel groups table",
		InstalledOn: time.Date(2026, 7, 21, 8, 3, 27, 640_000_000, time.UTC), Success: true}
	if st.LastMigration == nil || st.LastMigration.Version != want.Version || st.LastMigration.Description != want.Description ||
		!st.LastMigration.InstalledOn.Equal(want.InstalledOn) || !st.LastMigration.Success {
		t.Errorf("last migration %+v, want %+v", st.LastMigration, want)
	}
	t.Logf("%s, %s, %d bytes, extensions %v, connections %v, last migration %+v", st.ServerVersion, st.Database, st.SizeBytes, st.Extensions, st.Connections, *st.LastMigration)
}

// A query of another role running for a while shows, with its text (the
// read-only role has pg_read_all_stats), in Activity and as Status.Longest.
func TestActivityAndLongestQuery(t *testing.T) {
	mf := testenv.RequireMonitorFishDB(t)
	d := open(t, mf.URL, postgres.Options{})
	sleeper := adminConn(t, mf.AdminURL)
	var pid int
	if err := sleeper.QueryRow(ctxFor(t, 5*time.Second), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := sleeper.Exec(context.Background(), "SELECT pg_sleep(4) /* mfbot activity test */")
		done <- err
	}()
	t.Cleanup(func() { <-done })
	time.Sleep(1500 * time.Millisecond)

	qs, err := d.Activity(ctxFor(t, 10*time.Second), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(qs, func(q database.Query) bool { return q.PID == pid })
	if i < 0 {
		t.Fatalf("the sleeping session %d is not in %+v", pid, qs)
	}
	q := qs[i]
	if q.User != "mfbot_test" || q.State != "active" || !strings.Contains(q.Text, "mfbot activity test") ||
		q.Duration < time.Second || q.Duration > 5*time.Second || q.WaitEvent != "Timeout:PgSleep" || time.Since(q.Started) < time.Second {
		t.Errorf("query = %+v", q)
	}
	for j := 1; j < len(qs); j++ {
		if qs[j].Duration > qs[j-1].Duration {
			t.Errorf("not longest first: %s then %s", qs[j-1].Duration, qs[j].Duration)
		}
	}
	if qs, err := d.Activity(ctxFor(t, 10*time.Second), time.Hour); err != nil || slices.ContainsFunc(qs, func(q database.Query) bool { return q.PID == pid }) {
		t.Errorf("over 1 h: %+v, %v", qs, err)
	}
	st, err := d.Status(ctxFor(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if st.Longest == nil || st.Longest.Duration < time.Second {
		t.Errorf("longest = %+v, want the 4 s sleep or longer", st.Longest)
	}
	if st.Connections["active"] < 1 {
		t.Errorf("connections %v, want the sleeper active", st.Connections)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil
}

func TestTablesOfTheFixture(t *testing.T) {
	mf := testenv.RequireMonitorFishDB(t)
	admin := adminConn(t, mf.AdminURL)
	exec(t, admin, "DROP TABLE IF EXISTS mfbot_never_analyzed")
	exec(t, admin, "CREATE TABLE mfbot_never_analyzed (id int)")
	t.Cleanup(func() { exec(t, admin, "DROP TABLE IF EXISTS mfbot_never_analyzed") })

	d := open(t, mf.URL, postgres.Options{})
	tables, err := d.Tables(ctxFor(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]database.Table{}
	for i, tb := range tables {
		byName[tb.Schema+"."+tb.Name] = tb
		if i > 0 && tb.TotalBytes > tables[i-1].TotalBytes {
			t.Errorf("not largest first: %s after %s", tb.Name, tables[i-1].Name)
		}
	}
	for _, name := range []string{"positions", "last_positions", "logbook_reports", "vessels", "beacons", "flyway_schema_history"} {
		if _, ok := byName["public."+name]; !ok {
			t.Errorf("%s missing from %+v", name, tables)
		}
	}
	if p := byName["public.positions"]; p.RowEstimate < 3000 || p.RowEstimate > 4000 || p.TotalBytes < 100_000 || p.Hypertable || p.Chunks != 0 {
		t.Errorf("positions = %+v, want about 3,040 rows", p)
	}
	if tables[0].Name != "positions" {
		t.Errorf("largest table %s, want positions", tables[0].Name)
	}
	if n := byName["public.mfbot_never_analyzed"]; n.RowEstimate != -1 {
		t.Errorf("never analyzed: %+v, want row estimate -1", n)
	}
	if _, ok := byName["public.spatial_ref_sys"]; ok {
		t.Error("PostGIS's spatial_ref_sys is listed")
	}
}

// Freshness reads the facts of the fixture: the same as plain SQL over
// the tables gives.
func TestFreshnessOfTheFixture(t *testing.T) {
	mf := testenv.RequireMonitorFishDB(t)
	admin := adminConn(t, mf.AdminURL)
	d := open(t, mf.URL, postgres.Options{})
	f, err := d.Freshness(ctxFor(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if want := factsBySQL(t, admin); f != want {
		t.Errorf("facts\n got %+v\nwant %+v", f, want)
	}
	if f.LastPositionReceived.IsZero() || f.LastPositionUpdated.IsZero() || f.LastLogbookMessage.IsZero() || !f.SuddenDropKnown || f.From != freshness.FromDatabase {
		t.Errorf("facts %+v: all known expected", f)
	}
}

// factsBySQL computes the facts with plain SQL (max, count), not with
// MonitorFish's functions and view.
func factsBySQL(t testing.TB, admin *pgx.Conn) freshness.Facts {
	t.Helper()
	f := freshness.Facts{
		LastPositionReceived: queryTime(t, admin, `SELECT max(date_time) FROM positions
			WHERE date_time < now() AT TIME ZONE 'UTC' AND date_time > now() AT TIME ZONE 'UTC' - INTERVAL '1 month'`),
		LastPositionUpdated: queryTime(t, admin, `SELECT max(last_position_datetime_utc) FROM last_positions
			WHERE last_position_datetime_utc < now() AT TIME ZONE 'UTC'`),
		LastLogbookMessage: queryTime(t, admin, `SELECT max(operation_datetime_utc) FROM logbook_reports
			WHERE operation_datetime_utc < now() AT TIME ZONE 'UTC' AND operation_datetime_utc > now() AT TIME ZONE 'UTC' - INTERVAL '1 month'`),
		SuddenDropKnown: true,
		From:            freshness.FromDatabase,
	}
	err := admin.QueryRow(ctxFor(t, 10*time.Second), `
		SELECT count(*) FILTER (WHERE date_time >= now() AT TIME ZONE 'UTC' - INTERVAL '1 hour')
		       < greatest(800, 0.7 * count(*) / 24.0)
		FROM positions
		WHERE flag_state = 'FR' AND date_time >= now() AT TIME ZONE 'UTC' - INTERVAL '24 hours' AND date_time < now() AT TIME ZONE 'UTC'`).Scan(&f.SuddenDrop)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// The read-only role cannot write, even in a READ WRITE transaction, and
// its sessions default to read-only.
func TestReadOnlyRoleCannotWrite(t *testing.T) {
	mf := testenv.RequireMonitorFishDB(t)
	conn := adminConn(t, mf.URL) // the read-only role's URL
	ctx := ctxFor(t, 10*time.Second)
	var readOnly string
	if err := conn.QueryRow(ctx, "SHOW default_transaction_read_only").Scan(&readOnly); err != nil || readOnly != "on" {
		t.Errorf("default_transaction_read_only = %q, %v", readOnly, err)
	}
	for _, sql := range []string{
		"INSERT INTO vessels (id, vessel_name) VALUES (90001, 'INTRUS')",
		"UPDATE positions SET speed = 0",
		"DELETE FROM last_positions",
		"CREATE TABLE public.intrus (id int)",
	} {
		err := pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{AccessMode: pgx.ReadWrite}, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, sql)
			return err
		})
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("%s as %s: err = %v, want permission denied (42501)", sql, testenv.ReadOnlyRole, err)
		}
	}
}

// The adapter's transactions are READ ONLY whatever the role may do: as
// the tables' owner, a write through the helper is refused by the
// transaction, and nothing is written.
func TestAdapterTransactionIsReadOnly(t *testing.T) {
	mf := testenv.RequireMonitorFishDB(t)
	admin := adminConn(t, mf.AdminURL)
	exec(t, admin, "DELETE FROM vessels WHERE id = 90002")
	d := open(t, mf.AdminURL, postgres.Options{StatementTimeout: 3 * time.Second})
	ctx := ctxFor(t, 10*time.Second)

	var readOnly, timeout string
	err := d.ReadOnly(ctx, "inspect the transaction", func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT current_setting('transaction_read_only'), current_setting('statement_timeout')").Scan(&readOnly, &timeout)
	})
	if err != nil || readOnly != "on" || timeout != "3s" {
		t.Errorf("transaction_read_only %q, statement_timeout %q, err %v: want on, 3s", readOnly, timeout, err)
	}

	for _, sql := range []string{
		"INSERT INTO vessels (id, vessel_name) VALUES (90002, 'INTRUS')",
		"SELECT nextval('position_id_seq')",
		"CREATE TEMP TABLE intrus (id int)",
	} {
		err := d.ReadOnly(ctx, "try to write", func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, sql)
			return err
		})
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "25006" || !errors.Is(err, postgres.ErrQuery) || errors.Is(err, postgres.ErrUnreachable) {
			t.Errorf("%s: err = %v, want read_only_sql_transaction (25006), ErrQuery", sql, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "try to write: query failed on database monitorfishdb at 127.0.0.1:") {
			t.Errorf("err = %q", err)
		}
	}
	var n int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM vessels WHERE id = 90002").Scan(&n); err != nil || n != 0 {
		t.Errorf("the row was written (%d, %v)", n, err)
	}
}

func TestStatementTimeoutCutsSlowQuery(t *testing.T) {
	mf := testenv.RequireMonitorFishDB(t)
	d := open(t, mf.URL, postgres.Options{StatementTimeout: time.Second})
	ctx := ctxFor(t, 20*time.Second)
	start := time.Now()
	err := d.ReadOnly(ctx, "read something slow", func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "SELECT pg_sleep(10)")
		return err
	})
	elapsed := time.Since(start)
	t.Logf("after %s: %v", elapsed.Round(time.Millisecond), err)
	if !errors.Is(err, postgres.ErrStatementTimeout) || !errors.Is(err, postgres.ErrQuery) || errors.Is(err, postgres.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrStatementTimeout", err)
	}
	if elapsed > 3*time.Second {
		t.Errorf("cut after %s, want about 1 s", elapsed)
	}
	want := "read something slow: query cancelled by the statement timeout of 1 s (database monitorfishdb at 127.0.0.1:"
	if !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), mf.Password) {
		t.Errorf("err = %q, want it to start with %q", err, want)
	}
	// The connection is fine afterwards.
	if _, err := d.Status(ctx); err != nil {
		t.Errorf("after the timeout: %v", err)
	}
}

func TestJDBCFormAndPing(t *testing.T) {
	mf := testenv.RequireMonitorFishDB(t)
	d := open(t, mf.JDBC, postgres.Options{})
	version, err := d.Ping(ctxFor(t, 10*time.Second))
	if err != nil || !strings.HasPrefix(version, "15.") {
		t.Errorf("Ping = %q, %v", version, err)
	}
	cfg, _ := config.ParseDatabaseURL(mf.JDBC)
	version, err = postgres.Ping(ctxFor(t, 10*time.Second), cfg.ConnString(), 5*time.Second)
	if err != nil || !strings.HasPrefix(version, "15.") {
		t.Errorf("postgres.Ping = %q, %v", version, err)
	}
}

func TestWrongPasswordIsRefusedWithoutShowingIt(t *testing.T) {
	mf := testenv.RequireMonitorFishDB(t)
	const wrong = "Wr0ng-Passw0rd-xyz"
	d := open(t, strings.Replace(mf.URL, mf.Password, wrong, 1), postgres.Options{})
	_, err := d.Status(ctxFor(t, 10*time.Second))
	t.Log(err)
	if !errors.Is(err, postgres.ErrUnreachable) || !strings.Contains(err.Error(), "the server refused the connection: FATAL: password authentication failed for user \"mfbot_readonly\" (SQLSTATE 28P01)") {
		t.Errorf("err = %v", err)
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), mf.Password) {
		t.Errorf("a password is in %q", err)
	}
}

// Stopping the server (a private one): every call fails within the
// connect timeout, says the database is unreachable and never shows the
// password; started again, the same DB works at once.
func TestServerStoppedThenStarted(t *testing.T) {
	pg := testenv.StartPostgreSQL(t)
	const connectTimeout = 2 * time.Second
	d := open(t, pg.URL, postgres.Options{ConnectTimeout: connectTimeout})
	ctx := context.Background()
	// Two pooled connections, idle: they die with the server.
	for range 2 {
		if _, err := d.Status(ctx); err != nil {
			t.Fatal(err)
		}
	}
	pg.Stop()
	for _, call := range []struct {
		op string
		f  func() error
	}{
		{"read the database status", func() error { _, err := d.Status(ctx); return err }},
		{"read the data freshness", func() error { _, err := d.Freshness(ctx); return err }},
		{"list the tables", func() error { _, err := d.Tables(ctx); return err }},
		{"list the running queries", func() error { _, err := d.Activity(ctx, 0); return err }},
	} {
		start := time.Now()
		err := call.f()
		elapsed := time.Since(start)
		t.Logf("%s after %s: %v", call.op, elapsed.Round(time.Millisecond), err)
		if !errors.Is(err, postgres.ErrUnreachable) {
			t.Errorf("%s: err = %v, want ErrUnreachable", call.op, err)
			continue
		}
		if elapsed > connectTimeout+2*time.Second {
			t.Errorf("%s: failed after %s, want < connect timeout + 2 s", call.op, elapsed)
		}
		want := call.op + ": database monitorfishdb at 127.0.0.1:" + strconv.Itoa(pg.Port) + " is unreachable: "
		if !strings.HasPrefix(err.Error(), want) {
			t.Errorf("err = %q, want it to start with %q", err, want)
		}
		if strings.Contains(err.Error(), pg.Password) {
			t.Errorf("the password is in %q", err)
		}
	}

	pg.Start()
	f, err := d.Freshness(ctx)
	if err != nil {
		t.Fatalf("after Start: %v", err)
	}
	if f.LastPositionReceived.IsZero() || !f.SuddenDropKnown || f.SuddenDrop {
		t.Errorf("after Start: %+v", f)
	}
	// Stop and start again quickly, connections idle for less than the
	// pool's ping threshold: the dead connection is retried once.
	if _, err := d.Status(ctx); err != nil {
		t.Fatal(err)
	}
	pg.Stop()
	pg.Start()
	if _, err := d.Status(ctx); err != nil {
		t.Errorf("right after a restart: %v", err)
	}
}

// Freshness follows the data (a private cluster: the data is changed).
func TestFreshnessFollowsTheData(t *testing.T) {
	pg := testenv.StartPostgreSQL(t)
	admin := adminConn(t, pg.AdminURL)
	d := open(t, pg.URL, postgres.Options{})
	ctx := ctxFor(t, time.Minute)
	check := func(what string, want freshness.Facts) {
		t.Helper()
		got, err := d.Freshness(ctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got != want {
			t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
		}
	}

	// The fixture: fresh, no sudden drop.
	want := factsBySQL(t, admin)
	if age := time.Since(want.LastPositionReceived); age < 20*time.Second || age > 2*time.Minute || want.SuddenDrop {
		t.Fatalf("fixture facts %+v (newest position %s old)", want, age)
	}
	check("fixture", want)

	// New data: the newest of each.
	var received, updated, logbook time.Time
	if err := admin.QueryRow(ctx, `INSERT INTO positions (internal_reference_number, flag_state, latitude, longitude, date_time)
		VALUES ('FRA000001001', 'FR', 47.8, -4.3, date_trunc('milliseconds', now() AT TIME ZONE 'UTC') - INTERVAL '2 seconds')
		RETURNING date_time`).Scan(&received); err != nil {
		t.Fatal(err)
	}
	if err := admin.QueryRow(ctx, `UPDATE last_positions SET last_position_datetime_utc = date_trunc('milliseconds', now() AT TIME ZONE 'UTC') - INTERVAL '3 seconds'
		WHERE id = (SELECT min(id) FROM last_positions) RETURNING last_position_datetime_utc`).Scan(&updated); err != nil {
		t.Fatal(err)
	}
	if err := admin.QueryRow(ctx, `INSERT INTO logbook_reports (operation_datetime_utc, cfr, log_type)
		VALUES (date_trunc('milliseconds', now() AT TIME ZONE 'UTC') - INTERVAL '4 seconds', 'FRA000001001', 'FAR')
		RETURNING operation_datetime_utc`).Scan(&logbook); err != nil {
		t.Fatal(err)
	}
	want = freshness.Facts{LastPositionReceived: received.UTC(), LastPositionUpdated: updated.UTC(), LastLogbookMessage: logbook.UTC(),
		SuddenDropKnown: true, From: freshness.FromDatabase}
	check("after new data", want)

	// A position in the future (a clock off on a beacon) is not the last.
	exec(t, admin, `INSERT INTO positions (internal_reference_number, flag_state, latitude, longitude, date_time)
		VALUES ('FRA000001002', 'FR', 47.8, -4.3, now() AT TIME ZONE 'UTC' + INTERVAL '1 hour')`)
	check("with a position in the future", want)

	// Positions stop: everything two hours old, the last hour empty.
	exec(t, admin, "UPDATE positions SET date_time = date_time - INTERVAL '2 hours' WHERE date_time < now() AT TIME ZONE 'UTC'")
	exec(t, admin, "UPDATE last_positions SET last_position_datetime_utc = last_position_datetime_utc - INTERVAL '2 hours'")
	want.LastPositionReceived = want.LastPositionReceived.Add(-2 * time.Hour)
	want.LastPositionUpdated = want.LastPositionUpdated.Add(-2 * time.Hour)
	want.SuddenDrop = true
	check("positions stopped", want)

	// Nothing in the last month: unknown (zero), as MonitorFish's functions say.
	exec(t, admin, "DELETE FROM last_positions")
	exec(t, admin, "UPDATE logbook_reports SET operation_datetime_utc = operation_datetime_utc - INTERVAL '40 days'")
	want.LastPositionUpdated, want.LastLogbookMessage = time.Time{}, time.Time{}
	check("no last positions, old logbook", want)

	// An older MonitorFish, without the functions (bodies inlined) and
	// without the view (sudden drop unknown).
	pg.Exec("DROP FUNCTION find_last_datetime_in_positions_table(); DROP FUNCTION find_last_operation_datetime(); DROP VIEW recent_positions_metrics;")
	want.SuddenDrop, want.SuddenDropKnown = false, false
	check("without MonitorFish's functions and view", want)
}

// TimescaleDB cannot be installed here: its catalog is imitated (the
// hypertables view, approximate_row_count, hypertable_size, chunks in
// _timescaledb_internal) in a private cluster, to run the TimescaleDB
// variant of Tables' query against PostgreSQL for real.
func TestTablesWithImitatedTimescaleDB(t *testing.T) {
	pg := testenv.StartPostgreSQL(t)
	pg.Exec(`
CREATE SCHEMA _timescaledb_internal;
ALTER SCHEMA _timescaledb_internal OWNER TO mfbot_test;
CREATE SCHEMA timescaledb_information;
CREATE SCHEMA ts;
SET ROLE mfbot_test;
CREATE TABLE _timescaledb_internal._hyper_1_1_chunk () INHERITS (positions);
CREATE TABLE _timescaledb_internal._hyper_1_2_chunk () INHERITS (positions);
INSERT INTO _timescaledb_internal._hyper_1_1_chunk (latitude, longitude, date_time) SELECT 47, -4, now() - g * INTERVAL '1 minute' FROM generate_series(1, 20000) g;
INSERT INTO _timescaledb_internal._hyper_1_2_chunk (latitude, longitude, date_time) SELECT 47, -4, now() - g * INTERVAL '1 minute' FROM generate_series(1, 30000) g;
ANALYZE _timescaledb_internal._hyper_1_1_chunk, _timescaledb_internal._hyper_1_2_chunk;
RESET ROLE;
CREATE VIEW timescaledb_information.hypertables AS
    SELECT 'public'::name AS hypertable_schema, 'positions'::name AS hypertable_name, 2::bigint AS num_chunks;
CREATE FUNCTION ts.approximate_row_count(relation regclass) RETURNS bigint LANGUAGE sql AS $$
    SELECT (greatest(p.reltuples, 0) + (SELECT coalesce(sum(greatest(c.reltuples, 0)), 0) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = relation))::bigint
    FROM pg_class p WHERE p.oid = relation $$;
CREATE FUNCTION ts.hypertable_size(hypertable regclass) RETURNS bigint LANGUAGE sql AS $$
    SELECT pg_total_relation_size(hypertable) + (SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0) FROM pg_inherits i WHERE i.inhparent = hypertable)::bigint $$;
CREATE FUNCTION ts.hypertable_approximate_size(hypertable regclass) RETURNS bigint LANGUAGE sql AS $$ SELECT ts.hypertable_size(hypertable) + 1 $$;
GRANT USAGE ON SCHEMA timescaledb_information, ts TO mfbot_readonly;
GRANT SELECT ON timescaledb_information.hypertables TO mfbot_readonly;
`)
	d := open(t, pg.URL, postgres.Options{})
	ctx := ctxFor(t, 30*time.Second)
	for _, approx := range []bool{false, true} {
		tables, err := d.TablesAs(ctx, true, "ts", approx)
		if err != nil {
			t.Fatal(err)
		}
		var positions database.Table
		for i, tb := range tables {
			if strings.HasPrefix(tb.Schema, "_timescaledb") || strings.HasPrefix(tb.Name, "_hyper_") {
				t.Errorf("chunk listed: %+v", tb)
			}
			if tb.Name == "positions" {
				positions = tb
			}
			if i > 0 && tb.TotalBytes > tables[i-1].TotalBytes {
				t.Errorf("not largest first: %s after %s", tb.Name, tables[i-1].Name)
			}
		}
		var plainSize, chunksSize int64
		if err := adminConn(t, pg.AdminURL).QueryRow(ctx, `SELECT pg_total_relation_size('positions'),
			pg_total_relation_size('_timescaledb_internal._hyper_1_1_chunk') + pg_total_relation_size('_timescaledb_internal._hyper_1_2_chunk')`).Scan(&plainSize, &chunksSize); err != nil {
			t.Fatal(err)
		}
		wantSize := plainSize + chunksSize
		if approx {
			wantSize++
		}
		if !positions.Hypertable || positions.Chunks != 2 || positions.RowEstimate < 53000 || positions.RowEstimate > 53100 || positions.TotalBytes != wantSize {
			t.Errorf("approximate size %t: positions = %+v, want a hypertable of 2 chunks, about 53,040 rows, %d bytes", approx, positions, wantSize)
		}
		if tables[0].Name != "positions" {
			t.Errorf("largest %s, want positions", tables[0].Name)
		}
	}
	// Without TimescaleDB (the real detection: no such extension), the
	// chunks' schema is still hidden and positions is a plain table.
	tables, err := d.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if tb.Hypertable || strings.HasPrefix(tb.Schema, "_timescaledb") {
			t.Errorf("plain query: %+v", tb)
		}
	}
}
