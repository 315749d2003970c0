package slack

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Everything a user, a container or a database puts in a message goes
// through these helpers: Slack's mrkdwn treats &, < and > as control
// characters (<!channel>, <https://evil|click>, <@U123>), inside ``` blocks
// too, so they are always sent as entities. Lengths are counted in runes,
// as Slack counts characters, and cuts never split a rune.

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escape makes s inert as mrkdwn: no mention, no link, no entity.
func escape(s string) string {
	s = mrkdwnEscaper.Replace(s)
	if strings.Contains(s, "``") {
		// A run of three backticks opens or closes a code block, in a
		// title or a reason as inside a ``` block: a zero-width space goes
		// between any two adjacent backticks ("```" became "`Z``": one
		// more pass leaves no adjacent pair). Single backticks (inline
		// code) are kept.
		s = strings.ReplaceAll(s, "``", "`"+zwsp+"`")
		s = strings.ReplaceAll(s, "``", "`"+zwsp+"`")
	}
	return s
}

// zwsp separates backticks so that content can never close a ``` block.
const zwsp = "\u200b"

// escapeCode escapes s for the inside of a ``` block: what escape does
// everywhere (entities, no run of three backticks).
func escapeCode(s string) string { return escape(s) }

// escapedWidth is an upper bound of the runes r takes once escaped by
// escape or escapeCode.
func escapedWidth(r rune) int {
	switch r {
	case '&':
		return 5
	case '<', '>':
		return 4
	case '`':
		return 2
	}
	return 1
}

// runes counts characters as Slack does.
func runes(s string) int { return utf8.RuneCountInString(s) }

// truncate cuts plain text to at most max runes, ending with … when cut.
func truncate(s string, max int) string {
	if runes(s) <= max {
		return s
	}
	if max <= 0 {
		return ""
	}
	if max == 1 {
		return "…"
	}
	r := []rune(s)
	return strings.TrimRightFunc(string(r[:max-1]), unicode.IsSpace) + "…"
}

// headFitting returns the longest prefix of raw whose escaped form takes at
// most budget runes.
func headFitting(raw string, budget int) string {
	used := 0
	for i, r := range raw {
		used += escapedWidth(r)
		if used > budget {
			return raw[:i]
		}
	}
	return raw
}

// tailFitting returns the longest suffix of raw whose escaped form takes at
// most budget runes.
func tailFitting(raw string, budget int) string {
	used := 0
	for i := len(raw); i > 0; {
		r, size := utf8.DecodeLastRuneInString(raw[:i])
		used += escapedWidth(r)
		if used > budget {
			return raw[i:]
		}
		i -= size
	}
	return raw
}

// splitFitting cuts raw into pieces whose escaped forms take at most budget
// runes each, preferring to cut after a newline, then after a space.
func splitFitting(raw string, budget int) []string {
	var parts []string
	for raw != "" {
		head := headFitting(raw, budget)
		if len(head) < len(raw) {
			if i := strings.LastIndexByte(head, '\n'); i > len(head)/2 {
				head = head[:i+1]
			} else if i := strings.LastIndexByte(head, ' '); i > len(head)/2 {
				head = head[:i+1]
			}
		}
		if head == "" { // budget smaller than one rune: cannot happen with sane budgets
			_, size := utf8.DecodeRuneInString(raw)
			head = raw[:size]
		}
		parts = append(parts, head)
		raw = raw[len(head):]
	}
	return parts
}

// slug turns a title into a file name stem: "Logs of app (remote_app_1),
// last 200 lines" → "logs-app". Only letters, digits and - survive, so the
// name is safe in mrkdwn (no _ * ~ or `) and on any file system.
func slug(title string) string {
	if i := strings.IndexAny(title, "(,:"); i > 0 {
		title = title[:i]
	}
	var words []string
	for _, w := range strings.FieldsFunc(strings.ToLower(title), func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '.' || r == '-')
	}) {
		w = strings.Trim(strings.Map(func(r rune) rune {
			if r == '_' || r == '.' {
				return '-'
			}
			return r
		}, w), "-")
		switch w {
		case "", "of", "the", "a", "an", "in", "on", "for":
			continue
		}
		words = append(words, w)
	}
	s := strings.Join(words, "-")
	s = strings.TrimRight(string([]rune(s)[:min(runes(s), 48)]), "-")
	if s == "" {
		s = "output"
	}
	return s
}

// safeFileName keeps a commands.File name usable as an upload name.
func safeFileName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || unicode.IsControl(r) {
			return '_'
		}
		return r
	}, strings.TrimSpace(name))
	name = truncate(name, 120)
	if name == "" || name == "." || name == ".." {
		return "output.txt"
	}
	return name
}
