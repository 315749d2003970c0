package commands

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"mfbot/containers"
	"mfbot/human"
	"mfbot/pipeline"
	"mfbot/release"
)

// Drift: what runs was changed outside mfbot. mfbot remembers what each
// deploy left running (release.Store.LastDeploy); `status` and `version`
// compare it with what runs now, and with the version file the runbook's
// `make restart-remote-app` reads (MonitorFish's ~/.monitorfish). Nothing
// is said when all agree, nor when mfbot deployed nothing: no noise.

const (
	// versionFileMaxBytes bounds what is read of the version file.
	versionFileMaxBytes = 64 << 10
	// defaultVersionVariable is the variable of the version file that
	// names the version, when version_variable is not configured.
	defaultVersionVariable = "MONITORFISH_VERSION"
	// driftStoreTimeout bounds the read of the last deploys.
	driftStoreTimeout = 2 * time.Second
)

// appRunning is what drift needs of the app's container.
type appRunning struct {
	present bool   // the app has a container
	ref     string // the reference it was created from
	imageID string
	image   *containers.Image // the running image; nil: not described yet
}

// driftCheck gathers the drift of one environment; the pipeline part
// (the store, then Prefect) runs while the command reads the engine.
type driftCheck struct {
	c        *Catalogue
	call     *call
	app      bool
	pipeline chan []string // nil: not checked
}

// startDrift begins the drift check of call's environment: app (the app
// container and the version file) and pipeline (Prefect's deployments).
func (c *Catalogue) startDrift(ctx context.Context, call *call, app, pipe bool) *driftCheck {
	d := &driftCheck{c: c, call: call, app: app}
	if pipe && c.releases != nil && call.env.Pipeline != nil {
		d.pipeline = make(chan []string, 1)
		go func() { d.pipeline <- c.pipelineDrift(ctx, call) }()
	}
	return d
}

// notes are the drift lines, app first, once the app's container is known.
func (d *driftCheck) notes(ctx context.Context, app appRunning) []string {
	var notes []string
	if d.app {
		notes = append(notes, d.c.appDrift(ctx, d.call, &app)...)
		notes = append(notes, d.c.versionFileDrift(ctx, d.call, &app)...)
	}
	if d.pipeline != nil {
		notes = append(notes, <-d.pipeline...)
	}
	return notes
}

// appRunningOf finds the app service's container among services.
func appRunningOf(services []stackService, details []containers.ContainerDetails) appRunning {
	for i, s := range services {
		if s.Service.Name != "app" || s.Container == nil {
			continue
		}
		a := appRunning{present: true, ref: containerReference(details[i], *s.Container), imageID: details[i].ImageID}
		if a.imageID == "" {
			a.imageID = s.Container.ImageID
		}
		return a
	}
	return appRunning{}
}

// describe reads the running image once, when a note needs its tags.
func (a *appRunning) describe(ctx context.Context, engine containers.Engine) *containers.Image {
	if a.image == nil && a.imageID != "" {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if img, err := engine.Image(ctx, a.imageID); err == nil {
			a.image = &img
		}
	}
	return a.image
}

// runningTags are the tags under which the app's image is known: the one
// it was created from first, then its image's tags in the same
// repository (any repository when the container is pinned to an ID).
func (a *appRunning) runningTags(ctx context.Context, engine containers.Engine) []string {
	var tags []string
	repo := ""
	if isTagRef(a.ref) {
		tags = append(tags, imageTag(a.ref))
		repo = normalizeRepository(imageRepository(a.ref))
	}
	if img := a.describe(ctx, engine); img != nil {
		for _, rt := range img.RepoTags {
			if isTagRef(rt) && (repo == "" || normalizeRepository(imageRepository(rt)) == repo) && !slices.Contains(tags, imageTag(rt)) {
				tags = append(tags, imageTag(rt))
			}
		}
	}
	return tags
}

// driftLastDeploy reads what mfbot last left running; a store error is a note.
func (c *Catalogue) driftLastDeploy(ctx context.Context, env, target string) (release.Deploy, bool, []string) {
	ctx, cancel := context.WithTimeout(ctx, driftStoreTimeout)
	defer cancel()
	d, ok, err := c.releases.LastDeploy(ctx, env, target)
	if err != nil {
		c.log.Warn("read the last deploy", "env", env, "target", target, "err", err)
		return d, false, []string{fmt.Sprintf("drift of %s unknown: the last deploy cannot be read (%s)", target, cut(oneLine(err.Error()), 200))}
	}
	return d, ok, nil
}

// driftLeftVersion is the version a deploy left running: the one asked for,
// or the previous one when it was rolled back.
func driftLeftVersion(d release.Deploy) string {
	if d.Outcome == release.RolledBack {
		if isTagRef(d.Image) {
			return imageTag(d.Image)
		}
		return d.Previous
	}
	return d.Version
}

// driftDeployed is "v2 on 2026-12-01 10:00 UTC by U123", with the roll
// back said.
func driftDeployed(d release.Deploy) string {
	what := d.Version
	if d.Outcome == release.RolledBack {
		what += " (rolled back to " + cmp.Or(driftLeftVersion(d), "the previous version") + ")"
	}
	if !d.At.IsZero() {
		what += " on " + d.At.UTC().Format("2006-01-02 15:04 UTC")
	}
	if d.By != "" {
		what += " by " + d.By
	}
	return what
}

// appDrift compares the app's running image with the last app deploy.
func (c *Catalogue) appDrift(ctx context.Context, call *call, app *appRunning) []string {
	if c.releases == nil || !app.present {
		return nil
	}
	d, ok, notes := c.driftLastDeploy(ctx, call.env.Config.Name, release.App)
	if !ok {
		return notes
	}
	var tags []string
	if d.ImageID != "" {
		if app.imageID == "" || app.imageID == d.ImageID {
			return nil
		}
		tags = app.runningTags(ctx, call.env.Docker) // only to name what runs
	} else {
		want := driftLeftVersion(d)
		if isTagRef(d.Image) {
			want = imageTag(d.Image)
		}
		tags = app.runningTags(ctx, call.env.Docker)
		if want == "" || len(tags) == 0 || slices.ContainsFunc(tags, func(t string) bool { return sameTag(t, want) }) {
			return nil
		}
	}
	runs := shortDigest(app.imageID)
	if len(tags) > 0 {
		runs = tags[0] + " (" + runs + ")"
	}
	return []string{fmt.Sprintf("drift: app runs %s, mfbot last deployed %s — changed outside mfbot", runs, driftDeployed(d))}
}

// sameTag compares two tags, a leading "v" aside (v1.54.0 = 1.54.0).
func sameTag(a, b string) bool {
	trim := func(s string) string { return strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "v"), "V") }
	return trim(a) == trim(b)
}

// versionFileDrift reads the version file, when one is configured, and
// says when it names another version than the app runs: the runbook's
// next restart would revert to it. Reading it never fails the command.
func (c *Catalogue) versionFileDrift(ctx context.Context, call *call, app *appRunning) []string {
	path := call.env.Config.VersionFile
	if path == "" {
		return nil
	}
	variable := cmp.Or(call.env.Config.VersionVariable, defaultVersionVariable)
	values, err := readVersionFile(path)
	if err != nil {
		return []string{fmt.Sprintf("version_file %s cannot be read: %s", path, err)}
	}
	named, ok := values[variable]
	if !ok || named == "" {
		return []string{fmt.Sprintf("version_file %s does not set %s: which version a `make restart-remote-app` would run is unknown", path, variable)}
	}
	if !app.present || (isTagRef(app.ref) && sameTag(imageTag(app.ref), named)) {
		return nil // the engine is asked for the image's other tags only when needed
	}
	tags := app.runningTags(ctx, call.env.Docker)
	if len(tags) == 0 || slices.ContainsFunc(tags, func(t string) bool { return sameTag(t, named) }) {
		return nil
	}
	return []string{fmt.Sprintf("%s names %s while %s runs: a `make restart-remote-app` would revert to %s", path, named, tags[0], named)}
}

// readVersionFile reads an environment file: KEY=VALUE lines (`export
// KEY=VALUE` too), # comments, quotes around a value stripped; the last
// assignment of a key wins, as when a shell sources it. At most
// versionFileMaxBytes are read; errors are short sentences.
func readVersionFile(path string) (map[string]string, error) {
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("no home directory to expand ~: %v", err)
		}
		path = filepath.Join(home, rest)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, shortPathError(err)
	}
	if !info.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, shortPathError(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, versionFileMaxBytes+1))
	if err != nil {
		return nil, shortPathError(err)
	}
	if len(data) > versionFileMaxBytes {
		return nil, fmt.Errorf("larger than %s", human.Bytes(versionFileMaxBytes))
	}
	return parseVersionFile(data), nil
}

// shortPathError drops the path the error repeats ("open /x: permission
// denied" → "permission denied").
func shortPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// parseVersionFile parses KEY=VALUE lines.
func parseVersionFile(data []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), versionFileMaxBytes+1)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			line = strings.TrimSpace(rest)
		}
		key, value, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" || strings.ContainsAny(key, " \t") {
			continue
		}
		out[key] = versionFileValue(strings.TrimSpace(value))
	}
	return out
}

// versionFileValue strips the quotes around a value, or a trailing comment from
// an unquoted one.
func versionFileValue(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') {
		if end := strings.IndexByte(v[1:], v[0]); end >= 0 {
			return v[1 : 1+end]
		}
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = v[:i]
	}
	if i := strings.Index(v, "\t#"); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

// pipelineDrift compares the versions Prefect's deployments carry with
// the last pipeline deploy.
func (c *Catalogue) pipelineDrift(ctx context.Context, call *call) []string {
	d, ok, notes := c.driftLastDeploy(ctx, call.env.Config.Name, release.Pipeline)
	if !ok {
		return notes
	}
	want := driftLeftVersion(d)
	if want == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, pipelinePrefectTimeout)
	defer cancel()
	flows, err := call.env.Pipeline.Flows(ctx)
	if err != nil {
		return nil // status and version say elsewhere that Prefect does not answer
	}
	return flowsDrift(flows, want)
}

// flowsDrift is "drift: 3 deployments carry v1, mfbot deployed v2", or
// nothing when every deployment whose version is known carries want.
func flowsDrift(flows []pipeline.Flow, want string) []string {
	counts := map[string]int{}
	var versions []string
	for _, f := range flows {
		v := f.Version
		if v == "" && isTagRef(f.Image) {
			v = imageTag(f.Image)
		}
		if v == "" || sameTag(v, want) {
			continue
		}
		if counts[v] == 0 {
			versions = append(versions, v)
		}
		counts[v]++
	}
	if len(versions) == 0 {
		return nil
	}
	slices.SortStableFunc(versions, func(a, b string) int { return counts[b] - counts[a] })
	parts := make([]string, len(versions))
	for i, v := range versions {
		if i == 0 {
			parts[i] = fmt.Sprintf("%d %s %s", counts[v], human.Plural(counts[v], "deployment carries", "deployments carry"), v)
		} else {
			parts[i] = fmt.Sprintf("%d %s %s", counts[v], human.Plural(counts[v], "carries", "carry"), v)
		}
	}
	return []string{fmt.Sprintf("drift: %s, mfbot deployed %s", strings.Join(parts, ", "), want)}
}
