package commands_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "mfbot/commands"
	"mfbot/config"
	"mfbot/containers"
	"mfbot/pipeline"
	"mfbot/release"
)

// driftReleases is a release.Store that knows the last deploys, by
// "env/target".
type driftReleases struct {
	last map[string]release.Deploy
	err  error
}

func (r *driftReleases) AcquireDeploy(_ context.Context, h release.Holder, _ time.Time) (release.Holder, bool, error) {
	return h, true, nil
}

func (r *driftReleases) ReleaseDeploy(context.Context, string, string) error { return nil }

func (r *driftReleases) DeployHolder(context.Context, string, time.Time) (release.Holder, bool, error) {
	return release.Holder{}, false, nil
}

func (r *driftReleases) RecordDeploy(_ context.Context, d release.Deploy) (release.Deploy, error) {
	return d, errors.New("not in drift tests")
}

func (r *driftReleases) LastDeploy(_ context.Context, env, target string) (release.Deploy, bool, error) {
	if r.err != nil {
		return release.Deploy{}, false, r.err
	}
	d, ok := r.last[env+"/"+target]
	return d, ok, nil
}

var driftAt = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// The app runs v2 (runningImg), created from testRepo:v2.
var driftRunning = func() containers.Image {
	img := runningImg
	img.RepoTags = []string{testRepo + ":v2"}
	return img
}()

func appDeploy(version string, img containers.Image) release.Deploy {
	return release.Deploy{Env: "local", Target: release.App, Version: version, Image: testRepo + ":" + version,
		ImageID: img.ID, Outcome: release.Deployed, By: "UOPS", At: driftAt}
}

type driftSetup struct {
	releases release.Store // nil: no store
	prefect  pipeline.API
	tune     func(*config.Environment)
}

func driftCatalogue(t *testing.T, s driftSetup) *Catalogue {
	t.Helper()
	cfg := loadConfig(t, oneEnv)
	if s.tune != nil {
		s.tune(&cfg.Environments[0])
	}
	ref := testRepo + ":v2"
	engine := &imageEngine{
		recordingEngine: recordingEngine{containers: []containers.Container{
			{ID: "a1", Name: "remote_app_1", State: "running", Health: "healthy", Image: ref, ImageID: driftRunning.ID},
		}},
		refs:   map[string]string{"a1": ref},
		images: map[string]containers.Image{ref: driftRunning, driftRunning.ID: driftRunning},
	}
	env := &Environment{Config: cfg.Environments[0], Docker: engine}
	if s.prefect != nil {
		env.Pipeline = s.prefect
	}
	c, err := New(cfg, []*Environment{env}, Options{Releases: s.releases})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// statusAndVersion are the texts of `status` and `version`.
func statusAndVersion(t *testing.T, c *Catalogue) (string, string) {
	t.Helper()
	_, status := runLine(t, c, "status")
	_, version := runLine(t, c, "version")
	return status, version
}

func wantBoth(t *testing.T, status, version string, want string) {
	t.Helper()
	if !strings.Contains(status, want) {
		t.Errorf("status lacks\n  %s\nin:\n%s", want, status)
	}
	if !strings.Contains(version, want) {
		t.Errorf("version lacks\n  %s\nin:\n%s", want, version)
	}
}

func wantNeither(t *testing.T, status, version string, no string) {
	t.Helper()
	if strings.Contains(status, no) || strings.Contains(version, no) {
		t.Errorf("%q shown:\nstatus:\n%s\nversion:\n%s", no, status, version)
	}
}

func TestDriftOfTheApp(t *testing.T) {
	// mfbot deployed v3 (newerImg); v2 runs: changed outside mfbot.
	releases := &driftReleases{last: map[string]release.Deploy{"local/app": appDeploy("v3", newerImg)}}
	status, version := statusAndVersion(t, driftCatalogue(t, driftSetup{releases: releases}))
	wantBoth(t, status, version, "drift: app runs v2 (sha256:aaaaaaaaaaaa), mfbot last deployed v3 on 2026-12-01 10:00 UTC by UOPS — changed outside mfbot")

	// `version app` says it; `version db` does not.
	c := driftCatalogue(t, driftSetup{releases: releases})
	if _, out := runLine(t, c, "version app"); !strings.Contains(out, "drift: app runs v2") {
		t.Errorf("version app:\n%s", out)
	}
	if _, out := runLine(t, c, "version db"); strings.Contains(out, "drift") {
		t.Errorf("version db:\n%s", out)
	}

	// Without the image ID, the tags are compared.
	d := appDeploy("v3", newerImg)
	d.ImageID = ""
	releases.last["local/app"] = d
	status, version = statusAndVersion(t, driftCatalogue(t, driftSetup{releases: releases}))
	wantBoth(t, status, version, "drift: app runs v2 (sha256:aaaaaaaaaaaa), mfbot last deployed v3")

	// A rolled back deploy left the previous version: that is what runs.
	releases.last["local/app"] = release.Deploy{Env: "local", Target: release.App, Version: "v3", Previous: "v2", Image: testRepo + ":v2",
		ImageID: driftRunning.ID, Outcome: release.RolledBack, By: "UOPS", At: driftAt}
	status, version = statusAndVersion(t, driftCatalogue(t, driftSetup{releases: releases}))
	wantNeither(t, status, version, "drift")

	// A rolled back deploy whose previous image is gone since.
	releases.last["local/app"] = release.Deploy{Env: "local", Target: release.App, Version: "v3", Previous: "v1", Image: testRepo + ":v1",
		ImageID: "sha256:" + hex64("c"), Outcome: release.RolledBack, By: "UOPS", At: driftAt}
	status, version = statusAndVersion(t, driftCatalogue(t, driftSetup{releases: releases}))
	wantBoth(t, status, version, "mfbot last deployed v3 (rolled back to v1) on 2026-12-01 10:00 UTC by UOPS — changed outside mfbot")
}

func TestNoDriftNoNoise(t *testing.T) {
	for name, s := range map[string]driftSetup{
		"what mfbot deployed runs": {releases: &driftReleases{last: map[string]release.Deploy{"local/app": appDeploy("v2", driftRunning)}}},
		"same tag, no image ID": {releases: &driftReleases{last: map[string]release.Deploy{"local/app": func() release.Deploy {
			d := appDeploy("v2", driftRunning)
			d.ImageID = ""
			return d
		}()}}},
		"no deploy yet": {releases: &driftReleases{}},
		"no store":      {},
		"no store, pipeline deployed elsewhere": {prefect: func() pipeline.API {
			p := newStubPrefect()
			p.flows[0].Version = "v1"
			return p
		}()},
	} {
		t.Run(name, func(t *testing.T) {
			status, version := statusAndVersion(t, driftCatalogue(t, s))
			wantNeither(t, status, version, "drift")
		})
	}
}

func TestDriftWhenTheStoreFails(t *testing.T) {
	releases := &driftReleases{err: errors.New("database is locked")}
	status, version := statusAndVersion(t, driftCatalogue(t, driftSetup{releases: releases}))
	wantBoth(t, status, version, "drift of app unknown: the last deploy cannot be read (database is locked)")
}

func writeVersionFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), ".monitorfish")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func withVersionFile(path, variable string) func(*config.Environment) {
	return func(e *config.Environment) { e.VersionFile, e.VersionVariable = path, variable }
}

func TestVersionFileDrift(t *testing.T) {
	other := writeVersionFile(t, "# MonitorFish\nexport MONITORFISH_VERSION=\"v1\"\nexport OTHER=x\n")
	status, version := statusAndVersion(t, driftCatalogue(t, driftSetup{tune: withVersionFile(other, "")}))
	wantBoth(t, status, version, other+" names v1 while v2 runs: a `make restart-remote-app` would revert to v1")

	// The same version, a leading v aside; single quotes, a comment.
	for _, content := range []string{
		"MONITORFISH_VERSION=v2\n",
		"MONITORFISH_VERSION='2' # deployed 2026-12-01\n",
		"MONITORFISH_VERSION=v1\nMONITORFISH_VERSION=v2\n", // the last one wins, as in a shell
	} {
		same := writeVersionFile(t, content)
		status, version = statusAndVersion(t, driftCatalogue(t, driftSetup{tune: withVersionFile(same, "")}))
		wantNeither(t, status, version, "names")
		wantNeither(t, status, version, "version_file")
	}

	// Another variable.
	custom := writeVersionFile(t, "MONITORFISH_VERSION=v2\nAPP_VERSION=v7\n")
	status, version = statusAndVersion(t, driftCatalogue(t, driftSetup{tune: withVersionFile(custom, "APP_VERSION")}))
	wantBoth(t, status, version, custom+" names v7 while v2 runs")

	// The variable is not set.
	unset := writeVersionFile(t, "OTHER=1\n")
	status, version = statusAndVersion(t, driftCatalogue(t, driftSetup{tune: withVersionFile(unset, "")}))
	wantBoth(t, status, version, "version_file "+unset+" does not set MONITORFISH_VERSION")
}

func TestVersionFileThatCannotBeRead(t *testing.T) {
	dir := t.TempDir()
	big := writeVersionFile(t, "MONITORFISH_VERSION=v1\n"+strings.Repeat("# padding\n", 7000))
	for path, want := range map[string]string{
		filepath.Join(dir, "missing"): "version_file " + filepath.Join(dir, "missing") + " cannot be read: no such file or directory",
		dir:                           "version_file " + dir + " cannot be read: not a regular file",
		big:                           "version_file " + big + " cannot be read: larger than 64.0KiB",
	} {
		// Never a failure of the command: runLine wants OK replies.
		status, version := statusAndVersion(t, driftCatalogue(t, driftSetup{tune: withVersionFile(path, "")}))
		wantBoth(t, status, version, want)
	}
}

func TestPipelineDrift(t *testing.T) {
	prefect := newStubPrefect()
	for i := range prefect.flows {
		prefect.flows[i].Version = "v2"
	}
	prefect.flows[0].Version, prefect.flows[1].Version, prefect.flows[2].Version = "v1", "v1", "v1"
	prefect.flows[3].Version = "1.9"
	prefect.flows[4].Version = ""  // unknown: not drift
	prefect.flows[5].Version = "2" // a leading v aside: the same
	releases := &driftReleases{last: map[string]release.Deploy{"local/pipeline": {Env: "local", Target: release.Pipeline, Version: "v2",
		Outcome: release.Deployed, By: "UOPS", At: driftAt}}}
	c := driftCatalogue(t, driftSetup{releases: releases, prefect: prefect})
	status, version := statusAndVersion(t, c)
	wantBoth(t, status, version, "drift: 3 deployments carry v1, 1 carries 1.9, mfbot deployed v2")
	if _, out := runLine(t, c, "version app"); strings.Contains(out, "deployments carry") {
		t.Errorf("version app shows the pipeline's drift:\n%s", out)
	}
	if _, out := runLine(t, c, "version pipeline-flows"); !strings.Contains(out, "drift: 3 deployments carry v1") {
		t.Errorf("version pipeline-flows lacks the pipeline's drift:\n%s", out)
	}

	// The image of the job variables, when the version is unknown.
	for i := range prefect.flows {
		prefect.flows[i].Version = "v2"
	}
	prefect.flows[2].Version, prefect.flows[2].Image = "", "127.0.0.1:5000/monitorfish-pipeline:v1"
	status, version = statusAndVersion(t, c)
	wantBoth(t, status, version, "drift: 1 deployment carries v1, mfbot deployed v2")

	// All on v2: nothing.
	prefect.flows[2].Image = "127.0.0.1:5000/monitorfish-pipeline:v2"
	status, version = statusAndVersion(t, c)
	wantNeither(t, status, version, "drift")

	// Prefect down: status says so elsewhere, no drift guessed.
	prefect.flows[0].Version = "v1"
	prefect.err = errors.New("Prefect does not answer")
	status, version = statusAndVersion(t, c)
	wantNeither(t, status, version, "drift")
}
