package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mfbot/containers"
	"strconv"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
)

func itoa(n int) string { return strconv.Itoa(n) }

// Stats takes one sample. The non-streaming endpoint waits for a second
// sample itself, so the CPU percentage is meaningful.
func (e *Engine) Stats(ctx context.Context, id string) (containers.Stats, error) {
	resp, err := e.api.ContainerStats(ctx, id, false)
	if err != nil {
		return containers.Stats{}, e.wrap("read stats of "+id, err)
	}
	defer resp.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return containers.Stats{}, fmt.Errorf("decode stats of %s: %w", id, err)
	}
	out := containers.Stats{
		MemoryUsage: memoryWithoutCache(s.MemoryStats),
		MemoryLimit: s.MemoryStats.Limit,
		PIDs:        s.PidsStats.Current,
	}
	cpuDelta := float64(s.CPUStats.CPUUsage.TotalUsage) - float64(s.PreCPUStats.CPUUsage.TotalUsage)
	systemDelta := float64(s.CPUStats.SystemUsage) - float64(s.PreCPUStats.SystemUsage)
	cpus := float64(s.CPUStats.OnlineCPUs)
	if cpus == 0 {
		cpus = float64(len(s.CPUStats.CPUUsage.PercpuUsage))
	}
	if systemDelta > 0 && cpuDelta > 0 {
		out.CPUPercent = cpuDelta / systemDelta * cpus * 100
	}
	for _, n := range s.Networks {
		out.NetRx += n.RxBytes
		out.NetTx += n.TxBytes
	}
	for _, b := range s.BlkioStats.IoServiceBytesRecursive {
		switch b.Op {
		case "Read", "read":
			out.BlockRead += b.Value
		case "Write", "write":
			out.Write += b.Value
		}
	}
	return out, nil
}

// limitsFrom reads the memory and CPU limits of a container's resources.
func limitsFrom(r container.Resources) (memoryBytes uint64, cpus float64) {
	if r.Memory > 0 {
		memoryBytes = uint64(r.Memory)
	}
	switch {
	case r.NanoCPUs > 0:
		cpus = float64(r.NanoCPUs) / 1e9
	case r.CPUQuota > 0:
		period := r.CPUPeriod
		if period <= 0 {
			period = 100_000 // the kernel's default CFS period, in µs
		}
		cpus = float64(r.CPUQuota) / float64(period)
	}
	return memoryBytes, cpus
}

// memoryWithoutCache computes usage the way `docker stats` does: page cache
// is reclaimable and would make every container look full.
func memoryWithoutCache(m container.MemoryStats) uint64 {
	cache := m.Stats["inactive_file"]                // cgroup v2
	if v, ok := m.Stats["total_inactive_file"]; ok { // cgroup v1
		cache = v
	}
	if cache < m.Usage {
		return m.Usage - cache
	}
	return m.Usage
}

// Events returns the container events since a time until now, oldest first.
// exec_* events (healthchecks run one every few seconds) are dropped here:
// they are noise for every caller.
func (e *Engine) Events(ctx context.Context, since time.Time, containerIDs []string) ([]containers.Event, error) {
	args := filters.NewArgs(filters.Arg("type", string(events.ContainerEventType)))
	for _, id := range containerIDs {
		args.Add("container", id)
	}
	now := time.Now()
	msgs, errs := e.api.Events(ctx, events.ListOptions{
		Since:   strconv.FormatInt(since.Unix(), 10),
		Until:   strconv.FormatInt(now.Unix()+1, 10),
		Filters: args,
	})
	var out []containers.Event
	for {
		select {
		case m := <-msgs:
			if ev, ok := eventFrom(m); ok {
				out = append(out, ev)
			}
		case err := <-errs:
			if err == nil || errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, e.wrap("read events", err)
		case <-ctx.Done():
			return out, e.wrap("read events", ctx.Err())
		}
	}
}

// eventFrom converts a container event; ok is false for noise.
func eventFrom(m events.Message) (containers.Event, bool) {
	if m.Type != events.ContainerEventType || isExec(string(m.Action)) {
		return containers.Event{}, false
	}
	return containers.Event{
		Time:       time.Unix(0, m.TimeNano),
		Action:     string(m.Action),
		ID:         m.Actor.ID,
		Name:       m.Actor.Attributes["name"],
		Attributes: m.Actor.Attributes,
	}, true
}

func isExec(action string) bool {
	return len(action) >= 5 && action[:5] == "exec_"
}

// DiskUsage is `docker system df`.
func (e *Engine) DiskUsage(ctx context.Context) (containers.DiskUsage, error) {
	du, err := e.api.DiskUsage(ctx, types.DiskUsageOptions{})
	if err != nil {
		return containers.DiskUsage{}, e.wrap("read disk usage", err)
	}
	images := containers.DiskUsageRow{Kind: "Images", Total: len(du.Images), Size: du.LayersSize}
	var activeImagesSize int64
	for _, img := range du.Images {
		if img.Containers > 0 {
			images.Active++
			activeImagesSize += img.Size - img.SharedSize
		}
	}
	images.Reclaimable = max(du.LayersSize-activeImagesSize, 0)
	ctrs := containers.DiskUsageRow{Kind: "Containers", Total: len(du.Containers)}
	for _, c := range du.Containers {
		ctrs.Size += c.SizeRw
		if c.State == "running" {
			ctrs.Active++
		} else {
			ctrs.Reclaimable += c.SizeRw
		}
	}
	volumes := containers.DiskUsageRow{Kind: "Local Volumes", Total: len(du.Volumes)}
	for _, v := range du.Volumes {
		if v.UsageData == nil || v.UsageData.Size < 0 {
			continue
		}
		volumes.Size += v.UsageData.Size
		if v.UsageData.RefCount > 0 {
			volumes.Active++
		} else {
			volumes.Reclaimable += v.UsageData.Size
		}
	}
	cache := containers.DiskUsageRow{Kind: "Build Cache", Total: len(du.BuildCache)}
	for _, c := range du.BuildCache {
		cache.Size += c.Size
		if c.InUse {
			cache.Active++
		} else if !c.Shared {
			cache.Reclaimable += c.Size
		}
	}
	return containers.DiskUsage{Rows: []containers.DiskUsageRow{images, ctrs, volumes, cache}}, nil
}

// Volumes lists volumes. Sizes come from the disk usage endpoint, which is
// the only one that computes them; when it fails sizes stay unknown (-1).
func (e *Engine) Volumes(ctx context.Context) ([]containers.Volume, error) {
	list, err := e.api.VolumeList(ctx, volume.ListOptions{})
	if err != nil {
		return nil, e.wrap("list volumes", err)
	}
	sizes := map[string]*volume.UsageData{}
	if du, err := e.api.DiskUsage(ctx, types.DiskUsageOptions{Types: []types.DiskUsageObject{types.VolumeObject}}); err == nil {
		for _, v := range du.Volumes {
			sizes[v.Name] = v.UsageData
		}
	}
	out := make([]containers.Volume, 0, len(list.Volumes))
	for _, v := range list.Volumes {
		vol := containers.Volume{Name: v.Name, Driver: v.Driver, Mountpoint: v.Mountpoint, Labels: v.Labels, Size: -1, RefCount: -1}
		if u := sizes[v.Name]; u != nil {
			vol.Size, vol.RefCount = u.Size, u.RefCount
		}
		out = append(out, vol)
	}
	return out, nil
}

// Image describes a local image by reference or ID.
func (e *Engine) Image(ctx context.Context, ref string) (containers.Image, error) {
	img, err := e.api.ImageInspect(ctx, ref)
	if err != nil {
		return containers.Image{}, e.wrap("inspect image "+ref, err)
	}
	out := containers.Image{ID: img.ID, RepoTags: img.RepoTags, RepoDigests: img.RepoDigests, Size: img.Size}
	out.Created, _ = time.Parse(time.RFC3339Nano, img.Created)
	if img.Config != nil {
		out.Labels = img.Config.Labels
	}
	return out, nil
}

// Version describes the engine.
func (e *Engine) Version(ctx context.Context) (containers.EngineVersion, error) {
	v, err := e.api.ServerVersion(ctx)
	if err != nil {
		return containers.EngineVersion{}, e.wrap("read engine version", err)
	}
	return containers.EngineVersion{Version: v.Version, APIVersion: v.APIVersion, OS: v.Os, Arch: v.Arch, KernelVersion: v.KernelVersion}, nil
}
