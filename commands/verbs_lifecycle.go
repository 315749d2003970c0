package commands

import (
	"context"
	"fmt"
	"mfbot/containers"
	"mfbot/human"
	"mfbot/reply"
	"regexp"
	"slices"
	"time"
)

// restart answers `restart <svc>`: the app is pulled and recreated like
// `make restart-remote-app`; other services get a plain restart. Either way
// the reply waits, bounded, for the container to be running and healthy,
// and the steps show as they happen.
func (c *Catalogue) restart(ctx context.Context, call *call) (reply.Reply, error) {
	ctr, err := call.container(ctx)
	if err != nil {
		return reply.Reply{}, err
	}
	started := time.Now()
	steps := lifecycleSteps(call, "Restarting", started)
	if !recreatesOnRestart(*call.service) {
		steps.show("restarting "+ctr.Name, "")
		if err := call.env.Docker.Restart(ctx, ctr.ID, c.cfg.Limits.StopTimeout); err != nil {
			return reply.Reply{}, err
		}
		return c.readyReply(ctx, call, ctr.ID, started, "restarted", nil, nil, steps)
	}
	ref := call.service.Image
	if ref == "" {
		d, err := call.env.Docker.Inspect(ctx, ctr.ID)
		if err != nil {
			return reply.Reply{}, err
		}
		ref = containerReference(d, *ctr)
	}
	pulled := false
	if !call.args.Bools["no-pull"] && !isImageIDRef(ref) {
		steps.show("pulling "+ref, "")
		if _, err := call.env.Docker.Pull(ctx, ref, containers.PullOptions{Auth: c.registryAuth(imageRepository(ref)), Progress: func(p containers.PullProgress) {
			steps.show("pulling "+ref, pullDetail(p))
		}}); err != nil {
			return reply.Reply{}, err
		}
		pulled = true
		steps.passed("pulled " + ref)
	}
	steps.show("recreating "+ctr.Name, "")
	res, err := call.env.Docker.Recreate(ctx, ctr.ID, containers.RecreateOptions{
		Image:       call.service.Image,
		StopTimeout: c.cfg.Limits.StopTimeout,
	})
	if err != nil {
		return reply.Reply{}, err
	}
	steps.passed("recreated " + ctr.Name)
	image := "unchanged (" + shortDigest(res.NewDigest) + ")"
	if res.OldImageID != res.NewImageID {
		image = shortDigest(res.OldDigest) + " → " + shortDigest(res.NewDigest)
	}
	fields := []reply.Field{{Label: "Image", Value: image}}
	if !pulled {
		fields = append(fields, reply.Field{Label: "Pull", Value: "skipped"})
	}
	var rollback *reply.Action
	if res.OldImageID != res.NewImageID {
		rollback = &reply.Action{Label: "Roll back", Style: "danger",
			Command: fmt.Sprintf("%s rollback %s --to %s", call.env.Config.Name, call.service.Name, res.OldImageID)}
	}
	return c.readyReply(ctx, call, res.NewID, started, "recreated", fields, rollback, steps)
}

// stepReporter shows the steps of a restart, start or rollback.
type stepReporter struct {
	sink    Steps
	title   string
	started time.Time
	done    []string
}

func lifecycleSteps(call *call, doing string, started time.Time) *stepReporter {
	return &stepReporter{sink: progressOf(call), started: started,
		title: fmt.Sprintf("%s %s in %s", doing, call.service.Name, call.env.Config.Name)}
}

func (s *stepReporter) show(step, detail string) {
	s.sink.Step(reply.Progress{Title: s.title, Step: step, Detail: detail, Elapsed: time.Since(s.started), Done: slices.Clone(s.done)})
}

func (s *stepReporter) passed(what string) { s.done = append(s.done, what) }

// waiting shows a wait for health: elapsed time, health, last probe.
func (s *stepReporter) waiting(d containers.ContainerDetails, elapsed time.Duration) {
	detail := fmt.Sprintf("%s, %s, %s", human.Duration(elapsed), d.State, orDash(d.Health))
	if probe := lastProbe(d); probe != "" {
		detail += "; last probe: " + probe
	}
	s.show("waiting for healthy", detail)
}

// rollback answers `rollback <svc> --to <image-id>`. The image must be a
// local image of the service's own repository: the command recreates onto a
// previous version, it never runs an arbitrary image.
func (c *Catalogue) rollback(ctx context.Context, call *call) (reply.Reply, error) {
	to := call.args.Strings["to"]
	if !imageIDPattern.MatchString(to) {
		return reply.Reply{}, &UsageError{Msg: "--to wants the previous image ID (sha256: and 64 hex digits), as offered by a failed restart"}
	}
	ctr, err := call.container(ctx)
	if err != nil {
		return reply.Reply{}, err
	}
	repo, err := serviceRepository(ctx, call, ctr)
	if err != nil {
		return reply.Reply{}, err
	}
	img, err := call.env.Docker.Image(ctx, to)
	if err != nil {
		return reply.Reply{}, fmt.Errorf("image %s is not available on the engine: %w", to, err)
	}
	if !belongsTo(img, repo) {
		return reply.Reply{}, fmt.Errorf("image %s is not an image of %s: refusing to run it as %s", to, repo, call.service.Name)
	}
	started := time.Now()
	steps := lifecycleSteps(call, "Rolling back", started)
	steps.show("recreating "+ctr.Name, "on "+shortDigest(to))
	res, err := call.env.Docker.Recreate(ctx, ctr.ID, containers.RecreateOptions{Image: to, StopTimeout: c.cfg.Limits.StopTimeout})
	if err != nil {
		return reply.Reply{}, err
	}
	steps.passed("recreated " + ctr.Name)
	fields := []reply.Field{{Label: "Image", Value: shortDigest(res.OldDigest) + " → " + shortDigest(res.NewDigest)}}
	return c.readyReply(ctx, call, res.NewID, started, "rolled back", fields, nil, steps)
}

var imageIDPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// serviceRepository is the image repository a service runs from: that of
// its configured image, else of the reference its container was created
// from (inspect: the list shows a bare image ID once the tag has moved),
// else — a container pinned to an image ID by an earlier roll back — the
// repository the running image is known under.
func serviceRepository(ctx context.Context, call *call, ctr *containers.Container) (string, error) {
	if call.service.Image != "" {
		return imageRepository(call.service.Image), nil
	}
	d, err := call.env.Docker.Inspect(ctx, ctr.ID)
	if err != nil {
		return "", err
	}
	ref := containerReference(d, *ctr)
	if !isImageIDRef(ref) {
		return imageRepository(ref), nil
	}
	img, err := call.env.Docker.Image(ctx, ctr.ImageID)
	if err == nil {
		for _, known := range slices.Concat(img.RepoTags, img.RepoDigests) {
			return imageRepository(known), nil
		}
	}
	return "", fmt.Errorf("cannot tell which image repository %s runs from (its container runs %s): set its `image` in the configuration", call.service.Name, shortDigest(ref))
}

func belongsTo(img containers.Image, repo string) bool {
	for _, ref := range slices.Concat(img.RepoTags, img.RepoDigests) {
		if imageRepository(ref) == repo {
			return true
		}
	}
	return false
}

func (c *Catalogue) stop(ctx context.Context, call *call) (reply.Reply, error) {
	ctr, err := call.container(ctx)
	if err != nil {
		return reply.Reply{}, err
	}
	lifecycleSteps(call, "Stopping", time.Now()).show("stopping "+ctr.Name, fmt.Sprintf("waits up to %s for it to exit", c.cfg.Limits.StopTimeout))
	if err := call.env.Docker.Stop(ctx, ctr.ID, c.cfg.Limits.StopTimeout); err != nil {
		return reply.Reply{}, err
	}
	d, err := call.env.Docker.Inspect(ctx, ctr.ID)
	if err != nil {
		return reply.Reply{}, err
	}
	return reply.Reply{Status: reply.StatusOK, Title: fmt.Sprintf("%s stopped", call.service.Name),
		Blocks:  []reply.Block{&reply.Fields{Fields: []reply.Field{{Label: "Container", Value: d.Name}, {Label: "State", Value: d.State}, {Label: "Exit code", Value: fmt.Sprint(d.ExitCode)}}}},
		Actions: []reply.Action{{Label: "Start", Command: call.env.Config.Name + " start " + call.service.Name}},
	}, nil
}

func (c *Catalogue) start(ctx context.Context, call *call) (reply.Reply, error) {
	ctr, err := call.container(ctx)
	if err != nil {
		return reply.Reply{}, err
	}
	started := time.Now()
	steps := lifecycleSteps(call, "Starting", started)
	steps.show("starting "+ctr.Name, "")
	if err := call.env.Docker.Start(ctx, ctr.ID); err != nil {
		return reply.Reply{}, err
	}
	return c.readyReply(ctx, call, ctr.ID, started, "started", nil, nil, steps)
}

// readyReply waits for the container to be ready and reports the outcome.
func (c *Catalogue) readyReply(ctx context.Context, call *call, id string, started time.Time, did string, fields []reply.Field, rollback *reply.Action, steps *stepReporter) (reply.Reply, error) {
	d, ready, err := waitReady(ctx, call.env.Docker, id, c.cfg.Limits.RestartTimeout, steps.waiting)
	if err != nil {
		return reply.Reply{}, err
	}
	health := d.Health
	if health == "" {
		health = "no healthcheck"
	}
	fields = append([]reply.Field{{Label: "Container", Value: d.Name}, {Label: "State", Value: d.State}, {Label: "Health", Value: health}}, fields...)
	fields = append(fields, reply.Field{Label: "Took", Value: time.Since(started).Round(100 * time.Millisecond).String()})
	rep := reply.Reply{Status: reply.StatusOK, Title: fmt.Sprintf("%s %s", call.service.Name, did), Actions: []reply.Action{logsAction(call)}}
	if !ready {
		rep.Status = reply.StatusFailed
		rep.Title = fmt.Sprintf("%s %s but is not healthy", call.service.Name, did)
		if d.State != "running" {
			rep.Title = fmt.Sprintf("%s %s but is %s (exit code %d)", call.service.Name, did, d.State, d.ExitCode)
		}
		if n := len(d.HealthLog); n > 0 {
			fields = append(fields, reply.Field{Label: "Last healthcheck", Value: fmt.Sprintf("exit %d: %s", d.HealthLog[n-1].ExitCode, d.HealthLog[n-1].Output)})
		}
		if rollback != nil {
			rep.Actions = append(rep.Actions, *rollback)
		}
	}
	rep.Blocks = []reply.Block{&reply.Fields{Fields: fields}}
	return rep, nil
}

// waitReady polls until the container is running and healthy (or running
// for a few seconds when it has no healthcheck), it stops, or timeout
// passes; waiting, when not nil, sees each poll that keeps it waiting.
func waitReady(ctx context.Context, engine containers.Engine, id string, timeout time.Duration, waiting func(containers.ContainerDetails, time.Duration)) (containers.ContainerDetails, bool, error) {
	const settle = 3 * time.Second // a container without healthcheck that survives this long is up
	started := time.Now()
	deadline := started.Add(timeout)
	for {
		d, err := engine.Inspect(ctx, id)
		if err != nil {
			return d, false, err
		}
		switch {
		case d.State == "running" && d.Health == "healthy":
			return d, true, nil
		case d.State == "running" && d.Health == "" && time.Since(d.StartedAt) >= settle:
			return d, true, nil
		case d.State == "exited" || d.State == "dead":
			return d, false, nil
		case d.Health == "unhealthy":
			return d, false, nil
		case time.Now().After(deadline):
			return d, false, nil
		}
		if waiting != nil {
			waiting(d, time.Since(started))
		}
		select {
		case <-ctx.Done():
			return d, false, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// shortDigest keeps enough of a digest to tell versions apart in a message.
func shortDigest(d string) string {
	if i := len(d) - 64; i > 0 && (d[i-1] == ':') {
		return d[:i+12]
	}
	return d
}
