package commands_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	. "mfbot/commands"
	"mfbot/containers"
	. "mfbot/reply"
)

// imageEngine is a recordingEngine that also knows images and, like the
// Docker engine, keeps a container's own reference in inspect while its list
// view may show the image ID (once the tag has moved).
type imageEngine struct {
	recordingEngine
	refs   map[string]string           // container ID → the reference it was created from (inspect's Config.Image)
	images map[string]containers.Image // by reference or ID
}

func (e *imageEngine) Inspect(ctx context.Context, id string) (containers.ContainerDetails, error) {
	d, err := e.recordingEngine.Inspect(ctx, id)
	if ref, ok := e.refs[id]; ok {
		d.Image = ref
	}
	return d, err
}

func (e *imageEngine) Image(_ context.Context, ref string) (containers.Image, error) {
	if img, ok := e.images[ref]; ok {
		return img, nil
	}
	// What adapters/docker returns for an image the engine does not have.
	return containers.Image{}, fmt.Errorf("inspect image %s: %w", ref, containers.ErrNoSuchContainer)
}

func (e *imageEngine) Version(context.Context) (containers.EngineVersion, error) {
	return containers.EngineVersion{Version: "29.0.0", APIVersion: "1.52", OS: "linux", Arch: "amd64"}, nil
}

const testRepo = "ghcr.io/mtes-mct/monitorfish/monitorfish-app"

func hex64(c string) string { return strings.Repeat(c, 64) }

var (
	runningImg = containers.Image{
		ID:          "sha256:" + hex64("a"),
		RepoDigests: []string{testRepo + "@sha256:" + hex64("1")},
		Created:     time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC),
	}
	newerImg = containers.Image{
		ID:          "sha256:" + hex64("b"),
		RepoTags:    []string{testRepo + ":snapshot"},
		RepoDigests: []string{testRepo + "@sha256:" + hex64("2")},
		Created:     time.Date(2025, 3, 8, 9, 30, 0, 0, time.UTC),
	}
)

const (
	runningDigest = testRepo + "@sha256:111111111111"
	newerDigest   = testRepo + "@sha256:222222222222"
	newerID       = "sha256:bbbbbbbbbbbb"
)

// versionCatalogue runs the app container a1 created from createdFrom,
// listed as listedAs (the reference while it still names the running image,
// the image ID once it does not), with the given local images.
func versionCatalogue(t *testing.T, yaml, createdFrom, listedAs string, images map[string]containers.Image) *Catalogue {
	t.Helper()
	cfg := loadConfig(t, yaml)
	engine := &imageEngine{
		recordingEngine: recordingEngine{containers: []containers.Container{
			{ID: "a1", Name: "remote_app_1", State: "running", Health: "healthy", Image: listedAs, ImageID: runningImg.ID},
		}},
		refs:   map[string]string{"a1": createdFrom},
		images: images,
	}
	return catalogueOver(t, cfg, engine)
}

func runLine(t *testing.T, c *Catalogue, line string) (Reply, string) {
	t.Helper()
	rep := c.Run(context.Background(), Request{Line: line, User: "U1", Via: ViaConsole})
	if rep.Status != StatusOK {
		t.Fatalf("%s: %s\n%s", line, rep.Status, replyText(rep))
	}
	return rep, replyText(rep)
}

func tableRow(t *testing.T, rep Reply, first string) []string {
	t.Helper()
	for _, blk := range rep.Blocks {
		if tbl, ok := blk.(*Table); ok {
			for _, row := range tbl.Rows {
				if row[0] == first {
					return row
				}
			}
		}
	}
	t.Fatalf("no row %q in:\n%s", first, replyText(rep))
	return nil
}

func wantRow(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, " | ") != strings.Join(want, " | ") {
		t.Errorf("row\n  %q\nwant\n  %q", got, want)
	}
}

const oneEnv = "environments:\n  local: {}\n"

func TestVersionWhenTheTagStillNamesTheRunningImage(t *testing.T) {
	ref := testRepo + ":snapshot"
	c := versionCatalogue(t, oneEnv, ref, ref, map[string]containers.Image{ref: runningImg, runningImg.ID: runningImg})
	rep, out := runLine(t, c, "version app")
	wantRow(t, tableRow(t, rep, "app"), "app", testRepo, "snapshot", runningDigest, "2025-03-01 10:00")
	for _, no := range []string{"now names another image", "unknown", "restart"} {
		if strings.Contains(out, no) {
			t.Errorf("version says %q although the tag names the running image:\n%s", no, out)
		}
	}
	rep, _ = runLine(t, c, "status")
	if got := tableRow(t, rep, "app")[5]; got != "snapshot" {
		t.Errorf("status image %q, want snapshot", got)
	}
}

func TestVersionWhenTheTagMovedToAnotherImage(t *testing.T) {
	ref := testRepo + ":snapshot"
	// The running image lost its tag: only its digest is left.
	c := versionCatalogue(t, oneEnv, ref, runningImg.ID, map[string]containers.Image{ref: newerImg, runningImg.ID: runningImg})
	rep, out := runLine(t, c, "version app")
	wantRow(t, tableRow(t, rep, "app"), "app", testRepo, "snapshot", runningDigest, "2025-03-01 10:00")
	want := "app: tag " + ref + " now names another image: " + newerDigest + " (image " + newerID + "), created 2025-03-08 09:30 UTC;" +
		" the container still runs " + runningDigest + ". `restart app` would apply it"
	if !strings.Contains(out, want) {
		t.Errorf("version lacks\n  %s\nin:\n%s", want, out)
	}
	if strings.Contains(out, "sha256 ") || strings.Contains(out, " aaaaaaaaaaaa ") {
		t.Errorf("version shows the bare image ID as the image:\n%s", out)
	}
	rep, _ = runLine(t, c, "status")
	if got := tableRow(t, rep, "app")[5]; got != "snapshot (tag moved)" {
		t.Errorf("status image %q, want %q", got, "snapshot (tag moved)")
	}
	// The whole stack's version says the same.
	if _, out := runLine(t, c, "version"); !strings.Contains(out, want) {
		t.Errorf("version (all services) lacks the moved tag:\n%s", out)
	}
}

func TestVersionNamesTheEnvironmentInTheRestartHint(t *testing.T) {
	ref := testRepo + ":snapshot"
	c := versionCatalogue(t, "environments:\n  integration: {}\n  prod: {}\n", ref, runningImg.ID,
		map[string]containers.Image{ref: newerImg, runningImg.ID: runningImg})
	if _, out := runLine(t, c, "prod version app"); !strings.Contains(out, "`prod restart app` would apply it") {
		t.Errorf("the hint does not name the environment:\n%s", out)
	}
}

func TestVersionWhenTheTagIsNotOnTheEngine(t *testing.T) {
	ref := testRepo + ":snapshot"
	c := versionCatalogue(t, oneEnv, ref, runningImg.ID, map[string]containers.Image{runningImg.ID: runningImg})
	rep, out := runLine(t, c, "version app")
	wantRow(t, tableRow(t, rep, "app"), "app", testRepo, "snapshot", runningDigest, "2025-03-01 10:00")
	if strings.Contains(out, "now names another image") || strings.Contains(out, "would apply") {
		t.Errorf("version guesses about a tag the engine does not have:\n%s", out)
	}
	if !strings.Contains(out, "app: "+ref+" is not present on this engine: whether it names another image than the running one is unknown.") {
		t.Errorf("version does not say the tag is unknown:\n%s", out)
	}
	rep, _ = runLine(t, c, "status")
	if got := tableRow(t, rep, "app")[5]; got != "snapshot" {
		t.Errorf("status image %q, want snapshot", got)
	}
}

func TestVersionWithAConfiguredImageOtherThanTheContainers(t *testing.T) {
	created, configured := testRepo+":v1.0.0", testRepo+":v1.1.0"
	yaml := "environments:\n  local:\n    services:\n      app:\n        image: " + configured + "\n"
	next := newerImg
	next.RepoTags = []string{configured}
	c := versionCatalogue(t, yaml, created, created, map[string]containers.Image{created: runningImg, runningImg.ID: runningImg, configured: next})
	rep, out := runLine(t, c, "version app")
	wantRow(t, tableRow(t, rep, "app"), "app", testRepo, "v1.1.0", runningDigest, "2025-03-01 10:00")
	for _, want := range []string{
		"app: configured image " + configured + "; its container was created from " + created + ".",
		"app: tag " + configured + " now names another image: " + newerDigest,
		"`restart app` would apply it",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("version lacks %q:\n%s", want, out)
		}
	}
	// status shows what the container was created from.
	rep, _ = runLine(t, c, "status")
	if got := tableRow(t, rep, "app")[5]; got != "v1.0.0" {
		t.Errorf("status image %q, want v1.0.0", got)
	}

	// The configured image not pulled here: unknown, not a guess.
	c = versionCatalogue(t, yaml, created, created, map[string]containers.Image{created: runningImg, runningImg.ID: runningImg})
	_, out = runLine(t, c, "version app")
	if strings.Contains(out, "now names another image") || !strings.Contains(out, configured+" is not present on this engine") {
		t.Errorf("version with the configured image absent:\n%s", out)
	}
	if !strings.Contains(out, "its container was created from "+created) {
		t.Errorf("version does not show the container's own reference:\n%s", out)
	}
}

func TestVersionOfAContainerPinnedToAnImageID(t *testing.T) {
	// A roll back creates the container on an image ID: no tag to move.
	pinned := runningImg
	pinned.RepoTags = []string{testRepo + ":v1.0.0"}
	c := versionCatalogue(t, oneEnv, runningImg.ID, runningImg.ID, map[string]containers.Image{runningImg.ID: pinned})
	rep, out := runLine(t, c, "version app")
	wantRow(t, tableRow(t, rep, "app"), "app", testRepo, "image ID", runningDigest, "2025-03-01 10:00")
	if strings.Contains(out, "now names another image") || strings.Contains(out, "unknown") {
		t.Errorf("version of a pinned container:\n%s", out)
	}
}
