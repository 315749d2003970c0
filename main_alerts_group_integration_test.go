//go:build integration

package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"mfbot/testenv"
	"mfbot/testenv/slackfake"
)

// TestAlertStormIsOneGroupedMessage: containers of one environment that
// crash together give one grouped message, a line and a Logs button each,
// instead of a root each at the channel's pace of one message a second;
// each button gives that container's logs.
func TestAlertStormIsOneGroupedMessage(t *testing.T) {
	stack := testenv.Require(t)
	api := moreAPI(t, "")
	const size = 6
	services := map[string]string{}
	for i := 1; i <= size; i++ {
		services[fmt.Sprintf("group%d", i)] = fmt.Sprintf("mfbot-alert-group-%d", i)
	}
	fake := newFake(t)
	moreStartBot(t, stack, fake, moreConfig(t, stack, "", services, alertsYAML))
	slash(t, fake, viewer, "help") // the bot answers: its watcher is running
	for _, name := range services {
		// Each one crashes (exit 4) two seconds after its start, once.
		moreRun(t, api, stack.AppImage("v1"), name, moreSpec{env: []string{"FAKEAPP_CRASH_AFTER=2s", "FAKEAPP_EXIT_CODE=4"}})
	}

	var group slackfake.Message
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	err := fake.WaitFor(ctx, func(s *slackfake.Server) bool {
		for _, m := range s.Messages(alertChannel) {
			if !m.IsReply() && strings.Contains(m.Text, fmt.Sprintf("%d incidents in local", size)) {
				group = m
				return true
			}
		}
		return false
	})
	cancel()
	if err != nil {
		t.Fatalf("no grouped message of the %d crashes: %v; messages: %v", size, err, fake.Messages(alertChannel))
	}
	time.Sleep(2 * time.Second) // nothing else comes
	roots := 0
	for _, m := range fake.Messages(alertChannel) {
		if !m.IsReply() {
			roots++
		}
	}
	if roots != 1 {
		t.Errorf("%d root messages, want the grouped one alone", roots)
	}
	group, _ = fake.Message(alertChannel, group.TS)
	f := moreFields(group)
	for svc := range services {
		if !strings.Contains(f[svc], "exited with code 4 · 1 failure") {
			t.Errorf("line of %s: %q", svc, f[svc])
		}
		prefButton(t, group, "local logs "+svc+" --tail 200")
	}

	// A line's Logs button gives that container's logs, in the thread.
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := fake.ClickButton(ctx, alertChannel, group.TS, prefButton(t, group, "local logs group3 --tail 200"), "", viewer); err != nil {
		t.Fatal(err)
	}
	prefWaitMessage(t, fake, "the logs of group3", "group3", "FAKEAPP_CRASH_AFTER elapsed")
}
