//go:build integration

package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mfbot/testenv"
	"mfbot/testenv/slackfake"
)

// The final image, built from a binary built on the host (the Dockerfile's
// from-host target: no golang image to pull here), runs `mfbot run` against
// the test stack — the engine through its socket, the fake Slack on the
// host's loopback — as its unprivileged user, and its HEALTHCHECK (`mfbot
// healthcheck` asking /healthz) reports it healthy.
func TestImageFromHostBinaryRunsHealthy(t *testing.T) {
	stack := testenv.Require(t)
	dir := t.TempDir()
	dist := filepath.Join(dir, "dist")
	if err := os.MkdirAll(filepath.Join(dist, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dist, "mfbot"), ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for from, to := range map[string]string{"Dockerfile": filepath.Join(dir, "Dockerfile"), "/etc/ssl/certs/ca-certificates.crt": filepath.Join(dist, "ca-certificates.crt")} {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	image := "mfbot-test/mfbot:from-host"
	testenv.Docker(t, "build", "--target", "from-host", "-t", image, dir)

	fake := newFake(t)
	cfg := stack.WriteConfig(t, "")
	if err := os.Chmod(cfg, 0o644); err != nil { // read by the image's user
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/var/run/docker.sock", &st); err != nil {
		t.Fatal(err)
	}
	addr := moreFreeAddr(t)
	name := "mfbot-image-test"
	exec.Command("docker", "rm", "-f", name).Run()
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("docker", "logs", "--tail", "50", name).CombinedOutput()
			t.Logf("container logs:\n%s", out)
		}
		exec.Command("docker", "rm", "-f", name).Run()
	})
	testenv.Docker(t, "run", "-d", "--name", name, "--network", "host",
		"--health-interval", "1s", "--health-start-period", "5s",
		"-v", "/var/run/docker.sock:/var/run/docker.sock", "--group-add", strconv.FormatUint(uint64(st.Gid), 10),
		"-v", cfg+":/etc/mfbot.yaml:ro", "-e", "MFBOT_CONFIG=/etc/mfbot.yaml",
		"-e", "SLACK_BOT_TOKEN="+fake.BotToken(), "-e", "SLACK_APP_TOKEN="+fake.AppToken(), "-e", "SLACK_API_URL="+fake.APIURL(),
		"-e", "MFBOT_HTTP_ADDR="+addr, image)

	if user := testenv.Docker(t, "inspect", "-f", "{{.Config.User}}", name); user != "65532:65532" {
		t.Errorf("the image runs as %q, want the unprivileged 65532:65532", user)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		health := testenv.Docker(t, "inspect", "-f", "{{.State.Status}} {{.State.Health.Status}}", name)
		if health == "running healthy" {
			break
		}
		if time.Now().After(deadline) || strings.HasPrefix(health, "exited") {
			t.Fatalf("the container is %q, want running healthy", health)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// Healthy means connected to Slack: the fake saw its Socket Mode connection.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fake.WaitFor(ctx, func(s *slackfake.Server) bool { return s.Connections() > 0 }); err != nil {
		t.Errorf("the image never connected to Slack: %v", err)
	}
	slash(t, fake, viewer, "ps")
	waitBotMessage(t, fake, "ps answered by the image", "remote_app_1")
	// Its /healthz names every dependency with its state.
	if code, body := moreHealthz(t, "http://"+addr+"/healthz"); code != http.StatusOK || !strings.Contains(body, `"docker[local]":{"ok":true`) ||
		!strings.Contains(body, `"store":{"ok":true`) || !strings.Contains(body, `"slack_socket_mode":"connected"`) {
		t.Errorf("/healthz: %d %s", code, body)
	}
	// Its /metrics counted the command (and the Slack call that answered
	// it, counted once the call has returned: read until it is there).
	wants := []string{`mfbot_commands_total{outcome="ok",verb="ps"} 1`, `mfbot_slack_api_calls_total{method="chat.postMessage",outcome="ok"}`}
	var body []byte
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), wants[0]) && strings.Contains(string(body), wants[1]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %q:\n%s", wants, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// deploy/docker-compose.yml is a valid compose file for the docker-compose
// MonitorFish uses, with the example environment file in place.
func TestDeployComposeFileIsValid(t *testing.T) {
	testenv.Require(t)
	dir := t.TempDir()
	for from, to := range map[string]string{"deploy/docker-compose.yml": "docker-compose.yml", "deploy/mfbot.env.example": "mfbot.env"} {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command("docker-compose", "-p", "mfbot", "-f", filepath.Join(dir, "docker-compose.yml"), "config").CombinedOutput()
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
	for _, want := range []string{"DOCKER_HOST: tcp://docker-proxy:2375", "remote_backend", "/var/run/docker.sock:/var/run/docker.sock:ro"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the resolved compose file lacks %q:\n%s", want, out)
		}
	}
}
