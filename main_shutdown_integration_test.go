//go:build integration

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"mfbot/adapters/store"
	"mfbot/testenv"
	"mfbot/testenv/slackfake"
)

// Issue 9 item 2: on SIGTERM, shutdown is graceful: in-flight commands
// finish within a bound, and the outbox stays in the store. `mfbot run`
// runs as a real process (the signal is the operating system's, the exit
// status the process's), against the fake Slack and a container of the
// test's own on the shared engine.

// termProc is `mfbot run` as a process of the test.
type termProc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when it has exited
}

// termStart runs `mfbot run` with the configuration cfg and the store at
// storePath, alerts to alertChannel, and waits for its Socket Mode
// connection. It is killed at the end if still running.
func termStart(t *testing.T, bin string, fake *slackfake.Server, cfg, storePath string) *termProc {
	t.Helper()
	vars := botEnv(fake, cfg, storePath)
	vars["MFBOT_ALERT_CHANNEL"] = alertChannel
	env := processEnv(vars)
	p := &termProc{log: filepath.Join(t.TempDir(), "mfbot.log"), done: make(chan struct{})}
	out, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	p.cmd = exec.Command(bin, "run")
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = env, out, out
	connections := fake.Connections()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("mfbot log:\n%s", p.logs())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := fake.WaitFor(ctx, func(s *slackfake.Server) bool { return s.Connections() > connections }); err != nil {
		t.Fatalf("mfbot run never connected: %v\n%s", err, p.logs())
	}
	return p
}

func (p *termProc) logs() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// terminate sends SIGTERM and waits up to within for the exit; it returns
// the exit status and when the process was seen gone.
func (p *termProc) terminate(t *testing.T, within time.Duration) (int, time.Time) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("mfbot run still running %s after SIGTERM:\n%s", within, p.logs())
	}
	return p.cmd.ProcessState.ExitCode(), time.Now()
}

// pendingAbout reads the store (the process has exited) for incidents with
// something not delivered, by target.
func pendingAbout(t *testing.T, storePath string) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := store.Open(ctx, storePath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pending, err := st.PendingNotifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	open, err := st.OpenIncidents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, n := range pending {
		for _, inc := range open {
			if inc.ID == n.IncidentID {
				out[inc.Key.String()] = n.RootTS == ""
			}
		}
	}
	return out
}

// TestSigtermGraceful: SIGTERM while a confirmed restart is running (its
// container ignores its stop signal: the restart waits the 5 s stop
// timeout, then kills it): the restart finishes, its outcome is posted,
// then mfbot exits 0, well within its 30 s bound. Then an alert recorded
// while Slack rate-limits chat.postMessage for two minutes: SIGTERM does
// not wait for Slack, exits 0 at once, the alert stays pending in the
// store, and the next run with the same store posts it, once.
func TestSigtermGraceful(t *testing.T) {
	stack := testenv.Require(t)
	start := time.Now()
	api := moreAPI(t, "")
	addr := moreFreeAddr(t)
	slow := moreRun(t, api, stack.AppImage("v1"), "mfbot-sigterm-slow", moreSpec{hostNetwork: true, restart: container.RestartPolicyAlways,
		stopSignal: "SIGUSR1", env: []string{"FAKEAPP_ADDR=" + addr, "FAKEAPP_LOG_INTERVAL=0"}})
	moreWaitListening(t, addr)
	bin := buildMfbot(t)
	t.Logf("built in %s", time.Since(start).Round(time.Millisecond))
	fake := newFake(t)
	cfg := moreConfig(t, stack, "", map[string]string{"slow": slow.Name}, alertsYAML)
	storePath := filepath.Join(t.TempDir(), "mfbot.db")

	// 1. A command in flight finishes.
	p := termStart(t, bin, fake, cfg, storePath)
	slash(t, fake, operator, "restart slow")
	var pending slackfake.Message
	waitFor(t, fake, "the confirmation", func(s *slackfake.Server) bool {
		var ok bool
		pending, ok = messageWith(s, channel, "mf_confirm", "slow")
		return ok
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := fake.ClickButton(ctx, channel, pending.TS, "mf_confirm", "", operator); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the restart is waiting for its container to stop
	if m, _ := fake.Message(channel, pending.TS); strings.Contains(m.Text+string(m.Blocks), "slow restarted") {
		t.Fatal("the restart finished within a second: it is not in flight when SIGTERM comes")
	}
	termAt := time.Now()
	code, exitAt := p.terminate(t, 40*time.Second)
	m, _ := fake.Message(channel, pending.TS)
	if !strings.Contains(m.Text+string(m.Blocks), "slow restarted") {
		t.Fatalf("mfbot exited (%d) without posting the restart's outcome: %s\n%s", code, m.Text, p.logs())
	}
	posted := m.Revisions[len(m.Revisions)-1].Time
	t.Logf("SIGTERM at +0; outcome posted at +%s; exit %d at +%s", posted.Sub(termAt).Round(time.Millisecond), code, exitAt.Sub(termAt).Round(time.Millisecond))
	if code != 0 || exitAt.Sub(termAt) > shutdownGrace || posted.Sub(termAt) < 2*time.Second {
		t.Errorf("exit %d after %s, outcome at +%s: want 0, within %s, the outcome after the stop timeout", code, exitAt.Sub(termAt), posted.Sub(termAt), shutdownGrace)
	}
	if !strings.Contains(p.logs(), "waiting for the commands in flight") {
		t.Errorf("the log does not say that it waited for the commands in flight:\n%s", p.logs())
	}

	// 2. The outbox stays in the store.
	fake.RateLimit("chat.postMessage", 1000, 2*time.Minute)
	p = termStart(t, bin, fake, cfg, storePath)
	moreGet(t, "http://"+addr+"/control/crash?code=3", 5*time.Second)
	waitFor(t, fake, "the alert's first post, rate-limited", func(s *slackfake.Server) bool {
		for _, c := range s.Calls("chat.postMessage") {
			if c.Params.Get("channel") == alertChannel && c.HTTPStatus == 429 {
				return true
			}
		}
		return false
	})
	termAt = time.Now()
	code, exitAt = p.terminate(t, 40*time.Second)
	t.Logf("with an alert waiting for Slack: exit %d %s after SIGTERM", code, exitAt.Sub(termAt).Round(time.Millisecond))
	if code != 0 || exitAt.Sub(termAt) > 5*time.Second {
		t.Errorf("exit %d after %s: want 0 at once (nothing in flight; the outbox waits in the store)", code, exitAt.Sub(termAt))
	}
	if got := pendingAbout(t, storePath); !got["local/docker/slow"] {
		t.Fatalf("the alert is not pending in the store with no root posted: %v", got)
	}
	if roots := moreRoots(fake, "slow"); len(roots) != 0 {
		t.Fatalf("the alert was posted while chat.postMessage answered 429: %q", roots[0].Text)
	}

	// 3. The next run delivers it, once.
	fake.RateLimit("chat.postMessage", 0, 0)
	p = termStart(t, bin, fake, cfg, storePath)
	root := moreWaitRoot(t, fake, "slow", "the alert delivered by the next run", 30*time.Second, func(m slackfake.Message) bool { return true })
	if f := moreFields(root); f["Exit code"] != "3" {
		t.Errorf("delivered alert fields %q", f)
	}
	moreOneRoot(t, fake, "slow")
	if code, _ := p.terminate(t, 40*time.Second); code != 0 {
		t.Errorf("the last run exited %d", code)
	}
	t.Logf("TestSigtermGraceful took %s", time.Since(start).Round(time.Millisecond))
}
