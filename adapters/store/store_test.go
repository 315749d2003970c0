package store

import (
	"bytes"
	"context"
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

// openStore opens the store at dsn (a file path, ":memory:" or a
// postgres:// URL), closed when the test ends.
func openStore(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err) // not dsn: it may hold a password
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
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
	s := openStore(t, path)
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

// TestNewDatabaseFileIsNeverEmpty: a new database appears at its path
// whole, already in WAL mode (header bytes 18 and 19 are 2), so that a
// process opening it at that instant never finds an empty file beside
// another's -wal (SQLITE_IOERR_DELETE_NOENT, seen in CI). The process that
// links second keeps the first one's file, and no temporary file is left.
func TestNewDatabaseFileIsNeverEmpty(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "a dir?#")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "mf bot.db")
	abs, err := prepareSQLiteFile(ctx, path)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	first, err := os.ReadFile(abs)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) < 100 || !bytes.HasPrefix(first, []byte("SQLite format 3\x00")) || first[18] != 2 || first[19] != 2 {
		t.Fatalf("new database: %d bytes, header %q; want a WAL database (bytes 18, 19 = 2)", len(first), first[:min(len(first), 20)])
	}
	if fi, err := os.Stat(abs); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v, %v; want 600", fi.Mode(), err)
	}
	// The loser of a race: the path exists when it links.
	if err := createSQLiteFile(ctx, abs); err != nil {
		t.Fatalf("create over an existing database: %v", err)
	}
	if again, err := os.ReadFile(abs); err != nil || !bytes.Equal(again, first) {
		t.Fatalf("the existing database changed: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "mf bot.db" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %q, want only the database", names)
	}
}

func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, dsn string
		want      string
	}{
		{"empty", "", "empty MFBOT_STORE"},
		// Port 1 of the loopback refuses at once: the error names the
		// store, never with its password.
		{"postgres unreachable", "postgres://mfbot:S3cr3tPw@127.0.0.1:1/mfbot", "open store postgres mfbot@127.0.0.1:1/mfbot"},
		{"postgresql unreachable", "PostgreSQL://mfbot:S3cr3tPw@127.0.0.1:1/mfbot?sslmode=disable", "open store postgres mfbot@127.0.0.1:1/mfbot"},
		{"postgres without host", "postgres://mfbot:S3cr3tPw@/mfbot", "missing host"},
		{"postgres password not encoded", "postgres://mfbot:S3cr3tPw/x@db/mfbot", "open store: malformed postgres URL"},
		{"other scheme", "mysql://root:S3cr3tPw@db/mfbot", `unsupported store URL scheme "mysql"`},
		{"missing directory", filepath.Join(dir, "nope", "mfbot.db"), "does not exist"},
		{"a directory", dir, "is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := Open(ctx, tc.dsn)
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
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		dsn := d.fresh(t)
		for i := range 3 {
			s, err := Open(ctx, dsn)
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
		versions, maxVersion, _ := schemaHistory(t, d.raw(t, dsn))
		if n := len(d.migrations()); versions != n || maxVersion != n {
			t.Errorf("schema_migrations: %d rows up to v%d, want %d up to v%d", versions, maxVersion, n, n)
		}
	})
}

func TestOpenMigratesAnOlderDatabase(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		dsn := d.fresh(t)
		old := d.raw(t, dsn)
		if v, err := migrate(ctx, old, d.queries(), d.migrations()[:1]); err != nil || v != 1 {
			t.Fatalf("migrate to v1: v%d, %v", v, err)
		}
		if _, err := old.Exec(`INSERT INTO audit (time_ns, user_id, channel, env, command, target, outcome, duration_ns, via)
			VALUES (1700000000000000001, 'U1', 'C1', 'prod', 'status', '', 'ok', 5, 'console')`); err != nil {
			t.Fatal(err)
		}
		if err := old.Close(); err != nil {
			t.Fatal(err)
		}

		s := openStore(t, dsn)
		if want := fmt.Sprintf("(schema v%d)", len(d.migrations())); !strings.HasSuffix(s.Describe(), want) {
			t.Errorf("Describe() = %q, want %s", s.Describe(), want)
		}
		entries, err := s.RecentAudit(ctx, 10)
		if err != nil || len(entries) != 1 || entries[0].Time.UnixNano() != 1700000000000000001 {
			t.Fatalf("entries kept across the migration: %+v, %v", entries, err)
		}
		if err := s.SaveThreadTarget(ctx, "C1", "1.2", reply.Target{Env: "prod", Service: "app"}); err != nil {
			t.Errorf("a table of a later migration: %v", err)
		}
	})
}

func TestOpenRefusesANewerDatabase(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		dsn := d.fresh(t)
		if err := openStore(t, dsn).Close(); err != nil {
			t.Fatal(err)
		}
		raw := d.raw(t, dsn)
		newer := len(d.migrations()) + 1
		if _, err := raw.Exec(fmt.Sprintf("INSERT INTO schema_migrations (version, applied_at) VALUES (%d, 0)", newer)); err != nil {
			t.Fatal(err)
		}
		if err := raw.Close(); err != nil { // SQLite checkpoints: the whole database is in the file
			t.Fatal(err)
		}
		before := d.snapshot(t, dsn)
		s, err := Open(ctx, dsn)
		if err == nil {
			_ = s.Close()
			t.Fatal("Open of a database from a newer mfbot succeeded")
		}
		if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), fmt.Sprintf("v%d", newer)) {
			t.Errorf("Open = %v, want ErrNewerSchema naming v%d", err, newer)
		}
		if after := d.snapshot(t, dsn); before != after {
			t.Error("the refused database was modified")
		}
	})
}

func TestOpenRefusesAForeignDatabase(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		dsn := d.fresh(t)
		if _, err := d.raw(t, dsn).Exec("CREATE TABLE customers (id INTEGER)"); err != nil {
			t.Fatal(err)
		}
		s, err := Open(context.Background(), dsn)
		if err == nil {
			_ = s.Close()
			t.Fatal("Open of another application's database succeeded")
		}
		if !strings.Contains(err.Error(), "not an mfbot store") {
			t.Errorf("Open = %v, want 'not an mfbot store'", err)
		}
	})
}

func TestCallsHonourContextAndWrapErrors(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		dsn := d.fresh(t)
		s := openStore(t, dsn)
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
		_, checks["claim Slack delivery"] = s.ClaimDelivery(ctx, "Ev1", now)
		_, checks["purge Slack deliveries"] = s.PurgeDeliveries(ctx, now)
		for what, err := range checks {
			if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), what) {
				t.Errorf("%s with a cancelled context: %v", what, err)
			}
		}
		if _, err := Open(ctx, d.fresh(t)); !errors.Is(err, context.Canceled) {
			t.Errorf("Open with a cancelled context: %v", err)
		}
	})
}

func TestTimesOutOfRange(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		s := d.open(t)
		ctx := context.Background()
		err := s.CreateConfirmation(ctx, confirm.Request{ID: "x", CreatedAt: time.Now()})
		if err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("a zero ExpiresAt: %v, want out of range", err)
		}
		if _, err := s.PurgeConfirmations(ctx, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
			t.Error("year 3000 accepted")
		}
	})
}
