package store

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"mfbot/containers"
)

// sampleAt is a sample of env/service at minute m after base, its values
// telling m apart.
func sampleAt(env, service string, base time.Time, m int) containers.Sample {
	return containers.Sample{Env: env, Service: service, Time: base.Add(time.Duration(m) * time.Minute),
		CPUPercent: float64(m) + 0.5, MemoryBytes: uint64(m) << 20, MemoryLimit: 512 << 20, CPULimit: 1.5}
}

// sampleMinutes is the minutes (after base) of samples, in their order.
func sampleMinutes(samples []containers.Sample, base time.Time) []int {
	out := make([]int, len(samples))
	for i, sm := range samples {
		out[i] = int(sm.Time.Sub(base) / time.Minute)
	}
	return out
}

func countSamples(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.read.QueryRowContext(context.Background(), `SELECT count(*) FROM stats_samples`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ringBase is on a multiple of every ring size the tests use, so that
// minute m after it is in slot m modulo the ring's size.
const testBaseMinute = sampleRingSlots * 1000

func ringBase() time.Time { return time.Unix(testBaseMinute*60, 0).UTC() }

func TestSamplesRingStaysBounded(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		base := ringBase()
		const slots = 5
		// Three laps of app's ring, one batch a minute, and db beside it.
		for m := range 3 * slots {
			batch := []containers.Sample{sampleAt("prod", "app", base, m)}
			if m < 3 {
				batch = append(batch, sampleAt("prod", "db", base, m))
			}
			if err := s.appendSamples(ctx, batch, slots); err != nil {
				t.Fatal(err)
			}
		}
		if n := countSamples(t, s); n != slots+3 {
			t.Fatalf("%d rows after 3 laps of a %d-slot ring and 3 db samples, want %d", n, slots, slots+3)
		}
		got, err := s.Samples(ctx, "prod", "app", time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{10, 11, 12, 13, 14}; !equalInts(sampleMinutes(got, base), want) {
			t.Fatalf("the ring holds minutes %v, want the last lap %v", sampleMinutes(got, base), want)
		}
		if w := sampleAt("prod", "app", base, 14); got[4] != w {
			t.Fatalf("round trip: got %+v, want %+v", got[4], w)
		}
		if db, err := s.Samples(ctx, "prod", "db", time.Time{}, time.Time{}); err != nil || !equalInts(sampleMinutes(db, base), []int{0, 1, 2}) {
			t.Fatalf("db's own ring: %v, %v", sampleMinutes(db, base), err)
		}
	})
}

func TestSamplesRingCapacityIsAWeekOfMinutes(t *testing.T) {
	if sampleRingSlots != 10080 {
		t.Fatalf("sampleRingSlots = %d, want 7 days of minutes", sampleRingSlots)
	}
	ctx := context.Background()
	s := openMemory(t)
	base := ringBase()
	// A week apart: the same slot of the real ring, so the second
	// overwrites the first; a minute later is a slot of its own.
	batch := []containers.Sample{
		sampleAt("prod", "app", base, 0),
		sampleAt("prod", "app", base, sampleRingSlots),
		sampleAt("prod", "app", base, sampleRingSlots+1),
	}
	if err := s.AppendSamples(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if n := countSamples(t, s); n != 2 {
		t.Fatalf("%d rows, want 2 (a week later overwrites its slot)", n)
	}
	got, err := s.Samples(ctx, "prod", "app", time.Time{}, time.Time{})
	if err != nil || !equalInts(sampleMinutes(got, base), []int{sampleRingSlots, sampleRingSlots + 1}) {
		t.Fatalf("samples %v, %v", sampleMinutes(got, base), err)
	}
}

func TestSamplesWindowOldestFirst(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		base := ringBase()
		const slots = 10
		// One batch, out of order, with other services and environments.
		var batch []containers.Sample
		for _, m := range []int{7, 3, 9, 0, 5, 1, 8, 2, 6, 4} {
			batch = append(batch, sampleAt("prod", "app", base, m))
		}
		batch = append(batch, sampleAt("dev", "app", base, 5), sampleAt("prod", "db", base, 5))
		if err := s.appendSamples(ctx, batch, slots); err != nil {
			t.Fatal(err)
		}
		// Minute 12 takes slot 2: minutes 0 and 1 are still there, a lap
		// older than a window that starts at minute 8.
		if err := s.appendSamples(ctx, []containers.Sample{sampleAt("prod", "app", base, 12)}, slots); err != nil {
			t.Fatal(err)
		}
		minute := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
		for _, c := range []struct {
			name     string
			from, to time.Time
			want     []int
		}{
			{"all", time.Time{}, time.Time{}, []int{0, 1, 3, 4, 5, 6, 7, 8, 9, 12}},
			{"from inclusive, to exclusive", minute(3), minute(6), []int{3, 4, 5}},
			{"older lap left out", minute(8), minute(60), []int{8, 9, 12}},
			{"open end", minute(9), time.Time{}, []int{9, 12}},
			{"open start", time.Time{}, minute(1), []int{0}},
			{"empty", minute(20), minute(30), []int{}},
			{"beyond the stored range", time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
				[]int{0, 1, 3, 4, 5, 6, 7, 8, 9, 12}},
		} {
			got, err := s.Samples(ctx, "prod", "app", c.from, c.to)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if !equalInts(sampleMinutes(got, base), c.want) {
				t.Errorf("%s: minutes %v, want %v", c.name, sampleMinutes(got, base), c.want)
			}
			for _, sm := range got {
				if sm.Env != "prod" || sm.Service != "app" || sm.Time.Location() != time.UTC {
					t.Errorf("%s: %+v", c.name, sm)
				}
			}
		}
	})
}

func TestSamplesLateSampleKeepsTheNewerLap(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		base := ringBase()
		const slots = 5
		if err := s.appendSamples(ctx, []containers.Sample{sampleAt("prod", "app", base, 10)}, slots); err != nil {
			t.Fatal(err)
		}
		// Minute 5 is slot 0 too, a lap earlier: it must not replace 10.
		if err := s.appendSamples(ctx, []containers.Sample{sampleAt("prod", "app", base, 5)}, slots); err != nil {
			t.Fatal(err)
		}
		got, err := s.Samples(ctx, "prod", "app", time.Time{}, time.Time{})
		if err != nil || !equalInts(sampleMinutes(got, base), []int{10}) || got[0].CPUPercent != 10.5 {
			t.Fatalf("samples %+v, %v", got, err)
		}
		// Within the same minute, the later sample wins.
		later := sampleAt("prod", "app", base, 10)
		later.Time, later.CPUPercent = later.Time.Add(30*time.Second), 99
		if err := s.appendSamples(ctx, []containers.Sample{later}, slots); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Samples(ctx, "prod", "app", time.Time{}, time.Time{}); err != nil || len(got) != 1 || got[0].CPUPercent != 99 {
			t.Fatalf("samples %+v, %v", got, err)
		}
	})
}

func TestSamplesValuesRoundTrip(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		at := time.Date(2026, 12, 5, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
		in := []containers.Sample{
			{Env: "prod", Service: "app", Time: at, CPUPercent: 187.25, MemoryBytes: 3 << 30, MemoryLimit: 4 << 30, CPULimit: 2},
			{Env: "prod", Service: "db", Time: at, CPUPercent: 0, MemoryBytes: 1, MemoryLimit: 0, CPULimit: 0},
			{Env: "prod", Service: "huge", Time: at, MemoryBytes: math.MaxUint64},
		}
		if err := s.AppendSamples(ctx, in); err != nil {
			t.Fatal(err)
		}
		for _, want := range in[:2] {
			got, err := s.Samples(ctx, "prod", want.Service, at, at.Add(time.Nanosecond))
			want.Time = want.Time.UTC()
			if err != nil || len(got) != 1 || got[0] != want {
				t.Fatalf("%s: got %+v, %v; want %+v", want.Service, got, err, want)
			}
		}
		if got, err := s.Samples(ctx, "prod", "huge", time.Time{}, time.Time{}); err != nil || len(got) != 1 || got[0].MemoryBytes != math.MaxInt64 {
			t.Fatalf("a byte count past int64 is clamped: %+v, %v", got, err)
		}
	})
}

func TestAppendSamplesRefusesTheWholeBatch(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		base := ringBase()
		good := sampleAt("prod", "app", base, 0)
		for _, c := range []struct {
			name string
			bad  func(*containers.Sample)
			want string
		}{
			{"no env", func(sm *containers.Sample) { sm.Env = "" }, "needs an environment and a service"},
			{"no service", func(sm *containers.Sample) { sm.Service = "" }, "needs an environment and a service"},
			{"zero time", func(sm *containers.Sample) { sm.Time = time.Time{} }, "out of range"},
			{"NaN CPU", func(sm *containers.Sample) { sm.CPUPercent = math.NaN() }, "not a number"},
			{"infinite CPU limit", func(sm *containers.Sample) { sm.CPULimit = math.Inf(1) }, "not a number"},
		} {
			bad := sampleAt("prod", "db", base, 1)
			c.bad(&bad)
			err := s.AppendSamples(ctx, []containers.Sample{good, bad})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "save stats samples") {
				t.Errorf("%s: err %v, want one saying %q", c.name, err, c.want)
			}
		}
		if n := countSamples(t, s); n != 0 {
			t.Fatalf("%d rows saved from refused batches", n)
		}
		if err := s.AppendSamples(ctx, nil); err != nil {
			t.Fatalf("an empty batch: %v", err)
		}
	})
}

func TestSamplesClosedStore(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		base := ringBase()
		_ = s.Close()
		err := s.AppendSamples(ctx, []containers.Sample{sampleAt("prod", "app", base, 0)})
		if err == nil || !strings.Contains(err.Error(), "save 1 stats samples") {
			t.Errorf("append on a closed store: %v", err)
		}
		_, err = s.Samples(ctx, "prod", "app", time.Time{}, time.Time{})
		if err == nil || !strings.Contains(err.Error(), "read stats samples of prod/app") {
			t.Errorf("read on a closed store: %v", err)
		}
	})
}

func TestSamplesInsertFailureRollsBack(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		base := ringBase()
		if err := s.AppendSamples(ctx, []containers.Sample{sampleAt("prod", "app", base, 0)}); err != nil {
			t.Fatal(err)
		}
		// A unique index the upsert does not expect: the second row of
		// the batch fails, and the first is rolled back with it.
		if _, err := s.write.ExecContext(ctx, `CREATE UNIQUE INDEX stats_samples_unique_cpu ON stats_samples (cpu_percent)`); err != nil {
			t.Fatal(err)
		}
		first, clash := sampleAt("prod", "db", base, 1), sampleAt("prod", "geoserver", base, 2)
		clash.CPUPercent = first.CPUPercent
		err := s.AppendSamples(ctx, []containers.Sample{first, clash})
		if err == nil || !strings.Contains(err.Error(), "sample of prod/geoserver") {
			t.Fatalf("err %v, want the failing sample named", err)
		}
		if n := countSamples(t, s); n != 1 {
			t.Fatalf("%d rows, want the batch rolled back (1)", n)
		}
	})
}

func TestPurgeSamples(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		base := ringBase()
		var batch []containers.Sample
		for m := range 6 {
			batch = append(batch, sampleAt("prod", "gone", base, m))
		}
		if err := s.AppendSamples(ctx, batch); err != nil {
			t.Fatal(err)
		}
		n, err := s.PurgeSamples(ctx, base.Add(4*time.Minute))
		if err != nil || n != 4 {
			t.Fatalf("purged %d, %v; want 4", n, err)
		}
		got, err := s.Samples(ctx, "prod", "gone", time.Time{}, time.Time{})
		if err != nil || !equalInts(sampleMinutes(got, base), []int{4, 5}) {
			t.Fatalf("left %v, %v", sampleMinutes(got, base), err)
		}
		if _, err := s.PurgeSamples(ctx, time.Time{}); err == nil || !strings.Contains(err.Error(), "purge stats samples") {
			t.Fatalf("purge before the zero time: %v", err)
		}
	})
}

func TestRingSlot(t *testing.T) {
	for _, c := range []struct {
		at   time.Time
		want int64
	}{
		{time.Unix(0, 0), 0},
		{time.Unix(59, 999), 0},
		{time.Unix(60, 0), 1},
		{time.Unix(7*60, 0), 2},
		{time.Unix(-1, 0), 4}, // the minute before 1970: the last slot
		{time.Unix(-60, 0), 4},
		{time.Unix(-61, 0), 3},
	} {
		if got := ringSlot(c.at, 5); got != c.want {
			t.Errorf("ringSlot(%d s, 5) = %d, want %d", c.at.Unix(), got, c.want)
		}
	}
}
