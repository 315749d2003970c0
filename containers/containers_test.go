package containers

import "testing"

func TestRegistryHost(t *testing.T) {
	for ref, want := range map[string]string{
		"127.0.0.1:5000/monitorfish-app:v1":            "127.0.0.1:5000",
		"ghcr.io/mtes-mct/monitorfish/app:v1.2":        "ghcr.io",
		"localhost/app":                                "localhost",
		"library/postgres:15":                          DockerHub,
		"postgres":                                     DockerHub,
		"timescale/timescaledb-postgis:1.7.4-pg11":     DockerHub,
		"registry.example:443/a/b@sha256:0123456789ab": "registry.example:443",
	} {
		if got := RegistryHost(ref); got != want {
			t.Errorf("RegistryHost(%q) = %q, want %q", ref, got, want)
		}
	}
}
