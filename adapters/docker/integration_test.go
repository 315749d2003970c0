//go:build integration

package docker_test

import (
	"context"
	"fmt"
	"maps"
	"net"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"mfbot/adapters/docker"
	"mfbot/containers"
	"mfbot/testenv"
)

func newEngine(t *testing.T) *docker.Engine {
	t.Helper()
	e, err := docker.New(docker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// rawInspect reads a container with the Docker client directly, to compare
// configurations without going through the adapter under test.
func rawInspect(t *testing.T, name string) container.InspectResponse {
	t.Helper()
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	info, err := api.ContainerInspect(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// ownConfig is the part of a container's configuration that recreation
// must keep: everything but identity, state and what the image provides.
func ownConfig(t *testing.T, info container.InspectResponse, imageLabels map[string]string) map[string]any {
	t.Helper()
	cfg := *info.Config
	cfg.Image, cfg.Hostname = "", ""
	cfg.Labels = maps.Clone(cfg.Labels)
	for k := range imageLabels {
		delete(cfg.Labels, k)
	}
	networks := map[string][]string{}
	for name, ep := range info.NetworkSettings.Networks {
		networks[name] = slices.Sorted(slices.Values(slices.DeleteFunc(slices.Clone(ep.Aliases), func(a string) bool { return a == info.ID[:12] })))
	}
	var mounts []string
	for _, m := range info.Mounts {
		mounts = append(mounts, fmt.Sprintf("%s %s %s %s %t", m.Type, m.Name, m.Source, m.Destination, m.RW))
	}
	slices.Sort(mounts)
	return map[string]any{
		"name":       info.Name,
		"config":     cfg,
		"hostConfig": *info.HostConfig,
		"networks":   networks,
		"mounts":     mounts,
		"logPath":    info.LogPath != "",
	}
}

func imageLabels(t *testing.T, ref string) map[string]string {
	t.Helper()
	out := testenv.Docker(t, "image", "inspect", "-f", "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}}\n{{end}}", ref)
	labels := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			labels[k] = v
		}
	}
	return labels
}

func TestRecreatePullsNewerTagAndKeepsConfiguration(t *testing.T) {
	stack := testenv.Require(t)
	t.Cleanup(func() { stack.ResetApp(t) })
	stack.ResetApp(t)
	e := newEngine(t)
	v1, v2 := testenv.ImageID(t, stack.AppImage("v1")), testenv.ImageID(t, stack.AppImage("v2"))
	before := rawInspect(t, "remote_app_1")
	if before.Image != v1 {
		t.Fatalf("remote_app_1 runs %s, want v1 %s", before.Image, v1)
	}
	stack.PublishSnapshot(t, "v2")

	res, err := e.Recreate(ctxFor(t, 2*time.Minute), "remote_app_1", containers.RecreateOptions{Pull: true, StopTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Pulled || res.OldImageID != v1 || res.NewImageID != v2 {
		t.Fatalf("result = %+v, want pulled v1 %s → v2 %s", res, v1, v2)
	}
	if !strings.HasPrefix(res.OldDigest, stack.Registry+"/monitorfish-app@sha256:") || !strings.HasPrefix(res.NewDigest, stack.Registry+"/monitorfish-app@sha256:") || res.OldDigest == res.NewDigest {
		t.Errorf("digests %q → %q, want two different registry digests", res.OldDigest, res.NewDigest)
	}
	after := rawInspect(t, "remote_app_1")
	if after.ID == before.ID || after.ID != res.NewID || after.Image != v2 {
		t.Fatalf("after: id %s image %s; want a new container on v2", after.ID, after.Image)
	}
	if after.Config.Image != stack.AppImage("snapshot") {
		t.Errorf("new container image reference %q, want the tag %q", after.Config.Image, stack.AppImage("snapshot"))
	}
	labels := maps.Clone(imageLabels(t, stack.AppImage("v1")))
	maps.Copy(labels, imageLabels(t, stack.AppImage("v2")))
	if got, want := ownConfig(t, after, labels), ownConfig(t, before, labels); !reflect.DeepEqual(got, want) {
		t.Errorf("configuration changed by recreate:\n got %#v\nwant %#v", got, want)
	}
	if v := after.Config.Labels["org.opencontainers.image.version"]; v != imageLabels(t, stack.AppImage("v2"))["org.opencontainers.image.version"] {
		t.Errorf("image version label %q: the old image's label leaked into the new container", v)
	}
	if n := len(testenv.Docker(t, "ps", "-aq", "--filter", "name=remote_app_1_mfbot_replaced")); n != 0 {
		t.Errorf("the replaced container was left behind")
	}
	testenv.WaitHealthy(t, "remote_app_1", time.Minute)

	// Roll back onto the previous image by ID.
	back, err := e.Recreate(ctxFor(t, 2*time.Minute), "remote_app_1", containers.RecreateOptions{Image: v1, StopTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if back.Pulled || back.NewImageID != v1 || rawInspect(t, "remote_app_1").Image != v1 {
		t.Fatalf("rollback result %+v, want the container back on v1", back)
	}
	testenv.WaitHealthy(t, "remote_app_1", time.Minute)
}

func TestRecreateWithoutPullKeepsTheLocalImage(t *testing.T) {
	stack := testenv.Require(t)
	t.Cleanup(func() { stack.ResetApp(t) })
	stack.ResetApp(t)
	stack.PublishSnapshot(t, "v2")
	e := newEngine(t)
	res, err := e.Recreate(ctxFor(t, 2*time.Minute), "remote_app_1", containers.RecreateOptions{StopTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v1 := testenv.ImageID(t, stack.AppImage("v1"))
	if res.Pulled || res.OldImageID != v1 || res.NewImageID != v1 || res.OldID == res.NewID {
		t.Fatalf("result %+v: want a new container on the same local image", res)
	}
}

func TestRecreateOfAMissingImageLeavesTheContainerUntouched(t *testing.T) {
	stack := testenv.Require(t)
	e := newEngine(t)
	before := rawInspect(t, "remote_app_1")
	_, err := e.Recreate(ctxFor(t, time.Minute), "remote_app_1", containers.RecreateOptions{Pull: true, Image: stack.Registry + "/monitorfish-app:does-not-exist"})
	if err == nil || !strings.Contains(err.Error(), "pull") {
		t.Fatalf("err = %v, want a pull error", err)
	}
	after := rawInspect(t, "remote_app_1")
	if after.ID != before.ID || !after.State.Running {
		t.Fatalf("container changed (%s → %s, running %t) although nothing could be pulled", before.ID, after.ID, after.State.Running)
	}
}

func collectLogs(t *testing.T, e *docker.Engine, name string, q containers.LogQuery) []containers.LogLine {
	t.Helper()
	var lines []containers.LogLine
	err := e.Logs(ctxFor(t, time.Minute), name, q, func(l containers.LogLine) error {
		lines = append(lines, l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func TestLogsDemultiplexStdoutAndStderr(t *testing.T) {
	testenv.Require(t)
	e := newEngine(t)
	all := collectLogs(t, e, "remote_app_1", containers.LogQuery{Tail: 200})
	if len(all) == 0 {
		t.Fatal("no log lines")
	}
	streams := map[string]int{}
	for _, l := range all {
		streams[l.Stream]++
		if l.Time.IsZero() {
			t.Errorf("line without timestamp: %q", l.Text)
		}
		if strings.ContainsAny(l.Text, "\x00\x01\x02") {
			t.Errorf("multiplexing header leaked into %q", l.Text)
		}
	}
	if streams["stdout"] == 0 || streams["stderr"] == 0 {
		t.Errorf("streams seen %v, want both stdout and stderr", streams)
	}
	for _, l := range collectLogs(t, e, "remote_app_1", containers.LogQuery{Tail: 200, Stderr: true}) {
		if l.Stream != "stderr" {
			t.Errorf("stderr-only query returned a %s line", l.Stream)
		}
	}
	if got := collectLogs(t, e, "remote_app_1", containers.LogQuery{Tail: 5}); len(got) != 5 {
		t.Errorf("tail 5 returned %d lines", len(got))
	}
	since := time.Now().Add(-time.Hour)
	if got := collectLogs(t, e, "remote_app_1", containers.LogQuery{Since: since, Until: since.Add(time.Second)}); len(got) != 0 {
		t.Errorf("an empty window returned %d lines", len(got))
	}
}

func TestLogsOfATTYContainer(t *testing.T) {
	testenv.Require(t)
	if tty := testenv.Docker(t, "inspect", "-f", "{{.Config.Tty}}", "monitorfish-pipeline-server"); tty != "true" {
		t.Fatalf("monitorfish-pipeline-server has Tty=%s, the test stack should run it with a TTY", tty)
	}
	lines := collectLogs(t, newEngine(t), "monitorfish-pipeline-server", containers.LogQuery{})
	text := ""
	for _, l := range lines {
		if strings.HasSuffix(l.Text, "\r") {
			t.Errorf("carriage return left in %q", l.Text)
		}
		text += l.Text + "\n"
	}
	if !strings.Contains(strings.ToUpper(text), "PREFECT") {
		t.Errorf("TTY logs do not show the banner:\n%s", text)
	}
}

func TestLogsTailOfAHugeLogIsBoundedAndExact(t *testing.T) {
	testenv.Require(t)
	name := "mfbot-test-biglog"
	testenv.Docker(t, "rm", "-f", name)
	testenv.Docker(t, "run", "-d", "--name", name, "--label", "mfbot.test=1", "mfbot-test/stack:latest", "logs-bench", "--mb", "100")
	t.Cleanup(func() { testenv.Docker(t, "rm", "-f", name) })
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out := testenv.Docker(t, "logs", "--tail", "1", name)
		if strings.Contains(out, "logs-bench done") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log generator did not finish: last line %q", out)
		}
		time.Sleep(time.Second)
	}
	want := strings.Split(testenv.Docker(t, "logs", "--tail", "1000", name), "\n")
	got := collectLogs(t, newEngine(t), name, containers.LogQuery{Tail: 1000})
	if len(got) != len(want) {
		t.Fatalf("got %d lines, docker logs gives %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Text != want[i] {
			t.Fatalf("line %d = %q, docker logs says %q", i, got[i].Text, want[i])
		}
	}
}

func TestUnreachableEngineFailsFastWithAClearError(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := closed.Addr().String()
	closed.Close()
	for _, host := range []string{"tcp://" + addr, "unix:///nonexistent/docker.sock"} {
		e, err := docker.New(docker.Options{Host: host})
		if err != nil {
			t.Fatal(err)
		}
		ctx := ctxFor(t, 30*time.Second)
		_, err = e.Containers(ctx)
		if err == nil || !strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), host) {
			t.Errorf("%s: err = %v, want a message naming the unreachable engine", host, err)
		}
		if ctx.Err() != nil {
			t.Errorf("%s: the call used up its whole deadline instead of failing fast", host)
		}
		e.Close()
	}
}

func TestEventsAreFilteredToContainersWithoutExecNoise(t *testing.T) {
	testenv.Require(t)
	e := newEngine(t)
	since := time.Now().Add(-time.Second)
	testenv.Docker(t, "restart", "-t", "2", "monitorfish-pipeline-flows")
	time.Sleep(3 * time.Second) // healthchecks of remote_app_1 run every 2 s: exec noise is there
	evs, err := e.Events(ctxFor(t, 30*time.Second), since, []string{"monitorfish-pipeline-flows", "remote_app_1"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range evs {
		if strings.HasPrefix(ev.Action, "exec_") {
			t.Errorf("exec event not filtered: %+v", ev)
		}
		if ev.Name == "monitorfish-pipeline-flows" {
			actions = append(actions, ev.Action)
		}
	}
	for _, want := range []string{"kill", "die", "stop", "start", "restart"} {
		if !slices.Contains(actions, want) {
			t.Errorf("events %v lack %q", actions, want)
		}
	}
}

func TestReadOnlyViews(t *testing.T) {
	testenv.Require(t)
	e := newEngine(t)
	ctx := ctxFor(t, time.Minute)
	st, err := e.Stats(ctx, "remote_app_1")
	if err != nil || st.MemoryUsage == 0 || st.PIDs == 0 {
		t.Errorf("stats = %+v, %v", st, err)
	}
	top, err := e.Top(ctx, "remote_app_1")
	if err != nil || len(top.Processes) == 0 || !slices.Contains(top.Titles, "PID") {
		t.Errorf("top = %+v, %v", top, err)
	}
	du, err := e.DiskUsage(ctx)
	if err != nil || len(du.Rows) != 4 || du.Rows[0].Total == 0 {
		t.Errorf("df = %+v, %v", du, err)
	}
	vols, err := e.Volumes(ctx)
	if err != nil || !slices.ContainsFunc(vols, func(v containers.Volume) bool { return v.Name == "remote_db-data" }) {
		t.Errorf("volumes = %+v, %v", vols, err)
	}
	v, err := e.Version(ctx)
	if err != nil || v.APIVersion == "" {
		t.Errorf("version = %+v, %v", v, err)
	}
	d, err := e.Inspect(ctx, "remote_app_1")
	if err != nil || d.Health != "healthy" || d.RestartPolicy != "always" || len(d.Ports) == 0 || d.LogPath == "" {
		t.Errorf("inspect = %+v, %v", d, err)
	}
}
