//go:build integration

package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"mfbot/testenv"
	"mfbot/testenv/slackfake"
)

// TestCheckSocketModeAppToken: with SLACK_APP_TOKEN set, `mfbot check`
// calls apps.connections.open with it (without opening the websocket) and
// prints an ok line for the right token, a FAIL line for a wrong one, and
// never the token itself.
func TestCheckSocketModeAppToken(t *testing.T) {
	stack := testenv.Require(t)
	withStackConfig(t, stack)
	fake := slackfake.New(slackfake.Options{})
	t.Cleanup(fake.Close)
	t.Setenv("MFBOT_STORE", filepath.Join(t.TempDir(), "mfbot.db"))
	t.Setenv("SLACK_BOT_TOKEN", fake.BotToken())
	t.Setenv("SLACK_API_URL", fake.APIURL())
	t.Setenv("SLACK_SIGNING_SECRET", "")

	check := func(appToken string) (int, string) {
		t.Helper()
		t.Setenv("SLACK_APP_TOKEN", appToken)
		var out bytes.Buffer
		code := run([]string{"check"}, strings.NewReader(""), &out, &out)
		if s := out.String(); strings.Contains(s, appToken) || strings.Contains(s, fake.BotToken()) {
			t.Errorf("check printed a token:\n%s", s)
		}
		t.Logf("check with SLACK_APP_TOKEN set:\n%s", out.String())
		return code, out.String()
	}

	code, out := check(fake.AppToken())
	if code != 0 || !strings.Contains(out, "ok    slack: ") || !strings.Contains(out, "ok    slack socket mode: ") {
		t.Fatalf("check with the right app token: exit %d\n%s", code, out)
	}
	if n := len(fake.Calls("apps.connections.open")); n != 1 {
		t.Errorf("%d apps.connections.open calls, want 1", n)
	}
	if n := len(fake.ConnectionLog()); n != 0 {
		t.Errorf("check opened %d websocket(s), want none", n)
	}

	const wrong = "xapp-1-A0WRONG-0000-not-the-fake-app-token"
	code, out = check(wrong)
	if code != 1 || !strings.Contains(out, "ok    slack: ") || !strings.Contains(out, "FAIL  slack socket mode: ") ||
		!strings.Contains(out, "invalid_auth") {
		t.Fatalf("check with a wrong app token: exit %d\n%s", code, out)
	}

	t.Setenv("SLACK_APP_TOKEN", "")
	var plain bytes.Buffer
	if code := run([]string{"check"}, strings.NewReader(""), &plain, &plain); code != 0 || strings.Contains(plain.String(), "socket mode") {
		t.Fatalf("check without an app token: exit %d\n%s", code, plain.String())
	}
}
