//go:build integration

package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"mfbot/adapters/docker"
	"mfbot/adapters/store"
	"mfbot/config"
	"mfbot/testenv"
)

// The sampler against the test stack's Docker engine: its own throwaway
// containers (mfbot-sampler-*, label mfbot.test=1) from the fake app's
// image, beside the stack's running services, which it only reads.

// startSampled creates and starts a container of the fake app with the
// given resources, removed when the test ends, and returns its name.
func startSampled(tb testing.TB, stack testenv.Stack, api *client.Client, name string, res container.Resources) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := &container.Config{Image: stack.AppImage("v1"), Env: []string{"FAKEAPP_LOG_INTERVAL=0"}, Labels: map[string]string{"mfbot.test": "1"}}
	if res.Memory > 0 {
		res.MemorySwap = res.Memory
	}
	hc := &container.HostConfig{Resources: res, RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled}}
	created, err := api.ContainerCreate(ctx, cfg, hc, nil, nil, name)
	if err != nil {
		tb.Fatalf("create %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := api.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true}); err != nil && !client.IsErrNotFound(err) {
			tb.Errorf("remove %s: %v", name, err)
		}
	})
	if err := api.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	return name
}

func samplerSetup(tb testing.TB) (testenv.Stack, *docker.Engine, *client.Client, *store.Store) {
	tb.Helper()
	stack := testenv.Require(tb)
	engine, err := docker.New(docker.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { engine.Close() })
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { api.Close() })
	st, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "mfbot.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return stack, engine, api, st
}

// samplerEnvironment is the environment "local": the stack's default
// services (compose project remote) plus services of the given container
// names, from a configuration file as mfbot reads it.
func samplerEnvironment(tb testing.TB, extra map[string]string) config.Environment {
	tb.Helper()
	var b strings.Builder
	b.WriteString("environments:\n  local:\n    services:\n")
	for svc, name := range extra {
		fmt.Fprintf(&b, "      %s:\n        container: %s\n", svc, name)
	}
	path := filepath.Join(tb.TempDir(), "mfbot.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	cfg, err := config.Load(path, func(string) (string, bool) { return "", false })
	if err != nil {
		tb.Fatal(err)
	}
	env, ok := cfg.Environment("local")
	if !ok {
		tb.Fatal("no environment local")
	}
	return env
}

func randomSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func TestSamplerRealEngineIntoSQLite(t *testing.T) {
	stack, engine, api, st := samplerSetup(t)
	suffix := randomSuffix()
	limited := startSampled(t, stack, api, "mfbot-sampler-limited-"+suffix, container.Resources{Memory: 64 << 20, NanoCPUs: 500_000_000})
	quota := startSampled(t, stack, api, "mfbot-sampler-quota-"+suffix, container.Resources{CPUQuota: 25_000, CPUPeriod: 100_000})
	env := samplerEnvironment(t, map[string]string{"limited": limited, "quota": quota})

	start := time.Now()
	now := start
	s := &Sampler{Envs: []SamplerEnv{{Config: env, Engine: engine}}, Store: st, Metrics: NewMetrics(nil),
		Now: func() time.Time { return now }}
	ctx := context.Background()
	first := s.round(ctx, s.Envs[0])
	now = now.Add(time.Minute)
	second := s.round(ctx, s.Envs[0])
	if first < 3 || second < 3 {
		t.Fatalf("rounds saved %d and %d samples, want both containers and the stack's running services", first, second)
	}

	for _, c := range []struct {
		service     string
		memoryLimit uint64
		cpuLimit    float64
	}{
		{"limited", 64 << 20, 0.5},
		{"quota", 0, 0.25}, // no --memory: 0, not the host's memory
	} {
		got, err := st.Samples(ctx, "local", c.service, start, now.Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || !got[0].Time.Equal(start) || !got[1].Time.Equal(now) {
			t.Fatalf("%s: samples %+v, want the two rounds', oldest first", c.service, got)
		}
		for _, sm := range got {
			if sm.MemoryLimit != c.memoryLimit || sm.CPULimit != c.cpuLimit || sm.MemoryBytes == 0 ||
				(c.memoryLimit > 0 && sm.MemoryBytes > c.memoryLimit) || sm.CPUPercent < 0 {
				t.Errorf("%s: sample %+v, want memory limit %d, CPU limit %v, some memory used", c.service, sm, c.memoryLimit, c.cpuLimit)
			}
		}
	}
	// The stack's own services, resolved as the commands resolve them
	// (other tests may be restarting the app: any running one will do).
	var stackSampled []string
	for _, svc := range []string{"app", "db", "pipeline-server", "pipeline-flows"} {
		got, err := st.Samples(ctx, "local", svc, start, now.Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > 0 {
			stackSampled = append(stackSampled, svc)
			if got[0].MemoryBytes == 0 {
				t.Errorf("%s: %+v", svc, got[0])
			}
		}
	}
	if len(stackSampled) == 0 {
		t.Fatal("none of the stack's services was sampled")
	}
	t.Logf("sampled the stack's %v", stackSampled)
	// Limits were read once per container: the second round used the cache.
	s.mu.Lock()
	cached := len(s.limits)
	s.mu.Unlock()
	if cached != first {
		t.Errorf("%d containers' limits cached, want the %d sampled", cached, first)
	}
}

// BenchmarkSampler measures what sampling costs mfbot: rounds over 10
// running containers of the fake app (stats concurrently, saved into a
// SQLite store), and the process's own CPU time per round (getrusage:
// user + system), hence the share of one core at one round a minute. The
// Docker engine's own CPU time per round is reported beside it when its
// process can be read. Run:
//
//	source testenv/.state/env && go test -tags integration ./bot -run XXX -bench BenchmarkSampler -benchtime 20x
func BenchmarkSampler(b *testing.B) {
	stack, engine, api, st := samplerSetup(b)
	services := map[string]string{}
	suffix := randomSuffix()
	for i := range 10 {
		name := fmt.Sprintf("mfbot-sampler-bench-%s-%d", suffix, i)
		services[fmt.Sprintf("bench%d", i)] = startSampled(b, stack, api, name, container.Resources{Memory: 64 << 20})
	}
	env := samplerEnvironment(b, services)
	// Only the 10 benchmark containers: the stack's services are not part
	// of the count.
	var only []config.Service
	for _, svc := range env.Services {
		if strings.HasPrefix(svc.Name, "bench") {
			only = append(only, svc)
		}
	}
	env.Services = only
	s := &Sampler{Envs: []SamplerEnv{{Config: env, Engine: engine}}, Store: st}
	ctx := context.Background()
	now := time.Now()
	s.Now = func() time.Time { return now }
	// A first round reads the limits (cached afterwards, an hour).
	if n := s.round(ctx, s.Envs[0]); n != 10 {
		b.Fatalf("warm-up round saved %d samples, want 10", n)
	}
	dockerd := dockerdCPU(b)
	cpuBefore, dockerdBefore := selfCPU(b), dockerd()
	b.ResetTimer()
	saved := 0
	for range b.N {
		now = now.Add(time.Minute)
		saved += s.round(ctx, s.Envs[0])
	}
	b.StopTimer()
	cpu, dockerdUsed := selfCPU(b)-cpuBefore, dockerd()-dockerdBefore
	if saved != 10*b.N {
		b.Fatalf("saved %d samples in %d rounds, want %d", saved, b.N, 10*b.N)
	}
	perRound := cpu / time.Duration(b.N)
	b.ReportMetric(float64(perRound)/float64(time.Millisecond), "cpu-ms/round")
	b.ReportMetric(100*perRound.Seconds()/DefaultSampleInterval.Seconds(), "core-%@1/min")
	if dockerdUsed >= 0 {
		b.ReportMetric(float64(dockerdUsed/time.Duration(b.N))/float64(time.Millisecond), "dockerd-cpu-ms/round")
	}
}

// selfCPU is the CPU time this process used so far, user and system.
func selfCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// dockerdCPU returns a reader of the local Docker engine's CPU time (user
// and system, from /proc); it reads -1 when the engine's process cannot
// be found (a remote DOCKER_HOST).
func dockerdCPU(tb testing.TB) func() time.Duration {
	tb.Helper()
	out, err := exec.Command("pidof", "dockerd").Output()
	pid := strings.Fields(string(out))
	if err != nil || len(pid) != 1 {
		tb.Logf("dockerd's CPU not measured: pidof dockerd: %q, %v", out, err)
		return func() time.Duration { return -1 }
	}
	const ticksPerSecond = 100 // USER_HZ on Linux
	return func() time.Duration {
		stat, err := os.ReadFile("/proc/" + pid[0] + "/stat")
		if err != nil {
			return -1
		}
		// Fields after the command (which may hold spaces): utime and
		// stime are the 12th and 13th after the closing parenthesis.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 13 {
			return -1
		}
		utime, err1 := strconv.ParseInt(fields[11], 10, 64)
		stime, err2 := strconv.ParseInt(fields[12], 10, 64)
		if err1 != nil || err2 != nil {
			return -1
		}
		return time.Duration(utime+stime) * time.Second / ticksPerSecond
	}
}
