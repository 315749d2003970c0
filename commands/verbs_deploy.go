package commands

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"mfbot/audit"
	"mfbot/human"
	"mfbot/release"
	"mfbot/reply"
)

// deployVerb is `deploy <version> [app|pipeline|all]`: the release steps
// of the server (set MONITORFISH_VERSION, make restart-remote-app, make
// deploy-pipeline-flows) from chat, verified, rolled back on failure.
func (c *Catalogue) deployVerb() *verb {
	return &verb{name: "deploy", usage: "deploy <version> [app|pipeline|all]",
		summary: "deploy a version (an image tag): app = pull, recreate, wait healthy, check /version, roll back on failure; " +
			"pipeline = run deploy-flows with it and check Prefect's deployments",
		examples:      []string{"deploy v1.54.0", "prod deploy v1.54.0 all", "deploy v1.54.0 pipeline"},
		target:        freeArgs,
		mutating:      true,
		beforeConfirm: c.deployBeforeConfirm,
		run:           c.deploy,
	}
}

// tagPattern is the grammar of an image tag (the distribution spec's).
var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// deployment is what one `deploy` call asks for, once checked.
type deployment struct {
	version string
	app     bool
	flows   bool
	target  string // app, pipeline or all, as typed (normalized)
}

// parseDeploy checks the arguments; errors are usage errors.
func (c *Catalogue) parseDeploy(call *call) (deployment, error) {
	args := call.args.Positional
	if len(args) == 0 || len(args) > 2 {
		return deployment{}, &UsageError{Msg: "deploy takes a version (an image tag such as v1.54.0), then optionally app, pipeline or all."}
	}
	d := deployment{version: args[0], target: release.App}
	if !tagPattern.MatchString(d.version) {
		return deployment{}, &UsageError{Msg: fmt.Sprintf("%q is not an image tag (letters, digits, _ . -; at most 128).", d.version)}
	}
	if len(args) == 2 {
		d.target = strings.ToLower(args[1])
	}
	switch d.target {
	case release.App:
		d.app = true
	case release.Pipeline:
		d.flows = true
	case "all":
		d.app, d.flows = true, true
	default:
		if suggestion := closestName(d.target, []string{release.App, release.Pipeline, "all"}); suggestion != "" {
			return deployment{}, &UsageError{Msg: fmt.Sprintf("Unknown deploy target %q (did you mean %s?).", d.target, suggestion)}
		}
		return deployment{}, &UsageError{Msg: fmt.Sprintf("deploy what? %q: say app, pipeline or all.", d.target)}
	}
	if d.app {
		if _, ok := call.env.Config.Service(release.App); !ok {
			return deployment{}, &UsageError{Msg: "this environment has no app service to deploy"}
		}
	}
	if d.flows && call.env.Config.Deploy.Flows == nil {
		return deployment{}, &UsageError{Msg: "deploy pipeline needs deploy.flows in the configuration of " + call.env.Config.Name +
			" (the deploy-flows container: image, command, env_file, network; see mfbot.example.yaml)"}
	}
	return d, nil
}

// deployBeforeConfirm refuses, before any confirmation, what cannot run:
// bad arguments, a tag the registry does not have, a deploy already
// running; and says in the prompt what will change.
func (c *Catalogue) deployBeforeConfirm(ctx context.Context, call *call) (reply.Reply, bool) {
	d, err := c.parseDeploy(call)
	if err != nil {
		return failure(call, err), false
	}
	if c.releases == nil {
		return failure(call, errNoReleaseStore), false
	}
	if h, held, err := c.releases.DeployHolder(ctx, call.env.Config.Name, c.now()); err == nil && held {
		return heldReply(call, h, c.now()), false
	}
	var parts []string
	if d.app {
		from := ""
		app := c.serviceCall(call, release.App)
		if ctr, err := app.container(ctx); err == nil {
			if dt, err := call.env.Docker.Inspect(ctx, ctr.ID); err == nil {
				from = " (now " + imageTag(containerReference(dt, *ctr)) + ")"
			}
			if repo, err := serviceRepository(ctx, app, ctr); err == nil {
				if rep, ok := c.checkTag(ctx, call, repo, d.version); !ok {
					return rep, false
				}
			}
		}
		parts = append(parts, "app"+from+": pull, recreate, wait until healthy, check /version; rolls back on any failure")
	}
	if d.flows {
		repo, err := c.flowsRepository(ctx, call)
		if err != nil {
			return failure(call, err), false
		}
		if rep, ok := c.checkTag(ctx, call, repo, d.version); !ok {
			return rep, false
		}
		parts = append(parts, "pipeline: pull "+repo+":"+d.version+", run deploy-flows with it, check Prefect's deployments")
	}
	call.prompt = fmt.Sprintf("Deploy %s to %s in %s?\n%s", d.version, d.target, call.env.Config.Name, strings.Join(parts, "\n"))
	return reply.Reply{}, true
}

// checkTag refuses a version the registry does not list. A registry that
// cannot be read does not stop the deploy: the pull will tell.
func (c *Catalogue) checkTag(ctx context.Context, call *call, repo, version string) (reply.Reply, bool) {
	if call.env.Registry == nil {
		return reply.Reply{}, true
	}
	tags, err := call.env.Registry.Tags(ctx, repo)
	if err != nil || slices.Contains(tags, version) {
		return reply.Reply{}, true
	}
	sortTags(tags)
	newest := tags[:min(len(tags), 5)]
	return reply.Reply{Status: reply.StatusUsage, Title: "Unknown version: nothing was done",
		Blocks: []reply.Block{&reply.Text{Text: fmt.Sprintf("%s has no tag %s. Newest: %s. `versions` lists them.", repo, version, strings.Join(newest, ", "))}}}, false
}

var errNoReleaseStore = errors.New("deploy needs the store (MFBOT_STORE): it keeps the deploy lock and what was deployed")

// deploy runs a confirmed `deploy`.
func (c *Catalogue) deploy(ctx context.Context, call *call) (reply.Reply, error) {
	d, err := c.parseDeploy(call)
	if err != nil {
		return reply.Reply{}, err
	}
	if c.releases == nil {
		return reply.Reply{}, errNoReleaseStore
	}
	env := call.env.Config
	started := c.now()
	holder := release.Holder{Env: env.Name, Token: newToken(), By: call.request.User,
		Command: "deploy " + d.version + " " + d.target, Since: started, Until: started.Add(env.Deploy.Timeout)}
	current, ok, err := c.releases.AcquireDeploy(ctx, holder, started)
	if err != nil {
		return reply.Reply{}, fmt.Errorf("take the deploy lock of %s: %w", env.Name, err)
	}
	if !ok {
		return heldReply(call, current, started), nil
	}
	// The lock and the records outlive a cancelled command: a deploy
	// half done must still be recorded, and the lock given back.
	keep := context.WithoutCancel(ctx)
	defer func() {
		if err := c.releases.ReleaseDeploy(keep, env.Name, holder.Token); err != nil {
			c.log.Error("release the deploy lock", "env", env.Name, "err", err)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, env.Deploy.Timeout)
	defer cancel()

	title := fmt.Sprintf("Deploying %s to %s in %s", d.version, d.target, env.Name)
	run := &deployRun{c: c, call: call, title: title, started: started, steps: progressOf(call)}
	var ann Announcement
	if c.announcer != nil {
		ann = c.announcer.Announce(ctx, env.Name, reply.Progress{Title: title, Step: "starting", Detail: "by " + mention(call.request.User)})
		run.steps = fanOut{run.steps, ann}
	}
	run.audit("started", "")

	var outcomes []deployOutcome
	if d.app {
		outcomes = append(outcomes, c.deployApp(ctx, run, d.version))
	}
	if d.flows && (len(outcomes) == 0 || outcomes[0].outcome == release.Deployed) {
		outcomes = append(outcomes, c.deployFlows(ctx, run, d.version))
	}
	for _, o := range outcomes {
		rec := release.Deploy{Env: env.Name, Target: o.target, Version: d.version, Previous: o.previous, Image: o.image,
			ImageID: o.imageID, Digest: o.digest, Outcome: o.outcome, Detail: c.redactor.String(o.detail),
			By: call.request.User, At: started, Took: c.now().Sub(started)}
		if _, err := c.releases.RecordDeploy(keep, rec); err != nil {
			c.log.Error("record a deploy", "env", env.Name, "target", o.target, "err", err)
		}
	}
	rep := deployReply(call, d, outcomes, c.now().Sub(started))
	run.audit("finished: "+rep.Title, rep.Status.String())
	if ann != nil {
		announced := rep
		announced.RequestedBy = call.request.User
		ann.Finish(keep, announced)
	}
	return rep, nil
}

// deployOutcome is how one target's deploy ended.
type deployOutcome struct {
	target   string
	outcome  string // release.Deployed, RolledBack or Failed
	previous string // the tag that ran before
	// image, imageID, digest: what runs now (see release.Deploy).
	image, imageID, digest string
	detail                 string // why it failed
	fields                 []reply.Field
	notes                  []string // what happened, one line each
	output                 []string // last lines of deploy-flows when it failed
}

// deployRun carries one deploy's progress and audit.
type deployRun struct {
	c       *Catalogue
	call    *call
	title   string
	started time.Time
	steps   Steps
	done    []string
}

// step shows where the deploy is.
func (r *deployRun) step(step, detail string) {
	r.steps.Step(reply.Progress{Title: r.title, Step: step, Detail: detail, Elapsed: r.c.now().Sub(r.started), Done: slices.Clone(r.done)})
}

// passed records a finished step: shown in the progress, and audited.
func (r *deployRun) passed(what, outcome string) {
	r.done = append(r.done, what)
	r.audit(what, outcome)
}

// audit writes one step of the deploy to the audit log.
func (r *deployRun) audit(what, outcome string) {
	if outcome == "" {
		outcome = "step"
	}
	req := r.call.request
	r.c.writeAudit(context.Background(), audit.Entry{Time: r.c.now(), User: req.User, Channel: req.Channel, Via: req.Via,
		Env: r.call.env.Config.Name, Target: "deploy", Command: r.c.redactor.String(strings.TrimPrefix(r.title, "Deploying ") + ": " + what),
		Outcome: outcome, Duration: r.c.now().Sub(r.started)})
}

// heldReply refuses a deploy while another runs, naming it.
func heldReply(call *call, h release.Holder, now time.Time) reply.Reply {
	return reply.Reply{Status: reply.StatusFailed, Title: "A deploy is already running in " + call.env.Config.Name + ": nothing was done",
		Blocks: []reply.Block{&reply.Text{Text: fmt.Sprintf("`%s` by %s since %s (%s ago). Wait for it to finish; its outcome will be posted.",
			h.Command, mention(h.By), human.Clock(h.Since), human.Duration(now.Sub(h.Since)))}}}
}

// mention names a user: a Slack mention for Slack IDs, else as is.
func mention(user string) string {
	if user != "" && !strings.Contains(user, ":") {
		return "<@" + user + ">"
	}
	return user
}

func newToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// serviceCall is call aimed at another of the environment's services.
func (c *Catalogue) serviceCall(call *call, name string) *call {
	one := *call
	if svc, ok := call.env.Config.Service(name); ok {
		one.service = &svc
	}
	return &one
}

// deployReply sums up a deploy.
func deployReply(call *call, d deployment, outcomes []deployOutcome, took time.Duration) reply.Reply {
	status, verdicts := reply.StatusOK, make([]string, 0, len(outcomes))
	var blocks []reply.Block
	for _, o := range outcomes {
		if o.outcome != release.Deployed {
			status = reply.StatusFailed
		}
		verdicts = append(verdicts, o.target+" "+o.outcome)
		fields := append(slices.Clone(o.fields), reply.Field{Label: "Outcome", Value: o.target + ": " + o.outcome})
		blocks = append(blocks, &reply.Fields{Fields: fields})
		if len(o.notes) > 0 {
			blocks = append(blocks, &reply.Text{Text: strings.Join(o.notes, "\n")})
		}
		if len(o.output) > 0 {
			blocks = append(blocks, &reply.Code{Text: strings.Join(o.output, "\n")})
		}
	}
	if d.app && d.flows && len(outcomes) == 1 {
		verdicts = append(verdicts, "pipeline not deployed (the app failed)")
	}
	blocks = append(blocks, &reply.Fields{Fields: []reply.Field{{Label: "Took", Value: took.Round(100 * time.Millisecond).String()}}})
	title := fmt.Sprintf("Deployed %s to %s in %s", d.version, d.target, call.env.Config.Name)
	if status != reply.StatusOK {
		title = fmt.Sprintf("Deploy of %s to %s in %s failed: %s", d.version, d.target, call.env.Config.Name, strings.Join(verdicts, ", "))
	}
	rep := reply.Reply{Status: status, Title: title, Blocks: blocks, Target: &reply.Target{Env: call.env.Config.Name}}
	if d.app {
		rep.Target.Service = release.App
		rep.Actions = append(rep.Actions, reply.Action{Label: "Logs", Command: call.env.Config.Name + " logs app"})
	}
	rep.Actions = append(rep.Actions, reply.Action{Label: "Status", Command: call.env.Config.Name + " status"})
	return rep
}
