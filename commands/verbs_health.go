package commands

import (
	"context"
	"fmt"
	"strings"

	"mfbot/freshness"
	"mfbot/human"
	"mfbot/reply"
)

// healthVerb is the catalogue entry of `health`: what the operators' cron
// health script checked, on demand.
func (c *Catalogue) healthVerb() *verb {
	return &verb{
		name: "health", usage: "health [--chart [--since D|TIME] [--out FILE]]",
		summary:  "the app healthcheck and data freshness (positions received, positions updated by Prefect, logbook, sudden drop) against their thresholds; read from the database when the app does not answer. --chart: the positions received per 5 minutes over the last day, stale periods shaded, as a picture",
		examples: []string{"health", "prod health", "health --chart", "health --chart --since 3d"},
		flags:    chartFlags(healthChartWindow), target: noTarget, run: c.healthOrChart,
	}
}

// health answers `health` for one environment with freshness.Read, the
// one evaluation the freshness watcher uses too, so that the command and
// the alerts always agree.
//
// The reply is a full report in every case, posted in the channel. Its
// status is the verdict, as `mfbot check`'s exit status is: StatusOK when
// every check that can be judged is ok ("prod: app up, data fresh"),
// StatusFailed when the app healthcheck is down, the database check
// failed, a data check is failing or none could be evaluated ("prod:
// positions stale, …"). So Slack shows it red (❌) rather than under a
// green check mark, and `mfbot console -c health` exits 1 when MonitorFish
// is unhealthy, as the cron script it replaces would alarm. A check that
// the source does not report (the sudden drop, on a backend older than
// 2023-10) is shown unknown but is no failure. An environment with
// neither app_url nor a database, where there is nothing to check, fails
// too, saying so.
func (c *Catalogue) health(ctx context.Context, call *call) (reply.Reply, error) {
	env := call.env
	var app freshness.App
	if env.App != nil {
		app = env.App
	}
	var db freshness.Database
	if env.DB != nil {
		db = env.DB
	}
	name := env.Config.Name
	if app == nil && db == nil {
		return reply.Reply{Status: reply.StatusFailed, Title: "Nothing to check in " + name, Blocks: []reply.Block{&reply.Text{Text: fmt.Sprintf(
			"health reads the app's healthcheck (app_url) and the database (ENV_DB_URL / database_url) of %s: neither is configured.", name)}}}, nil
	}
	al := c.cfg.Alerts
	th := freshness.Thresholds{PositionsReceived: al.PositionsReceived, PositionsUpdated: al.PositionsUpdated, LogbookReceived: al.LogbookReceived}
	r := freshness.Read(ctx, app, db, th, c.now)

	t := &reply.Table{Header: []string{"check", "state", "detail", "last"}}
	var problems, whys []string
	switch {
	case !r.HasApp:
		t.Rows = append(t.Rows, []string{freshness.Label(freshness.CheckAppHealth), "not configured", "no app_url for " + name, ""})
	case r.AppErr != nil:
		t.Rows = append(t.Rows, []string{freshness.Label(freshness.CheckAppHealth), "DOWN", "no answer (why below)", ""})
		problems = append(problems, "app healthcheck down")
		whys = append(whys, "App healthcheck: "+oneLine(r.AppErr.Error()))
	default:
		t.Rows = append(t.Rows, []string{freshness.Label(freshness.CheckAppHealth), "up", "answered", ""})
	}
	switch {
	case !r.HasDB:
		t.Rows = append(t.Rows, []string{freshness.Label(freshness.CheckDatabase), "not configured", "no database_url / ENV_DB_URL for " + name, ""})
	case r.DBErr != nil:
		t.Rows = append(t.Rows, []string{freshness.Label(freshness.CheckDatabase), "FAILING", "no answer (why below)", ""})
		problems = append(problems, "database check failed")
		whys = append(whys, "Database: "+oneLine(r.DBErr.Error()))
	default:
		t.Rows = append(t.Rows, []string{freshness.Label(freshness.CheckDatabase), "reachable", "answered", ""})
	}
	for _, res := range r.Results {
		state := string(res.Verdict)
		if res.Verdict == freshness.Failing {
			state = "FAILING"
			problems = append(problems, problemOf(res.Check))
		}
		last := ""
		if !res.At.IsZero() {
			last = human.Stamp(res.At)
		}
		t.Rows = append(t.Rows, []string{res.Label, state, res.Detail, last})
	}

	var source string
	switch r.Facts.From {
	case freshness.FromHealthcheck:
		source = "Data facts from the app healthcheck, judged at " + human.Clock(r.At) + "."
	case freshness.FromDatabase:
		if r.HasApp {
			source = "The app healthcheck does not answer: data facts read from the database instead, judged at " + human.Clock(r.At) + "."
		} else {
			source = "No app_url: data facts read from the database, judged at " + human.Clock(r.At) + "."
		}
	default:
		source = "No source answered: the data checks cannot be evaluated (they are not guessed)."
		problems = append(problems, "freshness cannot be evaluated")
	}
	source += fmt.Sprintf(" Thresholds: positions received %s, positions updated %s, logbook %s.",
		human.Duration(th.PositionsReceived), human.Duration(th.PositionsUpdated), human.Duration(th.LogbookReceived))

	status, title := reply.StatusOK, name+": "
	switch {
	case len(problems) > 0:
		status, title = reply.StatusFailed, title+strings.Join(problems, ", ")
	case r.HasApp:
		title += "app up, data fresh"
	default:
		title += "data fresh (from the database)"
	}
	blocks := []reply.Block{t}
	if len(whys) > 0 {
		// In full here, where a table cell would cut them.
		blocks = append(blocks, &reply.Text{Text: strings.Join(whys, "\n")})
	}
	rep := reply.Reply{Status: status, Title: title, Blocks: append(blocks, &reply.Text{Text: source})}
	if _, ok := env.Config.Service("app"); ok {
		// `@mfbot logs` under the report shows the app's logs.
		rep.Target = &reply.Target{Env: name, Service: "app"}
	}
	return rep, nil
}

// problemOf names a failing data check in a title.
func problemOf(check string) string {
	switch check {
	case freshness.CheckPositionsReceived:
		return "positions stale"
	case freshness.CheckPositionsUpdated:
		return "positions not updated by Prefect"
	case freshness.CheckLogbookReceived:
		return "logbook stale"
	case freshness.CheckSuddenDrop:
		return "sudden drop of positions"
	}
	return check + " failing"
}

// oneLine folds a text onto one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
