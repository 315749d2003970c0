package commands

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"mfbot/containers"
	"mfbot/human"
	"mfbot/pipeline"
	"mfbot/release"
	"mfbot/reply"
)

// outputKept is how many of deploy-flows' last lines a failed deploy shows.
const outputKept = 20

// deployFlows deploys version to the pipeline as `make
// deploy-pipeline-flows` does: pull the pipeline image at version, run
// the deploy-flows container once with it (its output streamed), then
// check that Prefect's deployments carry version. When deploy-flows
// fails, it runs again with the version the deployments had before.
func (c *Catalogue) deployFlows(ctx context.Context, run *deployRun, version string) deployOutcome {
	out := deployOutcome{target: release.Pipeline, outcome: release.Failed}
	fail := func(format string, args ...any) deployOutcome {
		out.detail = fmt.Sprintf(format, args...)
		out.notes = append(out.notes, "✗ "+out.detail)
		run.audit("pipeline: "+out.detail, "failed")
		return out
	}
	repo, err := c.flowsRepository(ctx, run.call)
	if err != nil {
		return fail("%v", err)
	}
	before, beforeErr := c.flowVersions(ctx, run.call)
	out.previous = mostCommon(before)
	ref := repo + ":" + version

	run.step("pulling "+ref, "")
	pullStarted := time.Now()
	imageID, err := run.call.env.Docker.Pull(ctx, ref, containers.PullOptions{Auth: c.registryAuth(repo), Progress: func(p containers.PullProgress) {
		run.step("pulling "+ref, pullDetail(p))
	}})
	if err != nil {
		out.notes = append(out.notes, "Nothing was changed: the deployments were not touched.")
		return fail("pull %s: %v", ref, err)
	}
	run.passed(fmt.Sprintf("pulled %s in %s", ref, human.Duration(time.Since(pullStarted))), "")

	exit, lines, err := c.runDeployFlows(ctx, run, ref, version)
	if err != nil || exit != 0 {
		if err != nil {
			fail("deploy-flows %s: %v", version, err)
		} else {
			fail("deploy-flows %s exited with code %d", version, exit)
		}
		out.output = lines
		return c.rollBackFlows(ctx, run, repo, out)
	}
	run.passed("deploy-flows "+version+" done", "")

	if run.call.env.Pipeline == nil {
		out.outcome = release.Deployed
		out.image, out.imageID = ref, imageID
		out.notes = append(out.notes, "Prefect is not configured here (prefect_url): the deployments were not checked.")
		return out
	}
	run.step("checking Prefect's deployments", "expecting "+version)
	after, err := c.flowVersions(ctx, run.call)
	if err != nil {
		return fail("read Prefect's deployments after deploy-flows: %v", err)
	}
	var stale []string
	for _, name := range slices.Sorted(maps.Keys(after)) {
		if !carries(after[name], version) {
			stale = append(stale, fmt.Sprintf("%s (%s)", name, orUnknown(after[name].Version)))
		}
	}
	if len(after) == 0 {
		return fail("Prefect has no deployment after deploy-flows")
	}
	if len(stale) > 0 {
		return fail("%s of %d deployments do not carry %s: %s", fmt.Sprint(len(stale)), len(after), version, strings.Join(stale, ", "))
	}
	run.passed(fmt.Sprintf("Prefect: %d deployments carry %s", len(after), version), "")
	out.outcome = release.Deployed
	out.image, out.imageID = ref, imageID
	prev := out.previous
	if beforeErr != nil || prev == "" {
		prev = "?"
	}
	out.fields = []reply.Field{
		{Label: "Pipeline", Value: fmt.Sprintf("%s → %s", prev, version)},
		{Label: "Deployments", Value: fmt.Sprintf("%d carry %s", len(after), version)},
	}
	return out
}

// runDeployFlows runs the configured deploy-flows container with ref,
// streaming its lines; it returns its exit code and its last lines.
func (c *Catalogue) runDeployFlows(ctx context.Context, run *deployRun, ref, version string) (int, []string, error) {
	flows := run.call.env.Config.Deploy.Flows
	env := []string{}
	if _, set := flows.Environment["MONITORFISH_VERSION"]; !set {
		env = append(env, "MONITORFISH_VERSION="+version)
	}
	for _, k := range slices.Sorted(maps.Keys(flows.Environment)) {
		env = append(env, k+"="+strings.ReplaceAll(flows.Environment[k], "{version}", version))
	}
	spec := containers.RunSpec{
		Name:    fmt.Sprintf("mfbot-deploy-flows-%s-%d", run.call.env.Config.Name, time.Now().Unix()),
		Image:   ref,
		Cmd:     flows.Command,
		EnvFile: flows.EnvFile,
		Env:     env,
		Binds:   flows.Volumes,
		Network: flows.Network,
		Labels:  map[string]string{"fr.gouv.monitorfish.mfbot": "deploy-flows", "fr.gouv.monitorfish.version": version},
		Timeout: flows.Timeout,
	}
	// The program may print the secrets it was given (a connection
	// string with its password): their values are masked, which no
	// pattern could do.
	given := slices.Clone(env)
	if flows.EnvFile != "" {
		fromFile, err := containers.ReadEnvFile(flows.EnvFile, os.LookupEnv)
		if err != nil {
			return 0, nil, fmt.Errorf("deploy.flows.env_file: %w", err)
		}
		given = append(fromFile, given...)
	}
	mask := secretValues(given)
	var last []string
	started := time.Now()
	run.step("running deploy-flows "+version, "")
	res, err := run.call.env.Docker.RunOnce(ctx, spec, func(l containers.LogLine) error {
		line := c.redactor.String(mask.Replace(l.Text))
		last = append(last, line)
		if len(last) > outputKept {
			last = last[len(last)-outputKept:]
		}
		run.steps.Output(line)
		run.step("running deploy-flows "+version, fmt.Sprintf("%s; %s", human.Duration(time.Since(started)), shortLine(line)))
		return nil
	})
	return res.ExitCode, last, err
}

// secretValues replaces the values of the entries whose names look
// secret (MaskEnv's rule) by Redacted. Values shorter than 4 characters
// are left: masking "1" everywhere would hide nothing and garble all.
func secretValues(env []string) *strings.Replacer {
	var values []string
	for _, kv := range env {
		_, value, _ := strings.Cut(kv, "=")
		if len(value) >= 4 && MaskEnv(kv) != kv {
			values = append(values, value)
		}
	}
	// The longest first: a value that contains another is masked whole.
	slices.SortFunc(values, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(values))
	for _, v := range values {
		pairs = append(pairs, v, Redacted)
	}
	return strings.NewReplacer(pairs...)
}

// rollBackFlows runs deploy-flows again with the version the deployments
// carried before, so that runs do not start on a half-registered release.
func (c *Catalogue) rollBackFlows(ctx context.Context, run *deployRun, repo string, out deployOutcome) deployOutcome {
	if out.previous == "" {
		out.notes = append(out.notes, "No previous version is known (the deployments carried none): nothing to roll back to. Check the deployments in Prefect.")
		return out
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), run.call.env.Config.Deploy.Flows.Timeout+time.Minute)
	defer cancel()
	ref := repo + ":" + out.previous
	run.step("rolling back: pulling "+ref, out.detail)
	if _, err := run.call.env.Docker.Pull(ctx, ref, containers.PullOptions{Auth: c.registryAuth(repo)}); err != nil {
		out.notes = append(out.notes, "✗ Roll back failed: pull "+ref+": "+err.Error()+". Check the deployments in Prefect.")
		run.audit("pipeline: roll back failed: "+err.Error(), "failed")
		return out
	}
	run.step("rolling back: deploy-flows "+out.previous, out.detail)
	exit, _, err := c.runDeployFlows(ctx, run, ref, out.previous)
	if err != nil || exit != 0 {
		why := fmt.Sprintf("exit code %d", exit)
		if err != nil {
			why = err.Error()
		}
		out.notes = append(out.notes, "✗ Roll back failed too (deploy-flows "+out.previous+": "+why+"). Check the deployments in Prefect.")
		run.audit("pipeline: roll back failed: "+why, "failed")
		return out
	}
	out.outcome = release.RolledBack
	out.image = ref
	out.notes = append(out.notes, "↩ Rolled back on its own: deploy-flows ran again with "+out.previous+".")
	run.passed("pipeline rolled back to "+out.previous, "rolled back")
	return out
}

// flowsRepository is the pipeline image's repository: deploy.flows.image,
// else that of the pipeline-flows service's image.
func (c *Catalogue) flowsRepository(ctx context.Context, call *call) (string, error) {
	if f := call.env.Config.Deploy.Flows; f != nil && f.Image != "" {
		return imageRepository(f.Image), nil
	}
	flows := c.serviceCall(call, pipelineFlows)
	if flows.service == nil {
		return "", fmt.Errorf("set deploy.flows.image: %s has no %s service to take the pipeline image from", call.env.Config.Name, pipelineFlows)
	}
	if flows.service.Image != "" {
		return imageRepository(flows.service.Image), nil
	}
	ctr, err := flows.container(ctx)
	if err != nil {
		return "", fmt.Errorf("find the pipeline image (set deploy.flows.image): %w", err)
	}
	return serviceRepository(ctx, flows, ctr)
}

// flowVersions reads the deployments' versions, by name; nil when
// Prefect is not configured.
func (c *Catalogue) flowVersions(ctx context.Context, call *call) (map[string]pipeline.Flow, error) {
	if call.env.Pipeline == nil {
		return nil, nil
	}
	flows, err := call.env.Pipeline.Flows(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]pipeline.Flow, len(flows))
	for _, f := range flows {
		out[f.Name] = f
	}
	return out, nil
}

// carries says that a deployment was registered with version: its
// version, or the tag of its image.
func carries(f pipeline.Flow, version string) bool {
	return f.Version == version || (f.Image != "" && imageTag(f.Image) == version)
}

// mostCommon is the version most deployments carry ("" when none does).
func mostCommon(flows map[string]pipeline.Flow) string {
	counts := map[string]int{}
	best := ""
	for _, f := range flows {
		v := f.Version
		if v == "" && f.Image != "" {
			v = imageTag(f.Image)
		}
		if v == "" {
			continue
		}
		counts[v]++
		if counts[v] > counts[best] || (counts[v] == counts[best] && v > best) {
			best = v
		}
	}
	return best
}

func orUnknown(s string) string {
	if s == "" {
		return "no version"
	}
	return s
}

// shortLine keeps a line short enough for a progress detail.
func shortLine(s string) string {
	s = oneLine(s)
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}
