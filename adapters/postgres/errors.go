package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"mfbot/human"
)

// The kinds of failure, for errors.Is. Every error of a DB method wraps one
// of them (or context.Canceled / context.DeadlineExceeded when the caller's
// context ended first).
var (
	// ErrUnreachable: no connection could be made (refused, no route, no
	// answer within the connect timeout, authentication or database
	// refused, server starting or shutting down), or the connection died
	// or stopped answering during the query. The freshness watcher opens a
	// "database unreachable" incident on it.
	ErrUnreachable = errors.New("database unreachable")
	// ErrQuery: the server answered the query with an error (permission
	// denied, missing table ...), or its answer could not be read.
	ErrQuery = errors.New("database query failed")
	// ErrStatementTimeout: the server cancelled the query when it ran past
	// the statement timeout. Errors of this kind also match ErrQuery.
	ErrStatementTimeout = errors.New("database statement timeout")
)

// Error is a failed database operation. Its text never holds the password.
type Error struct {
	Op       string // what was being done: "read the database status"
	Database string // "monitorfishdb at 127.0.0.1:5432"
	// Kind is ErrUnreachable, ErrStatementTimeout, ErrQuery,
	// context.Canceled or context.DeadlineExceeded.
	Kind error
	// Detail is the cause in one line, password removed.
	Detail string
	// Timeout is the statement timeout that cut the query
	// (ErrStatementTimeout) or the time waited for an answer.
	Timeout time.Duration
	cause   error
}

func (e *Error) Error() string {
	switch e.Kind {
	case ErrUnreachable:
		return fmt.Sprintf("%s: database %s is unreachable: %s", e.Op, e.Database, e.Detail)
	case ErrStatementTimeout:
		return fmt.Sprintf("%s: query cancelled by the statement timeout of %s (database %s)", e.Op, human.Duration(e.Timeout), e.Database)
	case context.Canceled, context.DeadlineExceeded:
		return fmt.Sprintf("%s: cancelled before database %s answered (%s)", e.Op, e.Database, e.Detail)
	}
	return fmt.Sprintf("%s: query failed on database %s: %s", e.Op, e.Database, e.Detail)
}

// Unwrap gives the kind (and ErrQuery for a statement timeout) and the
// driver's error (*pgconn.PgError, *pgconn.ConnectError ...), for errors.Is
// and errors.As. Mind that the driver's error is not scrubbed: show Error().
func (e *Error) Unwrap() []error {
	errs := []error{e.Kind}
	if e.Kind == ErrStatementTimeout {
		errs = append(errs, ErrQuery)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

func (d *DB) newError(op string, kind, cause error, timeout *time.Duration) *Error {
	e := &Error{Op: op, Database: d.name, Kind: kind, cause: cause}
	if cause != nil {
		e.Detail = d.scrub(oneLine(cause.Error()))
	}
	if timeout != nil {
		e.Timeout = *timeout
	}
	return e
}

// classify turns a driver error into an *Error. caller is the caller's
// context, bounded its child with our client-side bound of length bound.
func (d *DB) classify(op string, caller, bounded context.Context, bound time.Duration, err error) error {
	var pgErr *pgconn.PgError
	var connectErr *pgconn.ConnectError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "57014" && strings.Contains(pgErr.Message, "statement timeout"):
		e := d.newError(op, ErrStatementTimeout, err, &d.statementTimeout)
		return e
	case errors.As(err, &connectErr):
		if errors.Is(caller.Err(), context.Canceled) {
			return d.newError(op, context.Canceled, context.Canceled, nil)
		}
		e := d.newError(op, ErrUnreachable, err, &d.connectTimeout)
		e.Detail = d.scrub(connectDetail(connectErr, d.connectTimeout))
		return e
	case caller.Err() != nil:
		// The caller gave up first: its deadline or cancellation, not ours.
		e := d.newError(op, caller.Err(), caller.Err(), nil)
		return e
	case bounded.Err() != nil:
		e := d.newError(op, ErrUnreachable, err, &bound)
		e.Detail = "no answer within " + human.Duration(bound)
		return e
	case errors.As(err, &pgErr):
		if connectionClass(pgErr.Code) {
			return d.newError(op, ErrUnreachable, err, nil)
		}
		return d.newError(op, ErrQuery, err, nil)
	case brokenConnection(err):
		return d.newError(op, ErrUnreachable, err, nil)
	}
	return d.newError(op, ErrQuery, err, nil)
}

// acquireError classifies a failure to get a connection from the pool:
// always unreachable, unless the caller cancelled.
func (d *DB) acquireError(op string, caller, bounded context.Context, bound time.Duration, err error) error {
	var connectErr *pgconn.ConnectError
	switch {
	case errors.Is(caller.Err(), context.Canceled):
		return d.newError(op, context.Canceled, context.Canceled, nil)
	case errors.As(err, &connectErr):
		e := d.newError(op, ErrUnreachable, err, &d.connectTimeout)
		e.Detail = d.scrub(connectDetail(connectErr, d.connectTimeout))
		return e
	case caller.Err() != nil || bounded.Err() != nil:
		e := d.newError(op, ErrUnreachable, err, nil)
		e.Detail = "no connection within the time allowed (connect timeout " + human.Duration(d.connectTimeout) + ")"
		return e
	}
	return d.newError(op, ErrUnreachable, err, nil)
}

// connectDetail says why a connection failed, without pgx's preamble
// (`failed to connect to "user=… database=…"`).
func connectDetail(err *pgconn.ConnectError, timeout time.Duration) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return "the server refused the connection: " + pgErr.Error()
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && !opErr.Timeout() {
		return opErr.Error()
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && !dnsErr.Timeout() {
		return dnsErr.Error()
	}
	if pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) || (opErr != nil && opErr.Timeout()) {
		return "no answer within the connect timeout of " + human.Duration(timeout)
	}
	if inner := errors.Unwrap(err); inner != nil {
		return oneLine(inner.Error())
	}
	return oneLine(err.Error())
}

// connectionClass: SQLSTATE classes that mean the connection, not the
// query, failed: 08 connection exception, 57P01-57P05 operator
// intervention (shutdown, crash, cannot connect now), 53300 too many
// connections.
func connectionClass(code string) bool {
	return strings.HasPrefix(code, "08") || (strings.HasPrefix(code, "57P") && code != "57P04") || code == "53300"
}

// brokenConnection: the error comes from a connection that died (server
// restarted, network cut), not from the query.
func brokenConnection(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return connectionClass(pgErr.Code)
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, net.ErrClosed) || pgconn.SafeToRetry(err)
}

// scrub removes the password (as is, and URL-escaped) from a text. Texts
// are built from driver errors that should not hold it: this is the
// second line of defence. Passwords shorter than 4 characters are left
// alone (replacing them would garble the text; such a password is no
// secret anyway).
func (d *DB) scrub(s string) string {
	if len(d.password) < 4 {
		return s
	}
	for _, p := range []string{d.password, url.QueryEscape(d.password), url.PathEscape(d.password)} {
		s = strings.ReplaceAll(s, p, "[REDACTED]")
	}
	return s
}

// parseReason keeps the reason of a pgx parse error, without the
// connection string it quotes ("cannot parse `…`: reason").
func parseReason(err error) string {
	s := oneLine(err.Error())
	if i := strings.LastIndex(s, "`: "); i >= 0 {
		return s[i+3:]
	}
	return "unreadable connection string"
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
