// Package postgres reads the MonitorFish database, always read-only.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Ping connects once, runs a read-only transaction with a statement timeout
// and returns the server version. The connection string is never printed:
// callers name the database with its redacted form.
func Ping(ctx context.Context, connString string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		// pgx errors may quote the connection string: say less.
		return "", errors.New("parse database settings: invalid connection settings")
	}
	cfg.ConnectTimeout = timeout
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", fmt.Errorf("connect to database %s@%s:%d/%s: %w", cfg.User, cfg.Host, cfg.Port, cfg.Database, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var version string
	err = pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL statement_timeout = '5s'"); err != nil {
			return err
		}
		return tx.QueryRow(ctx, "SHOW server_version").Scan(&version)
	})
	if err != nil {
		return "", fmt.Errorf("query database version: %w", err)
	}
	return version, nil
}
