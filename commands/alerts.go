package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"mfbot/audit"
	"mfbot/config"
	"mfbot/freshness"
	"mfbot/human"
	"mfbot/incident"
	"mfbot/mute"
	"mfbot/pipeline"
	"mfbot/reply"
)

// IncidentSummary is what `incidents` and `status` show of an incident.
type IncidentSummary struct {
	ID                  int64 // for `incident <id> report`
	Env, Source, Target string
	State               string // open, crash-looping, ...
	FirstSeen, LastSeen time.Time
	Count               int
	ExitCode            int
	OOM                 bool
}

// IncidentLister lists the open incidents (the incident store, through bot).
type IncidentLister interface {
	OpenIncidentSummaries(ctx context.Context) ([]IncidentSummary, error)
}

// IncidentReports reads what incident reports and the list of closed
// incidents show: the incident store and the audit log (adapters/store).
type IncidentReports interface {
	// Incident returns the incident id (incident.ErrNotFound if none).
	Incident(ctx context.Context, id int64) (*incident.Incident, error)
	// ClosedIncidents returns at most limit incidents closed at or after
	// since, the most recently closed first.
	ClosedIncidents(ctx context.Context, since time.Time, limit int) ([]*incident.Incident, error)
	// IncidentThreadPosts returns every post of the incident's thread,
	// delivered or not, in order.
	IncidentThreadPosts(ctx context.Context, id int64) ([]incident.ThreadPost, error)
	// AuditAbout returns at most limit audit entries of env between from
	// and to whose target is target or none, oldest first.
	AuditAbout(ctx context.Context, env, target string, from, to time.Time, limit int) ([]audit.Entry, error)
}

// incidentReports is the catalogue's IncidentReports, or why there is none.
func (c *Catalogue) incidentReports() (IncidentReports, error) {
	if c.reports != nil {
		return c.reports, nil
	}
	return nil, fmt.Errorf("incident reports need the store (MFBOT_STORE), which is not open")
}

// maxMute bounds a mute: a forgotten week-long silence is how outages go
// unnoticed.
const maxMute = 7 * 24 * time.Hour

// mute answers `mute <svc|all> <duration> [reason]`.
func (c *Catalogue) mute(ctx context.Context, call *call) (reply.Reply, error) {
	if c.mutes == nil {
		return reply.Reply{}, fmt.Errorf("mutes need the store (MFBOT_STORE), which is not open")
	}
	target, d, reason, err := c.muteArgs(ctx, call)
	if err != nil {
		return reply.Reply{}, err
	}
	now := c.now()
	m, err := c.mutes.AddMute(ctx, mute.Mute{Env: call.env.Config.Name, Target: target, Until: now.Add(d), Reason: reason, By: call.request.User, CreatedAt: now})
	if err != nil {
		return reply.Reply{}, err
	}
	fields := []reply.Field{{Label: "Target", Value: target}, {Label: "Until", Value: m.Until.UTC().Format("2006-01-02 15:04 UTC") + " (" + human.Duration(d) + ")"}}
	if reason != "" {
		fields = append(fields, reply.Field{Label: "Reason", Value: reason})
	}
	about := &reply.Target{Env: call.env.Config.Name}
	if _, isService := call.env.Config.Service(target); isService {
		about.Service = target
	}
	return reply.Reply{Status: reply.StatusOK, Title: fmt.Sprintf("Alerts for %s in %s muted for %s", target, call.env.Config.Name, human.Duration(d)),
		Blocks:  []reply.Block{&reply.Fields{Fields: fields}, &reply.Text{Text: "Incidents are still recorded (`incidents`)."}},
		Actions: []reply.Action{{Label: "Unmute", Command: call.env.Config.Name + " unmute " + target}},
		Target:  about,
	}, nil
}

// muteBeforeConfirm refuses, before any confirmation is asked, a mute or
// an unmute that could not run: no store, an unknown target (with the
// nearest name), a bad duration.
func (c *Catalogue) muteBeforeConfirm(ctx context.Context, call *call) (reply.Reply, bool) {
	var err error
	switch {
	case c.mutes == nil:
		err = fmt.Errorf("mutes need the store (MFBOT_STORE), which is not open")
	case call.verb.name == "mute":
		_, _, _, err = c.muteArgs(ctx, call)
	case len(call.args.Positional) > 1:
		err = &UsageError{Msg: "unmute takes at most one service"}
	case len(call.args.Positional) == 1:
		_, err = c.muteTarget(ctx, call, call.args.Positional[0])
	}
	if err != nil {
		return failure(call, err), false
	}
	return reply.Reply{}, true
}

// muteArgs reads and checks `<svc|check|flow|all> <duration> [reason words]`.
func (c *Catalogue) muteArgs(ctx context.Context, call *call) (target string, d time.Duration, reason string, err error) {
	pos := call.args.Positional
	if len(pos) < 2 {
		return "", 0, "", &UsageError{Msg: "mute needs a target and a duration, e.g. `mute app 1h deploying`."}
	}
	if target, err = c.muteTarget(ctx, call, pos[0]); err != nil {
		return "", 0, "", err
	}
	d, perr := parseMuteDuration(pos[1])
	if perr != nil {
		return "", 0, "", &UsageError{Msg: perr.Error()}
	}
	return target, d, strings.Join(pos[2:], " "), nil
}

// muteChecks are the data freshness checks, which may be muted like services:
// the notifier's mute policy compares an incident's target (a service, or a
// check for the freshness incidents) with the mute's.
var muteChecks = append(append([]string{freshness.CheckAppHealth}, freshness.DataChecks...), freshness.CheckDatabase)

// dockerEngineTarget is the mute target of the incident of an environment's
// Docker engine (bot/watch.DockerEngineTarget, which commands cannot import).
const dockerEngineTarget = "docker-engine"

// checkMuteTarget accepts a service of env, a freshness check, the Docker
// engine or all.
func checkMuteTarget(env config.Environment, raw string) error {
	target := strings.ToLower(raw)
	if _, ok := env.Service(target); ok || target == mute.All || target == dockerEngineTarget || slices.Contains(muteChecks, target) {
		return nil
	}
	if suggestion := closestName(raw, slices.Concat(env.ServiceNames(), muteChecks, []string{dockerEngineTarget, mute.All})); suggestion != "" {
		return &UsageError{Msg: fmt.Sprintf("Unknown service or check %q (did you mean %s?).", raw, suggestion)}
	}
	return &UsageError{Msg: fmt.Sprintf("Unknown service or check %q. Services: %s. Checks: %s. Or %s, or all.",
		raw, strings.Join(env.ServiceNames(), ", "), strings.Join(muteChecks, ", "), dockerEngineTarget)}
}

func parseMuteDuration(s string) (time.Duration, error) {
	d, err := config.ParseDuration(s)
	switch {
	case errors.Is(err, config.ErrDurationOutOfRange):
		return 0, fmt.Errorf("a mute may not exceed 7d")
	case err != nil:
		return 0, err
	case d <= 0:
		return 0, fmt.Errorf("a mute lasts more than 0")
	case d > maxMute:
		return 0, fmt.Errorf("a mute may not exceed 7d")
	}
	return d, nil
}

// unmute answers `unmute [svc|all]`.
func (c *Catalogue) unmute(ctx context.Context, call *call) (reply.Reply, error) {
	if c.mutes == nil {
		return reply.Reply{}, fmt.Errorf("mutes need the store (MFBOT_STORE), which is not open")
	}
	target := mute.All
	switch len(call.args.Positional) {
	case 0:
	case 1:
		var err error
		if target, err = c.muteTarget(ctx, call, call.args.Positional[0]); err != nil {
			return reply.Reply{}, err
		}
	default:
		return reply.Reply{}, &UsageError{Msg: "unmute takes at most one service"}
	}
	n, err := c.mutes.EndMutes(ctx, call.env.Config.Name, target, c.now())
	if err != nil {
		return reply.Reply{}, err
	}
	if n == 0 {
		return reply.Reply{Status: reply.StatusOK, Title: fmt.Sprintf("No active mute for %s in %s", target, call.env.Config.Name)}, nil
	}
	return reply.Reply{Status: reply.StatusOK, Title: fmt.Sprintf("Alerts for %s in %s unmuted (%d mute(s) ended)", target, call.env.Config.Name, n)}, nil
}

// incidentsVerb answers `incidents`: open incidents of every environment
// and the active mutes; with --closed, the incidents closed recently.
func (c *Catalogue) incidentsVerb(ctx context.Context, call *call) (reply.Reply, error) {
	if call.args.Bools["closed"] {
		return c.closedIncidents(ctx, call)
	}
	if call.args.Has("since") {
		return reply.Reply{}, &UsageError{Msg: "--since goes with --closed, e.g. `incidents --closed --since 3d`."}
	}
	if c.incidents == nil || c.mutes == nil {
		return reply.Reply{}, fmt.Errorf("incidents need the store (MFBOT_STORE) and the watchers of `mfbot run`")
	}
	open, err := c.incidents.OpenIncidentSummaries(ctx)
	if err != nil {
		return reply.Reply{}, err
	}
	mutes, err := c.mutePolicy.Active(ctx, c.now())
	if err != nil {
		return reply.Reply{}, err
	}
	now := c.now()
	var blocks []reply.Block
	if len(open) == 0 {
		blocks = append(blocks, &reply.Text{Text: "No open incident."})
	} else {
		t := &reply.Table{Header: []string{"id", "env", "target", "state", "since", "count", "exit", "muted"}}
		for _, inc := range open {
			muted := ""
			if mute.Covering(mutes, inc.Env, inc.Target, now) {
				muted = "yes"
			}
			exit := ""
			if inc.ExitCode != 0 {
				exit = fmt.Sprint(inc.ExitCode)
			}
			if inc.OOM {
				exit += " OOM"
			}
			t.Rows = append(t.Rows, []string{fmt.Sprint(inc.ID), inc.Env, inc.Source + "/" + inc.Target, inc.State, human.Duration(now.Sub(inc.FirstSeen)) + " ago", fmt.Sprint(inc.Count), strings.TrimSpace(exit), muted})
		}
		blocks = append(blocks, t)
	}
	if len(mutes) > 0 {
		t := &reply.Table{Header: []string{"muted", "until (UTC)", "by", "reason"}}
		for _, m := range mutes {
			env := m.Env
			if env == "" {
				env = "every env"
			}
			t.Rows = append(t.Rows, []string{env + "/" + m.Target, m.Until.UTC().Format("01-02 15:04"), m.By, m.Reason})
		}
		blocks = append(blocks, t)
	}
	blocks = append(blocks, &reply.Text{Text: "`incident <id> report` writes an incident's report; `incidents --closed` lists those closed recently."})
	return reply.Reply{Status: reply.StatusOK, Title: fmt.Sprintf("%d open incident(s), %d active mute(s)", len(open), len(mutes)), Blocks: blocks}, nil
}

// MutePolicy is the one mute policy of mfbot: the mutes written in the
// configuration and those typed by users (store; nil: none).
func MutePolicy(cfg *config.Config, store mute.Store) mute.Policy {
	p := mute.Policy{Store: store}
	for _, m := range cfg.Mutes {
		for _, target := range configuredMuteTargets(cfg, m) {
			p.Configured = append(p.Configured, mute.Mute{Env: m.Env, Target: target, Until: m.Until, Reason: m.Reason, By: mute.ByConfiguration})
		}
	}
	return p
}

// configuredMuteTargets says which incident targets a mute of the file
// covers: a group is its services ("pipeline" = pipeline-server and
// pipeline-flows); a service, a check, "all", "prefect-api" and "docker-engine" are
// themselves; any other name is a flow's, written as Prefect shows it
// ("Monitorfish - Scrape legipeche") and keyed as its incidents are
// ("scrape-legipeche").
func configuredMuteTargets(cfg *config.Config, m config.Mute) []string {
	target := strings.ToLower(strings.TrimSpace(m.Target))
	if target == mute.All || target == prefectAPITarget || target == dockerEngineTarget || slices.Contains(muteChecks, target) {
		return []string{target}
	}
	var services []string
	isService := false
	for _, env := range cfg.Environments {
		if m.Env != "" && env.Name != m.Env {
			continue
		}
		if _, ok := env.Service(target); ok {
			isService = true
		}
		for _, member := range env.Groups[target] {
			if !slices.Contains(services, member) {
				services = append(services, member)
			}
		}
	}
	switch {
	case isService:
		return []string{target}
	case len(services) > 0:
		return services
	}
	return []string{pipeline.Target(m.Target)}
}
