//go:build integration

package docker_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mfbot/adapters/docker"
	"mfbot/containers"
	"mfbot/testenv"
)

// runSpec is a one-off container of the stack image, labelled so that a
// leftover can be found.
func runSpec(t *testing.T, run string, cmd ...string) containers.RunSpec {
	return containers.RunSpec{
		Image:  stackEnv(t, "MFBOT_TEST_STACK_IMAGE"),
		Cmd:    cmd,
		Labels: map[string]string{"mfbot.test": "1", "mfbot.runonce": run},
	}
}

// runOnce runs spec and collects its lines.
func runOnce(t *testing.T, e *docker.Engine, ctx context.Context, spec containers.RunSpec) ([]containers.LogLine, containers.RunResult, error) {
	t.Helper()
	var lines []containers.LogLine
	res, err := e.RunOnce(ctx, spec, func(l containers.LogLine) error {
		lines = append(lines, l)
		return nil
	})
	return lines, res, err
}

// assertRemoved checks that RunOnce left no container behind.
func assertRemoved(t *testing.T, e *docker.Engine, id, run string) {
	t.Helper()
	if id != "" {
		if _, err := e.Inspect(ctxFor(t, 30*time.Second), id); !errors.Is(err, containers.ErrNoSuchContainer) {
			t.Errorf("container %s: inspect after the run: %v, want no such container", id, err)
		}
	}
	if left := testenv.Docker(t, "ps", "-aq", "--filter", "label=mfbot.runonce="+run); left != "" {
		t.Errorf("containers left behind: %s", left)
		dockerQuiet(append([]string{"rm", "-f"}, strings.Fields(left)...)...)
	}
}

func texts(lines []containers.LogLine, stream string) []string {
	var out []string
	for _, l := range lines {
		if l.Stream == stream {
			out = append(out, l.Text)
		}
	}
	return out
}

func TestRunOnceStreamsOutputAndRemovesTheContainer(t *testing.T) {
	testenv.Require(t)
	e := newEngine(t)
	run := unique(t)
	spec := runSpec(t, run, "version")
	spec.Name = "mfbot-runonce-" + run
	// A fast exit, several times: the exit and the output must not be lost.
	for i := range 5 {
		lines, res, err := runOnce(t, e, ctxFor(t, time.Minute), spec)
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != 0 || res.ContainerID == "" || res.Took <= 0 {
			t.Errorf("run %d: result %+v", i, res)
		}
		if out := texts(lines, "stdout"); len(lines) != 1 || len(out) != 1 || !strings.HasPrefix(out[0], "fakeapp ") || !strings.Contains(out[0], "(commit ") {
			t.Fatalf("run %d: lines %+v, want the one version line on stdout", i, lines)
		}
		if lines[0].Time.IsZero() {
			t.Errorf("line without time")
		}
		assertRemoved(t, e, res.ContainerID, run)
	}

	// A failing command: its exit code, not an error; stderr kept apart.
	lines, res, err := runOnce(t, e, ctxFor(t, time.Minute), runSpec(t, run, "no-such-mode"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 2 {
		t.Errorf("exit code %d, want 2", res.ExitCode)
	}
	if errs := texts(lines, "stderr"); len(errs) != 1 || !strings.Contains(errs[0], `unknown mode "no-such-mode"`) || len(texts(lines, "stdout")) != 0 {
		t.Errorf("lines %+v, want the usage error on stderr", lines)
	}
	assertRemoved(t, e, res.ContainerID, run)
}

// The fake PostgreSQL writes a line on stdout then its start on stderr,
// then waits forever: lines come in order, each in its stream.
func TestRunOnceTimeoutKillsAndRemoves(t *testing.T) {
	testenv.Require(t)
	e := newEngine(t)
	run := unique(t)
	spec := runSpec(t, run, "db")
	spec.Env = []string{"FAKEAPP_LOG_INTERVAL=0"}
	spec.Timeout = 3 * time.Second
	start := time.Now()
	lines, res, err := runOnce(t, e, ctxFor(t, time.Minute), spec)
	if err == nil || !strings.Contains(err.Error(), "timed out after 3s") {
		t.Fatalf("err = %v, want a timeout after 3s", err)
	}
	if took := time.Since(start); took < 3*time.Second || took > 20*time.Second {
		t.Errorf("returned after %s", took)
	}
	if errors.Is(err, containers.ErrUnreachable) {
		t.Errorf("a timeout of the run reported as an unreachable engine: %v", err)
	}
	stderr := texts(lines, "stderr")
	if len(stderr) < 2 || !strings.Contains(stderr[0], "starting PostgreSQL") || !strings.Contains(stderr[len(stderr)-1], "TimescaleDB background worker") {
		t.Errorf("stderr %q, want the start of the fake database in order", stderr)
	}
	if out := texts(lines, "stdout"); !strings.Contains(strings.Join(out, "\n"), "Skipping initialization") {
		t.Errorf("stdout %q, want the database's first line", out)
	}
	if res.ContainerID == "" {
		t.Error("no container ID in the result")
	}
	assertRemoved(t, e, res.ContainerID, run)
}

func TestRunOnceSinkErrorStopsTheRun(t *testing.T) {
	testenv.Require(t)
	e := newEngine(t)
	run := unique(t)
	spec := runSpec(t, run, "db")
	spec.Env = []string{"FAKEAPP_LOG_INTERVAL=0"}
	stop := errors.New("the reader gave up")
	calls := 0
	start := time.Now()
	res, err := e.RunOnce(ctxFor(t, time.Minute), spec, func(containers.LogLine) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the sink's", err)
	}
	if calls != 1 {
		t.Errorf("sink called %d times after its error", calls)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("stopping took %s", took)
	}
	assertRemoved(t, e, res.ContainerID, run)
}

func TestRunOnceCancelledContextStillRemoves(t *testing.T) {
	testenv.Require(t)
	e := newEngine(t)
	run := unique(t)
	spec := runSpec(t, run, "db")
	spec.Env = []string{"FAKEAPP_LOG_INTERVAL=0"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := e.RunOnce(ctx, spec, func(containers.LogLine) error {
		cancel() // the caller leaves (the command was cancelled)
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	assertRemoved(t, e, res.ContainerID, run)
}

func TestRunOnceOfAMissingImageFails(t *testing.T) {
	testenv.Require(t)
	e := newEngine(t)
	run := unique(t)
	spec := runSpec(t, run, "version")
	spec.Image = "mfbot-test/no-such-image-" + run + ":latest"
	_, res, err := runOnce(t, e, ctxFor(t, time.Minute), spec)
	if err == nil || !strings.Contains(err.Error(), "No such image") || !strings.Contains(err.Error(), spec.Image) {
		t.Fatalf("err = %v, want the engine's no such image", err)
	}
	if res.ContainerID != "" {
		t.Errorf("a container %s was reported", res.ContainerID)
	}
	if out := testenv.Docker(t, "images", "-q", spec.Image); out != "" {
		t.Errorf("RunOnce pulled %s", spec.Image)
	}
	assertRemoved(t, e, "", run)
}

// No mode of fakeapp prints its environment: the healthcheck mode shows
// both the env and the network, as it calls FAKEAPP_HEALTH_URL, here a
// server on the host's loopback that only a container of the host network
// reaches.
func TestRunOnceWithHostNetworkEnvFileAndEnv(t *testing.T) {
	testenv.Require(t)
	e := newEngine(t)
	run := unique(t)
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
		if r.URL.Path == "/down" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "seen %s", r.URL.Path)
	}))
	defer srv.Close()

	dir := t.TempDir()
	writeEnv := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	withValue := writeEnv("value.env", "# the health URL\n  FAKEAPP_HEALTH_URL="+srv.URL+"/from-file\n\nOTHER=x\n")
	bare := writeEnv("bare.env", "FAKEAPP_HEALTH_URL\n")
	t.Setenv("FAKEAPP_HEALTH_URL", srv.URL+"/from-mfbot")

	for _, tc := range []struct {
		name     string
		envFile  string
		env      []string
		path     string
		exitCode int
	}{
		{"env file", withValue, nil, "/from-file", 0},
		{"env wins over the file", withValue, []string{"FAKEAPP_HEALTH_URL=" + srv.URL + "/from-env"}, "/from-env", 0},
		{"bare key takes mfbot's value", bare, nil, "/from-mfbot", 0},
		{"a failed check is an exit code", "", []string{"FAKEAPP_HEALTH_URL=" + srv.URL + "/down"}, "/down", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := runSpec(t, run, "healthcheck")
			spec.Network, spec.EnvFile, spec.Env = "host", tc.envFile, tc.env
			lines, res, err := runOnce(t, e, ctxFor(t, time.Minute), spec)
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			last := ""
			if len(seen) > 0 {
				last = seen[len(seen)-1]
			}
			mu.Unlock()
			if last != tc.path || res.ExitCode != tc.exitCode {
				t.Errorf("server saw %q, exit %d; want %q, exit %d (lines %+v)", last, res.ExitCode, tc.path, tc.exitCode, lines)
			}
			if out := texts(lines, "stdout"); len(out) != 1 || !strings.HasPrefix(out[0], "healthcheck: ") {
				t.Errorf("stdout %q", out)
			} else if tc.exitCode == 0 && !strings.Contains(out[0], "seen "+tc.path) {
				t.Errorf("stdout %q, want the server's answer", out)
			}
			assertRemoved(t, e, res.ContainerID, run)
		})
	}

	// A broken env file stops the run before any container exists.
	broken := writeEnv("broken.env", "GOOD=1\nBAD KEY=2\n")
	spec := runSpec(t, run, "version")
	spec.EnvFile = broken
	if _, _, err := runOnce(t, e, ctxFor(t, time.Minute), spec); err == nil || !strings.Contains(err.Error(), broken+", line 2") {
		t.Errorf("broken env file: %v", err)
	}
	assertRemoved(t, e, "", run)
}
