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

// logsFlags are the flags of the logs command, as the catalogue declares them.
var logsFlags = []FlagSpec{
	{Name: "tail", Kind: FlagInt, Min: 1, Max: 10000, Unit: "lines", Help: "number of lines from the end"},
	{Name: "since", Kind: FlagDuration, MaxDuration: 7 * 24 * time.Hour, Help: "only lines newer than this"},
	{Name: "until", Kind: FlagDuration, MaxDuration: 7 * 24 * time.Hour, Help: "only lines older than this"},
	{Name: "grep", Kind: FlagRegexp, Help: "only lines matching this regular expression"},
	{Name: "stderr", Kind: FlagBool, Help: "only the error stream"},
	{Name: "to", Kind: FlagString, Help: "image to roll back to"},
	{Name: "limit", Kind: FlagInt, Min: 1, Help: "number of runs"},
}

func TestParseFlags(t *testing.T) {
	type want struct {
		positional []string
		bools      map[string]bool
		ints       map[string]int
		durations  map[string]time.Duration
		strings    map[string]string
		regexps    map[string]string
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
		{[]string{"--since", "30m", "--until", "1h30m"}, want{durations: map[string]time.Duration{"since": 30 * time.Minute, "until": 90 * time.Minute}}},
		{[]string{"--since=7d"}, want{durations: map[string]time.Duration{"since": 7 * 24 * time.Hour}}},
		{[]string{"--since", "0s"}, want{durations: map[string]time.Duration{"since": 0}}},
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
		got, err := ParseFlags(tt.in, logsFlags)
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
		{"app --follow", "unknown flag --follow (flags: --tail, --since, --until, --grep, --stderr, --to, --limit)"},
		{"app --=5", "malformed flag: a name must follow --"},
		{"app --tail", "--tail needs a number of lines"},
		{"app --tail --stderr", "--tail needs a number of lines"},
		{"app --tail —since 5m", "--tail needs a number of lines"},
		{"app --since", "--since needs a duration such as 30m, 2h or 1d"},
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
		{"app --since 8d", "--since may not exceed 7d"},
		{"app --since 169h", "--since may not exceed 7d"},
		{"app --since 5x", `--since: bad duration "5x": use 30s, 15m, 2h or 1d`},
		{"app --since -5m", `--since: bad duration "-5m"`},
		{"app --since 1d12h", `--since: bad duration "1d12h"`},
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
		args, err := ParseFlags(tokens, logsFlags)
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
	_, err := ParseFlags([]string{"status", "--verbose"}, nil)
	if err == nil || err.Error() != "unknown flag --verbose (this command takes no flags)" {
		t.Errorf("got %v", err)
	}
}

func TestParseFlagsHas(t *testing.T) {
	args, err := ParseFlags([]string{"app", "--tail", "5", "--stderr=false", "--grep", "x", "--since", "1h", "--to", "y"}, logsFlags)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tail", "stderr", "grep", "since", "to"} {
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
		_, _ = ParseFlags(tokens, logsFlags)
	})
}
