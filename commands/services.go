package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"mfbot/config"
	"mfbot/containers"
)

// Compose's labels, which name a container's project and service.
const (
	composeProjectLabel = "com.docker.compose.project"
	composeServiceLabel = "com.docker.compose.service"
	composeOneOffLabel  = "com.docker.compose.oneoff"
)

// ResolveContainer finds the container of a service, in the order of the
// product spec: configured name, compose labels, then the names MonitorFish
// has used over the years. nil means the service has no container. The
// watchers use it too, so that alerts and commands agree on which
// container a service is.
func ResolveContainer(svc config.Service, project string, list []containers.Container) *containers.Container {
	byName := func(name string) *containers.Container {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
		return nil
	}
	if svc.Container != "" {
		// A configured name is authoritative: no guessing past it.
		return byName(svc.Container)
	}
	composeService := svc.ComposeService
	if composeService == "" {
		composeService = svc.Name
	}
	var labelled []*containers.Container
	for i := range list {
		l := list[i].Labels
		// `docker compose run app …` makes one-off containers with the
		// service's labels: a migration or a shell is not the service.
		if l[composeProjectLabel] == project && l[composeServiceLabel] == composeService && !strings.EqualFold(l[composeOneOffLabel], "true") {
			labelled = append(labelled, &list[i])
		}
	}
	if len(labelled) > 0 {
		// Scaled or half-recreated services have several: prefer the
		// running one, then the newest.
		slices.SortStableFunc(labelled, func(a, b *containers.Container) int {
			if (a.State == "running") != (b.State == "running") {
				if a.State == "running" {
					return -1
				}
				return 1
			}
			return b.Created.Compare(a.Created)
		})
		return labelled[0]
	}
	for _, name := range svc.KnownNames {
		if c := byName(name); c != nil {
			return c
		}
	}
	return nil
}

// stackService is a service with its container, if any.
type stackService struct {
	Service   config.Service
	Container *containers.Container
}

// stack resolves every service of the environment with one list call.
func (call *call) stack(ctx context.Context) ([]stackService, []containers.Container, error) {
	list, err := call.env.Docker.Containers(ctx)
	if err != nil {
		return nil, nil, err
	}
	out := make([]stackService, 0, len(call.env.Config.Services))
	for _, svc := range call.env.Config.Services {
		out = append(out, stackService{Service: svc, Container: ResolveContainer(svc, call.env.Config.ComposeProject, list)})
	}
	return out, list, nil
}

// container resolves the call's service to its container, or explains why not.
func (call *call) container(ctx context.Context) (*containers.Container, error) {
	var c *containers.Container
	if name := call.service.Container; name != "" {
		// A configured name needs no listing: one request instead of two.
		d, err := call.env.Docker.Inspect(ctx, name)
		switch {
		case errors.Is(err, containers.ErrNoSuchContainer):
		case err != nil:
			return nil, err
		case d.Name == name: // the engine also matches ID prefixes: only the name counts
			c = &d.Container
		}
	} else {
		list, err := call.env.Docker.Containers(ctx)
		if err != nil {
			return nil, err
		}
		c = ResolveContainer(*call.service, call.env.Config.ComposeProject, list)
	}
	if c == nil {
		return nil, fmt.Errorf("service %s has no container in %s (looked for %s)", call.service.Name, call.env.Config.Name, describeLookup(*call.service, call.env.Config.ComposeProject))
	}
	return c, nil
}

func describeLookup(svc config.Service, project string) string {
	if svc.Container != "" {
		return "container " + svc.Container
	}
	composeService := svc.ComposeService
	if composeService == "" {
		composeService = svc.Name
	}
	s := fmt.Sprintf("compose service %s/%s", project, composeService)
	for _, n := range svc.KnownNames {
		s += ", " + n
	}
	return s
}

// recreatesOnRestart says which services restart the runbook's way (pull
// and recreate): the backend, whose image tag is what a deployment changes.
func recreatesOnRestart(svc config.Service) bool { return svc.Name == "app" }
