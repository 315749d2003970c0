//go:build integration

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"mfbot/testenv"
)

// postgresDialects: in integration builds every dialect-neutral test runs
// on PostgreSQL too, each in a new database of the test stack's cluster
// (testenv.FreshDatabase), dropped at the end.
func postgresDialects() []dialect {
	return []dialect{{
		name:  "postgres",
		fresh: func(t testing.TB) string { return testenv.FreshDatabase(t, "mfbot_store") },
		raw: func(t testing.TB, dsn string) *sql.DB {
			t.Helper()
			db, err := sql.Open("pgx", dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		},
		queries:    postgresQueries,
		migrations: postgresMigrations,
		snapshot: func(t testing.TB, dsn string) string {
			t.Helper()
			// The tables (with their row counts) and the schema history:
			// what a refused Open could have changed.
			db, err := sql.Open("pgx", dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var out strings.Builder
			rows, err := db.Query(`SELECT tablename, (xpath('/row/c/text()',
				query_to_xml(format('SELECT count(*) AS c FROM %I', tablename), false, true, '')))[1]::text
				FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var table, count string
				if err := rows.Scan(&table, &count); err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&out, "%s: %s rows\n", table, count)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			history, err := db.Query(`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
			if err != nil {
				t.Fatal(err)
			}
			defer history.Close()
			for history.Next() {
				var version int
				var name string
				var at int64
				if err := history.Scan(&version, &name, &at); err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&out, "v%d %s %d\n", version, name, at)
			}
			return out.String()
		},
	}}
}

func TestPostgresDescribeAndErrorsHideThePassword(t *testing.T) {
	dsn := testenv.FreshDatabase(t, "mfbot_store")
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t, dsn)
	want := fmt.Sprintf("postgres %s@%s%s (schema v%d)", u.User.Username(), u.Host, u.Path, len(postgresMigrations()))
	if got := s.Describe(); got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
	if got, want := len(postgresMigrations()), len(sqliteMigrations()); got != want {
		t.Errorf("PostgreSQL has %d migrations, SQLite %d: the dialects must stay parallel", got, want)
	}
	for i, m := range postgresMigrations() {
		if lite := sqliteMigrations()[i]; m.version != lite.version || m.name != lite.name {
			t.Errorf("migration %d: PostgreSQL v%d %q, SQLite v%d %q", i, m.version, m.name, lite.version, lite.name)
		}
	}

	// A wrong password: the server refuses it, the error does not show it.
	const wrong = "Wr0ng-S3cr3t-pw"
	u.User = url.UserPassword(u.User.Username(), wrong)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if s, err := Open(ctx, u.String()); err == nil {
		_ = s.Close()
		t.Fatal("Open with a wrong password succeeded")
	} else if strings.Contains(err.Error(), wrong) || !strings.Contains(err.Error(), "open store postgres "+u.User.Username()+"@") {
		t.Errorf("Open with a wrong password: %v; want the store named, without the password", err)
	}
}

// leaderSessionPID is the server process of the session holding the
// leader's lock (0: none).
func leaderSessionPID(t *testing.T, db *sql.DB) int {
	t.Helper()
	var pid int
	err := db.QueryRow(`SELECT coalesce(max(pid), 0) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objsubid = 1
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND ((classid::bigint << 32) | objid::bigint) = $1`, pgLeaderLock).Scan(&pid)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// writerFunc is an io.Writer of a function.
type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// term is one term of a replica in TestPostgresLeadership.
type term struct {
	replica string
	ctx     context.Context
}

// TestPostgresLeadership: two replicas (two stores on one database) with
// short intervals. One leads, the other stands by; when the leader's
// session is killed on the server, the leader's term ends with
// ErrLeadLost and a new term starts; when a leader stops, the other takes
// over; and a replica never holds two terms at once.
func TestPostgresLeadership(t *testing.T) {
	dsn := testenv.FreshDatabase(t, "mfbot_store")
	admin := postgresDialects()[0].raw(t, dsn)
	var logs strings.Builder
	var logsMu sync.Mutex
	t.Cleanup(func() {
		if t.Failed() {
			logsMu.Lock()
			defer logsMu.Unlock()
			t.Logf("leadership log:\n%s", logs.String())
		}
	})
	logTo := func(replica string) *slog.Logger {
		return slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
			logsMu.Lock()
			defer logsMu.Unlock()
			logs.WriteString(replica + ": ")
			return logs.Write(p)
		}), nil))
	}
	opts := LeaderOptions{Retry: 50 * time.Millisecond, Check: 100 * time.Millisecond}
	terms := make(chan term, 10)
	var mu sync.Mutex
	active := map[string]int{}
	campaign := func(replica string) (stop func()) {
		o := opts
		o.Log = logTo(replica)
		l := openStore(t, dsn).Leadership(o)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			l.Lead(ctx, func(ctx context.Context) {
				mu.Lock()
				active[replica]++
				overlap := active[replica] > 1
				mu.Unlock()
				if overlap {
					t.Errorf("%s holds two terms at once", replica)
				}
				terms <- term{replica, ctx}
				<-ctx.Done()
				mu.Lock()
				active[replica]--
				mu.Unlock()
			})
		}()
		return func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Errorf("%s: Lead did not return after its context ended", replica)
			}
		}
	}
	next := func(what string) term {
		t.Helper()
		select {
		case tm := <-terms:
			return tm
		case <-time.After(10 * time.Second):
			t.Fatalf("no new term: %s", what)
			return term{}
		}
	}
	noTerm := func(what string, d time.Duration) {
		t.Helper()
		select {
		case tm := <-terms:
			t.Fatalf("%s took the lead: %s", tm.replica, what)
		case <-time.After(d):
		}
	}

	stops := map[string]func(){"A": campaign("A")}
	first := next("A alone")
	if first.replica != "A" {
		t.Fatalf("%s leads, want A", first.replica)
	}
	stops["B"] = campaign("B")
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	noTerm("B while A leads", 500*time.Millisecond)

	// The server ends A's session: A's term ends, lost, and a new term
	// starts (B's, as a rule: A waits Retry before campaigning again).
	pid := leaderSessionPID(t, admin)
	if pid == 0 {
		t.Fatal("nobody holds the leader's lock")
	}
	killed := time.Now()
	if _, err := admin.Exec(`SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	second := next("after A's session was killed")
	took := time.Since(killed)
	select {
	case <-first.ctx.Done():
	case <-time.After(5 * opts.Check):
		t.Fatalf("A's term did not end within %s of its session's death", 5*opts.Check)
	}
	if cause := context.Cause(first.ctx); !errors.Is(cause, ErrLeadLost) {
		t.Errorf("A's term ended with %v, want ErrLeadLost", cause)
	}
	t.Logf("%s took over %s after A's session was killed", second.replica, took.Round(time.Millisecond))
	noTerm("the standby while a replica leads", 300*time.Millisecond)

	// The leader stops: it releases the lead, the other takes it.
	other := map[string]string{"A": "B", "B": "A"}[second.replica]
	stops[second.replica]()
	delete(stops, second.replica)
	third := next("after the leader stopped")
	if third.replica != other || context.Cause(second.ctx) == nil {
		t.Fatalf("%s leads after %s stopped (its term: %v), want %s", third.replica, second.replica, context.Cause(second.ctx), other)
	}
	if pid := leaderSessionPID(t, admin); pid == 0 {
		t.Errorf("%s leads without holding the lock", other)
	}
	stops[other]()
	delete(stops, other)
	// The server ends a session (and frees its locks) a moment after the
	// client's Terminate.
	deadline := time.Now().Add(5 * time.Second)
	for leaderSessionPID(t, admin) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if pid := leaderSessionPID(t, admin); pid != 0 {
		t.Errorf("the lock is still held (by %d) 5 s after both stopped", pid)
	}
}

// The leader's session says what it is in pg_stat_activity, with the
// keepalives that bound how long a vanished leader holds the lock.
func TestPostgresLeaderSessionSettings(t *testing.T) {
	dsn := testenv.FreshDatabase(t, "mfbot_store")
	admin := postgresDialects()[0].raw(t, dsn)
	l := openStore(t, dsn).Leadership(LeaderOptions{Retry: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	settings := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Lead(ctx, func(ctx context.Context) {
			var app string
			err := admin.QueryRow(`SELECT application_name FROM pg_stat_activity WHERE pid = $1`, leaderSessionPID(t, admin)).Scan(&app)
			if err != nil {
				app = err.Error()
			}
			settings <- app
			<-ctx.Done()
		})
	}()
	select {
	case app := <-settings:
		if !regexp.MustCompile(`^mfbot leader$`).MatchString(app) {
			t.Errorf("leader session application_name = %q", app)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("never led")
	}
	cancel()
	<-done
}
