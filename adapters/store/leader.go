package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Leadership defaults, for the zero fields of LeaderOptions.
const (
	DefaultLeaderRetry = time.Second
	DefaultLeaderCheck = 2 * time.Second
	// leaderConnectTimeout bounds opening the leader's session.
	leaderConnectTimeout = 10 * time.Second
)

// ErrLeadLost is the cause (context.Cause) of the end of a term whose
// session broke: another replica may lead by now.
var ErrLeadLost = errors.New("leader: the session holding the lead broke")

// errLeadGivenUp ends a term whose lead function returned on its own.
var errLeadGivenUp = errors.New("leader: the lead was given up")

// LeaderOptions tune a Leadership; zero values take the defaults.
type LeaderOptions struct {
	// Retry is the time between two attempts to take the lead (default
	// 1 s): a standby takes over at most Retry after the leader's session
	// ends.
	Retry time.Duration
	// Check is the time between two checks that the leader's session
	// still answers, and bounds each check (default 2 s): a leader whose
	// session broke steps down within 2 × Check.
	Check time.Duration
	Log   *slog.Logger // default: discard
}

// Leadership elects, among the processes sharing the store, the one that
// leads: the one that runs the watchers and the notifier, while every
// replica answers commands.
//
// On PostgreSQL the leader is the process whose own session (a connection
// outside the pool, for nothing else) holds a session-level advisory lock
// (pg_try_advisory_lock): the server gives it to one session at a time and
// takes it back when that session ends, whether the process stops, is
// killed (its socket closes) or vanishes (the server's TCP keepalives,
// set on that session to about 11 s, end it). The others try again every
// Retry. The leader checks its session every Check; when a check fails
// it steps down (the term's context is cancelled) and campaigns again on
// a new session after Retry, which gives the standbys a head start. A
// leader that vanished steps down (within 2 × Check) before the server
// frees the lock; a session the server ends itself (pg_terminate_backend,
// a restart of the server) frees it at once, and the old leader may run
// up to 2 × Check beside the new one (at worst, an alert pending then is
// posted twice). The replicas need no clock agreement nor any protocol of
// their own.
//
// A SQLite store belongs to one process (its file is on one machine):
// that process simply leads, for as long as it runs. Two processes on one
// file would both lead: run replicas on PostgreSQL.
type Leadership struct {
	conn  *pgx.ConnConfig // nil: one process, which leads
	name  string
	scrub func(string) string
	key   int64
	opts  LeaderOptions
}

// Leadership returns the election of the store's leader, with opts.
func (s *Store) Leadership(opts LeaderOptions) *Leadership {
	if opts.Retry <= 0 {
		opts.Retry = DefaultLeaderRetry
	}
	if opts.Check <= 0 {
		opts.Check = DefaultLeaderCheck
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	l := &Leadership{name: s.name, scrub: s.scrub, key: pgLeaderLock, opts: opts}
	if s.leaderConn != nil {
		cfg := s.leaderConn.Copy()
		cfg.RuntimeParams["application_name"] = pgApplicationName + " leader"
		// The server ends the session of a leader that vanished (no
		// FIN: a partition, a frozen VM) after 5 s idle + 3 × 2 s probes,
		// longer than the leader takes to step down (≤ 2 × Check with
		// the defaults), so two leaders never overlap on that account.
		cfg.RuntimeParams["tcp_keepalives_idle"] = "5"
		cfg.RuntimeParams["tcp_keepalives_interval"] = "2"
		cfg.RuntimeParams["tcp_keepalives_count"] = "3"
		l.conn = cfg
	}
	return l
}

// Lead campaigns until ctx ends. Each time this process takes the lead
// it calls lead with a context that ends with the term — when the lead is
// lost (context.Cause: ErrLeadLost) or ctx ends — and waits for lead to
// return before it campaigns again, so that no two terms of this process
// overlap. A lead that returns on its own gives the lead up. After any
// term this process waits Retry before it campaigns again, so that
// another replica may take the lead first.
func (l *Leadership) Lead(ctx context.Context, lead func(ctx context.Context)) {
	log := l.opts.Log.With("store", l.name)
	if l.conn == nil {
		for ctx.Err() == nil {
			log.Info("leader: acquired (a single-process store: this process leads)")
			lead(ctx)
			if ctx.Err() == nil {
				log.Warn("leader: lead given up; taking it again", "in", l.opts.Retry)
			}
			if !sleep(ctx, l.opts.Retry) {
				break
			}
		}
		return
	}
	for {
		conn := l.campaign(ctx, log)
		if conn == nil {
			return
		}
		l.term(ctx, conn, log, lead)
		// Given up or lost (this replica's session broke: its network may
		// be the trouble): the standbys, which try every Retry, have a
		// head start to take it.
		if !sleep(ctx, l.opts.Retry) {
			return
		}
	}
}

// campaign returns a session of this process holding the lock, or nil
// when ctx ends first.
func (l *Leadership) campaign(ctx context.Context, log *slog.Logger) *pgx.Conn {
	var conn *pgx.Conn
	standby, failing := false, false
	for {
		if conn == nil {
			cctx, cancel := context.WithTimeout(ctx, leaderConnectTimeout)
			c, err := pgx.ConnectConfig(cctx, l.conn)
			cancel()
			if err == nil {
				conn = c
			} else if ctx.Err() == nil && !failing {
				// Logged once per outage: it is retried every Retry.
				log.Warn("leader: cannot open the leader's session; retrying", "err", scrubErr(l.scrub, err), "every", l.opts.Retry)
				failing = true
			}
		}
		if conn != nil {
			got, err := l.tryLock(ctx, conn)
			switch {
			case err != nil:
				closeSession(conn)
				conn = nil
				if ctx.Err() == nil && !failing {
					log.Warn("leader: cannot try the leader's lock; retrying", "err", scrubErr(l.scrub, err), "every", l.opts.Retry)
					failing = true
				}
			case got:
				log.Info("leader: acquired: this replica runs the watchers and the notifier")
				return conn
			default:
				if failing {
					log.Info("leader: the store answers again")
					failing = false
				}
				if !standby {
					log.Info("leader: standby: another replica leads; commands are answered here too")
					standby = true
				}
			}
		}
		if !sleep(ctx, l.opts.Retry) {
			closeSession(conn)
			return nil
		}
	}
}

// tryLock tries once to take the leader's lock on conn.
func (l *Leadership) tryLock(ctx context.Context, conn *pgx.Conn) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, l.opts.Check)
	defer cancel()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, l.key).Scan(&got); err != nil {
		return false, err
	}
	return got, nil
}

// term runs lead while conn holds the lock, checking conn every Check;
// the term's context ends with why it ended. The session is closed at the
// end — releasing the lock if the server still sees it — once lead
// returned.
func (l *Leadership) term(ctx context.Context, conn *pgx.Conn, log *slog.Logger, lead func(ctx context.Context)) {
	termCtx, end := context.WithCancelCause(ctx)
	defer end(nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		lead(termCtx)
	}()
	ticker := time.NewTicker(l.opts.Check)
	defer ticker.Stop()
	var cause error
	for cause == nil {
		select {
		case <-done:
			cause = errLeadGivenUp
			log.Warn("leader: lead given up; another replica may take it", "retry_in", l.opts.Retry)
		case <-ctx.Done():
			cause = context.Cause(ctx)
			log.Info("leader: released (stopping)")
		case <-ticker.C:
			cctx, cancel := context.WithTimeout(ctx, l.opts.Check)
			err := conn.Ping(cctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				cause = fmt.Errorf("%w: %w", ErrLeadLost, scrubErr(l.scrub, err))
				log.Error("leader: lost: stopping the watchers and the notifier, then campaigning again", "err", cause)
			}
		}
	}
	end(cause)
	<-done
	closeSession(conn)
}

// closeSession ends the leader's session (and with it the lock), bounded:
// a server that does not answer ends it by itself.
func closeSession(conn *pgx.Conn) {
	if conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
