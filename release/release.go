// Package release is what mfbot knows of releases: the deploys it made
// (to tell when what runs was changed outside mfbot: drift) and the one
// deploy per environment that may run at a time, across replicas. The
// store (adapters/store) keeps both; the command catalogue uses them
// through Store. It imports nothing of mfbot.
package release

import (
	"context"
	"errors"
	"time"
)

// What a deploy targets.
const (
	App      = "app"      // the backend's container, recreated on the new tag
	Pipeline = "pipeline" // the pipeline flows, registered again by the deploy-flows container
)

// Outcomes of a deploy.
const (
	Deployed   = "deployed"    // the new version runs and was verified
	RolledBack = "rolled back" // it failed and the previous version runs again
	Failed     = "failed"      // it failed and could not be rolled back (or had nothing to roll back to)
)

// Deploy is one finished deploy of a target in an environment.
type Deploy struct {
	ID      int64
	Env     string
	Target  string // App or Pipeline
	Version string // the tag asked for ("v1.54.0")
	// Previous is the version (tag) that ran before, "" when unknown.
	Previous string
	// Image, ImageID and Digest are what mfbot left running: the new
	// version when Deployed, the previous one when RolledBack
	// ("ghcr.io/…/monitorfish-app:v1.54.0", sha256:…, repo@sha256:…).
	// ImageID and Digest may be "" (Pipeline).
	Image, ImageID, Digest string
	Outcome                string // Deployed, RolledBack or Failed
	Detail                 string // why it failed, redacted
	By                     string // who confirmed it: a Slack user ID or console:<login>
	At                     time.Time
	Took                   time.Duration
}

// Holder is who holds an environment's deploy lock.
type Holder struct {
	Env string
	// Token tells this holder from a later one: only it releases the lock.
	Token   string
	By      string // a Slack user ID or console:<login>
	Command string // "deploy v1.54.0 app"
	Since   time.Time
	// Until is when the lock lapses on its own (a replica that died
	// mid-deploy must not block the environment forever).
	Until time.Time
}

// ErrHeld is wrapped by AcquireDeploy's callers when another deploy runs.
var ErrHeld = errors.New("a deploy is already running in this environment")

// Store keeps deploys and the deploy locks (adapters/store implements it,
// on SQLite and on PostgreSQL shared by replicas).
type Store interface {
	// AcquireDeploy takes h.Env's deploy lock for h unless a holder whose
	// Until is after now has it: then ok is false and current names it.
	// A lapsed lock is taken over.
	AcquireDeploy(ctx context.Context, h Holder, now time.Time) (current Holder, ok bool, err error)
	// DeployHolder reads who holds env's lock at now without taking it;
	// ok false: nobody (or a lapsed holder).
	DeployHolder(ctx context.Context, env string, now time.Time) (h Holder, ok bool, err error)
	// ReleaseDeploy gives env's lock back if token still holds it.
	ReleaseDeploy(ctx context.Context, env, token string) error
	// RecordDeploy keeps a finished deploy; it returns it with its ID.
	RecordDeploy(ctx context.Context, d Deploy) (Deploy, error)
	// LastDeploy is the newest deploy of target in env whose outcome is
	// Deployed or RolledBack (what mfbot left running); ok false: none.
	LastDeploy(ctx context.Context, env, target string) (d Deploy, ok bool, err error)
}
