//go:build integration

package commands_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mfbot/adapters/docker"
	"mfbot/commands"
	"mfbot/config"
	"mfbot/containers"
	"mfbot/reply"
	"mfbot/testenv"
)

// hidingEngine hides a container from the list, as if it was created
// between the list and the removal: the engine's own refusal is then
// what keeps its image.
type hidingEngine struct {
	containers.Engine
	hide string // container name
}

func (e *hidingEngine) Containers(ctx context.Context) ([]containers.Container, error) {
	list, err := e.Engine.Containers(ctx)
	return slices.DeleteFunc(list, func(c containers.Container) bool { return c.Name == e.hide }), err
}

// buildPruneImage builds a distinct image of its own (the app's v1 with a
// label), so that the test's repository holds images of different IDs.
func buildPruneImage(t *testing.T, from, ref string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "build", "-q", "-t", ref, "-")
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	cmd.Stdin = strings.NewReader("FROM " + from + "\nLABEL mfbot.test=1 mfbot.prune=\"" + ref + "\"\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build %s: %v\n%s", ref, err, out)
	}
}

// pruneAction is the action column of a tag in a prune reply.
func pruneAction(rep reply.Reply, repo, tag string) string {
	for _, b := range rep.Blocks {
		if tbl, ok := b.(*reply.Table); ok {
			for _, row := range tbl.Rows {
				if row[0] == repo && row[1] == tag {
					return row[3]
				}
			}
		}
	}
	return "(no row)"
}

func imageExists(ref string) bool {
	return exec.Command("docker", "image", "inspect", ref).Run() == nil
}

// TestPruneImagesOnTheRealEngine prunes a repository of the test's own:
// the services of the configuration are a container of the test (app)
// and containers that do not exist (the others), so that neither the
// stack's images nor the registry's tags are touched.
func TestPruneImagesOnTheRealEngine(t *testing.T) {
	stack := testenv.Require(t)
	suffix := randomSuffix(t)
	repo := stack.Registry + "/mfbot-prune-" + suffix
	running, stopped, hidden := "mfbot-test-prune-run-"+suffix, "mfbot-test-prune-stopped-"+suffix, "mfbot-test-prune-hidden-"+suffix
	tags := []string{"0.9.0", "1.0.0", "2.0.0", "3.0.0", "4.0.0", "5.0.0"} // oldest first
	t.Cleanup(func() {
		// Best effort, and never a failure: some may not have been made.
		exec.Command("docker", "rm", "-f", running, stopped, hidden).Run()
		for _, tag := range tags {
			exec.Command("docker", "image", "rm", repo+":"+tag).Run()
		}
	})
	for _, tag := range tags {
		// Built in order: the engine's creation times (to the second) and
		// the tags' versions agree on which is newer.
		buildPruneImage(t, stack.AppImage("v1"), repo+":"+tag)
	}
	testenv.Docker(t, "run", "-d", "--name", running, "--label", "mfbot.test=1", "-e", "FAKEAPP_LOG_INTERVAL=0", repo+":1.0.0")
	testenv.Docker(t, "create", "--name", stopped, "--label", "mfbot.test=1", repo+":2.0.0")

	none := "mfbot-test-prune-none-" + suffix
	yaml := "environments:\n  local:\n    compose_project: mfbot-prune-" + suffix + "\n    services:\n" +
		"      app:\n        container: " + running + "\n"
	for _, svc := range []string{"db", "geoserver", "pipeline-server", "pipeline-flows"} {
		yaml += "      " + svc + ":\n        container: " + none + "\n"
	}
	yaml += "limits:\n  restart_timeout: 1m\n  stop_timeout: 5s\n"
	path := filepath.Join(t.TempDir(), "mfbot.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	eng, err := docker.New(docker.Options{Host: cfg.Environments[0].DockerHost})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	engine := &hidingEngine{Engine: eng}
	c, err := commands.New(cfg, []*commands.Environment{{Config: cfg.Environments[0], Docker: engine}}, commands.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stackTags := []string{"v1", "v2", "snapshot", "broken"}
	for _, tag := range stackTags {
		if !imageExists(stack.AppImage(tag)) {
			t.Fatalf("%s is missing before the test: the stack is not as up.sh left it", stack.AppImage(tag))
		}
	}

	rep := run(t, c, "prune images --keep 2", false)
	want := "Remove 2 image tags of " + repo + " (3.0.0, 0.9.0), keep 5.0.0, 4.0.0 and 2 in use in local?"
	if rep.Status != reply.StatusPending || rep.Confirm == nil || rep.Confirm.Prompt != want {
		t.Fatalf("prune images --keep 2: %s, want a confirmation %q:\n%s", rep.Status, want, text(rep))
	}
	rep = run(t, c, rep.Confirm.Command, true)
	out := text(rep)
	t.Logf("confirmed prune:\n%s", out)
	if rep.Status != reply.StatusOK || !strings.Contains(rep.Title, "2 tags removed") {
		t.Fatalf("confirmed prune: %s\n%s", rep.Status, out)
	}
	for tag, action := range map[string]string{
		"5.0.0": "kept: newest 2", "4.0.0": "kept: newest 2", "3.0.0": "removed",
		"2.0.0": "kept: in use by " + stopped, "1.0.0": "kept: in use by " + running, "0.9.0": "removed",
	} {
		if got := pruneAction(rep, repo, tag); got != action {
			t.Errorf("%s: %q, want %q in:\n%s", tag, got, action, out)
		}
		if gone := !imageExists(repo + ":" + tag); gone != (action == "removed") {
			t.Errorf("%s:%s present %t after the prune, action %q", repo, tag, !gone, action)
		}
	}
	if strings.Contains(out, "0B reclaimed") {
		t.Errorf("the deleted images reclaimed nothing:\n%s", out)
	}

	// Nothing left: said at once, no confirmation.
	rep = run(t, c, "prune images --keep 2", false)
	if rep.Status != reply.StatusOK || rep.Confirm != nil || !strings.Contains(text(rep), "nothing to prune: "+repo+" has 4 local tags, all kept (newest 2, 2 in use)") {
		t.Fatalf("second prune: %s\n%s", rep.Status, text(rep))
	}

	// A container the list did not show uses 4.0.0: the engine refuses,
	// and the tag is reported kept, not failed.
	testenv.Docker(t, "create", "--name", hidden, "--label", "mfbot.test=1", repo+":4.0.0")
	engine.hide = hidden
	rep = run(t, c, "prune images --keep 1", true)
	out = text(rep)
	if rep.Status != reply.StatusOK || pruneAction(rep, repo, "4.0.0") != "kept: in use" || !imageExists(repo+":4.0.0") {
		t.Fatalf("prune with a container the list hides: %s\n%s", rep.Status, out)
	}

	// The stack's own images are untouched, and its app runs.
	for _, tag := range stackTags {
		if !imageExists(stack.AppImage(tag)) {
			t.Errorf("%s is gone", stack.AppImage(tag))
		}
	}
	if state := testenv.Docker(t, "inspect", "-f", "{{.State.Status}}", "remote_app_1"); state != "running" {
		t.Errorf("remote_app_1 is %s", state)
	}
}
