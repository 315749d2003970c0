//go:build integration

// Package testenv gives integration tests access to the real test stack
// that testenv/up.sh starts (Docker engine, local registry, compose project
// "remote", PostgreSQL). Tests built with the integration tag require it:
// run them with `bash testenv/test.sh`.
package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Stack describes the running test stack, from testenv/.state/env.
type Stack struct {
	Registry    string // 127.0.0.1:5000
	AppURL      string // the app's published HTTP port
	PGURL       string // a PostgreSQL database for tests
	ComposeFile string
	Fakeapp     string // the static fake MonitorFish binary
	// PipelineImage is the pipeline image's repository in the registry
	// (tags v1, v2: the stack image, whose fakeapp has the deploy-flows mode).
	PipelineImage string
}

// Require returns the stack, failing the test (never skipping it) when
// the environment was not started.
func Require(t testing.TB) Stack {
	t.Helper()
	if os.Getenv("MFBOT_TEST_STACK") != "1" {
		t.Fatal("the integration tests need the test stack: run `bash testenv/test.sh` (or `bash testenv/up.sh && source testenv/.state/env`)")
	}
	return Stack{
		Registry:      os.Getenv("MFBOT_TEST_REGISTRY"),
		AppURL:        os.Getenv("MFBOT_TEST_APP_URL"),
		PGURL:         os.Getenv("MFBOT_TEST_PG_URL"),
		ComposeFile:   os.Getenv("MFBOT_TEST_COMPOSE_FILE"),
		Fakeapp:       os.Getenv("MFBOT_TEST_FAKEAPP"),
		PipelineImage: os.Getenv("MFBOT_TEST_PIPELINE_IMAGE"),
	}
}

// ConfigYAML is mfbot's configuration for the test stack: one environment,
// local, whose app is the stack's, with restart and stop timeouts short
// enough for tests. extra is appended: indented lines go on under limits:
// (e.g. "  confirm_timeout: 2s\n"), unindented ones add sections (e.g.
// "alerts:\n  recovery_after: 3s\n").
//
// The data freshness watcher would poll app_url, the shared app that other
// tests crash and make stale: it is off unless extra configures it
// (alerts.freshness), so that no test sees incidents caused by another.
func (s Stack) ConfigYAML(extra string) string {
	if !strings.Contains(extra, "freshness:") {
		const off = "  freshness:\n    enabled: false\n"
		if i := strings.Index(extra, "alerts:\n"); i >= 0 && (i == 0 || extra[i-1] == '\n') {
			extra = extra[:i+len("alerts:\n")] + off + extra[i+len("alerts:\n"):]
		} else {
			extra += "alerts:\n" + off
		}
	}
	return "environments:\n  local:\n    app_url: " + s.AppURL + "\n" +
		"limits:\n  restart_timeout: 1m\n  stop_timeout: 5s\n" + extra
}

// WriteConfig writes ConfigYAML(extra) to mfbot.yaml in a new temporary
// directory of the test and returns its path.
func (s Stack) WriteConfig(t testing.TB, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mfbot.yaml")
	if err := os.WriteFile(path, []byte(s.ConfigYAML(extra)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// AppImage is the app's image reference for a tag (v1, v2, snapshot).
func (s Stack) AppImage(tag string) string { return s.Registry + "/monitorfish-app:" + tag }

// Docker runs the docker CLI and returns its trimmed output.
func Docker(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Compose runs docker-compose on the test project.
func (s Stack) Compose(t testing.TB, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	full := append([]string{"-p", "remote", "-f", s.ComposeFile}, args...)
	out, err := exec.CommandContext(ctx, "docker-compose", full...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker-compose %s: %v\n%s", strings.Join(full, " "), err, out)
	}
}

// PublishSnapshot makes the registry's snapshot tag point at version tag
// (v1 or v2) while the engine's local snapshot tag stays where it was, so
// that only a real pull brings the new version.
func (s Stack) PublishSnapshot(t testing.TB, tag string) {
	t.Helper()
	local := Docker(t, "image", "inspect", "-f", "{{.ID}}", s.AppImage("snapshot"))
	Docker(t, "tag", s.AppImage(tag), s.AppImage("snapshot"))
	Docker(t, "push", s.AppImage("snapshot"))
	Docker(t, "tag", local, s.AppImage("snapshot"))
}

// ImageID is the local ID of an image reference.
func ImageID(t testing.TB, ref string) string {
	t.Helper()
	return Docker(t, "image", "inspect", "-f", "{{.ID}}", ref)
}

// ResetApp puts the app back as up.sh left it: snapshot = v1 in the
// registry and locally, remote_app_1 recreated from it and healthy.
func (s Stack) ResetApp(t testing.TB) {
	t.Helper()
	Docker(t, "tag", s.AppImage("v1"), s.AppImage("snapshot"))
	Docker(t, "push", s.AppImage("snapshot"))
	s.Compose(t, "up", "-d", "--force-recreate", "--no-deps", "app")
	WaitHealthy(t, "remote_app_1", time.Minute)
}

// WaitHealthy waits until a container is running and healthy.
func WaitHealthy(t testing.TB, name string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		state := Docker(t, "inspect", "-f", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", name)
		if state == "running healthy" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %q after %s, want running healthy", name, state, timeout)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
