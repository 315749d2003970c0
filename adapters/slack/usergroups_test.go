package slack

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestUsergroupMembersCache(t *testing.T) {
	f := newFakeAPI(t)
	var failing atomic.Bool
	members := []string{"U1", "U2"}
	f.handle("usergroups.users.list", func(w http.ResponseWriter, c apiCall, n int) {
		if failing.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if c.Form.Get("usergroup") != "S1" {
			slackError("no_such_subteam")(w, c, n)
			return
		}
		writeJSON(w, map[string]any{"ok": true, "users": members})
	})
	c := f.client(ClientOptions{UsergroupTTL: 150 * time.Millisecond, UsergroupStale: 600 * time.Millisecond,
		RetryFor: 50 * time.Millisecond})
	ctx := context.Background()
	fetches := func() int { return len(f.callsTo("usergroups.users.list")) }

	got, err := c.UsergroupMembers(ctx, "S1")
	if err != nil || !slices.Equal(got, members) || fetches() != 1 {
		t.Fatalf("miss: %v %v, %d fetches", got, err, fetches())
	}
	got[0] = "mutated"
	got, _ = c.UsergroupMembers(ctx, "S1")
	if fetches() != 1 || got[0] != "U1" {
		t.Fatalf("hit: %d fetches, %v (callers must get their own copy)", fetches(), got)
	}

	time.Sleep(200 * time.Millisecond) // past the TTL
	if _, err := c.UsergroupMembers(ctx, "S1"); err != nil || fetches() != 2 {
		t.Fatalf("after TTL: %v, %d fetches", err, fetches())
	}

	// Slack fails: the last list is served (once the TTL is past), without
	// insisting (one attempt) and without retrying on every call.
	failing.Store(true)
	time.Sleep(200 * time.Millisecond)
	got, err = c.UsergroupMembers(ctx, "S1")
	if err != nil || !slices.Equal(got, members) {
		t.Fatalf("stale on error: %v %v", got, err)
	}
	if fetches() != 3 {
		t.Errorf("%d fetches: a refresh with a stale list at hand is tried once", fetches())
	}
	if _, err := c.UsergroupMembers(ctx, "S1"); err != nil || fetches() != 3 {
		t.Errorf("right after a failed refresh the stale list is served without calling Slack: %v, %d", err, fetches())
	}

	// Past UsergroupStale the failure shows.
	time.Sleep(500 * time.Millisecond)
	if _, err := c.UsergroupMembers(ctx, "S1"); err == nil {
		t.Error("a list older than UsergroupStale must not be served")
	}

	failing.Store(false)
	if _, err := c.UsergroupMembers(ctx, "S404"); err == nil {
		t.Error("an unknown group is an error")
	}
}

func TestUsergroupMembersConcurrentMissFetchesOnce(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("usergroups.users.list", func(w http.ResponseWriter, _ apiCall, _ int) {
		time.Sleep(100 * time.Millisecond)
		writeJSON(w, map[string]any{"ok": true, "users": []string{"U1"}})
	})
	c := f.client(ClientOptions{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, err := c.UsergroupMembers(context.Background(), "S1"); err != nil || len(got) != 1 {
				t.Errorf("%v %v", got, err)
			}
		}()
	}
	wg.Wait()
	if n := len(f.callsTo("usergroups.users.list")); n != 1 {
		t.Errorf("%d fetches for 20 concurrent callers, want 1", n)
	}
}
