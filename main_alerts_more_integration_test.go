//go:build integration

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"

	"mfbot/testenv"
	"mfbot/testenv/slackfake"
)

// More end-to-end alert tests (PRODUCT §5, issue 4 item 5): `mfbot run`
// in-process against the fake Slack, watching containers of their own
// (mfbot-alert-*, label mfbot.test=1) configured as extra services of the
// environment "local" whose default services are disabled, so that what
// other tests do to the compose stack never reaches these bots.

// moreSpec describes a throwaway container of the fake app.
type moreSpec struct {
	env         []string
	labels      map[string]string
	memory      int64 // bytes; 0: no limit
	restart     container.RestartPolicyMode
	health      bool   // the fake app's probe, exec form, every second
	published   bool   // publish 8880 on a free port of 127.0.0.1
	hostNetwork bool   // the host's network (FAKEAPP_ADDR says where it listens)
	stopSignal  string // "" = SIGTERM
	stopTimeout int    // seconds; 0 = the engine's default
}

// moreContainer is a started container.
type moreContainer struct {
	ID, Name string
	Port     string // the published host port, when asked
}

// moreAPI is a Docker API client for host ("" = the environment's engine).
func moreAPI(tb testing.TB, host string) *client.Client {
	tb.Helper()
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	api, err := client.NewClientWithOpts(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { api.Close() })
	return api
}

// moreRun creates and starts a container of image through the API (the
// images are FROM scratch: a healthcheck must be given in exec form, which
// `docker run --health-cmd` cannot do), removed at the end. A container of
// a previous run with the same name is removed first.
func moreRun(tb testing.TB, api *client.Client, image, name string, s moreSpec) moreContainer {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if old, err := api.ContainerInspect(ctx, name); err == nil {
		if old.Config == nil || old.Config.Labels["mfbot.test"] != "1" {
			tb.Fatalf("a container named %s exists and is not a test's", name)
		}
		if err := api.ContainerRemove(ctx, old.ID, container.RemoveOptions{Force: true}); err != nil {
			tb.Fatal(err)
		}
	}
	labels := map[string]string{"mfbot.test": "1"}
	for k, v := range s.labels {
		labels[k] = v
	}
	cfg := &container.Config{Image: image, Env: s.env, Labels: labels, StopSignal: s.stopSignal}
	if s.stopTimeout > 0 {
		cfg.StopTimeout = &s.stopTimeout
	}
	hc := &container.HostConfig{RestartPolicy: container.RestartPolicy{Name: s.restart}}
	if s.restart == "" {
		hc.RestartPolicy.Name = container.RestartPolicyDisabled
	}
	if s.health {
		cfg.Healthcheck = &container.HealthConfig{Test: []string{"CMD", "/fakeapp", "healthcheck"},
			Interval: time.Second, Timeout: 3 * time.Second, Retries: 2}
	}
	if s.memory > 0 {
		hc.Memory, hc.MemorySwap = s.memory, s.memory
	}
	if s.published {
		cfg.ExposedPorts = nat.PortSet{"8880/tcp": {}}
		hc.PortBindings = nat.PortMap{"8880/tcp": {{HostIP: "127.0.0.1"}}}
	}
	if s.hostNetwork {
		hc.NetworkMode = "host"
	}
	created, err := api.ContainerCreate(ctx, cfg, hc, nil, nil, name)
	if err != nil {
		tb.Fatalf("create %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := api.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true}); err != nil && !client.IsErrNotFound(err) {
			tb.Errorf("remove %s: %v", name, err)
		}
	})
	if err := api.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	c := moreContainer{ID: created.ID, Name: name}
	if s.published {
		c.Port = morePort(tb, api, created.ID)
	}
	return c
}

// morePort is the host port published for 8880 (a new one at each start).
func morePort(tb testing.TB, api *client.Client, id string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := api.ContainerInspect(ctx, id)
	if err != nil {
		tb.Fatal(err)
	}
	if b := info.NetworkSettings.Ports["8880/tcp"]; len(b) > 0 {
		return b[0].HostPort
	}
	tb.Fatalf("%s: port 8880 not published", info.Name)
	return ""
}

// moreConfig writes the stack's configuration (testenv ConfigYAML) whose
// environment "local" has only the given services (name → container
// name), on the engine at dockerHost ("" = the default one), plus extra.
func moreConfig(tb testing.TB, stack testenv.Stack, dockerHost string, services map[string]string, extra string) string {
	tb.Helper()
	var env strings.Builder
	if dockerHost != "" {
		fmt.Fprintf(&env, "    docker_host: %s\n", dockerHost)
	}
	env.WriteString("    services:\n")
	for _, d := range []string{"app", "db", "geoserver", "pipeline-server", "pipeline-flows"} {
		fmt.Fprintf(&env, "      %s:\n        enabled: false\n", d)
	}
	names := make([]string, 0, len(services))
	for svc := range services {
		names = append(names, svc)
	}
	slices.Sort(names)
	for _, svc := range names {
		fmt.Fprintf(&env, "      %s:\n        container: %s\n", svc, services[svc])
	}
	base := stack.ConfigYAML(extra)
	i := strings.Index(base, "\nlimits:")
	if !strings.HasPrefix(base, "environments:\n  local:\n") || i < 0 {
		tb.Fatalf("testenv's configuration changed shape; cannot add services to it:\n%s", base)
	}
	yaml := base[:i+1] + env.String() + base[i+1:]
	path := filepath.Join(tb.TempDir(), "mfbot-more.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// moreStartBot starts `mfbot run` in-process with the configuration at
// cfg, posting alerts to alertChannel, and waits for its Socket Mode
// connection.
func moreStartBot(tb testing.TB, stack testenv.Stack, fake *slackfake.Server, cfg string) *testBot {
	tb.Helper()
	b := startBot(tb, stack, fake, botOptions{Env: map[string]string{"MFBOT_CONFIG": cfg, "MFBOT_ALERT_CHANNEL": alertChannel}})
	waitConnected(tb, fake)
	return b
}

// moreFields reads the label → value fields of a message's blocks.
func moreFields(m slackfake.Message) map[string]string {
	var blocks []struct {
		Fields []struct {
			Text string `json:"text"`
		} `json:"fields"`
	}
	out := map[string]string{}
	if json.Unmarshal(m.Blocks, &blocks) != nil {
		return out
	}
	for _, b := range blocks {
		for _, f := range b.Fields {
			label, value, ok := strings.Cut(f.Text, "\n")
			if ok && strings.HasPrefix(label, "*") && strings.HasSuffix(label, "*") {
				out[strings.Trim(label, "*")] = value
			}
		}
	}
	return out
}

// moreRoots are the bot's root messages in the alert channel about service
// (its Service field).
func moreRoots(fake *slackfake.Server, service string) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range fake.Messages(alertChannel) {
		if m.BotID != "" && !m.IsReply() && moreFields(m)["Service"] == service {
			out = append(out, m)
		}
	}
	return out
}

// moreWaitRoot waits for the first root about service to satisfy cond.
func moreWaitRoot(tb testing.TB, fake *slackfake.Server, service, what string, within time.Duration, cond func(slackfake.Message) bool) slackfake.Message {
	tb.Helper()
	var root slackfake.Message
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	err := fake.WaitFor(ctx, func(s *slackfake.Server) bool {
		roots := moreRoots(s, service)
		if len(roots) == 0 {
			return false
		}
		root = roots[0]
		return cond(root)
	})
	if err != nil {
		tb.Fatalf("waiting %s for %s: %v (roots about %s: %d; last: %s)", within, what, err, service, len(moreRoots(fake, service)), root.Text)
	}
	return root
}

// moreOneRoot checks, after a while for duplicates to show up, that
// service has exactly one root message.
func moreOneRoot(tb testing.TB, fake *slackfake.Server, service string) {
	tb.Helper()
	time.Sleep(3 * time.Second) // a second root would come within a second
	if roots := moreRoots(fake, service); len(roots) != 1 {
		var texts []string
		for _, r := range roots {
			texts = append(texts, r.Text)
		}
		tb.Fatalf("%d root messages about %s, want 1: %q", len(roots), service, texts)
	}
}

// moreGet sends a GET and ignores the answer (a crash or an OOM kill may
// cut it short).
func moreGet(tb testing.TB, url string, timeout time.Duration) {
	tb.Helper()
	if err := moreGetErr(url, timeout); err != nil {
		tb.Logf("GET %s: %v", url, err)
	}
}

func moreGetErr(url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// moreWaitListening waits until the fake app answers at addr (host:port).
func moreWaitListening(tb testing.TB, addr string) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/version")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the fake app at %s does not answer: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An OOM kill (the kernel kills the fake app past its 32 MiB limit) is one
// alert whose root says OOM-killed.
func TestAlertMoreOOMKillSaysOOM(t *testing.T) {
	stack := testenv.Require(t)
	api := moreAPI(t, "")
	c := moreRun(t, api, stack.AppImage("v1"), "mfbot-alert-oom", moreSpec{memory: 32 << 20, published: true})
	fake := newFake(t)
	moreStartBot(t, stack, fake, moreConfig(t, stack, "", map[string]string{"oomer": c.Name}, alertsYAML))
	addr := "127.0.0.1:" + c.Port
	moreWaitListening(t, addr)

	go moreGetErr("http://"+addr+"/control/oom", 30*time.Second) // answers only if never killed
	root := moreWaitRoot(t, fake, "oomer", "the OOM alert", 30*time.Second, func(slackfake.Message) bool { return true })
	f := moreFields(root)
	if f["OOM-killed"] != "yes" || f["Last failure"] != "OOM-killed" || f["Exit code"] != "137" || !strings.Contains(root.Text, "OOM-killed") {
		t.Fatalf("the alert does not say OOM-killed: %q, fields %q\n%s", root.Text, f, prettyBlocks(root.Blocks))
	}
	if f["Environment"] != "local" || f["Failures"] != "1" {
		t.Errorf("fields %q", f)
	}
	waitFor(t, fake, "the logs in the OOM alert's thread", func(s *slackfake.Server) bool {
		_, ok := messageWith(s, alertChannel, "Last log lines before the failure")
		return ok
	})
	moreOneRoot(t, fake, "oomer")
	if f := moreFields(moreRoots(fake, "oomer")[0]); f["Failures"] != "1" {
		t.Fatalf("one OOM kill counted as %s failures (the oom and die events are one failure)", f["Failures"])
	}
}

// A container turning unhealthy is an alert; healthy again for
// recovery_after (3 s), the same root says recovered.
func TestAlertMoreUnhealthyThenRecovered(t *testing.T) {
	stack := testenv.Require(t)
	api := moreAPI(t, "")
	c := moreRun(t, api, stack.AppImage("v1"), "mfbot-alert-health", moreSpec{health: true, published: true})
	testenv.WaitHealthy(t, c.Name, time.Minute)
	fake := newFake(t)
	moreStartBot(t, stack, fake, moreConfig(t, stack, "", map[string]string{"sickly": c.Name}, alertsYAML))
	addr := "127.0.0.1:" + c.Port
	slash(t, fake, viewer, "help") // up and connected: the first reconciliation is done or under way

	moreGet(t, "http://"+addr+"/control/unhealthy", 5*time.Second)
	root := moreWaitRoot(t, fake, "sickly", "the unhealthy alert", 30*time.Second, func(slackfake.Message) bool { return true })
	if f := moreFields(root); f["Last failure"] != "unhealthy" || !strings.Contains(f["State"], "open") || !strings.Contains(root.Text, "unhealthy") {
		t.Fatalf("the alert does not say unhealthy: %q, fields %q", root.Text, f)
	}
	if f := moreFields(root); !strings.Contains(f["Detail"], "503") {
		t.Errorf("the alert lacks the failing probe's output (HTTP 503): Detail %q", f["Detail"])
	}

	moreGet(t, "http://"+addr+"/control/healthy", 5*time.Second)
	recovered := moreWaitRoot(t, fake, "sickly", "the recovery on the same root", time.Minute, func(m slackfake.Message) bool {
		return strings.Contains(m.Text, "recovered")
	})
	if recovered.TS != root.TS {
		t.Fatalf("recovery on root %s, the alert was %s", recovered.TS, root.TS)
	}
	if f := moreFields(recovered); !strings.Contains(f["State"], "recovered after") {
		t.Errorf("recovered root's state %q", f["State"])
	}
	waitFor(t, fake, "the recovery line in the thread", func(s *slackfake.Server) bool {
		for _, m := range s.Thread(alertChannel, root.TS) {
			if m.IsReply() && strings.Contains(m.Text+string(m.Blocks), "Recovered after") {
				return true
			}
		}
		return false
	})
	moreOneRoot(t, fake, "sickly")
}

// moreDockerd is a Docker engine of the test's own: the shared engine
// serves the other tests and is not the test's to stop.
type moreDockerd struct {
	dir, sock string
	cmd       *exec.Cmd
	done      chan struct{} // closed when cmd has exited
}

// moreProcess is what /proc says of a running process, to start it again
// the same way.
type moreProcess struct {
	argv, env []string
	cwd       string
	stdout    string // where fd 1 and 2 go (a file: appended to)
}

// moreBridge is the default bridge of the test's dockerd, and its address:
// outside Docker's default address pools. (Not --bridge=none: a dockerd
// started so deletes the interface docker0 — the shared engine's.)
const (
	moreBridge     = "mfbot-gap0"
	moreBridgeAddr = "10.252.253.1/24"
)

// moreStartDockerd starts dockerd as the test stack's (--iptables=false
// --storage-driver=vfs) with its own socket, data, state, pid file and
// bridge; its containers use the host's network. It is stopped and removed
// at the end.
func moreStartDockerd(t *testing.T) *moreDockerd {
	t.Helper()
	return moreStartDockerdWith(t, moreDockerdOptions{bridge: moreBridge, bridgeAddr: moreBridgeAddr})
}

// moreDockerdOptions is what differs between the tests' own engines.
type moreDockerdOptions struct {
	// bridge and bridgeAddr: its default bridge, one per engine (tests of
	// another `go test` may run their engine at the same time).
	bridge, bridgeAddr string
	// args are more dockerd arguments (a TLS listener); the test's own
	// calls still go through the unix socket.
	args []string
}

// moreStartDockerdWith is moreStartDockerd with opts.
func moreStartDockerdWith(t *testing.T, opts moreDockerdOptions) *moreDockerd {
	t.Helper()
	bin, err := exec.LookPath("dockerd")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "mfbot-alert-dockerd-") // short: socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	d := &moreDockerd{dir: dir, sock: filepath.Join(dir, "docker.sock")}
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ip := func(args ...string) error {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	ip("link", "del", opts.bridge) // left by an interrupted run, if any
	for _, args := range [][]string{{"link", "add", opts.bridge, "type", "bridge"}, {"addr", "add", opts.bridgeAddr, "dev", opts.bridge}, {"link", "set", opts.bridge, "up"}} {
		if err := ip(args...); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		d.remove(t)
		if err := ip("link", "del", opts.bridge); err != nil {
			t.Error(err)
		}
	})
	d.start(t, moreProcess{
		argv: append([]string{bin, "--iptables=false", "--storage-driver=vfs", "--bridge=" + opts.bridge,
			"--data-root", filepath.Join(dir, "data"), "--exec-root", filepath.Join(dir, "exec"),
			"--pidfile", filepath.Join(dir, "docker.pid"), "-H", d.host(), "--config-file", filepath.Join(dir, "daemon.json")}, opts.args...),
		env:    os.Environ(),
		cwd:    dir,
		stdout: filepath.Join(dir, "dockerd.log"),
	})
	return d
}

func (d *moreDockerd) host() string { return "unix://" + d.sock }

// start runs p in the background, in a session of its own, its output
// appended to p.stdout, and waits for the engine to answer.
func (d *moreDockerd) start(t *testing.T, p moreProcess) {
	t.Helper()
	out, err := os.OpenFile(p.stdout, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close() // the child has its own copy
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = p.env, p.cwd, out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.cmd, d.done = cmd, make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); close(done) }(d.done)
	deadline := time.Now().Add(time.Minute)
	for !d.answers() {
		select {
		case <-d.done:
			t.Fatalf("dockerd exited at start:\n%s", d.logTail())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dockerd does not answer after a minute:\n%s", d.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// answers says whether the engine answers `docker info`.
func (d *moreDockerd) answers() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "docker", "-H", d.host(), "info").Run() == nil
}

// describe reads how the running dockerd was started from /proc.
func (d *moreDockerd) describe(t *testing.T) moreProcess {
	t.Helper()
	pid := d.cmd.Process.Pid
	nul := func(name string) []string {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	}
	link := func(name string) string {
		s, err := os.Readlink(fmt.Sprintf("/proc/%d/%s", pid, name))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	p := moreProcess{argv: nul("cmdline"), env: nul("environ"), cwd: link("cwd"), stdout: link("fd/1")}
	if !filepath.IsAbs(p.argv[0]) {
		bin, err := exec.LookPath(p.argv[0])
		if err != nil {
			t.Fatal(err)
		}
		p.argv[0] = bin
	}
	if !strings.HasPrefix(p.stdout, "/") || link("fd/2") != p.stdout {
		t.Fatalf("dockerd's output goes to %q and %q: not a file this test can append to", p.stdout, link("fd/2"))
	}
	return p
}

// stop sends SIGTERM to the test's dockerd and waits for it to exit (the
// engine stops its containers first: no live-restore).
func (d *moreDockerd) stop(t *testing.T) {
	t.Helper()
	if d.cmd == nil {
		return
	}
	select {
	case <-d.done:
		d.cmd = nil
		return
	default:
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	d.wait(t)
}

// wait waits for the test's dockerd, told to stop, to exit.
func (d *moreDockerd) wait(t *testing.T) {
	t.Helper()
	select {
	case <-d.done:
	case <-time.After(90 * time.Second):
		d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.done
		t.Errorf("dockerd did not stop within 90 s: killed")
	}
	d.cmd = nil
}

// remove stops the engine and removes its directory, unmounting what it
// left mounted there (its network namespace).
func (d *moreDockerd) remove(t *testing.T) {
	d.stop(t)
	if mounts, err := os.ReadFile("/proc/self/mounts"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(mounts))
		var under []string
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) > 1 && strings.HasPrefix(f[1], d.dir+"/") {
				under = append(under, f[1])
			}
		}
		slices.Reverse(under)
		for _, m := range under {
			if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
				t.Logf("unmount %s: %v", m, err)
			}
		}
	}
	if err := os.RemoveAll(d.dir); err != nil {
		t.Errorf("remove %s: %v", d.dir, err)
	}
}

func (d *moreDockerd) logTail() string {
	b, _ := os.ReadFile(filepath.Join(d.dir, "dockerd.log"))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-30):], "\n")
}

// moreHealthz reads /healthz: its status and body.
func moreHealthz(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// moreFreeAddr is a free TCP address on loopback.
func moreFreeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// moreRetryLine is the watcher's log line when it waits before reconnecting.
var moreRetryLine = regexp.MustCompile(`(?m)^time=(\S+) level=WARN msg="Docker events interrupted, retrying" env=local .* retry_in=(\S+)`)

// moreLogTime reads the time of a log line of the bot.
func moreLogTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("log time %q: %v", s, err)
	}
	return at
}

// moreWaitBackoff waits until the bot's watcher, after since, logs that it
// retries in at least least, and returns when that retry is due.
func moreWaitBackoff(t *testing.T, b *testBot, since time.Time, least time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		for _, m := range moreRetryLine.FindAllStringSubmatch(b.logs.String(), -1) {
			at := moreLogTime(t, m[1])
			delay, err := time.ParseDuration(m[2])
			if err != nil {
				t.Fatalf("retry_in=%q: %v", m[2], err)
			}
			// Log times are to the millisecond.
			if !at.Before(since.Truncate(time.Millisecond)) && delay >= least {
				return at.Add(delay)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the watcher never waited %s or more before reconnecting", least)
	return time.Time{}
}

// TestAlertMoreDockerdRestart: the Docker daemon is stopped (SIGTERM) and
// started again while containers die, and every failure is alerted once.
//
// With dockerd 20.10 and no live-restore, a daemon that stops first stops
// its containers (SIGTERM, or the container's stop signal, then SIGKILL
// after its stop timeout), and none runs until it is back: no container
// can die while there is no daemon. What a watcher can miss are the
// events between its stream breaking and its reconnection, which comes
// after a backoff (250 ms doubling to 30 s): the daemon, once back,
// restarts the containers of restart policy always, and one of them may
// crash before the watcher is there again. Only the events stream resumed
// from the watcher's cursor (`since`: the restarted daemon remembers its
// events since it started) can tell that crash; the daemon's event memory
// does not reach back to the cursor (it forgets everything at restart), so
// the watcher also reconciles the containers' state, which must not report
// anything twice. That is case "replayed". Case "shutdown" is a container
// that dies by itself while the daemon is stopping (it ignores its stop
// signal and crashes before the stop timeout): the daemon closes its API
// listener first but keeps the open events streams until it exits, so the
// watcher sees that crash live, and the reconciliation after the restart
// must not report it again. The daemon's SIGTERM of "replayed" at its
// shutdown (exit 0) is no failure.
//
// The shared engine serves every other test and is not this test's to
// stop: the test starts a dockerd of its own, the same way as the stack's
// (--iptables=false --storage-driver=vfs, plus its own socket, data and
// state directories and bridge), restarts it with the command line, the
// environment, the directory and the output it finds in /proc, and removes
// it at the end.
func TestAlertMoreDockerdRestart(t *testing.T) {
	stack := testenv.Require(t)
	d := moreStartDockerd(t)
	if out, err := exec.Command("docker", "-H", d.host(), "pull", "-q", stack.AppImage("v1")).CombinedOutput(); err != nil {
		t.Fatalf("pull into the test's engine: %v\n%s", err, out)
	}
	api := moreAPI(t, d.host())
	replayAddr, shutdownAddr := moreFreeAddr(t), moreFreeAddr(t)
	replayed := moreRun(t, api, stack.AppImage("v1"), "mfbot-alert-gap-replayed", moreSpec{hostNetwork: true,
		restart: container.RestartPolicyAlways, env: []string{"FAKEAPP_ADDR=" + replayAddr, "FAKEAPP_LOG_INTERVAL=0"}})
	shutdown := moreRun(t, api, stack.AppImage("v1"), "mfbot-alert-gap-shutdown", moreSpec{hostNetwork: true,
		stopSignal: "SIGUSR1", stopTimeout: 30, env: []string{"FAKEAPP_ADDR=" + shutdownAddr, "FAKEAPP_LOG_INTERVAL=0"}})
	moreWaitListening(t, replayAddr)
	moreWaitListening(t, shutdownAddr)

	fake := newFake(t)
	// Each incident on a root of its own (not grouped with the engine's):
	// the test reads each one's fields.
	cfg := moreConfig(t, stack, d.host(), map[string]string{"replayed": replayed.Name, "shutdown": shutdown.Name}, alertsYAML+"  group_window: 0s\n")
	bot := moreStartBot(t, stack, fake, cfg)
	slash(t, fake, viewer, "help")
	time.Sleep(2 * time.Second) // the watcher's first reconciliation is done: it follows the stream

	// The daemon stops: its API listener closes, it stops its containers,
	// "shutdown" ignores SIGUSR1 and crashes meanwhile, then it exits.
	how := d.describe(t)
	stopAt := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for d.answers() {
		if time.Since(stopAt) > 30*time.Second {
			t.Fatal("dockerd still answers 30 s after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	moreGet(t, "http://"+shutdownAddr+"/control/crash?code=9", 5*time.Second)
	d.wait(t)
	t.Logf("dockerd stopped in %s", time.Since(stopAt).Round(time.Millisecond))
	// Without its Docker engine mfbot cannot do its job: /healthz says so.
	healthz := "http://" + bot.listenAddr(t) + "/healthz"
	if code, body := moreHealthz(t, healthz); code != http.StatusServiceUnavailable || !strings.Contains(body, `"docker[local]":{"ok":false`) {
		t.Errorf("/healthz with the engine gone: %d %s", code, body)
	}

	// The watcher retries with backoff; once it waits 8 s, the daemon
	// comes back and "replayed" (restarted by its policy) crashes before
	// the watcher reconnects.
	reconnectAt := moreWaitBackoff(t, bot, stopAt, 8*time.Second)
	restartAt := time.Now()
	d.start(t, how)
	t.Logf("dockerd back in %s, the watcher reconnects at +%s", time.Since(restartAt).Round(time.Millisecond), reconnectAt.Sub(restartAt).Round(time.Millisecond))
	moreWaitListening(t, replayAddr)
	moreGet(t, "http://"+replayAddr+"/control/crash?code=7", 5*time.Second)
	var died time.Time
	for deadline := time.Now().Add(30 * time.Second); died.IsZero() || !died.After(restartAt); {
		info, err := api.ContainerInspect(context.Background(), replayed.ID)
		if err != nil {
			t.Fatal(err)
		}
		died, _ = time.Parse(time.RFC3339Nano, info.State.FinishedAt)
		if time.Now().After(deadline) {
			t.Fatalf("%s did not crash: %+v", replayed.Name, info.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !died.Before(reconnectAt) {
		t.Fatalf("%s crashed at %s, after the watcher reconnected (%s): the machine was too slow for this test to miss the event live",
			replayed.Name, died.Format(time.RFC3339Nano), reconnectAt.Format(time.RFC3339Nano))
	}
	t.Logf("%s crashed %s before the watcher's reconnection", replayed.Name, reconnectAt.Sub(died).Round(time.Millisecond))

	root := moreWaitRoot(t, fake, "replayed", "the alert of the crash during the watcher's gap", time.Minute, func(slackfake.Message) bool { return true })
	if f := moreFields(root); f["Exit code"] != "7" || f["Failures"] != "1" {
		t.Fatalf("replayed: fields %q, want the crash of the gap (exit code 7) as the one failure (the daemon's SIGTERM at shutdown is no failure)", f)
	}
	if root.Time.Before(reconnectAt.Add(-time.Millisecond)) {
		t.Fatalf("replayed: alert posted at %s, before the watcher reconnected at %s?", root.Time, reconnectAt)
	}
	// The watcher logs its reconciliation once it has emitted what it found:
	// the alert may be posted a moment before the line is written.
	reconciled := func() bool {
		return strings.Contains(bot.logs.String(), "Docker events since the cursor not all replayed: reconciling")
	}
	for deadline := time.Now().Add(5 * time.Second); !reconciled() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !reconciled() {
		t.Error("the watcher did not reconcile after the daemon's restart (its memory of events starts at its restart)")
	}
	sd := moreWaitRoot(t, fake, "shutdown", "the alert of the crash while the daemon stopped", time.Minute, func(slackfake.Message) bool { return true })
	if f := moreFields(sd); f["Exit code"] != "9" || f["Failures"] != "1" {
		t.Fatalf("shutdown: fields %q, want one failure, exit code 9", f)
	}
	moreOneRoot(t, fake, "replayed")
	if code, body := moreHealthz(t, healthz); code != http.StatusOK || !strings.Contains(body, `"docker[local]":{"ok":true`) {
		t.Errorf("/healthz with the engine back: %d %s", code, body)
	}
	moreOneRoot(t, fake, "shutdown")
	if f := moreFields(moreRoots(fake, "shutdown")[0]); f["Failures"] != "1" {
		t.Fatalf("shutdown: the crash counted %s times (reported again by the reconciliation?)", f["Failures"])
	}
	var story []string // what the watcher and the recorder said, for -v
	for _, l := range strings.Split(bot.logs.String(), "\n") {
		if strings.Contains(l, "source=docker") || strings.Contains(l, `msg="incident `) || strings.Contains(l, `msg="alert `) {
			story = append(story, l)
		}
	}
	t.Logf("the bot's watcher and alerts:\n%s", strings.Join(story, "\n"))
	if t.Failed() {
		t.Logf("dockerd log:\n%s", d.logTail())
	}
}
