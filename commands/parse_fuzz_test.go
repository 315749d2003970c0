package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mfbot/config"
	"mfbot/reply"
)

// fuzzParseCatalogue builds a catalogue with two environments whose
// engines are never called: parse only reads the configuration.
func fuzzParseCatalogue(f *testing.F) *Catalogue {
	f.Helper()
	path := filepath.Join(f.TempDir(), "mfbot.yaml")
	if err := os.WriteFile(path, []byte("environments:\n  dev: {}\n  prod: {}\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	cfg, err := config.Load(path, func(string) (string, bool) { return "", false })
	if err != nil {
		f.Fatal(err)
	}
	var envs []*Environment
	for _, e := range cfg.Environments {
		envs = append(envs, &Environment{Config: e})
	}
	c, err := New(cfg, envs, Options{})
	if err != nil {
		f.Fatal(err)
	}
	return c
}

// FuzzParseCommand: parsing a command line against the catalogue never
// panics. On success the verb is one of the catalogue's, every flag given
// is one of the verb's, of its kind, and within its bounds, and the service
// is one of the environment's. On failure the reply is a usage reply with a
// non-empty message that is no stack trace.
func FuzzParseCommand(f *testing.F) {
	for _, seed := range []string{
		"prod logs app --tail=200 --grep \"ERROR x\"",
		"logs app --since 30m --until 5m --stderr",
		"dev logs db --tail 0",
		"logs app --tail 99999999999999999999",
		"logs app --since 8d",
		"logs app —tail 5 –since=1h",
		"logs app --grep '(\\w+\\s*){1000}'",
		"logs app --grep=[",
		"/mf prod restart app --no-pull",
		"rollback app --to sha256:abc",
		"audit --limit 201",
		"audit --limit=-1",
		"events --since 1d",
		"flow run x",
		"help logs",
		"PROD Stats",
		"mute app 2h don’t page",
		"logs app -- --tail 5",
		"logs app --tial 5",
		"logs app -tail 5",
		"logs app --tail --since 1h",
		"status extra",
		"unknownverb",
		"prod",
		"",
		"\"unterminated",
	} {
		f.Add(seed)
	}
	c := fuzzParseCatalogue(f)
	f.Fuzz(func(t *testing.T, line string) {
		cl, rep, ok := c.parse(Request{Line: line, User: "U1", Via: ViaConsole})
		if !ok {
			if rep.Status != reply.StatusUsage {
				t.Fatalf("parse(%q) failed with status %s, want usage", line, rep.Status)
			}
			var msg strings.Builder
			for _, b := range rep.Blocks {
				if text, isText := b.(*reply.Text); isText {
					msg.WriteString(text.Text)
				}
			}
			text := msg.String()
			if strings.TrimSpace(text) == "" {
				t.Fatalf("parse(%q): usage reply without a message", line)
			}
			for _, trace := range []string{"goroutine ", "panic", "runtime.", ".go:"} {
				if strings.Contains(text, trace) && !strings.Contains(line, trace) {
					t.Fatalf("parse(%q): message looks like a stack trace: %q", line, text)
				}
			}
			return
		}
		if cl == nil || cl.verb == nil || cl.env == nil {
			t.Fatalf("parse(%q): ok without a call, verb or environment", line)
		}
		if c.verbs[cl.verb.name] != cl.verb {
			t.Fatalf("parse(%q): verb %q is not in the catalogue", line, cl.verb.name)
		}
		if c.envs[cl.env.Config.Name] != cl.env {
			t.Fatalf("parse(%q): environment %q is not configured", line, cl.env.Config.Name)
		}
		specs := map[string]FlagSpec{}
		for _, s := range cl.verb.flags {
			specs[s.Name] = s
		}
		kindOf := func(name string, kind FlagKind) FlagSpec {
			s, known := specs[name]
			if !known || s.Kind != kind {
				t.Fatalf("parse(%q): flag --%s (kind %d) is not a flag of %q", line, name, kind, cl.verb.name)
			}
			return s
		}
		for name := range cl.args.Bools {
			kindOf(name, FlagBool)
		}
		for name, n := range cl.args.Ints {
			s := kindOf(name, FlagInt)
			if n < s.Min || (s.Max != 0 && n > s.Max) {
				t.Fatalf("parse(%q): --%s %d outside [%d, %d]", line, name, n, s.Min, s.Max)
			}
		}
		for name, d := range cl.args.Durations {
			s := kindOf(name, FlagDuration)
			if d < 0 || (s.MaxDuration > 0 && d > s.MaxDuration) {
				t.Fatalf("parse(%q): --%s %s outside [0, %s]", line, name, d, s.MaxDuration)
			}
			if s.MaxDuration == 0 && d > 3650*24*time.Hour {
				t.Fatalf("parse(%q): --%s %s unbounded", line, name, d)
			}
		}
		for name, re := range cl.args.Regexps {
			kindOf(name, FlagRegexp)
			if re == nil || len(re.String()) > parseMaxRegexpBytes {
				t.Fatalf("parse(%q): --%s regexp nil or too long", line, name)
			}
		}
		for name := range cl.args.Strings {
			kindOf(name, FlagString)
		}
		switch cl.verb.target {
		case noTarget:
			if len(cl.args.Positional) > 0 {
				t.Fatalf("parse(%q): %q takes no argument, got %q", line, cl.verb.name, cl.args.Positional)
			}
		case serviceTarget:
			if cl.service == nil {
				t.Fatalf("parse(%q): %q without a service", line, cl.verb.name)
			}
		}
		if cl.service != nil {
			if _, known := cl.env.Config.Service(cl.service.Name); !known {
				t.Fatalf("parse(%q): service %q is not one of %s", line, cl.service.Name, cl.env.Config.Name)
			}
		}
	})
}
