package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestSecretNeverPrints(t *testing.T) {
	const value = "xoxb-1234-very-secret"
	secret := Secret(value)
	holder := struct {
		Token Secret
		Slack Slack
	}{secret, Slack{BotToken: secret, AppToken: "xapp-also-secret"}}

	for _, format := range []string{"%v", "%s", "%+v", "%#v", "%q", "%x", "%X", "%d", "%10s", "%T %v"} {
		for name, arg := range map[string]any{"secret": secret, "pointer": &secret, "struct": holder, "pointer to struct": &holder} {
			out := fmt.Sprintf(format, arg)
			if strings.Contains(out, "very-secret") || strings.Contains(out, "also-secret") {
				t.Errorf("Sprintf(%q, %s) = %q: leaks the secret", format, name, out)
			}
		}
	}
	if got := fmt.Sprint(secret); got != redacted {
		t.Errorf("Sprint = %q, want %q", got, redacted)
	}
	if got := secret.Reveal(); got != value {
		t.Errorf("Reveal = %q, want the value", got)
	}

	encoded, err := json.Marshal(holder)
	if err != nil || strings.Contains(string(encoded), "very-secret") {
		t.Errorf("json = %s, %v: leaks the secret", encoded, err)
	}
	encoded, err = yaml.Marshal(holder)
	if err != nil || strings.Contains(string(encoded), "very-secret") {
		t.Errorf("yaml = %s, %v: leaks the secret", encoded, err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("start", "token", secret, "slack", holder.Slack)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("start", "token", secret, "slack", holder.Slack)
	if strings.Contains(logs.String(), "very-secret") || strings.Contains(logs.String(), "also-secret") {
		t.Errorf("slog output leaks the secret: %s", logs.String())
	}
}

func TestEmptySecretPrintsEmpty(t *testing.T) {
	var secret Secret
	for _, format := range []string{"%v", "%s", "%#v"} {
		if got := fmt.Sprintf(format, secret); got != "" {
			t.Errorf("Sprintf(%q, empty) = %q, want \"\"", format, got)
		}
	}
	if text, _ := secret.MarshalText(); len(text) != 0 {
		t.Errorf("MarshalText(empty) = %q, want empty", text)
	}
}
