// Package database holds what mfbot knows of the MonitorFish database:
// its state (server, extensions, size, connections, migrations), its
// tables and the queries running in it. adapters/postgres reads them,
// always read-only; the command catalogue shows them. It imports nothing
// of mfbot.
package database

import (
	"context"
	"time"

	"mfbot/freshness"
)

// Reader reads the MonitorFish database of one environment. Every method
// runs fixed queries in a READ ONLY transaction with a statement timeout.
type Reader interface {
	// Status is `db status`.
	Status(ctx context.Context) (Status, error)
	// Tables lists the tables with row estimates and sizes, largest first.
	Tables(ctx context.Context) ([]Table, error)
	// Activity lists the queries of other sessions running longer than over,
	// longest first.
	Activity(ctx context.Context, over time.Duration) ([]Query, error)
	// Freshness reads the data freshness facts the way MonitorFish's own
	// healthcheck does (its functions, last_positions, the metrics view).
	Freshness(ctx context.Context) (freshness.Facts, error)
}

// Status is the state of the database server and of the MonitorFish database.
type Status struct {
	ServerVersion string // "15.8 (Debian 15.8-0+deb12u1)"
	Database      string
	StartedAt     time.Time // postmaster start
	SizeBytes     int64
	Extensions    []Extension
	// Connections counts the client backends of the database by state
	// (active, idle, idle in transaction ...), mfbot's own excluded.
	Connections map[string]int
	// MaxConnections is the server's max_connections (for the whole
	// server, all databases).
	MaxConnections int
	// InRecovery: the server is a standby (or replaying WAL).
	InRecovery bool
	// Longest is the longest running query of another session (nil: none).
	Longest *Query
	// LastMigration is the newest Flyway migration (nil: no
	// flyway_schema_history table, or empty).
	LastMigration *Migration
}

// Extension is an installed extension (timescaledb, postgis ...).
type Extension struct {
	Name, Version string
}

// Table is one table with its planner estimates. A TimescaleDB hypertable
// is counted with its chunks.
type Table struct {
	Schema, Name string
	RowEstimate  int64 // -1 when the table was never analyzed
	TotalBytes   int64 // table, indexes and TOAST (and chunks)
	Hypertable   bool
	Chunks       int
}

// Query is a running statement of another session (pg_stat_activity).
// Text is as the server gives it: callers redact and shorten it.
type Query struct {
	PID         int
	User        string
	Application string
	State       string
	WaitEvent   string
	Started     time.Time
	Duration    time.Duration
	Text        string
}

// Migration is a row of flyway_schema_history.
type Migration struct {
	Version     string
	Description string
	InstalledOn time.Time
	Success     bool
}

// PositionBucket counts the positions received in one time bucket
// (`health --chart`): First and Last are the oldest and newest of them.
type PositionBucket struct {
	Start       time.Time
	Count       int64
	First, Last time.Time
}

// PositionHistory is how positions were received over a window, from the
// positions table's date_time index (never a full scan).
type PositionHistory struct {
	// Before is the newest position before the window (within a day of
	// its start; zero: none), so that staleness at the window's start is
	// known.
	Before time.Time
	// Buckets are the non-empty buckets, oldest first.
	Buckets []PositionBucket
}
