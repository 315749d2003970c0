package slack

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// usergroupCache keeps the member lists of user groups (authorization asks
// for them on every command). One refresh per group at a time; callers
// asking meanwhile wait for it. A failed refresh keeps serving the last
// good list for up to stale after it was fetched, and is not tried again
// before failedRetry: an outage of Slack does not turn every command into
// a slow failure.
type usergroupCache struct {
	ttl, stale time.Duration
	log        *slog.Logger

	mu     sync.Mutex
	groups map[string]*groupEntry
}

type groupEntry struct {
	members  []string  // nil until a first successful fetch
	fetched  time.Time // of members
	failedAt time.Time // last failed refresh, zero after a success
	loading  chan struct{}
}

// failedRetry: after a failed refresh with a stale list at hand, the stale
// list is served without trying again for this long (bounded by ttl).
const failedRetry = 30 * time.Second

func newUsergroupCache(ttl, stale time.Duration, log *slog.Logger) *usergroupCache {
	return &usergroupCache{ttl: ttl, stale: stale, log: log, groups: map[string]*groupEntry{}}
}

// fetchFunc loads a group's members; haveStale says a stale list can be
// served if it fails, so it should not insist.
type fetchFunc func(ctx context.Context, haveStale bool) ([]string, error)

func (c *usergroupCache) get(ctx context.Context, id string, fetch fetchFunc) ([]string, error) {
	for {
		c.mu.Lock()
		e := c.groups[id]
		if e == nil {
			e = &groupEntry{}
			c.groups[id] = e
		}
		now := time.Now()
		usable := e.members != nil && now.Sub(e.fetched) < c.stale
		switch {
		case e.members != nil && now.Sub(e.fetched) < c.ttl:
			members := slices.Clone(e.members)
			c.mu.Unlock()
			return members, nil
		case usable && !e.failedAt.IsZero() && now.Sub(e.failedAt) < min(failedRetry, c.ttl):
			members := slices.Clone(e.members)
			c.mu.Unlock()
			return members, nil
		case e.loading != nil:
			if usable { // someone is refreshing: the stale list will do
				members := slices.Clone(e.members)
				c.mu.Unlock()
				return members, nil
			}
			loading := e.loading
			c.mu.Unlock()
			select {
			case <-loading:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		e.loading = make(chan struct{})
		c.mu.Unlock()

		members, err := fetch(ctx, usable)

		c.mu.Lock()
		close(e.loading)
		e.loading = nil
		if err == nil {
			e.members, e.fetched, e.failedAt = slices.Clone(members), time.Now(), time.Time{}
			c.mu.Unlock()
			return members, nil
		}
		e.failedAt = time.Now()
		if e.members != nil && time.Since(e.fetched) < c.stale {
			stale := slices.Clone(e.members)
			age := time.Since(e.fetched).Round(time.Second)
			c.mu.Unlock()
			c.log.Warn("user group refresh failed, serving the previous list", "group", id, "age", age, "err", err)
			return stale, nil
		}
		c.mu.Unlock()
		return nil, err
	}
}
