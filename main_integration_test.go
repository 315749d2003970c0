//go:build integration

package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"mfbot/testenv"
)

// console runs `mfbot console ...` in-process and returns its exit status
// and output.
func console(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"console"}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String() + errOut.String()
}

func withStackConfig(t *testing.T, stack testenv.Stack) {
	t.Helper()
	t.Setenv("MFBOT_CONFIG", stack.WriteConfig(t, ""))
}

func TestConsoleRestartAppWithYes(t *testing.T) {
	stack := testenv.Require(t)
	t.Cleanup(func() { stack.ResetApp(t) })
	stack.ResetApp(t)
	stack.PublishSnapshot(t, "v2")
	withStackConfig(t, stack)
	code, out := console(t, "", "-c", "restart app", "--yes")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, "app recreated") || !strings.Contains(out, "→") {
		t.Errorf("output lacks the recreate report with digests:\n%s", out)
	}
	if got, want := testenv.Docker(t, "inspect", "-f", "{{.Image}}", "remote_app_1"), testenv.ImageID(t, stack.AppImage("v2")); got != want {
		t.Errorf("remote_app_1 runs %s, want v2 %s", got, want)
	}
}

func TestConsoleAsksBeforeMutating(t *testing.T) {
	stack := testenv.Require(t)
	withStackConfig(t, stack)
	before := testenv.Docker(t, "inspect", "-f", "{{.State.StartedAt}}", "monitorfish-pipeline-flows")
	code, out := console(t, "n\n", "-c", "restart pipeline-flows")
	if code != 1 || !strings.Contains(out, "[y/N]") || !strings.Contains(out, "Cancelled") {
		t.Fatalf("declined restart: exit %d\n%s", code, out)
	}
	if testenv.Docker(t, "inspect", "-f", "{{.State.StartedAt}}", "monitorfish-pipeline-flows") != before {
		t.Fatal("declined restart restarted the container")
	}
	code, out = console(t, "y\n", "-c", "restart pipeline-flows")
	if code != 0 || testenv.Docker(t, "inspect", "-f", "{{.State.StartedAt}}", "monitorfish-pipeline-flows") == before {
		t.Fatalf("confirmed restart: exit %d\n%s", code, out)
	}
}

func TestConsoleLogsAndStatus(t *testing.T) {
	stack := testenv.Require(t)
	withStackConfig(t, stack)
	testenv.Docker(t, "restart", "-t", "5", "remote_app_1") // the app logs ENV_DB_URL at start
	testenv.WaitHealthy(t, "remote_app_1", time.Minute)
	code, out := console(t, "", "-c", "logs app --tail 20")
	if code != 0 || strings.Contains(out, "Sup3rS3cr3t-test") {
		t.Fatalf("logs: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "password=[REDACTED]") {
		t.Errorf("the ENV_DB_URL line is not there, masked:\n%s", out)
	}
	code, out = console(t, "", "-c", "status")
	if code != 0 {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
	for _, want := range []string{"app", "db", "pipeline-server", "pipeline-flows", "healthy", "running"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}

func TestConsoleExitStatuses(t *testing.T) {
	stack := testenv.Require(t)
	withStackConfig(t, stack)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-c", "restrat app"}, 2, "Unknown command"},
		{[]string{"-c", "logs app --tail nope"}, 2, "Usage: logs"},
		{[]string{"-c", "logs geoserver"}, 1, "no container"},
		{[]string{"-c", "help"}, 0, "restart"},
		{[]string{"--bogus"}, 2, "flag provided but not defined"},
		{[]string{"status"}, 2, "quote the command"},
	} {
		code, out := console(t, "", tc.args...)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("console %v: exit %d, want %d with %q:\n%s", tc.args, code, tc.code, tc.want, out)
		}
	}
}

func TestCheckReportsEachDependency(t *testing.T) {
	stack := testenv.Require(t)
	withStackConfig(t, stack)
	t.Setenv("ENV_DB_URL", strings.Replace(stack.PGURL, "postgres://", "postgresql://", 1))
	var out bytes.Buffer
	code := run([]string{"check"}, strings.NewReader(""), &out, &out)
	if code != 0 || !strings.Contains(out.String(), "ok    docker[local]") || !strings.Contains(out.String(), "ok    database[local]: PostgreSQL 15") {
		t.Fatalf("check: exit %d\n%s", code, out.String())
	}
	if strings.Contains(out.String(), "mfbot_test@") && strings.Contains(out.String(), ":mfbot_test@") {
		t.Errorf("check printed the database password:\n%s", out.String())
	}
	t.Setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
	out.Reset()
	code = run([]string{"check"}, strings.NewReader(""), &out, &out)
	if code != 1 || !strings.Contains(out.String(), "FAIL  docker[local]") {
		t.Fatalf("check with a dead engine: exit %d\n%s", code, out.String())
	}
}

// TestConsoleVersions: the app's tags from the local registry, newest
// version first, the running tag marked.
func TestConsoleVersions(t *testing.T) {
	stack := testenv.Require(t)
	t.Cleanup(func() { stack.ResetApp(t) })
	stack.ResetApp(t)
	withStackConfig(t, stack)
	code, out := console(t, "", "-c", "versions")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	lines := strings.Split(out, "\n")
	row := func(tag string) int {
		for i, l := range lines {
			if f := strings.Fields(l); len(f) > 0 && strings.Trim(f[0], "│|") == tag || strings.HasPrefix(strings.TrimSpace(l), tag+" ") {
				return i
			}
		}
		t.Fatalf("no row for %s:\n%s", tag, out)
		return -1
	}
	if !strings.Contains(out, "monitorfish-app") || !(row("v2") < row("v1") && row("v1") < row("broken")) {
		t.Errorf("want v2, v1 then the other tags:\n%s", out)
	}
	if l := lines[row("snapshot")]; !strings.Contains(l, "running") || !strings.Contains(l, "pulled") {
		t.Errorf("snapshot runs (and is pulled): %q", l)
	}
	if code, out := console(t, "", "-c", "versions nosuch"); code == 0 || !strings.Contains(out, `Unknown service "nosuch"`) {
		t.Errorf("unknown service: exit %d\n%s", code, out)
	}
}
