package commands_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"mfbot/adapters/store"
	. "mfbot/commands"
	"mfbot/containers"
	"mfbot/freshness"
	"mfbot/release"
	. "mfbot/reply"
)

// releaseEngine models an engine on which each app tag behaves as a
// release does: "good" tags get healthy, "crash" ones restart, "sick"
// ones stay unhealthy; a tag not in the registry cannot be pulled.
type releaseEngine struct {
	containers.Engine // unimplemented methods panic: a test calling one is wrong
	mu                sync.Mutex
	registry          map[string]string // tag → behaviour (good, crash, sick)
	pulled            map[string]bool
	app               containers.Container
	log               []string
}

const appRepo = "registry.example.fr/monitorfish-app"

func newReleaseEngine() *releaseEngine {
	return &releaseEngine{
		registry: map[string]string{"v1": "good", "v2": "good", "v3": "crash", "v4": "sick", "v5": "nostart"},
		pulled:   map[string]bool{"v1": true},
		app:      containers.Container{ID: "app-v1", Name: "remote_app_1", Image: appRepo + ":v1", ImageID: "sha256:v1", State: "running", Health: "healthy"},
	}
}

func (e *releaseEngine) record(s string) {
	e.log = append(e.log, s)
}

func (e *releaseEngine) Containers(context.Context) ([]containers.Container, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return []containers.Container{e.app}, nil
}

func (e *releaseEngine) Inspect(_ context.Context, id string) (containers.ContainerDetails, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if id != e.app.ID && id != e.app.Name {
		return containers.ContainerDetails{}, fmt.Errorf("%w: %s", containers.ErrNoSuchContainer, id)
	}
	d := containers.ContainerDetails{Container: e.app, StartedAt: time.Now().Add(-time.Minute)}
	switch e.registry[strings.TrimPrefix(e.app.ImageID, "sha256:")] {
	case "crash":
		d.State, d.RestartCount, d.ExitCode = "restarting", 2, 1
	case "sick":
		d.Health = "unhealthy"
		d.HealthLog = []containers.HealthCheck{{ExitCode: 1, Output: "GET /api/v1/healthcheck?token=s3cr3t: 503"}}
	}
	return d, nil
}

func (e *releaseEngine) Image(_ context.Context, ref string) (containers.Image, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	tag := strings.TrimPrefix(ref, "sha256:")
	if i := strings.LastIndex(ref, ":"); strings.HasPrefix(ref, appRepo) {
		tag = ref[i+1:]
	}
	if !e.pulled[tag] {
		return containers.Image{}, errors.New("no such image " + ref)
	}
	return containers.Image{ID: "sha256:" + tag, RepoTags: []string{appRepo + ":" + tag}, RepoDigests: []string{appRepo + "@sha256:d" + tag}}, nil
}

func (e *releaseEngine) Pull(_ context.Context, ref string, opts containers.PullOptions) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	tag := ref[strings.LastIndex(ref, ":")+1:]
	e.record("pull " + tag)
	if _, ok := e.registry[tag]; !ok {
		return "", errors.New("manifest for " + ref + " not found")
	}
	if opts.Progress != nil {
		opts.Progress(containers.PullProgress{Done: 5e6, Total: 10e6, Layers: 2, Pulled: 1})
	}
	e.pulled[tag] = true
	return "sha256:" + tag, nil
}

func (e *releaseEngine) Recreate(_ context.Context, id string, o containers.RecreateOptions) (containers.RecreateResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	tag := strings.TrimPrefix(o.Image, "sha256:")
	if i := strings.LastIndex(o.Image, ":"); strings.HasPrefix(o.Image, appRepo) {
		tag = o.Image[i+1:]
	}
	e.record("recreate " + tag)
	if e.registry[tag] == "nostart" {
		// As the adapter does: the new container could not start, the old one is back.
		return containers.RecreateResult{OldID: e.app.ID, OldImageID: e.app.ImageID}, errors.New("start the new remote_app_1: exec format error")
	}
	res := containers.RecreateResult{OldID: e.app.ID, OldImageID: e.app.ImageID, OldDigest: "sha256:d" + strings.TrimPrefix(e.app.ImageID, "sha256:"),
		NewID: "app-" + tag, NewImageID: "sha256:" + tag, NewDigest: "sha256:d" + tag}
	e.app.ID, e.app.Image, e.app.ImageID = res.NewID, o.Image, res.NewImageID
	return res, nil
}

func (e *releaseEngine) runs() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.app.ImageID
}

// versionProbe answers /version with the version of the image the app runs.
type versionProbe struct{ engine *releaseEngine }

func (p versionProbe) Version(context.Context) (map[string]string, error) {
	return map[string]string{"version": strings.TrimPrefix(p.engine.runs(), "sha256:v") + ".0.0"}, nil
}

func (p versionProbe) Healthcheck(context.Context) (freshness.Facts, error) {
	return freshness.Facts{}, errors.New("not used")
}

// stepsSeen records the progress of a command.
type stepsSeen struct {
	mu    sync.Mutex
	steps []Progress
}

func (s *stepsSeen) Step(p Progress) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.steps = append(s.steps, p)
}

func (s *stepsSeen) Output(string) {}

func (s *stepsSeen) names() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, p := range s.steps {
		if len(out) == 0 || out[len(out)-1] != p.Step {
			out = append(out, p.Step)
		}
	}
	return strings.Join(out, " | ")
}

func deployCatalogue(t *testing.T) (*Catalogue, *releaseEngine, *store.Store) {
	t.Helper()
	cfg := loadConfig(t, "operators: [UOPS]\nenvironments:\n  prod:\n    app_url: http://app:8880\n    deploy:\n      healthy_timeout: 5s\n"+
		"    services:\n      app:\n        image: "+appRepo+":v1\n")
	st, err := store.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	engine := newReleaseEngine()
	env := &Environment{Config: cfg.Environments[0], Docker: engine, App: versionProbe{engine}}
	c, err := New(cfg, []*Environment{env}, Options{Releases: st, Audit: st})
	if err != nil {
		t.Fatal(err)
	}
	return c, engine, st
}

func deployRun(c *Catalogue, line string, steps Steps) Reply {
	return c.Run(context.Background(), Request{Line: line, User: "UOPS", Via: ViaConsole, Confirmed: true, Progress: steps})
}

func TestDeployGoodTagIsVerifiedAndRecorded(t *testing.T) {
	c, engine, st := deployCatalogue(t)
	var steps stepsSeen
	rep := deployRun(c, "deploy v2", &steps)
	if rep.Status != StatusOK || !strings.Contains(rep.Title, "Deployed v2 to app in prod") || !strings.Contains(replyText(rep), "/version 2.0.0") {
		t.Fatalf("%s\n%s", rep.Status, replyText(rep))
	}
	if engine.runs() != "sha256:v2" {
		t.Fatalf("the app runs %s", engine.runs())
	}
	if got, want := steps.names(), "pulling "+appRepo+":v2 | recreating remote_app_1 | checking /version"; !strings.HasPrefix(got, "pulling") || !strings.Contains(got, "recreating") || !strings.Contains(got, "checking /version") {
		t.Errorf("steps %q, want like %q", got, want)
	}
	d, ok, err := st.LastDeploy(context.Background(), "prod", release.App)
	if err != nil || !ok || d.Version != "v2" || d.Previous != "v1" || d.Outcome != release.Deployed || d.ImageID != "sha256:v2" || d.By != "UOPS" {
		t.Errorf("recorded %+v %v %v", d, ok, err)
	}
}

func TestDeployBrokenTagsRollBack(t *testing.T) {
	for tag, why := range map[string]string{"v3": "crashed and restarts", "v4": "unhealthy"} {
		t.Run(tag, func(t *testing.T) {
			c, engine, st := deployCatalogue(t)
			rep := deployRun(c, "deploy "+tag, nil)
			text := replyText(rep)
			if rep.Status != StatusFailed || !strings.Contains(rep.Title, "app rolled back") || !strings.Contains(text, why) || !strings.Contains(text, "Rolled back on its own") {
				t.Fatalf("%s\n%s", rep.Status, text)
			}
			if engine.runs() != "sha256:v1" {
				t.Fatalf("after the roll back the app runs %s, want v1", engine.runs())
			}
			if got := strings.Join(engine.log, ", "); got != "pull "+tag+", recreate "+tag+", recreate v1" {
				t.Errorf("engine calls: %s", got)
			}
			d, ok, _ := st.LastDeploy(context.Background(), "prod", release.App)
			if !ok || d.Outcome != release.RolledBack || d.ImageID != "sha256:v1" {
				t.Errorf("recorded %+v", d)
			}
		})
	}
}

func TestDeployThatCannotStartKeepsThePreviousContainer(t *testing.T) {
	c, engine, st := deployCatalogue(t)
	rep := deployRun(c, "deploy v5", nil)
	text := replyText(rep)
	if rep.Status != StatusFailed || !strings.Contains(text, "exec format error") || !strings.Contains(text, "previous container was put back: app runs v1") {
		t.Fatalf("%s\n%s", rep.Status, text)
	}
	if engine.runs() != "sha256:v1" {
		t.Fatalf("the app runs %s", engine.runs())
	}
	if d, ok, _ := st.LastDeploy(context.Background(), "prod", release.App); !ok || d.Outcome != release.RolledBack || d.Version != "v5" {
		t.Errorf("recorded %+v", d)
	}
}

func TestDeployUnknownTagChangesNothing(t *testing.T) {
	c, engine, _ := deployCatalogue(t)
	rep := deployRun(c, "deploy v9", nil)
	if rep.Status != StatusFailed || !strings.Contains(replyText(rep), "Nothing was changed: app still runs v1") {
		t.Fatalf("%s\n%s", rep.Status, replyText(rep))
	}
	if got := strings.Join(engine.log, ", "); got != "pull v9" {
		t.Errorf("engine calls: %s", got)
	}
}

func TestDeployRefusedWhileAnotherRuns(t *testing.T) {
	c, engine, st := deployCatalogue(t)
	now := time.Now()
	held := release.Holder{Env: "prod", Token: "other", By: "UOTHER", Command: "deploy v2 app", Since: now.Add(-time.Minute), Until: now.Add(time.Hour)}
	if _, ok, err := st.AcquireDeploy(context.Background(), held, now); err != nil || !ok {
		t.Fatal(ok, err)
	}
	// Asked: refused before any confirmation.
	rep := c.Run(context.Background(), Request{Line: "deploy v2", User: "UOPS", Via: ViaSocket})
	if rep.Confirm != nil || !strings.Contains(rep.Title, "already running") || !strings.Contains(replyText(rep), "deploy v2 app` by <@UOTHER>") {
		t.Errorf("asked while held: %s %q\n%s", rep.Status, rep.Title, replyText(rep))
	}
	// Confirmed just before the other took the lock: refused too.
	rep = deployRun(c, "deploy v2", nil)
	if rep.Status != StatusFailed || !strings.Contains(rep.Title, "already running") {
		t.Errorf("confirmed while held: %s %q", rep.Status, rep.Title)
	}
	if len(engine.log) != 0 {
		t.Errorf("the engine was used: %v", engine.log)
	}
	if err := st.ReleaseDeploy(context.Background(), "prod", "other"); err != nil {
		t.Fatal(err)
	}
	if rep := deployRun(c, "deploy v2", nil); rep.Status != StatusOK {
		t.Errorf("after release: %s\n%s", rep.Status, replyText(rep))
	}
}

func TestDeployBadInput(t *testing.T) {
	c, engine, _ := deployCatalogue(t)
	for line, want := range map[string]string{
		"deploy":                  "deploy takes a version",
		"deploy v1 v2 v3":         "deploy takes a version",
		"deploy 'v1;rm -rf'":      "is not an image tag",
		"deploy v2 database":      "say app, pipeline or all",
		"deploy v2 pipeline":      "needs deploy.flows",
		"deploy ../../etc:latest": "is not an image tag",
	} {
		rep := c.Run(context.Background(), Request{Line: line, User: "UOPS", Via: ViaConsole})
		if rep.Status != StatusUsage || !strings.Contains(replyText(rep), want) {
			t.Errorf("%q: %s %q, want usage with %q", line, rep.Status, replyText(rep), want)
		}
	}
	rep := c.Run(context.Background(), Request{Line: "deploy v2", User: "UVIEWER", Via: ViaSocket})
	if rep.Status != StatusDenied {
		t.Errorf("a viewer's deploy: %s", rep.Status)
	}
	if len(engine.log) != 0 {
		t.Errorf("the engine was used: %v", engine.log)
	}
}
