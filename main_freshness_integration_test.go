//go:build integration

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mfbot/testenv"
	"mfbot/testenv/slackfake"
)

// The data freshness alerts end to end: `mfbot run` in-process against the
// fake Slack, polling a fake MonitorFish backend of the test's own (the
// fakeapp binary, whose healthcheck reports the ages the test sets) and a
// private PostgreSQL cluster that the test stops and starts.

// freshPoll and freshRecovery make the freshness life cycle fast.
const (
	freshPoll     = time.Second
	freshRecovery = 2 * time.Second
)

// freshStartApp runs the fake MonitorFish backend on a free port of
// 127.0.0.1 and returns its base URL; it is killed at the end.
func freshStartApp(t *testing.T, stack testenv.Stack) string {
	t.Helper()
	if stack.Fakeapp == "" {
		t.Fatal("MFBOT_TEST_FAKEAPP is not set: source testenv/.state/env")
	}
	addr := moreFreeAddr(t)
	cmd := exec.Command(stack.Fakeapp, "app")
	cmd.Env = append(os.Environ(), "FAKEAPP_ADDR="+addr, "FAKEAPP_LOG_INTERVAL=0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	moreWaitListening(t, addr)
	return "http://" + addr
}

// freshConfig writes a configuration whose environment "local" reads the
// app at appURL and, when set, the database at dbURL, with fast polls.
func freshConfig(t *testing.T, appURL, dbURL string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "environments:\n  local:\n    app_url: %s\n", appURL)
	if dbURL != "" {
		fmt.Fprintf(&b, "    database_url: %s\n", dbURL)
	}
	fmt.Fprintf(&b, "limits:\n  restart_timeout: 1m\n  stop_timeout: 5s\n")
	// Each check on a root of its own (not grouped): the tests read each
	// one's fields, buttons and thread.
	fmt.Fprintf(&b, "alerts:\n  recovery_after: %s\n  update_interval: 1s\n  group_window: 0s\n  freshness:\n    poll_interval: %s\n", freshRecovery, freshPoll)
	path := filepath.Join(t.TempDir(), "mfbot-freshness.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// freshRoots are the bot's root messages in the alert channel about a
// freshness check (their Check field); check "" = about any check.
func freshRoots(fake *slackfake.Server, check string) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range fake.Messages(alertChannel) {
		if m.BotID == "" || m.IsReply() {
			continue
		}
		if c, ok := moreFields(m)["Check"]; ok && (check == "" || c == check) {
			out = append(out, m)
		}
	}
	return out
}

// freshChecks lists the checks that have a root.
func freshChecks(fake *slackfake.Server) []string {
	var out []string
	for _, m := range freshRoots(fake, "") {
		out = append(out, moreFields(m)["Check"])
	}
	return out
}

// freshWaitRoot waits for the root about check to satisfy cond.
func freshWaitRoot(t *testing.T, fake *slackfake.Server, check, what string, within time.Duration, cond func(slackfake.Message) bool) slackfake.Message {
	t.Helper()
	var root slackfake.Message
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	err := fake.WaitFor(ctx, func(s *slackfake.Server) bool {
		roots := freshRoots(s, check)
		if len(roots) == 0 {
			return false
		}
		root = roots[0]
		return cond(root)
	})
	if err != nil {
		t.Fatalf("waiting %s for %s: %v (roots: %v; last: %s)", within, what, err, freshChecks(fake), root.Text)
	}
	return root
}

// freshWaitThread waits for a message in the root's thread containing want.
func freshWaitThread(t *testing.T, fake *slackfake.Server, root slackfake.Message, what string, want ...string) slackfake.Message {
	t.Helper()
	var found slackfake.Message
	waitFor(t, fake, what, func(s *slackfake.Server) bool {
		for _, m := range s.Thread(alertChannel, root.TS) {
			text := m.Text + string(m.Blocks)
			ok := m.TS != root.TS
			for _, w := range want {
				ok = ok && strings.Contains(text, w)
			}
			if ok {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// freshConfirm waits for the confirmation whose prompt has what, and clicks it.
func freshConfirm(t *testing.T, fake *slackfake.Server, what string) {
	t.Helper()
	pending := waitBotMessage(t, fake, "the confirmation of "+what, "mf_confirm", what)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := fake.ClickButton(ctx, channel, pending.TS, "mf_confirm", "", operator); err != nil {
		t.Fatal(err)
	}
}

func anyRoot(slackfake.Message) bool { return true }

func recovered(m slackfake.Message) bool {
	return strings.Contains(moreFields(m)["State"], "recovered")
}

func TestFreshnessStalePositionsOneIncidentThenRecovered(t *testing.T) {
	stack := testenv.Require(t)
	app := freshStartApp(t, stack)
	fake := newFake(t)
	b := moreStartBot(t, stack, fake, freshConfig(t, app, ""))

	// Everything fresh for a few polls: no freshness alert at all.
	time.Sleep(3 * freshPoll)
	if checks := freshChecks(fake); len(checks) != 0 {
		t.Fatalf("alerts while every check passes: %v", checks)
	}

	moreGet(t, app+"/control/freshness?positions=10m", 5*time.Second)
	stale := time.Now()
	root := freshWaitRoot(t, fake, "positions-received", "the stale positions' alert", 15*time.Second, anyRoot)
	latency := root.Time.Sub(stale)
	t.Logf("stale → root posted: %s (poll interval %s)", latency.Round(time.Millisecond), freshPoll)
	if latency > freshPoll+1500*time.Millisecond {
		t.Errorf("the alert came %s after the positions went stale, want within the poll interval (%s) and a little", latency, freshPoll)
	}
	f := moreFields(root)
	if f["Environment"] != "local" || !strings.Contains(f["Last failure"], "last position received 10 min ago (limit 5 min)") ||
		f["What"] != "Last position received" || f["Limit"] != "5 min" {
		t.Errorf("root fields: %v", f)
	}
	blocks := string(root.Blocks)
	for _, want := range []string{"local health", "local mute positions-received 1h"} {
		if !strings.Contains(blocks, want) {
			t.Errorf("the root lacks the button %q:\n%s", want, prettyBlocks(root.Blocks))
		}
	}
	// The facts as read start the thread.
	freshWaitThread(t, fake, root, "the facts in the thread", "Facts read from the app healthcheck", "Last position received: failing")
	// `@mfbot logs` in the thread is about the app.
	if target := b.threadTargetIn(t, alertChannel, root.TS); target.Env != "local" || target.Service != "app" {
		t.Errorf("the alert's thread is about %+v, want the app of local", target)
	}

	// A few more stale polls: still one root, still one failure.
	time.Sleep(3 * freshPoll)
	if n := len(freshRoots(fake, "positions-received")); n != 1 {
		t.Fatalf("%d roots about positions-received, want 1", n)
	}
	if f := moreFields(freshRoots(fake, "positions-received")[0]); f["Failures"] != "1" {
		t.Errorf("failures %q after several stale polls, want 1", f["Failures"])
	}

	moreGet(t, app+"/control/freshness?reset=1", 5*time.Second)
	root = freshWaitRoot(t, fake, "positions-received", "the recovery", freshPoll+freshRecovery+15*time.Second, recovered)
	freshWaitThread(t, fake, root, "the recovery line in the thread", "ok again")
	if checks := freshChecks(fake); len(checks) != 1 || checks[0] != "positions-received" {
		t.Fatalf("roots about %v, want positions-received only", checks)
	}
}

func TestFreshnessAppUnhealthyIsItsOwnIncident(t *testing.T) {
	stack := testenv.Require(t)
	app := freshStartApp(t, stack)
	fake := newFake(t)
	moreStartBot(t, stack, fake, freshConfig(t, app, ""))
	time.Sleep(2 * freshPoll)

	moreGet(t, app+"/control/unhealthy", 5*time.Second)
	root := freshWaitRoot(t, fake, "app-healthcheck", "the app healthcheck's alert", 15*time.Second, anyRoot)
	f := moreFields(root)
	if !strings.Contains(f["Last failure"], "app healthcheck down") || !strings.Contains(f["Detail"], "503") ||
		!strings.Contains(f["Detail"], "data checks cannot be evaluated") {
		t.Errorf("root fields: %v", f)
	}
	// Without a database nothing else can be judged: no data check opens.
	time.Sleep(3 * freshPoll)
	if checks := freshChecks(fake); len(checks) != 1 {
		t.Fatalf("roots about %v, want app-healthcheck only", checks)
	}
	moreGet(t, app+"/control/healthy", 5*time.Second)
	freshWaitRoot(t, fake, "app-healthcheck", "the recovery", freshPoll+freshRecovery+15*time.Second, recovered)
}

func TestFreshnessDatabaseDownThenBack(t *testing.T) {
	stack := testenv.Require(t)
	pg := testenv.StartPostgreSQL(t)
	nowhere := "http://" + moreFreeAddr(t) // nothing listens there
	fake := newFake(t)
	b := moreStartBot(t, stack, fake, freshConfig(t, nowhere, pg.URL))

	// The app does not answer (its own incident); the database does, and
	// its facts (the fixture's: fresh) are judged: no data check fails.
	freshWaitRoot(t, fake, "app-healthcheck", "the app healthcheck's alert", 15*time.Second, anyRoot)
	time.Sleep(3 * freshPoll)
	if checks := freshChecks(fake); len(checks) != 1 {
		t.Fatalf("roots about %v, want app-healthcheck only while the database answers", checks)
	}

	pg.Stop()
	stopped := time.Now()
	root := freshWaitRoot(t, fake, "database", "the database's alert", 15*time.Second, anyRoot)
	t.Logf("database stopped → root posted: %s", root.Time.Sub(stopped).Round(time.Millisecond))
	f := moreFields(root)
	if !strings.Contains(f["Last failure"], "database unreachable") || !strings.Contains(f["Detail"], "data checks cannot be evaluated") {
		t.Errorf("root fields: %v", f)
	}
	if strings.Contains(string(root.Blocks)+root.Text, testenv.ReadOnlyPassword) {
		t.Fatal("the database password reached Slack")
	}
	if blocks := string(root.Blocks); !strings.Contains(blocks, "local db status") || !strings.Contains(blocks, "local mute database 1h") {
		t.Errorf("the database's root lacks its buttons:\n%s", prettyBlocks(root.Blocks))
	}
	freshWaitThread(t, fake, root, "the facts in the thread", "No source answered")
	if target := b.threadTargetIn(t, alertChannel, root.TS); target.Service != "db" {
		t.Errorf("the database alert's thread is about %+v, want the db service", target)
	}
	// Blind polls: the data checks neither open nor recover anything.
	time.Sleep(3 * freshPoll)
	if checks := freshChecks(fake); len(checks) != 2 {
		t.Fatalf("roots about %v, want app-healthcheck and database only", checks)
	}

	pg.Start()
	root = freshWaitRoot(t, fake, "database", "the database's recovery", freshPoll+freshRecovery+20*time.Second, recovered)
	freshWaitThread(t, fake, root, "the recovery line in the thread", "ok again")
	if n := len(freshRoots(fake, "database")); n != 1 {
		t.Errorf("%d roots about the database, want 1", n)
	}
	if checks := freshChecks(fake); len(checks) != 2 {
		t.Fatalf("roots about %v, want app-healthcheck and database only", checks)
	}
	if recovered(freshRoots(fake, "app-healthcheck")[0]) {
		t.Error("the app healthcheck recovered while nothing answers there")
	}
}

func TestFreshnessMuteACheck(t *testing.T) {
	stack := testenv.Require(t)
	app := freshStartApp(t, stack)
	fake := newFake(t)
	moreStartBot(t, stack, fake, freshConfig(t, app, ""))

	// An unknown target is refused at once, to its author only, with the
	// names it could be: no confirmation is asked for a mute that cannot run.
	slash(t, fake, operator, "mute nonsense 1h")
	waitFor(t, fake, "the refusal", func(s *slackfake.Server) bool {
		for _, e := range s.Ephemerals(channel) {
			if text := e.Text + string(e.Blocks); e.User == operator && strings.Contains(text, "Unknown service or check") &&
				strings.Contains(text, "positions-received") && strings.Contains(text, "database") {
				return true
			}
		}
		return false
	})
	if _, asked := messageWith(fake, channel, "mf_confirm", "nonsense"); asked {
		t.Error("a confirmation was asked for a mute of an unknown target")
	}

	slash(t, fake, operator, "mute positions-received 1h stale on purpose")
	freshConfirm(t, fake, "positions-received 1h")
	waitBotMessage(t, fake, "the mute outcome", "Alerts for positions-received in local muted for")

	moreGet(t, app+"/control/freshness?positions=10m", 5*time.Second)
	time.Sleep(3 * freshPoll) // an alert would be posted within the poll interval
	slash(t, fake, viewer, "incidents")
	waitBotMessage(t, fake, "the incident listed as muted", "freshness/positions-received", "yes")
	if checks := freshChecks(fake); len(checks) != 0 {
		t.Fatalf("alerts about %v while positions-received is muted", checks)
	}
}
