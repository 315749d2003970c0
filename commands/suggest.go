package commands

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// suggestMaxTypedLength: longer input is no typo of a name but something
// else pasted, and comparing it would only cost time.
const suggestMaxTypedLength = 64

// closestName suggests the name a mistyped one was meant to be, compared
// case-insensitively: the nearest within an edit distance of 2, else the
// only name that starts with what was typed; "" when none is close. A
// short word holds fewer typos: one up to 4 characters ("web" is no typo
// of "db", nor "frob" of "flow"), none for 1 (a prefix, then). On a tie
// the name of the typed length wins (stauts: status, not stats), then the
// first in names.
func closestName(typed string, names []string) string {
	typed = strings.ToLower(typed)
	length := utf8.RuneCountInString(typed)
	if length == 0 || length > suggestMaxTypedLength {
		return ""
	}
	allowed := 2
	switch {
	case length < 2:
		allowed = 0
	case length < 5:
		allowed = 1
	}
	best, bestDistance, bestLengthGap := "", allowed+1, 0
	for _, name := range names {
		d := parseEditDistance(typed, strings.ToLower(name))
		lengthGap := utf8.RuneCountInString(name) - length
		if lengthGap < 0 {
			lengthGap = -lengthGap
		}
		if d < bestDistance || (d == bestDistance && best != "" && lengthGap < bestLengthGap) {
			best, bestDistance, bestLengthGap = name, d, lengthGap
		}
	}
	if best != "" {
		return best
	}
	prefixed := ""
	for _, name := range names {
		if !strings.HasPrefix(strings.ToLower(name), typed) || strings.EqualFold(name, prefixed) {
			continue
		}
		if prefixed != "" {
			return "" // ambiguous: no suggestion rather than a guess
		}
		prefixed = name
	}
	return prefixed
}

// unknownNameMessage refuses a name: `Unknown service "ap" (did you mean
// app?).`, or when no name is close, the list: `Unknown service "x".
// Services: app, db.` — like the unknown flag message.
func unknownNameMessage(what, typed, listLabel string, names []string) string {
	if suggestion := closestName(typed, names); suggestion != "" {
		return fmt.Sprintf("Unknown %s %q (did you mean %s?).", what, typed, suggestion)
	}
	return fmt.Sprintf("Unknown %s %q. %s: %s.", what, typed, listLabel, strings.Join(names, ", "))
}
