package commands

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"mfbot/config"
)

// UsageError is bad input from the user: nothing was executed, and Msg is
// short and specific enough to show as is, next to the usage line.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usageErrorf(format string, args ...any) *UsageError {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// parseMaxLineBytes bounds a command line: the longest real one (a mute
// with its reason) is far shorter.
const parseMaxLineBytes = 4096

// parseMaxRegexpBytes and parseMaxRegexpInstructions bound --grep and the
// like (PRODUCT §6: regexes compiled with limits). Matching time grows with
// the size of the compiled program, and 256 bytes such as (\w+\s*){1000}
// repeated compile to ~100,000 instructions, run on each of 10,000 lines.
const (
	parseMaxRegexpBytes        = 256
	parseMaxRegexpInstructions = 2500
)

// Tokenize splits a command line like a shell would, without ever running one:
// whitespace separates, "double" and 'single' quotes group (backslash escapes \"
// and \\ inside double quotes; any other backslash is kept, so --grep "\d+"
// works), and Slack's typographic quotes “ ” ‘ ’ count as quotes (Slack's
// clients substitute them). An apostrophe inside a word (don't, don’t) is
// kept as a letter, so a mute reason can be typed naturally.
// Errors: unterminated quote; a NUL or control character other than tab;
// invalid UTF-8; a line over 4 KiB. Surrounding whitespace (a trailing newline)
// is ignored, and so are zero-width characters. A leading "/mf" token (the
// whole slash command pasted) is dropped.
func Tokenize(line string) ([]string, error) {
	if len(line) > parseMaxLineBytes {
		return nil, usageErrorf("command too long (%d bytes, at most %d)", len(line), parseMaxLineBytes)
	}
	line = strings.TrimFunc(line, unicode.IsSpace)

	var (
		tokens  []string
		current strings.Builder
		inToken bool // also true for "" (an empty quoted token)
		quote   rune // 0 outside quotes, '"' or '\'' inside
		quoteAt int  // character position of the opening quote, for the error
		before  rune // the character before the current one
	)
	endToken := func() {
		if inToken {
			tokens = append(tokens, current.String())
		}
		current.Reset()
		inToken = false
	}
	position := 0
	for i, r := 0, rune(0); i < len(line); before = r {
		var size int
		r, size = utf8.DecodeRuneInString(line[i:])
		position++
		if r == utf8.RuneError && size == 1 {
			return nil, usageErrorf("invalid UTF-8 at character %d", position)
		}
		i += size
		switch {
		case r == 0:
			return nil, usageErrorf("NUL character at character %d", position)
		case r != '\t' && unicode.IsControl(r):
			return nil, usageErrorf("control character %U at character %d", r, position)
		case parseIsZeroWidth(r):
			continue
		}

		switch quote {
		case '"':
			switch {
			case parseIsDoubleQuote(r):
				quote = 0
			case r == '\\' && i < len(line):
				next, nextSize := utf8.DecodeRuneInString(line[i:])
				if next == '\\' || parseIsDoubleQuote(next) {
					current.WriteRune(next)
					i += nextSize
					position++
				} else {
					current.WriteRune(r)
				}
			default:
				current.WriteRune(r)
			}
			continue
		case '\'':
			if parseIsSingleQuote(r) {
				quote = 0
			} else {
				current.WriteRune(r)
			}
			continue
		}

		switch {
		case r == '\t' || unicode.IsSpace(r):
			endToken()
			continue
		case parseIsDoubleQuote(r):
			quote, quoteAt, inToken = '"', position, true
			continue
		case parseIsSingleQuote(r) && !(unicode.IsLetter(before) || unicode.IsDigit(before)):
			quote, quoteAt, inToken = '\'', position, true
			continue
		}
		current.WriteRune(r)
		inToken = true
	}
	if quote != 0 {
		name := "double"
		if quote == '\'' {
			name = "single"
		}
		return nil, usageErrorf("unterminated %s quote (opened at character %d)", name, quoteAt)
	}
	endToken()

	if len(tokens) > 0 && strings.EqualFold(tokens[0], "/mf") {
		tokens = tokens[1:]
	}
	return tokens, nil
}

func parseIsDoubleQuote(r rune) bool { return r == '"' || r == '“' || r == '”' }

func parseIsSingleQuote(r rune) bool { return r == '\'' || r == '‘' || r == '’' }

// parseIsZeroWidth: invisible characters that pasted text brings along.
func parseIsZeroWidth(r rune) bool {
	return r == '\u200b' || r == '\u200c' || r == '\u200d' || r == '\u2060' || r == '\ufeff'
}

// FlagKind is the type of a flag's value.
type FlagKind int

const (
	FlagBool     FlagKind = iota // --stderr, --stderr=false
	FlagInt                      // --tail 200
	FlagDuration                 // --since 30m (config.ParseDuration: 30s, 15m, 2h, 1d, 1h30m)
	FlagString                   // --to sha256:...
	FlagRegexp                   // --grep 'ERROR|WARN' (at most 256 bytes)
	FlagInstant                  // --since 30m or --since 2026-12-04T10:00: a duration back from now, or a time
)

// Instant is a FlagInstant's value: Ago back from now, or At (UTC unless an offset was given).
type Instant struct {
	Ago time.Duration
	At  time.Time
}

// Time resolves the instant against now.
func (i Instant) Time(now time.Time) time.Time {
	if !i.At.IsZero() {
		return i.At
	}
	return now.Add(-i.Ago)
}

// FlagSpec describes one flag a command accepts.
type FlagSpec struct {
	Name string // without dashes: "tail"
	Kind FlagKind
	// Min and Max bound a FlagInt, inclusive; Max 0 means no upper bound.
	Min, Max int
	// Unit names what a FlagInt counts ("lines"), for error messages:
	// `--tail wants a number of lines, got "abc"`.
	Unit string
	// MaxDuration bounds a FlagDuration, and how far back a FlagInstant
	// reaches (0 = none).
	MaxDuration time.Duration
	Help        string // one line, for help and usage
}

// Args is a parsed command line: positional arguments and the flags given,
// by name (without dashes) in the map of their kind.
type Args struct {
	Positional []string
	Bools      map[string]bool
	Ints       map[string]int
	Durations  map[string]time.Duration
	Strings    map[string]string
	Regexps    map[string]*regexp.Regexp
	Instants   map[string]Instant
}

// Has tells whether the flag was given (--stderr=false counts as given).
func (a Args) Has(name string) bool {
	if _, ok := a.Bools[name]; ok {
		return true
	}
	if _, ok := a.Ints[name]; ok {
		return true
	}
	if _, ok := a.Durations[name]; ok {
		return true
	}
	if _, ok := a.Strings[name]; ok {
		return true
	}
	if _, ok := a.Regexps[name]; ok {
		return true
	}
	_, ok := a.Instants[name]
	return ok
}

// ParseFlags separates flags from positional arguments according to specs:
// `--tail 200`, `--tail=200`, boolean `--stderr` (and `--stderr=true|false`),
// `--` ends flags, a flag may appear after positionals (`logs app --tail 5`).
// Slack's autocorrection of -- into an em or en dash (`—tail 5`, `–tail 5`)
// is accepted as --. Flag names are matched case-insensitively. A value may
// start with a single dash (`--grep -v`, `--tail -5` is then out of bounds);
// a token starting with -- is a flag, never a value (use --grep=--x).
// now is the caller's clock: how far back an absolute FlagInstant reaches
// is checked against it. Every error is a *UsageError.
func ParseFlags(tokens []string, specs []FlagSpec, now time.Time) (Args, error) {
	args := Args{
		Positional: []string{},
		Bools:      map[string]bool{},
		Ints:       map[string]int{},
		Durations:  map[string]time.Duration{},
		Strings:    map[string]string{},
		Regexps:    map[string]*regexp.Regexp{},
		Instants:   map[string]Instant{},
	}
	flagsEnded := false
	for i := 0; i < len(tokens); i++ {
		token := tokens[i]
		if flagsEnded {
			args.Positional = append(args.Positional, token)
			continue
		}
		body, isFlag := parseFlagBody(token)
		if !isFlag {
			if parseReadsAsFlag(token) {
				return Args{}, parseOneDashError(token, specs)
			}
			args.Positional = append(args.Positional, token)
			continue
		}
		if body == "" {
			flagsEnded = true
			continue
		}

		name, value, hasValue := strings.Cut(body, "=")
		spec := parseFindSpec(name, specs)
		if spec == nil {
			return Args{}, parseUnknownFlagError(name, specs)
		}
		flag := "--" + spec.Name
		if args.Has(spec.Name) {
			return Args{}, usageErrorf("%s given twice", flag)
		}

		if spec.Kind == FlagBool {
			enabled := true
			if hasValue {
				var err error
				if enabled, err = strconv.ParseBool(value); err != nil {
					return Args{}, usageErrorf("%s takes no value (or =true, =false), got %q", flag, value)
				}
			}
			args.Bools[spec.Name] = enabled
			continue
		}

		if !hasValue {
			if i+1 >= len(tokens) {
				return Args{}, usageErrorf("%s needs %s", flag, parseValueDescription(spec))
			}
			if _, nextIsFlag := parseFlagBody(tokens[i+1]); nextIsFlag {
				return Args{}, usageErrorf("%s needs %s", flag, parseValueDescription(spec))
			}
			i++
			value = tokens[i]
		}
		if strings.TrimSpace(value) == "" {
			return Args{}, usageErrorf("%s needs %s, got an empty value", flag, parseValueDescription(spec))
		}
		if err := parseFlagValue(&args, spec, flag, value, now); err != nil {
			return Args{}, err
		}
	}
	return args, nil
}

// parseFlagValue checks value and stores it in the map of its kind.
func parseFlagValue(args *Args, spec *FlagSpec, flag, value string, now time.Time) error {
	switch spec.Kind {
	case FlagInt:
		n, err := strconv.Atoi(value)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return usageErrorf("%s wants %s, got %q", flag, parseValueDescription(spec), value)
		}
		if err != nil && spec.Max == 0 {
			return usageErrorf("%s: %s is out of range", flag, value)
		}
		if err != nil || n < spec.Min || (spec.Max != 0 && n > spec.Max) {
			if spec.Max != 0 {
				return usageErrorf("%s must be between %d and %d", flag, spec.Min, spec.Max)
			}
			return usageErrorf("%s must be at least %d", flag, spec.Min)
		}
		args.Ints[spec.Name] = n
	case FlagDuration:
		d, err := parseBoundedDuration(spec, flag, value)
		if err != nil {
			return err
		}
		args.Durations[spec.Name] = d
	case FlagInstant:
		instant, err := parseInstant(spec, flag, value, now)
		if err != nil {
			return err
		}
		args.Instants[spec.Name] = instant
	case FlagRegexp:
		if len(value) > parseMaxRegexpBytes {
			return usageErrorf("%s: regular expression too long (%d bytes, at most %d)", flag, len(value), parseMaxRegexpBytes)
		}
		re, err := parseCompileRegexp(value)
		if err != nil {
			return usageErrorf("%s: %s", flag, err)
		}
		args.Regexps[spec.Name] = re
	case FlagString:
		args.Strings[spec.Name] = value
	default:
		return usageErrorf("%s: unsupported flag kind %d", flag, spec.Kind)
	}
	return nil
}

// parseBoundedDuration reads a duration within spec.MaxDuration; past it,
// however large (99999999d), the error is the bound, not "bad duration".
func parseBoundedDuration(spec *FlagSpec, flag, value string) (time.Duration, error) {
	d, err := config.ParseDuration(value)
	tooLong := errors.Is(err, config.ErrDurationOutOfRange) || (err == nil && spec.MaxDuration > 0 && d > spec.MaxDuration)
	if tooLong && spec.MaxDuration > 0 {
		return 0, usageErrorf("%s: at most %s", flag, parseFormatDuration(spec.MaxDuration))
	}
	if err != nil {
		return 0, usageErrorf("%s: %v", flag, err)
	}
	return d, nil
}

// parseTimeExample is the absolute form shown in messages and help.
const parseTimeExample = "2026-12-04T10:00"

// parseInstant reads a FlagInstant: a duration back from now (bounded by
// spec.MaxDuration like a FlagDuration), or an absolute time no further
// back than spec.MaxDuration from now.
func parseInstant(spec *FlagSpec, flag, value string, now time.Time) (Instant, error) {
	if !parseLooksLikeDate(value) {
		if _, err := config.ParseDuration(value); err != nil && !errors.Is(err, config.ErrDurationOutOfRange) {
			return Instant{}, usageErrorf("%s: %v, or a time such as %s (UTC)", flag, err, parseTimeExample)
		}
		d, err := parseBoundedDuration(spec, flag, value)
		if err != nil {
			return Instant{}, err
		}
		return Instant{Ago: d}, nil
	}
	at, ok := parseAbsoluteTime(value)
	if !ok {
		return Instant{}, usageErrorf("%s: bad time %q: use %s (UTC), 2026-12-04T10:00:00+01:00 or 2026-12-04", flag, value, parseTimeExample)
	}
	if at.Before(time.Unix(0, 0)) {
		return Instant{}, usageErrorf("%s: %s is before 1970", flag, value)
	}
	if spec.MaxDuration > 0 && at.Before(now.Add(-spec.MaxDuration)) {
		return Instant{}, usageErrorf("%s: at most %s ago, got %s", flag, parseFormatDuration(spec.MaxDuration), parseFormatTime(at))
	}
	return Instant{At: at}, nil
}

// parseLooksLikeDate: a value starting with a year and a dash is meant as
// a time, and a mistake in it is a bad time, not a bad duration.
func parseLooksLikeDate(value string) bool {
	value = strings.TrimSpace(value)
	if len(value) < 5 || value[4] != '-' {
		return false
	}
	for _, c := range []byte(value[:4]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseAbsoluteTime reads docker's absolute forms for --since and
// --until: RFC 3339 (time.Parse accepts fractional seconds after the
// seconds), without seconds, without an offset (UTC), a bare date. A
// space may stand for the T (quoted: "2026-12-04 10:00"), and t and z may
// be lower case.
func parseAbsoluteTime(value string) (time.Time, bool) {
	value = strings.ToUpper(strings.TrimSpace(value))
	if len(value) > 10 && value[10] == ' ' {
		value = value[:10] + "T" + value[11:]
	}
	for _, layout := range [...]string{time.RFC3339, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if at, err := time.Parse(layout, value); err == nil {
			return at, true
		}
	}
	return time.Time{}, false
}

// parseFormatTime writes an absolute time as canonical command lines and
// messages show it: RFC 3339 in UTC, to the second unless more was given.
func parseFormatTime(at time.Time) string { return at.UTC().Format(time.RFC3339Nano) }

// parseFormatInstant writes an instant for a message: "1h ago" or
// "2026-12-04T10:00:00Z".
func parseFormatInstant(i Instant) string {
	if !i.At.IsZero() {
		return parseFormatTime(i.At)
	}
	return parseFormatDuration(i.Ago) + " ago"
}

// parseCompileRegexp compiles a user's regular expression, refusing those
// whose program would be too large; errors are short, for a usage message.
func parseCompileRegexp(expr string) (*regexp.Regexp, error) {
	parsed, err := syntax.Parse(expr, syntax.Perl)
	if err == nil {
		var prog *syntax.Prog
		if prog, err = syntax.Compile(parsed.Simplify()); err == nil && len(prog.Inst) > parseMaxRegexpInstructions {
			return nil, errors.New("regular expression too complex")
		}
	}
	if err == nil {
		var re *regexp.Regexp
		if re, err = regexp.Compile(expr); err == nil {
			return re, nil
		}
	}
	reason := err.Error()
	var syntaxErr *syntax.Error
	if errors.As(err, &syntaxErr) {
		reason = syntaxErr.Code.String()
	}
	return nil, errors.New("bad regular expression: " + reason)
}

// parseFlagBody returns what follows the dashes of a flag token ("" for a
// bare --), accepting Slack's em and en dashes for --.
func parseFlagBody(token string) (body string, isFlag bool) {
	for _, dashes := range []string{"--", "—", "–"} {
		if rest, ok := strings.CutPrefix(token, dashes); ok {
			return rest, true
		}
	}
	return "", false
}

// parseReadsAsFlag tells whether ParseFlags takes token for a flag (or
// refuses it as a one-dash flag) rather than a positional argument.
func parseReadsAsFlag(token string) bool {
	_, isFlag := parseFlagBody(token)
	return isFlag || len(token) > 1 && token[0] == '-' && parseIsASCIILetter(token[1])
}

func parseFindSpec(name string, specs []FlagSpec) *FlagSpec {
	for i := range specs {
		if strings.EqualFold(specs[i].Name, name) {
			return &specs[i]
		}
	}
	return nil
}

func parseValueDescription(spec *FlagSpec) string {
	switch spec.Kind {
	case FlagInt:
		if spec.Unit != "" {
			return "a number of " + spec.Unit
		}
		return "a number"
	case FlagDuration:
		return "a duration such as 30m, 2h or 1d"
	case FlagInstant:
		return "a duration such as 30m, 2h or 1d, or a time such as " + parseTimeExample
	case FlagRegexp:
		return "a regular expression"
	}
	return "a value"
}

func parseUnknownFlagError(name string, specs []FlagSpec) *UsageError {
	if name == "" {
		return usageErrorf("malformed flag: a name must follow --")
	}
	flag := "--" + name
	if len(specs) == 0 {
		return usageErrorf("unknown flag %s (this command takes no flags)", flag)
	}
	if suggestion := parseClosestFlag(name, specs); suggestion != "" {
		return usageErrorf("unknown flag %s (did you mean --%s?)", flag, suggestion)
	}
	known := make([]string, len(specs))
	for i, spec := range specs {
		known[i] = "--" + spec.Name
	}
	return usageErrorf("unknown flag %s (flags: %s)", flag, strings.Join(known, ", "))
}

func parseOneDashError(token string, specs []FlagSpec) *UsageError {
	name, _, _ := strings.Cut(token[1:], "=")
	if spec := parseFindSpec(name, specs); spec != nil {
		return usageErrorf("flags take two dashes: --%s, not %s", spec.Name, token)
	}
	return usageErrorf("one-dash flags like %s are not supported: flags are written --name", token)
}

// parseClosestFlag suggests the known flag nearest to a mistyped one
// (closestName over the specs' names, in spec order), or "".
func parseClosestFlag(name string, specs []FlagSpec) string {
	names := make([]string, len(specs))
	for i, spec := range specs {
		names[i] = spec.Name
	}
	return closestName(name, names)
}

// parseEditDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of adjacent characters (tial →
// tail is 1) all cost 1.
func parseEditDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	// rows[i%3] holds the distances from x[:i]; three rows for transpositions.
	var rows [3][]int
	for i := range rows {
		rows[i] = make([]int, len(y)+1)
	}
	for j := range rows[0] {
		rows[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		current, previous, beforePrevious := rows[i%3], rows[(i-1)%3], rows[(i+1)%3]
		current[0] = i
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			current[j] = min(previous[j]+1, current[j-1]+1, previous[j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				current[j] = min(current[j], beforePrevious[j-2]+1)
			}
		}
	}
	return rows[len(x)%3][len(y)]
}

// parseFormatDuration writes a bound the way operators type it: 7d, 2h, 90m.
func parseFormatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func parseIsASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
