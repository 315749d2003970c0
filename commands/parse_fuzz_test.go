package commands

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"mfbot/config"
	"mfbot/reply"
)

// fuzzNow is the fuzzed catalogue's clock: absolute instants are checked
// against it.
var fuzzNow = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

// fuzzParseCatalogue builds a catalogue with two environments whose
// engines are never called: parse only reads the configuration.
func fuzzParseCatalogue(tb testing.TB) *Catalogue {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "mfbot.yaml")
	if err := os.WriteFile(path, []byte("environments:\n  dev: {}\n  prod: {}\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	cfg, err := config.Load(path, func(string) (string, bool) { return "", false })
	if err != nil {
		tb.Fatal(err)
	}
	var envs []*Environment
	for _, e := range cfg.Environments {
		envs = append(envs, &Environment{Config: e})
	}
	c, err := New(cfg, envs, Options{Now: func() time.Time { return fuzzNow }})
	if err != nil {
		tb.Fatal(err)
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
		"events --since 2026-12-04",
		"logs app --since 2026-12-04T10:00 --until \"2026-12-04 10:30:00.5+01:00\"",
		"logs app --since 2026-11-01T10:00:00Z",
		"logs app --since 99999999d",
		"logs app --until 9999999999999h",
		"logs app --since 2026-13-01",
		"prdo logs app",
		"lgos app",
		"logs ap",
		"flow rn x",
		"help lgos",
		"hlep logs",
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
		for name, instant := range cl.args.Instants {
			s := kindOf(name, FlagInstant)
			if instant.At.IsZero() && (instant.Ago < 0 || (s.MaxDuration > 0 && instant.Ago > s.MaxDuration)) {
				t.Fatalf("parse(%q): --%s %s ago outside [0, %s]", line, name, instant.Ago, s.MaxDuration)
			}
			if !instant.At.IsZero() && (instant.At.Before(time.Unix(0, 0)) || (s.MaxDuration > 0 && instant.At.Before(fuzzNow.Add(-s.MaxDuration)))) {
				t.Fatalf("parse(%q): --%s %s further back than %s", line, name, instant.At, s.MaxDuration)
			}
			if instant.Ago != 0 && !instant.At.IsZero() {
				t.Fatalf("parse(%q): --%s is both %s ago and %s", line, name, instant.Ago, instant.At)
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

// The canonical line writes an instant so that it parses back to the same
// one: a duration as a duration (still relative to when it runs), a time
// in UTC.
func TestCanonicalRendersInstants(t *testing.T) {
	c := fuzzParseCatalogue(t)
	for line, want := range map[string]string{
		"logs app --since 30m --until 5m":                            "dev logs app --since=30m0s --until=5m0s",
		"prod logs APP --since 2026-12-04T10:00:00+01:00 --until 7d": "prod logs app --since=2026-12-04T09:00:00Z --until=168h0m0s",
		`logs app --since "2026-12-04 10:00:00.25" --grep "a b"`:     `dev logs app --since=2026-12-04T10:00:00.25Z --grep="a b"`,
		"events --since 2026-12-04":                                  "dev events --since=2026-12-04T00:00:00Z",
		`mute app 1h 'say “hi”' now`:                                 `dev mute app 1h "say \“hi\”" now`,
		"mute app 1h -- --force -n":                                  "dev mute -- app 1h --force -n",
		"restart app --no-pull":                                      "dev restart app --no-pull",
	} {
		first, rep, ok := c.parse(Request{Line: line, User: "U1", Via: ViaConsole})
		if !ok {
			t.Errorf("%q: %s", line, usageReplyText(rep))
			continue
		}
		canonical := c.canonical(first)
		if canonical != want {
			t.Errorf("canonical(%q) = %q, want %q", line, canonical, want)
		}
		again, rep, ok := c.parse(Request{Line: canonical, User: "U1", Via: ViaConsole})
		if !ok {
			t.Errorf("%q: its canonical %q is refused: %s", line, canonical, usageReplyText(rep))
			continue
		}
		if diff := callDifference(first, again); diff != "" {
			t.Errorf("%q and its canonical %q differ: %s", line, canonical, diff)
		}
	}
}

// FuzzCanonicalRoundTrip: the canonical command line of a parsed command
// (what a confirmation runs) parses back to the same command: environment,
// verb, service, arguments and flags, instants included.
func FuzzCanonicalRoundTrip(f *testing.F) {
	for _, seed := range []string{
		"prod logs app --tail=200 --grep \"ERROR x\" --stderr",
		"logs app --since 30m --until 5m",
		"logs app --since 2026-12-04T10:00 --until \"2026-12-04 10:30:00.5+01:00\"",
		"events --since 2026-12-04",
		"dev restart app --no-pull",
		"rollback app --to sha256:abc",
		"mute app 2h don’t page",
		`mute app 2h "say \"hi\""`,
		"db activity --over 90s",
		"flow run logbook",
		"deploy v1.2.3 all",
		"help flow",
	} {
		f.Add(seed)
	}
	c := fuzzParseCatalogue(f)
	f.Fuzz(func(t *testing.T, line string) {
		first, _, ok := c.parse(Request{Line: line, User: "U1", Via: ViaConsole})
		if !ok {
			return
		}
		canonical := c.canonical(first)
		again, rep, ok := c.parse(Request{Line: canonical, User: "U1", Via: ViaConsole})
		if !ok {
			t.Fatalf("parse(%q) ok, but its canonical %q is refused: %s", line, canonical, usageReplyText(rep))
		}
		if diff := callDifference(first, again); diff != "" {
			t.Fatalf("parse(%q) and its canonical %q differ: %s", line, canonical, diff)
		}
	})
}

// callDifference says how two parsed calls differ, "" when they do not.
func callDifference(a, b *call) string {
	switch {
	case a.env != b.env:
		return "environment " + a.env.Config.Name + " vs " + b.env.Config.Name
	case a.verb != b.verb:
		return "verb " + a.verb.name + " vs " + b.verb.name
	case (a.service == nil) != (b.service == nil) || (a.service != nil && a.service.Name != b.service.Name):
		return fmt.Sprintf("service %v vs %v", a.service, b.service)
	case a.service == nil && !slices.Equal(a.args.Positional, b.args.Positional):
		return fmt.Sprintf("arguments %q vs %q", a.args.Positional, b.args.Positional)
	}
	trueBools := func(bools map[string]bool) map[string]bool {
		return maps.Collect(func(yield func(string, bool) bool) {
			for name, on := range bools {
				if on && !yield(name, on) {
					return
				}
			}
		})
	}
	regexps := func(res map[string]*regexp.Regexp) map[string]string {
		out := map[string]string{}
		for name, re := range res {
			out[name] = re.String()
		}
		return out
	}
	switch {
	case !maps.Equal(trueBools(a.args.Bools), trueBools(b.args.Bools)): // --x=false is written as nothing
		return fmt.Sprintf("bools %v vs %v", a.args.Bools, b.args.Bools)
	case !maps.Equal(a.args.Ints, b.args.Ints):
		return fmt.Sprintf("ints %v vs %v", a.args.Ints, b.args.Ints)
	case !maps.Equal(a.args.Durations, b.args.Durations):
		return fmt.Sprintf("durations %v vs %v", a.args.Durations, b.args.Durations)
	case !maps.Equal(a.args.Strings, b.args.Strings):
		return fmt.Sprintf("strings %q vs %q", a.args.Strings, b.args.Strings)
	case !maps.Equal(regexps(a.args.Regexps), regexps(b.args.Regexps)):
		return fmt.Sprintf("regexps %v vs %v", regexps(a.args.Regexps), regexps(b.args.Regexps))
	case !maps.EqualFunc(a.args.Instants, b.args.Instants, func(x, y Instant) bool { return x.Ago == y.Ago && x.At.Equal(y.At) }):
		return fmt.Sprintf("instants %v vs %v", a.args.Instants, b.args.Instants)
	}
	return ""
}

// usageReplyText is the text of a usage reply's blocks.
func usageReplyText(rep reply.Reply) string {
	var msg strings.Builder
	for _, b := range rep.Blocks {
		if text, isText := b.(*reply.Text); isText {
			msg.WriteString(text.Text)
		}
	}
	return msg.String()
}
