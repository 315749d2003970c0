package commands

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   \t ", nil},
		{"status", []string{"status"}},
		{"prod logs app --since 30m --grep ERROR", []string{"prod", "logs", "app", "--since", "30m", "--grep", "ERROR"}},
		{"  logs \t app  ", []string{"logs", "app"}},
		{"logs app\n", []string{"logs", "app"}},
		{"logs app\r\n", []string{"logs", "app"}},
		{`logs app --grep "Connection refused"`, []string{"logs", "app", "--grep", "Connection refused"}},
		{`logs app --grep 'a "b" c'`, []string{"logs", "app", "--grep", `a "b" c`}},
		{`logs app --grep="a b"`, []string{"logs", "app", "--grep=a b"}},
		{`--grep "say \"hi\""`, []string{"--grep", `say "hi"`}},
		{`--grep "back\\slash"`, []string{"--grep", `back\slash`}},
		{`--grep "\d+ rows"`, []string{"--grep", `\d+ rows`}},
		{`--grep \d+`, []string{"--grep", `\d+`}},
		{`--grep '\"'`, []string{"--grep", `\"`}},
		{`a""b`, []string{"ab"}},
		{`""`, []string{""}},
		{`x "" y`, []string{"x", "", "y"}},
		{`"a"'b'c`, []string{"abc"}},
		{`'it\'s'`, []string{`it\s'`}}, // no escapes in single quotes; the last ' follows a letter
		// Slack's typographic quotes.
		{"logs app --grep “Connection refused”", []string{"logs", "app", "--grep", "Connection refused"}},
		{"logs app --grep ‘a b’", []string{"logs", "app", "--grep", "a b"}},
		{"--grep “a 'b' c”", []string{"--grep", "a 'b' c"}},
		{"--grep \"mixed”", []string{"--grep", "mixed"}},
		{"--grep=‘x y’", []string{"--grep=x y"}},
		// Apostrophes inside words are letters.
		{"mute app 2h don't page", []string{"mute", "app", "2h", "don't", "page"}},
		{"mute app 2h don’t page, it’s a deploy", []string{"mute", "app", "2h", "don’t", "page,", "it’s", "a", "deploy"}},
		{"mute all 1h 'planned maintenance'", []string{"mute", "all", "1h", "planned maintenance"}},
		// The pasted slash command.
		{"/mf restart app", []string{"restart", "app"}},
		{"/MF status", []string{"status"}},
		{"/mf", []string{}},
		{"status /mf", []string{"status", "/mf"}},
		{`"/mf" status`, []string{"status"}},
		// Unicode spaces and invisible characters.
		{"logs\u00a0app", []string{"logs", "app"}},
		{"lo\u200bgs app\ufeff", []string{"logs", "app"}},
		{"logs\tapp", []string{"logs", "app"}},
		{"mute app 1h \"café fermé\"", []string{"mute", "app", "1h", "café fermé"}},
	}
	for _, tt := range tests {
		got, err := Tokenize(tt.in)
		if err != nil {
			t.Errorf("Tokenize(%q): %v", tt.in, err)
			continue
		}
		if len(got) == 0 && len(tt.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Tokenize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTokenizeErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`logs app --grep "unterminated`, "unterminated double quote (opened at character 17)"},
		{`logs app --grep 'unterminated`, "unterminated single quote (opened at character 17)"},
		{"logs app --grep “unterminated", "unterminated double quote"},
		{"logs app --grep ‘unterminated", "unterminated single quote"},
		{`"a\"`, "unterminated double quote"},
		{"logs\x00app", "NUL character at character 5"},
		{"logs\x07app", "control character U+0007"},
		{"logs\napp", "control character U+000A"},
		{"logs\x1b[31mapp", "control character U+001B"},
		{"logs \u0085app", "control character U+0085"},
		{"\"a\x00\"", "NUL character"},
		{"logs \xff\xfe", "invalid UTF-8 at character 6"},
		{strings.Repeat("a", 5000), "command too long"},
	}
	for _, tt := range tests {
		got, err := Tokenize(tt.in)
		if err == nil {
			t.Errorf("Tokenize(%q) = %q, want an error", tt.in, got)
			continue
		}
		var usage *UsageError
		if !errors.As(err, &usage) {
			t.Errorf("Tokenize(%q): error %T is not a *UsageError", tt.in, err)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Tokenize(%q) error %q, want it to contain %q", tt.in, err, tt.want)
		}
	}
}

// logsFlags are the flags of the logs command, as the catalogue declares
// them, and one of each other kind.
var logsFlags = []FlagSpec{
	{Name: "tail", Kind: FlagInt, Min: 1, Max: 10000, Unit: "lines", Help: "number of lines from the end"},
	{Name: "since", Kind: FlagInstant, MaxDuration: 7 * 24 * time.Hour, Help: "only lines newer than this"},
	{Name: "until", Kind: FlagInstant, MaxDuration: 7 * 24 * time.Hour, Help: "only lines older than this"},
	{Name: "grep", Kind: FlagRegexp, Help: "only lines matching this regular expression"},
	{Name: "stderr", Kind: FlagBool, Help: "only the error stream"},
	{Name: "to", Kind: FlagString, Help: "image to roll back to"},
	{Name: "limit", Kind: FlagInt, Min: 1, Help: "number of runs"},
	{Name: "over", Kind: FlagDuration, MaxDuration: 24 * time.Hour, Help: "a bounded duration"},
	{Name: "every", Kind: FlagDuration, Help: "an unbounded duration"},
	{Name: "at", Kind: FlagInstant, Help: "an instant without bound"},
}

// parseTestNow is the clock of the parse tests: absolute instants are
// checked against it.
var parseTestNow = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func TestParseFlags(t *testing.T) {
	type want struct {
		positional []string
		bools      map[string]bool
		ints       map[string]int
		durations  map[string]time.Duration
		strings    map[string]string
		regexps    map[string]string
		instants   map[string]Instant
	}
	tests := []struct {
		in   []string
		want want
	}{
		{nil, want{}},
		{[]string{"app"}, want{positional: []string{"app"}}},
		{[]string{"app", "--tail", "200"}, want{positional: []string{"app"}, ints: map[string]int{"tail": 200}}},
		{[]string{"app", "--tail=200"}, want{positional: []string{"app"}, ints: map[string]int{"tail": 200}}},
		{[]string{"--tail", "5", "app"}, want{positional: []string{"app"}, ints: map[string]int{"tail": 5}}},
		{[]string{"--tail", "1"}, want{ints: map[string]int{"tail": 1}}},
		{[]string{"--tail", "10000"}, want{ints: map[string]int{"tail": 10000}}},
		{[]string{"--tail", "+7"}, want{ints: map[string]int{"tail": 7}}},
		{[]string{"--limit", "123456"}, want{ints: map[string]int{"limit": 123456}}},
		{[]string{"--stderr"}, want{bools: map[string]bool{"stderr": true}}},
		{[]string{"--stderr=false"}, want{bools: map[string]bool{"stderr": false}}},
		{[]string{"--stderr=true", "app"}, want{positional: []string{"app"}, bools: map[string]bool{"stderr": true}}},
		{[]string{"--stderr", "app"}, want{positional: []string{"app"}, bools: map[string]bool{"stderr": true}}},
		{[]string{"--over", "30m", "--every", "1h30m"}, want{durations: map[string]time.Duration{"over": 30 * time.Minute, "every": 90 * time.Minute}}},
		{[]string{"--over=1d"}, want{durations: map[string]time.Duration{"over": 24 * time.Hour}}},
		{[]string{"--every", "200000h"}, want{durations: map[string]time.Duration{"every": 200000 * time.Hour}}},
		{[]string{"--over", "0s"}, want{durations: map[string]time.Duration{"over": 0}}},
		// Instants: a duration back from now, or a time (UTC unless an offset is given).
		{[]string{"--since", "30m", "--until", "1h30m"}, want{instants: map[string]Instant{"since": {Ago: 30 * time.Minute}, "until": {Ago: 90 * time.Minute}}}},
		{[]string{"--since=7d"}, want{instants: map[string]Instant{"since": {Ago: 7 * 24 * time.Hour}}}},
		{[]string{"--since", "0s"}, want{instants: map[string]Instant{"since": {Ago: 0}}}},
		{[]string{"--since", "2026-12-04T10:00:00Z"}, want{instants: map[string]Instant{"since": {At: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}}}},
		{[]string{"--since", "2026-12-04T10:00:00.250Z"}, want{instants: map[string]Instant{"since": {At: time.Date(2026, 12, 4, 10, 0, 0, 250e6, time.UTC)}}}},
		{[]string{"--since=2026-12-04T10:00"}, want{instants: map[string]Instant{"since": {At: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}}}},
		{[]string{"--since", "2026-12-04T10:00:30"}, want{instants: map[string]Instant{"since": {At: time.Date(2026, 12, 4, 10, 0, 30, 0, time.UTC)}}}},
		{[]string{"--since", "2026-12-04 10:00"}, want{instants: map[string]Instant{"since": {At: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}}}},
		{[]string{"--since", "2026-12-04 10:00:30.5"}, want{instants: map[string]Instant{"since": {At: time.Date(2026, 12, 4, 10, 0, 30, 5e8, time.UTC)}}}},
		{[]string{"--since", "2026-12-04t10:00z"}, want{instants: map[string]Instant{"since": {At: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}}}},
		{[]string{"--since", "2026-12-04"}, want{instants: map[string]Instant{"since": {At: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)}}}},
		{[]string{"--until", "2026-12-05T12:30:00Z"}, want{instants: map[string]Instant{"until": {At: time.Date(2026, 12, 5, 12, 30, 0, 0, time.UTC)}}}}, // the future is no bound's business
		{[]string{"--at", "1970-01-01T00:00:00Z"}, want{instants: map[string]Instant{"at": {At: time.Unix(0, 0).UTC()}}}},
		{[]string{"--at", "3650d"}, want{instants: map[string]Instant{"at": {Ago: 3650 * 24 * time.Hour}}}}, // no MaxDuration: ParseDuration's bound
		{[]string{"--grep", "ERROR|WARN"}, want{regexps: map[string]string{"grep": "ERROR|WARN"}}},
		{[]string{"--grep", `(?i)connection (refused|reset)|\bERROR\b.*\p{L}{3,40}`}, want{regexps: map[string]string{"grep": `(?i)connection (refused|reset)|\bERROR\b.*\p{L}{3,40}`}}},
		{[]string{"--grep=a=b"}, want{regexps: map[string]string{"grep": "a=b"}}},
		{[]string{"--grep", "-v"}, want{regexps: map[string]string{"grep": "-v"}}},
		{[]string{"--grep=--x"}, want{regexps: map[string]string{"grep": "--x"}}},
		{[]string{"--to", "sha256:abc"}, want{strings: map[string]string{"to": "sha256:abc"}}},
		// -- ends the flags.
		{[]string{"app", "--", "--tail", "5"}, want{positional: []string{"app", "--tail", "5"}}},
		{[]string{"--", "-n"}, want{positional: []string{"-n"}}},
		// Slack's dash autocorrection.
		{[]string{"app", "—tail", "5"}, want{positional: []string{"app"}, ints: map[string]int{"tail": 5}}},
		{[]string{"app", "–tail=5", "—stderr"}, want{positional: []string{"app"}, ints: map[string]int{"tail": 5}, bools: map[string]bool{"stderr": true}}},
		{[]string{"app", "—", "—tail"}, want{positional: []string{"app", "—tail"}}},
		// Case-insensitive names.
		{[]string{"--Tail", "3"}, want{ints: map[string]int{"tail": 3}}},
		// Positionals that merely start with a dash.
		{[]string{"mute", "app", "1h", "-", "deploy"}, want{positional: []string{"mute", "app", "1h", "-", "deploy"}}},
		{[]string{"-5"}, want{positional: []string{"-5"}}},
	}
	for _, tt := range tests {
		got, err := ParseFlags(tt.in, logsFlags, parseTestNow)
		if err != nil {
			t.Errorf("ParseFlags(%q): %v", tt.in, err)
			continue
		}
		regexps := map[string]string{}
		for name, re := range got.Regexps {
			regexps[name] = re.String()
		}
		for _, check := range []struct {
			what      string
			got, want any
		}{
			{"positional", got.Positional, tt.want.positional},
			{"bools", got.Bools, tt.want.bools},
			{"ints", got.Ints, tt.want.ints},
			{"durations", got.Durations, tt.want.durations},
			{"strings", got.Strings, tt.want.strings},
			{"regexps", regexps, tt.want.regexps},
			{"instants", got.Instants, tt.want.instants},
		} {
			if reflect.ValueOf(check.got).Len() == 0 && reflect.ValueOf(check.want).Len() == 0 {
				continue
			}
			if !reflect.DeepEqual(check.got, check.want) {
				t.Errorf("ParseFlags(%q) %s = %v, want %v", tt.in, check.what, check.got, check.want)
			}
		}
	}
}

func TestParseFlagsErrors(t *testing.T) {
	tests := []struct {
		in   string // tokenized first, as the transports do
		want string
	}{
		{"app --tial 5", "unknown flag --tial (did you mean --tail?)"},
		{"app --sinse 5m", "unknown flag --sinse (did you mean --since?)"},
		{"app --stder", "unknown flag --stder (did you mean --stderr?)"},
		{"app ---tail 5", "unknown flag ---tail (did you mean --tail?)"},
		{"app --follow", "unknown flag --follow (flags: --tail, --since, --until, --grep, --stderr, --to, --limit, --over, --every, --at)"},
		{"app --gr x", "unknown flag --gr (did you mean --grep?)"},
		{"app --st x", "unknown flag --st (did you mean --at?)"},
		{"app --s x", "unknown flag --s (flags: "}, // --since or --stderr? no guess
		{"app --=5", "malformed flag: a name must follow --"},
		{"app --tail", "--tail needs a number of lines"},
		{"app --tail --stderr", "--tail needs a number of lines"},
		{"app --tail —since 5m", "--tail needs a number of lines"},
		{"app --since", "--since needs a duration such as 30m, 2h or 1d, or a time such as 2026-12-04T10:00"},
		{"app --over", "--over needs a duration such as 30m, 2h or 1d"},
		{"app --grep", "--grep needs a regular expression"},
		{"app --to", "--to needs a value"},
		{"app --tail=", "--tail needs a number of lines, got an empty value"},
		{`app --tail ""`, "--tail needs a number of lines, got an empty value"},
		{`app --grep ""`, "--grep needs a regular expression, got an empty value"},
		{`app --grep=" "`, "--grep needs a regular expression, got an empty value"},
		{"app --stderr=", `--stderr takes no value (or =true, =false), got ""`},
		{"app --stderr=maybe", `--stderr takes no value (or =true, =false), got "maybe"`},
		{"app --tail abc", `--tail wants a number of lines, got "abc"`},
		{"app --tail 1.5", `--tail wants a number of lines, got "1.5"`},
		{"app --tail 1_000", `--tail wants a number of lines, got "1_000"`},
		{"app --limit x", `--limit wants a number, got "x"`},
		{"app --tail -5", "--tail must be between 1 and 10000"},
		{"app --tail 0", "--tail must be between 1 and 10000"},
		{"app --tail 99999", "--tail must be between 1 and 10000"},
		{"app --tail 99999999999999999999999", "--tail must be between 1 and 10000"},
		{"app --limit 0", "--limit must be at least 1"},
		{"app --limit 99999999999999999999999", "--limit: 99999999999999999999999 is out of range"},
		{"app --over 2d", "--over: at most 1d"},
		{"app --over 25h", "--over: at most 1d"},
		{"app --over 9999d", "--over: at most 1d"},
		{"app --over 99999999999999999999d", "--over: at most 1d"},
		{"app --over 5x", `--over: bad duration "5x": use 30s, 15m, 2h or 1d`},
		{"app --every 9999d", `--every: duration "9999d" is too long (at most 3650d)`},
		{"app --since 8d", "--since: at most 7d"},
		{"app --since 169h", "--since: at most 7d"},
		{"app --since 9999d", "--since: at most 7d"},
		{"app --until 99999999d", "--until: at most 7d"},
		{"app --since 99999999999999999999d", "--since: at most 7d"},
		{"app --since 9999999999999h", "--since: at most 7d"},
		{"app --since 5x", `--since: bad duration "5x": use 30s, 15m, 2h or 1d, or a time such as 2026-12-04T10:00 (UTC)`},
		{"app --since -5m", `--since: bad duration "-5m"`},
		{"app --since 1d12h", `--since: bad duration "1d12h"`},
		{"app --at 9999999999999h", `--at: duration "9999999999999h" is too long (at most 3650d)`},
		{"app --at 9999d", `--at: duration "9999d" is too long (at most 3650d)`},
		// Absolute times: no further back than MaxDuration from parseTestNow.
		{"app --since 2026-11-28T11:59:59Z", "--since: at most 7d ago, got 2026-11-28T11:59:59Z"},
		{"app --since 2026-11-28T12:59:59+01:00", "--since: at most 7d ago, got 2026-11-28T11:59:59Z"},
		{"app --until 2020-01-01", "--until: at most 7d ago, got 2020-01-01T00:00:00Z"},
		{"app --at 1969-12-31T23:59:59Z", "--at: 1969-12-31T23:59:59Z is before 1970"},
		{"app --since 2026-13-04T10:00", `--since: bad time "2026-13-04T10:00": use 2026-12-04T10:00 (UTC), 2026-12-04T10:00:00+01:00 or 2026-12-04`},
		{"app --since 2026-12-04T25:00", `--since: bad time "2026-12-04T25:00"`},
		{"app --since 2026-12-04T10", `--since: bad time "2026-12-04T10"`},
		{"app --since 2026-12-04T10:00+0100", `--since: bad time "2026-12-04T10:00+0100"`},
		{`app --since "2026-12-04  10:00"`, `--since: bad time "2026-12-04  10:00"`},
		{"app --since 2026-12-04Z", `--since: bad time "2026-12-04Z"`},
		{"app --grep (ERROR", "--grep: bad regular expression: missing closing )"},
		{"app --grep [a-", "--grep: bad regular expression: missing closing ]"},
		{"app --grep a**", "--grep: bad regular expression: invalid nested repetition operator"},
		{"app --grep a{2000}", "--grep: bad regular expression: invalid repeat count"},
		{"app --grep " + strings.Repeat("a", 257), "--grep: regular expression too long (257 bytes, at most 256)"},
		{"app --grep " + strings.Repeat(`(\w+\s*){1000}`, 2), "--grep: regular expression too complex"},
		{"app --grep " + `[a-z]{1000}[0-9]{1000}[A-Z]{1000}`, "--grep: regular expression too complex"},
		{"app --tail 5 --tail 6", "--tail given twice"},
		{"app --tail=5 —tail 6", "--tail given twice"},
		{"app --stderr --stderr=false", "--stderr given twice"},
		{"app -n 5", "one-dash flags like -n are not supported: flags are written --name"},
		{"app -tail 5", "flags take two dashes: --tail, not -tail"},
		{"app -tail=5", "flags take two dashes: --tail, not -tail=5"},
	}
	for _, tt := range tests {
		tokens, err := Tokenize(tt.in)
		if err != nil {
			t.Fatalf("Tokenize(%q): %v", tt.in, err)
		}
		args, err := ParseFlags(tokens, logsFlags, parseTestNow)
		if err == nil {
			t.Errorf("ParseFlags(%q) = %+v, want an error", tt.in, args)
			continue
		}
		var usage *UsageError
		if !errors.As(err, &usage) {
			t.Errorf("ParseFlags(%q): error %T is not a *UsageError", tt.in, err)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseFlags(%q) error %q, want it to contain %q", tt.in, err, tt.want)
		}
	}
}

func TestParseFlagsWithoutSpecs(t *testing.T) {
	_, err := ParseFlags([]string{"status", "--verbose"}, nil, parseTestNow)
	if err == nil || err.Error() != "unknown flag --verbose (this command takes no flags)" {
		t.Errorf("got %v", err)
	}
}

func TestParseFlagsHas(t *testing.T) {
	args, err := ParseFlags([]string{"app", "--tail", "5", "--stderr=false", "--grep", "x", "--since", "1h", "--to", "y", "--over", "1m", "--at", "2026-12-05"}, logsFlags, parseTestNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tail", "stderr", "grep", "since", "to", "over", "at"} {
		if !args.Has(name) {
			t.Errorf("Has(%q) = false", name)
		}
	}
	for _, name := range []string{"until", "limit", "app", ""} {
		if args.Has(name) {
			t.Errorf("Has(%q) = true", name)
		}
	}
	if (Args{}).Has("tail") {
		t.Errorf("zero Args has a flag")
	}
}

func TestParseEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"tail", "tail", 0}, {"tial", "tail", 1}, {"tai", "tail", 1},
		{"tails", "tail", 1}, {"since", "sinse", 1}, {"", "abc", 3}, {"abc", "", 3},
		{"grep", "greep", 1}, {"stderr", "sdterr", 1}, {"kitten", "sitting", 3}, {"ca", "abc", 3},
	}
	for _, tt := range tests {
		if got := parseEditDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("parseEditDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// An instant resolves against the clock it is given when it is a duration,
// and is the same whatever the clock when it is a time.
func TestInstantTime(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	if got := (Instant{Ago: 90 * time.Minute}).Time(now); !got.Equal(time.Date(2026, 12, 5, 10, 30, 0, 0, time.UTC)) {
		t.Errorf("90m ago = %v", got)
	}
	if got := (Instant{}).Time(now); !got.Equal(now) {
		t.Errorf("0 ago = %v", got)
	}
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.FixedZone("", 3600))
	if got := (Instant{At: at}).Time(now); !got.Equal(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("10:00+01:00 = %v", got.UTC())
	}
}

// With an offset the instant is the offset's, whatever the machine's zone.
func TestParseFlagsAbsoluteInstantsAreUTCUnlessAnOffsetIsGiven(t *testing.T) {
	for value, want := range map[string]string{
		"2026-12-04T10:00":              "2026-12-04T10:00:00Z",
		"2026-12-04T10:00:00":           "2026-12-04T10:00:00Z",
		"2026-12-04":                    "2026-12-04T00:00:00Z",
		"2026-12-04T10:00:00Z":          "2026-12-04T10:00:00Z",
		"2026-12-04T10:00:00+01:00":     "2026-12-04T09:00:00Z",
		"2026-12-04T10:00+01:00":        "2026-12-04T09:00:00Z",
		"2026-12-04T10:00:00-05:30":     "2026-12-04T15:30:00Z",
		"2026-12-04 10:00:00.123+01:00": "2026-12-04T09:00:00.123Z",
		"2026-12-05T00:30:00+14:00":     "2026-12-04T10:30:00Z",
	} {
		args, err := ParseFlags([]string{"--since", value}, logsFlags, parseTestNow)
		if err != nil {
			t.Errorf("--since %s: %v", value, err)
			continue
		}
		instant := args.Instants["since"]
		if got := instant.Time(time.Time{}).UTC().Format(time.RFC3339Nano); got != want || instant.Ago != 0 {
			t.Errorf("--since %s = %s (ago %s), want %s", value, got, instant.Ago, want)
		}
	}
}

func TestParseFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{7 * 24 * time.Hour, "7d"}, {2 * time.Hour, "2h"}, {90 * time.Minute, "1h30m"},
		{15 * time.Minute, "15m"}, {30 * time.Second, "30s"}, {36 * time.Hour, "36h"},
	}
	for _, tt := range tests {
		if got := parseFormatDuration(tt.in); got != tt.want {
			t.Errorf("parseFormatDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzTokenize: Tokenize never panics, and whatever it accepts survives a
// round trip through double quotes.
func FuzzTokenize(f *testing.F) {
	for _, seed := range []string{
		"",
		"status",
		"/mf prod logs app --since 30m --grep ERROR",
		`logs app --grep "Connection refused"`,
		`logs app --grep 'a "b" c'`,
		`--grep "say \"hi\" \\ \d"`,
		"logs app --grep “Connection refused”",
		"mute app 2h don’t page ‘now’",
		`"unterminated`,
		`'unterminated`,
		"“unterminated",
		"a\x00b",
		"a\x1bb",
		"\xff\xfe",
		"lo\u200bgs\u00a0app",
		`a""b''c`,
		`"\`,
		"—tail 5 –since=1h",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		tokens, err := Tokenize(line)
		if err != nil {
			var usage *UsageError
			if !errors.As(err, &usage) || usage.Msg == "" {
				t.Fatalf("Tokenize(%q): error %v is not a non-empty *UsageError", line, err)
			}
			return
		}
		var quoted []string
		for _, token := range tokens {
			if !utf8.ValidString(token) {
				t.Fatalf("Tokenize(%q): invalid UTF-8 token %q", line, token)
			}
			escaped := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "“", `\“`, "”", `\”`).Replace(token)
			quoted = append(quoted, `"`+escaped+`"`)
		}
		requoted := strings.Join(quoted, " ")
		if len(requoted) > parseMaxLineBytes {
			return
		}
		again, err := Tokenize(requoted)
		if err != nil {
			t.Fatalf("Tokenize(%q) = %q; quoted again: %v", line, tokens, err)
		}
		if len(tokens) > 0 && strings.EqualFold(tokens[0], "/mf") {
			// A token "/mf" that was quoted in line is dropped by the round trip.
			again = append([]string{tokens[0]}, again...)
		}
		if len(tokens) != len(again) || (len(tokens) > 0 && !reflect.DeepEqual(tokens, again)) {
			t.Fatalf("Tokenize(%q) = %q, but quoted again gives %q", line, tokens, again)
		}
		// ParseFlags must not panic on whatever Tokenize returns either.
		_, _ = ParseFlags(tokens, logsFlags, parseTestNow)
	})
}
