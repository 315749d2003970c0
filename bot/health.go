package bot

import (
	"context"
	"sync"
	"time"
)

// probeTimeout bounds each dependency's answer to /healthz: a dependency
// that does not answer in time is down.
const probeTimeout = 2 * time.Second

// Probe is one dependency that /healthz asks: the Docker engine of an
// environment, the store, a database, a Prefect.
type Probe struct {
	Name string // "docker[prod]", "store", "database[prod]", "prefect[prod]"
	// Required: mfbot cannot do its job without it (/healthz answers 503
	// when it fails); the others are reported only.
	Required bool
	Check    func(ctx context.Context) error
	// Detail, when set, says what the probe saw, failed or not (the age
	// of the last message from Slack).
	Detail func() string
}

// probeResult is what /healthz says of one probe.
type probeResult struct {
	OK       bool   `json:"ok"`
	Required bool   `json:"required"`
	Error    string `json:"error,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// runProbes asks every probe at once, each bounded by probeTimeout, and
// says whether every required one answered. redact cleans error texts
// (they may quote a URL).
func runProbes(ctx context.Context, probes []Probe, redact func(string) string) (map[string]probeResult, bool) {
	results := make(map[string]probeResult, len(probes))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range probes {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, probeTimeout)
			defer cancel()
			err := p.Check(ctx)
			res := probeResult{OK: err == nil, Required: p.Required}
			if p.Detail != nil {
				res.Detail = p.Detail()
			}
			if err != nil {
				res.Error = err.Error()
			}
			if redact != nil { // what a probe says may quote a dependency's words
				res.Error, res.Detail = redact(res.Error), redact(res.Detail)
			}
			mu.Lock()
			results[p.Name] = res
			mu.Unlock()
		})
	}
	wg.Wait()
	healthy := true
	for _, res := range results {
		if res.Required && !res.OK {
			healthy = false
		}
	}
	return results, healthy
}
