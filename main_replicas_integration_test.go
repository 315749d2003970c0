//go:build integration

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mfbot/adapters/store"
	"mfbot/commands"
	"mfbot/testenv"
	"mfbot/testenv/slackfake"
)

// Two replicas of `mfbot run`, real processes sharing a PostgreSQL store
// (a new database of the test stack's cluster for each test) and the fake
// Slack, where each opens its own Socket Mode connection.

// repTakeoverMax is the bound on a failover: the standby leads
// within 15 s of the leader's death.
const repTakeoverMax = 15 * time.Second

// replica is one `mfbot run` process.
type replica struct {
	name string
	cmd  *exec.Cmd
	log  string // its stdout and stderr
	done chan struct{}
}

// repEnv is the environment of a replica: the fake Slack, the stack's
// configuration, alerts to alertChannel, the shared store.
func repEnv(fake *slackfake.Server, cfg, storeURL string) []string {
	vars := botEnv(fake, cfg, storeURL)
	vars["MFBOT_ALERT_CHANNEL"] = alertChannel
	return processEnv(vars)
}

// repStart starts a replica; it is stopped (SIGTERM, then SIGKILL) when
// the test ends, and its log shown if the test failed.
func repStart(t *testing.T, bin, name string, env []string) *replica {
	t.Helper()
	r := &replica{name: name, log: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	out, err := os.Create(r.log)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	r.cmd = exec.Command(bin, "run")
	r.cmd.Env, r.cmd.Stdout, r.cmd.Stderr = env, out, out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(40 * time.Second):
			r.cmd.Process.Kill()
			<-r.done
			t.Errorf("replica %s did not stop on SIGTERM", r.name)
		}
		if t.Failed() {
			log := r.text()
			t.Logf("replica %s log (last 8 kB):\n%s", r.name, log[max(0, len(log)-8192):])
		}
	})
	return r
}

func (r *replica) text() string {
	b, _ := os.ReadFile(r.log)
	return string(b)
}

// waitLog waits for a line of the replica's log containing want and
// returns when it was seen; it fails the test if the replica exits or
// within passes first.
func (r *replica) waitLog(t *testing.T, want string, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if strings.Contains(r.text(), want) {
			return time.Now()
		}
		select {
		case <-r.done:
			t.Fatalf("replica %s exited before logging %q:\n%s", r.name, want, r.text())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s did not log %q within %s:\n%s", r.name, want, within, r.text())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill SIGKILLs the replica and waits for its end.
func (r *replica) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-r.done
}

const (
	repAcquired = `msg="leader: acquired`
	repStandby  = `msg="leader: standby`
	repRunning  = `msg="mfbot is running"`
)

// repOpenStore opens the replicas' store from the test, to read what they
// wrote.
func repOpenStore(t *testing.T, url string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestReplicas runs the two-replica scenarios of the issue, each with its
// own database, fake Slack and pair of processes.
func TestReplicas(t *testing.T) {
	stack := testenv.Require(t)
	bin := buildMfbot(t)

	// Started at the same instant on a new database: both migrate it
	// without an error (one after the other, under the migration lock),
	// both come up and connect to Slack; one leads, the other stands by.
	t.Run("StartTogether", func(t *testing.T) {
		url := testenv.FreshDatabase(t, "mfbot_replicas")
		fake := newFake(t)
		env := repEnv(fake, stack.WriteConfig(t, alertsYAML), url)
		start := time.Now()
		var mu sync.Mutex
		var reps []*replica
		var wg sync.WaitGroup
		for _, name := range []string{"A", "B"} {
			wg.Go(func() {
				r := repStart(t, bin, name, env)
				mu.Lock()
				reps = append(reps, r)
				mu.Unlock()
			})
		}
		wg.Wait()
		for _, r := range reps {
			r.waitLog(t, repRunning, 30*time.Second)
		}
		t.Logf("both replicas running %s after their start", time.Since(start).Round(time.Millisecond))
		waitFor(t, fake, "a Socket Mode connection from each replica", func(s *slackfake.Server) bool { return s.Connections() == 2 })
		leaders, standbys := 0, 0
		deadline := time.Now().Add(10 * time.Second)
		for leaders+standbys < 2 && time.Now().Before(deadline) {
			leaders, standbys = 0, 0
			for _, r := range reps {
				log := r.text()
				if strings.Contains(log, repAcquired) {
					leaders++
				}
				if strings.Contains(log, repStandby) {
					standbys++
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		if leaders != 1 || standbys != 1 {
			t.Errorf("%d leaders and %d standbys, want 1 each", leaders, standbys)
		}
		for _, r := range reps {
			if log := r.text(); strings.Contains(log, "level=ERROR") {
				t.Errorf("replica %s logged an error:\n%s", r.name, log)
			}
		}
		// Both migrated the shared database to the schema this mfbot knows,
		// as a fresh store is.
		fresh, err := store.Open(context.Background(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		defer fresh.Close()
		want := fresh.Describe()[strings.LastIndex(fresh.Describe(), " ("):]
		if st := repOpenStore(t, url); !strings.HasSuffix(st.Describe(), want) {
			t.Errorf("store %s, want %s", st.Describe(), want)
		}
	})

	// The leader is SIGKILLed while Slack makes it wait before its post
	// (a 429 with a long Retry-After): it has recorded the incident and
	// marked its root as being posted, nothing is in the channel. The
	// standby leads within repTakeoverMax, looks for the root, finds none
	// and posts it, once.
	t.Run("FailoverBeforeThePost", func(t *testing.T) {
		repFailover(t, stack, bin, false)
	})
	// The leader is SIGKILLed while it posts the alert: the root message is
	// in the channel but the leader never got its ts (Slack's answer held
	// back). The new leader finds the mark the old one left ("posting")
	// and adopts that root from the channel instead of posting another.
	t.Run("FailoverDuringThePost", func(t *testing.T) {
		repFailover(t, stack, bin, true)
	})

	// A click delivered to each replica (Slack redelivering its envelope
	// on the other connection, at the same time) runs the command once:
	// one reply, one audit entry.
	t.Run("ClickDeliveredToEach", func(t *testing.T) {
		url := testenv.FreshDatabase(t, "mfbot_replicas")
		fake := newFake(t)
		env := repEnv(fake, stack.WriteConfig(t, alertsYAML), url)
		reps := []*replica{repStart(t, bin, "A", env), repStart(t, bin, "B", env)}
		for _, r := range reps {
			r.waitLog(t, repRunning, 30*time.Second)
		}
		waitFor(t, fake, "a Socket Mode connection from each replica", func(s *slackfake.Server) bool { return s.Connections() == 2 })
		conns := fake.OpenConnections()

		slash(t, fake, viewer, "logs app --tail 5")
		msg := waitBotMessage(t, fake, "the logs reply", "Logs of app", "mf_run")
		payload, err := fake.ButtonClick(channel, msg.TS, "mf_run", "", viewer)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// One envelope on each connection at once, under one ID: the
		// delivery and its redelivery racing on the two replicas.
		const envelopeID = "5f0c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f"
		var sends sync.WaitGroup
		for _, conn := range conns {
			sends.Go(func() {
				if _, err := fake.SendInteractionVia(ctx, slackfake.Delivery{ConnID: conn, EnvelopeID: envelopeID}, payload); err != nil {
					t.Error(err)
				}
			})
		}
		sends.Wait()
		replies := func(s *slackfake.Server) int {
			n := 0
			for _, m := range s.Thread(channel, msg.TS) {
				if m.TS != msg.TS && m.BotID != "" && strings.Contains(m.Text+string(m.Blocks), "Logs of app") {
					n++
				}
			}
			return n
		}
		waitFor(t, fake, "the click's reply", func(s *slackfake.Server) bool { return replies(s) > 0 })
		time.Sleep(2 * time.Second) // a second reply would have come by now
		if n := replies(fake); n != 1 {
			t.Errorf("%d replies to the click delivered to each replica, want 1", n)
		}
		entries, err := repOpenStore(t, url).RecentAudit(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		clicks := 0
		for _, e := range entries {
			if e.Via == commands.ViaButton {
				clicks++
			}
		}
		if clicks != 1 {
			t.Errorf("%d audit entries of the click, want 1: %+v", clicks, entries)
		}
		handledElsewhere := 0
		for _, r := range reps {
			handledElsewhere += strings.Count(r.text(), "already handled by another replica")
		}
		if handledElsewhere != 1 {
			t.Errorf("%d replicas said the delivery was handled elsewhere, want 1", handledElsewhere)
		}
	})
}

// repFailover: A leads, B stands by; the app crashes; A records the
// incident and starts posting its root, where it is SIGKILLed: before the
// root reached Slack (a 429 makes A wait), or once it is in the channel
// (duringPost: Slack's answer held back). B must lead within
// repTakeoverMax, the incident must have one root message, and the
// recovery must show on that same root.
func repFailover(t *testing.T, stack testenv.Stack, bin string, duringPost bool) {
	testenv.WaitHealthy(t, "remote_app_1", time.Minute)
	url := testenv.FreshDatabase(t, "mfbot_replicas")
	fake := newFake(t)
	env := repEnv(fake, stack.WriteConfig(t, alertsYAML), url)
	a := repStart(t, bin, "A", env)
	a.waitLog(t, repAcquired, 30*time.Second)
	b := repStart(t, bin, "B", env)
	b.waitLog(t, repStandby, 30*time.Second)
	a.waitLog(t, repRunning, 30*time.Second)
	b.waitLog(t, repRunning, 30*time.Second)
	waitFor(t, fake, "a Socket Mode connection from each replica", func(s *slackfake.Server) bool { return s.Connections() == 2 })

	// The first message of the run is the alert's root: A's attempt.
	if duringPost {
		fake.HoldNextAnswer("chat.postMessage", time.Minute)
	} else {
		fake.RateLimit("chat.postMessage", 1, time.Minute)
	}
	crashApp(t, stack, "3")
	a.waitLog(t, `msg="incident opened"`, 10*time.Second)
	waitFor(t, fake, "A's attempt to post the root", func(s *slackfake.Server) bool { return len(s.Calls("chat.postMessage")) > 0 })
	if duringPost {
		waitRoot(t, fake, "A's root message", 10*time.Second, func(slackfake.Message) bool { return true })
	}
	a.kill(t)
	killed := time.Now()
	rootsAtKill := len(alertRoots(fake, "app"))
	if want := map[bool]int{false: 0, true: 1}[duringPost]; rootsAtKill != want {
		t.Fatalf("%d root messages in the channel when A was killed, want %d", rootsAtKill, want)
	}

	took := b.waitLog(t, repAcquired, repTakeoverMax).Sub(killed)
	t.Logf("B led %s after A was killed (%d root message(s) in the channel at the kill)", took.Round(time.Millisecond), rootsAtKill)
	root := waitRoot(t, fake, "the alert", 10*time.Second, func(slackfake.Message) bool { return true })
	if !duringPost {
		t.Logf("B posted the root %s after A was killed", root.Time.Sub(killed).Round(time.Millisecond))
	}
	// restart: always brings the app back; healthy for 3 s = recovered,
	// which B shows on the same root.
	waitRoot(t, fake, "the recovery on the same root", time.Minute, func(m slackfake.Message) bool {
		return m.TS == root.TS && strings.Contains(m.Text+string(m.Blocks), "recovered")
	})
	time.Sleep(2 * time.Second) // a second root would have come by now
	if roots := alertRoots(fake, "app"); len(roots) != 1 {
		t.Fatalf("%d root messages across the failover, want 1", len(roots))
	}
	log := b.text()
	if adopted := strings.Contains(log, "alert root found in the channel and adopted"); adopted != duringPost {
		t.Errorf("B adopted a root from the channel: %v, want %v", adopted, duringPost)
	}
	if posted := strings.Contains(log, `msg="alert posted"`); posted == duringPost {
		t.Errorf("B posted the root: %v, want %v", posted, !duringPost)
	}
	if strings.Contains(log, "level=ERROR") {
		t.Errorf("B logged an error:\n%s", log)
	}
}
