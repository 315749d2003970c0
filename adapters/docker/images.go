package docker

import (
	"context"
	"strings"
	"time"

	"github.com/docker/docker/api/types/image"

	"mfbot/containers"
)

// Images lists the local images as `docker images` does: top-level images
// only, the intermediate layers of builds left out.
func (e *Engine) Images(ctx context.Context) ([]containers.Image, error) {
	list, err := e.api.ImageList(ctx, image.ListOptions{All: false})
	if err != nil {
		return nil, e.wrap("list images", err)
	}
	out := make([]containers.Image, 0, len(list))
	for _, img := range list {
		out = append(out, containers.Image{
			ID:          img.ID,
			RepoTags:    withoutNone(img.RepoTags, "<none>:<none>"),
			RepoDigests: withoutNone(img.RepoDigests, "<none>@"),
			Created:     time.Unix(img.Created, 0),
			Size:        img.Size,
			Labels:      img.Labels,
		})
	}
	return out, nil
}

// withoutNone drops the placeholders older engines list for an untagged
// image ("<none>:<none>", "<none>@sha256:…"): they name nothing usable.
func withoutNone(refs []string, placeholder string) []string {
	var out []string
	for _, r := range refs {
		if !strings.HasPrefix(r, placeholder) {
			out = append(out, r)
		}
	}
	return out
}

// RemoveImage untags ref, and deletes the image when it was its last
// reference, as `docker rmi` without --force. The engine refuses an image
// a container uses; its message ("container … is using its referenced
// image", "image is being used by … container …") stays in the error.
func (e *Engine) RemoveImage(ctx context.Context, ref string) (containers.ImageRemoval, error) {
	resp, err := e.api.ImageRemove(ctx, ref, image.RemoveOptions{Force: false, PruneChildren: true})
	if err != nil {
		return containers.ImageRemoval{}, e.wrapImage("remove image "+ref, err)
	}
	var out containers.ImageRemoval
	for _, r := range resp {
		if r.Untagged != "" {
			out.Untagged = append(out.Untagged, r.Untagged)
		}
		if r.Deleted != "" {
			out.Deleted = append(out.Deleted, r.Deleted)
		}
	}
	return out, nil
}
