package commands

import (
	"testing"
	"time"

	"mfbot/config"
	"mfbot/containers"
)

func TestResolveContainerOrder(t *testing.T) {
	app := config.Service{Name: "app", KnownNames: []string{"remote_app_1", "monitorfish_backend"}}
	compose := func(name, project, service, state string, age time.Duration) containers.Container {
		return containers.Container{ID: name, Name: name, State: state, Created: time.Now().Add(-age),
			Labels: map[string]string{composeProjectLabel: project, composeServiceLabel: service}}
	}
	plain := func(name string) containers.Container {
		return containers.Container{ID: name, Name: name, State: "running"}
	}
	tests := []struct {
		name       string
		svc        config.Service
		containers []containers.Container
		want       string // "" = no container
	}{
		{"configured name wins", config.Service{Name: "app", Container: "custom", KnownNames: app.KnownNames},
			[]containers.Container{plain("remote_app_1"), plain("custom")}, "custom"},
		{"configured name missing: no guessing", config.Service{Name: "app", Container: "custom", KnownNames: app.KnownNames},
			[]containers.Container{plain("remote_app_1")}, ""},
		{"compose labels before known names", app,
			[]containers.Container{plain("monitorfish_backend"), compose("whatever_app", "remote", "app", "running", time.Hour)}, "whatever_app"},
		{"another compose project does not count", app,
			[]containers.Container{compose("other_app_1", "other", "app", "running", 0), plain("monitorfish_backend")}, "monitorfish_backend"},
		{"running replica before a newer stopped one", app,
			[]containers.Container{compose("remote_app_2", "remote", "app", "exited", 0), compose("remote_app_1", "remote", "app", "running", time.Hour)}, "remote_app_1"},
		{"newest among equals", app,
			[]containers.Container{compose("old", "remote", "app", "running", time.Hour), compose("new", "remote", "app", "running", time.Minute)}, "new"},
		{"known names in order", app,
			[]containers.Container{plain("monitorfish_backend"), plain("remote_app_1")}, "remote_app_1"},
		{"new name of 2021+", app, []containers.Container{plain("monitorfish_backend")}, "monitorfish_backend"},
		{"nothing", app, []containers.Container{plain("monitorfish_database")}, ""},
		{"compose one-off containers are not the service", app,
			[]containers.Container{func() containers.Container {
				c := compose("remote_app_run_1", "remote", "app", "running", 0)
				c.Labels[composeOneOffLabel] = "True"
				return c
			}(), compose("remote_app_1", "remote", "app", "exited", time.Hour)}, "remote_app_1"},
		{"compose service name configured", config.Service{Name: "backend", ComposeService: "app"},
			[]containers.Container{compose("remote_app_1", "remote", "app", "running", 0)}, "remote_app_1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ResolveContainer(tt.svc, "remote", tt.containers)
			switch {
			case got == nil && tt.want != "":
				t.Fatalf("no container, want %s", tt.want)
			case got != nil && got.Name != tt.want:
				t.Fatalf("got %s, want %q", got.Name, tt.want)
			}
		})
	}
}

func TestImageReferenceParts(t *testing.T) {
	for ref, want := range map[string][2]string{
		"ghcr.io/mtes-mct/monitorfish/monitorfish-app:v1.2.3": {"ghcr.io/mtes-mct/monitorfish/monitorfish-app", "v1.2.3"},
		"127.0.0.1:5000/monitorfish-app:snapshot":             {"127.0.0.1:5000/monitorfish-app", "snapshot"},
		"127.0.0.1:5000/monitorfish-app":                      {"127.0.0.1:5000/monitorfish-app", "latest"},
		"timescale/timescaledb-postgis:1.7.4-pg11":            {"timescale/timescaledb-postgis", "1.7.4-pg11"},
		"repo/app@sha256:abcd":                                {"repo/app", "sha256:abcd"},
	} {
		if repo, tag := imageRepository(ref), imageTag(ref); repo != want[0] || tag != want[1] {
			t.Errorf("%s → %s %s, want %v", ref, repo, tag, want)
		}
	}
}
