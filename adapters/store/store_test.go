package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mfbot/audit"
	"mfbot/confirm"
	"mfbot/reply"
)

func openMemory(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatalf("Open(:memory:): %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func openFile(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// rawDB opens the file without the store, to look at or tamper with it.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestOpenMemory(t *testing.T) {
	s := openMemory(t)
	want := fmt.Sprintf("sqlite :memory: (schema v%d)", len(sqliteMigrations()))
	if got := s.Describe(); got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestOpenFileDescribeAndMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a dir?#", "mf bot?.db")
	if err := os.Mkdir(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	s := openFile(t, path)
	if got, want := s.Describe(), fmt.Sprintf("sqlite %s (schema v%d)", path, len(sqliteMigrations())); got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("the database is not at its path: %v", err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("mode of a new database = %o, want 600", mode)
	}
	var mode string
	if err := s.write.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk, busy int
	if err := s.read.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
	if err := s.read.QueryRow("PRAGMA busy_timeout").Scan(&busy); err != nil || busy != sqliteBusyTimeoutMS {
		t.Errorf("busy_timeout = %d, %v; want %d", busy, err, sqliteBusyTimeoutMS)
	}
}

func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, dsn string
		want      string
	}{
		{"empty", "", "empty MFBOT_STORE"},
		{"postgres", "postgres://mfbot:S3cr3tPw@db:5432/mfbot", "PostgreSQL store is not available yet"},
		{"postgresql", "PostgreSQL://mfbot:S3cr3tPw@db/mfbot", "PostgreSQL store is not available yet"},
		{"other scheme", "mysql://root:S3cr3tPw@db/mfbot", `unsupported store URL scheme "mysql"`},
		{"missing directory", filepath.Join(dir, "nope", "mfbot.db"), "does not exist"},
		{"a directory", dir, "is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(context.Background(), tc.dsn)
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open(%q) succeeded", tc.dsn)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open(%q) = %v, want an error containing %q", tc.dsn, err, tc.want)
			}
			if strings.Contains(err.Error(), "S3cr3tPw") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

func TestReopenIsIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mfbot.db")
	for i := range 3 {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		if err := s.AppendAudit(ctx, audit.Entry{Time: time.Now(), Command: "status"}); err != nil {
			t.Fatal(err)
		}
		entries, err := s.RecentAudit(ctx, 10)
		if err != nil || len(entries) != i+1 {
			t.Fatalf("open #%d: %d entries, %v; want %d", i+1, len(entries), err, i+1)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("close #%d: %v", i+1, err)
		}
	}
	var versions, maxVersion int
	if err := rawDB(t, path).QueryRow("SELECT count(*), max(version) FROM schema_migrations").Scan(&versions, &maxVersion); err != nil {
		t.Fatal(err)
	}
	if n := len(sqliteMigrations()); versions != n || maxVersion != n {
		t.Errorf("schema_migrations: %d rows up to v%d, want %d up to v%d", versions, maxVersion, n, n)
	}
}

func TestOpenMigratesAnOlderDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mfbot.db")
	old := rawDB(t, path)
	if v, err := migrate(ctx, old, sqliteQueries(), sqliteMigrations()[:1]); err != nil || v != 1 {
		t.Fatalf("migrate to v1: v%d, %v", v, err)
	}
	if _, err := old.Exec(`INSERT INTO audit (time_ns, user_id, channel, env, command, target, outcome, duration_ns, via)
		VALUES (1700000000000000001, 'U1', 'C1', 'prod', 'status', '', 'ok', 5, 'console')`); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	s := openFile(t, path)
	if want := fmt.Sprintf("(schema v%d)", len(sqliteMigrations())); !strings.HasSuffix(s.Describe(), want) {
		t.Errorf("Describe() = %q, want %s", s.Describe(), want)
	}
	entries, err := s.RecentAudit(ctx, 10)
	if err != nil || len(entries) != 1 || entries[0].Time.UnixNano() != 1700000000000000001 {
		t.Fatalf("entries kept across the migration: %+v, %v", entries, err)
	}
	if err := s.SaveThreadTarget(ctx, "C1", "1.2", reply.Target{Env: "prod", Service: "app"}); err != nil {
		t.Errorf("a table of a later migration: %v", err)
	}
}

func TestOpenRefusesANewerDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mfbot.db")
	if err := openFile(t, path).Close(); err != nil {
		t.Fatal(err)
	}
	raw := rawDB(t, path)
	newer := len(sqliteMigrations()) + 1
	if _, err := raw.Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)", newer); err != nil {
		t.Fatal(err)
	}
	if err := raw.Close(); err != nil { // checkpoints: the whole database is in the file
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path)
	if err == nil {
		_ = s.Close()
		t.Fatal("Open of a database from a newer mfbot succeeded")
	}
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), fmt.Sprintf("v%d", newer)) {
		t.Errorf("Open = %v, want ErrNewerSchema naming v%d", err, newer)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Error("the refused database was modified")
	}
}

func TestOpenRefusesAForeignDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	if _, err := rawDB(t, path).Exec("CREATE TABLE customers (id INTEGER)"); err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), path)
	if err == nil {
		_ = s.Close()
		t.Fatal("Open of another application's database succeeded")
	}
	if !strings.Contains(err.Error(), "not an mfbot store") {
		t.Errorf("Open = %v, want 'not an mfbot store'", err)
	}
}

func TestCallsHonourContextAndWrapErrors(t *testing.T) {
	s := openMemory(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	now := time.Now()
	checks := map[string]error{
		"append audit entry": s.AppendAudit(ctx, audit.Entry{Time: now}),
		"create confirmation": s.CreateConfirmation(ctx, confirm.Request{
			ID: "x", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}),
		"save thread target": s.SaveThreadTarget(ctx, "C", "1.1", reply.Target{}),
		"ping store":         s.Ping(ctx),
	}
	_, checks["read audit log"] = s.RecentAudit(ctx, 1)
	_, _, checks["decide confirmation"] = s.DecideConfirmation(ctx, "x", confirm.Confirmed, "U1", now)
	_, checks["purge confirmations"] = s.PurgeConfirmations(ctx, now)
	_, _, checks["read thread target"] = s.ThreadTarget(ctx, "C", "1.1")
	_, checks["purge thread targets"] = s.PurgeThreadTargets(ctx, now)
	for what, err := range checks {
		if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), what) {
			t.Errorf("%s with a cancelled context: %v", what, err)
		}
	}
	if _, err := Open(ctx, filepath.Join(t.TempDir(), "mfbot.db")); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled context: %v", err)
	}
}

func TestTimesOutOfRange(t *testing.T) {
	s := openMemory(t)
	ctx := context.Background()
	err := s.CreateConfirmation(ctx, confirm.Request{ID: "x", CreatedAt: time.Now()})
	if err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("a zero ExpiresAt: %v, want out of range", err)
	}
	if _, err := s.PurgeConfirmations(ctx, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Error("year 3000 accepted")
	}
}
