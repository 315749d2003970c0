package commands

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"

	"mfbot/containers"
	"mfbot/reply"
)

// TagLister reads the tags of an image repository from its registry
// (adapters/registry.Client).
type TagLister interface {
	Tags(ctx context.Context, repository string) ([]string, error)
}

// maxVersionsShown bounds the tags `versions` lists.
const maxVersionsShown = 20

func (c *Catalogue) versionsVerb() *verb {
	return &verb{name: "versions", usage: "versions [app|pipeline|<service>]",
		summary:  "the tags of the service's image in its registry, newest first: which runs, which are pulled",
		examples: []string{"versions", "prod versions pipeline"},
		target:   freeArgs, run: c.versions}
}

// versions answers `versions [app|pipeline|<service>]` (app by default;
// pipeline: the flows' image).
func (c *Catalogue) versions(ctx context.Context, call *call) (reply.Reply, error) {
	if call.env.Registry == nil {
		return reply.Reply{}, errors.New("no registry client is wired")
	}
	if len(call.args.Positional) > 1 {
		return usageReply(call.verb, fmt.Sprintf("versions takes one service, got %q.", strings.Join(call.args.Positional, " "))), nil
	}
	name := "app"
	if len(call.args.Positional) == 1 {
		name = strings.ToLower(call.args.Positional[0])
	}
	if name == pipelineGroup {
		name = pipelineFlows
	}
	svc, ok := call.env.Config.Service(name)
	if !ok {
		return usageReply(call.verb, unknownNameMessage("service", name, "Services", slices.Concat(call.env.Config.ServiceNames(), []string{pipelineGroup}))), nil
	}
	one := *call
	one.service = &svc
	running, runningErr := runningReference(ctx, &one)
	ref := configuredReference(svc, running)
	if ref == "" || isImageIDRef(ref) {
		if runningErr != nil {
			return reply.Reply{}, fmt.Errorf("find the image of %s: %w", svc.Name, runningErr)
		}
		return reply.Reply{Status: reply.StatusFailed, Title: "No image repository for " + svc.Name,
			Blocks: []reply.Block{&reply.Text{Text: fmt.Sprintf("%s has no configured image and its container runs %s: set services.%s.image.", svc.Name, cmp.Or(ref, "nothing"), svc.Name)}}}, nil
	}
	repo := imageRepository(ref)
	tags, err := call.env.Registry.Tags(ctx, repo)
	if err != nil {
		return reply.Reply{}, err
	}
	sortTags(tags)
	runningTag := ""
	if running != "" && imageRepository(running) == repo && isTagRef(running) {
		runningTag = imageTag(running)
	}
	shown := tags[:min(len(tags), maxVersionsShown)]
	pulled := pulledTags(ctx, call.env.Docker, repo, shown)
	t := &reply.Table{Header: []string{"tag", "here"}}
	for i, tag := range shown {
		var marks []string
		if tag == runningTag {
			marks = append(marks, "running")
		}
		if pulled[i] {
			marks = append(marks, "pulled")
		}
		t.Rows = append(t.Rows, []string{tag, strings.Join(marks, ", ")})
	}
	rep := reply.Reply{Status: reply.StatusOK, Title: fmt.Sprintf("Versions of %s in %s: %s", svc.Name, call.env.Config.Name, repo),
		Target: &reply.Target{Env: call.env.Config.Name, Service: svc.Name}}
	if len(tags) == 0 {
		rep.Blocks = append(rep.Blocks, &reply.Text{Text: "The registry lists no tag."})
		return rep, nil
	}
	rep.Blocks = append(rep.Blocks, t)
	var notes []string
	if len(tags) > len(shown) {
		notes = append(notes, fmt.Sprintf("%d older tags not shown.", len(tags)-len(shown)))
	}
	if runningTag != "" && !slices.Contains(shown, runningTag) {
		notes = append(notes, fmt.Sprintf("Running: %s (not among these).", runningTag))
	}
	if runningErr != nil {
		notes = append(notes, "Which tag runs is unknown: "+oneLine(runningErr.Error()))
	}
	if len(notes) > 0 {
		rep.Blocks = append(rep.Blocks, &reply.Text{Text: strings.Join(notes, " ")})
	}
	return rep, nil
}

// runningReference is the reference the service's container was created
// from ("" with no container).
func runningReference(ctx context.Context, call *call) (string, error) {
	ctr, err := call.container(ctx)
	if err != nil {
		return "", err
	}
	d, err := call.env.Docker.Inspect(ctx, ctr.ID)
	if err != nil {
		return ctr.Image, nil // the list's reference: maybe an ID, which shows no tag
	}
	return containerReference(d, *ctr), nil
}

// sortTags orders tags newest first: semantic versions by version (v1.10.0
// after v1.9.0), then the others (latest, branch names) by name.
func sortTags(tags []string) {
	parsed := make(map[string]*semver.Version, len(tags))
	for _, t := range tags {
		if v, err := semver.NewVersion(t); err == nil {
			parsed[t] = v
		}
	}
	slices.SortStableFunc(tags, func(a, b string) int {
		va, vb := parsed[a], parsed[b]
		switch {
		case va != nil && vb != nil:
			if c := vb.Compare(va); c != 0 {
				return c
			}
			return strings.Compare(a, b)
		case va != nil:
			return -1
		case vb != nil:
			return 1
		}
		return strings.Compare(a, b)
	})
}

// pulledTags says which of tags the engine has, asked concurrently.
func pulledTags(ctx context.Context, engine containers.Engine, repo string, tags []string) []bool {
	out := make([]bool, len(tags))
	var wg sync.WaitGroup
	for i, tag := range tags {
		wg.Go(func() {
			_, err := engine.Image(ctx, repo+":"+tag)
			out[i] = err == nil
		})
	}
	wg.Wait()
	return out
}
