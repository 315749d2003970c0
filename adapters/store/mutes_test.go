package store

import (
	"context"
	"mfbot/mute"
	"testing"
	"time"
)

func TestMutes(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		now := time.Date(2026, 11, 27, 10, 0, 0, 123, time.UTC)
		for _, m := range []mute.Mute{
			{Env: "prod", Target: "app", Until: now.Add(time.Hour), Reason: "deploying v1.54", By: "U1", CreatedAt: now},
			{Env: "prod", Target: "db", Until: now.Add(30 * time.Minute), By: "U1", CreatedAt: now},
			{Env: "dev", Target: mute.All, Until: now.Add(2 * time.Hour), By: "U2", CreatedAt: now},
			{Env: "prod", Target: "app", Until: now.Add(-time.Minute), By: "U1", CreatedAt: now.Add(-time.Hour)},
		} {
			if _, err := s.AddMute(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		active, err := s.ActiveMutes(ctx, now)
		if err != nil || len(active) != 3 || active[0].Target != "db" || active[2].Env != "dev" {
			t.Fatalf("active %+v, %v", active, err)
		}
		if a := active[1]; a.Reason != "deploying v1.54" || !a.Until.Equal(now.Add(time.Hour)) || !a.CreatedAt.Equal(now) || a.ID == 0 {
			t.Fatalf("round trip %+v", a)
		}
		if !active[2].Covers("dev", "anything", now) || active[2].Covers("prod", "app", now) || active[1].Covers("prod", "app", now.Add(time.Hour)) {
			t.Fatal("Covers")
		}
		n, err := s.EndMutes(ctx, "prod", "app", now)
		if err != nil || n != 1 {
			t.Fatalf("end app: %d %v", n, err)
		}
		n, err = s.EndMutes(ctx, "prod", mute.All, now)
		if err != nil || n != 1 {
			t.Fatalf("end all of prod: %d %v", n, err)
		}
		if active, _ := s.ActiveMutes(ctx, now); len(active) != 1 || active[0].Env != "dev" {
			t.Fatalf("left %+v", active)
		}
	})
}

func TestCursorsNeverMoveBack(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		if c, err := s.Cursor(ctx, "prod", "docker"); err != nil || !c.IsZero() {
			t.Fatalf("no cursor: %v %v", c, err)
		}
		t1 := time.Date(2026, 11, 27, 10, 0, 0, 987654321, time.UTC)
		for _, c := range []time.Time{t1, t1.Add(-time.Hour)} {
			if err := s.SaveCursor(ctx, "prod", "docker", c); err != nil {
				t.Fatal(err)
			}
		}
		if c, err := s.Cursor(ctx, "prod", "docker"); err != nil || !c.Equal(t1) {
			t.Fatalf("cursor %v %v, want %v", c, err, t1)
		}
	})
}
