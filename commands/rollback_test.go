package commands_test

import (
	"context"
	"strings"
	"testing"

	. "mfbot/commands"
	"mfbot/containers"
	. "mfbot/reply"
)

// A roll back checks that the image belongs to the service's repository.
// Once a newer image took the tag, the engine lists the container by its
// bare image ID: the repository comes from the reference it was created
// from (inspect), not from the list ("sha256" would refuse every image).
func TestRollbackAfterTheTagMoved(t *testing.T) {
	ref := testRepo + ":snapshot"
	previous := containers.Image{ID: "sha256:" + hex64("c"), RepoTags: []string{testRepo + ":v0.9.0"}}
	foreign := containers.Image{ID: "sha256:" + hex64("d"), RepoTags: []string{"docker.io/library/nginx:latest"}}
	c := versionCatalogue(t, oneEnv, ref, runningImg.ID, map[string]containers.Image{
		runningImg.ID: runningImg, previous.ID: previous, foreign.ID: foreign})

	rep := c.Run(context.Background(), Request{Line: "rollback app --to " + previous.ID, User: "U1", Via: ViaConsole, Confirmed: true})
	if rep.Status != StatusOK || !strings.Contains(replyText(rep), "rolled back") {
		t.Fatalf("roll back onto an image of %s: %s\n%s", testRepo, rep.Status, replyText(rep))
	}
	rep = c.Run(context.Background(), Request{Line: "rollback app --to " + foreign.ID, User: "U1", Via: ViaConsole, Confirmed: true})
	if rep.Status != StatusFailed || !strings.Contains(replyText(rep), "is not an image of "+testRepo) {
		t.Fatalf("roll back onto a foreign image: %s\n%s", rep.Status, replyText(rep))
	}
}

// A container pinned to an image ID by an earlier roll back: its
// repository is the one its image is known under.
func TestRollbackOfAPinnedContainer(t *testing.T) {
	pinned := runningImg
	pinned.RepoTags = []string{testRepo + ":v1.0.0"}
	previous := containers.Image{ID: "sha256:" + hex64("c"), RepoDigests: []string{testRepo + "@sha256:" + hex64("3")}}
	c := versionCatalogue(t, oneEnv, runningImg.ID, runningImg.ID, map[string]containers.Image{runningImg.ID: pinned, previous.ID: previous})
	rep := c.Run(context.Background(), Request{Line: "rollback app --to " + previous.ID, User: "U1", Via: ViaConsole, Confirmed: true})
	if rep.Status != StatusOK {
		t.Fatalf("roll back a pinned container: %s\n%s", rep.Status, replyText(rep))
	}
}
