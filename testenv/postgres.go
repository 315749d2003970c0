package testenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The roles of the MonitorFish-shaped test databases, in the shared
// cluster (testenv/up.sh) and in private ones (StartPostgreSQL).
const (
	// ReadOnlyRole is the role mfbot should use (fixtures/readonly-role.sql).
	ReadOnlyRole = "mfbot_readonly"
	// ReadOnlyPassword is its password: distinctive, so that tests can
	// assert it never shows in an error, a log or a message.
	ReadOnlyPassword = "mfbot-ro-S3cr3t"
	// OwnerRole owns the tables (and has CREATEDB in the shared cluster).
	OwnerRole     = "mfbot_test"
	ownerPassword = "mfbot_test"
	// MonitorFishDBName is the database's name, as in production.
	MonitorFishDBName = "monitorfishdb"
)

// MonitorFishDB locates a MonitorFish-shaped database: the schema, the
// freshness functions and view, a few vessels with fresh positions (see
// testenv/fixtures/monitorfishdb.sql).
type MonitorFishDB struct {
	// URL is mfbot's read-only role, postgres:// form (an ENV_DB_URL).
	URL string
	// JDBC is the same in the JDBC form MonitorFish's app uses
	// (jdbc:postgresql://host:port/monitorfishdb?user=…&password=…).
	JDBC string
	// AdminURL is the owner of the tables, for tests that change data
	// (make positions stale or fresh ...). Never give it to mfbot.
	AdminURL string
	// Password is the read-only role's password (ReadOnlyPassword).
	Password string
}

// RequireMonitorFishDB returns the shared monitorfishdb that testenv/up.sh
// creates (MFBOT_TEST_MONITORFISHDB_* in testenv/.state/env). Like
// Require, it fails the test, never skips it, when the stack or one of
// the variables is missing. Tests may change its data but must not stop
// its server: other packages use it. Stop a private one instead
// (StartPostgreSQL).
func RequireMonitorFishDB(t testing.TB) MonitorFishDB {
	t.Helper()
	if os.Getenv("MFBOT_TEST_STACK") != "1" {
		t.Fatal("the integration tests need the test stack: run `bash testenv/test.sh` (or `bash testenv/up.sh && source testenv/.state/env`)")
	}
	db := MonitorFishDB{
		URL:      os.Getenv("MFBOT_TEST_MONITORFISHDB_URL"),
		JDBC:     os.Getenv("MFBOT_TEST_MONITORFISHDB_JDBC"),
		AdminURL: os.Getenv("MFBOT_TEST_MONITORFISHDB_ADMIN_URL"),
		Password: ReadOnlyPassword,
	}
	if db.URL == "" || db.JDBC == "" || db.AdminURL == "" {
		t.Fatal("MFBOT_TEST_MONITORFISHDB_URL, _JDBC or _ADMIN_URL is not set: run `bash testenv/up.sh` again and `source testenv/.state/env`")
	}
	return db
}

// PostgreSQL is a private PostgreSQL 15 cluster for one test, holding a
// monitorfishdb loaded from testenv/fixtures (the same as the shared one)
// and the read-only role. It is the one to stop and start in tests of
// "database down → incident → database back → recovered": the shared
// cluster serves other packages.
//
//	pg := testenv.StartPostgreSQL(t)
//	db, _ := config.ParseDatabaseURL(pg.JDBC) // or pg.URL
//	...
//	pg.Stop()  // connections are cut, the port refuses new ones
//	...
//	pg.Start() // same port, same data
//
// Stop and Start fail the test on error: call them from the test's
// goroutine. The cluster is stopped and its files removed when the test
// ends (t.Cleanup). It listens on a free port of 127.0.0.1 (password
// authentication, scram-sha-256) and on a unix socket in its directory.
// Needs /usr/lib/postgresql/15/bin (Debian's postgresql-15) and PostGIS
// (postgresql-15-postgis-3), both installed by testenv/up.sh; run as root,
// it runs the server as the postgres user.
type PostgreSQL struct {
	MonitorFishDB
	Host string // 127.0.0.1
	Port int
	Dir  string // data in Dir/data, log in Dir/postgresql.log, socket in Dir

	t       testing.TB
	asUser  string // "postgres" when the test runs as root, else ""
	running bool
}

// PostgreSQLBin is where Debian puts PostgreSQL 15's server programs.
const PostgreSQLBin = "/usr/lib/postgresql/15/bin"

// StartPostgreSQL creates, starts and loads a private cluster (about 2 s).
func StartPostgreSQL(t testing.TB) *PostgreSQL {
	t.Helper()
	if _, err := os.Stat(filepath.Join(PostgreSQLBin, "initdb")); err != nil {
		t.Fatalf("PostgreSQL 15 is not installed (%v): run `bash testenv/up.sh`", err)
	}
	p := &PostgreSQL{t: t, Host: "127.0.0.1"}
	dir, err := os.MkdirTemp("", "mfbot-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p.Dir = dir
	t.Cleanup(p.cleanup)
	if os.Geteuid() == 0 {
		// initdb refuses to run as root: the cluster belongs to postgres.
		p.asUser = "postgres"
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	p.Port = pgFreePort(t)

	p.run("initdb", filepath.Join(PostgreSQLBin, "initdb"), "-D", p.dataDir(), "-U", "postgres",
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions")
	p.Start()

	p.psql("postgres", "",
		"-c", fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", OwnerRole, ownerPassword),
		"-c", fmt.Sprintf("CREATE DATABASE %s OWNER %s", MonitorFishDBName, OwnerRole))
	fixture := readFixture(t, "monitorfishdb.sql")
	role := readFixture(t, "readonly-role.sql")
	p.psql(MonitorFishDBName,
		"CREATE EXTENSION postgis;\nSET ROLE "+OwnerRole+";\n"+fixture+"\nRESET ROLE;\n"+role,
		"-v", "password="+ReadOnlyPassword, "-v", "owner="+OwnerRole, "-f", "-")

	hostPort := net.JoinHostPort(p.Host, strconv.Itoa(p.Port))
	p.MonitorFishDB = MonitorFishDB{
		URL:      fmt.Sprintf("postgres://%s:%s@%s/%s", ReadOnlyRole, ReadOnlyPassword, hostPort, MonitorFishDBName),
		JDBC:     fmt.Sprintf("jdbc:postgresql://%s/%s?user=%s&password=%s", hostPort, MonitorFishDBName, ReadOnlyRole, ReadOnlyPassword),
		AdminURL: fmt.Sprintf("postgres://%s:%s@%s/%s", OwnerRole, ownerPassword, hostPort, MonitorFishDBName),
		Password: ReadOnlyPassword,
	}
	return p
}

// Stop stops the server (pg_ctl stop -m fast: sessions are terminated)
// and waits until it is down: connections to Port are then refused.
func (p *PostgreSQL) Stop() {
	p.t.Helper()
	p.run("pg_ctl stop", filepath.Join(PostgreSQLBin, "pg_ctl"), "-D", p.dataDir(), "-m", "fast", "-w", "-t", "60", "stop")
	p.running = false
}

// Start starts the server again (or the first time) on the same port
// with the same data, and waits until it accepts connections.
func (p *PostgreSQL) Start() {
	p.t.Helper()
	opts := strings.Join([]string{
		"-p", strconv.Itoa(p.Port), "-k", p.Dir, "-c", "listen_addresses=" + p.Host,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=30", "-c", "shared_buffers=32MB", "-c", "timezone=UTC",
	}, " ")
	p.run("pg_ctl start", filepath.Join(PostgreSQLBin, "pg_ctl"), "-D", p.dataDir(), "-l", filepath.Join(p.Dir, "postgresql.log"),
		"-w", "-t", "60", "-o", opts, "start")
	p.running = true
}

// Running tells whether the server was last started (not stopped).
func (p *PostgreSQL) Running() bool { return p.running }

// Exec runs SQL as the superuser in monitorfishdb (psql, through the unix
// socket): for what the owner may not do (terminate sessions ...).
func (p *PostgreSQL) Exec(sql string) {
	p.t.Helper()
	p.psql(MonitorFishDBName, sql, "-f", "-")
}

func (p *PostgreSQL) dataDir() string { return filepath.Join(p.Dir, "data") }

func (p *PostgreSQL) cleanup() {
	if _, err := os.Stat(filepath.Join(p.dataDir(), "postmaster.pid")); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := p.command(ctx, filepath.Join(PostgreSQLBin, "pg_ctl"), "-D", p.dataDir(), "-m", "immediate", "-w", "-t", "30", "stop")
		if out, err := cmd.CombinedOutput(); err != nil {
			p.t.Logf("stopping the private PostgreSQL in %s: %v\n%s", p.Dir, err, out)
		}
	}
	if err := os.RemoveAll(p.Dir); err != nil {
		p.t.Logf("removing %s: %v", p.Dir, err)
	}
}

// command runs a program as the cluster's owner, in its directory.
func (p *PostgreSQL) command(ctx context.Context, prog string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if p.asUser != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", p.asUser, "--", prog}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, prog, args...)
	}
	cmd.Dir = p.Dir
	// pg_ctl start leaves the server running: it writes to its -l log, but
	// never wait long for pipes a child could hold.
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

func (p *PostgreSQL) run(what, prog string, args ...string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := p.command(ctx, prog, args...).CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(p.Dir, "postgresql.log"))
		p.t.Fatalf("private PostgreSQL: %s: %v\n%s\n--- postgresql.log:\n%s", what, err, out, pgLogTail(string(log), 30))
	}
}

// psql runs psql as the superuser through the unix socket, stdin as input.
func (p *PostgreSQL) psql(db, stdin string, args ...string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	full := append([]string{"-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", p.Dir, "-p", strconv.Itoa(p.Port), "-U", "postgres", "-d", db}, args...)
	cmd := p.command(ctx, "psql", full...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("private PostgreSQL: psql %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func pgFreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// FixturePath is the path of a file of testenv/fixtures.
func FixturePath(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "fixtures", name)
}

func readFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(FixturePath(name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func pgLogTail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// BenchDBName is the database of the 1,000,000-position benchmarks.
const BenchDBName = "monitorfishdb_bench"

// BenchMonitorFishDB returns a MonitorFish-shaped database with the given
// number of positions (1,000,000 for the targets of PRODUCT.md §9) in the
// shared cluster: monitorfishdb_bench, cloned from the template that
// up.sh loads (monitorfishdb_template) and filled on the first call.
// Later calls reuse it while its newest position is less than 6 hours
// old, and fill it again otherwise (about 20 s), so that the freshness
// queries scan what they scan in production: one month of positions of
// 4,000 vessels, the newest a few seconds old when filled.
func BenchMonitorFishDB(tb testing.TB, positions int) MonitorFishDB {
	tb.Helper()
	shared := RequireMonitorFishDB(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bench := MonitorFishDB{
		URL:      withDatabase(tb, shared.URL, BenchDBName),
		JDBC:     strings.Replace(shared.JDBC, "/"+MonitorFishDBName+"?", "/"+BenchDBName+"?", 1),
		AdminURL: withDatabase(tb, shared.AdminURL, BenchDBName),
		Password: shared.Password,
	}
	admin, err := pgx.Connect(ctx, shared.AdminURL)
	if err != nil {
		tb.Fatalf("bench database: %v", err)
	}
	defer admin.Close(context.Background())
	// The database is cloned again when the fixture changed since.
	sum := sha256.Sum256([]byte(readFixture(tb, "monitorfishdb.sql")))
	fixture := "fixture " + hex.EncodeToString(sum[:6])
	var exists bool
	var comment string
	if err := admin.QueryRow(ctx, `SELECT count(*) > 0, coalesce(max(shobj_description(oid, 'pg_database')), '')
		FROM pg_database WHERE datname = $1`, BenchDBName).Scan(&exists, &comment); err != nil {
		tb.Fatal(err)
	}
	if exists && !strings.Contains(comment, fixture) {
		tb.Logf("%s was made from another fixture: dropping it", BenchDBName)
		if _, err := admin.Exec(ctx, "DROP DATABASE "+BenchDBName+" WITH (FORCE)"); err != nil {
			tb.Fatalf("drop the bench database: %v", err)
		}
		exists = false
	}
	if !exists {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+BenchDBName+" TEMPLATE monitorfishdb_template OWNER "+OwnerRole); err != nil {
			tb.Fatalf("create the bench database (needs testenv/up.sh's monitorfishdb_template and CREATEDB for %s): %v", OwnerRole, err)
		}
	}
	conn, err := pgx.Connect(ctx, bench.AdminURL)
	if err != nil {
		tb.Fatalf("bench database: %v", err)
	}
	defer conn.Close(context.Background())
	var newest *time.Time
	err = conn.QueryRow(ctx, `SELECT coalesce(shobj_description(oid, 'pg_database'), ''),
		(SELECT max(date_time) FROM positions WHERE date_time > now() AT TIME ZONE 'UTC' - INTERVAL '1 month')
		FROM pg_database WHERE datname = current_database()`).Scan(&comment, &newest)
	if err != nil {
		tb.Fatal(err)
	}
	want := fmt.Sprintf("mfbot bench: %s, %d positions", fixture, positions)
	if comment == want && newest != nil && time.Since(*newest) < 6*time.Hour {
		return bench
	}
	tb.Logf("filling %s with %d positions (once; kept for later runs)", BenchDBName, positions)
	start := time.Now()
	for _, sql := range benchFillSQL(positions) {
		if _, err := conn.Exec(ctx, sql); err != nil {
			tb.Fatalf("fill %s: %v\n%s", BenchDBName, err, sql)
		}
	}
	if _, err := conn.Exec(ctx, "COMMENT ON DATABASE "+BenchDBName+" IS '"+want+"'"); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("filled %s in %s", BenchDBName, time.Since(start).Round(time.Second))
	return bench
}

func withDatabase(tb testing.TB, rawURL, name string) string {
	tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		tb.Fatal(errors.New("a MFBOT_TEST_MONITORFISHDB_* URL does not parse"))
	}
	u.Path = "/" + name
	return u.String()
}

// benchFillSQL replaces the data of the bench database: positions over the
// last 30 days for 4,000 vessels (85 % French: about 1,400 French
// positions an hour, above recent_positions_metrics' floor of 800), their
// last_positions, and 200,000 logbook reports.
func benchFillSQL(positions int) []string {
	return []string{
		`TRUNCATE positions, last_positions, logbook_reports`,
		`ALTER TABLE positions DISABLE TRIGGER create_position_geometry`,
		fmt.Sprintf(`
INSERT INTO positions (internal_reference_number, external_reference_number, mmsi, ircs, vessel_name, flag_state,
                       trip_number, latitude, longitude, speed, course, date_time, position_type, is_manual,
                       is_at_port, is_fishing, network_type, geometry)
SELECT 'FRA' || lpad(v::text, 9, '0'), 'GV' || lpad(v::text, 6, '0'), (227000000 + v)::text, 'FQ' || lpad(v::text, 4, '0'),
       'VESSEL ' || v, CASE WHEN v %% 20 < 17 THEN 'FR' ELSE 'ES' END, '2026' || v,
       lat, lon, 4.5, (g * 7) %% 360,
       date_trunc('second', now() AT TIME ZONE 'UTC') - INTERVAL '5 seconds' - (g::float8 / %[1]d) * INTERVAL '30 days',
       'VMS', false, false, g %% 3 = 0, 'SATELLITE', ST_SetSRID(ST_MakePoint(lon, lat), 4326)
FROM generate_series(0, %[1]d - 1) AS g,
     LATERAL (SELECT g %% 4000 AS v, 43 + (g %% 4000) * 0.002 AS lat, -5 + (g %% 997) * 0.004 AS lon) x`, positions),
		`ALTER TABLE positions ENABLE TRIGGER create_position_geometry`,
		`
INSERT INTO last_positions (vessel_id, cfr, external_immatriculation, mmsi, ircs, vessel_name, flag_state, latitude,
                            longitude, speed, course, last_position_datetime_utc, trip_number, is_at_port, geometry)
SELECT DISTINCT ON (internal_reference_number)
       substr(internal_reference_number, 4)::int, internal_reference_number, external_reference_number, mmsi, ircs,
       vessel_name, flag_state, latitude, longitude, speed, course, date_time - INTERVAL '30 seconds', trip_number,
       is_at_port, geometry
FROM positions
WHERE date_time > now() AT TIME ZONE 'UTC' - INTERVAL '1 day'
ORDER BY internal_reference_number, date_time DESC`,
		`
INSERT INTO logbook_reports (operation_number, operation_country, operation_datetime_utc, operation_type, report_id,
                             cfr, vessel_name, flag_state, log_type, value, integration_datetime_utc, trip_number)
SELECT 'OOF' || g, 'FRA', date_trunc('second', now() AT TIME ZONE 'UTC') - INTERVAL '40 seconds' - (g::float8 / 200000) * INTERVAL '30 days',
       'DAT', 'OOF' || g, 'FRA' || lpad((g % 4000)::text, 9, '0'), 'VESSEL ' || (g % 4000), 'FRA',
       CASE WHEN g % 10 = 0 THEN 'DEP' ELSE 'FAR' END, '{"hauls": []}'::jsonb,
       now() AT TIME ZONE 'UTC', '2026' || (g % 4000)
FROM generate_series(0, 199999) AS g`,
		`ANALYZE positions`,
		`ANALYZE last_positions`,
		`ANALYZE logbook_reports`,
	}
}
