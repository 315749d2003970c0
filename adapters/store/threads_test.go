package store

import (
	"context"
	"mfbot/reply"
	"testing"
	"time"
)

func TestThreadTargets(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		if _, ok, err := s.ThreadTarget(ctx, "C1", "1700000000.000100"); ok || err != nil {
			t.Errorf("unknown thread: %v, %v; want not found", ok, err)
		}
		app := reply.Target{Env: "prod", Service: "app"}
		if err := s.SaveThreadTarget(ctx, "C1", "1700000000.000100", app); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveThreadTarget(ctx, "C2", "1700000000.000100", reply.Target{Env: "dev", Service: "Logbook"}); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := s.ThreadTarget(ctx, "C1", "1700000000.000100"); !ok || err != nil || got != app {
			t.Errorf("ThreadTarget = %+v, %v, %v; want %+v", got, ok, err, app)
		}
		db := reply.Target{Env: "prod", Service: "db"}
		if err := s.SaveThreadTarget(ctx, "C1", "1700000000.000100", db); err != nil {
			t.Fatalf("saving again: %v", err)
		}
		if got, ok, err := s.ThreadTarget(ctx, "C1", "1700000000.000100"); !ok || err != nil || got != db {
			t.Errorf("after saving again %+v, %v, %v; want %+v", got, ok, err, db)
		}
		if err := s.SaveThreadTarget(ctx, "", "1.2", app); err == nil {
			t.Error("empty channel accepted")
		}

		if n, err := s.PurgeThreadTargets(ctx, time.Now().Add(-time.Hour)); n != 0 || err != nil {
			t.Errorf("purging nothing: %d, %v", n, err)
		}
		if n, err := s.PurgeThreadTargets(ctx, time.Now().Add(time.Second)); n != 2 || err != nil {
			t.Errorf("purging all: %d, %v; want 2", n, err)
		}
		if _, ok, _ := s.ThreadTarget(ctx, "C1", "1700000000.000100"); ok {
			t.Error("purged target still there")
		}
	})
}
