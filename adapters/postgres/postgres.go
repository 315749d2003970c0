// Package postgres reads the MonitorFish database, always read-only.
//
// A DB is a small pool of connections to the database of one environment.
// Every query is a fixed string run by readOnly: in a READ ONLY transaction,
// with SET LOCAL statement_timeout. Nothing a user types becomes SQL.
//
// Errors are *Error values: they name what was being done and the database
// (never the password), and wrap ErrUnreachable (the server could not be
// reached or refused the connection), ErrStatementTimeout (a query ran past
// the statement timeout; it also wraps ErrQuery) or ErrQuery (anything the
// server answered with an error), so that callers can tell "the database is
// down" from "this query failed".
package postgres

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"mfbot/config"
	"mfbot/database"
)

// Defaults of Options.
const (
	DefaultConnectTimeout   = 5 * time.Second
	DefaultStatementTimeout = 5 * time.Second
	DefaultMaxConns         = 2
	DefaultApplicationName  = "mfbot"
)

// Options tune a DB. The zero value is the defaults.
type Options struct {
	// ConnectTimeout bounds each connection attempt (dial, TLS, auth).
	// Default 5 s, or the connect_timeout parameter of the URL when set.
	ConnectTimeout time.Duration
	// StatementTimeout is set on every transaction (SET LOCAL
	// statement_timeout). Default 5 s.
	StatementTimeout time.Duration
	// MaxConns is the size of the pool. Default 2.
	MaxConns int32
	// ApplicationName shows in pg_stat_activity. Default "mfbot", unless
	// the URL sets application_name (ApplicationName in the JDBC form).
	ApplicationName string
}

// DB reads the MonitorFish database of one environment. It implements
// database.Reader and is safe for concurrent use.
type DB struct {
	pool             *pgxpool.Pool
	name             string // "monitorfishdb at 127.0.0.1:5432", for errors
	password         string // to scrub from error texts, never shown
	connectTimeout   time.Duration
	statementTimeout time.Duration
	setTimeout       string // "SET LOCAL statement_timeout = 5000"
}

var _ database.Reader = (*DB)(nil)

// New makes the pool of db. It does not connect: the first query does, so
// New succeeds while the database is down and the DB recovers by itself
// when it comes back.
func New(db config.Database, opts Options) (*DB, error) {
	d := &DB{
		name:     describe(db.Name, db.Host, db.Port),
		password: db.Password.Reveal(),
	}
	cfg, err := pgxpool.ParseConfig(db.ConnString())
	if err != nil {
		// pgx's parse errors quote the connection string (it masks the
		// password only on a best-effort basis): keep its reason only.
		return nil, fmt.Errorf("database %s: invalid connection settings: %s", d.name, d.scrub(parseReason(err)))
	}
	d.connectTimeout = opts.ConnectTimeout
	if d.connectTimeout <= 0 {
		d.connectTimeout = cfg.ConnConfig.ConnectTimeout
	}
	if d.connectTimeout <= 0 {
		d.connectTimeout = DefaultConnectTimeout
	}
	d.statementTimeout = opts.StatementTimeout
	if d.statementTimeout <= 0 {
		d.statementTimeout = DefaultStatementTimeout
	}
	d.setTimeout = setTimeoutSQL(d.statementTimeout)

	cfg.ConnConfig.ConnectTimeout = d.connectTimeout
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok || opts.ApplicationName != "" {
		name := opts.ApplicationName
		if name == "" {
			name = DefaultApplicationName
		}
		cfg.ConnConfig.RuntimeParams["application_name"] = name
	}
	cfg.MaxConns = opts.MaxConns
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	cfg.MinConns, cfg.MinIdleConns = 0, 0
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.MaxConnLifetime = time.Hour
	// A pooled connection idle for more than a second is pinged before use
	// (pgxpool's default): after a database restart the dead ones are
	// dropped instead of failing the next command.
	cfg.PingTimeout = d.connectTimeout

	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("database %s: %s", d.name, d.scrub(oneLine(err.Error())))
	}
	d.pool = pool
	return d, nil
}

// Close closes the pool's connections.
func (d *DB) Close() { d.pool.Close() }

// String names the database for people: "monitorfishdb at 127.0.0.1:5432".
func (d *DB) String() string { return d.name }

// StatementTimeout is the statement timeout of every query.
func (d *DB) StatementTimeout() time.Duration { return d.statementTimeout }

// ConnectTimeout bounds each connection attempt.
func (d *DB) ConnectTimeout() time.Duration { return d.connectTimeout }

// Ping checks that the database answers a read-only query and returns the
// server version ("15.8 (Debian 15.8-1.pgdg120+1)").
func (d *DB) Ping(ctx context.Context) (string, error) {
	var version string
	err := d.readOnly(ctx, "ping the database", func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT current_setting('server_version')").Scan(&version)
	})
	return version, err
}

// readOnly runs fn in a READ ONLY transaction whose first statement is
// SET LOCAL statement_timeout, and turns any error into an *Error saying
// what op was doing. Every query of the package goes through it.
//
// The whole call is also bounded on the client side (connect timeout +
// statement timeout + 2 s), for a server that stops answering without
// closing the connection. A transaction that failed because its pooled
// connection had died (database restarted) is retried once on a fresh
// connection: it only reads, so running it again is harmless.
func (d *DB) readOnly(ctx context.Context, op string, fn func(context.Context, pgx.Tx) error) error {
	bound := d.connectTimeout + d.statementTimeout + 2*time.Second
	qctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	for attempt := 1; ; attempt++ {
		conn, err := d.pool.Acquire(qctx)
		if err != nil {
			return d.acquireError(op, ctx, qctx, bound, err)
		}
		err = pgx.BeginTxFunc(qctx, conn, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
			if _, err := tx.Exec(qctx, d.setTimeout); err != nil {
				return err
			}
			return fn(qctx, tx)
		})
		conn.Release() // a dead connection is closed, and the pool drops it
		if err == nil {
			return nil
		}
		if attempt == 1 && qctx.Err() == nil && brokenConnection(err) {
			continue
		}
		return d.classify(op, ctx, qctx, bound, err)
	}
}

// setTimeoutSQL is the fixed statement that sets the statement timeout, in
// whole milliseconds (at least 1: 0 would disable it).
func setTimeoutSQL(timeout time.Duration) string {
	return "SET LOCAL statement_timeout = " + strconv.FormatInt(max(timeout.Milliseconds(), 1), 10)
}

func describe[P ~int | ~uint16](name, host string, port P) string {
	p := int(port)
	if p == 0 {
		p = 5432
	}
	return name + " at " + net.JoinHostPort(host, strconv.Itoa(p))
}

// Ping connects once, runs a read-only transaction with a statement timeout
// and returns the server version. It is `mfbot check`'s probe: no pool. The
// connection string is never printed: errors name the database as
// "<name> at <host>:<port>".
func Ping(ctx context.Context, connString string, timeout time.Duration) (string, error) {
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return "", fmt.Errorf("parse database settings: invalid connection settings: %s", parseReason(err))
	}
	d := &DB{
		name:             describe(cfg.Database, cfg.Host, cfg.Port),
		password:         cfg.Password,
		connectTimeout:   timeout,
		statementTimeout: timeout,
		setTimeout:       setTimeoutSQL(timeout),
	}
	cfg.ConnectTimeout = timeout
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = DefaultApplicationName
	}
	pctx, cancel := context.WithTimeout(ctx, 2*timeout+time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(pctx, cfg)
	if err != nil {
		return "", d.classify("connect to the database", ctx, pctx, 2*timeout+time.Second, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var version string
	err = pgx.BeginTxFunc(pctx, conn, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(pctx, d.setTimeout); err != nil {
			return err
		}
		return tx.QueryRow(pctx, "SELECT current_setting('server_version')").Scan(&version)
	})
	if err != nil {
		return "", d.classify("query the database version", ctx, pctx, 2*timeout+time.Second, err)
	}
	return version, nil
}
