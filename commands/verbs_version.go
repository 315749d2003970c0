package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"mfbot/config"
	"mfbot/containers"
)

// Helpers of `version` and `status` for image references.
//
// The engine's container list names a container's image by the reference it
// was created from only while that reference still resolves to the image the
// container runs; once the tag has moved to another image (docker-compose
// pull, a restart on another host) or is gone, the list shows the bare image
// ID. Inspect keeps the reference in Config.Image: that is what these helpers
// start from.

// imageView is what `version` knows of the image a service's container runs.
type imageView struct {
	ref         string            // configured reference: the service's image, else createdFrom
	createdFrom string            // the reference the container was created from
	runningID   string            // ID of the image the container runs
	running     *containers.Image // nil when the engine could not describe it
	current     *containers.Image // what ref names on the engine now; nil when unknown
	missing     bool              // ref is not present on the engine
	currentErr  error             // reading ref failed for another reason
}

// moved says that ref names another image than the running one.
func (v imageView) moved() bool { return v.current != nil && v.current.ID != v.runningID }

// containerReference is the reference a container was created from: the
// inspected Config.Image, else what the list call says (which may be an ID).
func containerReference(d containers.ContainerDetails, listed containers.Container) string {
	if d.Image != "" {
		return d.Image
	}
	return listed.Image
}

// configuredReference is the reference a service is meant to run: its
// configured image, else its container's own reference (what `restart`
// pulls and recreates on).
func configuredReference(svc config.Service, createdFrom string) string {
	if svc.Image != "" {
		return svc.Image
	}
	return createdFrom
}

// isImageIDRef says that ref names an image by ID (a roll back creates the
// container so), not by a tag.
func isImageIDRef(ref string) bool { return strings.HasPrefix(ref, "sha256:") }

// isTagRef says that ref is a tag, which can move from image to image
// (image IDs and digests cannot).
func isTagRef(ref string) bool {
	return ref != "" && !isImageIDRef(ref) && !strings.Contains(ref, "@")
}

// describeImages reads, concurrently per service, the running image and
// what the configured reference names now.
func (c *Catalogue) describeImages(ctx context.Context, call *call, services []stackService, details []containers.ContainerDetails) []imageView {
	out := make([]imageView, len(services))
	var wg sync.WaitGroup
	for i, s := range services {
		if s.Container == nil {
			continue
		}
		d := details[i]
		v := imageView{createdFrom: containerReference(d, *s.Container), runningID: d.ImageID}
		if v.runningID == "" {
			v.runningID = s.Container.ImageID
		}
		v.ref = configuredReference(s.Service, v.createdFrom)
		wg.Go(func() {
			if img, err := call.env.Docker.Image(ctx, v.runningID); err == nil {
				v.running = &img
			}
			if isTagRef(v.ref) {
				img, err := call.env.Docker.Image(ctx, v.ref)
				switch {
				case err == nil:
					v.current = &img
				case errors.Is(err, containers.ErrNoSuchContainer): // the adapter's not-found, images included
					v.missing = true
				default:
					v.currentErr = err
				}
			}
			out[i] = v
		})
	}
	wg.Wait()
	return out
}

// versionRow is the table row of one service: image repository, tag,
// running digest, creation of the running image.
func versionRow(name string, v imageView) []string {
	repo, tag := imageRepository(v.ref), imageTag(v.ref)
	switch {
	case isImageIDRef(v.ref):
		// Pinned to an image ID (after a roll back): name its repository
		// from the image itself.
		repo, tag = "—", "image ID"
		if v.running != nil {
			if refs := slices.Concat(v.running.RepoTags, v.running.RepoDigests); len(refs) > 0 {
				repo = imageRepository(refs[0])
			}
		}
	case strings.Contains(v.ref, "@"):
		tag = shortDigest(tag)
	}
	created := ""
	if v.running != nil && !v.running.Created.IsZero() {
		created = v.running.Created.UTC().Format("2006-01-02 15:04")
	}
	return []string{name, repo, tag, shortDigest(v.runningDigest()), created}
}

// runningDigest is the repo digest of the running image for the configured
// (or created-from) repository when the engine knows one, else its ID.
func (v imageView) runningDigest() string {
	if v.running == nil {
		return v.runningID
	}
	return digestFor(*v.running, v.ref, v.createdFrom)
}

// digestFor is an image's repo digest in the repository of one of refs,
// else any of its repo digests, else its ID: the choice `restart` makes
// for its old → new report, so that both name an image alike.
func digestFor(img containers.Image, refs ...string) string {
	for _, ref := range refs {
		if isImageIDRef(ref) {
			continue
		}
		repo := imageRepository(ref)
		for _, d := range img.RepoDigests {
			if imageRepository(d) == repo {
				return d
			}
		}
	}
	if len(img.RepoDigests) > 0 {
		return img.RepoDigests[0]
	}
	return img.ID
}

// versionNotes are the lines under the table about one service: a
// configured image other than the container's, and a tag that moved.
func (c *Catalogue) versionNotes(call *call, svc config.Service, v imageView) []string {
	var notes []string
	if svc.Image != "" && v.createdFrom != "" && v.createdFrom != svc.Image {
		notes = append(notes, fmt.Sprintf("%s: configured image %s; its container was created from %s.", svc.Name, svc.Image, v.createdFrom))
	}
	switch {
	case v.moved():
		cur := *v.current
		what := shortDigest(digestFor(cur, v.ref))
		if id := shortDigest(cur.ID); id != what {
			what += " (image " + id + ")"
		}
		if !cur.Created.IsZero() {
			what += ", created " + cur.Created.UTC().Format("2006-01-02 15:04 UTC")
		}
		notes = append(notes, fmt.Sprintf("%s: tag %s now names another image: %s; the container still runs %s. %s",
			svc.Name, v.ref, what, shortDigest(v.runningDigest()), c.applyHint(call, svc)))
	case v.missing:
		notes = append(notes, fmt.Sprintf("%s: %s is not present on this engine: whether it names another image than the running one is unknown.", svc.Name, v.ref))
	case v.currentErr != nil:
		notes = append(notes, fmt.Sprintf("%s: could not read %s on this engine (%v): whether it names another image than the running one is unknown.", svc.Name, v.ref, v.currentErr))
	}
	return notes
}

// applyHint says which command would run the image the tag now names.
func (c *Catalogue) applyHint(call *call, svc config.Service) string {
	cmd := "restart " + svc.Name
	if call.env.Config.Name != c.cfg.DefaultEnv {
		cmd = call.env.Config.Name + " " + cmd
	}
	if recreatesOnRestart(svc) {
		return fmt.Sprintf("`%s` would apply it (it pulls the tag again first).", cmd)
	}
	return fmt.Sprintf("`%s` only restarts the container on its current image: recreating it (docker-compose up -d) would apply it.", cmd)
}

// statusImages is the image column of `status`: the tag of the reference
// each container was created from, marked when that tag has moved. The
// image is read only for containers the list call shows by ID, which it does
// only when their reference no longer names their image: a healthy stack
// costs no extra request.
func (c *Catalogue) statusImages(ctx context.Context, call *call, services []stackService, details []containers.ContainerDetails) []string {
	out := make([]string, len(services))
	var wg sync.WaitGroup
	for i, s := range services {
		if s.Container == nil {
			continue
		}
		d := details[i]
		ref := containerReference(d, *s.Container)
		out[i] = imageTag(ref)
		if s.Container.Image == ref || !isTagRef(ref) {
			continue
		}
		running := d.ImageID
		if running == "" {
			running = s.Container.ImageID
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			if img, err := call.env.Docker.Image(ctx, ref); err == nil && img.ID != running {
				out[i] += " (tag moved)"
			}
		})
	}
	wg.Wait()
	return out
}
