//go:build integration

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"mfbot/testenv"
	"mfbot/testenv/slackfake"
	"mfbot/testenv/tlscerts"
)

// Issue 9 item 1: an environment whose Docker engine is a tcp:// host with
// TLS (CA, client certificate and key from files) is operated like the
// local one. The engine is a dockerd of the test's own (moreStartDockerd)
// that also listens on a free loopback port with --tlsverify and
// certificates the test generates; the test prepares it through its unix
// socket, mfbot only knows the TLS address.

// tlsBridge is the default bridge of the TLS test's engine (not the
// daemon restart test's: another `go test` may run that one meanwhile).
const (
	tlsBridge     = "mfbot-tls0"
	tlsBridgeAddr = "10.252.254.1/24"
)

// tlsEngine is the test's TLS engine: its unix socket (the test's own
// access), its TLS address and the files of its CA and certificates.
type tlsEngine struct {
	*moreDockerd
	addr  string // 127.0.0.1:port
	certs tlscerts.Files
}

// tlsStartEngine starts a dockerd listening with TLS on a free loopback
// port (client certificates required), with the app image of the test
// registry pulled into it.
func tlsStartEngine(t *testing.T, stack testenv.Stack) *tlsEngine {
	t.Helper()
	certs, err := tlscerts.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	addr := moreFreeAddr(t)
	d := moreStartDockerdWith(t, moreDockerdOptions{bridge: tlsBridge, bridgeAddr: tlsBridgeAddr, args: []string{
		"-H", "tcp://" + addr, "--tlsverify", "--tlscacert", certs.CA, "--tlscert", certs.ServerCert, "--tlskey", certs.ServerKey}})
	if out, err := testenvDocker(d.host(), "pull", "-q", stack.AppImage("v1")); err != nil {
		t.Fatalf("pull into the TLS engine: %v\n%s", err, out)
	}
	return &tlsEngine{moreDockerd: d, addr: addr, certs: certs}
}

// testenvDocker runs the docker CLI against host.
func testenvDocker(host string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", append([]string{"-H", host}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// tlsConfigYAML is the stack's configuration (environment local, the
// shared engine, its default services) plus an environment "tls" on the
// engine at tcp://addr with the given TLS files, whose only service is
// web (container webName).
func tlsConfigYAML(t *testing.T, stack testenv.Stack, addr, ca, cert, key, webName, extra string) string {
	t.Helper()
	base := stack.ConfigYAML(extra)
	i := strings.Index(base, "\nlimits:")
	if !strings.HasPrefix(base, "environments:\n  local:\n") || i < 0 {
		t.Fatalf("testenv's configuration changed shape; cannot add an environment to it:\n%s", base)
	}
	var env strings.Builder
	fmt.Fprintf(&env, "  tls:\n    docker_host: tcp://%s\n    docker_tls:\n      ca: %s\n      cert: %s\n      key: %s\n    services:\n", addr, ca, cert, key)
	for _, d := range []string{"app", "db", "geoserver", "pipeline-server", "pipeline-flows"} {
		fmt.Fprintf(&env, "      %s:\n        enabled: false\n", d)
	}
	fmt.Fprintf(&env, "      web:\n        container: %s\n", webName)
	path := filepath.Join(t.TempDir(), "mfbot-tls.yaml")
	if err := os.WriteFile(path, []byte(base[:i+1]+env.String()+base[i+1:]), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tlsReply sends /mf text and waits for the bot's reply in channel among
// the messages posted since, containing every want.
func tlsReply(t *testing.T, fake *slackfake.Server, user, text string, within time.Duration, want ...string) slackfake.Message {
	t.Helper()
	before := len(fake.Messages(channel))
	slash(t, fake, user, text)
	var got slackfake.Message
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	err := fake.WaitFor(ctx, func(s *slackfake.Server) bool {
		msgs := s.Messages(channel)
		for _, m := range msgs[min(before, len(msgs)):] {
			all := m.Text + string(m.Blocks)
			ok := m.BotID != ""
			for _, w := range want {
				ok = ok && strings.Contains(all, w)
			}
			if ok {
				got = m
				return true
			}
		}
		return false
	})
	if err != nil {
		var texts []string
		msgs := fake.Messages(channel)
		for _, m := range msgs[min(before, len(msgs)):] {
			texts = append(texts, m.Text)
		}
		t.Fatalf("/mf %s: no reply with %q within %s (replies: %q)", text, want, within, texts)
	}
	return got
}

// tlsRoot waits for the alert root about target in env (the field
// labelled label) to satisfy cond.
func tlsRoot(t *testing.T, fake *slackfake.Server, env, label, target, what string, within time.Duration, cond func(map[string]string) bool) slackfake.Message {
	t.Helper()
	var root slackfake.Message
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	err := fake.WaitFor(ctx, func(s *slackfake.Server) bool {
		for _, m := range s.Messages(alertChannel) {
			if f := moreFields(m); m.BotID != "" && !m.IsReply() && f[label] == target && f["Environment"] == env {
				root = m
				return cond(f)
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("waiting %s for %s: %v (last: %q)", within, what, err, root.Text)
	}
	return root
}

// tlsMetric reads one sample of /metrics.
func tlsMetric(t *testing.T, base, series string) (float64, bool) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", sc.Text(), err)
			}
			return f, true
		}
	}
	return 0, false
}

// TestDockerTLSHost: mfbot with two environments, the local engine and a
// TLS one. On the TLS environment `ps`, `logs` and a confirmed `restart`
// work over TLS; a crash there is an alert of that environment. The TLS
// engine stopped: its environment's engine incident opens, /healthz is 503
// with docker[tls] failing, its commands say it is unreachable, the local
// environment's commands still work. Started again: the incident recovers,
// /healthz is 200, its commands work, and the watcher's last-event gauge
// of the environment moved.
func TestDockerTLSHost(t *testing.T) {
	stack := testenv.Require(t)
	start := time.Now()
	e := tlsStartEngine(t, stack)
	api := moreAPI(t, e.host())
	webAddr := moreFreeAddr(t)
	web := moreRun(t, api, stack.AppImage("v1"), "mfbot-tls-web", moreSpec{hostNetwork: true, restart: container.RestartPolicyAlways,
		env: []string{"FAKEAPP_ADDR=" + webAddr, "FAKEAPP_LOG_INTERVAL=200ms"}})
	moreWaitListening(t, webAddr)
	t.Logf("TLS engine up with its container in %s", time.Since(start).Round(time.Millisecond))

	fake := newFake(t)
	// Not grouped: the engine incident opens within the group window of
	// the crash's alert, and this test reads each incident's own root.
	cfg := tlsConfigYAML(t, stack, e.addr, e.certs.CA, e.certs.ClientCert, e.certs.ClientKey, web.Name, alertsYAML+"  group_window: 0s\n")
	bot := moreStartBot(t, stack, fake, cfg)
	base := "http://" + bot.listenAddr(t)
	gauge := `mfbot_watcher_last_event_timestamp_seconds{env="tls",source="docker"}`

	tlsReply(t, fake, viewer, "tls ps", 30*time.Second, "Containers of tls", web.Name, "running")
	tlsReply(t, fake, viewer, "tls logs web --tail 20", 30*time.Second, "Logs of web")
	if strings.Contains(bot.logs.String(), "docker-engine") {
		t.Fatalf("an engine incident while the TLS engine is up:\n%s", bot.logs.String())
	}
	before, err := api.ContainerInspect(context.Background(), web.ID)
	if err != nil {
		t.Fatal(err)
	}
	pending := tlsReply(t, fake, operator, "tls restart web", 30*time.Second, "mf_confirm")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := fake.ClickButton(ctx, channel, pending.TS, "mf_confirm", "", operator); err != nil {
		t.Fatal(err)
	}
	waitFor(t, fake, "the restart's outcome", func(s *slackfake.Server) bool {
		m, _ := s.Message(channel, pending.TS)
		return strings.Contains(m.Text+string(m.Blocks), "web restarted")
	})
	after, err := api.ContainerInspect(context.Background(), web.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.State.StartedAt == before.State.StartedAt {
		t.Fatal("the TLS engine's container was not restarted")
	}
	moreWaitListening(t, webAddr)
	seenBefore, ok := tlsMetric(t, base, gauge)
	if !ok {
		t.Fatalf("/metrics has no %s", gauge)
	}

	// A crash on the TLS engine is an alert of the environment tls.
	moreGet(t, "http://"+webAddr+"/control/crash?code=3", 5*time.Second)
	root := tlsRoot(t, fake, "tls", "Service", "web", "the crash alert of the TLS environment", 30*time.Second, func(f map[string]string) bool { return f["Exit code"] == "3" })
	t.Logf("crash alert: %s", root.Text)
	if seen, _ := tlsMetric(t, base, gauge); seen <= seenBefore {
		t.Errorf("%s did not move with the crash's events: %v then %v", gauge, seenBefore, seen)
	}

	// The TLS engine goes away.
	how := e.describe(t)
	stopAt := time.Now()
	e.stop(t)
	t.Logf("TLS engine stopped in %s", time.Since(stopAt).Round(time.Millisecond))
	engineRoot := tlsRoot(t, fake, "tls", "Docker engine", "docker-engine", "the engine incident", 30*time.Second, func(map[string]string) bool { return true })
	f := moreFields(engineRoot)
	if !strings.Contains(f["Last failure"], "unreachable") || !strings.Contains(f["Detail"], "tcp://"+e.addr) {
		t.Errorf("engine incident fields %q", f)
	}
	t.Logf("engine incident %s after the stop: %s", engineRoot.Time.Sub(stopAt).Round(time.Millisecond), engineRoot.Text)
	code, body := moreHealthz(t, base+"/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"docker[tls]":{"ok":false`) || !strings.Contains(body, `"docker[local]":{"ok":true`) {
		t.Errorf("/healthz with the TLS engine gone: %d %s", code, body)
	}
	asked := time.Now()
	tlsReply(t, fake, viewer, "tls ps", 30*time.Second, "is unreachable", "tcp://"+e.addr)
	if took := time.Since(asked); took > 10*time.Second {
		t.Errorf("tls ps took %s to say the engine is unreachable", took)
	}
	tlsReply(t, fake, viewer, "local ps", 30*time.Second, "Containers of local", "monitorfish-pipeline-flows")
	for _, m := range fake.Messages(alertChannel) {
		if fl := moreFields(m); !m.IsReply() && fl["Environment"] == "local" && fl["Docker engine"] != "" {
			t.Errorf("an engine incident of the local environment: %s", m.Text)
		}
	}

	// Back: the engine incident recovers, /healthz is 200, commands work.
	e.start(t, how)
	backAt := time.Now()
	tlsRoot(t, fake, "tls", "Docker engine", "docker-engine", "the engine incident's recovery", time.Minute, func(f map[string]string) bool {
		return strings.Contains(f["State"], "recovered")
	})
	t.Logf("engine incident recovered %s after the engine came back", time.Since(backAt).Round(time.Millisecond))
	if code, body := moreHealthz(t, base+"/healthz"); code != http.StatusOK || !strings.Contains(body, `"docker[tls]":{"ok":true`) {
		t.Errorf("/healthz with the TLS engine back: %d %s", code, body)
	}
	tlsReply(t, fake, viewer, "tls ps", 30*time.Second, "Containers of tls", web.Name)
	if seen, _ := tlsMetric(t, base, gauge); !(seen >= float64(backAt.Unix())) {
		t.Errorf("%s = %v, not moved by the reconnection at %v", gauge, seen, backAt.Unix())
	}
	if len(moreRoots(fake, "web")) != 1 {
		t.Errorf("%d alert roots about web, want 1 (the crash)", len(moreRoots(fake, "web")))
	}
	t.Logf("TestDockerTLSHost took %s", time.Since(start).Round(time.Millisecond))
}

// TestDockerTLSHostBadFiles: a client certificate that the engine's CA did
// not sign is refused, and `mfbot check` and the console say which file to
// look at; a CA file that does not exist stops mfbot at start, naming it.
// Nothing runs on the engine either way.
func TestDockerTLSHostBadFiles(t *testing.T) {
	stack := testenv.Require(t)
	e := tlsStartEngine(t, stack)
	api := moreAPI(t, e.host())
	web := moreRun(t, api, stack.AppImage("v1"), "mfbot-tls-web", moreSpec{hostNetwork: true, env: []string{"FAKEAPP_ADDR=" + moreFreeAddr(t)}})
	startedAt := func() string {
		info, err := api.ContainerInspect(context.Background(), web.ID)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.StartedAt
	}
	started := startedAt()
	other, err := tlscerts.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("MFBOT_STORE", filepath.Join(t.TempDir(), "mfbot.db")) // the console's audit log
	runCLI := func(args ...string) (int, string) {
		var out bytes.Buffer
		code := run(args, strings.NewReader(""), &out, &out)
		return code, out.String()
	}

	// The right files: check passes for the TLS engine.
	t.Setenv("MFBOT_CONFIG", tlsConfigYAML(t, stack, e.addr, e.certs.CA, e.certs.ClientCert, e.certs.ClientKey, web.Name, ""))
	if code, out := runCLI("check"); !strings.Contains(out, "ok    docker[tls]: engine 20.") {
		t.Fatalf("check with the right files: exit %d\n%s", code, out)
	}

	// A client certificate of another CA.
	t.Setenv("MFBOT_CONFIG", tlsConfigYAML(t, stack, e.addr, e.certs.CA, other.ClientCert, other.ClientKey, web.Name, ""))
	code, out := runCLI("check")
	t.Logf("check with a client certificate of another CA:\n%s", out)
	if code != 1 || !strings.Contains(out, "FAIL  docker[tls]: read engine version: Docker engine at tcp://"+e.addr+": it refused the TLS connection (is docker_tls.cert signed by the CA the engine trusts") ||
		!strings.Contains(out, "ok    docker[local]") {
		t.Errorf("check with a client certificate of another CA: exit %d\n%s", code, out)
	}
	code, out = runCLI("console", "-c", "tls restart web", "--yes")
	if code != 1 || !strings.Contains(out, "refused the TLS connection") {
		t.Errorf("console restart with a client certificate of another CA: exit %d\n%s", code, out)
	}

	// The engine's certificate not signed by the configured CA.
	t.Setenv("MFBOT_CONFIG", tlsConfigYAML(t, stack, e.addr, other.CA, e.certs.ClientCert, e.certs.ClientKey, web.Name, ""))
	if code, out := runCLI("check"); code != 1 || !strings.Contains(out, "FAIL  docker[tls]: read engine version: Docker engine at tcp://"+e.addr+": its certificate is not trusted") {
		t.Errorf("check with another CA: exit %d\n%s", code, out)
	}

	// A CA file that does not exist: nothing starts.
	missing := filepath.Join(t.TempDir(), "absent", "ca.pem")
	t.Setenv("MFBOT_CONFIG", tlsConfigYAML(t, stack, e.addr, missing, e.certs.ClientCert, e.certs.ClientKey, web.Name, ""))
	code, out = runCLI("check")
	t.Logf("check with a missing CA file:\n%s", out)
	if code != 1 || !strings.Contains(out, "FAIL  config: environment tls: configure Docker client: TLS files of tcp://"+e.addr) || !strings.Contains(out, missing) {
		t.Errorf("check with a missing CA file: exit %d\n%s", code, out)
	}
	code, out = runCLI("console", "-c", "tls restart web", "--yes")
	if code == 0 || !strings.Contains(out, missing) {
		t.Errorf("console with a missing CA file: exit %d\n%s", code, out)
	}
	fake := newFake(t)
	b := startBot(t, stack, fake, botOptions{Env: map[string]string{"MFBOT_CONFIG": os.Getenv("MFBOT_CONFIG")}})
	if code, ok := b.exited(30 * time.Second); !ok || code == 0 || !strings.Contains(b.logs.String(), missing) {
		t.Errorf("mfbot run with a missing CA file: exited %v with %d\n%s", ok, code, b.logs.String())
	}

	if startedAt() != started {
		t.Error("the TLS engine's container was restarted by a refused configuration")
	}
}
