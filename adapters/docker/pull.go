package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/pkg/jsonmessage"

	"mfbot/containers"
)

// Pull pulls ref from its registry, reporting progress, and returns the ID
// of the image ref names once pulled. When the registry's image is already
// there, the engine says nothing of its layers: progress is not called.
func (e *Engine) Pull(ctx context.Context, ref string, opts containers.PullOptions) (string, error) {
	if err := e.pullStream(ctx, ref, opts); err != nil {
		return "", err
	}
	img, err := e.api.ImageInspect(ctx, ref)
	if err != nil {
		return "", e.wrapImage("inspect the pulled image "+ref, err)
	}
	return img.ID, nil
}

// pullStream pulls ref and reads the engine's progress stream to its end:
// the engine answers 200 at once and reports registry errors (unknown tag,
// refused login, registry down) as the last message of the stream.
func (e *Engine) pullStream(ctx context.Context, ref string, opts containers.PullOptions) error {
	pullOpts := image.PullOptions{}
	if opts.Auth != nil {
		auth, err := registry.EncodeAuthConfig(registry.AuthConfig{
			Username:      opts.Auth.Username,
			Password:      opts.Auth.Password,
			ServerAddress: loginServer(ref),
		})
		if err != nil {
			return fmt.Errorf("pull %s: encode the registry login: %w", ref, err)
		}
		pullOpts.RegistryAuth = auth
	}
	rc, err := e.api.ImagePull(ctx, ref, pullOpts)
	if err != nil {
		return e.wrapImage("pull "+ref, err)
	}
	defer rc.Close()
	if err := readPullStream(rc, opts.Progress); err != nil {
		return e.wrapImage("pull "+ref, err)
	}
	return nil
}

// loginServer is the server a login to ref's registry names, as the
// docker CLI writes it (Docker Hub keeps its legacy index URL).
func loginServer(ref string) string {
	if host := containers.RegistryHost(ref); host != containers.DockerHub {
		return host
	}
	return "https://index.docker.io/v1/"
}

// readPullStream decodes the engine's JSON messages of a pull, reports the
// running totals to progress (when set) each time they change, and returns
// the error the stream ends with, if any.
func readPullStream(r io.Reader, progress func(containers.PullProgress)) error {
	dec := json.NewDecoder(r)
	t := newPullTracker()
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read the engine's progress: %w", err)
		}
		if m.Error != nil {
			return m.Error
		}
		if m.ErrorMessage != "" { // engines before API 1.4 only; kept for safety
			return errors.New(m.ErrorMessage)
		}
		if t.add(m) && progress != nil {
			progress(t.progress())
		}
	}
}

// pullTracker sums the per-layer messages of a pull. Layers whose size was
// never announced (already there, or too small for a Downloading message)
// count in Layers and Pulled but not in the bytes.
type pullTracker struct {
	layers map[string]*layerProgress
	last   containers.PullProgress
}

type layerProgress struct {
	current, total int64
	done           bool // pulled, or already there
}

func newPullTracker() *pullTracker {
	return &pullTracker{layers: map[string]*layerProgress{}}
}

// add takes one message and says whether the totals changed.
func (t *pullTracker) add(m jsonmessage.JSONMessage) bool {
	// Messages without ID are the summary lines (Digest:, Status:); the
	// one "Pulling from <repo>" names the tag in its ID, not a layer.
	if m.ID == "" || strings.HasPrefix(m.Status, "Pulling from") {
		return false
	}
	l := t.layers[m.ID]
	if l == nil {
		l = &layerProgress{}
		t.layers[m.ID] = l
	}
	switch {
	case m.Status == "Downloading":
		if p := m.Progress; p != nil {
			if p.Total > 0 {
				l.total = p.Total
			}
			l.current = p.Current
		}
	case m.Status == "Download complete":
		l.current = l.total
	case m.Status == "Pull complete", m.Status == "Already exists":
		l.current, l.done = l.total, true
	}
	// Extracting reports the same bytes a second time: it is not counted,
	// so that Done never goes back to zero after the download.
	now := t.progress()
	if now == t.last {
		return false
	}
	t.last = now
	return true
}

func (t *pullTracker) progress() containers.PullProgress {
	p := containers.PullProgress{Layers: len(t.layers)}
	for _, l := range t.layers {
		if l.total > 0 {
			p.Total += l.total
			p.Done += min(l.current, l.total)
		}
		if l.done {
			p.Pulled++
		}
	}
	return p
}
