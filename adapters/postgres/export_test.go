package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"mfbot/database"
)

// ReadOnly exposes the transaction helper every method goes through.
func (d *DB) ReadOnly(ctx context.Context, op string, fn func(context.Context, pgx.Tx) error) error {
	return d.readOnly(ctx, op, fn)
}

// TablesAs runs Tables' query as if TimescaleDB were installed with its
// functions in schema (installed false: the plain query).
func (d *DB) TablesAs(ctx context.Context, installed bool, schema string, approximateSize bool) ([]database.Table, error) {
	var out []database.Table
	err := d.readOnly(ctx, "list the tables", func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = tables(ctx, tx, timescale{Installed: installed, Schema: schema, ApproximateSize: approximateSize})
		return err
	})
	return out, err
}

// TablesSQL and FreshnessSQL are the queries, for tests of their shape.
func TablesSQL(installed bool, schema string, approximateSize bool) string {
	return tablesSQL(timescale{Installed: installed, Schema: schema, ApproximateSize: approximateSize})
}

var (
	FreshnessSQL  = freshnessSQL
	SetTimeoutSQL = setTimeoutSQL
)

// PositionBucketsSQL is PositionHistory's counting query, for its plan.
const PositionBucketsSQL = positionBucketsSQL
