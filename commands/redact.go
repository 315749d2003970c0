package commands

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"unicode/utf8"
)

// Redacted replaces every secret value in what leaves for Slack.
const Redacted = "[REDACTED]"

// RedactedPrivateKey replaces a whole PEM private key block.
const RedactedPrivateKey = "[REDACTED PRIVATE KEY]"

// Redactor removes secrets from text: the standard patterns of PRODUCT §6
// plus extra ones from configuration. It is immutable and safe for
// concurrent use; a nil *Redactor applies the standard patterns only.
type Redactor struct {
	extra []redactRule
}

// NewRedactor builds the standard patterns plus extra ones from configuration.
// An extra pattern with a capture group redacts only the first group; without
// one, the whole match. Extra patterns are matched line by line.
func NewRedactor(extra []string) (*Redactor, error) {
	r := &Redactor{}
	for i, pattern := range extra {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return nil, fmt.Errorf("redaction pattern %d %q: %w", i+1, pattern, err)
		}
		rule := redactRule{re: re, replacement: Redacted}
		rule.literal, rule.fold = redactRequiredLiteral(pattern)
		if re.NumSubexp() > 0 {
			rule.groups = []int{1}
		}
		r.extra = append(r.extra, rule)
	}
	return r, nil
}

// String redacts any text, single- or multi-line. Text without any hint of
// a secret is returned as is, without allocating: this runs on every log
// line, and on every whole text sent out.
func (r *Redactor) String(s string) string {
	s = redactStandard(s)
	if !r.hasExtra() {
		return s
	}
	// The extra patterns apply line by line, after the standard ones; the
	// lines without the literal part of a pattern are not searched.
	for i := range r.extra {
		s = r.extra[i].applyLines(s)
	}
	return s
}

// redactStandard applies the standard patterns: private keys on the whole
// text, then the line patterns on the lines that hold a hint. The search
// for hints is the only work on a text without any.
func redactStandard(s string) string {
	at, _ := redactNextHint(s, 0)
	if at < 0 {
		return s
	}
	if redactHasPrivateKeyHint(s[at:]) {
		// Before splitting into lines: a key spans many of them.
		s = redactPrivateKeys(s)
		if at, _ = redactNextHint(s, 0); at < 0 {
			return s
		}
	}
	edit := redactEdit{s: s}
	for at >= 0 {
		start := strings.LastIndexByte(s[:at], '\n') + 1
		end := strings.IndexByte(s[at:], '\n')
		if end < 0 {
			end = len(s)
		} else {
			end += at
		}
		line := s[start:end]
		if redacted := redactLine(line, redactScanHints(line)); redacted != line {
			edit.replace(start, end, redacted)
		}
		if end == len(s) {
			break
		}
		at, _ = redactNextHint(s, end+1)
	}
	return edit.result()
}

func (r *Redactor) hasExtra() bool { return r != nil && len(r.extra) > 0 }

// redactLine applies the standard line patterns; hints are those found in line.
func redactLine(line string, hints redactHint) string {
	for i := range redactStandardSteps {
		if step := &redactStandardSteps[i]; step.hints&hints != 0 {
			line = step.redact(line)
		}
	}
	return line
}

// LineRedactor redacts a stream of lines, such as container logs, one at a
// time. Unlike String on each line, it knows when it is inside a multi-line
// private key. It is not safe for concurrent use.
type LineRedactor struct {
	redactor     *Redactor
	inPrivateKey bool
	started      bool // a line other than a key's body was seen
}

// Lines starts redacting a new stream of lines.
func (r *Redactor) Lines() *LineRedactor { return &LineRedactor{redactor: r} }

// Line redacts one line. keep is false for the lines inside a private key:
// the caller drops them, the key's first line already says [REDACTED PRIVATE KEY].
func (l *LineRedactor) Line(line string) (redacted string, keep bool) {
	if !l.started {
		// A window (--tail, --since) may open inside a private key: its
		// leading base64 lines are dropped, and its END line closes it.
		if redactMayBeKeyBody(line) && redactKeyBodyRe().MatchString(line) {
			return "", false
		}
		l.started = true
		if strings.Contains(line, "-----") {
			if end := redactPrivateKeyEndRe().FindStringIndex(line); end != nil && !redactPrivateKeyBeginRe().MatchString(line[:end[0]]) {
				l.inPrivateKey = true
			}
		}
	}
	if l.inPrivateKey {
		end := redactPrivateKeyEndRe().FindStringIndex(line)
		if end == nil {
			return "", false
		}
		l.inPrivateKey = false
		line = line[end[1]:]
		if strings.TrimSpace(line) == "" {
			return "", false
		}
	}
	// Most lines hold no hint: one scan and they are done.
	at, _ := redactNextHint(line, 0)
	if at < 0 {
		if l.redactor.hasExtra() {
			return l.redactor.String(line), true
		}
		return line, true
	}
	l.inPrivateKey = redactHasPrivateKeyHint(line[at:]) && redactOpensPrivateKey(line)
	return l.redactor.String(line), true
}

// redactMayBeKeyBody is a quick test that line could be a line of a PEM
// key's base64 body: it holds nothing but base64 and blanks.
func redactMayBeKeyBody(line string) bool {
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case redactIsAlnum(c), c == '+', c == '/', c == '=', c == ' ', c == '\t', c == '\n', c == '\v', c == '\f', c == '\r':
		default:
			return false
		}
	}
	return true
}

// redactOpensPrivateKey tells whether line begins a private key that it does not end.
func redactOpensPrivateKey(line string) bool {
	for {
		begin := redactPrivateKeyBeginRe().FindStringIndex(line)
		if begin == nil {
			return false
		}
		line = line[begin[1]:]
		end := redactPrivateKeyEndRe().FindStringIndex(line)
		if end == nil {
			return true
		}
		line = line[end[1]:]
	}
}

// MaskEnv masks the value of a NAME=value environment entry whose name looks
// secret (contains PASSWORD, PASSWD, SECRET, TOKEN, KEY or CREDENTIAL, or has a
// PASS, PWD or AUTH part such as DB_PASS or PREFECT_API_AUTH_STRING). Other entries are returned unchanged:
// the caller still runs Redactor.String over them, which catches passwords
// inside values such as ENV_DB_URL's JDBC URL.
func MaskEnv(kv string) string {
	name, value, ok := strings.Cut(kv, "=")
	if !ok || value == "" || value == Redacted {
		return kv
	}
	upper := strings.ToUpper(name)
	for _, word := range []string{"PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL"} {
		if strings.Contains(upper, word) {
			return name + "=" + Redacted
		}
	}
	if redactIsSecretName(name) {
		return name + "=" + Redacted
	}
	return kv
}

// redactRule is a regular expression and the part of its matches that is secret.
type redactRule struct {
	re *regexp.Regexp
	// lazy compiles re on first use, for the standard patterns: most texts
	// never need them.
	lazy func() *regexp.Regexp
	// literal is in every match (ASCII case-insensitively when fold), so
	// that a text without it needs no search: see redactRequiredLiteral.
	literal string
	fold    bool
	// groups to replace, when they took part in the match; nil: the whole match.
	groups      []int
	replacement string
	// accept, when set, vets a match (submatch indexes into s).
	accept func(s string, m []int) bool
}

func (rule *redactRule) apply(s string) string {
	if rule.literal != "" && !redactContainsLiteral(s, rule.literal, rule.fold) {
		return s
	}
	re := rule.re
	if re == nil {
		re = rule.lazy()
	}
	matches := re.FindAllStringSubmatchIndex(s, -1)
	if matches == nil {
		return s
	}
	edit := redactEdit{s: s}
	for _, m := range matches {
		if rule.accept != nil && !rule.accept(s, m) {
			continue
		}
		if rule.groups == nil {
			edit.replace(m[0], m[1], rule.replacement)
			continue
		}
		for _, g := range rule.groups {
			if 2*g+1 < len(m) && m[2*g] >= 0 {
				edit.replace(m[2*g], m[2*g+1], rule.replacement)
			}
		}
	}
	return edit.result()
}

// applyLines applies the rule to each line of s.
func (rule *redactRule) applyLines(s string) string {
	if rule.literal != "" && !redactContainsLiteral(s, rule.literal, rule.fold) {
		return s // no line holds it
	}
	if strings.IndexByte(s, '\n') < 0 {
		return rule.apply(s)
	}
	edit := redactEdit{s: s}
	for start := 0; start <= len(s); {
		end := strings.IndexByte(s[start:], '\n')
		if end < 0 {
			end = len(s)
		} else {
			end += start
		}
		line := s[start:end]
		if redacted := rule.apply(line); redacted != line {
			edit.replace(start, end, redacted)
		}
		start = end + 1
	}
	return edit.result()
}

// redactRequiredLiteral returns the longest literal string that every match
// of pattern holds: the literals of the expression's top-level sequence
// (inside groups and + too). With fold, the literal is lower case and
// matches ASCII case-insensitively; it leaves out k, s and non-ASCII
// letters, which (?i) also matches to other characters (K the Kelvin sign,
// ſ the long s). It leaves out U+FFFD too, which matches any invalid byte.
// "" when there is no such literal of two bytes or more.
func redactRequiredLiteral(pattern string) (literal string, fold bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", false
	}
	var walk func(re *syntax.Regexp)
	walk = func(re *syntax.Regexp) {
		switch re.Op {
		case syntax.OpLiteral:
			folds := re.Flags&syntax.FoldCase != 0
			var piece strings.Builder
			keep := func() {
				if piece.Len() > len(literal) {
					literal, fold = piece.String(), folds
					if folds {
						literal = strings.ToLower(literal)
					}
				}
				piece.Reset()
			}
			for _, r := range re.Rune {
				if r == utf8.RuneError || folds && (r >= utf8.RuneSelf || r == 'k' || r == 'K' || r == 's' || r == 'S') {
					keep()
					continue
				}
				piece.WriteRune(r)
			}
			keep()
		case syntax.OpConcat:
			for _, sub := range re.Sub {
				walk(sub)
			}
		case syntax.OpCapture, syntax.OpPlus:
			walk(re.Sub[0])
		case syntax.OpRepeat:
			if re.Min > 0 {
				walk(re.Sub[0])
			}
		}
	}
	walk(re)
	if len(literal) < 2 {
		return "", false
	}
	return literal, fold
}

// redactContainsLiteral tells whether s holds literal, ASCII
// case-insensitively when fold (literal is then lower case).
func redactContainsLiteral(s, literal string, fold bool) bool {
	if !fold {
		return strings.Contains(s, literal)
	}
	// Look for the literal's rarest letter in either case, then compare.
	at := 0
	for i := 1; i < len(literal); i++ {
		if redactLetterRank(literal[i]) < redactLetterRank(literal[at]) {
			at = i
		}
	}
	lower := literal[at]
	upper := lower
	if 'a' <= lower && lower <= 'z' {
		upper -= 'a' - 'A'
	}
	// The candidates are the places of that byte, in either case.
	nextLower, nextUpper := redactIndexByteFrom(s, lower, 0), -1
	if upper != lower {
		nextUpper = redactIndexByteFrom(s, upper, 0)
	}
	for nextLower >= 0 || nextUpper >= 0 {
		var i int
		if nextUpper < 0 || nextLower >= 0 && nextLower < nextUpper {
			i, nextLower = nextLower, redactIndexByteFrom(s, lower, nextLower+1)
		} else {
			i, nextUpper = nextUpper, redactIndexByteFrom(s, upper, nextUpper+1)
		}
		if start := i - at; start >= 0 && redactHasPrefixFold(s[start:], literal) {
			return true
		}
	}
	return false
}

// redactIndexByteFrom is strings.IndexByte from s[from:], in s, or -1.
func redactIndexByteFrom(s string, c byte, from int) int {
	if i := strings.IndexByte(s[from:], c); i >= 0 {
		return from + i
	}
	return -1
}

// redactLetterRank orders bytes from the rarest in log text (z) to the
// most common (e); other bytes, often common (digits, : = _ -), come in
// the middle.
func redactLetterRank(c byte) int {
	const byRarity = "zqxjkvbpygfwmucldrhsnioate"
	if 'A' <= c && c <= 'Z' {
		c += 'a' - 'A'
	}
	if i := strings.IndexByte(byRarity, c); i >= 0 {
		return i
	}
	return 13
}

// redactEdit replaces spans of s, given in increasing order. It skips empty
// spans and those already redacted, so that redacting twice changes nothing,
// and allocates only when it replaces something.
type redactEdit struct {
	s    string
	out  strings.Builder
	last int // end of the last replaced span
}

func (e *redactEdit) replace(start, end int, replacement string) {
	if start < e.last || end <= start || redactInsideMarker(e.s, start, end) {
		return
	}
	if e.out.Len() == 0 {
		e.out.Grow(len(e.s) + len(replacement))
	}
	e.out.WriteString(e.s[e.last:start])
	e.out.WriteString(replacement)
	e.last = end
}

func (e *redactEdit) result() string {
	if e.out.Len() == 0 {
		return e.s
	}
	e.out.WriteString(e.s[e.last:])
	return e.out.String()
}

// redactInsideMarker tells whether s[start:end] lies within a redaction marker.
func redactInsideMarker(s string, start, end int) bool {
	for _, marker := range []string{Redacted, RedactedPrivateKey} {
		lo := max(0, start-len(marker)+1)
		hi := min(len(s), end+len(marker)-1)
		for window := s[lo:hi]; ; {
			i := strings.Index(window, marker)
			if i < 0 {
				break
			}
			at := hi - len(window) + i
			if at <= start && end <= at+len(marker) {
				return true
			}
			window = window[i+1:]
		}
	}
	return false
}

// redactHint is a set of cheap clues that a line may hold a secret.
type redactHint uint16

const (
	redactHintPass redactHint = 1 << iota
	redactHintPwd
	redactHintSecret
	redactHintToken
	redactHintKey
	redactHintCredential
	redactHintScheme
	redactHintSlack
	redactHintBearer
	redactHintBasic
	redactHintPrivateKey
	redactHintAuthorization
	redactHintJWT
)

// redactHintFirstBytes are the bytes a hint can start with.
var redactHintFirstBytes = [256]bool{
	'p': true, 'P': true, 's': true, 'S': true, 't': true, 'T': true, 'k': true, 'K': true,
	'c': true, 'C': true, ':': true, 'x': true, 'X': true, 'b': true, 'B': true, '-': true,
	'a': true, 'A': true, 'e': true, 'E': true,
}

// redactHintWords are the words redactHintAt looks for, lower case: keep
// the two in step (TestRedactNextHintFindsEveryHint).
var redactHintWords = []string{"pass", "pwd", "secret", "token", "key", "credential", "://", "xox", "xapp", "bearer", "basic", "-----begin", "authoriz", "eyj"}

// redactHintTrigrams[n][c] has bit w set when byte c, in either case, is
// byte n of redactHintWords[w]: a hint can start at s[i] only if
// redactHintTrigrams[0][s[i]] & [1][s[i+1]] & [2][s[i+2]] is not zero.
var redactHintTrigrams = func() (t [3][256]uint16) {
	for w, word := range redactHintWords {
		for n := range t {
			c := word[n]
			t[n][c] |= 1 << w
			if 'a' <= c && c <= 'z' {
				t[n][c-'a'+'A'] |= 1 << w
			}
		}
	}
	return t
}()

// redactScanHints finds the clues in s, case-insensitively and without
// allocating.
func redactScanHints(s string) redactHint {
	var found redactHint
	for at, hint := redactNextHint(s, 0); at >= 0; at, hint = redactNextHint(s, at+1) {
		found |= hint
	}
	return found
}

// redactNextHint returns the index of the first hint in s[from:] and the
// hint, or -1. It tests 8 positions at a time against the first three bytes
// of every hint word, which rules out nearly all of them; only the rest go
// through redactHintAt.
func redactNextHint(s string, from int) (int, redactHint) {
	t0, t1, t2 := &redactHintTrigrams[0], &redactHintTrigrams[1], &redactHintTrigrams[2]
	i := from
	for ; i+10 <= len(s); i += 8 {
		b := s[i : i+10]
		if t0[b[0]]&t1[b[1]]&t2[b[2]]|t0[b[1]]&t1[b[2]]&t2[b[3]]|
			t0[b[2]]&t1[b[3]]&t2[b[4]]|t0[b[3]]&t1[b[4]]&t2[b[5]]|
			t0[b[4]]&t1[b[5]]&t2[b[6]]|t0[b[5]]&t1[b[6]]&t2[b[7]]|
			t0[b[6]]&t1[b[7]]&t2[b[8]]|t0[b[7]]&t1[b[8]]&t2[b[9]] == 0 {
			continue
		}
		for k := i; k < i+8; k++ {
			if hint := redactHintAt(s, k); hint != 0 {
				return k, hint
			}
		}
	}
	// Every hint is at least 3 bytes long.
	for ; i+2 < len(s); i++ {
		if redactHintFirstBytes[s[i]] {
			if hint := redactHintAt(s, i); hint != 0 {
				return i, hint
			}
		}
	}
	return -1, 0
}

// redactHasPrivateKeyHint tells whether s holds "-----BEGIN", in any case.
func redactHasPrivateKeyHint(s string) bool {
	for {
		i := strings.Index(s, "-----")
		if i < 0 {
			return false
		}
		if redactHasPrefixFold(s[i:], "-----begin") {
			return true
		}
		s = s[i+1:]
	}
}

// redactHintAt returns the hint that starts at s[i], or 0. The second byte
// is checked first: most candidates fail there.
func redactHintAt(s string, i int) redactHint {
	rest := s[i:]
	second := rest[1] | 0x20 // lowercases ASCII letters; others are compared in full below
	switch rest[0] | 0x20 {
	case 'p':
		if second == 'a' && redactHasPrefixFold(rest, "pass") {
			return redactHintPass
		}
		if second == 'w' && redactHasPrefixFold(rest, "pwd") {
			return redactHintPwd
		}
	case 's':
		if second == 'e' && redactHasPrefixFold(rest, "secret") {
			return redactHintSecret
		}
	case 't':
		if second == 'o' && redactHasPrefixFold(rest, "token") {
			return redactHintToken
		}
	case 'k':
		if second == 'e' && redactHasPrefixFold(rest, "key") {
			return redactHintKey
		}
	case 'c':
		if second == 'r' && redactHasPrefixFold(rest, "credential") {
			return redactHintCredential
		}
	case ':':
		if strings.HasPrefix(rest, "://") {
			return redactHintScheme
		}
	case 'x':
		if redactHasPrefixFold(rest, "xox") || redactHasPrefixFold(rest, "xapp") {
			return redactHintSlack
		}
	case 'b':
		if second == 'e' && redactHasPrefixFold(rest, "bearer") {
			return redactHintBearer
		}
		if second == 'a' && redactHasPrefixFold(rest, "basic") {
			return redactHintBasic
		}
	case '-':
		if strings.HasPrefix(rest, "-----") && redactHasPrefixFold(rest, "-----begin") {
			return redactHintPrivateKey
		}
	case 'a':
		if second == 'u' && redactHasPrefixFold(rest, "authoriz") {
			return redactHintAuthorization
		}
	case 'e':
		if second == 'y' && redactHasPrefixFold(rest, "eyj") {
			return redactHintJWT
		}
	}
	return 0
}

// redactHasPrefixFold is strings.HasPrefix ignoring ASCII case; word is lower case.
func redactHasPrefixFold(s, word string) bool {
	if len(s) < len(word) {
		return false
	}
	for i := 0; i < len(word); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != word[i] {
			return false
		}
	}
	return true
}

// The standard expressions are compiled on first use: a text without hints
// never needs them, and a process that runs one command starts faster.
var (
	// A PEM private key, to its END line or, when cut, to the end of the text.
	redactPrivateKeyRe      = redactLazy(`(?is)-----BEGIN[ A-Z0-9]*PRIVATE KEY[ A-Z]*-----.*?(?:-----END[ A-Z0-9]*PRIVATE KEY[ A-Z]*-----|\z)`)
	redactPrivateKeyBeginRe = redactLazy(`(?i)-----BEGIN[ A-Z0-9]*PRIVATE KEY[ A-Z]*-----`)
	redactPrivateKeyEndRe   = redactLazy(`(?i)-----END[ A-Z0-9]*PRIVATE KEY[ A-Z]*-----`)
	// A line of a PEM key's base64 body.
	redactKeyBodyRe = redactLazy(`^\s*[A-Za-z0-9+/]{16,}={0,2}\s*$`)

	// Slack tokens: xoxb-, xoxp-, xoxa-, xoxo-, xoxs-, xoxr-, xoxe-, xoxe.xoxp- (rotating), xapp-.
	redactSlackTokenRe = redactLazy(`(?:xox[a-z](?:\.xox[a-z])?|xapp)-[A-Za-z0-9-]+`)

	// JSON Web Tokens, wherever they appear.
	redactJWTRe = redactLazy(`\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`)

	// Authorization headers, in text, header dumps and (nested) JSON: group 3 is the credential.
	redactAuthorizationRe = redactLazy(`(?i)\b((?:proxy-)?authorization(?:\\?["'])?(?::|[ \t]*=)[ \t]*(?:\\?["'])?)((?:bearer|basic|digest|token|negotiate|ntlm|apikey)[ \t]+)?([^\s"',;\\]+)`)

	// "Bearer <token>" outside a header.
	redactBearerRe = redactLazy(`(?i)\bbearer[ \t]+([A-Za-z0-9._~+/-]+=*)`)

	// "Basic <base64 of user:password>" outside a header.
	redactBasicRe = redactLazy(`(?i)\bbasic[ \t]+([A-Za-z0-9+/]{4,}={0,2})`)
)

// redactLazy returns a function that compiles expr once, on first call.
func redactLazy(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// redactStep is one standard pattern and the hints that make it worth running.
type redactStep struct {
	hints  redactHint
	redact func(line string) string
}

// redactStandardSteps are the line patterns of PRODUCT §6, in the order they
// apply (private keys are handled before, on the whole text). The two that
// common words trigger (assignments: "key", "token"; URLs: "://") are
// hand-written scanners: linear, and far cheaper than a regexp search.
var redactStandardSteps = []redactStep{
	{redactHintSlack, (&redactRule{lazy: redactSlackTokenRe, replacement: Redacted}).apply},
	{redactHintJWT, (&redactRule{lazy: redactJWTRe, replacement: Redacted}).apply},
	{redactHintAuthorization, (&redactRule{lazy: redactAuthorizationRe, groups: []int{3}, replacement: Redacted}).apply},
	{redactHintBearer, (&redactRule{lazy: redactBearerRe, groups: []int{1}, replacement: Redacted, accept: redactAcceptBearer}).apply},
	{redactHintBasic, (&redactRule{lazy: redactBasicRe, groups: []int{1}, replacement: Redacted, accept: redactAcceptBasic}).apply},
	{redactHintScheme, redactURLPasswords},
	{redactHintPass | redactHintPwd | redactHintSecret | redactHintToken | redactHintKey | redactHintCredential, redactAssignments},
}

func redactPrivateKeys(s string) string {
	return redactPrivateKeyRe().ReplaceAllLiteralString(s, RedactedPrivateKey)
}

// redactURLPasswords redacts the password of scheme://user:password@host.
// The password runs to the last @ of the authority, so an unencoded @ in it
// does not leak its end.
func redactURLPasswords(s string) string {
	edit := redactEdit{s: s}
	for pos := 0; ; {
		i := strings.Index(s[pos:], "://")
		if i < 0 {
			break
		}
		schemeEnd := pos + i
		pos = schemeEnd + 3
		if schemeEnd == 0 || !redactIsSchemeChar(s[schemeEnd-1]) {
			continue
		}
		authorityEnd := pos
		for authorityEnd < len(s) && !redactEndsAuthority(s[authorityEnd]) {
			authorityEnd++
		}
		at := strings.LastIndexByte(s[pos:authorityEnd], '@')
		if at < 0 {
			continue
		}
		colon := strings.IndexByte(s[pos:pos+at], ':')
		if colon >= 0 {
			edit.replace(pos+colon+1, pos+at, Redacted)
		}
		pos = authorityEnd
	}
	return edit.result()
}

func redactIsSchemeChar(c byte) bool {
	return redactIsAlnum(c) || c == '+' || c == '.' || c == '-'
}

func redactEndsAuthority(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\f', '\v', '/', '?', '#', '"', '\'', '<', '>':
		return true
	}
	return false
}

// redactAssignments redacts the values assigned to names that look secret,
// in the forms found in text, env dumps, properties, YAML and JSON logs:
// name=value, name = value, name: value, name := value, "name": "value",
// \"name\":\"value\" (JSON in a JSON log line), 'quoted values'. A colon
// must follow the name directly, so that Spring's text log layout
// ("f.g.c.TokenFilter : message") is not taken for an assignment.
func redactAssignments(s string) string {
	edit := redactEdit{s: s}
	for pos := 0; pos < len(s); {
		word := redactIndexSecretWord(s, pos)
		if word < 0 {
			break
		}
		nameStart, nameEnd := word, word
		for nameStart > pos && redactIsNameChar(s[nameStart-1]) {
			nameStart--
		}
		for nameEnd < len(s) && redactIsNameChar(s[nameEnd]) {
			nameEnd++
		}
		// A refused name resumes the search right after it: a secret may
		// sit in its value ({"note": "password=x"}).
		pos = nameEnd
		value, ok := redactParseAssignment(s, nameEnd)
		if !ok || !redactAcceptAssignment(s, nameStart, nameEnd, value) {
			continue
		}
		edit.replace(value.start, value.end, Redacted)
		pos = value.after
	}
	return edit.result()
}

// redactIndexSecretWord returns the index of the next word that makes a
// name look secret in s[from:], or -1.
func redactIndexSecretWord(s string, from int) int {
	for i := from; i+2 < len(s); i++ {
		if redactHintFirstBytes[s[i]] {
			switch redactHintAt(s, i) {
			case redactHintPass, redactHintPwd, redactHintSecret, redactHintToken, redactHintKey, redactHintCredential:
				return i
			}
		}
	}
	return -1
}

func redactIsNameChar(c byte) bool {
	return redactIsAlnum(c) || c == '_' || c == '.' || c == '-'
}

// redactAssignedValue locates a value: s[start:end] is what gets redacted
// (inside the quotes when quoted), after is where the search goes on.
type redactAssignedValue struct {
	start, end, after int
	bare              bool
}

// redactParseAssignment reads a separator and a value at s[at:], just after a name.
func redactParseAssignment(s string, at int) (redactAssignedValue, bool) {
	i := at
	// The closing quote of a quoted name: "name", 'name', \"name\".
	if strings.HasPrefix(s[i:], `\"`) || strings.HasPrefix(s[i:], `\'`) {
		i += 2
	} else if i < len(s) && (s[i] == '"' || s[i] == '\'') {
		i++
	}
	spaces := redactSkipBlanks(s, i)
	switch {
	case strings.HasPrefix(s[spaces:], ":="):
		i = spaces + 2
	case spaces == i && i < len(s) && s[i] == ':':
		i++
	case spaces < len(s) && s[spaces] == '=':
		i = spaces + 1
		if i < len(s) && s[i] == '>' {
			i++
		}
	default:
		return redactAssignedValue{}, false
	}
	i = redactSkipBlanks(s, i)
	if i >= len(s) {
		return redactAssignedValue{}, false
	}
	switch {
	case s[i] == '"':
		end := i + 1
		for end < len(s) && s[end] != '"' && s[end] != '\n' {
			if s[end] == '\\' && end+1 < len(s) && s[end+1] != '\n' {
				end++
			}
			end++
		}
		return redactAssignedValue{start: i + 1, end: end, after: redactSkipByte(s, end, '"')}, true
	case strings.HasPrefix(s[i:], `\"`):
		end := i + 2
		for end < len(s) && s[end] != '"' && s[end] != '\n' && !strings.HasPrefix(s[end:], `\"`) {
			if s[end] == '\\' && end+1 < len(s) && s[end+1] != '\n' {
				end++
			}
			end++
		}
		after := end
		if strings.HasPrefix(s[end:], `\"`) {
			after += 2
		}
		return redactAssignedValue{start: i + 2, end: end, after: after}, true
	case s[i] == '\'':
		end := i + 1
		for end < len(s) && s[end] != '\'' && s[end] != '\n' {
			end++
		}
		return redactAssignedValue{start: i + 1, end: end, after: redactSkipByte(s, end, '\'')}, true
	}
	end := i
	for end < len(s) && !redactEndsBareValue(s[end]) {
		end++
	}
	if end == i {
		return redactAssignedValue{}, false
	}
	return redactAssignedValue{start: i, end: end, after: end, bare: true}, true
}

func redactSkipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func redactSkipByte(s string, i int, c byte) int {
	if i < len(s) && s[i] == c {
		return i + 1
	}
	return i
}

// redactEndsBareValue: an unquoted value ends at whitespace, a quote, or
// the & ; ) that end a value in query and connection strings.
func redactEndsBareValue(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\f', '\v', '"', '\'', '&', ';', ')':
		return true
	}
	return false
}

// redactAcceptBearer refuses plain words ("bearer authentication"): tokens
// have digits, punctuation or mixed case.
func redactAcceptBearer(s string, m []int) bool {
	token := s[m[2]:m[3]]
	upperAfterFirst := false
	for i := 0; i < len(token); i++ {
		c := token[i]
		switch {
		case 'a' <= c && c <= 'z':
		case 'A' <= c && c <= 'Z':
			if i > 0 {
				upperAfterFirst = true
			}
		default:
			return true
		}
	}
	return upperAfterFirst
}

// redactAcceptBasic only takes "Basic x" when x decodes to user:password,
// so that "basic configuration" stays.
func redactAcceptBasic(s string, m []int) bool {
	encoded := strings.TrimRight(s[m[2]:m[3]], "=")
	decoded, err := base64.RawStdEncoding.DecodeString(encoded)
	return err == nil && strings.IndexByte(string(decoded), ':') > 0
}

func redactAcceptAssignment(s string, nameStart, nameEnd int, value redactAssignedValue) bool {
	name := s[nameStart:nameEnd]
	if !redactIsSecretName(name) {
		// PWD alone is the working directory in env dumps, but a password
		// in connection strings (…;Pwd=x, ?pwd=x).
		if !strings.EqualFold(name, "pwd") || nameStart == 0 || strings.IndexByte("?&;", s[nameStart-1]) < 0 {
			return false
		}
	}
	// A bare { or [ opens a JSON object or list: the secrets inside are
	// found when the search resumes after the name.
	if bare := s[value.start:value.end]; value.bare && (bare == "{" || bare == "[") {
		return false
	}
	return true
}

// redactIsSecretName tells whether a variable, key or field name designates
// a secret: it contains password, passwd, passphrase, secret, token or
// credential, or one of its parts (split at _ . - and camelCase) is pass,
// ends with key(s) (apiKey, API_KEY, x-api-key, masterkey), or is pwd in a
// longer name (DB_PWD, not PWD, the working directory).
func redactIsSecretName(name string) bool {
	lower := strings.ToLower(name)
	for _, word := range []string{"password", "passwd", "passphrase", "secret", "token", "credential"} {
		if strings.Contains(lower, word) {
			return true
		}
	}
	var parts []string
	start := 0
	for i := 0; i <= len(name); i++ {
		boundary := i == len(name) || !redactIsAlnum(name[i]) ||
			(i > 0 && 'A' <= name[i] && name[i] <= 'Z' && ('a' <= name[i-1] && name[i-1] <= 'z' || '0' <= name[i-1] && name[i-1] <= '9'))
		if !boundary {
			continue
		}
		if i > start {
			parts = append(parts, lower[start:i])
		}
		start = i
		if i < len(name) && !redactIsAlnum(name[i]) {
			start = i + 1
		}
	}
	for _, part := range parts {
		switch {
		case part == "pass", part == "auth",
			part == "pwd" && len(parts) > 1,
			strings.HasSuffix(part, "key"),
			strings.HasSuffix(part, "keys"):
			return true
		}
	}
	return false
}

func redactIsAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
