//go:build integration

package commands_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mfbot/reply"
	"mfbot/testenv"
)

// TestVersionAndStatusWhenTheTagMovedToAnotherImage runs a container of its
// own from a tag of its own, then moves that tag to another image, as
// `docker-compose pull` does when a new release is published under the same
// tag: the engine's list then names the running image by ID only.
func TestVersionAndStatusWhenTheTagMovedToAnotherImage(t *testing.T) {
	stack := testenv.Require(t)
	suffix := randomSuffix(t)
	tag, name := "movedtag-"+suffix, "mfbot-test-movedtag-"+suffix
	ref := stack.AppImage(tag)
	t.Cleanup(func() {
		// Best effort, and never a failure: the container or the tag may
		// not have been made.
		exec.Command("docker", "rm", "-f", name).Run()
		exec.Command("docker", "image", "rm", ref).Run()
	})
	testenv.Docker(t, "tag", stack.AppImage("v1"), ref)
	testenv.Docker(t, "run", "-d", "--name", name, "--label", "mfbot.test=1", "-e", "FAKEAPP_LOG_INTERVAL=0", ref)

	v1ID, v2ID := testenv.ImageID(t, stack.AppImage("v1")), testenv.ImageID(t, stack.AppImage("v2"))
	repo := strings.TrimSuffix(stack.AppImage(""), ":")
	v1Digest, v2Digest := repoDigest(t, repo, stack.AppImage("v1")), repoDigest(t, repo, stack.AppImage("v2"))

	// app is this container: the restart hint is the app's.
	path := filepath.Join(t.TempDir(), "mfbot.yaml")
	yaml := "environments:\n  local:\n    services:\n      app:\n        container: " + name + "\n" +
		"limits:\n  restart_timeout: 1m\n  stop_timeout: 5s\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c := catalogueFromFile(t, path, nil)

	// The tag still names the running image: nothing to say.
	rep := run(t, c, "version app", false)
	out := text(rep)
	if rep.Status != reply.StatusOK || strings.Contains(out, "now names another image") || strings.Contains(out, "unknown") {
		t.Fatalf("version app before the tag moved: %s\n%s", rep.Status, out)
	}
	if row := rowOf(t, rep, "app"); row[1] != repo || row[2] != tag || row[3] != short(v1Digest) {
		t.Errorf("version app before the tag moved: row %q, want %s %s %s", row, repo, tag, short(v1Digest))
	}
	if got := rowOf(t, run(t, c, "status", false), "app")[5]; got != tag {
		t.Errorf("status image before the tag moved: %q, want %q", got, tag)
	}

	// A newer image is pulled under the same tag.
	testenv.Docker(t, "tag", stack.AppImage("v2"), ref)
	if listed := testenv.Docker(t, "ps", "-a", "--no-trunc", "--filter", "name=^"+name+"$", "--format", "{{.Image}}"); listed != v1ID {
		t.Fatalf("the engine lists %s's image as %q, want the bare ID %s (the situation under test)", name, listed, v1ID)
	}

	rep = run(t, c, "version app", false)
	out = text(rep)
	if rep.Status != reply.StatusOK {
		t.Fatalf("version app: %s\n%s", rep.Status, out)
	}
	if row := rowOf(t, rep, "app"); row[1] != repo || row[2] != tag || row[3] != short(v1Digest) {
		t.Errorf("version app: row %q, want the configured reference %s:%s and the running digest %s", row, repo, tag, short(v1Digest))
	}
	for _, want := range []string{
		"app: tag " + ref + " now names another image: " + short(v2Digest) + " (image " + short(v2ID) + "), created ",
		"the container still runs " + short(v1Digest) + ".",
		"`restart app` would apply it",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("version app lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "sha256 |") || strings.Contains(out, "| "+short(v1ID)[7:]+" |") {
		t.Errorf("version app shows the bare image ID as the image or tag:\n%s", out)
	}

	rep = run(t, c, "status", false)
	if got, want := rowOf(t, rep, "app")[5], tag+" (tag moved)"; got != want {
		t.Errorf("status image %q, want %q:\n%s", got, want, text(rep))
	}
}

func randomSuffix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// repoDigest is an image's repo digest in repo (the images of the stack are
// pushed, so they have one).
func repoDigest(t *testing.T, repo, ref string) string {
	t.Helper()
	for _, d := range strings.Fields(testenv.Docker(t, "image", "inspect", "-f", `{{join .RepoDigests " "}}`, ref)) {
		if strings.HasPrefix(d, repo+"@") {
			return d
		}
	}
	t.Fatalf("%s has no repo digest in %s", ref, repo)
	return ""
}

// short is how replies shorten an ID or digest: 12 hex digits.
func short(d string) string {
	if i := len(d) - 64; i > 0 && d[i-1] == ':' {
		return d[:i+12]
	}
	return d
}
