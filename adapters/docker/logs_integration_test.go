//go:build integration

package docker_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"mfbot/adapters/docker"
	"mfbot/containers"
	"mfbot/testenv"
)

func collectLogsWithoutTimes(t *testing.T, e *docker.Engine, name string, q containers.LogQuery) []containers.LogLine {
	t.Helper()
	var lines []containers.LogLine
	err := e.LogsWithoutTimes(ctxFor(t, time.Minute), name, q, func(l containers.LogLine) error {
		lines = append(lines, l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

// Without times, the same lines come, in the same streams, multiplexed or
// from a TTY.
func TestLogsWithoutTimesGivesTheSameLines(t *testing.T) {
	testenv.Require(t)
	e := newEngine(t)
	// A closed window: the containers keep writing.
	until := time.Now().Add(-time.Second)
	for _, name := range []string{"remote_app_1", "monitorfish-pipeline-server"} {
		q := containers.LogQuery{Tail: 300, Until: until}
		timed := collectLogs(t, e, name, q)
		untimed := collectLogsWithoutTimes(t, e, name, q)
		if len(timed) == 0 {
			t.Fatalf("%s: no log lines", name)
		}
		for i := range untimed {
			if !untimed[i].Time.IsZero() {
				t.Fatalf("%s: line %d has a time", name, i)
			}
			timed[i].Time = time.Time{}
		}
		if !reflect.DeepEqual(untimed, timed) {
			t.Errorf("%s: %d lines without times differ from the %d with", name, len(untimed), len(timed))
		}
	}
	err := e.LogsWithoutTimes(ctxFor(t, time.Minute), "mfbot-no-such-container", containers.LogQuery{Tail: 1}, func(containers.LogLine) error { return nil })
	if !errors.Is(err, containers.ErrNoSuchContainer) {
		t.Errorf("logs of a missing container: %v", err)
	}
}

// A line longer than the json-file driver's 16 KiB parts comes whole, as
// `docker logs` shows it.
func TestLogsWithoutTimesKeepALongLineWhole(t *testing.T) {
	testenv.Require(t)
	name := "mfbot-test-longline"
	testenv.Docker(t, "rm", "-f", name)
	testenv.Docker(t, "run", "-d", "--name", name, "--label", "mfbot.test=1", "mfbot-test/stack:latest", "app")
	t.Cleanup(func() { testenv.Docker(t, "rm", "-f", name) })
	ip := testenv.Docker(t, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name)
	msg := "long-" + strings.Repeat("A", 20000) + strings.Repeat("B", 20000) + "-end"
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://%s:8880/control/log?msg=%s", ip, url.QueryEscape(msg)))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the fake app in %s does not answer: %v", name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The engine writes a long line as 16 KiB parts: the app's answer may
	// come before the last part is in the log file.
	var long string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		long = ""
		for _, l := range collectLogsWithoutTimes(t, newEngine(t), name, containers.LogQuery{Tail: 20}) {
			if strings.Contains(l.Text, "long-") {
				long = l.Text
			}
		}
		if strings.Contains(long, msg) || time.Now().After(deadline) {
			break
		}
	}
	if !strings.Contains(long, msg) {
		t.Fatalf("the long line is not whole (%d bytes)", len(long))
	}
	if want := testenv.Docker(t, "logs", "--tail", "20", name); !strings.Contains(want, long) {
		t.Errorf("docker logs shows the long line otherwise")
	}
}
