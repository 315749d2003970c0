package commands

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"mfbot/config"
	"mfbot/human"
	"mfbot/pipeline"
	"mfbot/reply"
)

// The pipeline verbs: `pipeline status|start|stop [server|flows]`, the
// runbook's make docker-run-pipeline-server / docker-stop-pipeline-flows.
// They act on the pipeline containers (the group `pipeline`: services
// pipeline-server and pipeline-flows) through the same start and stop as
// `start <svc>` and `stop <svc>`, so waiting, reports and audit are those.

const (
	pipelineServer = "pipeline-server"
	pipelineFlows  = "pipeline-flows"
	pipelineGroup  = "pipeline"
	// pipelinePrefectTimeout bounds what `pipeline status` waits for
	// Prefect: the containers' report must not wait on a hung API.
	pipelinePrefectTimeout = 5 * time.Second
	// pipelineFailedRuns is how many failed runs `pipeline status` lists.
	pipelineFailedRuns = 5
)

// pipelineVerbs are the catalogue entries of the pipeline verbs.
func (c *Catalogue) pipelineVerbs() []*verb {
	return []*verb{
		{
			name: "pipeline status", usage: "pipeline status [server|flows]",
			summary:  "the pipeline containers (state, health, uptime, image), whether the Prefect API answers, and its last failed runs",
			examples: []string{"pipeline status", "prod pipeline status flows"}, target: freeArgs, run: c.pipelineStatus,
		},
		{
			name: "pipeline start", usage: "pipeline start [server|flows]",
			summary:  "start the pipeline containers (both when none is named, the server first) and wait for them",
			examples: []string{"pipeline start", "prod pipeline start flows"}, target: freeArgs, mutating: true,
			beforeConfirm: func(_ context.Context, call *call) (reply.Reply, bool) { return beforePipelineAction(call, true) },
			run:           func(ctx context.Context, call *call) (reply.Reply, error) { return c.pipelineAction(ctx, call, true) },
		},
		{
			name: "pipeline stop", usage: "pipeline stop [server|flows]",
			summary:  "stop the pipeline containers (both when none is named, the flows first): no flow runs until started again",
			examples: []string{"pipeline stop flows", "prod pipeline stop"}, target: freeArgs, mutating: true,
			beforeConfirm: func(_ context.Context, call *call) (reply.Reply, bool) { return beforePipelineAction(call, false) },
			run:           func(ctx context.Context, call *call) (reply.Reply, error) { return c.pipelineAction(ctx, call, false) },
		},
	}
}

// pipelineServices are the services a pipeline verb acts on: the one
// named (server or flows), else the group `pipeline`, in the order
// server then flows.
func pipelineServices(call *call) ([]config.Service, error) {
	pos := call.args.Positional
	var names []string
	switch {
	case len(pos) > 1:
		return nil, usageErrorf("%s takes at most one of server or flows, got %q.", call.verb.name, strings.Join(pos, " "))
	case len(pos) == 0:
		names = call.env.Config.Groups[pipelineGroup]
		if len(names) == 0 {
			names = []string{pipelineServer, pipelineFlows}
		}
	default:
		switch strings.ToLower(pos[0]) {
		case "server", pipelineServer:
			names = []string{pipelineServer}
		case "flows", "agent", pipelineFlows:
			names = []string{pipelineFlows}
		default:
			if suggestion := closestName(pos[0], []string{"server", "flows", "agent", pipelineServer, pipelineFlows}); suggestion != "" {
				return nil, usageErrorf("Unknown part of the pipeline %q (did you mean %s?).", pos[0], suggestion)
			}
			return nil, usageErrorf("Which part of the pipeline? server or flows (both when omitted), got %q.", pos[0])
		}
	}
	out := make([]config.Service, 0, len(names))
	for _, name := range names {
		svc, ok := call.env.Config.Service(name)
		if !ok {
			return nil, fmt.Errorf("service %s is not configured in %s: the pipeline verbs act on %s and %s", name, call.env.Config.Name, pipelineServer, pipelineFlows)
		}
		out = append(out, svc)
	}
	// The agent needs its server: start the server first, stop it last.
	slices.SortStableFunc(out, func(a, b config.Service) int { return pipelineRank(a.Name) - pipelineRank(b.Name) })
	return out, nil
}

func pipelineRank(name string) int {
	switch name {
	case pipelineServer:
		return 0
	case pipelineFlows:
		return 1
	}
	return 2
}

func serviceNames(services []config.Service) []string {
	out := make([]string, len(services))
	for i, s := range services {
		out[i] = s.Name
	}
	return out
}

// prefectView is what `pipeline status` learned of Prefect.
type prefectView struct {
	configured bool
	version    string
	err        error
	failed     []pipeline.Run
	failedErr  error
}

// readPrefect asks Prefect whether it answers, and for its last failed runs.
func readPrefect(ctx context.Context, api pipeline.API) prefectView {
	if api == nil {
		return prefectView{}
	}
	ctx, cancel := context.WithTimeout(ctx, pipelinePrefectTimeout)
	defer cancel()
	v := prefectView{configured: true}
	if v.version, v.err = api.Version(ctx); v.err != nil {
		return v
	}
	v.failed, v.failedErr = api.Runs(ctx, pipeline.RunQuery{Failed: true, Limit: pipelineFailedRuns})
	return v
}

// pipelineStatus answers `pipeline status [server|flows]`: the containers,
// from one list call and one inspect each, while Prefect is asked.
func (c *Catalogue) pipelineStatus(ctx context.Context, call *call) (reply.Reply, error) {
	selected, err := pipelineServices(call)
	if err != nil {
		return reply.Reply{}, err
	}
	prefectDone := make(chan prefectView, 1)
	go func() { prefectDone <- readPrefect(ctx, call.env.Pipeline) }()

	all, _, err := call.stack(ctx)
	if err != nil {
		<-prefectDone
		return reply.Reply{}, err
	}
	services := slices.DeleteFunc(all, func(s stackService) bool {
		return !slices.Contains(serviceNames(selected), s.Service.Name)
	})
	details := c.inspectAll(ctx, call, services)
	images := c.statusImages(ctx, call, services, details)
	env := call.env.Config.Name
	t := &reply.Table{Header: []string{"service", "container", "state", "health", "uptime", "image", "restarts"}}
	var problems []string
	var actions []reply.Action
	for i, s := range services {
		if s.Container == nil {
			t.Rows = append(t.Rows, []string{s.Service.Name, "—", "no container", "", "", "", ""})
			problems = append(problems, s.Service.Name+" has no container")
			continue
		}
		d := details[i]
		health, uptime := d.Health, ""
		if health == "" {
			health = "—"
		}
		if d.State == "running" && !d.StartedAt.IsZero() {
			uptime = human.Duration(time.Since(d.StartedAt))
		}
		switch {
		case d.State != "running":
			problems = append(problems, s.Service.Name+" "+d.State)
		case d.Health == "unhealthy":
			problems = append(problems, s.Service.Name+" unhealthy")
		}
		t.Rows = append(t.Rows, []string{s.Service.Name, s.Container.Name, d.State, health, uptime, images[i], fmt.Sprint(d.RestartCount)})
		actions = append(actions, reply.Action{Label: "Logs " + s.Service.Name, Command: env + " logs " + s.Service.Name})
	}

	pv := <-prefectDone
	blocks := []reply.Block{t}
	api := "not configured (PREFECT_API_URL)"
	switch {
	case !pv.configured:
	case pv.err != nil:
		api = "NOT ANSWERING: " + cut(oneLine(pv.err.Error()), 300)
		problems = append(problems, "Prefect API not answering")
	default:
		api = "answers: " + pv.version
	}
	if p := call.env.Config.Prefect; p != nil && p.URL != "" {
		api += " (" + p.URL + ")"
	}
	blocks = append(blocks, &reply.Fields{Fields: []reply.Field{{Label: "Prefect API", Value: api}}})
	switch {
	case !pv.configured || pv.err != nil:
	case pv.failedErr != nil:
		blocks = append(blocks, &reply.Text{Text: "Its failed runs cannot be read: " + cut(oneLine(pv.failedErr.Error()), 300)})
	case len(pv.failed) == 0:
		blocks = append(blocks, &reply.Text{Text: "No recent failed flow run."})
	default:
		now := c.now()
		runs := &reply.Table{Header: []string{"last failed runs", "run", "state", "when"}}
		for _, r := range pv.failed {
			runs.Rows = append(runs.Rows, []string{pipeline.ShortName(r.FlowName), runName(r), r.State.String(), runWhen(r, now)})
		}
		blocks = append(blocks, runs)
	}

	title := fmt.Sprintf("Pipeline of %s: ", env)
	switch {
	case len(problems) > 0:
		title += strings.Join(problems, ", ")
	case pv.configured:
		title += "up, Prefect answers"
	default:
		title += "up"
	}
	rep := reply.Reply{Status: reply.StatusOK, Title: title, Blocks: blocks, Actions: actions}
	if len(selected) == 1 {
		rep.Target = &reply.Target{Env: env, Service: selected[0].Name}
	}
	return rep, nil
}

// beforePipelineAction checks which containers a start or stop acts on,
// and says so in the confirmation.
func beforePipelineAction(call *call, start bool) (reply.Reply, bool) {
	services, err := pipelineServices(call)
	if err != nil {
		return failure(call, err), false
	}
	names := serviceNames(services)
	env := call.env.Config.Name
	if start {
		call.prompt = fmt.Sprintf("Start %s in %s?", strings.Join(names, ", then "), env)
		return reply.Reply{}, true
	}
	slices.Reverse(names)
	call.prompt = fmt.Sprintf("Stop %s in %s?", strings.Join(names, ", then "), env)
	if slices.Contains(names, pipelineFlows) {
		call.prompt += " No flow runs until " + pipelineFlows + " is started again."
	}
	return reply.Reply{}, true
}

// pipelineAction answers a confirmed `pipeline start|stop`: each container
// goes through the very start (waiting for it to be ready) or stop of
// `start <svc>` and `stop <svc>`; the outcomes make one report.
func (c *Catalogue) pipelineAction(ctx context.Context, call *call, start bool) (reply.Reply, error) {
	services, err := pipelineServices(call)
	if err != nil {
		return reply.Reply{}, err
	}
	act, did := c.stop, "stopped"
	if start {
		act, did = c.start, "started"
	} else {
		slices.Reverse(services)
	}
	env := call.env.Config.Name
	var blocks []reply.Block
	var done, failed []string
	serverDown := false
	for _, svc := range services {
		if start && serverDown && svc.Name == pipelineFlows {
			// The agent of pipeline-flows registers with the server: no
			// use starting it against a server that is not up.
			failed = append(failed, svc.Name+" not started")
			blocks = append(blocks, &reply.Text{Text: svc.Name + ": not started, " + pipelineServer + " is not up."})
			continue
		}
		one := *call // the same request, addressed to one service
		one.service = &svc
		rep, err := act(ctx, &one)
		switch {
		case err != nil:
			failed = append(failed, svc.Name+" failed")
			blocks = append(blocks, &reply.Text{Text: svc.Name + ": " + oneLine(err.Error())})
		case rep.Status != reply.StatusOK:
			failed = append(failed, rep.Title)
			blocks = append(blocks, &reply.Text{Text: rep.Title + ":"})
			blocks = append(blocks, rep.Blocks...)
		default:
			done = append(done, svc.Name)
			blocks = append(blocks, &reply.Text{Text: rep.Title + ":"})
			blocks = append(blocks, rep.Blocks...)
		}
		if svc.Name == pipelineServer && (err != nil || rep.Status != reply.StatusOK) {
			serverDown = true
		}
	}
	rep := reply.Reply{Status: reply.StatusOK, Title: fmt.Sprintf("Pipeline %s in %s: %s", did, env, strings.Join(done, ", ")),
		Blocks: blocks, Target: &reply.Target{Env: env}}
	if len(failed) > 0 {
		rep.Status = reply.StatusFailed
		rep.Title = fmt.Sprintf("Pipeline not fully %s in %s: %s", did, env, strings.Join(failed, ", "))
	}
	if len(services) == 1 {
		rep.Target.Service = services[0].Name
	}
	for _, svc := range services {
		rep.Actions = append(rep.Actions, reply.Action{Label: "Logs " + svc.Name, Command: env + " logs " + svc.Name})
	}
	again := env + " pipeline start " + strings.Join(call.args.Positional, " ")
	if start {
		again = env + " pipeline status " + strings.Join(call.args.Positional, " ")
		rep.Actions = append(rep.Actions, reply.Action{Label: "Pipeline status", Command: strings.TrimSpace(again)})
	} else {
		rep.Actions = append(rep.Actions, reply.Action{Label: "Start again", Command: strings.TrimSpace(again)})
	}
	return rep, nil
}
