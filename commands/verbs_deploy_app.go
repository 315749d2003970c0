package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"mfbot/containers"
	"mfbot/human"
	"mfbot/release"
	"mfbot/reply"
)

// deployApp deploys version to the app: pull <repository>:<version>,
// recreate the container with its configuration on the new tag, wait
// until it is healthy, check /version. Any failure after the container
// was replaced puts the previous image back.
func (c *Catalogue) deployApp(ctx context.Context, run *deployRun, version string) deployOutcome {
	call := c.serviceCall(run.call, release.App)
	out := deployOutcome{target: release.App, outcome: release.Failed}
	fail := func(format string, args ...any) deployOutcome {
		out.detail = fmt.Sprintf(format, args...)
		out.notes = append(out.notes, "✗ "+out.detail)
		run.audit("app: "+out.detail, "failed")
		return out
	}
	ctr, err := call.container(ctx)
	if err != nil {
		return fail("find the app's container: %v", err)
	}
	old, err := call.env.Docker.Inspect(ctx, ctr.ID)
	if err != nil {
		return fail("inspect %s: %v", ctr.Name, err)
	}
	oldRef := containerReference(old, *ctr)
	out.previous = imageTag(oldRef)
	out.image, out.imageID = oldRef, old.ImageID
	if img, err := call.env.Docker.Image(ctx, old.ImageID); err == nil {
		out.digest = repoDigest(img, imageRepository(oldRef))
	}
	repo, err := serviceRepository(ctx, call, ctr)
	if err != nil {
		return fail("%v", err)
	}
	ref := repo + ":" + version

	// 1. Pull: nothing changed yet if it fails.
	run.step("pulling "+ref, "")
	pullStarted := time.Now()
	_, err = call.env.Docker.Pull(ctx, ref, containers.PullOptions{Auth: c.registryAuth(repo), Progress: func(p containers.PullProgress) {
		run.step("pulling "+ref, pullDetail(p))
	}})
	if err != nil {
		out.notes = append(out.notes, "Nothing was changed: app still runs "+out.previous+".")
		return fail("pull %s: %v", ref, err)
	}
	run.passed(fmt.Sprintf("pulled %s in %s", ref, human.Duration(time.Since(pullStarted))), "")

	// 2. Recreate on the new tag. Recreate puts the old container back
	// itself when the new one cannot be created or started.
	run.step("recreating "+ctr.Name, "on "+ref)
	res, err := call.env.Docker.Recreate(ctx, ctr.ID, containers.RecreateOptions{Image: ref, StopTimeout: c.cfg.Limits.StopTimeout})
	if err != nil {
		d := fail("recreate %s on %s: %v", ctr.Name, version, err)
		// Recreate puts the old container back when the new one cannot be
		// created or started: say what runs now.
		if now, err := call.env.Docker.Inspect(context.WithoutCancel(ctx), ctr.Name); err == nil && now.ImageID == old.ImageID {
			d.outcome = release.RolledBack
			d.notes = append(d.notes, fmt.Sprintf("↩ The previous container was put back: app runs %s (%s).", out.previous, now.State))
			run.passed("previous container put back", "rolled back")
		} else {
			d.notes = append(d.notes, "✗ The app may not run: look at it now (`status`, `logs app`).")
		}
		return d
	}
	run.passed("recreated "+ctr.Name+" on "+ref, "")

	// 3. Healthy, 4. /version: a failure of either rolls back.
	problem := c.waitHealthy(ctx, run, call, res.NewID)
	answered := ""
	if problem == "" {
		answered, problem = c.checkVersion(ctx, run, call, version)
	}
	if problem != "" {
		out.detail = problem
		out.notes = append(out.notes, "✗ "+problem)
		run.audit("app: "+problem, "failed")
		return c.rollBackApp(ctx, run, call, res.NewID, oldRef, old.ImageID, out)
	}
	out.outcome = release.Deployed
	out.image, out.imageID, out.digest = ref, res.NewImageID, res.NewDigest
	out.fields = []reply.Field{
		{Label: "App", Value: fmt.Sprintf("%s → %s", out.previous, version)},
		{Label: "Image", Value: shortDigest(res.OldDigest) + " → " + shortDigest(res.NewDigest)},
	}
	if answered != "" {
		out.fields = append(out.fields, reply.Field{Label: "/version", Value: answered})
	}
	return out
}

// waitHealthy waits for the new container to be running and healthy,
// bounded by deploy.healthy_timeout; "" when it is, else what went wrong.
// A container that restarts (crash loop) or that Docker calls unhealthy
// fails at once: waiting longer would only delay the roll back.
func (c *Catalogue) waitHealthy(ctx context.Context, run *deployRun, call *call, id string) string {
	timeout := call.env.Config.Deploy.HealthyTimeout
	started := time.Now()
	for {
		d, err := call.env.Docker.Inspect(ctx, id)
		elapsed := time.Since(started)
		if err != nil {
			return fmt.Sprintf("inspect the new container: %v", err)
		}
		probe := lastProbe(d)
		switch {
		case d.State == "running" && (d.Health == "healthy" || d.Health == "" && elapsed >= 3*time.Second):
			run.passed("healthy after "+human.Duration(elapsed), "")
			return ""
		case d.RestartCount > 0 || d.State == "restarting":
			return fmt.Sprintf("the new container crashed and restarts (exit code %d, %d restart(s) in %s)", d.ExitCode, d.RestartCount, human.Duration(elapsed))
		case d.State == "exited" || d.State == "dead":
			return fmt.Sprintf("the new container stopped (exit code %d) after %s", d.ExitCode, human.Duration(elapsed))
		case d.Health == "unhealthy":
			return fmt.Sprintf("the new container is unhealthy after %s; last probe: %s", human.Duration(elapsed), probe)
		case elapsed >= timeout:
			return fmt.Sprintf("the new container is not healthy after %s (%s); last probe: %s", human.Duration(timeout), d.Health, probe)
		}
		detail := fmt.Sprintf("%s, %s", human.Duration(elapsed), orDash(d.Health))
		if probe != "" {
			detail += "; last probe: " + probe
		}
		run.step("waiting for healthy", detail)
		select {
		case <-ctx.Done():
			return fmt.Sprintf("stopped while waiting for healthy: %v", ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// lastProbe is the last health probe's outcome, on one short line.
func lastProbe(d containers.ContainerDetails) string {
	n := len(d.HealthLog)
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("exit %d: %s", d.HealthLog[n-1].ExitCode, shortLine(d.HealthLog[n-1].Output))
}

func orDash(s string) string {
	if s == "" {
		return "no healthcheck"
	}
	return s
}

// checkVersion asks the app's /version (when app_url is set) until it
// answers version, for a few seconds: "" problem when it does.
func (c *Catalogue) checkVersion(ctx context.Context, run *deployRun, call *call, version string) (answered, problem string) {
	if call.env.App == nil || call.env.Config.AppURL == "" {
		run.passed("/version not checked (no app_url)", "")
		return "", ""
	}
	const patience = 15 * time.Second
	started := time.Now()
	for {
		run.step("checking /version", "expecting "+version)
		fields, err := call.env.App.Version(ctx)
		got := fields["version"]
		switch {
		case err == nil && answersVersion(got, version):
			run.passed("/version answers "+got, "")
			return got, ""
		case time.Since(started) >= patience || ctx.Err() != nil:
			if err != nil {
				return "", fmt.Sprintf("/version does not answer: %v", err)
			}
			return got, fmt.Sprintf("/version answers %q, not %s", got, version)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// answersVersion compares a tag with what /version answers: "v1.54.0" is
// "1.54.0", "v2" is "2.0.0".
func answersVersion(answered, tag string) bool {
	if answered == "" {
		return false
	}
	if strings.TrimPrefix(answered, "v") == strings.TrimPrefix(tag, "v") {
		return true
	}
	a, errA := semver.NewVersion(answered)
	t, errT := semver.NewVersion(tag)
	return errA == nil && errT == nil && a.Equal(t)
}

// rollBackApp puts the previous image back after a failed deploy: on its
// tag when the tag still names it (the container keeps the reference
// compose gave it), else on its image ID.
func (c *Catalogue) rollBackApp(ctx context.Context, run *deployRun, call *call, newID, oldRef, oldImageID string, out deployOutcome) deployOutcome {
	// The roll back runs even when the deploy's own time is up.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Limits.RestartTimeout+time.Minute)
	defer cancel()
	to := oldImageID
	if img, err := call.env.Docker.Image(ctx, oldRef); err == nil && img.ID == oldImageID && !isImageIDRef(oldRef) {
		to = oldRef
	}
	run.step("rolling back to "+out.previous, out.detail)
	res, err := call.env.Docker.Recreate(ctx, newID, containers.RecreateOptions{Image: to, StopTimeout: c.cfg.Limits.StopTimeout})
	if err != nil {
		out.outcome = release.Failed
		out.notes = append(out.notes, "✗ Roll back failed: "+err.Error())
		run.audit("app: roll back failed: "+err.Error(), "failed")
		return out
	}
	d, ready, err := waitReady(ctx, call.env.Docker, res.NewID, c.cfg.Limits.RestartTimeout, nil)
	switch {
	case err != nil:
		out.notes = append(out.notes, "↩ Rolled back to "+out.previous+", its health could not be read: "+err.Error())
	case !ready:
		out.notes = append(out.notes, fmt.Sprintf("↩ Rolled back to %s, but it is %s/%s: look at it now.", out.previous, d.State, orDash(d.Health)))
	default:
		out.notes = append(out.notes, fmt.Sprintf("↩ Rolled back on its own: app runs %s again, %s.", out.previous, orDash(d.Health)))
	}
	out.outcome = release.RolledBack
	out.fields = []reply.Field{{Label: "App", Value: fmt.Sprintf("runs %s (%s), not the version asked", out.previous, shortDigest(res.NewDigest))}}
	run.passed("rolled back to "+out.previous, "rolled back")
	return out
}

// repoDigest is the image's digest in repo, else any, else "".
func repoDigest(img containers.Image, repo string) string {
	for _, d := range img.RepoDigests {
		if strings.HasPrefix(d, repo+"@") {
			return d
		}
	}
	if len(img.RepoDigests) > 0 {
		return img.RepoDigests[0]
	}
	return ""
}

// pullDetail says how far a pull is: "12.3 of 40.0 MB, 3/5 layers".
func pullDetail(p containers.PullProgress) string {
	if p.Total <= 0 {
		return fmt.Sprintf("%d/%d layers", p.Pulled, p.Layers)
	}
	return fmt.Sprintf("%.1f of %.1f MB, %d/%d layers", float64(p.Done)/1e6, float64(p.Total)/1e6, p.Pulled, p.Layers)
}

// registryAuth is the configured login of repository's registry; nil:
// anonymous. Docker Hub's login may be written under any of its names.
func (c *Catalogue) registryAuth(repository string) *containers.RegistryAuth {
	host := containers.RegistryHost(repository)
	names := []string{host}
	if host == containers.DockerHub {
		names = append(names, "index.docker.io", "registry-1.docker.io")
	}
	for _, name := range names {
		if login, ok := c.cfg.Registries[name]; ok {
			return &containers.RegistryAuth{Username: login.Username, Password: login.Password.Reveal()}
		}
	}
	return nil
}
