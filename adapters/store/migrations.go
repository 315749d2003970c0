package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// migration is one step of a dialect's schema. Versions start at 1 and
// follow each other; a released migration is never edited, only followed.
type migration struct {
	version int
	name    string
	sql     string // may hold several statements
}

// migrate brings the database to the last of migs, one transaction per
// migration, each recorded in schema_migrations. It refuses a database that
// is not an mfbot store, and one whose schema is newer than migs (a newer
// mfbot wrote it), without changing either. It returns the schema version.
// Several processes may migrate the same database at once: each step
// takes the dialect's migration lock first (SQLite: the write lock of
// BEGIN IMMEDIATE) and re-reads the version under it, so each migration
// is applied once, by one of them.
func migrate(ctx context.Context, db *sql.DB, q queries, migs []migration) (int, error) {
	for i, m := range migs {
		if m.version != i+1 {
			return 0, fmt.Errorf("migration %q has version %d, want %d", m.name, m.version, i+1)
		}
	}
	err := inTx(ctx, db, func(tx *sql.Tx) error {
		if err := lockMigrations(ctx, tx, q); err != nil {
			return err
		}
		var exists, tables int
		if err := tx.QueryRowContext(ctx, q.hasMigrationsTable).Scan(&exists); err != nil {
			return fmt.Errorf("look for schema_migrations: %w", err)
		}
		if exists > 0 {
			return nil
		}
		if err := tx.QueryRowContext(ctx, q.countTables).Scan(&tables); err != nil {
			return fmt.Errorf("count tables: %w", err)
		}
		if tables > 0 {
			return errors.New("the database has tables but no schema_migrations: it is not an mfbot store")
		}
		if _, err := tx.ExecContext(ctx, q.createMigrationsTable); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for {
		var version int
		err := inTx(ctx, db, func(tx *sql.Tx) error {
			if err := lockMigrations(ctx, tx, q); err != nil {
				return err
			}
			var count int
			if err := tx.QueryRowContext(ctx, q.schemaVersion).Scan(&version, &count); err != nil {
				return fmt.Errorf("read schema version: %w", err)
			}
			switch {
			case version > len(migs):
				return fmt.Errorf("%w: the database is at schema v%d, this mfbot knows up to v%d: upgrade mfbot (or point MFBOT_STORE elsewhere)",
					ErrNewerSchema, version, len(migs))
			case count != version:
				return fmt.Errorf("schema_migrations holds %d versions up to v%d: the history has gaps", count, version)
			case version == len(migs):
				return nil
			}
			m := migs[version]
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("apply migration v%d (%s): %w", m.version, m.name, err)
			}
			if _, err := tx.ExecContext(ctx, q.recordMigration, m.version, m.name, time.Now().UnixNano()); err != nil {
				return fmt.Errorf("record migration v%d: %w", m.version, err)
			}
			version = m.version
			return nil
		})
		if err != nil {
			return 0, err
		}
		if version == len(migs) {
			return version, nil
		}
	}
}

// lockMigrations takes the dialect's migration lock for the rest of tx.
func lockMigrations(ctx context.Context, tx *sql.Tx, q queries) error {
	if q.migrationLock == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, q.migrationLock); err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	return nil
}
