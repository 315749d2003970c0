package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunWithoutSlackSaysWhatIsMissing(t *testing.T) {
	for _, k := range []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "MFBOT_CONFIG"} {
		t.Setenv(k, "")
	}
	t.Chdir(t.TempDir())
	var out bytes.Buffer
	code := run([]string{"run"}, strings.NewReader(""), &out, &out)
	if code != 1 || !strings.Contains(out.String(), "SLACK_BOT_TOKEN") || !strings.Contains(out.String(), "SLACK_APP_TOKEN") {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
}

func TestUsageErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, args := range [][]string{nil, {"frobnicate"}} {
		var out bytes.Buffer
		if code := run(args, strings.NewReader(""), &out, &out); code != 2 || !strings.Contains(out.String(), "Usage:") {
			t.Errorf("%v: exit %d\n%s", args, code, out.String())
		}
	}
	var out bytes.Buffer
	if code := run([]string{"version"}, nil, &out, &out); code != 0 || !strings.HasPrefix(out.String(), "mfbot ") {
		t.Errorf("version: exit %d %q", code, out.String())
	}
}

func TestBadConfigurationIsAUsageErrorNamingTheVariable(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("MFBOT_CONFIG", "")
	t.Setenv("ENV_DB_URL", "jdbc:postgresql://db:5432?user=u&password=topsecret")
	var out bytes.Buffer
	code := run([]string{"console", "-c", "status"}, strings.NewReader(""), &out, &out)
	if code != 2 || !strings.Contains(out.String(), "ENV_DB_URL") || strings.Contains(out.String(), "topsecret") {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
}
