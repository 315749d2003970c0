package commands_test

import (
	"context"
	"strings"
	"testing"

	. "mfbot/reply"
)

// A mute or unmute that cannot run is refused before any confirmation
// is asked in Slack, with the nearest name; a good one asks.
func TestMuteIsCheckedBeforeTheConfirmation(t *testing.T) {
	c, _ := reportCatalogue(t, reportT0, nil)
	for _, tc := range []struct{ line, want string }{
		{"prod mute ap 1h deploying", `Unknown service or check "ap" (did you mean app?)`},
		{"prod mute app 9999d", "7d"},
		{"prod mute app", "needs a target and a duration"},
		{"prod unmute ap", `(did you mean app?)`},
		{"prod unmute app db", "at most one service"},
	} {
		rep := c.Run(context.Background(), slack(tc.line, "UOPS", "COPS"))
		if rep.Status != StatusUsage || rep.Confirm != nil || !strings.Contains(replyText(rep), tc.want) {
			t.Errorf("%s: %s (confirmation %v), want a usage error with %q:\n%s", tc.line, rep.Status, rep.Confirm != nil, tc.want, replyText(rep))
		}
	}
	for _, line := range []string{"prod mute app 1h deploying", "prod unmute app", "prod unmute"} {
		if rep := c.Run(context.Background(), slack(line, "UOPS", "COPS")); rep.Status != StatusPending || rep.Confirm == nil {
			t.Errorf("%s: %s, want a confirmation asked\n%s", line, rep.Status, replyText(rep))
		}
	}
}
