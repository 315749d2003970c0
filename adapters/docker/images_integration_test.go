//go:build integration

package docker_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mfbot/containers"
	"mfbot/testenv"
)

// stackEnv is a variable testenv/.state/env exports.
func stackEnv(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: source testenv/.state/env", name)
	}
	return v
}

// unique is a suffix for the names a test creates, so that runs (and other
// tests on the same engine) do not collide.
func unique(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// dockerQuiet runs the docker CLI for a cleanup, ignoring its failure (the
// object may already be gone).
func dockerQuiet(args ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = exec.CommandContext(ctx, "docker", args...).Run()
}

// registryManifest returns the manifest digest of repo:tag in the test
// registry and the digest of its image configuration, which is the image
// ID the engine gives the pulled image.
func registryManifest(t *testing.T, registry, repo, tag string) (manifest, config string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxFor(t, 30*time.Second), http.MethodGet, "http://"+registry+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct {
		Config struct{ Digest string } `json:"config"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("manifest of %s:%s: HTTP %d, %v", repo, tag, resp.StatusCode, err)
	}
	return resp.Header.Get("Docker-Content-Digest"), m.Config.Digest
}

// deleteManifest deletes a manifest the test pushed. Only for manifests no
// other tag shares: the registry deletes a manifest with all its tags.
func deleteManifest(t *testing.T, registry, repo, digest string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, "http://"+registry+"/v2/"+repo+"/manifests/"+digest, nil)
	if err != nil {
		t.Error(err)
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("delete manifest %s@%s: HTTP %d", repo, digest, resp.StatusCode)
	}
}

// commitImage makes a new image of its own (one reference, one more layer
// holding size random bytes) on top of the stack image.
func commitImage(t *testing.T, ref string, size int) string {
	t.Helper()
	payload := filepath.Join(t.TempDir(), "payload")
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil { // random: the layer stays big once compressed
		t.Fatal(err)
	}
	if err := os.WriteFile(payload, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctr := testenv.Docker(t, "create", "--label", "mfbot.test=1", stackEnv(t, "MFBOT_TEST_STACK_IMAGE"), "version")
	defer dockerQuiet("rm", "-f", ctr)
	testenv.Docker(t, "cp", payload, ctr+":/payload")
	testenv.Docker(t, "commit", ctr, ref)
	return testenv.ImageID(t, ref)
}

func TestPullOfARetaggedAppImage(t *testing.T) {
	stack := testenv.Require(t)
	repo := stackEnv(t, "MFBOT_TEST_APP_IMAGE")
	tag := "pulltest-" + unique(t)
	ref := repo + ":" + tag
	testenv.Docker(t, "tag", repo+":v2", ref)
	// The tag stays in the registry: its manifest is v2's, and deleting a
	// manifest deletes every tag of it.
	t.Cleanup(func() { dockerQuiet("rmi", ref) })
	testenv.Docker(t, "push", ref)
	_, config := registryManifest(t, stack.Registry, strings.TrimPrefix(repo, stack.Registry+"/"), tag)
	testenv.Docker(t, "rmi", ref) // untags: v2 keeps the image

	var reports []containers.PullProgress
	id, err := newEngine(t).Pull(ctxFor(t, 2*time.Minute), ref, containers.PullOptions{
		Progress: func(p containers.PullProgress) { reports = append(reports, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if v2 := testenv.ImageID(t, repo+":v2"); id != config || id != v2 {
		t.Errorf("pulled ID %s, want the registry's %s (= v2 %s)", id, config, v2)
	}
	if got := testenv.ImageID(t, ref); got != id {
		t.Errorf("the tag points at %s locally, Pull returned %s", got, id)
	}
	// The image is already there: a 20.10 engine then sends no message
	// about its layers (only "Pulling from", "Digest:", "Status:"), so
	// there is no progress to report. Progress is checked on a real
	// download by TestPullDownloadsANewLayerWithByteProgress.
	if len(reports) > 0 {
		if last := reports[len(reports)-1]; last.Pulled != last.Layers {
			t.Errorf("last progress %+v: want every layer pulled (they were all there)", last)
		}
	}
}

func TestPullDownloadsANewLayerWithByteProgress(t *testing.T) {
	stack := testenv.Require(t)
	name := "mfbot-pulltest"
	tag := unique(t)
	ref := stack.Registry + "/" + name + ":" + tag
	const size = 3 << 20
	want := commitImage(t, ref, size)
	t.Cleanup(func() { dockerQuiet("rmi", ref) })
	testenv.Docker(t, "push", ref)
	digest, _ := registryManifest(t, stack.Registry, name, tag)
	t.Cleanup(func() { deleteManifest(t, stack.Registry, name, digest) }) // this manifest is the test's own
	testenv.Docker(t, "rmi", ref)                                         // the image and its new layer are gone

	var reports []containers.PullProgress
	id, err := newEngine(t).Pull(ctxFor(t, 2*time.Minute), ref, containers.PullOptions{
		Progress: func(p containers.PullProgress) { reports = append(reports, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if id != want {
		t.Errorf("pulled ID %s, want %s", id, want)
	}
	if len(reports) == 0 {
		t.Fatal("progress was never called")
	}
	last := reports[len(reports)-1]
	if last.Layers != 2 || last.Pulled != 2 || last.Total < size || last.Done != last.Total {
		t.Errorf("last progress %+v: want 2 layers pulled, the new one's %d bytes or more all done", last, size)
	}
	sawPartial := slices.ContainsFunc(reports, func(p containers.PullProgress) bool { return p.Total > 0 && p.Done < p.Total })
	for i := 1; i < len(reports); i++ {
		if reports[i] == reports[i-1] {
			t.Errorf("report %d repeats the previous one %+v", i, reports[i])
		}
	}
	t.Logf("%d progress reports, download seen in progress: %t, last %+v", len(reports), sawPartial, last)
}

func TestPullOfAnUnknownTagFails(t *testing.T) {
	testenv.Require(t)
	tag := "does-not-exist-" + unique(t)
	ref := stackEnv(t, "MFBOT_TEST_APP_IMAGE") + ":" + tag
	called := false
	_, err := newEngine(t).Pull(ctxFor(t, time.Minute), ref, containers.PullOptions{Progress: func(containers.PullProgress) { called = true }})
	if err == nil {
		t.Fatal("pull of an unknown tag succeeded")
	}
	t.Logf("err: %v", err)
	// The prefix names the reference; the engine's own message must too.
	msg := strings.TrimPrefix(err.Error(), "pull "+ref)
	if !strings.HasPrefix(err.Error(), "pull "+ref+": ") || !strings.Contains(msg, tag) || !strings.Contains(msg, "not found") {
		t.Errorf("err = %v, want the engine's not found naming %s", err, tag)
	}
	if errors.Is(err, containers.ErrUnreachable) {
		t.Errorf("an unknown tag reported as an unreachable engine: %v", err)
	}
	if called {
		t.Error("progress called for a pull that found nothing")
	}
}

func TestImagesListsTheAppImageWithItsTags(t *testing.T) {
	testenv.Require(t)
	repo := stackEnv(t, "MFBOT_TEST_APP_IMAGE")
	v1 := testenv.ImageID(t, repo+":v1")
	list, err := newEngine(t).Images(ctxFor(t, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(list, func(img containers.Image) bool { return img.ID == v1 })
	if i < 0 {
		t.Fatalf("v1 %s is not in the %d images listed", v1, len(list))
	}
	img := list[i]
	for _, tag := range []string{repo + ":v1", repo + ":snapshot"} {
		if !slices.Contains(img.RepoTags, tag) {
			t.Errorf("tags %v lack %s", img.RepoTags, tag)
		}
	}
	if !slices.ContainsFunc(img.RepoDigests, func(d string) bool { return strings.HasPrefix(d, repo+"@sha256:") }) {
		t.Errorf("digests %v lack the registry's", img.RepoDigests)
	}
	if img.Size <= 0 || img.Created.IsZero() || time.Since(img.Created) < 0 {
		t.Errorf("size %d, created %s", img.Size, img.Created)
	}
	if want := imageLabels(t, repo+":v1"); len(want) == 0 || !mapsEqual(img.Labels, want) {
		t.Errorf("labels %v, want %v", img.Labels, want)
	}
	for _, img := range list {
		for _, r := range append(slices.Clone(img.RepoTags), img.RepoDigests...) {
			if strings.HasPrefix(r, "<none>") {
				t.Errorf("image %s lists the placeholder %q", img.ID, r)
			}
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestRemoveImageRefusesAnImageInUse(t *testing.T) {
	testenv.Require(t)
	e := newEngine(t)
	ref := "mfbot-test/inuse-" + unique(t) + ":t"
	id := commitImage(t, ref, 1024)
	t.Cleanup(func() { dockerQuiet("rmi", "-f", id) })
	ctr := testenv.Docker(t, "create", "--label", "mfbot.test=1", ref, "version")
	t.Cleanup(func() { dockerQuiet("rm", "-f", ctr) })

	// By its only tag, then by ID: both refused while a container uses it.
	for _, target := range []string{ref, id} {
		_, err := e.RemoveImage(ctxFor(t, time.Minute), target)
		if err == nil {
			t.Fatalf("removing %s, used by container %s, succeeded", target, ctr[:12])
		}
		if !strings.HasPrefix(err.Error(), "remove image "+target+": ") || !strings.Contains(err.Error(), "container") || !strings.Contains(err.Error(), "conflict") {
			t.Errorf("err = %v, want the engine's conflict naming the container", err)
		}
		if got := testenv.ImageID(t, ref); got != id {
			t.Fatalf("%s is now %s, want it untouched (%s)", ref, got, id)
		}
	}
	// The image a running container of the stack uses, by ID.
	running := rawInspect(t, "remote_app_1").Image
	if _, err := e.RemoveImage(ctxFor(t, time.Minute), running); err == nil || !strings.Contains(err.Error(), "being used by running container") {
		t.Errorf("removing the image of remote_app_1: %v", err)
	}
	if got := testenv.ImageID(t, stackEnv(t, "MFBOT_TEST_APP_IMAGE")+":snapshot"); got != running {
		t.Errorf("the app's snapshot tag now points at %s, want %s", got, running)
	}

	// Once the container is gone, the image goes with its tag.
	testenv.Docker(t, "rm", ctr)
	res, err := e.RemoveImage(ctxFor(t, time.Minute), ref)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Untagged, ref) || !slices.Contains(res.Deleted, id) {
		t.Errorf("removal %+v: want %s untagged and %s deleted", res, ref, id)
	}
}

func TestRemoveImageOfAnExtraTagOnlyUntags(t *testing.T) {
	testenv.Require(t)
	base := stackEnv(t, "MFBOT_TEST_APP_IMAGE") + ":v1"
	id := testenv.ImageID(t, base)
	extra := "mfbot-test/extra-" + unique(t) + ":t"
	testenv.Docker(t, "tag", base, extra)
	t.Cleanup(func() { dockerQuiet("rmi", extra) })
	res, err := newEngine(t).RemoveImage(ctxFor(t, time.Minute), extra)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Untagged) != 1 || res.Untagged[0] != extra || len(res.Deleted) != 0 {
		t.Errorf("removal %+v, want only %s untagged", res, extra)
	}
	if out := testenv.Docker(t, "images", "-q", extra); out != "" {
		t.Errorf("%s still exists", extra)
	}
	if got := testenv.ImageID(t, base); got != id {
		t.Errorf("%s is now %s, want %s", base, got, id)
	}
}
