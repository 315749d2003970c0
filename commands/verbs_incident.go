package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"mfbot/audit"
	"mfbot/human"
	"mfbot/incident"
	"mfbot/mute"
	"mfbot/pipeline"
	"mfbot/reply"
)

// Incident reports: `incident <id> report` gathers an incident, what the
// operators did about it and the log lines of its thread into a Markdown
// file, the start of a postmortem written by hand until now from Slack;
// `incidents --closed` finds the IDs.

const (
	// reportAuditMargin widens the audit window around the incident: what
	// was done just before it (a deploy) or just after (a mute left on)
	// belongs to its story.
	reportAuditMargin = 15 * time.Minute
	// maxReportActions bounds the report's actions: a crash loop poked at
	// for hours must still give a file one can read.
	maxReportActions = 200
	// maxReportAuditRead bounds the audit entries read for a report, those
	// about other things included (the store's own bound).
	maxReportAuditRead = 1000
	// defaultClosedSince and maxClosedSince bound `incidents --closed
	// --since`: a week covers the postmortems still to write, a month is
	// as far as one goes back in chat.
	defaultClosedSince = 7 * 24 * time.Hour
	maxClosedSince     = 30 * 24 * time.Hour
	// maxClosedListed bounds the list: a table longer than that is not read.
	maxClosedListed = 50
)

// incidentVerb is `incident <id> report`.
func (c *Catalogue) incidentVerb() *verb {
	return &verb{
		name: "incident", usage: "incident <id> report",
		summary:  "an incident's report for its postmortem, as a Markdown file: summary, timeline, operators' actions, logs before the failure",
		examples: []string{"incident 42 report", "prod incident 42 report"},
		target:   freeArgs, run: c.incidentReport,
	}
}

// incidentReport answers `incident <id> report`.
func (c *Catalogue) incidentReport(ctx context.Context, call *call) (reply.Reply, error) {
	id, err := reportID(call.args.Positional)
	if err != nil {
		return reply.Reply{}, err
	}
	reports, err := c.incidentReports()
	if err != nil {
		return reply.Reply{}, err
	}
	inc, err := reports.Incident(ctx, id)
	if errors.Is(err, incident.ErrNotFound) {
		return reply.Reply{}, usageErrorf("No incident %d. `incidents` lists the open ones and `incidents --closed` those closed recently, with their IDs.", id)
	}
	if err != nil {
		return reply.Reply{}, fmt.Errorf("read incident %d: %w", id, err)
	}
	env := call.env.Config.Name
	if inc.Key.Env != env {
		// Roles and channels are per environment: the report is asked
		// for in the incident's own.
		return reply.Reply{}, usageErrorf("Incident %d is in %s: `%s incident %d report`.", id, inc.Key.Env, inc.Key.Env, id)
	}

	now := c.now()
	end := inc.ClosedAt
	if end.IsZero() {
		end = now
	}
	from, to := inc.FirstSeen.Add(-reportAuditMargin), end.Add(reportAuditMargin)
	if to.After(now) {
		to = now
	}
	// Entries without a target (status, help …) come with those about
	// it: the cap applies to the actions kept, not to what was read.
	entries, err := reports.AuditAbout(ctx, env, inc.Key.Target, from, to, maxReportAuditRead)
	if err != nil {
		return reply.Reply{}, fmt.Errorf("read the audit log for incident %d: %w", id, err)
	}
	posts, err := reports.IncidentThreadPosts(ctx, id)
	if err != nil {
		return reply.Reply{}, fmt.Errorf("read the thread of incident %d: %w", id, err)
	}
	report := incident.Report{Incident: inc, ActionsFrom: from, ActionsTo: to, Generated: now}
	for _, e := range entries {
		if !concernsIncident(e, inc) {
			continue
		}
		if len(report.Actions) == maxReportActions {
			report.ActionsCut = true
			break
		}
		report.Actions = append(report.Actions, e)
	}
	report.ActionsCut = report.ActionsCut || len(entries) == maxReportAuditRead
	for _, p := range posts {
		if p.Kind == incident.PostKindLogs {
			report.Logs = append(report.Logs, p)
		}
	}
	content := incident.RenderReport(c.redactReport(report))

	summary := fmt.Sprintf("%s in %s, %s: from %s to %s (%s), %d %s, %d %s in the audit log.",
		inc.Key.Target, inc.Key.Env, inc.State, human.Stamp(inc.FirstSeen), endStamp(inc), human.Duration(inc.Duration(now)),
		inc.Count, human.Plural(inc.Count, "failure", "failures"), len(report.Actions), human.Plural(len(report.Actions), "action", "actions"))
	about := &reply.Target{Env: env, At: inc.LastSeen}
	if _, isService := call.env.Config.Service(inc.Key.Target); isService {
		about.Service = inc.Key.Target
	}
	return reply.Reply{Status: reply.StatusOK, Title: fmt.Sprintf("Report of incident %d", id),
		Blocks: []reply.Block{
			&reply.Text{Text: summary + " Fill in its Cause and Follow-ups."},
			&reply.File{Name: fmt.Sprintf("incident-%d-report.md", id), Title: fmt.Sprintf("Incident %d: %s in %s", id, inc.Key.Target, inc.Key.Env),
				Content: []byte(content)},
		},
		Target: about,
	}, nil
}

// reportID reads `<id> report`; "#42" is taken for 42.
func reportID(args []string) (int64, error) {
	if len(args) != 2 || !strings.EqualFold(args[1], "report") {
		return 0, &UsageError{Msg: "Which incident? `incident 42 report`: `incidents` and `incidents --closed` list the IDs."}
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(args[0], "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, usageErrorf("%q is no incident ID: `incidents` and `incidents --closed` list them.", args[0])
	}
	return id, nil
}

func endStamp(inc *incident.Incident) string {
	if inc.ClosedAt.IsZero() {
		return "now (still open)"
	}
	return human.Stamp(inc.ClosedAt)
}

// concernsIncident says whether an audit entry (of the incident's
// environment) is about the incident's target. An entry with a target
// names it; commands without a service of their own (mute, unmute,
// deploy, flow, run …) are stored without one, and their words say: a
// mute or unmute of the target or of all, an unmute of everything, a flow
// or run command naming its flow or the failed run (Ref), or a deploy — a
// release changes the whole environment. A click on Confirm or Cancel is
// about the command it decided ("confirm (prod mute app 1h)").
func concernsIncident(e audit.Entry, inc *incident.Incident) bool {
	target := inc.Key.Target
	if e.Target != "" {
		return strings.EqualFold(e.Target, target)
	}
	command := e.Command
	for _, click := range []string{"confirm (", "cancel ("} {
		if inner, ok := strings.CutPrefix(command, click); ok && strings.HasSuffix(inner, ")") {
			command = strings.TrimSuffix(inner, ")")
		}
	}
	words, err := Tokenize(command)
	if err != nil {
		return false
	}
	if len(words) > 0 && strings.EqualFold(words[0], e.Env) {
		words = words[1:]
	}
	if len(words) == 0 {
		return false
	}
	verb, args := strings.ToLower(words[0]), words[1:]
	switch {
	case verb == "deploy":
		return true
	case verb == "unmute" && len(args) == 0:
		return true
	case !slices.Contains([]string{"mute", "unmute", "flow", "run", "runs"}, verb):
		// Other verbs without a service are not about one (status, incidents …).
		return false
	}
	for _, a := range args {
		if strings.HasPrefix(a, "-") || strings.HasPrefix(a, "—") || strings.HasPrefix(a, "–") {
			continue
		}
		if strings.EqualFold(a, target) || strings.EqualFold(a, mute.All) || pipeline.Target(a) == target || (inc.Ref != "" && a == inc.Ref) {
			return true
		}
	}
	return false
}

// redactReport redacts what the report quotes: the log lines, the
// command lines, the timeline and the detail. They were redacted when
// written; the report redacts again, at the edge, like every transport.
func (c *Catalogue) redactReport(r incident.Report) incident.Report {
	inc := *r.Incident
	inc.Detail = c.redactor.String(inc.Detail)
	inc.Timeline = make([]incident.Entry, len(r.Incident.Timeline))
	for i, e := range r.Incident.Timeline {
		inc.Timeline[i] = incident.Entry{Time: e.Time, Text: c.redactor.String(e.Text)}
	}
	r.Incident = &inc
	actions := make([]audit.Entry, len(r.Actions))
	for i, e := range r.Actions {
		e.Command = c.redactor.String(e.Command)
		actions[i] = e
	}
	r.Actions = actions
	logs := make([]incident.ThreadPost, len(r.Logs))
	for i, p := range r.Logs {
		p.Title, p.Text, p.Code = c.redactor.String(p.Title), c.redactor.String(p.Text), c.redactor.String(p.Code)
		logs[i] = p
	}
	r.Logs = logs
	return r
}

// closedIncidents answers `incidents --closed [--since D]`.
func (c *Catalogue) closedIncidents(ctx context.Context, call *call) (reply.Reply, error) {
	since := defaultClosedSince
	if call.args.Has("since") {
		since = call.args.Durations["since"]
	}
	if since <= 0 {
		return reply.Reply{}, &UsageError{Msg: "--since must be more than 0, e.g. `incidents --closed --since 3d`."}
	}
	reports, err := c.incidentReports()
	if err != nil {
		return reply.Reply{}, err
	}
	now := c.now()
	closed, err := reports.ClosedIncidents(ctx, now.Add(-since), maxClosedListed+1)
	if err != nil {
		return reply.Reply{}, fmt.Errorf("list the closed incidents: %w", err)
	}
	window := human.Duration(since)
	if len(closed) == 0 {
		return reply.Reply{Status: reply.StatusOK, Title: "No incident closed in the last " + window}, nil
	}
	title := fmt.Sprintf("%d %s closed in the last %s", len(closed), human.Plural(len(closed), "incident", "incidents"), window)
	if len(closed) > maxClosedListed {
		closed = closed[:maxClosedListed]
		title = fmt.Sprintf("The %d incidents closed last, in the last %s (there are more: shorten --since)", maxClosedListed, window)
	}
	t := &reply.Table{Header: []string{"id", "env", "target", "state", "started (UTC)", "lasted", "count"}}
	for _, inc := range closed {
		t.Rows = append(t.Rows, []string{fmt.Sprint(inc.ID), inc.Key.Env, inc.Key.Source + "/" + inc.Key.Target, string(inc.State),
			inc.FirstSeen.UTC().Format("01-02 15:04"), human.Duration(inc.Duration(now)), fmt.Sprint(inc.Count)})
	}
	return reply.Reply{Status: reply.StatusOK, Title: title,
		Blocks: []reply.Block{t, &reply.Text{Text: "`incident <id> report` writes one's report."}}}, nil
}
