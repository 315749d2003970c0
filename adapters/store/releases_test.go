package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"mfbot/audit"
	"mfbot/release"
)

// sameHolder tells whether got is want as stored (times compared as instants).
func sameHolder(got, want release.Holder) bool {
	return got.Env == want.Env && got.Token == want.Token && got.By == want.By && got.Command == want.Command &&
		got.Since.Equal(want.Since) && got.Until.Equal(want.Until)
}

func holder(env, token, by string, since time.Time, lease time.Duration) release.Holder {
	return release.Holder{Env: env, Token: token, By: by, Command: "deploy v1.54.0 app", Since: since, Until: since.Add(lease)}
}

func TestDeployLock(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		now := time.Date(2026, 12, 5, 10, 0, 0, 123, time.FixedZone("CET", 3600))
		a := holder("prod", "tok-a", "U1", now, 10*time.Minute)
		b := holder("prod", "tok-b", "console:alice", now.Add(time.Minute), 10*time.Minute)
		b.Command = "deploy v1.55.0 pipeline"

		acquire := func(what string, h release.Holder, at time.Time, wantOK bool, want release.Holder) {
			t.Helper()
			current, ok, err := s.AcquireDeploy(ctx, h, at)
			if err != nil || ok != wantOK || !sameHolder(current, want) {
				t.Fatalf("%s: %+v, %v, %v; want %+v, %v", what, current, ok, err, want, wantOK)
			}
			if current.Since.Location() != time.UTC || current.Until.Location() != time.UTC {
				t.Errorf("%s: times not in UTC: %+v", what, current)
			}
		}
		acquire("a free lock", a, now, true, a)
		acquire("again by its holder", a, now.Add(time.Second), true, a)
		acquire("held by another", b, b.Since, false, a)
		acquire("another environment", holder("dev", "tok-c", "U3", now, time.Minute), now, true,
			holder("dev", "tok-c", "U3", now, time.Minute))

		if err := s.ReleaseDeploy(ctx, "prod", "tok-b"); err != nil {
			t.Fatalf("release by a token that does not hold it: %v", err)
		}
		acquire("after a release by the wrong token", b, b.Since, false, a)

		if err := s.ReleaseDeploy(ctx, "prod", "tok-a"); err != nil {
			t.Fatal(err)
		}
		acquire("after its holder released it", b, b.Since, true, b)
		// a's late second release must not free b's lock.
		if err := s.ReleaseDeploy(ctx, "prod", "tok-a"); err != nil {
			t.Fatal(err)
		}
		acquire("after a stale release", holder("prod", "tok-x", "U4", b.Since, time.Minute), b.Since, false, b)
		if err := s.ReleaseDeploy(ctx, "staging", "tok-a"); err != nil {
			t.Errorf("release of an environment without a lock: %v", err)
		}
		// dev's lock was never touched by prod's.
		acquire("dev still held", holder("dev", "tok-y", "U5", now, time.Minute), now, false,
			holder("dev", "tok-c", "U3", now, time.Minute))
	})
}

func TestDeployLockLapses(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
		a := holder("prod", "tok-a", "U1", now, 10*time.Minute)
		if _, ok, err := s.AcquireDeploy(ctx, a, now); !ok || err != nil {
			t.Fatalf("acquire: %v, %v", ok, err)
		}
		just := a.Until.Add(-time.Nanosecond)
		if current, ok, err := s.AcquireDeploy(ctx, holder("prod", "tok-b", "U2", just, time.Minute), just); ok || err != nil || current.Token != "tok-a" {
			t.Fatalf("a nanosecond before it lapses: %+v, %v, %v; want a's", current, ok, err)
		}
		// A replica died mid-deploy: at Until the lock is free again.
		b := holder("prod", "tok-b", "U2", a.Until, 10*time.Minute)
		if current, ok, err := s.AcquireDeploy(ctx, b, a.Until); !ok || err != nil || !sameHolder(current, b) {
			t.Fatalf("lapsed lock taken over: %+v, %v, %v; want b's", current, ok, err)
		}
		// The dead holder's release, should it come, leaves b's lock.
		if err := s.ReleaseDeploy(ctx, "prod", "tok-a"); err != nil {
			t.Fatal(err)
		}
		again := holder("prod", "tok-a", "U1", a.Until, 10*time.Minute)
		if current, ok, err := s.AcquireDeploy(ctx, again, a.Until); ok || err != nil || !sameHolder(current, b) {
			t.Fatalf("a again after it lapsed: %+v, %v, %v; want b's", current, ok, err)
		}
	})
}

// TestDeployLockRace: replicas (two stores on one database) racing for
// one environment's lock, free or lapsed: exactly one gets it, the others
// are told who.
func TestDeployLockRace(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		dsn := d.fresh(t)
		stores := []*Store{openStore(t, dsn), openStore(t, dsn)}
		now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
		for round := range 4 {
			env := fmt.Sprintf("env-%d", round)
			if round%2 == 1 { // a lapsed lock to take over
				if _, ok, err := stores[0].AcquireDeploy(ctx, holder(env, "dead", "U0", now.Add(-time.Hour), time.Minute), now.Add(-time.Hour)); !ok || err != nil {
					t.Fatalf("round %d: seed: %v, %v", round, ok, err)
				}
			}
			const racers = 8
			type result struct {
				token   string
				current release.Holder
				ok      bool
			}
			results := make(chan result, racers)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for g := range racers {
				s := stores[g%2]
				h := holder(env, fmt.Sprintf("tok-%d", g), fmt.Sprintf("U%d", g), now, 10*time.Minute)
				wg.Go(func() {
					<-start
					current, ok, err := s.AcquireDeploy(ctx, h, now)
					if err != nil {
						t.Error(err)
						return
					}
					results <- result{h.Token, current, ok}
				})
			}
			close(start)
			wg.Wait()
			close(results)
			var winners []string
			var all []result
			for r := range results {
				all = append(all, r)
				if r.ok {
					winners = append(winners, r.token)
				}
			}
			if len(winners) != 1 {
				t.Fatalf("round %d: winners %v, want exactly one", round, winners)
			}
			for _, r := range all {
				if r.current.Token != winners[0] {
					t.Errorf("round %d: %s was told %s holds the lock, want %s", round, r.token, r.current.Token, winners[0])
				}
			}
		}
	})
}

func TestAcquireDeployRefusesBadHolders(t *testing.T) {
	s := openMemory(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	for what, h := range map[string]release.Holder{
		"no environment":   holder("", "tok", "U1", now, time.Minute),
		"no token":         holder("prod", "", "U1", now, time.Minute),
		"lapses at once":   holder("prod", "tok", "U1", now, 0),
		"no since":         {Env: "prod", Token: "tok", Until: now.Add(time.Minute)},
		"until year 3000":  {Env: "prod", Token: "tok", Since: now, Until: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"lapsed long ago":  holder("prod", "tok", "U1", now.Add(-time.Hour), time.Minute),
		"the zero holder":  {},
		"only a zero time": {Env: "prod", Token: "tok", Since: now},
	} {
		if current, ok, err := s.AcquireDeploy(ctx, h, now); err == nil || ok || current != (release.Holder{}) {
			t.Errorf("%s: %+v, %v, %v; want an error", what, current, ok, err)
		}
	}
	// Nothing was taken.
	if _, ok, err := s.AcquireDeploy(ctx, holder("prod", "tok", "U1", now, time.Minute), now); !ok || err != nil {
		t.Errorf("acquire after the refusals: %v, %v", ok, err)
	}
}

func TestDeploys(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		if got, ok, err := s.LastDeploy(ctx, "prod", release.App); ok || err != nil {
			t.Fatalf("LastDeploy with none: %+v, %v, %v", got, ok, err)
		}
		t0 := time.Date(2026, 12, 5, 10, 0, 0, 987654321, time.UTC)
		record := func(env, target, version, outcome string, at time.Time) release.Deploy {
			t.Helper()
			in := release.Deploy{Env: env, Target: target, Version: version, Outcome: outcome, At: at,
				By: "U1", Took: 90*time.Second + 7}
			out, err := s.RecordDeploy(ctx, in)
			if err != nil || out.ID == 0 {
				t.Fatalf("record %s %s %s: %+v, %v", env, target, version, out, err)
			}
			in.ID = out.ID
			if out != in {
				t.Fatalf("RecordDeploy returned %+v, want %+v", out, in)
			}
			return out
		}
		last := func(env, target string) release.Deploy {
			t.Helper()
			got, ok, err := s.LastDeploy(ctx, env, target)
			if !ok || err != nil {
				t.Fatalf("LastDeploy(%s, %s): %+v, %v, %v", env, target, got, ok, err)
			}
			return got
		}

		// Every field round-trips.
		full := release.Deploy{
			Env: "prod", Target: release.App, Version: "v1.53.0", Previous: "v1.52.1",
			Image:   "ghcr.io/mtes-mct/monitorfish/monitorfish-app:v1.53.0",
			ImageID: "sha256:" + strings.Repeat("ab", 32),
			Digest:  "ghcr.io/mtes-mct/monitorfish/monitorfish-app@sha256:" + strings.Repeat("cd", 32),
			Outcome: release.Deployed, Detail: "", By: "console:alice",
			At: t0.In(time.FixedZone("CET", 3600)), Took: 2*time.Minute + 3*time.Millisecond + 1,
		}
		first, err := s.RecordDeploy(ctx, full)
		if err != nil || first.ID == 0 {
			t.Fatalf("record: %+v, %v", first, err)
		}
		got := last("prod", release.App)
		want := full
		want.ID, want.At = first.ID, t0
		if got != want {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
		}

		second := record("prod", release.App, "v1.54.0", release.Deployed, t0.Add(time.Hour))
		failed := record("prod", release.App, "v1.55.0", release.Failed, t0.Add(2*time.Hour))
		if second.ID == first.ID || failed.ID == second.ID {
			t.Fatalf("IDs %d %d %d are not distinct", first.ID, second.ID, failed.ID)
		}
		pipeline := record("prod", release.Pipeline, "v1.55.0", release.Deployed, t0.Add(3*time.Hour))
		devRolledBack := record("dev", release.App, "v1.56.0", release.RolledBack, t0.Add(4*time.Hour))
		record("staging", release.App, "v1.56.0", release.Failed, t0.Add(4*time.Hour))

		if got := last("prod", release.App); got.ID != second.ID || got.Version != "v1.54.0" {
			t.Errorf("prod app: %+v, want v1.54.0 (the failed v1.55.0 ignored)", got)
		}
		if got := last("prod", release.Pipeline); got.ID != pipeline.ID {
			t.Errorf("prod pipeline: %+v, want %+v", got, pipeline)
		}
		if got := last("dev", release.App); got.ID != devRolledBack.ID || got.Outcome != release.RolledBack {
			t.Errorf("dev app: %+v, want the rolled back %+v", got, devRolledBack)
		}
		if got, ok, err := s.LastDeploy(ctx, "staging", release.App); ok || err != nil {
			t.Errorf("staging app, only failed: %+v, %v, %v; want none", got, ok, err)
		}
		if got, ok, err := s.LastDeploy(ctx, "dev", release.Pipeline); ok || err != nil {
			t.Errorf("dev pipeline, never deployed: %+v, %v, %v; want none", got, ok, err)
		}

		// The newest by At, whatever the order of recording; then by ID.
		rolledBack := record("prod", release.App, "v1.55.0", release.RolledBack, t0.Add(5*time.Hour))
		record("prod", release.App, "v1.50.0", release.Deployed, t0.Add(-time.Hour))
		if got := last("prod", release.App); got.ID != rolledBack.ID {
			t.Errorf("prod app: %+v, want the rolled back v1.55.0 %+v", got, rolledBack)
		}
		tie := record("prod", release.App, "v1.57.0", release.Deployed, t0.Add(5*time.Hour))
		if got := last("prod", release.App); got.ID != tie.ID {
			t.Errorf("prod app, two at the same time: %+v, want the later recorded %+v", got, tie)
		}

		for what, bad := range map[string]release.Deploy{
			"no environment":  {Target: release.App, Outcome: release.Deployed, At: t0},
			"no target":       {Env: "prod", Outcome: release.Deployed, At: t0},
			"unknown outcome": {Env: "prod", Target: release.App, Outcome: "ok", At: t0},
			"no time":         {Env: "prod", Target: release.App, Outcome: release.Deployed},
		} {
			if out, err := s.RecordDeploy(ctx, bad); err == nil || out.ID != 0 {
				t.Errorf("%s: %+v, %v; want an error", what, out, err)
			}
		}
	})
}

func TestPurgeDeploys(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
		ids := map[string]int64{}
		record := func(name, env, target, outcome string, at time.Time) {
			t.Helper()
			out, err := s.RecordDeploy(ctx, release.Deploy{Env: env, Target: target, Version: name, Outcome: outcome, At: at})
			if err != nil {
				t.Fatal(err)
			}
			ids[name] = out.ID
		}
		record("app-1", "prod", release.App, release.Deployed, t0)
		record("app-2", "prod", release.App, release.Deployed, t0.Add(time.Hour))
		record("app-3", "prod", release.App, release.Failed, t0.Add(2*time.Hour))
		record("pipeline-1", "prod", release.Pipeline, release.Deployed, t0)
		record("dev-1", "dev", release.App, release.Failed, t0)

		// Only app-1 is old and followed by a newer running deploy.
		if n, err := s.PurgeDeploys(ctx, t0.Add(10*time.Hour)); n != 1 || err != nil {
			t.Fatalf("PurgeDeploys = %d, %v; want 1", n, err)
		}
		if got, ok, _ := s.LastDeploy(ctx, "prod", release.App); !ok || got.ID != ids["app-2"] {
			t.Errorf("prod app after the purge: %+v, %v; want app-2", got, ok)
		}
		if got, ok, _ := s.LastDeploy(ctx, "prod", release.Pipeline); !ok || got.ID != ids["pipeline-1"] {
			t.Errorf("prod pipeline after the purge: %+v, %v; want pipeline-1", got, ok)
		}

		record("app-4", "prod", release.App, release.RolledBack, t0.Add(3*time.Hour))
		if n, err := s.PurgeDeploys(ctx, t0.Add(time.Hour)); n != 0 || err != nil {
			t.Fatalf("PurgeDeploys before app-2 = %d, %v; want 0", n, err)
		}
		if n, err := s.PurgeDeploys(ctx, t0.Add(10*time.Hour)); n != 2 || err != nil {
			t.Fatalf("PurgeDeploys = %d, %v; want 2 (app-2, app-3)", n, err)
		}
		if got, ok, _ := s.LastDeploy(ctx, "prod", release.App); !ok || got.ID != ids["app-4"] {
			t.Errorf("prod app after the second purge: %+v, %v; want app-4", got, ok)
		}
		if _, err := s.PurgeDeploys(ctx, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
			t.Error("year 3000 accepted")
		}
	})
}

// TestOpenMigratesToDeploys: a store at schema v9 (before the releases)
// opens at the latest schema with its data kept and the releases usable.
func TestOpenMigratesToDeploys(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		migs := d.migrations()
		if len(migs) < 10 || migs[9].version != 10 || migs[9].name != "deploys and deploy locks" {
			t.Fatalf("migration 10 is not the releases' one: %d migrations", len(migs))
		}
		dsn := d.fresh(t)
		old := d.raw(t, dsn)
		if v, err := migrate(ctx, old, d.queries(), migs[:9]); err != nil || v != 9 {
			t.Fatalf("migrate to v9: v%d, %v", v, err)
		}
		for _, stmt := range []string{
			`INSERT INTO audit (time_ns, user_id, channel, env, command, target, outcome, duration_ns, via)
			VALUES (1700000000000000001, 'U1', 'C1', 'prod', 'status', '', 'ok', 5, 'console')`,
			`INSERT INTO slack_deliveries (id, seen_ns) VALUES ('Ev1', 1700000000000000002)`,
			`INSERT INTO mutes (env, target, until_ns, reason, created_by, created_ns)
			VALUES ('prod', 'app', 9000000000000000000, 'maintenance', 'U1', 1700000000000000003)`,
		} {
			if _, err := old.Exec(stmt); err != nil {
				t.Fatal(err)
			}
		}
		if err := old.Close(); err != nil {
			t.Fatal(err)
		}

		s := openStore(t, dsn)
		if want := fmt.Sprintf("(schema v%d)", len(migs)); !strings.HasSuffix(s.Describe(), want) {
			t.Errorf("Describe() = %q, want %s", s.Describe(), want)
		}
		if entries, err := s.RecentAudit(ctx, 10); err != nil || len(entries) != 1 || entries[0].Time.UnixNano() != 1700000000000000001 {
			t.Errorf("audit kept across the migration: %+v, %v", entries, err)
		}
		if first, err := s.ClaimDelivery(ctx, "Ev1", time.Now()); first || err != nil {
			t.Errorf("a delivery claimed before the migration claimed again: %v, %v", first, err)
		}
		if mutes, err := s.ActiveMutes(ctx, time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)); err != nil || len(mutes) != 1 || mutes[0].Reason != "maintenance" {
			t.Errorf("mutes kept across the migration: %+v, %v", mutes, err)
		}

		now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
		if _, ok, err := s.AcquireDeploy(ctx, holder("prod", "tok", "U1", now, time.Minute), now); !ok || err != nil {
			t.Errorf("deploy lock after the migration: %v, %v", ok, err)
		}
		rec, err := s.RecordDeploy(ctx, release.Deploy{Env: "prod", Target: release.App, Version: "v1.54.0", Outcome: release.Deployed, At: now})
		if err != nil {
			t.Fatal(err)
		}
		if got, ok, err := s.LastDeploy(ctx, "prod", release.App); !ok || err != nil || got.ID != rec.ID {
			t.Errorf("deploys after the migration: %+v, %v, %v", got, ok, err)
		}
		if err := s.AppendAudit(ctx, audit.Entry{Time: now, Command: "deploy"}); err != nil {
			t.Errorf("audit after the migration: %v", err)
		}
		if versions, maxVersion, distinct := schemaHistory(t, d.raw(t, dsn)); versions != len(migs) || maxVersion != len(migs) || distinct != len(migs) {
			t.Errorf("schema_migrations: %d rows (%d distinct) up to v%d, want %d", versions, distinct, maxVersion, len(migs))
		}
	})
}

func TestReleaseCallsHonourContextAndWrapErrors(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		s := d.open(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		now := time.Now()
		checks := map[string]error{
			"release deploy lock": s.ReleaseDeploy(ctx, "prod", "tok"),
		}
		_, _, checks["acquire deploy lock"] = s.AcquireDeploy(ctx, holder("prod", "tok", "U1", now, time.Minute), now)
		_, checks["record deploy"] = s.RecordDeploy(ctx, release.Deploy{Env: "prod", Target: release.App, Outcome: release.Deployed, At: now})
		_, _, checks["read last deploy"] = s.LastDeploy(ctx, "prod", release.App)
		_, checks["purge deploys"] = s.PurgeDeploys(ctx, now)
		for what, err := range checks {
			if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), what) {
				t.Errorf("%s with a cancelled context: %v", what, err)
			}
		}
	})
}

func TestDeployHolder(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		st := d.open(t)
		ctx := context.Background()
		now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
		if _, ok, err := st.DeployHolder(ctx, "prod", now); err != nil || ok {
			t.Fatalf("nobody holds it yet: ok %v err %v", ok, err)
		}
		h := release.Holder{Env: "prod", Token: "t1", By: "UOPS", Command: "deploy v2 app", Since: now, Until: now.Add(time.Minute)}
		if _, ok, err := st.AcquireDeploy(ctx, h, now); err != nil || !ok {
			t.Fatal(ok, err)
		}
		got, ok, err := st.DeployHolder(ctx, "prod", now.Add(time.Second))
		if err != nil || !ok || got.Token != "t1" || got.By != "UOPS" || got.Command != "deploy v2 app" || !got.Since.Equal(now) {
			t.Errorf("holder %+v ok %v err %v", got, ok, err)
		}
		if _, ok, _ := st.DeployHolder(ctx, "dev", now); ok {
			t.Error("another environment is held too")
		}
		if _, ok, _ := st.DeployHolder(ctx, "prod", now.Add(time.Minute)); ok {
			t.Error("a lapsed lock is still reported held")
		}
	})
}
