package commands

import (
	"context"
	"fmt"
	"mfbot/reply"
	"slices"
	"strings"
	"time"
)

// catalogue lists the verbs. Flags bounds come from configuration (PRODUCT §6).
func (c *Catalogue) catalogue() []*verb {
	lim := c.cfg.Limits
	tail := FlagSpec{Name: "tail", Kind: FlagInt, Unit: "lines", Min: 1, Max: lim.MaxTail, Help: fmt.Sprintf("last N lines (default %d, at most %d)", lim.DefaultTail, lim.MaxTail)}
	since := FlagSpec{Name: "since", Kind: FlagInstant, MaxDuration: lim.MaxSince,
		Help: fmt.Sprintf("only lines newer than this: a duration back from now (30s, 15m, 2h, 1d) or a time (%s UTC, RFC 3339 with an offset, 2026-12-04); at most %s back", parseTimeExample, parseFormatDuration(lim.MaxSince))}
	return slices.Concat([]*verb{
		{name: "help", usage: "help [command]", summary: "list the commands, or explain one", target: freeArgs, run: c.help},
		{name: "status", usage: "status", summary: "every service at a glance: state, health, uptime, image, restarts", target: noTarget, run: c.status},
		{name: "ps", usage: "ps", summary: "the stack's containers", target: noTarget, run: c.ps},
		{
			name: "logs", usage: "logs <service> [--tail N] [--since D|TIME] [--until D|TIME] [--grep RE] [--stderr]",
			summary:  "recent logs, secrets redacted",
			examples: []string{"logs app", "logs app --since 30m --grep ERROR", "logs app --since 2026-12-04T10:00 --until 2026-12-04T10:30", "logs db --tail 500"},
			flags: []FlagSpec{tail, since,
				{Name: "until", Kind: FlagInstant, MaxDuration: lim.MaxSince, Help: "only lines older than this, a duration back from now or a time, as --since; after --since"},
				{Name: "grep", Kind: FlagRegexp, Help: "only lines matching this regular expression (searches the --since window, else the last " + fmt.Sprint(lim.MaxTail) + " lines)"},
				{Name: "stderr", Kind: FlagBool, Help: "only the error stream"},
			},
			target: serviceTarget, run: c.logs,
		},
		{
			name: "restart", usage: "restart <service> [--no-pull]",
			summary:  "app: pull its image tag and recreate it (make restart-remote-app); others: restart",
			examples: []string{"restart app", "restart app --no-pull", "prod restart db"},
			flags:    []FlagSpec{{Name: "no-pull", Kind: FlagBool, Help: "recreate without pulling the image"}},
			target:   serviceTarget, mutating: true, run: c.restart,
		},
		{
			name: "rollback", usage: "rollback <service> --to <image-id>",
			summary: "recreate a service on a previous image (offered after a failed restart)",
			flags:   []FlagSpec{{Name: "to", Kind: FlagString, Help: "the previous image ID (sha256:...)"}},
			target:  serviceTarget, mutating: true, run: c.rollback,
		},
		{name: "stop", usage: "stop <service>", summary: "stop a service's container", target: serviceTarget, mutating: true, run: c.stop},
		{name: "start", usage: "start <service>", summary: "start a service's container", target: serviceTarget, mutating: true, run: c.start},
		{
			name: "stats", usage: "stats [service] [--chart [--since D|TIME] [--out FILE]]", summary: "CPU, memory, network and block I/O, PIDs; --chart: a service's CPU and memory over the last hour (sampled once a minute), as a picture",
			examples: []string{"stats", "stats app --chart", "stats app --chart --since 6h"},
			flags:    chartFlags(statsChartWindow), target: optionalTarget, run: c.statsOrChart,
		},
		{name: "top", usage: "top <service>", summary: "processes of a container", target: serviceTarget, run: c.top},
		{
			name: "events", usage: "events [--since D|TIME]", summary: "recent Docker events of the stack (exec noise filtered)",
			examples: []string{"events", "events --since 6h", "events --since 2026-12-04T10:00"},
			flags: []FlagSpec{{Name: "since", Kind: FlagInstant, MaxDuration: lim.MaxSince,
				Help: fmt.Sprintf("how far back (default 1h): a duration (30m, 2h, 1d) or a time (%s UTC, RFC 3339 with an offset); at most %s back", parseTimeExample, parseFormatDuration(lim.MaxSince))}},
			target: noTarget, run: c.events,
		},
		{name: "df", usage: "df", summary: "Docker disk usage: images, containers, volumes, build cache", target: noTarget, run: c.df},
		{name: "inspect", usage: "inspect <service>", summary: "configuration and state of a container, secrets masked", target: serviceTarget, run: c.inspect},
		{name: "volumes", usage: "volumes", summary: "the stack's volumes", target: noTarget, run: c.volumes},
		{
			name: "mute", usage: "mute <service|check|flow|all> <duration> [reason]", summary: "silence alerts for a while (a maintenance window); incidents are still recorded",
			examples: []string{"mute app 1h deploying v1.54", "mute positions-received 2h AIS feed down upstream", "mute logbook 2h FTP server down upstream", "prod mute all 30m"},
			target:   freeArgs, mutating: true, run: c.mute, beforeConfirm: c.muteBeforeConfirm,
		},
		{
			name: "unmute", usage: "unmute [service|check|flow|all]", summary: "end mutes early (all of the environment's when no target is given)",
			target: freeArgs, mutating: true, run: c.unmute, beforeConfirm: c.muteBeforeConfirm,
		},
		{
			name: "incidents", usage: "incidents [--closed [--since D]]", summary: "open incidents and active mutes, with their IDs; --closed: the incidents closed recently",
			examples: []string{"incidents", "incidents --closed", "incidents --closed --since 30d"},
			flags: []FlagSpec{
				{Name: "closed", Kind: FlagBool, Help: "the incidents closed recently, for `incident <id> report`"},
				{Name: "since", Kind: FlagDuration, MaxDuration: maxClosedSince, Help: "with --closed: how far back (default 7d, at most 30d)"},
			},
			target: noTarget, run: c.incidentsVerb,
		},
		c.incidentVerb(),
		{
			name: "audit", usage: "audit [--limit N]", summary: "recent commands and clicks: who, what, where, result",
			flags:  []FlagSpec{{Name: "limit", Kind: FlagInt, Unit: "entries", Min: 1, Max: 200, Help: "how many (default 20, at most 200)"}},
			target: noTarget, run: c.auditVerb,
		},
		{name: "version", usage: "version [service]", summary: "image reference, tag, digest and creation; the app's /version", target: optionalTarget, run: c.version},
		c.versionsVerb(),
		c.pruneVerb(),
		c.deployVerb(),
		c.dbVerb(),
		c.healthVerb(),
	}, c.prefectVerbs(), c.pipelineVerbs())
}

func (c *Catalogue) help(_ context.Context, call *call) (reply.Reply, error) {
	if len(call.args.Positional) > 0 {
		name := strings.Join(call.args.Positional, " ")
		v := c.verbs[strings.ToLower(name)]
		if family := c.verbsUnder(name); v == nil && len(family) > 0 {
			t := &reply.Table{Header: []string{"command", "does"}}
			for _, f := range family {
				t.Rows = append(t.Rows, []string{f.usage, f.summary})
			}
			return reply.Reply{Status: reply.StatusOK, Title: "help " + strings.ToLower(name), Blocks: []reply.Block{t}}, nil
		}
		if v == nil {
			if suggestion := closestName(name, slices.Concat(c.verbNames(), c.commandWords())); suggestion != "" {
				return reply.Reply{}, &UsageError{Msg: fmt.Sprintf("No command %q (did you mean %s?).", name, suggestion)}
			}
			return reply.Reply{}, &UsageError{Msg: fmt.Sprintf("No command %q. Commands: %s.", name, strings.Join(c.verbNames(), ", "))}
		}
		text := v.usage + "\n" + upperFirst(v.summary) + "."
		if v.mutating {
			text += "\nNeeds an operator and a confirmation."
		}
		for _, f := range v.flags {
			text += fmt.Sprintf("\n  --%s  %s", f.Name, f.Help)
		}
		if len(v.examples) > 0 {
			text += "\nExamples: " + strings.Join(v.examples, " · ")
		}
		return reply.Reply{Status: reply.StatusOK, Title: "help " + v.name, Blocks: []reply.Block{&reply.Code{Text: text}}}, nil
	}
	t := &reply.Table{Header: []string{"command", "does"}}
	for _, name := range c.verbNames() {
		v := c.verbs[name]
		t.Rows = append(t.Rows, []string{v.usage, v.summary})
	}
	envs := make([]string, 0, len(c.cfg.Environments))
	for _, e := range c.cfg.Environments {
		envs = append(envs, e.Name)
	}
	return reply.Reply{Status: reply.StatusOK, Title: "mfbot commands", Blocks: []reply.Block{
		t,
		&reply.Text{Text: fmt.Sprintf("Syntax: [environment] <command> [service] [flags]. Environments: %s (default %s). Services: %s.",
			strings.Join(envs, ", "), call.env.Config.Name, strings.Join(call.env.Config.ServiceNames(), ", "))},
	}}, nil
}

// imageTag is the tag part of an image reference ("latest" when none).
func imageTag(ref string) string {
	if strings.HasPrefix(ref, "sha256:") {
		return ref[7:19]
	}
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[i+1:]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[i+1:]
	}
	return "latest"
}

// imageRepository strips the tag or digest from an image reference.
func imageRepository(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// auditVerb answers `audit`: the newest entries of the audit log.
func (c *Catalogue) auditVerb(ctx context.Context, call *call) (reply.Reply, error) {
	if c.audit == nil {
		return reply.Reply{}, fmt.Errorf("the audit log needs the store (MFBOT_STORE), which is not open")
	}
	limit := 20
	if call.args.Has("limit") {
		limit = call.args.Ints["limit"]
	}
	entries, err := c.audit.RecentAudit(ctx, limit)
	if err != nil {
		return reply.Reply{}, err
	}
	t := &reply.Table{Header: []string{"time (UTC)", "user", "channel", "env", "command", "result", "took"}}
	for _, e := range entries {
		t.Rows = append(t.Rows, []string{e.Time.UTC().Format("01-02 15:04:05"), e.User, e.Channel, e.Env, e.Command, e.Outcome, e.Duration.Round(time.Millisecond).String()})
	}
	return reply.Reply{Status: reply.StatusOK, Title: fmt.Sprintf("Audit log, last %d entries", len(entries)), Blocks: []reply.Block{t}}, nil
}
