package watch

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mfbot/adapters/prefect"
	"mfbot/config"
	"mfbot/pipeline"
	"mfbot/testenv/prefectfake"
)

// BenchmarkPrefectPoll measures one poll of the Prefect watcher against
// Prefect fakes holding 100 flows and 10,000 runs of history, on both
// APIs, through the real adapters: the requests each poll sends (target:
// 1) and mfbot's CPU time per poll. The fake runs in its own process so
// that the CPU time measured here is mfbot's alone. Between two polls a
// few runs finish (one failed), as they do in MonitorFish; the poll
// interval (15 s) passes on a simulated clock, so that each poll's
// overlap window holds what it would in production.
//
//	go test -run '^$' -bench PrefectPoll -benchtime 200x ./bot/watch/
func BenchmarkPrefectPoll(b *testing.B) {
	dir, err := prefectfake.FindSchemaDir()
	if err != nil {
		b.Skipf("no Prefect fake: %v", err)
	}
	bin := filepath.Join(b.TempDir(), "prefectfake")
	build := exec.Command("go", "build", "-o", bin, "mfbot/testenv/prefectfake/cmd/prefectfake")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build the Prefect fake: %v\n%s", err, out)
	}
	for _, flavor := range []struct{ name, path, flavor string }{
		{"Prefect1GraphQL", "/graphql", config.PrefectGraphQL},
		{"Prefect3REST", "/api", config.PrefectREST},
	} {
		b.Run(flavor.name, func(b *testing.B) {
			base := benchStartFake(b, bin, dir)
			api, err := prefect.New(prefect.Options{URL: base + flavor.path, Flavor: flavor.flavor})
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now().UTC()
			counted := &benchCounting{API: api}
			src := &PrefectSource{Envs: []PrefectEnv{{Name: "bench", API: counted}}, Now: func() time.Time { return now }}
			p := src.newPoller(src.Envs[0])
			ctx := context.Background()
			// The first poll reads the stuck runs and learns the flows'
			// names: what every later poll does without.
			p.poll(ctx)
			before := benchRequests(b, base)
			*counted = benchCounting{API: api}
			var cpu time.Duration
			signals := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				now = now.Add(defaultPrefectInterval)
				at := now.Add(-time.Second).Format(time.RFC3339Nano)
				benchPost(b, base+"/control/finish?n=2&at="+at)
				benchPost(b, base+"/control/finish?n=1&failed=1&at="+at)
				start := benchCPU()
				b.StartTimer()
				signals += len(p.poll(ctx))
				b.StopTimer()
				cpu += benchCPU() - start
				b.StartTimer()
			}
			b.StopTimer()
			requests := benchRequests(b, base) - before
			if signals < 3*b.N {
				b.Errorf("%d signals from %d polls of 3 new runs each", signals, b.N)
			}
			b.ReportMetric(float64(requests)/float64(b.N), "requests/poll")
			b.ReportMetric(float64(counted.finished)/float64(b.N), "finished-reads/poll")
			b.ReportMetric(float64(counted.stuck)/float64(b.N), "stuck-reads/poll")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/poll")
		})
	}
}

// benchCounting counts the watcher's two reads, to tell the poll's own
// request from the stuck-run check's (at most one a minute).
type benchCounting struct {
	pipeline.API
	finished, stuck int
}

func (c *benchCounting) FinishedSince(ctx context.Context, since time.Time, limit int) ([]pipeline.Run, error) {
	c.finished++
	return c.API.FinishedSince(ctx, since, limit)
}

func (c *benchCounting) RunningSince(ctx context.Context, before time.Time) ([]pipeline.Run, error) {
	c.stuck++
	return c.API.RunningSince(ctx, before)
}

// benchStartFake starts the fake's process seeded with 100 flows and
// 10,000 runs and returns its base URL.
func benchStartFake(b *testing.B, bin, schemas string) string {
	b.Helper()
	cmd := exec.Command(bin, "-flows", "100", "-runs", "10000")
	cmd.Env = append(os.Environ(), "MFBOT_PREFECT_SCHEMAS="+schemas)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("the Prefect fake did not start: %v", err)
	}
	return "http://" + strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
}

func benchPost(b *testing.B, url string) {
	resp, err := http.Post(url, "", nil)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
}

// benchRequests is the number of Prefect API requests the fake served.
func benchRequests(b *testing.B, base string) int {
	resp, err := http.Get(base + "/control/requests")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var counts map[string]int
	if err := json.NewDecoder(resp.Body).Decode(&counts); err != nil {
		b.Fatal(fmt.Errorf("read the fake's request counts: %w", err))
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// benchCPU is the CPU time (user + system) this process has used.
func benchCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
