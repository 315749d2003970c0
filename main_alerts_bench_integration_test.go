//go:build integration

package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"mfbot/testenv"
	"mfbot/testenv/slackfake"
)

// PRODUCT §9: container failure → alert posted, p50 < 300 ms and p99 < 1 s
// after the Docker event; a storm of 20 containers crash-looping for 5
// minutes gives ≤ 20 root messages, ≤ 1 update per incident per 10 s, no
// incident missed, RSS < 60 MB; idle RSS < 25 MB.
const (
	moreLatencyP50  = 300 * time.Millisecond
	moreLatencyP99  = time.Second
	moreStormSize   = 20
	moreStormRSS    = 60e6 // bytes
	moreIdleRSS     = 25e6
	moreStormWindow = 10 * time.Second
	// Issue 9: with the 20 crash-looping, each incident shown (its root or
	// its line on a grouped message) p50 ≤ 2 s, max ≤ 5 s after its first
	// die event; at most 3 messages posted in the first minute.
	moreStormFirstP50    = 2 * time.Second
	moreStormFirstMax    = 5 * time.Second
	moreStormFirstMinute = 3
)

// moreLine is how an incident of a service shows in the alert channel: a
// root of its own (the Service field) or a line of a grouped message (a
// field labelled with the service).
type moreLine struct {
	msg      slackfake.Message
	state    string      // "crash-looping", "open" ...
	failures int         // as the message shows them now
	changes  []time.Time // the writes of the message that changed what it shows of the incident, the first showing it
}

var moreLineFailures = regexp.MustCompile(`(\d+) failures?\b`)

// moreShown returns where the incident of service shows, one entry per
// message (more than one: doubled).
func moreShown(fake *slackfake.Server, service string) []moreLine {
	var out []moreLine
	for _, m := range fake.Messages(alertChannel) {
		if m.BotID == "" || m.IsReply() {
			continue
		}
		var line moreLine
		last, shown := "", 0
		for _, r := range m.Revisions {
			rev := slackfake.Message{Blocks: r.Blocks}
			view := moreIncidentView(rev, service)
			// A write that adds incidents to a grouped message is their
			// first alert: it counts as an update of the others only when
			// it is the first to show them.
			joined := moreShownCount(rev) > shown
			if view != "" && view != last && (last == "" || !joined) {
				line.changes = append(line.changes, r.Time)
			}
			last, shown = view, moreShownCount(rev)
		}
		if len(line.changes) == 0 {
			continue
		}
		line.msg = m
		view := moreIncidentView(m, service)
		f := moreFields(m)
		if f["Service"] == service { // a root of its own
			line.failures, _ = strconv.Atoi(f["Failures"])
			line.state = strings.Fields(f["State"] + " ?")[1]
		} else if mm := moreLineFailures.FindStringSubmatch(view); mm != nil {
			line.failures, _ = strconv.Atoi(mm[1])
			line.state = strings.Fields(view + " ?")[1]
		}
		out = append(out, line)
	}
	return out
}

// moreShownCount is the number of incidents message m shows: 1 for a
// root of its own, its lines for a grouped message.
func moreShownCount(m slackfake.Message) int {
	f := moreFields(m)
	if f["Service"] != "" {
		return 1
	}
	n := 0
	for _, v := range f {
		if moreLineFailures.MatchString(v) {
			n++
		}
	}
	return n
}

// moreIncidentView is what message m shows of service's incident ("": nothing).
func moreIncidentView(m slackfake.Message, service string) string {
	f := moreFields(m)
	if f["Service"] == service {
		return f["State"] + " " + f["Failures"]
	}
	return f[service] // a grouped message's line
}

// moreDie is a die event of a container.
type moreDie struct {
	Name string
	At   time.Time // the event's time (timeNano)
	Code int
}

// moreDieEvents streams the die events of the containers that args select
// (besides type and event) until the benchmark ends.
func moreDieEvents(tb testing.TB, api *client.Client, args ...filters.KeyValuePair) <-chan moreDie {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	f := filters.NewArgs(append([]filters.KeyValuePair{filters.Arg("type", "container"), filters.Arg("event", "die")}, args...)...)
	msgs, errs := api.Events(ctx, events.ListOptions{Filters: f})
	out := make(chan moreDie, 4096)
	go func() {
		for {
			select {
			case m := <-msgs:
				code, _ := strconv.Atoi(m.Actor.Attributes["exitCode"])
				out <- moreDie{Name: m.Actor.Attributes["name"], At: time.Unix(0, m.TimeNano), Code: code}
			case err := <-errs:
				if ctx.Err() == nil {
					tb.Errorf("docker events: %v", err) // the figures would be wrong
				}
				return
			}
		}
	}()
	return out
}

// morePercentile is the nearest-rank percentile of sorted durations.
func morePercentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func moreMillis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// moreOpenedLine is the recorder's log line of a new incident.
var moreOpenedLine = regexp.MustCompile(`(?m)^time=(\S+) level=INFO msg="incident opened" incident=(\d+) key=(\S+)`)

// moreOpened returns when each incident of key was opened, by the bot's
// log (to the millisecond), oldest first.
func moreOpened(tb testing.TB, log, key string) []time.Time {
	tb.Helper()
	var out []time.Time
	for _, m := range moreOpenedLine.FindAllStringSubmatch(log, -1) {
		if m[3] != key {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, at)
	}
	return out
}

// BenchmarkAlertLatency crashes a container of its own (exit 3, once per
// op) watched by `mfbot run` (in-process, fake Slack, real engine) and
// measures the time from the Docker die event (its timeNano, from the
// engine's events stream) to the root message's chat.postMessage at the
// fake Slack. Each crash opens a new incident: the container is started
// again and the previous incident recovers (recovery_after 1 s, the
// recorder checks every 5 s) before the next crash. It reports p50, p99
// and max, and where the time goes: die → incident recorded (the bot's
// log, to the millisecond) and recorded → posted.
//
//	source testenv/.state/env && go test -tags integration -run XXX -bench AlertLatency -benchtime 20x .
func BenchmarkAlertLatency(b *testing.B) {
	stack := testenv.Require(b)
	api := moreAPI(b, "")
	c := moreRun(b, api, stack.AppImage("v1"), "mfbot-alert-latency", moreSpec{published: true})
	dies := moreDieEvents(b, api, filters.Arg("container", c.ID))
	fake := newFake(b)
	cfg := moreConfig(b, stack, "", map[string]string{"latency": c.Name}, "alerts:\n  recovery_after: 1s\n  update_interval: 1s\n")
	bot := moreStartBot(b, stack, fake, cfg)
	slash(b, fake, viewer, "help")
	time.Sleep(time.Second) // the first reconciliation (the container is up) is done

	var latencies, recorded, posting []time.Duration
	for b.Loop() {
		n := len(latencies)
		if n > 0 {
			// A new incident for the next crash: the last one recovered,
			// its recovery told in its thread.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			err := fake.WaitFor(ctx, func(s *slackfake.Server) bool {
				roots := moreRoots(s, "latency")
				if len(roots) != n || !strings.Contains(roots[n-1].Text, "recovered") {
					return false
				}
				for _, m := range s.Thread(alertChannel, roots[n-1].TS) {
					if m.IsReply() && strings.Contains(m.Text, "Recovered after") {
						return true
					}
				}
				return false
			})
			cancel()
			if err != nil {
				b.Fatalf("crash %d: the previous incident did not recover: %v", n, err)
			}
		}
		moreQuietChannel(fake)
		addr := "127.0.0.1:" + morePort(b, api, c.ID)
		moreWaitListening(b, addr)
		moreGet(b, "http://"+addr+"/control/crash?code=3", 5*time.Second)
		var die moreDie
		select {
		case die = <-dies:
		case <-time.After(30 * time.Second):
			b.Fatalf("crash %d: no die event", n)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var root slackfake.Message
		err := fake.WaitFor(ctx, func(s *slackfake.Server) bool {
			roots := moreRoots(s, "latency")
			if len(roots) > n {
				root = roots[n]
				return true
			}
			return false
		})
		cancel()
		if err != nil {
			b.Fatalf("crash %d: no alert: %v", n, err)
		}
		if f := moreFields(root); f["Exit code"] != "3" || f["Failures"] != "1" {
			b.Fatalf("crash %d: root fields %q, want a new incident of exit code 3", n, f)
		}
		latencies = append(latencies, root.Time.Sub(die.At))
		if opened := moreOpened(b, bot.logs.String(), "local/docker/latency"); len(opened) == n+1 {
			recorded = append(recorded, opened[n].Sub(die.At))
			posting = append(posting, root.Time.Sub(opened[n]))
		}
		ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
		err = api.ContainerStart(ctx, c.ID, container.StartOptions{})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, s := range [][]time.Duration{latencies, recorded, posting} {
		slices.Sort(s)
	}
	p50, p99, worst := morePercentile(latencies, 0.50), morePercentile(latencies, 0.99), latencies[len(latencies)-1]
	b.ReportMetric(moreMillis(p50), "p50-ms")
	b.ReportMetric(moreMillis(p99), "p99-ms")
	b.ReportMetric(moreMillis(worst), "max-ms")
	verdict := "met"
	if p50 >= moreLatencyP50 || p99 >= moreLatencyP99 {
		verdict = "MISSED"
	}
	b.Logf("%d crashes: die event → root chat.postMessage p50 %s, p99 %s, max %s (targets p50 < %s, p99 < %s: %s); "+
		"die → incident recorded p50 %s max %s; recorded → posted p50 %s max %s",
		len(latencies), p50.Round(time.Millisecond), p99.Round(time.Millisecond), worst.Round(time.Millisecond), moreLatencyP50, moreLatencyP99, verdict,
		morePercentile(recorded, 0.5).Round(time.Millisecond), morePercentile(recorded, 1).Round(time.Millisecond),
		morePercentile(posting, 0.5).Round(time.Millisecond), morePercentile(posting, 1).Round(time.Millisecond))
	if len(latencies) < 20 {
		b.Logf("only %d samples: run with -benchtime 20x for a p99", len(latencies))
	}
}

// moreQuietChannel waits until nothing has been written to the alert
// channel for 1.2 s: the client paces the writes to a channel to one per
// second (Slack's limit for chat.postMessage), so a root posted right after
// another incident's messages waits for its turn; the target is the
// latency of the pipeline, measured on a channel with nothing pending.
func moreQuietChannel(fake *slackfake.Server) {
	for {
		var last time.Time
		for _, m := range fake.AllMessages(alertChannel) {
			for _, r := range m.Revisions {
				if r.Time.After(last) {
					last = r.Time
				}
			}
		}
		if quiet := time.Since(last); quiet >= 1200*time.Millisecond {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// moreProc is `mfbot run` as a real process (its RSS is measured).
type moreProc struct {
	cmd *exec.Cmd
	log string
}

// moreStartProc builds mfbot as the image ships it and runs `mfbot run` against fake with the
// configuration cfg and a new store, alerts to alertChannel; it is stopped
// (SIGTERM) at the end.
func moreStartProc(b *testing.B, fake *slackfake.Server, cfg string) *moreProc {
	b.Helper()
	dir := b.TempDir()
	bin := buildShippedMfbot(b)
	vars := botEnv(fake, cfg, filepath.Join(dir, "mfbot.db"))
	vars["MFBOT_ALERT_CHANNEL"] = alertChannel
	env := processEnv(vars)
	p := &moreProc{log: filepath.Join(dir, "mfbot.log")}
	out, err := os.Create(p.log)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	p.cmd = exec.Command(bin, "run")
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = env, out, out
	if err := p.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	b.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			p.cmd.Process.Kill()
			<-done
			b.Error("mfbot run did not stop on SIGTERM")
		}
		if b.Failed() {
			log, _ := os.ReadFile(p.log)
			b.Logf("mfbot log (last 8 kB):\n%s", log[max(0, len(log)-8192):])
		}
	})
	deadline := time.Now().Add(time.Minute)
	for {
		log, _ := os.ReadFile(p.log)
		if strings.Contains(string(log), `msg="mfbot is running"`) {
			return p
		}
		select {
		case <-done:
			b.Fatalf("mfbot run exited:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("mfbot run is not running after a minute:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// moreMem is what /proc/<pid>/status says of a process's memory, in bytes.
// moreMem is the process's resident memory: all of it (RSS), its peak
// (HWM), and the two parts of RSS: pages of files mapped (the binary's
// code and data, clean, shared with the page cache) and anonymous memory
// (heap, stacks, SQLite's caches).
type moreMem struct{ RSS, HWM, File, Anon int64 }

func (p *moreProc) mem(tb testing.TB) moreMem {
	tb.Helper()
	m, err := p.readMem()
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func (p *moreProc) readMem() (moreMem, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return moreMem{}, err
	}
	defer f.Close()
	var m moreMem
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, _ := strings.Cut(sc.Text(), ":")
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch {
		case err != nil:
		case key == "VmRSS":
			m.RSS = kb << 10
		case key == "VmHWM":
			m.HWM = kb << 10
		case key == "RssFile":
			m.File = kb << 10
		case key == "RssAnon":
			m.Anon = kb << 10
		}
	}
	return m, sc.Err()
}

// cpu is the process's CPU time so far (user + system).
func (p *moreProc) cpu(tb testing.TB) time.Duration {
	tb.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		tb.Fatal(err)
	}
	// Fields after the command name (which may hold spaces): state is
	// field 3, utime 14, stime 15, in clock ticks (100 per second here).
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// buildShippedMfbot builds mfbot as the Dockerfile does (static, no
// symbol table), so that its memory is the shipped binary's.
func buildShippedMfbot(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "mfbot")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func moreMB(bytes int64) float64 { return float64(bytes) / 1e6 }

// BenchmarkAlertCrashStorm runs `mfbot run` as a real process (so that
// its memory is its own) watching 20 services, lets it idle, then makes 20
// containers of its own crash-loop (restart: always, each crashing with
// exit code 1 two seconds after every start; the engine spaces the
// restarts of a container that keeps failing, 100 ms doubling up to a
// minute) for MFBOT_BENCH_STORM (default 5m), with the product's default
// alert settings (crash loop = 3 failures in 10 min, updates coalesced to
// one per incident per 10 s). Then the containers' restart policy is
// lifted, and once they have all stopped and the bot has caught up, it
// checks and reports: root messages (≤ 20, one per container: no
// incident missed, none doubled), chat.update per incident in any 10 s
// (≤ 1), failures counted against the engine's die events, the bot's idle
// RSS and CPU (over MFBOT_BENCH_IDLE, default 20s, right after its start)
// and its peak RSS (VmHWM) through the storm, and how long the roots took.
//
//	source testenv/.state/env && MFBOT_BENCH_STORM=1m go test -tags integration -run XXX -bench AlertCrashStorm -benchtime 1x -timeout 30m .
func BenchmarkAlertCrashStorm(b *testing.B) {
	stack := testenv.Require(b)
	storm, idle := 5*time.Minute, 20*time.Second
	for _, v := range []struct {
		name string
		d    *time.Duration
	}{{"MFBOT_BENCH_STORM", &storm}, {"MFBOT_BENCH_IDLE", &idle}} {
		if s := os.Getenv(v.name); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				b.Fatalf("%s=%q: want a duration", v.name, s)
			}
			*v.d = d
		}
	}
	api := moreAPI(b, "")
	services := map[string]string{}
	for i := 1; i <= moreStormSize; i++ {
		services[fmt.Sprintf("storm%02d", i)] = fmt.Sprintf("mfbot-alert-storm-%02d", i)
	}
	fake := newFake(b)
	bot := moreStartProc(b, fake, moreConfig(b, stack, "", services, ""))
	waitConnected(b, fake)

	// Idle: started, connected, nothing happening.
	idleCPU, idleStart := bot.cpu(b), time.Now()
	time.Sleep(idle)
	idleMem := bot.mem(b)
	idleCPUShare := float64(bot.cpu(b)-idleCPU) / float64(time.Since(idleStart))

	var (
		mu   sync.Mutex
		dies = map[string][]moreDie{}
		peak moreMem
	)
	collected := make(chan struct{})
	dieEvents := moreDieEvents(b, api, filters.Arg("label", "mfbot.storm=1"))
	stopSampling := make(chan struct{})
	var sampling sync.WaitGroup
	sampling.Go(func() {
		for {
			select {
			case d := <-dieEvents:
				mu.Lock()
				dies[d.Name] = append(dies[d.Name], d)
				mu.Unlock()
			case <-collected:
				return
			}
		}
	})
	sampling.Go(func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			m, _ := bot.readMem() // the process ended: the test says so
			mu.Lock()
			peak.RSS, peak.HWM = max(peak.RSS, m.RSS), max(peak.HWM, m.HWM)
			mu.Unlock()
			select {
			case <-t.C:
			case <-stopSampling:
				return
			}
		}
	})

	b.ResetTimer()
	stormCPU, stormStart := bot.cpu(b), time.Now()
	ids := map[string]string{} // service → container ID
	for svc, name := range services {
		c := moreRun(b, api, stack.AppImage("v1"), name, moreSpec{restart: container.RestartPolicyAlways,
			labels: map[string]string{"mfbot.storm": "1"}, env: []string{"FAKEAPP_CRASH_AFTER=2s", "FAKEAPP_EXIT_CODE=1"}})
		ids[svc] = c.ID
	}
	b.Logf("20 containers crash-looping; storm of %s", storm)
	time.Sleep(time.Until(stormStart.Add(storm)))
	stormEnd := time.Now()
	stormCPU = bot.cpu(b) - stormCPU

	// The end: no more restarts; each container stops at its next crash
	// (up to a minute away: the engine's restart delay).
	for _, id := range ids {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := api.ContainerUpdate(ctx, id, container.UpdateConfig{RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled}})
		cancel()
		if err != nil {
			b.Fatalf("lift the restart policy: %v", err)
		}
	}
	deadline := time.Now().Add(3 * time.Minute)
	for running := len(ids); running > 0; {
		running = 0
		for _, id := range ids {
			info, err := api.ContainerInspect(context.Background(), id)
			if err != nil {
				b.Fatal(err)
			}
			if info.State.Running || info.State.Restarting {
				running++
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d containers still running 3 min after their restart policy was lifted", running)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// Caught up: every root shows as many failures as its container had
	// non-zero exits.
	failures := func(svc string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, d := range dies[services[svc]] {
			if d.Code != 0 {
				n++
			}
		}
		return n
	}
	caughtUp := func(s *slackfake.Server) bool {
		for svc := range services {
			shown := moreShown(s, svc)
			if len(shown) == 0 || shown[0].failures != failures(svc) {
				return false
			}
		}
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	err := fake.WaitFor(ctx, caughtUp)
	cancel()
	settled := time.Since(stormEnd)
	b.StopTimer()
	close(stopSampling)
	time.Sleep(time.Second) // the last die events are in
	close(collected)
	sampling.Wait()
	if err != nil {
		b.Errorf("the roots never showed the failures the engine reported: %v", err)
	}

	// Figures.
	var (
		roots, missed, doubled, miscounted, totalDies, totalFailures, updates, maxIn10s, firstMinute int
		minGap                                                                                       = time.Duration(math.MaxInt64)
		firstAlert                                                                                   []time.Duration
		states                                                                                       = map[string]int{}
		firstDie                                                                                     time.Time
	)
	mu.Lock()
	for _, ds := range dies {
		if len(ds) > 0 && (firstDie.IsZero() || ds[0].At.Before(firstDie)) {
			firstDie = ds[0].At
		}
	}
	mu.Unlock()
	for _, m := range fake.Messages(alertChannel) {
		if m.BotID != "" && !m.IsReply() {
			roots++
			updates += len(m.Revisions) - 1
		}
		if m.Time.Sub(firstDie) < time.Minute {
			firstMinute++
		}
	}
	threadPosts := len(fake.Messages(alertChannel)) - roots
	for svc := range services {
		shown := moreShown(fake, svc)
		switch {
		case len(shown) == 0:
			missed++
			continue
		case len(shown) > 1:
			doubled += len(shown) - 1
		}
		line := shown[0]
		totalFailures += line.failures
		totalDies += failures(svc)
		if line.failures != failures(svc) {
			miscounted++
		}
		states[line.state]++
		mu.Lock()
		if d := dies[services[svc]]; len(d) > 0 {
			firstAlert = append(firstAlert, line.changes[0].Sub(d[0].At))
		}
		mu.Unlock()
		// The updates of this incident: the writes that changed what its
		// root or its line shows.
		for i := 1; i < len(line.changes); i++ {
			minGap = min(minGap, line.changes[i].Sub(line.changes[i-1]))
			in := 0
			for j := i; j < len(line.changes) && line.changes[j].Sub(line.changes[i]) < moreStormWindow; j++ {
				in++
			}
			maxIn10s = max(maxIn10s, in)
		}
	}
	slices.Sort(firstAlert)
	if minGap == time.Duration(math.MaxInt64) {
		minGap = 0
	}
	stormCPUShare := float64(stormCPU) / float64(stormEnd.Sub(stormStart))

	b.ReportMetric(float64(roots), "roots")
	b.ReportMetric(float64(firstMinute), "messages-1st-min")
	b.ReportMetric(moreMillis(morePercentile(firstAlert, 0.5)), "first-alert-p50-ms")
	b.ReportMetric(moreMillis(morePercentile(firstAlert, 1)), "first-alert-max-ms")
	b.ReportMetric(float64(missed), "missed")
	b.ReportMetric(float64(maxIn10s), "max-updates/10s")
	b.ReportMetric(float64(totalDies), "failures")
	b.ReportMetric(moreMB(idleMem.RSS), "idle-RSS-MB")
	b.ReportMetric(moreMB(idleMem.File), "idle-RSS-file-MB")
	b.ReportMetric(moreMB(idleMem.Anon), "idle-RSS-anon-MB")
	b.ReportMetric(moreMB(peak.HWM), "peak-RSS-MB")
	b.ReportMetric(100*idleCPUShare, "idle-CPU-%")
	b.ReportMetric(100*stormCPUShare, "storm-CPU-%")
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	b.Logf("storm of %s, %d containers: %d failures (die events with a non-zero exit), %d counted on the roots (%d incidents miscounted); states %v",
		storm, len(services), totalDies, totalFailures, miscounted, states)
	b.Logf("root messages %d, messages posted in the first minute %d (≤ %d: %s), missed incidents %d, doubled %d (none: %s); chat.update %d, thread posts %d; "+
		"max updates of one incident in 10 s %d (≤ 1: %s; the writes that add incidents to a grouped message are theirs), least time between two updates of an incident %s; caught up %s after the storm",
		roots, firstMinute, moreStormFirstMinute, verdict(firstMinute <= moreStormFirstMinute), missed, doubled, verdict(missed == 0 && doubled == 0),
		updates, threadPosts, maxIn10s, verdict(maxIn10s <= 1), minGap.Round(time.Millisecond), settled.Round(time.Second))
	p50, worst := morePercentile(firstAlert, 0.5), morePercentile(firstAlert, 1)
	b.Logf("first die → incident shown (its root, or its line on a grouped message): p50 %s (≤ %s: %s), max %s (≤ %s: %s)",
		p50.Round(time.Millisecond), moreStormFirstP50, verdict(p50 <= moreStormFirstP50), worst.Round(time.Millisecond), moreStormFirstMax, verdict(worst <= moreStormFirstMax))
	b.Logf("RSS idle %.1f MB (VmHWM %.1f MB; the binary's mapped pages %.1f MB, anonymous %.1f MB) (< 25 MB: %s), peak through the storm %.1f MB (< 60 MB: %s), at the end %.1f MB; CPU idle %.2f %%, storm %.1f %% of one core",
		moreMB(idleMem.RSS), moreMB(idleMem.HWM), moreMB(idleMem.File), moreMB(idleMem.Anon), verdict(idleMem.RSS < moreIdleRSS), moreMB(peak.HWM), verdict(peak.HWM < moreStormRSS), moreMB(bot.mem(b).RSS),
		100*idleCPUShare, 100*stormCPUShare)
	if missed > 0 || doubled > 0 || roots > moreStormSize || miscounted > 0 || maxIn10s > 1 || firstMinute > moreStormFirstMinute ||
		p50 > moreStormFirstP50 || worst > moreStormFirstMax {
		b.Errorf("storm: %d roots, %d missed, %d doubled, %d miscounted, %d updates of one incident within 10 s, %d messages in the first minute, first alert p50 %s max %s",
			roots, missed, doubled, miscounted, maxIn10s, firstMinute, p50, worst)
	}
}
