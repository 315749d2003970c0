package containers

import (
	"context"
	"time"
)

// Sample is one service's resource use at one moment, as mfbot's sampler
// keeps it for charts (`stats <svc> --chart`): CPU over the interval
// since the previous sample, memory at the moment.
type Sample struct {
	Env, Service string
	Time         time.Time
	// CPUPercent is the share of one core (200 = two cores busy), like
	// `docker stats`.
	CPUPercent float64
	// MemoryBytes is the memory used (cache excluded, like `docker stats`).
	MemoryBytes uint64
	// MemoryLimit is the container's memory limit; 0: none set (the
	// engine then reports the host's memory, which is not a limit).
	MemoryLimit uint64
	// CPULimit is the container's CPU limit in cores (--cpus); 0: none.
	CPULimit float64
}

// SampleStore keeps samples in a bounded ring per service: the oldest are
// overwritten, so the store never grows with time (adapters/store: a slot
// per minute, 7 days; two samples of the same minute share its slot, the
// later one kept).
type SampleStore interface {
	// AppendSamples saves samples (one per service and moment), all or
	// none.
	AppendSamples(ctx context.Context, samples []Sample) error
	// Samples returns the samples of a service taken in [from, to),
	// oldest first; a zero from or to leaves that end open.
	Samples(ctx context.Context, env, service string, from, to time.Time) ([]Sample, error)
}
