package watch

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"mfbot/incident"
	"mfbot/pipeline"
)

// The freshness watcher has heard from an environment when its app or
// its database answered a poll, not when neither did.
func TestFreshnessSeenWhenASourceAnswers(t *testing.T) {
	app, db := &fakeFacts{}, &fakeFacts{}
	var seen []string
	src := &FreshnessSource{Envs: []FreshnessEnv{{Name: "prod", App: app, DB: db}}, Thresholds: testThresholds,
		Now: func() time.Time { return fresh0 }, Seen: func(env string, at time.Time) { seen = append(seen, fmt.Sprint(env, " ", at.Equal(fresh0))) }}
	pollOnce := func() {
		t.Helper()
		signals := make(chan incident.Signal, 16)
		if !src.poll(context.Background(), src.Envs[0], signals) {
			t.Fatal("poll: the context ended?")
		}
	}
	pollOnce()
	app.set(func(f *fakeFacts) { f.err = errors.New("GET http://app:8880/api/v1/healthcheck: connection refused") })
	pollOnce() // the database answers
	db.set(func(f *fakeFacts) { f.err = errors.New("database unreachable") })
	pollOnce() // neither answers
	if want := []string{"prod true", "prod true"}; fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("Seen %v, want %v", seen, want)
	}
}

// The Prefect watcher has heard from an environment when the API answered
// the poll.
func TestPrefectSeenWhenTheAPIAnswers(t *testing.T) {
	api := &fakePrefect{}
	src, p, clk := pfWatcher(api, time.Time{})
	var seen []time.Time
	src.Seen = func(env string, at time.Time) {
		if env != "prod" {
			t.Errorf("Seen for %q", env)
		}
		seen = append(seen, at)
	}
	p.poll(context.Background())
	api.set(func(f *fakePrefect) {
		f.finishedErr = fmt.Errorf("%w: dial tcp 10.0.0.5:4200: connection refused", pipeline.ErrUnreachable)
	})
	clk.Add(time.Minute)
	p.poll(context.Background())
	if len(seen) != 1 || !seen[0].Equal(prefect0) {
		t.Fatalf("Seen at %v, want once at %v", seen, prefect0)
	}
}
