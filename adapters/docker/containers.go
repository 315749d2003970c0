package docker

import (
	"context"
	"mfbot/containers"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
)

// Containers lists every container of the engine, running or not.
func (e *Engine) Containers(ctx context.Context) ([]containers.Container, error) {
	list, err := e.api.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return nil, e.wrap("list containers", err)
	}
	out := make([]containers.Container, 0, len(list))
	for _, c := range list {
		name := ""
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, containers.Container{
			ID:      c.ID,
			Name:    name,
			Image:   c.Image,
			ImageID: c.ImageID,
			State:   c.State,
			Status:  c.Status,
			Health:  healthFromStatus(c.Status),
			Created: time.Unix(c.Created, 0),
			Labels:  c.Labels,
		})
	}
	return out, nil
}

// healthFromStatus reads the health that `docker ps` shows in parentheses;
// the list endpoint has no structured health field on older engines.
func healthFromStatus(status string) string {
	switch {
	case strings.Contains(status, "(healthy)"):
		return "healthy"
	case strings.Contains(status, "(unhealthy)"):
		return "unhealthy"
	case strings.Contains(status, "(health: starting)"):
		return "starting"
	}
	return ""
}

// Inspect returns the details of one container.
func (e *Engine) Inspect(ctx context.Context, id string) (containers.ContainerDetails, error) {
	info, err := e.api.ContainerInspect(ctx, id)
	if err != nil {
		return containers.ContainerDetails{}, e.wrap("inspect container "+id, err)
	}
	return detailsFrom(info), nil
}

func detailsFrom(info container.InspectResponse) containers.ContainerDetails {
	d := containers.ContainerDetails{
		Container: containers.Container{
			ID:      info.ID,
			Name:    strings.TrimPrefix(info.Name, "/"),
			ImageID: info.Image,
		},
		RestartCount: info.RestartCount,
		LogPath:      info.LogPath,
	}
	d.Created, _ = time.Parse(time.RFC3339Nano, info.Created)
	if cfg := info.Config; cfg != nil {
		d.Image = cfg.Image
		d.Labels = cfg.Labels
		d.Tty = cfg.Tty
		d.Env = cfg.Env
		d.Cmd = cfg.Cmd
		d.Entrypoint = cfg.Entrypoint
	}
	if st := info.State; st != nil {
		d.State = st.Status
		d.ExitCode = st.ExitCode
		d.OOMKilled = st.OOMKilled
		d.StartedAt, _ = time.Parse(time.RFC3339Nano, st.StartedAt)
		d.FinishedAt, _ = time.Parse(time.RFC3339Nano, st.FinishedAt)
		if h := st.Health; h != nil {
			d.Health = h.Status
			for _, probe := range h.Log {
				d.HealthLog = append(d.HealthLog, containers.HealthCheck{Start: probe.Start, ExitCode: probe.ExitCode, Output: probe.Output})
			}
		}
	}
	if hc := info.HostConfig; hc != nil {
		d.RestartPolicy = string(hc.RestartPolicy.Name)
		if hc.RestartPolicy.MaximumRetryCount > 0 {
			d.RestartPolicy += ":" + itoa(hc.RestartPolicy.MaximumRetryCount)
		}
		d.LogDriver = hc.LogConfig.Type
		d.MemoryLimit, d.CPULimit = limitsFrom(hc.Resources)
		for port, bindings := range hc.PortBindings {
			for _, b := range bindings {
				d.Ports = append(d.Ports, containers.Port{HostIP: b.HostIP, HostPort: b.HostPort, ContainerPort: string(port)})
			}
		}
	}
	for _, m := range info.Mounts {
		src := m.Source
		if m.Name != "" {
			src = m.Name
		}
		d.Mounts = append(d.Mounts, containers.Mount{Type: string(m.Type), Source: src, Destination: m.Destination, ReadOnly: !m.RW})
	}
	if ns := info.NetworkSettings; ns != nil {
		for name := range ns.Networks {
			d.Networks = append(d.Networks, name)
		}
	}
	return d
}

// Restart restarts a container, giving it timeout to stop.
func (e *Engine) Restart(ctx context.Context, id string, timeout time.Duration) error {
	secs := int(timeout.Seconds())
	return e.wrap("restart container "+id, e.api.ContainerRestart(ctx, id, container.StopOptions{Timeout: &secs}))
}

// Stop stops a container, giving it timeout before it is killed.
func (e *Engine) Stop(ctx context.Context, id string, timeout time.Duration) error {
	secs := int(timeout.Seconds())
	return e.wrap("stop container "+id, e.api.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs}))
}

// Start starts a stopped container.
func (e *Engine) Start(ctx context.Context, id string) error {
	return e.wrap("start container "+id, e.api.ContainerStart(ctx, id, container.StartOptions{}))
}

// Top lists a running container's processes.
func (e *Engine) Top(ctx context.Context, id string) (containers.Processes, error) {
	top, err := e.api.ContainerTop(ctx, id, nil)
	if err != nil {
		return containers.Processes{}, e.wrap("list processes of "+id, err)
	}
	return containers.Processes{Titles: top.Titles, Processes: top.Processes}, nil
}
