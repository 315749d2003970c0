package commands_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	. "mfbot/commands"
	"mfbot/config"
	"mfbot/containers"
	"mfbot/human"
	. "mfbot/reply"
)

// pruneEngine has local images, tags them off as the engine does (the
// image goes when its last tag goes) and records every removal.
type pruneEngine struct {
	recordingEngine
	imgMu   sync.Mutex
	refs    map[string]string // container ID → the reference it was created from (inspect)
	images  []containers.Image
	errs    map[string]error // RemoveImage errors by reference
	removed []string
}

func (e *pruneEngine) Inspect(ctx context.Context, id string) (containers.ContainerDetails, error) {
	d, err := e.recordingEngine.Inspect(ctx, id)
	if ref, ok := e.refs[id]; ok {
		d.Image = ref
	}
	return d, err
}

func (e *pruneEngine) Images(context.Context) ([]containers.Image, error) {
	e.imgMu.Lock()
	defer e.imgMu.Unlock()
	out := make([]containers.Image, 0, len(e.images))
	for _, img := range e.images {
		img.RepoTags = slices.Clone(img.RepoTags)
		out = append(out, img)
	}
	return out, nil
}

func (e *pruneEngine) Image(_ context.Context, ref string) (containers.Image, error) {
	e.imgMu.Lock()
	defer e.imgMu.Unlock()
	for _, img := range e.images {
		if img.ID == ref || slices.Contains(img.RepoTags, ref) {
			return img, nil
		}
	}
	return containers.Image{}, fmt.Errorf("inspect image %s: %w", ref, containers.ErrNoSuchContainer)
}

func (e *pruneEngine) RemoveImage(_ context.Context, ref string) (containers.ImageRemoval, error) {
	e.imgMu.Lock()
	defer e.imgMu.Unlock()
	if err := e.errs[ref]; err != nil {
		return containers.ImageRemoval{}, err
	}
	for i, img := range e.images {
		j := slices.Index(img.RepoTags, ref)
		if j < 0 {
			continue
		}
		if len(img.RepoTags) == 1 {
			for _, c := range e.containers {
				if c.ImageID == img.ID {
					return containers.ImageRemoval{}, fmt.Errorf("remove image %s: Error response from daemon: conflict: unable to remove repository reference %q (must force) - container %s is using its referenced image %s", ref, ref, c.ID[:12], img.ID[7:19])
				}
			}
		}
		e.removed = append(e.removed, ref)
		e.images[i].RepoTags = slices.Delete(slices.Clone(img.RepoTags), j, j+1)
		res := containers.ImageRemoval{Untagged: []string{ref}}
		if len(e.images[i].RepoTags) == 0 {
			res.Deleted = []string{img.ID, "sha256:" + hex64("f")} // the image and a layer
			e.images = slices.Delete(e.images, i, i+1)
		}
		return res, nil
	}
	return containers.ImageRemoval{}, fmt.Errorf("remove image %s: %w", ref, containers.ErrNoSuchContainer)
}

func (e *pruneEngine) Version(context.Context) (containers.EngineVersion, error) {
	return containers.EngineVersion{Version: "29.0.0", APIVersion: "1.52"}, nil
}

const pruneRepo = "127.0.0.1:5000/monitorfish-app"

var pruneDay = time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)

func pruneImage(c string, day int, size int64, tags ...string) containers.Image {
	return containers.Image{ID: "sha256:" + hex64(c), RepoTags: tags, Created: pruneDay.AddDate(0, 0, day), Size: size}
}

func ctrID(c string) string { return hex64(c) }

// newPruneEngine: the app runs v2; a stopped one-off container (not a
// service) was run from v1; v0 and broken are old; v3 and snapshot are the
// newest. Another repository (nginx) is not the stack's.
func newPruneEngine() *pruneEngine {
	return &pruneEngine{
		recordingEngine: recordingEngine{containers: []containers.Container{
			{ID: ctrID("1"), Name: "remote_app_1", State: "running", Image: pruneRepo + ":v2", ImageID: "sha256:" + hex64("2")},
			{ID: ctrID("7"), Name: "mf_migrate", State: "exited", Image: pruneRepo + ":v1", ImageID: "sha256:" + hex64("1")},
			{ID: ctrID("8"), Name: "some_nginx", State: "exited", Image: "nginx:1", ImageID: "sha256:" + hex64("a")},
		}},
		images: []containers.Image{
			pruneImage("0", 0, 100<<20, pruneRepo+":v0"),
			pruneImage("1", 1, 100<<20, pruneRepo+":v1"),
			pruneImage("b", 2, 50<<20, pruneRepo+":broken"),
			pruneImage("2", 3, 100<<20, pruneRepo+":v2"),
			pruneImage("3", 4, 100<<20, pruneRepo+":v3"),
			pruneImage("5", 5, 100<<20, pruneRepo+":snapshot"),
			pruneImage("a", 0, 10<<20, "nginx:1"),
			pruneImage("c", 1, 10<<20, "nginx:2"),
			pruneImage("d", 2, 10<<20, "nginx:3"),
		},
		errs: map[string]error{},
	}
}

func pruneCatalogue(t *testing.T, yaml string, engine *pruneEngine, tune ...func(*config.Environment)) *Catalogue {
	t.Helper()
	cfg := loadConfig(t, yaml)
	for i := range cfg.Environments {
		for _, f := range tune {
			f(&cfg.Environments[i])
		}
	}
	return catalogueOver(t, cfg, engine)
}

func console(line string, confirmed bool) Request {
	return Request{Line: line, User: "console:ops", Via: ViaConsole, Confirmed: confirmed}
}

// actions maps "repo:tag" to the action column of the prune reply.
func pruneActions(t *testing.T, rep Reply) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, b := range rep.Blocks {
		if tbl, ok := b.(*Table); ok {
			if strings.Join(tbl.Header, " ") != "repository tag size action" {
				t.Fatalf("header %q", tbl.Header)
			}
			for _, row := range tbl.Rows {
				out[row[0]+":"+row[1]] = row[3]
			}
		}
	}
	return out
}

func TestPruneKeepsTheNewestAndWhatContainersUse(t *testing.T) {
	engine := newPruneEngine()
	c := pruneCatalogue(t, oneEnv, engine)
	ctx := context.Background()

	rep := c.Run(ctx, console("prune images", false))
	if rep.Status != StatusPending || rep.Confirm == nil {
		t.Fatalf("prune images: %s, want a confirmation:\n%s", rep.Status, replyText(rep))
	}
	wantPrompt := "Remove 2 image tags of " + pruneRepo + " (broken, v0), keep snapshot, v3 and 2 in use in local?"
	if rep.Confirm.Prompt != wantPrompt {
		t.Errorf("prompt\n  %s\nwant\n  %s", rep.Confirm.Prompt, wantPrompt)
	}
	if rep.Confirm.Command != "local prune images" {
		t.Errorf("confirmed command %q", rep.Confirm.Command)
	}
	if len(engine.removed) != 0 {
		t.Fatalf("removed %v before the confirmation", engine.removed)
	}

	rep = c.Run(ctx, console(rep.Confirm.Command, true))
	if rep.Status != StatusOK {
		t.Fatalf("confirmed prune: %s\n%s", rep.Status, replyText(rep))
	}
	got := pruneActions(t, rep)
	want := map[string]string{
		pruneRepo + ":snapshot": "kept: newest 2",
		pruneRepo + ":v3":       "kept: newest 2",
		pruneRepo + ":v2":       "kept: in use by remote_app_1",
		pruneRepo + ":broken":   "removed",
		pruneRepo + ":v1":       "kept: in use by mf_migrate", // a stopped container
		pruneRepo + ":v0":       "removed",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("actions\n  %v\nwant\n  %v", got, want)
	}
	slices.Sort(engine.removed)
	if fmt.Sprint(engine.removed) != fmt.Sprint([]string{pruneRepo + ":broken", pruneRepo + ":v0"}) {
		t.Errorf("removed %v", engine.removed)
	}
	out := replyText(rep)
	reclaimed := human.Bytes(150 << 20)
	if !strings.Contains(rep.Title, "2 tags removed, "+reclaimed+" reclaimed") || !strings.Contains(out, "Space reclaimed: "+reclaimed) {
		t.Errorf("reclaimed space, want %s:\n%s", reclaimed, out)
	}
	if strings.Contains(out, "nginx") {
		t.Errorf("prune touched a repository that is not the stack's:\n%s", out)
	}

	// Done: nothing left to prune, said without a confirmation.
	rep = c.Run(ctx, console("prune images", false))
	if rep.Status != StatusOK || rep.Confirm != nil || !strings.Contains(replyText(rep), "nothing to prune: "+pruneRepo+" has 4 local tags, all kept (newest 2, 2 in use)") {
		t.Fatalf("second prune: %s %+v\n%s", rep.Status, rep.Confirm, replyText(rep))
	}
}

func TestPruneKeepFlag(t *testing.T) {
	engine := newPruneEngine()
	c := pruneCatalogue(t, oneEnv, engine)
	rep := c.Run(context.Background(), console("prune images --keep 1", false))
	if rep.Status != StatusPending || !strings.Contains(rep.Confirm.Prompt, "Remove 3 image tags of "+pruneRepo+" (v3, broken, v0), keep snapshot and 2 in use") ||
		rep.Confirm.Command != "local prune images --keep=1" {
		t.Fatalf("--keep 1: %s %+v", rep.Status, rep.Confirm)
	}
	rep = c.Run(context.Background(), console("prune images --keep 6", false))
	if rep.Status != StatusOK || rep.Confirm != nil || !strings.Contains(replyText(rep), "nothing to prune") {
		t.Fatalf("--keep 6: %s %+v\n%s", rep.Status, rep.Confirm, replyText(rep))
	}
	for _, line := range []string{"prune images --keep 0", "prune images --keep 21", "prune images --keep x", "prune images app"} {
		if rep := c.Run(context.Background(), console(line, true)); rep.Status != StatusUsage {
			t.Errorf("%s: %s, want usage:\n%s", line, rep.Status, replyText(rep))
		}
	}
	if rep := c.Run(context.Background(), console("prune", true)); rep.Status != StatusUsage || !strings.Contains(replyText(rep), "prune images [--keep N]") {
		t.Errorf("prune: %s\n%s", rep.Status, replyText(rep))
	}
	if len(engine.removed) != 0 {
		t.Fatalf("removed %v", engine.removed)
	}
}

func TestPruneReplansAtTheConfirmationAndTakesTheEnginesRefusalAsKept(t *testing.T) {
	engine := newPruneEngine()
	c := pruneCatalogue(t, oneEnv, engine)
	ctx := context.Background()
	rep := c.Run(ctx, console("prune images", false))
	if rep.Status != StatusPending {
		t.Fatalf("%s\n%s", rep.Status, replyText(rep))
	}
	// Between the question and the click, someone runs broken.
	engine.containers = append(engine.containers, containers.Container{ID: ctrID("9"), Name: "tryout", State: "running", Image: pruneRepo + ":broken", ImageID: "sha256:" + hex64("b")})
	// And the engine refuses v0 (a container the list did not show yet).
	engine.errs[pruneRepo+":v0"] = fmt.Errorf("remove image %s: Error response from daemon: conflict: unable to remove repository reference %q (must force) - container %s is using its referenced image %s",
		pruneRepo+":v0", pruneRepo+":v0", ctrID("9")[:12], hex64("0")[:12])
	rep = c.Run(ctx, console(rep.Confirm.Command, true))
	got := pruneActions(t, rep)
	if rep.Status != StatusOK || got[pruneRepo+":broken"] != "kept: in use by tryout" || got[pruneRepo+":v0"] != "kept: in use by tryout" {
		t.Fatalf("%s %v\n%s", rep.Status, got, replyText(rep))
	}
	if len(engine.removed) != 0 || !strings.Contains(rep.Title, "0 tags removed, 0B reclaimed") {
		t.Fatalf("removed %v, title %q", engine.removed, rep.Title)
	}
}

func TestPruneReportsFailures(t *testing.T) {
	engine := newPruneEngine()
	engine.errs[pruneRepo+":broken"] = errors.New("remove image: Error response from daemon: driver failed: device busy")
	c := pruneCatalogue(t, oneEnv, engine)
	rep := c.Run(context.Background(), console("prune images", true))
	got := pruneActions(t, rep)
	out := replyText(rep)
	if rep.Status != StatusFailed || got[pruneRepo+":broken"] != "failed" || got[pruneRepo+":v0"] != "removed" ||
		!strings.Contains(out, pruneRepo+":broken: remove image: Error response from daemon: driver failed: device busy") ||
		!strings.Contains(rep.Title, "1 tag could not be removed (1 removed, "+human.Bytes(100<<20)+" reclaimed)") {
		t.Fatalf("%s %v\n%s", rep.Status, got, out)
	}
}

// Untagging a tag whose image keeps another tag reclaims nothing; a tag a
// container was created from is kept even once it names another image;
// a container pinned to an image ID (a roll back) counts through the
// image's tags.
func TestPruneReclaimsOnlyDeletedImagesAndKeepsCreatedFromTags(t *testing.T) {
	engine := &pruneEngine{
		recordingEngine: recordingEngine{containers: []containers.Container{
			// Pinned to the ID of v5 by a roll back.
			{ID: ctrID("1"), Name: "remote_app_1", State: "running", Image: "sha256:" + hex64("5"), ImageID: "sha256:" + hex64("5")},
			// Created from :nightly, which now names another image: the
			// list shows its image ID.
			{ID: ctrID("2"), Name: "nightly_job", State: "exited", Image: "sha256:" + hex64("e"), ImageID: "sha256:" + hex64("e")},
		}},
		refs: map[string]string{ctrID("1"): "sha256:" + hex64("5"), ctrID("2"): pruneRepo + ":nightly"},
		images: []containers.Image{
			pruneImage("1", 1, 100<<20, pruneRepo+":v1", pruneRepo+":old"), // two tags: untagging one reclaims nothing
			pruneImage("4", 2, 70<<20, pruneRepo+":nightly"),
			pruneImage("5", 5, 100<<20, pruneRepo+":v5"),
			pruneImage("6", 6, 100<<20, pruneRepo+":v6"),
			pruneImage("7", 7, 100<<20, pruneRepo+":v7"),
		},
		errs: map[string]error{},
	}
	c := pruneCatalogue(t, oneEnv, engine)
	ctx := context.Background()
	rep := c.Run(ctx, console("prune images --keep 1", false))
	if rep.Status != StatusPending || !strings.Contains(rep.Confirm.Prompt, "Remove 3 image tags of "+pruneRepo+" (v6, v1, old), keep v7 and 2 in use in local?") {
		t.Fatalf("%s %+v\n%s", rep.Status, rep.Confirm, replyText(rep))
	}
	rep = c.Run(ctx, console("prune images --keep 1", true))
	got := pruneActions(t, rep)
	if got[pruneRepo+":nightly"] != "kept: in use by nightly_job" || got[pruneRepo+":v5"] != "kept: in use by remote_app_1" || got[pruneRepo+":v1"] != "removed" {
		t.Fatalf("%v\n%s", got, replyText(rep))
	}
	// v6 (100 MiB) and the image of v1 and old (100 MiB, once) are deleted.
	if want := human.Bytes(200 << 20); !strings.Contains(rep.Title, "3 tags removed, "+want+" reclaimed") {
		t.Fatalf("title %q, want %s reclaimed", rep.Title, want)
	}
}

func TestPruneWithNothingToPrune(t *testing.T) {
	engine := newPruneEngine()
	engine.images = engine.images[3:] // v2 (in use), v3, snapshot, nginx
	c := pruneCatalogue(t, oneEnv, engine)
	rep := c.Run(context.Background(), console("prune images", false))
	out := replyText(rep)
	if rep.Status != StatusOK || rep.Confirm != nil || !strings.Contains(out, "nothing to prune: "+pruneRepo+" has 3 local tags, all kept (newest 2, 1 in use)") {
		t.Fatalf("%s %+v\n%s", rep.Status, rep.Confirm, out)
	}
	// A configured image of its own, with no local tag.
	c = pruneCatalogue(t, "environments:\n  local:\n    services:\n      app:\n        image: registry.example/other:v1\n", engine)
	out = replyText(c.Run(context.Background(), console("prune images", false)))
	if !strings.Contains(out, "registry.example/other has no local tag") {
		t.Fatalf("configured image:\n%s", out)
	}
}

func TestPruneIsForOperators(t *testing.T) {
	engine := newPruneEngine()
	c := pruneCatalogue(t, rolesYAML, engine)
	rep := c.Run(context.Background(), slack("prod prune images", "UVIEW", "COPS"))
	if rep.Status != StatusDenied || !strings.Contains(replyText(rep), "operator role in prod") {
		t.Fatalf("viewer: %s\n%s", rep.Status, replyText(rep))
	}
	rep = c.Run(context.Background(), Request{Line: "prod prune images", User: "UVIEW", Channel: "COPS", Via: ViaHTTP, Confirmed: true})
	if rep.Status != StatusDenied {
		t.Fatalf("viewer, confirmed: %s", rep.Status)
	}
	if rep := c.Run(context.Background(), slack("prod prune images", "UOPS", "COPS")); rep.Status != StatusPending {
		t.Fatalf("operator: %s\n%s", rep.Status, replyText(rep))
	}
	if len(engine.removed) != 0 {
		t.Fatalf("removed %v", engine.removed)
	}
}

// The pipeline image deploys use (deploy.flows.image) is the stack's too.
func TestPruneCoversThePipelineImage(t *testing.T) {
	const pipelineRepo = "127.0.0.1:5000/monitorfish-pipeline"
	engine := newPruneEngine()
	engine.images = append(engine.images[3:], // nothing to prune of the app
		pruneImage("e", 1, 30<<20, pipelineRepo+":v1"),
		pruneImage("f", 2, 30<<20, pipelineRepo+":v2"),
		pruneImage("9", 3, 30<<20, pipelineRepo+":v3"))
	if rep := pruneCatalogue(t, oneEnv, engine).Run(context.Background(), console("prune images", false)); rep.Confirm != nil {
		t.Fatalf("without deploy.flows the pipeline repository is not the stack's: %+v", rep.Confirm)
	}
	c := pruneCatalogue(t, oneEnv, engine, func(e *config.Environment) { e.Deploy.Flows = &config.DeployFlows{Image: pipelineRepo} })
	rep := c.Run(context.Background(), console("prune images", false))
	if rep.Status != StatusPending || !strings.Contains(rep.Confirm.Prompt, "Remove 1 image tag of "+pipelineRepo+" (v1), keep v3, v2 in local?") {
		t.Fatalf("%s %+v\n%s", rep.Status, rep.Confirm, replyText(rep))
	}
}
