package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
)

// dialect is a kind of database the store runs on, as the tests see it.
// The tests that hold for every dialect run once per dialect (eachDialect):
// on SQLite always, and on PostgreSQL in integration builds, where the
// test stack provides a server (postgres_integration_test.go).
type dialect struct {
	name string
	// fresh returns the MFBOT_STORE of a new, empty database, removed
	// when the test ends.
	fresh func(t testing.TB) string
	// raw opens dsn without the store, to look at or tamper with it.
	raw        func(t testing.TB, dsn string) *sql.DB
	queries    func() queries
	migrations func() []migration
	// snapshot is everything the database holds, to tell whether it was
	// changed.
	snapshot func(t testing.TB, dsn string) string
}

// open opens a store on a fresh database of d.
func (d dialect) open(t testing.TB) *Store {
	t.Helper()
	return openStore(t, d.fresh(t))
}

// dialects are the databases the dialect-neutral tests run on.
func dialects() []dialect {
	return append([]dialect{sqliteDialect()}, postgresDialects()...)
}

// eachDialect runs test once per dialect, as subtests named after them.
func eachDialect(t *testing.T, test func(t *testing.T, d dialect)) {
	t.Helper()
	for _, d := range dialects() {
		t.Run(d.name, func(t *testing.T) { test(t, d) })
	}
}

func sqliteDialect() dialect {
	return dialect{
		name:       "sqlite",
		fresh:      func(t testing.TB) string { return filepath.Join(t.TempDir(), "mfbot.db") },
		raw:        func(t testing.TB, dsn string) *sql.DB { return rawDB(t, dsn) },
		queries:    sqliteQueries,
		migrations: sqliteMigrations,
		snapshot: func(t testing.TB, dsn string) string {
			t.Helper()
			// The file holds the whole database once the last connection
			// closed (checkpointed): compare it byte for byte.
			b, err := os.ReadFile(dsn)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		},
	}
}

// rawDB opens the SQLite file without the store.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// schemaHistory reads schema_migrations: how many rows, the highest
// version, and how many distinct versions.
func schemaHistory(t testing.TB, db *sql.DB) (rows, maxVersion, distinct int) {
	t.Helper()
	err := db.QueryRowContext(context.Background(),
		"SELECT count(*), coalesce(max(version), 0), count(DISTINCT version) FROM schema_migrations").Scan(&rows, &maxVersion, &distinct)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return rows, maxVersion, distinct
}
