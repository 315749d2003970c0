// Package freshness judges whether MonitorFish's data keeps flowing: the
// facts its healthcheck reports (or the database, when the endpoint does
// not answer) against the thresholds of the operators' cron health script.
// It decides with pure functions and imports nothing of mfbot but human.
package freshness

import (
	"context"
	"time"

	"mfbot/human"
)

// Facts are the freshness facts of one environment, as MonitorFish's
// healthcheck reports them. A zero time means the fact is unknown.
type Facts struct {
	LastPositionReceived time.Time // dateLastPositionReceivedByAPI
	LastPositionUpdated  time.Time // dateLastPositionUpdatedByPrefect
	LastLogbookMessage   time.Time // dateLogbookMessageReceived
	SuddenDrop           bool      // suddenDropOfPositionsReceived
	// SuddenDropKnown is false when the source could not tell.
	SuddenDropKnown bool
	// From says where the facts were read: FromHealthcheck or FromDatabase.
	From string
}

// Where facts come from.
const (
	FromHealthcheck = "app healthcheck"
	FromDatabase    = "database"
)

// Thresholds are the largest ages accepted (MonitorFish's cron script:
// 5 min, 5 min, 10 min).
type Thresholds struct {
	PositionsReceived time.Duration
	PositionsUpdated  time.Duration
	LogbookReceived   time.Duration
}

// The checks, by name. Each is its own incident identity.
const (
	CheckAppHealth         = "app-healthcheck"
	CheckPositionsReceived = "positions-received"
	CheckPositionsUpdated  = "positions-updated"
	CheckLogbookReceived   = "logbook-received"
	CheckSuddenDrop        = "sudden-drop"
	CheckDatabase          = "database"
)

// DataChecks are the checks judged from Facts, in display order.
var DataChecks = []string{CheckPositionsReceived, CheckPositionsUpdated, CheckLogbookReceived, CheckSuddenDrop}

// Verdict is the outcome of a check.
type Verdict string

const (
	OK      Verdict = "ok"
	Failing Verdict = "failing"
	// Unknown: the check could not be evaluated (no source answered, or
	// the source does not know the fact). Never guessed as ok or failing.
	Unknown Verdict = "unknown"
)

// Result is one judged check.
type Result struct {
	Check   string
	Label   string // "Last position received"
	Verdict Verdict
	At      time.Time     // the fact's time (zero for sudden drop or unknown)
	Age     time.Duration // now - At
	Limit   time.Duration // threshold (0 for sudden drop)
	Detail  string        // one line for humans: "12 min ago (limit 5 min)"
}

// Label names a check for humans.
func Label(check string) string {
	switch check {
	case CheckAppHealth:
		return "App healthcheck"
	case CheckPositionsReceived:
		return "Last position received"
	case CheckPositionsUpdated:
		return "Last positions updated by Prefect"
	case CheckLogbookReceived:
		return "Last logbook message"
	case CheckSuddenDrop:
		return "Sudden drop of positions"
	case CheckDatabase:
		return "Database"
	}
	return check
}

// Judge holds each fact against its threshold at now, in DataChecks order.
func Judge(f Facts, th Thresholds, now time.Time) []Result {
	return []Result{
		judgeAge(CheckPositionsReceived, f.LastPositionReceived, th.PositionsReceived, now),
		judgeAge(CheckPositionsUpdated, f.LastPositionUpdated, th.PositionsUpdated, now),
		judgeAge(CheckLogbookReceived, f.LastLogbookMessage, th.LogbookReceived, now),
		judgeDrop(f),
	}
}

// Unknowns is every data check as Unknown, with why.
func Unknowns(why string) []Result {
	out := make([]Result, len(DataChecks))
	for i, c := range DataChecks {
		out[i] = Result{Check: c, Label: Label(c), Verdict: Unknown, Detail: why}
	}
	return out
}

func judgeAge(check string, at time.Time, limit time.Duration, now time.Time) Result {
	r := Result{Check: check, Label: Label(check), At: at, Limit: limit}
	if at.IsZero() {
		r.Verdict, r.Detail = Unknown, "no data"
		return r
	}
	r.Age = now.Sub(at)
	if r.Age < 0 {
		r.Age = 0 // clocks differ by a little: in the future is fresh
	}
	r.Verdict = OK
	if limit > 0 && r.Age > limit {
		r.Verdict = Failing
	}
	r.Detail = human.Duration(r.Age) + " ago (limit " + human.Duration(limit) + ")"
	return r
}

func judgeDrop(f Facts) Result {
	r := Result{Check: CheckSuddenDrop, Label: Label(CheckSuddenDrop)}
	switch {
	case !f.SuddenDropKnown:
		r.Verdict, r.Detail = Unknown, "not reported"
	case f.SuddenDrop:
		r.Verdict, r.Detail = Failing, "positions received dropped suddenly"
	default:
		r.Verdict, r.Detail = OK, "no sudden drop"
	}
	return r
}

// App reads MonitorFish's healthcheck endpoint (adapters/monitorfish).
type App interface {
	Healthcheck(ctx context.Context) (Facts, error)
}

// Database reads the same facts from the database, with the functions
// and tables MonitorFish itself uses (adapters/postgres).
type Database interface {
	Freshness(ctx context.Context) (Facts, error)
}

// Reading is one evaluation of an environment's data freshness.
type Reading struct {
	At time.Time
	// HasApp and HasDB say which sources are configured.
	HasApp, HasDB bool
	// AppErr and DBErr are why a configured source did not answer (nil:
	// it answered).
	AppErr, DBErr error
	// Facts are those of the endpoint when it answered, else those of the
	// database; Facts.From is "" when neither answered.
	Facts Facts
	// Results judge the data checks (DataChecks order); Unknown when no
	// source answered.
	Results []Result
}

// Read asks the app's healthcheck and, when configured, the database
// (every time: the database's reachability is a check of its own), and
// judges the facts of the first that answered. app or db may be nil.
func Read(ctx context.Context, app App, db Database, th Thresholds, now func() time.Time) Reading {
	r := Reading{HasApp: app != nil, HasDB: db != nil}
	var appFacts, dbFacts Facts
	if app != nil {
		appFacts, r.AppErr = app.Healthcheck(ctx)
	}
	if db != nil {
		dbFacts, r.DBErr = db.Freshness(ctx)
	}
	r.At = now()
	switch {
	case app != nil && r.AppErr == nil:
		r.Facts = appFacts
		r.Facts.From = FromHealthcheck
	case db != nil && r.DBErr == nil:
		r.Facts = dbFacts
		r.Facts.From = FromDatabase
	}
	if r.Facts.From == "" {
		r.Results = Unknowns(r.unknownWhy())
		return r
	}
	r.Results = Judge(r.Facts, th, r.At)
	return r
}

// unknownWhy says why no fact could be read.
func (r Reading) unknownWhy() string {
	switch {
	case !r.HasApp && !r.HasDB:
		return "cannot be evaluated: neither app_url nor a database is configured"
	case r.HasApp && r.HasDB:
		return "cannot be evaluated: the app healthcheck and the database are both unreachable"
	case r.HasApp:
		return "cannot be evaluated: the app healthcheck does not answer and no database is configured"
	}
	return "cannot be evaluated: the database is unreachable and no app_url is configured"
}
