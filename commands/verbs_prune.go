package commands

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"

	"mfbot/containers"
	"mfbot/human"
	"mfbot/reply"
)

// `prune images [--keep N]` is the MonitorFish Makefile's prune-old-images
// (keep the 2 newest tags of each repository, remove the others) made
// safe: only the stack's repositories are touched, an image that a
// container uses (running or stopped) is never removed, nor a tag that a
// container was created from, and removals never force — the engine's own
// refusal of an image in use is a "kept", not a failure.

const (
	pruneDefaultKeep = 2
	pruneMaxKeep     = 20
	// pruneMaxNamed bounds the tags a confirmation names one by one.
	pruneMaxNamed = 30
)

func (c *Catalogue) pruneVerb() *verb {
	return &verb{
		name: "prune images", usage: "prune images [--keep N]",
		summary:  fmt.Sprintf("remove the old local tags of the stack's image repositories, keeping the newest N of each (default %d) and every image a container uses (make prune-old-images)", pruneDefaultKeep),
		examples: []string{"prune images", "prod prune images --keep 3"},
		flags: []FlagSpec{{Name: "keep", Kind: FlagInt, Unit: "tags", Min: 1, Max: pruneMaxKeep,
			Help: fmt.Sprintf("how many tags to keep per repository, newest first (default %d, at most %d); images in use are kept anyway", pruneDefaultKeep, pruneMaxKeep)}},
		target: noTarget, mutating: true,
		beforeConfirm: c.beforePrune, run: c.prune,
	}
}

// pruneTag is one local tag of a repository of the stack, and what the
// plan does with it.
type pruneTag struct {
	repo  string // as shown (the repository of the tag, as the engine names it)
	tag   string
	ref   string // the engine's RepoTag, what RemoveImage gets
	image containers.Image
	// usedBy names the containers that run its image or were created
	// from it; newest says it is among the newest kept.
	usedBy []string
	newest bool
}

func (t pruneTag) remove() bool { return len(t.usedBy) == 0 && !t.newest }

// prunePlan is what a prune would do now.
type prunePlan struct {
	keep  int
	repos []string // the stack's repositories, in service order
	tags  []pruneTag
	// unknown names services whose repository could not be told.
	unknown []string
	// byID names the engine's containers by ID, for the engine's refusals.
	byID map[string]string
}

func (p prunePlan) removals() []pruneTag {
	return slices.DeleteFunc(slices.Clone(p.tags), func(t pruneTag) bool { return !t.remove() })
}

func pruneKeep(call *call) int {
	if call.args.Has("keep") {
		return call.args.Ints["keep"]
	}
	return pruneDefaultKeep
}

// planPrune reads the containers and the local images and decides.
func (c *Catalogue) planPrune(ctx context.Context, call *call) (prunePlan, error) {
	plan := prunePlan{keep: pruneKeep(call), byID: map[string]string{}}
	list, err := call.env.Docker.Containers(ctx)
	if err != nil {
		return plan, err
	}
	createdFrom := c.createdFromAll(ctx, call, list)

	// The stack's repositories.
	seen := map[string]bool{}
	addRepo := func(repo string) {
		if repo == "" || seen[normalizeRepository(repo)] {
			return
		}
		seen[normalizeRepository(repo)] = true
		plan.repos = append(plan.repos, repo)
	}
	for _, svc := range call.env.Config.Services {
		ctr := ResolveContainer(svc, call.env.Config.ComposeProject, list)
		from := ""
		if ctr != nil {
			from = createdFrom[ctr.ID]
		}
		ref := configuredReference(svc, from)
		switch {
		case ref == "":
			continue // no image configured and no container: nothing of it is local
		case isImageIDRef(ref):
			// Pinned to an image ID (a roll back): the repositories it is
			// known under.
			id := ref
			if ctr != nil && ctr.ImageID != "" {
				id = ctr.ImageID
			}
			img, err := call.env.Docker.Image(ctx, id)
			if err != nil || len(img.RepoTags) == 0 {
				plan.unknown = append(plan.unknown, svc.Name)
				continue
			}
			for _, rt := range img.RepoTags {
				addRepo(imageRepository(rt))
			}
		default:
			addRepo(imageRepository(ref))
		}
	}
	if f := call.env.Config.Deploy.Flows; f != nil && f.Image != "" {
		addRepo(imageRepository(f.Image))
	}
	if len(plan.repos) == 0 {
		return plan, nil
	}

	// What is in use: by image ID, and by the reference created from.
	usedByID := map[string][]string{}
	usedByRef := map[string][]string{}
	for _, ctr := range list {
		plan.byID[ctr.ID] = ctr.Name
		if ctr.ImageID != "" {
			usedByID[ctr.ImageID] = append(usedByID[ctr.ImageID], ctr.Name)
		}
		if ref := createdFrom[ctr.ID]; isTagRef(ref) {
			key := normalizeReference(ref)
			usedByRef[key] = append(usedByRef[key], ctr.Name)
		}
	}

	images, err := call.env.Docker.Images(ctx)
	if err != nil {
		return plan, err
	}
	byRepo := map[string][]pruneTag{}
	for _, img := range images {
		for _, rt := range img.RepoTags {
			if !isTagRef(rt) || strings.HasPrefix(rt, "<none>") {
				continue
			}
			repo := normalizeRepository(imageRepository(rt))
			if !seen[repo] {
				continue
			}
			t := pruneTag{repo: imageRepository(rt), tag: imageTag(rt), ref: rt, image: img}
			t.usedBy = slices.Concat(usedByID[img.ID], usedByRef[normalizeReference(rt)])
			slices.Sort(t.usedBy)
			t.usedBy = slices.Compact(t.usedBy)
			byRepo[repo] = append(byRepo[repo], t)
		}
	}
	for _, repo := range plan.repos {
		tags := byRepo[normalizeRepository(repo)]
		sortPruneTags(tags)
		for i := range tags {
			tags[i].newest = i < plan.keep
		}
		plan.tags = append(plan.tags, tags...)
	}
	return plan, nil
}

// createdFromAll is the reference each container was created from: the
// list's, unless it shows the bare image ID (the tag moved or is gone):
// then inspect's, read concurrently.
func (c *Catalogue) createdFromAll(ctx context.Context, call *call, list []containers.Container) map[string]string {
	out := make(map[string]string, len(list))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, ctr := range list {
		if !listedByID(ctr) {
			out[ctr.ID] = ctr.Image
			continue
		}
		wg.Go(func() {
			ref := ctr.Image
			if d, err := call.env.Docker.Inspect(ctx, ctr.ID); err == nil {
				ref = containerReference(d, ctr)
			}
			mu.Lock()
			out[ctr.ID] = ref
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// listedByID says that the engine's list names a container's image by
// its ID (full, or short without sha256:) rather than by a reference.
func listedByID(ctr containers.Container) bool {
	if ctr.Image == "" || isImageIDRef(ctr.Image) {
		return true
	}
	id := strings.TrimPrefix(ctr.ImageID, "sha256:")
	return len(ctr.Image) >= 12 && id != "" && strings.HasPrefix(id, ctr.Image)
}

// normalizeRepository names Docker Hub repositories one way
// (docker.io/library/postgres and postgres are one repository).
func normalizeRepository(repo string) string {
	for _, prefix := range []string{"docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"} {
		if strings.HasPrefix(repo, prefix) {
			return strings.TrimPrefix(repo, prefix)
		}
	}
	return repo
}

// normalizeReference is repository:tag, the tag made explicit (latest).
func normalizeReference(ref string) string {
	return normalizeRepository(imageRepository(ref)) + ":" + imageTag(ref)
}

// sortPruneTags orders a repository's tags newest first: by the image's
// creation, then by tag (newer semantic versions first, then by name).
func sortPruneTags(tags []pruneTag) {
	slices.SortStableFunc(tags, func(a, b pruneTag) int {
		if c := b.image.Created.Compare(a.image.Created); c != 0 {
			return c
		}
		va, ea := semver.NewVersion(a.tag)
		vb, eb := semver.NewVersion(b.tag)
		switch {
		case ea == nil && eb == nil:
			return cmp.Or(vb.Compare(va), strings.Compare(a.tag, b.tag))
		case ea == nil:
			return -1
		case eb == nil:
			return 1
		}
		return strings.Compare(a.tag, b.tag)
	})
}

// beforePrune plans before the confirmation: nothing to remove is said
// at once, and the confirmation names what will be removed.
func (c *Catalogue) beforePrune(ctx context.Context, call *call) (reply.Reply, bool) {
	plan, err := c.planPrune(ctx, call)
	if err != nil {
		return failure(call, err), false
	}
	if len(plan.removals()) == 0 {
		return nothingToPrune(call, plan), false
	}
	call.prompt = prunePrompt(call, plan)
	return reply.Reply{}, true
}

// prunePrompt is "Remove 3 image tags of R (v1, broken, snapshot), keep
// v2, v3 and 1 in use in prod?", one clause per repository.
func prunePrompt(call *call, plan prunePlan) string {
	var clauses []string
	named := 0
	for _, repo := range plan.repos {
		var removed, kept []string
		inUse := 0
		for _, t := range plan.tags {
			if normalizeRepository(t.repo) != normalizeRepository(repo) {
				continue
			}
			switch {
			case t.remove():
				removed = append(removed, t.tag)
			case len(t.usedBy) > 0:
				inUse++
			default:
				kept = append(kept, t.tag)
			}
		}
		if len(removed) == 0 {
			continue
		}
		shown := removed
		room := max(pruneMaxNamed-named, 1)
		if len(shown) > room {
			shown = append(slices.Clone(shown[:room]), fmt.Sprintf("and %d more", len(removed)-room))
		}
		named += min(len(removed), room)
		clause := fmt.Sprintf("%d image %s of %s (%s)", len(removed), human.Plural(len(removed), "tag", "tags"), repo, strings.Join(shown, ", "))
		var keeps []string
		if len(kept) > 0 {
			keeps = append(keeps, strings.Join(kept, ", "))
		}
		if inUse > 0 {
			keeps = append(keeps, fmt.Sprintf("%d in use", inUse))
		}
		if len(keeps) > 0 {
			clause += ", keep " + strings.Join(keeps, " and ")
		}
		clauses = append(clauses, clause)
	}
	return fmt.Sprintf("Remove %s in %s?", strings.Join(clauses, "; "), call.env.Config.Name)
}

// nothingToPrune is the OK reply when no tag would be removed.
func nothingToPrune(call *call, plan prunePlan) reply.Reply {
	var why []string
	switch {
	case len(plan.repos) == 0:
		why = append(why, "no image repository is known for the services of "+call.env.Config.Name)
	default:
		for _, repo := range plan.repos {
			n, inUse := 0, 0
			for _, t := range plan.tags {
				if normalizeRepository(t.repo) == normalizeRepository(repo) {
					n++
					if len(t.usedBy) > 0 {
						inUse++
					}
				}
			}
			switch {
			case n == 0:
				why = append(why, repo+" has no local tag")
			case inUse > 0:
				why = append(why, fmt.Sprintf("%s has %d local %s, all kept (newest %d, %d in use)", repo, n, human.Plural(n, "tag", "tags"), plan.keep, inUse))
			default:
				why = append(why, fmt.Sprintf("%s has %d local %s, all kept (newest %d)", repo, n, human.Plural(n, "tag", "tags"), plan.keep))
			}
		}
	}
	text := "nothing to prune: " + strings.Join(why, "; ") + "."
	if len(plan.unknown) > 0 {
		text += fmt.Sprintf(" The repository of %s is unknown (pinned to an image ID without tags): set its image in the configuration.", strings.Join(plan.unknown, ", "))
	}
	return reply.Reply{Status: reply.StatusOK, Title: "Nothing to prune in " + call.env.Config.Name,
		Blocks: []reply.Block{&reply.Text{Text: text}}, Target: call.target()}
}

// prune answers a confirmed `prune images`: the plan is made again (the
// images may have changed since the confirmation was asked), then each
// tag to go is removed, never forced.
func (c *Catalogue) prune(ctx context.Context, call *call) (reply.Reply, error) {
	plan, err := c.planPrune(ctx, call)
	if err != nil {
		return reply.Reply{}, err
	}
	if len(plan.removals()) == 0 {
		return nothingToPrune(call, plan), nil
	}
	t := &reply.Table{Header: []string{"repository", "tag", "size", "action"}}
	var failures []string
	removed, reclaimed := 0, int64(0)
	deleted := map[string]bool{}
	for _, tag := range plan.tags {
		action := ""
		switch {
		case len(tag.usedBy) > 0:
			action = "kept: in use by " + strings.Join(tag.usedBy, ", ")
		case tag.newest:
			action = fmt.Sprintf("kept: newest %d", plan.keep)
		default:
			res, err := call.env.Docker.RemoveImage(ctx, tag.ref)
			switch {
			case err == nil:
				action = "removed"
				removed++
				if slices.Contains(res.Deleted, tag.image.ID) && !deleted[tag.image.ID] {
					deleted[tag.image.ID] = true
					reclaimed += max(tag.image.Size, 0)
				}
			case errors.Is(err, containers.ErrNoSuchContainer): // the adapter's not-found, images included
				action = "gone already"
			case isInUseRefusal(err):
				action = "kept: in use"
				if name := refusingContainer(err, plan.byID); name != "" {
					action += " by " + name
				}
			default:
				action = "failed"
				failures = append(failures, fmt.Sprintf("%s: %s", tag.ref, cut(oneLine(err.Error()), 300)))
			}
		}
		t.Rows = append(t.Rows, []string{tag.repo, tag.tag, human.Bytes(tag.image.Size), action})
	}
	env := call.env.Config.Name
	rep := reply.Reply{Status: reply.StatusOK, Target: call.target(),
		Title: fmt.Sprintf("Pruned images in %s: %d %s removed, %s reclaimed", env, removed, human.Plural(removed, "tag", "tags"), human.Bytes(reclaimed))}
	rep.Blocks = append(rep.Blocks, t)
	rep.Blocks = append(rep.Blocks, &reply.Text{Text: fmt.Sprintf("Space reclaimed: %s, the size of the images deleted (layers they share with kept images stay on disk; a tag whose image keeps other tags is only untagged).", human.Bytes(reclaimed))})
	if len(failures) > 0 {
		rep.Status = reply.StatusFailed
		rep.Title = fmt.Sprintf("Prune in %s: %d %s could not be removed (%d removed, %s reclaimed)", env, len(failures), human.Plural(len(failures), "tag", "tags"), removed, human.Bytes(reclaimed))
		rep.Blocks = append(rep.Blocks, &reply.Text{Text: "Failed:\n" + strings.Join(failures, "\n")})
	}
	return rep, nil
}

// isInUseRefusal says that the engine refused to remove an image because
// a container uses it ("conflict: unable to remove repository reference
// … (must force) - container … is using its referenced image …", "…
// image is being used by running container …").
func isInUseRefusal(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "is using its referenced image") || strings.Contains(msg, "being used by") ||
		(strings.Contains(msg, "conflict") && strings.Contains(msg, "container"))
}

var refusalContainer = regexp.MustCompile(`container ([0-9a-f]{12,64})`)

// refusingContainer names the container of an in-use refusal, when the
// engine's message gives its ID and the container is known.
func refusingContainer(err error, byID map[string]string) string {
	m := refusalContainer.FindStringSubmatch(err.Error())
	if m == nil {
		return ""
	}
	for id, name := range byID {
		if strings.HasPrefix(id, m[1]) {
			return name
		}
	}
	return ""
}
