package docker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"mfbot/containers"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
)

// Recreate does what `docker-compose pull && docker-compose up -d
// --force-recreate <svc>` does for one container: pull its image reference,
// then replace the container by a new one with the same configuration. If the
// new container cannot be created or started, the old one is put back.
func (e *Engine) Recreate(ctx context.Context, id string, opts containers.RecreateOptions) (containers.RecreateResult, error) {
	old, err := e.api.ContainerInspect(ctx, id)
	if err != nil {
		return containers.RecreateResult{}, e.wrap("inspect container "+id, err)
	}
	name := strings.TrimPrefix(old.Name, "/")
	ref := opts.Image
	if ref == "" {
		ref = old.Config.Image
	}
	res := containers.RecreateResult{OldID: old.ID, OldImageID: old.Image}
	oldImage, err := e.api.ImageInspect(ctx, old.Image)
	if err != nil {
		return res, e.wrap("inspect the current image of "+name, err)
	}
	res.OldDigest = digestOf(oldImage, ref)

	if opts.Pull && !isImageID(ref) {
		if err := e.pull(ctx, ref); err != nil {
			return res, err
		}
		res.Pulled = true
	}
	newImage, err := e.api.ImageInspect(ctx, ref)
	if err != nil {
		return res, e.wrap("inspect image "+ref, err)
	}
	res.NewImageID, res.NewDigest = newImage.ID, digestOf(newImage, ref)

	cfg, hostCfg, primary, extra := cloneConfig(old, imageDefaults(oldImage), ref)

	stopTimeout := int(opts.StopTimeout.Seconds())
	if opts.StopTimeout == 0 {
		stopTimeout = 10
	}
	wasRunning := old.State != nil && (old.State.Running || old.State.Restarting)
	if err := e.api.ContainerStop(ctx, old.ID, container.StopOptions{Timeout: &stopTimeout}); err != nil {
		return res, e.wrap("stop "+name, err)
	}
	// Keep the old container aside until the new one runs, so a failure
	// to create or start can put it back as it was.
	aside := fmt.Sprintf("%s_mfbot_replaced_%s", name, old.ID[:12])
	if err := e.api.ContainerRename(ctx, old.ID, aside); err != nil {
		e.restore(old.ID, name, "", wasRunning)
		return res, e.wrap("rename "+name+" aside", err)
	}
	created, err := e.api.ContainerCreate(ctx, cfg, hostCfg, primary, nil, name)
	if err != nil {
		return res, errors.Join(e.wrap("create the new "+name, err), e.restore(old.ID, name, "", wasRunning))
	}
	res.NewID = created.ID
	for netName, endpoint := range extra {
		if err := e.api.NetworkConnect(ctx, netName, created.ID, endpoint); err != nil {
			return res, errors.Join(e.wrap("connect the new "+name+" to network "+netName, err), e.restore(old.ID, name, created.ID, wasRunning))
		}
	}
	if err := e.api.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return res, errors.Join(e.wrap("start the new "+name, err), e.restore(old.ID, name, created.ID, wasRunning))
	}
	if err := e.api.ContainerRemove(ctx, old.ID, container.RemoveOptions{}); err != nil {
		return res, e.wrap("remove the replaced container "+aside, err)
	}
	return res, nil
}

// restore removes a half-made replacement and puts the old container back
// under its name. It runs even when ctx was cancelled: leaving the service
// without a container is worse than finishing late.
func (e *Engine) restore(oldID, name, newID string, start bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	if newID != "" {
		if err := e.api.ContainerRemove(ctx, newID, container.RemoveOptions{Force: true}); err != nil {
			errs = append(errs, e.wrap("remove the failed new "+name, err))
		}
	}
	if err := e.api.ContainerRename(ctx, oldID, name); err != nil {
		errs = append(errs, e.wrap("give "+name+" its name back", err))
	}
	if start {
		if err := e.api.ContainerStart(ctx, oldID, container.StartOptions{}); err != nil {
			errs = append(errs, e.wrap("start the previous "+name+" again", err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("restoring the previous container failed: %w", errors.Join(errs...))
	}
	return nil
}

// pull pulls ref and reads the progress stream to the end, where the
// engine reports errors (unknown tag, registry down).
func (e *Engine) pull(ctx context.Context, ref string) error {
	return e.pullStream(ctx, ref, containers.PullOptions{})
}

// imageDefaults is what a container inherits from its image.
func imageDefaults(img image.InspectResponse) *container.Config {
	c := img.Config
	if c == nil {
		return &container.Config{}
	}
	return &container.Config{
		Env: c.Env, Labels: c.Labels, Entrypoint: c.Entrypoint, Cmd: c.Cmd,
		WorkingDir: c.WorkingDir, User: c.User, StopSignal: c.StopSignal, Healthcheck: c.Healthcheck,
	}
}

func isImageID(ref string) bool { return strings.HasPrefix(ref, "sha256:") }

// digestOf names an image by its registry digest for the repository of ref
// when it has one (what operators compare with the registry), else its ID.
func digestOf(img image.InspectResponse, ref string) string {
	repo := repositoryOf(ref)
	for _, d := range img.RepoDigests {
		if strings.HasPrefix(d, repo+"@") {
			return d
		}
	}
	if len(img.RepoDigests) > 0 {
		return img.RepoDigests[0]
	}
	return img.ID
}

// repositoryOf strips the tag or digest from an image reference
// ("127.0.0.1:5000/app:v1" → "127.0.0.1:5000/app").
func repositoryOf(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// cloneConfig rebuilds the creation request of a container from its
// inspection. What the container inherited from its old image (env, labels,
// command, healthcheck ...) is left out, so that the new image's own values
// apply, exactly as compose does when it recreates from the compose file.
// It returns the network to join at creation and the others to connect
// before start (engines before API 1.44 accept one network at creation).
func cloneConfig(old container.InspectResponse, inherited *container.Config, ref string) (*container.Config, *container.HostConfig, *network.NetworkingConfig, map[string]*network.EndpointSettings) {
	cfg := *old.Config
	if inherited == nil {
		inherited = &container.Config{}
	}
	cfg.Image = ref
	if cfg.Hostname == old.ID[:12] {
		cfg.Hostname = "" // Docker's default, derived from the ID
	}
	cfg.Env = slices.DeleteFunc(slices.Clone(cfg.Env), func(kv string) bool { return slices.Contains(inherited.Env, kv) })
	cfg.Labels = maps.Clone(cfg.Labels)
	for k, v := range inherited.Labels {
		if cfg.Labels[k] == v {
			delete(cfg.Labels, k)
		}
	}
	if slices.Equal(cfg.Entrypoint, inherited.Entrypoint) {
		cfg.Entrypoint = nil
		if slices.Equal(cfg.Cmd, inherited.Cmd) {
			cfg.Cmd = nil
		}
	}
	if cfg.WorkingDir == inherited.WorkingDir {
		cfg.WorkingDir = ""
	}
	if cfg.User == inherited.User {
		cfg.User = ""
	}
	if cfg.StopSignal == inherited.StopSignal {
		cfg.StopSignal = ""
	}
	if reflect.DeepEqual(cfg.Healthcheck, inherited.Healthcheck) {
		cfg.Healthcheck = nil
	}

	hostCfg := *old.HostConfig
	hostCfg.Mounts = append(slices.Clone(hostCfg.Mounts), anonymousVolumes(old)...)

	primary := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{}}
	extra := map[string]*network.EndpointSettings{}
	if old.NetworkSettings != nil {
		for netName, ep := range old.NetworkSettings.Networks {
			endpoint := &network.EndpointSettings{
				IPAMConfig: ep.IPAMConfig,
				Links:      ep.Links,
				DriverOpts: ep.DriverOpts,
				// The engine adds the short container ID as an alias itself.
				Aliases: slices.DeleteFunc(slices.Clone(ep.Aliases), func(a string) bool { return a == old.ID[:12] }),
			}
			if netName == string(hostCfg.NetworkMode) || (len(primary.EndpointsConfig) == 0 && !hostCfg.NetworkMode.IsUserDefined()) {
				primary.EndpointsConfig[netName] = endpoint
			} else {
				extra[netName] = endpoint
			}
		}
	}
	// Shared network namespaces (host, none, container:x) carry no endpoints.
	if !hostCfg.NetworkMode.IsUserDefined() && !hostCfg.NetworkMode.IsBridge() && !hostCfg.NetworkMode.IsDefault() {
		primary.EndpointsConfig = nil
		extra = nil
	}
	return &cfg, &hostCfg, primary, extra
}

// anonymousVolumes returns the volumes the engine created for the image's
// VOLUME entries: without them the new container would start with empty
// ones, losing data compose would have kept.
func anonymousVolumes(old container.InspectResponse) []mount.Mount {
	declared := map[string]bool{}
	for _, b := range old.HostConfig.Binds {
		if parts := strings.Split(b, ":"); len(parts) >= 2 {
			declared[parts[1]] = true
		}
	}
	for _, m := range old.HostConfig.Mounts {
		declared[m.Target] = true
	}
	var out []mount.Mount
	for _, m := range old.Mounts {
		if m.Type == mount.TypeVolume && m.Name != "" && !declared[m.Destination] {
			out = append(out, mount.Mount{Type: mount.TypeVolume, Source: m.Name, Target: m.Destination, ReadOnly: !m.RW})
		}
	}
	return out
}
