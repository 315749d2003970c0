package store

import (
	"context"
	"errors"
	"fmt"
	"mfbot/audit"
	"mfbot/confirm"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func pending(id string, created time.Time) confirm.Request {
	return confirm.Request{
		ID:          id,
		Command:     "restart app",
		Env:         "prod",
		Target:      "app",
		RequestedBy: "U0REQUEST",
		Channel:     "C0OPS",
		CreatedAt:   created,
		ExpiresAt:   created.Add(2 * time.Minute),
	}
}

func TestConfirmationRoundTrip(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		created := time.Date(2025, 6, 1, 10, 0, 0, 987654321, time.FixedZone("X", -7*3600))
		p := pending("k3y-1", created)
		if err := s.CreateConfirmation(ctx, p); err != nil {
			t.Fatal(err)
		}
		now := created.Add(30*time.Second + 1)
		rec, decided, err := s.DecideConfirmation(ctx, p.ID, confirm.Confirmed, "U0OPERATOR", now)
		if err != nil || !decided {
			t.Fatalf("DecideConfirmation = %v, %v; want decided", decided, err)
		}
		want := confirm.Record{
			Request:   p,
			State:     confirm.Confirmed,
			DecidedBy: "U0OPERATOR",
			DecidedAt: now.UTC(),
		}
		want.CreatedAt, want.ExpiresAt = p.CreatedAt.UTC(), p.ExpiresAt.UTC()
		if rec != want {
			t.Errorf("record\n%+v\nwant\n%+v", rec, want)
		}

		// A second click: the record as it stands, not decided again.
		rec, decided, err = s.DecideConfirmation(ctx, p.ID, confirm.Cancelled, "U0OTHER", now.Add(time.Second))
		if err != nil || decided || rec != want {
			t.Errorf("second decision = %+v, %v, %v; want the first decision, not decided", rec, decided, err)
		}
	})
}

func TestDecideConfirmationErrors(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		now := time.Now()
		if _, _, err := s.DecideConfirmation(ctx, "nope", confirm.Confirmed, "U1", now); !errors.Is(err, confirm.ErrNotFound) {
			t.Errorf("unknown ID: %v, want ErrConfirmationNotFound", err)
		}
		if err := s.CreateConfirmation(ctx, pending("id", now)); err != nil {
			t.Fatal(err)
		}
		for _, state := range []confirm.State{confirm.Pending, confirm.Expired, "bogus"} {
			if _, _, err := s.DecideConfirmation(ctx, "id", state, "U1", now); err == nil {
				t.Errorf("deciding %q succeeded", state)
			}
		}
		if err := s.CreateConfirmation(ctx, pending("id", now)); err == nil || strings.Contains(err.Error(), `"id"`) {
			t.Errorf("duplicate ID: %v, want an error that does not quote the ID", err)
		}
		if err := s.CreateConfirmation(ctx, confirm.Request{CreatedAt: now, ExpiresAt: now}); err == nil {
			t.Error("empty ID accepted")
		}
	})
}

func TestDecideExpiredConfirmation(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		created := time.Now()
		p := pending("late", created)
		if err := s.CreateConfirmation(ctx, p); err != nil {
			t.Fatal(err)
		}
		// At ExpiresAt exactly it has expired.
		for i, at := range []time.Time{p.ExpiresAt, p.ExpiresAt.Add(time.Hour), created} {
			rec, decided, err := s.DecideConfirmation(ctx, p.ID, confirm.Confirmed, "U0OPERATOR", at)
			if err != nil || decided {
				t.Fatalf("click #%d: decided %v, %v; want not decided", i+1, decided, err)
			}
			if rec.State != confirm.Expired || rec.DecidedBy != "" || !rec.DecidedAt.Equal(p.ExpiresAt) {
				t.Errorf("click #%d: %+v, want expired at ExpiresAt", i+1, rec)
			}
		}
	})
}

func TestDecideConfirmationConcurrently(t *testing.T) {
	stores := map[string]func(t *testing.T) string{"memory": func(*testing.T) string { return ":memory:" }}
	for _, d := range dialects() {
		stores[d.name] = func(t *testing.T) string { return d.fresh(t) }
	}
	for name, fresh := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, fresh(t))
			now := time.Now()
			for round := range 5 {
				id := fmt.Sprintf("race-%d", round)
				if err := s.CreateConfirmation(ctx, pending(id, now)); err != nil {
					t.Fatal(err)
				}
				var winners atomic.Int32
				var winner atomic.Value
				var wg sync.WaitGroup
				start := make(chan struct{})
				for g := range 20 {
					wg.Go(func() {
						<-start
						state := confirm.Confirmed
						if g%2 == 1 {
							state = confirm.Cancelled
						}
						rec, decided, err := s.DecideConfirmation(ctx, id, state, fmt.Sprintf("U%d", g), now.Add(time.Second))
						if err != nil {
							t.Error(err)
							return
						}
						if decided {
							winners.Add(1)
							winner.Store(rec)
						}
					})
				}
				close(start)
				wg.Wait()
				if n := winners.Load(); n != 1 {
					t.Fatalf("round %d: %d winners, want 1", round, n)
				}
				// Everyone else reads the winner's decision.
				rec, decided, err := s.DecideConfirmation(ctx, id, confirm.Confirmed, "Ulate", now.Add(2*time.Second))
				if err != nil || decided || rec != winner.Load().(confirm.Record) {
					t.Errorf("round %d: after the race %+v, %v, %v; want the winner's record", round, rec, decided, err)
				}
			}
		})
	}
}

func TestDecideConfirmationFromTwoStores(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		path := d.fresh(t)
		a, b := openStore(t, path), openStore(t, path)
		now := time.Now()
		for round := range 5 {
			id := fmt.Sprintf("two-%d", round)
			if err := a.CreateConfirmation(ctx, pending(id, now)); err != nil {
				t.Fatal(err)
			}
			var winners atomic.Int32
			var wg sync.WaitGroup
			for g := range 20 {
				s := a
				if g%2 == 1 {
					s = b
				}
				wg.Go(func() {
					_, decided, err := s.DecideConfirmation(ctx, id, confirm.Confirmed, fmt.Sprintf("U%d", g), now)
					if err != nil {
						t.Error(err)
					} else if decided {
						winners.Add(1)
					}
				})
			}
			wg.Wait()
			if n := winners.Load(); n != 1 {
				t.Errorf("round %d: %d winners, want 1", round, n)
			}
		}
	})
}

// TestTwoProcesses runs two real processes (this test binary, see
// TestHelperProcess) on one file: both append audit entries and race to
// decide the same confirmation.
func TestTwoProcesses(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		path := d.fresh(t)
		s := openStore(t, path)
		now := time.Now()
		if err := s.CreateConfirmation(ctx, pending("shared", now)); err != nil {
			t.Fatal(err)
		}
		const procs, appends = 2, 200
		outs := make([][]byte, procs)
		errs := make([]error, procs)
		var wg sync.WaitGroup
		for i := range procs {
			wg.Go(func() {
				cmd := exec.CommandContext(ctx, os.Args[0])
				cmd.Env = append(os.Environ(),
					"MFBOT_STORE_HELPER="+path,
					fmt.Sprintf("MFBOT_STORE_HELPER_APPENDS=%d", appends),
					fmt.Sprintf("MFBOT_STORE_HELPER_NAME=p%d", i))
				outs[i], errs[i] = cmd.CombinedOutput()
			})
		}
		wg.Wait()
		winners := 0
		for i := range procs {
			if errs[i] != nil {
				t.Fatalf("process %d: %v\n%s", i, errs[i], outs[i])
			}
			winners += strings.Count(string(outs[i]), "decided=true")
		}
		if winners != 1 {
			t.Errorf("%d processes decided, want 1:\n%s\n%s", winners, outs[0], outs[1])
		}
		entries, err := s.RecentAudit(ctx, MaxAuditLimit)
		if err != nil || len(entries) != procs*appends {
			t.Errorf("%d audit entries, %v; want %d", len(entries), err, procs*appends)
		}
	})
}

// TestMain lets this test binary be the other process of TestTwoProcesses
// and TestMigrationsOfProcessesStartingTogether when MFBOT_STORE_HELPER
// names the store.
func TestMain(m *testing.M) {
	if dsn := os.Getenv("MFBOT_STORE_HELPER"); dsn != "" {
		if at := os.Getenv("MFBOT_STORE_HELPER_OPEN_AT"); at != "" {
			os.Exit(helperOpen(dsn, at))
		}
		os.Exit(helperProcess(dsn))
	}
	os.Exit(m.Run())
}

// helperProcess appends audit entries from 4 goroutines and, halfway,
// races to decide the shared confirmation; it prints whether it won.
func helperProcess(path string) int {
	var appends int
	fmt.Sscan(os.Getenv("MFBOT_STORE_HELPER_APPENDS"), &appends)
	name := os.Getenv("MFBOT_STORE_HELPER_NAME")
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer s.Close()
	var failed atomic.Bool
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < appends; i += 4 {
				if i == appends/2 {
					_, decided, err := s.DecideConfirmation(ctx, "shared", confirm.Confirmed, name, time.Now())
					if err != nil {
						fmt.Println(err)
						failed.Store(true)
					}
					fmt.Printf("%s decided=%v\n", name, decided)
				}
				if err := s.AppendAudit(ctx, audit.Entry{Time: time.Now(), User: name, Command: fmt.Sprint(i)}); err != nil {
					fmt.Println(err)
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() {
		return 1
	}
	return 0
}

func TestPurgeConfirmations(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
		for _, id := range []string{"old-confirmed", "old-pending", "new-pending", "new-cancelled"} {
			created := t0
			if strings.HasPrefix(id, "new") {
				created = t0.Add(time.Hour)
			}
			if err := s.CreateConfirmation(ctx, pending(id, created)); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := s.DecideConfirmation(ctx, "old-confirmed", confirm.Confirmed, "U1", t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.DecideConfirmation(ctx, "new-cancelled", confirm.Cancelled, "U1", t0.Add(time.Hour+time.Second)); err != nil {
			t.Fatal(err)
		}
		// At t0+1h+30s: the old ones are gone (decided, or expired while pending),
		// the new cancelled one is older than the cut, the new pending one stays.
		n, err := s.PurgeConfirmations(ctx, t0.Add(time.Hour+30*time.Second))
		if err != nil || n != 3 {
			t.Errorf("PurgeConfirmations = %d, %v; want 3", n, err)
		}
		for id, kept := range map[string]bool{"old-confirmed": false, "old-pending": false, "new-cancelled": false, "new-pending": true} {
			_, _, err := s.DecideConfirmation(ctx, id, confirm.Cancelled, "U2", t0.Add(time.Hour+time.Second))
			if found := !errors.Is(err, confirm.ErrNotFound); found != kept {
				t.Errorf("%s: kept %v, want %v (%v)", id, found, kept, err)
			}
		}
	})
}

func TestConfirmationReadsTheRecordAsItStands(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		now := time.Now()
		p := confirm.Request{ID: "c-read", Command: "prod restart app", Env: "prod", Target: "app", RequestedBy: "U1", Channel: "C1", CreatedAt: now, ExpiresAt: now.Add(2 * time.Minute)}
		if err := s.CreateConfirmation(ctx, p); err != nil {
			t.Fatal(err)
		}
		rec, err := s.Confirmation(ctx, "c-read")
		if err != nil || rec.State != confirm.Pending || rec.Command != p.Command || rec.Env != "prod" {
			t.Fatalf("read %+v, %v", rec, err)
		}
		if _, err := s.Confirmation(ctx, "nope"); !errors.Is(err, confirm.ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
	})
}

// TestMigrationsOfProcessesStartingTogether: processes (this test binary,
// see helperOpen) and goroutines open the same new database at the same
// instant. Every one of them opens it, at the last schema version, and
// each migration was applied and recorded once: the others waited for it
// and found it done.
func TestMigrationsOfProcessesStartingTogether(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		dsn := d.fresh(t)
		const procs, goroutines = 4, 4
		// Far enough ahead for every process to have started and be
		// waiting: they all open at once.
		at := time.Now().Add(1500 * time.Millisecond)
		outs := make([][]byte, procs)
		errs := make([]error, procs+goroutines)
		var wg sync.WaitGroup
		for i := range procs {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, os.Args[0])
				cmd.Env = append(os.Environ(), "MFBOT_STORE_HELPER="+dsn, fmt.Sprintf("MFBOT_STORE_HELPER_OPEN_AT=%d", at.UnixNano()))
				outs[i], errs[i] = cmd.CombinedOutput()
			})
		}
		want := fmt.Sprintf("(schema v%d)", len(d.migrations()))
		for i := range goroutines {
			wg.Go(func() {
				time.Sleep(time.Until(at))
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				s, err := Open(ctx, dsn)
				if err != nil {
					errs[procs+i] = err
					return
				}
				defer s.Close()
				if !strings.HasSuffix(s.Describe(), want) {
					errs[procs+i] = fmt.Errorf("opened %s, want %s", s.Describe(), want)
				}
			})
		}
		wg.Wait()
		for i := range procs {
			if errs[i] != nil || !strings.Contains(string(outs[i]), "opened") || !strings.Contains(string(outs[i]), want) {
				t.Errorf("process %d: %v\n%s", i, errs[i], outs[i])
			}
		}
		for i, err := range errs[procs:] {
			if err != nil {
				t.Errorf("goroutine %d: %v", i, err)
			}
		}
		rows, maxVersion, distinct := schemaHistory(t, d.raw(t, dsn))
		if n := len(d.migrations()); rows != n || maxVersion != n || distinct != n {
			t.Errorf("schema_migrations: %d rows, %d distinct, up to v%d; want %d each", rows, distinct, maxVersion, n)
		}
	})
}

// helperOpen opens the store at the instant at (Unix ns) and prints its
// description; any error fails the process.
func helperOpen(dsn, at string) int {
	var ns int64
	if _, err := fmt.Sscan(at, &ns); err != nil {
		fmt.Println("MFBOT_STORE_HELPER_OPEN_AT:", err)
		return 1
	}
	time.Sleep(time.Until(time.Unix(0, ns)))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	s, err := Open(ctx, dsn)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer s.Close()
	fmt.Println("opened", s.Describe())
	return 0
}
