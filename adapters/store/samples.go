package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"mfbot/containers"
)

// sampleRingSlots is the capacity of each service's ring of stats samples:
// one a minute for 7 days (10,080). Seven days is the longest window a
// command may ask for (limits.max_since is at most 7d), so a chart of any
// allowed --since finds its samples, and the table stays at 10,080 rows a
// service whatever mfbot's uptime.
const sampleRingSlots = 7 * 24 * 60

// The samples' SQL is the same on both dialects: PostgreSQL's $n
// placeholders are also SQLite's ordinal parameters (modernc.org/sqlite
// binds $1 to the first argument), and both have INSERT … ON CONFLICT.
const (
	// upsertSample: env, service, slot, time_ns, cpu_percent,
	// memory_bytes, memory_limit, cpu_limit. A sample replaces the slot's
	// row only when it is not older: a late batch never overwrites a newer
	// lap of the ring.
	upsertSample = `
INSERT INTO stats_samples (env, service, slot, time_ns, cpu_percent, memory_bytes, memory_limit, cpu_limit)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (env, service, slot) DO UPDATE SET time_ns = excluded.time_ns, cpu_percent = excluded.cpu_percent,
	memory_bytes = excluded.memory_bytes, memory_limit = excluded.memory_limit, cpu_limit = excluded.cpu_limit
WHERE stats_samples.time_ns <= excluded.time_ns`
	// windowSamples: env, service, from, to → the window's samples, oldest
	// first. Slots left from older laps fall outside the window by their
	// time, whatever their slot.
	windowSamples = `
SELECT time_ns, cpu_percent, memory_bytes, memory_limit, cpu_limit FROM stats_samples
WHERE env = $1 AND service = $2 AND time_ns >= $3 AND time_ns < $4
ORDER BY time_ns`
	// purgeSamples: older_than.
	purgeSamples = `DELETE FROM stats_samples WHERE time_ns < $1`
)

// AppendSamples saves samples in one transaction, each in its service's
// ring: the slot of its minute, replacing what an earlier lap left there.
// A sample without env or service, with a time out of range or a CPU
// value that is not a number is refused, and nothing of the batch is saved.
func (s *Store) AppendSamples(ctx context.Context, samples []containers.Sample) error {
	return s.appendSamples(ctx, samples, sampleRingSlots)
}

// appendSamples is AppendSamples with a ring of slots slots (tests use
// small rings to go round them).
func (s *Store) appendSamples(ctx context.Context, samples []containers.Sample, slots int) error {
	if len(samples) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(samples))
	for _, sm := range samples {
		row, err := sampleRow(sm, slots)
		if err != nil {
			return fmt.Errorf("save stats samples: %w", err)
		}
		rows = append(rows, row)
	}
	err := inTx(ctx, s.write, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, upsertSample)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		defer stmt.Close()
		for i, row := range rows {
			if _, err := stmt.ExecContext(ctx, row...); err != nil {
				return fmt.Errorf("sample of %s/%s: %w", samples[i].Env, samples[i].Service, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save %d stats samples: %w", len(samples), scrubErr(s.scrub, err))
	}
	return nil
}

// sampleRow is the upsert's arguments for one sample.
func sampleRow(sm containers.Sample, slots int) ([]any, error) {
	if sm.Env == "" || sm.Service == "" {
		return nil, fmt.Errorf("a sample needs an environment and a service, got %q/%q", sm.Env, sm.Service)
	}
	at, err := toNanos(sm.Time)
	if err != nil {
		return nil, fmt.Errorf("sample of %s/%s: %w", sm.Env, sm.Service, err)
	}
	for _, v := range []float64{sm.CPUPercent, sm.CPULimit} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("sample of %s/%s: CPU value %v is not a number", sm.Env, sm.Service, v)
		}
	}
	return []any{sm.Env, sm.Service, ringSlot(sm.Time, slots), at, sm.CPUPercent,
		clampBytes(sm.MemoryBytes), clampBytes(sm.MemoryLimit), sm.CPULimit}, nil
}

// ringSlot is the slot of t's minute in a ring of slots slots: the
// minutes since the Unix epoch modulo slots, never negative.
func ringSlot(t time.Time, slots int) int64 {
	minute := t.Unix() / 60
	if t.Unix()%60 < 0 {
		minute-- // floor, not truncation, before 1970
	}
	n := int64(slots)
	return (minute%n + n) % n
}

// clampBytes stores a byte count in a signed 64-bit column (no memory
// comes near 8 EiB; the clamp only keeps a bogus value from failing).
func clampBytes(b uint64) int64 {
	if b > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(b)
}

// Samples returns the samples of env's service taken in [from, to),
// oldest first. A zero from or to leaves that end open.
func (s *Store) Samples(ctx context.Context, env, service string, from, to time.Time) ([]containers.Sample, error) {
	lo, hi := windowNanos(from, math.MinInt64), windowNanos(to, math.MaxInt64)
	rows, err := s.read.QueryContext(ctx, windowSamples, env, service, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("read stats samples of %s/%s: %w", env, service, scrubErr(s.scrub, err))
	}
	defer rows.Close()
	var out []containers.Sample
	for rows.Next() {
		sm := containers.Sample{Env: env, Service: service}
		var at, memory, limit int64
		if err := rows.Scan(&at, &sm.CPUPercent, &memory, &limit, &sm.CPULimit); err != nil {
			return nil, fmt.Errorf("read stats samples of %s/%s: %w", env, service, err)
		}
		sm.Time, sm.MemoryBytes, sm.MemoryLimit = fromNanos(at), uint64(max(memory, 0)), uint64(max(limit, 0))
		out = append(out, sm)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read stats samples of %s/%s: %w", env, service, scrubErr(s.scrub, err))
	}
	return out, nil
}

// windowNanos is t in nanoseconds, open (the given bound) when t is zero,
// and clamped to the stored range otherwise: a window reaching past
// 1678 or 2262 is not an error, it just holds nothing more.
func windowNanos(t time.Time, open int64) int64 {
	if t.IsZero() {
		return open
	}
	if ns, err := toNanos(t); err == nil {
		return ns
	}
	if t.Before(time.Unix(0, 0)) {
		return math.MinInt64
	}
	return math.MaxInt64
}

// PurgeSamples deletes the samples taken before olderThan and says how
// many went. The rings are bounded already; this forgets the rings of
// services or environments that are gone from the configuration.
func (s *Store) PurgeSamples(ctx context.Context, olderThan time.Time) (int, error) {
	return s.purge(ctx, "purge stats samples", purgeSamples, 1, olderThan)
}

var _ containers.SampleStore = (*Store)(nil)
