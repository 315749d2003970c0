package commands_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"mfbot/adapters/store"
	. "mfbot/commands"
	"mfbot/containers"
	"mfbot/mute"
)

// One mute policy: the mutes written in the configuration are listed by
// `incidents` and `status` beside the ones typed in Slack, and the
// notifier's policy (MutePolicy) holds both.
func TestConfiguredMutesAreListedAndApplied(t *testing.T) {
	until := time.Now().Add(3 * time.Hour).UTC().Format(time.RFC3339)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	cfg := loadConfig(t, "environments:\n  prod: {}\n  dev: {}\nmutes:\n"+
		"  - {env: prod, target: db, until: "+until+", reason: migration}\n"+
		"  - {target: positions-received, until: "+until+", reason: AIS feed down}\n"+
		"  - {env: prod, target: app, until: "+past+"}\n")
	st, err := store.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	st.AddMute(context.Background(), mute.Mute{Env: "prod", Target: "geoserver", Until: now.Add(time.Hour), By: "U1", CreatedAt: now})
	engine := &recordingEngine{containers: []containers.Container{{ID: "a1", Name: "remote_app_1", State: "running"}}}
	var envs []*Environment
	for _, e := range cfg.Environments {
		envs = append(envs, &Environment{Config: e, Docker: engine})
	}
	c, err := New(cfg, envs, Options{Mutes: st, Incidents: staticIncidents{{Env: "prod", Source: "docker", Target: "db", State: "open", FirstSeen: now}}})
	if err != nil {
		t.Fatal(err)
	}

	out := replyText(c.Run(context.Background(), Request{Line: "prod incidents", User: "U1", Via: ViaConsole}))
	for _, want := range []string{"3 active mute(s)", "prod/db", "migration", "every env/positions-received", "AIS feed down", "prod/geoserver", "configuration"} {
		if !strings.Contains(out, want) {
			t.Errorf("incidents lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "yes") {
		t.Errorf("the open incident of db is not shown muted by the configured mute:\n%s", out)
	}
	status := replyText(c.Run(context.Background(), Request{Line: "prod status", User: "U1", Via: ViaConsole}))
	for _, want := range []string{"db until", "positions-received until", "geoserver until"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks the mute %q:\n%s", want, status)
		}
	}
	if strings.Contains(status, "app until") {
		t.Errorf("status lists an expired configured mute:\n%s", status)
	}

	policy := MutePolicy(cfg, st)
	for _, tc := range []struct {
		env, target string
		want        bool
	}{{"prod", "db", true}, {"dev", "db", false}, {"dev", "positions-received", true}, {"prod", "geoserver", true}, {"prod", "app", false}} {
		if got, err := policy.Muted(context.Background(), tc.env, tc.target, now); err != nil || got != tc.want {
			t.Errorf("Muted(%s, %s) = %v, %v; want %v", tc.env, tc.target, got, err, tc.want)
		}
	}
}

// Configured mutes name groups and flows as operators write them; the
// policy covers the incidents' own targets.
func TestConfiguredMutesOfGroupsAndFlows(t *testing.T) {
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	cfg := loadConfig(t, "environments:\n  prod: {}\nmutes:\n"+
		"  - {env: prod, target: pipeline, until: "+until+"}\n"+
		"  - {target: Monitorfish - Scrape legipeche, until: "+until+"}\n"+
		"  - {target: prefect-api, until: "+until+"}\n")
	p := MutePolicy(cfg, nil)
	now := time.Now()
	for target, want := range map[string]bool{"pipeline-server": true, "pipeline-flows": true, "app": false,
		"scrape-legipeche": true, "logbook": false, "prefect-api": true} {
		if got, _ := p.Muted(context.Background(), "prod", target, now); got != want {
			t.Errorf("%s muted = %v, want %v", target, got, want)
		}
	}
}
