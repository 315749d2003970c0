//go:build integration

package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// FreshDatabase creates an empty database in the shared cluster
// (Require's PGURL, whose role has CREATEDB) for one test, named
// prefix_<random>, and returns its postgres:// URL (the owner role,
// password included). The database is dropped when the test ends,
// sessions still open on it included (WITH (FORCE)). Tests of mfbot's
// store give it as MFBOT_STORE.
func FreshDatabase(t testing.TB, prefix string) string {
	t.Helper()
	stack := Require(t)
	if stack.PGURL == "" {
		t.Fatal("MFBOT_TEST_PG_URL is not set: run `bash testenv/up.sh` again and `source testenv/.state/env`")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := prefix + "_" + hex.EncodeToString(b[:])
	admin := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, stack.PGURL)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, sql)
		return err
	}
	// The name is made of prefix and hex digits: no quoting needed, but
	// pgx.Identifier keeps a careless prefix harmless.
	ident := pgx.Identifier{name}.Sanitize()
	if err := admin("CREATE DATABASE " + ident); err != nil {
		t.Fatalf("create the test database %s (needs CREATEDB for %s): %v", name, OwnerRole, err)
	}
	t.Cleanup(func() {
		// FORCE ends the test's own sessions, not an autovacuum worker
		// (the superuser's) that may be busy in the database for a
		// moment: try again until it is done.
		var err error
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			if err = admin("DROP DATABASE IF EXISTS " + ident + " WITH (FORCE)"); err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			t.Errorf("drop the test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(stack.PGURL)
	if err != nil {
		t.Fatal("MFBOT_TEST_PG_URL does not parse")
	}
	u.Path = "/" + name
	return u.String()
}
