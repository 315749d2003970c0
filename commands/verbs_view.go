package commands

import (
	"context"
	"fmt"
	"mfbot/containers"
	"mfbot/human"
	"mfbot/pipeline"
	"mfbot/reply"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// status answers `status`: one line per service, from one list call and
// one inspect per container (run concurrently to stay under a second).
func (c *Catalogue) status(ctx context.Context, call *call) (reply.Reply, error) {
	// Prefect is asked while the engine is: status stays one glance.
	pipelineNote := make(chan string, 1)
	go func() { pipelineNote <- pipelineSummary(readPrefect(ctx, call.env.Pipeline), c.now()) }()
	drift := c.startDrift(ctx, call, true, true)
	services, _, err := call.stack(ctx)
	if err != nil {
		return reply.Reply{}, err
	}
	details := c.inspectAll(ctx, call, services)
	images := c.statusImages(ctx, call, services, details)
	t := &reply.Table{Header: []string{"service", "container", "state", "health", "uptime", "image", "restarts"}}
	problems := 0
	for i, s := range services {
		if s.Container == nil {
			t.Rows = append(t.Rows, []string{s.Service.Name, "—", "no container", "", "", "", ""})
			continue
		}
		d := details[i]
		health, uptime, restarts := d.Health, "", fmt.Sprint(d.RestartCount)
		if health == "" {
			health = "—"
		}
		if d.State == "running" && !d.StartedAt.IsZero() {
			uptime = human.Duration(time.Since(d.StartedAt))
		}
		if d.State != "running" || d.Health == "unhealthy" {
			problems++
		}
		t.Rows = append(t.Rows, []string{s.Service.Name, s.Container.Name, d.State, health, uptime, images[i], restarts})
	}
	title := fmt.Sprintf("%s: all services up", call.env.Config.Name)
	if problems > 0 {
		title = fmt.Sprintf("%s: %d service(s) need attention", call.env.Config.Name, problems)
	}
	blocks := []reply.Block{t}
	if drifts := drift.notes(ctx, appRunningOf(services, details)); len(drifts) > 0 {
		blocks = append(blocks, &reply.Text{Text: strings.Join(drifts, "\n")})
	}
	var notes []string
	if call.env.Config.Database == nil {
		notes = append(notes, "database: not configured (ENV_DB_URL)")
	}
	notes = append(notes, <-pipelineNote)
	notes = append(notes, c.alertSummary(ctx, call.env.Config.Name)...)
	if len(notes) > 0 {
		blocks = append(blocks, &reply.Text{Text: strings.Join(notes, " · ")})
	}
	return reply.Reply{Status: reply.StatusOK, Title: title, Blocks: blocks}, nil
}

// pipelineSummary says in one line whether Prefect answers, and its last
// failed runs (what `pipeline status` shows in full).
func pipelineSummary(v prefectView, now time.Time) string {
	switch {
	case !v.configured:
		return "Prefect: not configured (PREFECT_API_URL)"
	case v.err != nil:
		return "Prefect: not answering (" + v.err.Error() + ")"
	case v.failedErr != nil:
		return fmt.Sprintf("Prefect: %s answers, its runs cannot be read (%v)", v.version, v.failedErr)
	case len(v.failed) == 0:
		return fmt.Sprintf("Prefect: %s answers, no recent failed run", v.version)
	}
	last := make([]string, 0, 3)
	for _, r := range v.failed[:min(3, len(v.failed))] {
		at := r.EndOrStateTime()
		if at.IsZero() {
			at = r.ExpectedStart
		}
		last = append(last, fmt.Sprintf("%s %s %s ago", pipeline.ShortName(r.FlowName), r.State, human.Duration(now.Sub(at))))
	}
	return fmt.Sprintf("Prefect: %s answers, last failed runs: %s", v.version, strings.Join(last, ", "))
}

// inspectAll inspects the services' containers concurrently; a container
// that vanished meanwhile keeps its list-call view.
func (c *Catalogue) inspectAll(ctx context.Context, call *call, services []stackService) []containers.ContainerDetails {
	out := make([]containers.ContainerDetails, len(services))
	var wg sync.WaitGroup
	for i, s := range services {
		if s.Container == nil {
			continue
		}
		wg.Go(func() {
			d, err := call.env.Docker.Inspect(ctx, s.Container.ID)
			if err != nil {
				d = containers.ContainerDetails{Container: *s.Container}
			}
			out[i] = d
		})
	}
	wg.Wait()
	return out
}

// ps answers `ps`: the stack's containers, including compose containers of
// the project that no configured service names.
func (c *Catalogue) ps(ctx context.Context, call *call) (reply.Reply, error) {
	services, list, err := call.stack(ctx)
	if err != nil {
		return reply.Reply{}, err
	}
	t := &reply.Table{Header: []string{"container", "service", "image", "state", "status"}}
	seen := map[string]bool{}
	for _, s := range services {
		if s.Container != nil {
			seen[s.Container.ID] = true
			t.Rows = append(t.Rows, []string{s.Container.Name, s.Service.Name, s.Container.Image, s.Container.State, s.Container.Status})
		}
	}
	for _, ctr := range list {
		if !seen[ctr.ID] && ctr.Labels[composeProjectLabel] == call.env.Config.ComposeProject {
			t.Rows = append(t.Rows, []string{ctr.Name, "(" + ctr.Labels[composeServiceLabel] + ")", ctr.Image, ctr.State, ctr.Status})
		}
	}
	if len(t.Rows) == 0 {
		return reply.Reply{Status: reply.StatusOK, Title: "No container of the stack", Blocks: []reply.Block{&reply.Text{Text: "No service of " + call.env.Config.Name + " has a container."}}}, nil
	}
	return reply.Reply{Status: reply.StatusOK, Title: fmt.Sprintf("Containers of %s", call.env.Config.Name), Blocks: []reply.Block{t}}, nil
}

// stats answers `stats [svc]`: one sample per running container.
func (c *Catalogue) stats(ctx context.Context, call *call) (reply.Reply, error) {
	services, _, err := call.stack(ctx)
	if err != nil {
		return reply.Reply{}, err
	}
	if call.service != nil {
		services = slices.DeleteFunc(services, func(s stackService) bool { return s.Service.Name != call.service.Name })
		if services[0].Container == nil {
			_, err := call.container(ctx)
			return reply.Reply{}, err
		}
	}
	samples := make([]*containers.Stats, len(services))
	errs := make([]error, len(services))
	var wg sync.WaitGroup
	for i, s := range services {
		if s.Container == nil || s.Container.State != "running" {
			continue
		}
		wg.Go(func() {
			st, err := call.env.Docker.Stats(ctx, s.Container.ID)
			samples[i], errs[i] = &st, err
		})
	}
	wg.Wait()
	t := &reply.Table{Header: []string{"service", "CPU", "memory", "net rx/tx", "block r/w", "PIDs"}}
	for i, s := range services {
		switch {
		case s.Container == nil:
			t.Rows = append(t.Rows, []string{s.Service.Name, "no container", "", "", "", ""})
		case samples[i] == nil:
			t.Rows = append(t.Rows, []string{s.Service.Name, s.Container.State, "", "", "", ""})
		case errs[i] != nil:
			t.Rows = append(t.Rows, []string{s.Service.Name, "error: " + errs[i].Error(), "", "", "", ""})
		default:
			st := samples[i]
			mem := human.Bytes(int64(st.MemoryUsage))
			if st.MemoryLimit > 0 {
				mem += fmt.Sprintf(" / %s (%.0f%%)", human.Bytes(int64(st.MemoryLimit)), float64(st.MemoryUsage)/float64(st.MemoryLimit)*100)
			}
			t.Rows = append(t.Rows, []string{s.Service.Name, fmt.Sprintf("%.1f%%", st.CPUPercent), mem,
				human.Bytes(int64(st.NetRx)) + " / " + human.Bytes(int64(st.NetTx)),
				human.Bytes(int64(st.BlockRead)) + " / " + human.Bytes(int64(st.Write)), fmt.Sprint(st.PIDs)})
		}
	}
	return reply.Reply{Status: reply.StatusOK, Title: "Resource usage in " + call.env.Config.Name, Blocks: []reply.Block{t}}, nil
}

func (c *Catalogue) top(ctx context.Context, call *call) (reply.Reply, error) {
	ctr, err := call.container(ctx)
	if err != nil {
		return reply.Reply{}, err
	}
	if ctr.State != "running" {
		return reply.Reply{}, fmt.Errorf("%s is %s: no processes", call.service.Name, ctr.State)
	}
	p, err := call.env.Docker.Top(ctx, ctr.ID)
	if err != nil {
		return reply.Reply{}, err
	}
	return reply.Reply{Status: reply.StatusOK, Title: fmt.Sprintf("Processes of %s (%s)", call.service.Name, ctr.Name),
		Blocks: []reply.Block{&reply.Table{Header: p.Titles, Rows: p.Processes}}}, nil
}

// events answers `events`: the stack's container events, newest last.
func (c *Catalogue) events(ctx context.Context, call *call) (reply.Reply, error) {
	since := Instant{Ago: time.Hour}
	if instant, ok := call.args.Instants["since"]; ok {
		since = instant
	}
	// "Events of prod, last 1h" / "No events of the stack in the last 1h",
	// or since a time.
	window, noEventsWindow := "last "+human.Duration(since.Ago), "in the last "+human.Duration(since.Ago)
	if !since.At.IsZero() {
		window = "since " + since.At.UTC().Format("2006-01-02 15:04:05 UTC")
		noEventsWindow = window
	}
	services, _, err := call.stack(ctx)
	if err != nil {
		return reply.Reply{}, err
	}
	// Filter by names, not IDs: a recreated container keeps its name and
	// its predecessor's events still matter.
	names := map[string]string{}
	for _, s := range services {
		if s.Container != nil {
			names[s.Container.Name] = s.Service.Name
		}
		if s.Service.Container != "" {
			names[s.Service.Container] = s.Service.Name
		}
		for _, n := range s.Service.KnownNames {
			names[n] = s.Service.Name
		}
	}
	filter := make([]string, 0, len(names))
	for n := range names {
		filter = append(filter, n)
	}
	slices.Sort(filter)
	evs, err := call.env.Docker.Events(ctx, since.Time(c.now()), filter)
	if err != nil {
		return reply.Reply{}, err
	}
	if len(evs) == 0 {
		return reply.Reply{Status: reply.StatusOK, Title: "No events of the stack " + noEventsWindow}, nil
	}
	const maxRows = 200
	if len(evs) > maxRows {
		evs = evs[len(evs)-maxRows:]
	}
	t := &reply.Table{Header: []string{"time", "service", "event", "detail"}}
	for _, ev := range evs {
		var detail []string
		for _, k := range []string{"exitCode", "signal"} {
			if v := ev.Attributes[k]; v != "" {
				detail = append(detail, k+"="+v)
			}
		}
		t.Rows = append(t.Rows, []string{ev.Time.UTC().Format("01-02 15:04:05"), names[ev.Name], ev.Action, strings.Join(detail, " ")})
	}
	return reply.Reply{Status: reply.StatusOK, Title: fmt.Sprintf("Events of %s, %s", call.env.Config.Name, window), Blocks: []reply.Block{t}}, nil
}

func (c *Catalogue) df(ctx context.Context, call *call) (reply.Reply, error) {
	du, err := call.env.Docker.DiskUsage(ctx)
	if err != nil {
		return reply.Reply{}, err
	}
	t := &reply.Table{Header: []string{"type", "total", "active", "size", "reclaimable"}}
	for _, r := range du.Rows {
		reclaim := human.Bytes(r.Reclaimable)
		if r.Size > 0 {
			reclaim += fmt.Sprintf(" (%.0f%%)", float64(r.Reclaimable)/float64(r.Size)*100)
		}
		t.Rows = append(t.Rows, []string{r.Kind, fmt.Sprint(r.Total), fmt.Sprint(r.Active), human.Bytes(r.Size), reclaim})
	}
	return reply.Reply{Status: reply.StatusOK, Title: "Docker disk usage in " + call.env.Config.Name, Blocks: []reply.Block{t}}, nil
}

// inspect answers `inspect <svc>`; env values with secret-looking names are
// masked here, the rest goes through the reply redactor like any text.
func (c *Catalogue) inspect(ctx context.Context, call *call) (reply.Reply, error) {
	ctr, err := call.container(ctx)
	if err != nil {
		return reply.Reply{}, err
	}
	d, err := call.env.Docker.Inspect(ctx, ctr.ID)
	if err != nil {
		return reply.Reply{}, err
	}
	health := d.Health
	if health == "" {
		health = "no healthcheck"
	}
	fields := []reply.Field{
		{Label: "Container", Value: d.Name + " (" + containerShortID(d.ID) + ")"},
		{Label: "Image", Value: d.Image},
		{Label: "Image ID", Value: d.ImageID},
		{Label: "Created", Value: d.Created.UTC().Format(time.RFC3339)},
		{Label: "State", Value: fmt.Sprintf("%s since %s (exit code %d, OOM killed %t)", d.State, d.StartedAt.UTC().Format(time.RFC3339), d.ExitCode, d.OOMKilled)},
		{Label: "Restart policy", Value: fmt.Sprintf("%s, restarted %d times", orNone(d.RestartPolicy), d.RestartCount)},
		{Label: "Health", Value: health},
		{Label: "Limits", Value: limitsText(d.MemoryLimit, d.CPULimit)},
		{Label: "Networks", Value: strings.Join(sorted(d.Networks), ", ")},
		{Label: "Log", Value: orNone(d.LogDriver) + " " + d.LogPath},
	}
	var ports, mounts []string
	for _, p := range d.Ports {
		ports = append(ports, fmt.Sprintf("%s:%s → %s", p.HostIP, p.HostPort, p.ContainerPort))
	}
	for _, m := range d.Mounts {
		mode := "rw"
		if m.ReadOnly {
			mode = "ro"
		}
		mounts = append(mounts, fmt.Sprintf("%s %s → %s (%s)", m.Type, m.Source, m.Destination, mode))
	}
	fields = append(fields, reply.Field{Label: "Ports", Value: orNone(strings.Join(sorted(ports), ", "))}, reply.Field{Label: "Mounts", Value: orNone(strings.Join(mounts, ", "))})
	blocks := []reply.Block{&reply.Fields{Fields: fields}}
	if n := len(d.HealthLog); n > 0 {
		last := d.HealthLog[n-1]
		blocks = append(blocks, &reply.Text{Text: fmt.Sprintf("Last healthcheck at %s: exit %d %s", last.Start.UTC().Format(time.RFC3339), last.ExitCode, strings.TrimSpace(last.Output))})
	}
	env := make([]string, 0, len(d.Env))
	for _, kv := range d.Env {
		// Masked here, not only at the edge: showing the environment with
		// its secrets masked is what this verb promises.
		env = append(env, c.redactor.String(MaskEnv(kv)))
	}
	slices.Sort(env)
	blocks = append(blocks, &reply.Code{Text: "Environment:\n" + strings.Join(env, "\n")})
	return reply.Reply{Status: reply.StatusOK, Title: fmt.Sprintf("Inspect %s", call.service.Name), Blocks: blocks, Actions: []reply.Action{logsAction(call)}}, nil
}

// limitsText says what the engine caps a container at: "no limit" is worth
// showing, since a container without one can take the whole host.
func limitsText(memory uint64, cpus float64) string {
	mem, cpu := "no memory limit", "no CPU limit"
	if memory > 0 {
		mem = human.Bytes(int64(memory)) + " memory"
	}
	if cpus > 0 {
		cpu = strconv.FormatFloat(cpus, 'f', -1, 64) + " CPUs"
	}
	return mem + ", " + cpu
}

// containerShortID is the 12-character ID docker ps shows.
func containerShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// volumes answers `volumes`: volumes of the compose project or mounted by
// a container of the stack.
func (c *Catalogue) volumes(ctx context.Context, call *call) (reply.Reply, error) {
	services, _, err := call.stack(ctx)
	if err != nil {
		return reply.Reply{}, err
	}
	details := c.inspectAll(ctx, call, services)
	usedBy := map[string][]string{}
	for i, s := range services {
		for _, m := range details[i].Mounts {
			if m.Type == "volume" {
				usedBy[m.Source] = append(usedBy[m.Source], s.Service.Name)
			}
		}
	}
	vols, err := call.env.Docker.Volumes(ctx)
	if err != nil {
		return reply.Reply{}, err
	}
	t := &reply.Table{Header: []string{"volume", "driver", "used by", "size", "mountpoint"}}
	for _, v := range vols {
		if v.Labels[composeProjectLabel] != call.env.Config.ComposeProject && usedBy[v.Name] == nil {
			continue
		}
		t.Rows = append(t.Rows, []string{v.Name, v.Driver, strings.Join(usedBy[v.Name], ", "), human.Bytes(v.Size), v.Mountpoint})
	}
	if len(t.Rows) == 0 {
		return reply.Reply{Status: reply.StatusOK, Title: "No volume of the stack in " + call.env.Config.Name}, nil
	}
	return reply.Reply{Status: reply.StatusOK, Title: "Volumes of " + call.env.Config.Name, Blocks: []reply.Block{t}}, nil
}

// version answers `version [svc]`: what each service runs, and for the app
// what it says of itself on /version.
func (c *Catalogue) version(ctx context.Context, call *call) (reply.Reply, error) {
	services, _, err := call.stack(ctx)
	if err != nil {
		return reply.Reply{}, err
	}
	if call.service != nil {
		services = slices.DeleteFunc(services, func(s stackService) bool { return s.Service.Name != call.service.Name })
	}
	isApp := call.service == nil || call.service.Name == "app"
	isPipeline := call.service == nil || slices.Contains(call.env.Config.Groups[pipelineGroup], call.service.Name) ||
		call.service.Name == pipelineServer || call.service.Name == pipelineFlows
	drift := c.startDrift(ctx, call, isApp, isPipeline)
	// The list call names an image by ID once its tag has moved: the
	// references come from inspect (see verbs_version.go).
	details := c.inspectAll(ctx, call, services)
	views := c.describeImages(ctx, call, services, details)
	t := &reply.Table{Header: []string{"service", "image", "tag", "digest", "created"}}
	var notes []string
	for i, s := range services {
		if s.Container == nil {
			t.Rows = append(t.Rows, []string{s.Service.Name, "no container", "", "", ""})
			continue
		}
		t.Rows = append(t.Rows, versionRow(s.Service.Name, views[i]))
		notes = append(notes, c.versionNotes(call, s.Service, views[i])...)
	}
	app := appRunningOf(services, details)
	for i, s := range services {
		if s.Service.Name == "app" && s.Container != nil {
			app.image = views[i].running
		}
	}
	notes = append(notes, drift.notes(ctx, app)...)
	blocks := []reply.Block{t}
	if len(notes) > 0 {
		blocks = append(blocks, &reply.Text{Text: strings.Join(notes, "\n")})
	}
	if call.env.App != nil && (call.service == nil || call.service.Name == "app") {
		if v, err := call.env.App.Version(ctx); err != nil {
			blocks = append(blocks, &reply.Text{Text: "app /version: unreachable (" + err.Error() + ")"})
		} else {
			var parts []string
			for _, k := range sorted(keys(v)) {
				parts = append(parts, k+" "+v[k])
			}
			blocks = append(blocks, &reply.Text{Text: "app /version: " + strings.Join(parts, ", ")})
		}
	}
	if call.service == nil {
		if ev, err := call.env.Docker.Version(ctx); err == nil {
			blocks = append(blocks, &reply.Text{Text: fmt.Sprintf("Docker engine %s (API %s, %s/%s)", ev.Version, ev.APIVersion, ev.OS, ev.Arch)})
		}
	}
	return reply.Reply{Status: reply.StatusOK, Title: "Versions in " + call.env.Config.Name, Blocks: blocks}, nil
}

func orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "none"
	}
	return s
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// alertSummary counts the environment's open incidents and active mutes
// for `status` (nothing when the bot keeps no incidents, as the console).
func (c *Catalogue) alertSummary(ctx context.Context, env string) []string {
	if c.incidents == nil || c.mutes == nil {
		return nil
	}
	var notes []string
	open, err := c.incidents.OpenIncidentSummaries(ctx)
	if err != nil {
		return []string{"incidents: " + err.Error()}
	}
	n := 0
	for _, inc := range open {
		if inc.Env == env {
			n++
		}
	}
	notes = append(notes, fmt.Sprintf("open incidents: %d", n))
	mutes, err := c.mutePolicy.Active(ctx, c.now())
	if err != nil {
		notes = append(notes, "mutes: "+err.Error())
	}
	var active []string
	for _, m := range mutes {
		if m.Env == env || m.Env == "" {
			active = append(active, m.Target+" until "+m.Until.UTC().Format("15:04 UTC"))
		}
	}
	if len(active) > 0 {
		notes = append(notes, "muted: "+strings.Join(active, ", "))
	}
	return notes
}
