package commands

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
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
		if re.NumSubexp() > 0 {
			rule.groups = []int{1}
		}
		r.extra = append(r.extra, rule)
	}
	return r, nil
}

// String redacts any text, single- or multi-line. Text without any hint of
// a secret is returned as is, without allocating: this runs on every log line.
func (r *Redactor) String(s string) string {
	hints := redactScanHints(s)
	if hints == 0 && !r.hasExtra() {
		return s
	}
	if hints&redactHintPrivateKey != 0 {
		// Before splitting into lines: a key spans many of them.
		s = redactPrivateKeys(s)
	}
	if strings.IndexByte(s, '\n') < 0 {
		return r.redactLine(s, redactScanHints(s))
	}
	// Line by line: the expressions stay on the fast path for short inputs
	// and the lines without hints are skipped.
	var out strings.Builder
	changed := false
	for start := 0; start <= len(s); {
		end := strings.IndexByte(s[start:], '\n')
		if end < 0 {
			end = len(s)
		} else {
			end += start
		}
		line := s[start:end]
		redacted := line
		if lineHints := redactScanHints(line); lineHints != 0 || r.hasExtra() {
			redacted = r.redactLine(line, lineHints)
		}
		if redacted != line && !changed {
			changed = true
			out.Grow(len(s) + 64)
			out.WriteString(s[:start])
		}
		if changed {
			out.WriteString(redacted)
			if end < len(s) {
				out.WriteByte('\n')
			}
		}
		start = end + 1
	}
	if !changed {
		return s
	}
	return out.String()
}

// Reply returns a copy of rep with every human-visible string redacted. The
// command lines of actions and confirmations are ours and stay as they are.
// rep is not modified.
func (r *Redactor) Reply(rep Reply) Reply {
	out := rep
	out.Title = r.String(rep.Title)
	if rep.Blocks != nil {
		out.Blocks = make([]Block, len(rep.Blocks))
		for i, b := range rep.Blocks {
			out.Blocks[i] = r.block(b)
		}
	}
	if rep.Actions != nil {
		out.Actions = make([]Action, len(rep.Actions))
		for i, a := range rep.Actions {
			a.Label = r.String(a.Label)
			out.Actions[i] = a
		}
	}
	if rep.Confirm != nil {
		confirm := *rep.Confirm
		confirm.Prompt = r.String(confirm.Prompt)
		out.Confirm = &confirm
	}
	if rep.Target != nil {
		target := *rep.Target
		out.Target = &target
	}
	return out
}

func (r *Redactor) block(b Block) Block {
	switch b := b.(type) {
	case nil:
		return nil
	case *Text:
		if b == nil {
			return b
		}
		return &Text{Text: r.String(b.Text)}
	case *Code:
		if b == nil {
			return b
		}
		return &Code{Text: r.String(b.Text)}
	case *Fields:
		if b == nil {
			return b
		}
		fields := &Fields{Fields: make([]Field, len(b.Fields))}
		for i, f := range b.Fields {
			fields.Fields[i] = Field{Label: r.String(f.Label), Value: r.String(f.Value)}
		}
		return fields
	case *Table:
		if b == nil {
			return b
		}
		table := &Table{Header: r.strings(b.Header)}
		if b.Rows != nil {
			table.Rows = make([][]string, len(b.Rows))
			for i, row := range b.Rows {
				table.Rows[i] = r.strings(row)
			}
		}
		return table
	case *File:
		if b == nil {
			return b
		}
		file := &File{Name: r.String(b.Name), Title: r.String(b.Title)}
		if b.Content != nil {
			file.Content = []byte(r.String(string(b.Content)))
		}
		return file
	}
	// A block type added later without redaction support must not leak.
	return &Text{Text: Redacted}
}

func (r *Redactor) strings(in []string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = r.String(s)
	}
	return out
}

func (r *Redactor) hasExtra() bool { return r != nil && len(r.extra) > 0 }

// redactLine applies the line patterns; hints are those found in line.
func (r *Redactor) redactLine(line string, hints redactHint) string {
	if hints != 0 {
		for i := range redactStandardSteps {
			if step := &redactStandardSteps[i]; step.hints&hints != 0 {
				line = step.redact(line)
			}
		}
	}
	if r != nil {
		for i := range r.extra {
			line = r.extra[i].apply(line)
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
		if redactKeyBodyRe.MatchString(line) {
			return "", false
		}
		l.started = true
		if end := redactPrivateKeyEndRe.FindStringIndex(line); end != nil && !redactPrivateKeyBeginRe.MatchString(line[:end[0]]) {
			l.inPrivateKey = true
		}
	}
	if l.inPrivateKey {
		end := redactPrivateKeyEndRe.FindStringIndex(line)
		if end == nil {
			return "", false
		}
		l.inPrivateKey = false
		line = line[end[1]:]
		if strings.TrimSpace(line) == "" {
			return "", false
		}
	}
	l.inPrivateKey = redactOpensPrivateKey(line)
	return l.redactor.String(line), true
}

// redactOpensPrivateKey tells whether line begins a private key that it does not end.
func redactOpensPrivateKey(line string) bool {
	for {
		begin := redactPrivateKeyBeginRe.FindStringIndex(line)
		if begin == nil {
			return false
		}
		line = line[begin[1]:]
		end := redactPrivateKeyEndRe.FindStringIndex(line)
		if end == nil {
			return true
		}
		line = line[end[1]:]
	}
}

// MaskEnv masks the value of a NAME=value environment entry whose name looks
// secret (contains PASSWORD, PASSWD, SECRET, TOKEN, KEY or CREDENTIAL, or has a
// PASS or PWD part such as DB_PASS). Other entries are returned unchanged:
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
	// groups to replace, when they took part in the match; nil: the whole match.
	groups      []int
	replacement string
	// accept, when set, vets a match (submatch indexes into s).
	accept func(s string, m []int) bool
}

func (rule *redactRule) apply(s string) string {
	matches := rule.re.FindAllStringSubmatchIndex(s, -1)
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

// redactScanHints finds the clues in one pass, case-insensitively and
// without allocating.
func redactScanHints(s string) redactHint {
	var found redactHint
	// Every hint is at least 3 bytes long.
	for i := 0; i+2 < len(s); i++ {
		if redactHintFirstBytes[s[i]] {
			found |= redactHintAt(s, i)
		}
	}
	return found
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

var (
	// A PEM private key, to its END line or, when cut, to the end of the text.
	redactPrivateKeyRe      = regexp.MustCompile(`(?is)-----BEGIN[ A-Z0-9]*PRIVATE KEY[ A-Z]*-----.*?(?:-----END[ A-Z0-9]*PRIVATE KEY[ A-Z]*-----|\z)`)
	redactPrivateKeyBeginRe = regexp.MustCompile(`(?i)-----BEGIN[ A-Z0-9]*PRIVATE KEY[ A-Z]*-----`)
	redactPrivateKeyEndRe   = regexp.MustCompile(`(?i)-----END[ A-Z0-9]*PRIVATE KEY[ A-Z]*-----`)
	// A line of a PEM key's base64 body.
	redactKeyBodyRe = regexp.MustCompile(`^\s*[A-Za-z0-9+/]{16,}={0,2}\s*$`)

	// Slack tokens: xoxb-, xoxp-, xoxa-, xoxo-, xoxs-, xoxr-, xoxe-, xoxe.xoxp- (rotating), xapp-.
	redactSlackTokenRe = regexp.MustCompile(`(?:xox[a-z](?:\.xox[a-z])?|xapp)-[A-Za-z0-9-]+`)

	// JSON Web Tokens, wherever they appear.
	redactJWTRe = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`)

	// Authorization headers, in text, header dumps and (nested) JSON: group 3 is the credential.
	redactAuthorizationRe = regexp.MustCompile(`(?i)\b((?:proxy-)?authorization(?:\\?["'])?(?::|[ \t]*=)[ \t]*(?:\\?["'])?)((?:bearer|basic|digest|token|negotiate|ntlm|apikey)[ \t]+)?([^\s"',;\\]+)`)

	// "Bearer <token>" outside a header.
	redactBearerRe = regexp.MustCompile(`(?i)\bbearer[ \t]+([A-Za-z0-9._~+/-]+=*)`)

	// "Basic <base64 of user:password>" outside a header.
	redactBasicRe = regexp.MustCompile(`(?i)\bbasic[ \t]+([A-Za-z0-9+/]{4,}={0,2})`)
)

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
	{redactHintSlack, (&redactRule{re: redactSlackTokenRe, replacement: Redacted}).apply},
	{redactHintJWT, (&redactRule{re: redactJWTRe, replacement: Redacted}).apply},
	{redactHintAuthorization, (&redactRule{re: redactAuthorizationRe, groups: []int{3}, replacement: Redacted}).apply},
	{redactHintBearer, (&redactRule{re: redactBearerRe, groups: []int{1}, replacement: Redacted, accept: redactAcceptBearer}).apply},
	{redactHintBasic, (&redactRule{re: redactBasicRe, groups: []int{1}, replacement: Redacted, accept: redactAcceptBasic}).apply},
	{redactHintScheme, redactURLPasswords},
	{redactHintPass | redactHintPwd | redactHintSecret | redactHintToken | redactHintKey | redactHintCredential, redactAssignments},
}

func redactPrivateKeys(s string) string {
	return redactPrivateKeyRe.ReplaceAllLiteralString(s, RedactedPrivateKey)
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
		case part == "pass",
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
