package bot

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"mfbot/commands"
	"mfbot/config"
	"mfbot/containers"
)

// SampledEngine is what the stats sampler needs of an environment's Docker
// engine: its containers, one stats sample of one, and its details for the
// limits it was created with. adapters/docker.Engine is one.
type SampledEngine interface {
	Containers(ctx context.Context) ([]containers.Container, error)
	Stats(ctx context.Context, id string) (containers.Stats, error)
	Inspect(ctx context.Context, id string) (containers.ContainerDetails, error)
}

// SamplerEnv is an environment whose services the sampler samples.
type SamplerEnv struct {
	Config config.Environment
	Engine SampledEngine
}

// Stats sampling defaults, for the zero fields of Sampler.
const (
	// DefaultSampleInterval: one sample a minute is what the store's rings
	// hold (a slot per minute) and what a chart over hours needs.
	DefaultSampleInterval = time.Minute
	// DefaultSampleCallTimeout bounds each call to an engine (the listing,
	// one container's stats, one container's limits): a stats call takes
	// about 2 s, the engine waiting for two of its 1 s readings to compute
	// CPU.
	DefaultSampleCallTimeout = 10 * time.Second
)

const (
	// sampleStoreTimeout bounds the saving of a round.
	sampleStoreTimeout = 10 * time.Second
	// sampleLimitsMaxAge: configured limits are read again after this,
	// so that a `docker update --memory` shows within the hour, at one
	// inspect per container per hour.
	sampleLimitsMaxAge = time.Hour
	// maxConcurrentStats bounds the stats calls in flight per engine: a
	// stack of 10 services takes them all at once, a host with a hundred
	// containers is not asked for a hundred at a time.
	maxConcurrentStats = 16
)

// Sampler samples, every Interval, the resource use of each running
// service of each environment (the containers the commands and the Docker
// watcher resolve the services to) and appends the samples to the store's
// rings, for `stats <svc> --chart`. Each environment has its own loop, so
// a slow engine delays only its own rounds; a round never overlaps the
// next one of its environment (a round longer than Interval just delays
// the next). A failing engine or store is logged and counted, and the next
// round tries again. The zero fields take the Default* values; Run may be
// called again after it returned, not twice at once.
type Sampler struct {
	Envs  []SamplerEnv
	Store containers.SampleStore

	Interval    time.Duration // between rounds of an environment, the first at start; default 1 min
	CallTimeout time.Duration // bounds each call to an engine; default 10 s

	Log     *slog.Logger     // default: discard
	Metrics *Metrics         // nil: not counted
	Now     func() time.Time // default time.Now

	mu sync.Mutex
	// limits caches each container's configured limits, so that the
	// engine is not inspected every round; entries of containers gone
	// from their environment's listing are dropped.
	limits map[limitsKey]cachedLimits
}

type limitsKey struct{ env, id string }

type cachedLimits struct {
	memoryBytes uint64
	cpus        float64
	readAt      time.Time
}

// Run samples every environment until ctx ends.
func (s *Sampler) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, env := range s.Envs {
		wg.Go(func() { s.runEnv(ctx, env) })
	}
	wg.Wait()
}

// runEnv runs the rounds of env one after the other. The ticker drops the
// ticks a slow round misses: rounds never pile up.
func (s *Sampler) runEnv(ctx context.Context, env SamplerEnv) {
	interval := keepOr(s.Interval, DefaultSampleInterval)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		s.round(ctx, env)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// sampleTarget is a running service and its container.
type sampleTarget struct {
	service     string
	containerID string
}

// round samples env's running services once and saves what it got; it
// returns how many samples it saved. Every sample of a round carries the
// round's start: one moment per round, so that two rounds a minute apart
// never share a slot of the ring.
func (s *Sampler) round(ctx context.Context, env SamplerEnv) int {
	if ctx.Err() != nil {
		return 0
	}
	name := env.Config.Name
	log := s.log().With("env", name)
	at := s.now()
	started := time.Now()
	defer func() { s.Metrics.sampleRound(name, time.Since(started)) }()
	targets, err := s.targets(ctx, env)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("stats sampling: cannot list the containers; next round tries again", "err", err)
			s.Metrics.sampleFailed(name, SampleStageList)
		}
		return 0
	}
	samples := make([]containers.Sample, len(targets))
	taken := make([]bool, len(targets))
	inFlight := make(chan struct{}, maxConcurrentStats)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() {
			inFlight <- struct{}{}
			defer func() { <-inFlight }()
			samples[i], taken[i] = s.sample(ctx, env, t, at, log)
		})
	}
	wg.Wait()
	saved := samples[:0]
	for i, sm := range samples {
		if taken[i] {
			saved = append(saved, sm)
		}
	}
	if len(saved) > 0 {
		storeCtx, cancel := context.WithTimeout(ctx, sampleStoreTimeout)
		err := s.Store.AppendSamples(storeCtx, saved)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("stats sampling: cannot save the round's samples; next round tries again", "samples", len(saved), "err", err)
				s.Metrics.sampleFailed(name, SampleStageStore)
			}
			return 0
		}
	}
	s.Metrics.samplesSaved(name, len(saved))
	return len(saved)
}

// targets lists env's running services with their containers, resolved as
// the commands and the watchers resolve them, and forgets the cached
// limits of the containers no longer listed.
func (s *Sampler) targets(ctx context.Context, env SamplerEnv) ([]sampleTarget, error) {
	listCtx, cancel := context.WithTimeout(ctx, keepOr(s.CallTimeout, DefaultSampleCallTimeout))
	list, err := env.Engine.Containers(listCtx)
	cancel()
	if err != nil {
		return nil, err
	}
	var out []sampleTarget
	for _, svc := range env.Config.Services {
		c := commands.ResolveContainer(svc, env.Config.ComposeProject, list)
		if c != nil && c.State == "running" {
			out = append(out, sampleTarget{service: svc.Name, containerID: c.ID})
		}
	}
	s.forgetGone(env.Config.Name, list)
	return out, nil
}

// sample takes one service's sample; false when its stats could not be
// read (logged and counted). Limits that cannot be read leave the sample
// without them (0: none known) rather than losing it.
func (s *Sampler) sample(ctx context.Context, env SamplerEnv, t sampleTarget, at time.Time, log *slog.Logger) (containers.Sample, bool) {
	timeout := keepOr(s.CallTimeout, DefaultSampleCallTimeout)
	memoryLimit, cpuLimit, err := s.limitsOf(ctx, env, t.containerID, timeout)
	if err != nil && ctx.Err() == nil {
		log.Warn("stats sampling: cannot read the container's limits; sampled without them", "service", t.service, "err", err)
		s.Metrics.sampleFailed(env.Config.Name, SampleStageLimits)
	}
	statsCtx, cancel := context.WithTimeout(ctx, timeout)
	st, err := env.Engine.Stats(statsCtx, t.containerID)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("stats sampling: cannot read the container's stats; next round tries again", "service", t.service, "err", err)
			s.Metrics.sampleFailed(env.Config.Name, SampleStageStats)
		}
		return containers.Sample{}, false
	}
	return containers.Sample{Env: env.Config.Name, Service: t.service, Time: at, CPUPercent: st.CPUPercent,
		MemoryBytes: st.MemoryUsage, MemoryLimit: memoryLimit, CPULimit: cpuLimit}, true
}

// limitsOf returns a container's configured limits, from the cache when
// they were read less than sampleLimitsMaxAge ago. A failure is not
// cached: the next round asks again.
func (s *Sampler) limitsOf(ctx context.Context, env SamplerEnv, id string, timeout time.Duration) (uint64, float64, error) {
	key := limitsKey{env: env.Config.Name, id: id}
	now := s.now()
	s.mu.Lock()
	cached, ok := s.limits[key]
	s.mu.Unlock()
	if ok && now.Sub(cached.readAt) < sampleLimitsMaxAge {
		return cached.memoryBytes, cached.cpus, nil
	}
	limitsCtx, cancel := context.WithTimeout(ctx, timeout)
	details, err := env.Engine.Inspect(limitsCtx, id)
	cancel()
	if err != nil {
		return 0, 0, err
	}
	memoryBytes, cpus := details.MemoryLimit, details.CPULimit
	s.mu.Lock()
	if s.limits == nil {
		s.limits = map[limitsKey]cachedLimits{}
	}
	s.limits[key] = cachedLimits{memoryBytes: memoryBytes, cpus: cpus, readAt: now}
	s.mu.Unlock()
	return memoryBytes, cpus, nil
}

// forgetGone drops the cached limits of env's containers that are not in
// list: recreated containers get new IDs, and the cache stays the size of
// the stacks.
func (s *Sampler) forgetGone(env string, list []containers.Container) {
	present := make(map[string]bool, len(list))
	for _, c := range list {
		present[c.ID] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for key := range s.limits {
		if key.env == env && !present[key.id] {
			delete(s.limits, key)
		}
	}
}

func (s *Sampler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sampler) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}
