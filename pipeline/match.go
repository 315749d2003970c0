package pipeline

import (
	"fmt"
	"sort"
	"strings"
)

// AmbiguousError is a flow name that more than one flow answers to.
type AmbiguousError struct {
	Name       string
	Candidates []string // the full names, sorted
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("%q matches %d flows: %s", e.Name, len(e.Candidates), strings.Join(e.Candidates, ", "))
}

// UnknownFlowError is a flow name that no flow answers to.
type UnknownFlowError struct {
	Name  string
	Known []string // every flow's short name, sorted
}

func (e *UnknownFlowError) Error() string {
	return fmt.Sprintf("no flow is named %q", e.Name)
}

// Match finds the flow an operator means by name: case-insensitively,
// with or without "Monitorfish - ", by its whole name or else by a prefix
// that only one flow has. An exact name wins over prefixes ("Logbook"
// is Logbook even with "Logbook cleaning" beside it). No match is an
// *UnknownFlowError, more than one an *AmbiguousError: nothing is run.
func Match(flows []Flow, name string) (Flow, error) {
	want := normalize(ShortName(strings.TrimSpace(name)))
	if want == "" {
		return Flow{}, &UnknownFlowError{Name: name, Known: shortNames(flows)}
	}
	var exact, prefixed []Flow
	for _, f := range flows {
		short := normalize(ShortName(f.Name))
		switch {
		case short == want || normalize(f.Name) == want:
			exact = append(exact, f)
		case strings.HasPrefix(short, want):
			prefixed = append(prefixed, f)
		}
	}
	switch {
	case len(exact) == 1:
		return exact[0], nil
	case len(exact) > 1:
		return Flow{}, &AmbiguousError{Name: name, Candidates: fullNames(exact)}
	case len(prefixed) == 1:
		return prefixed[0], nil
	case len(prefixed) > 1:
		return Flow{}, &AmbiguousError{Name: name, Candidates: fullNames(prefixed)}
	}
	return Flow{}, &UnknownFlowError{Name: name, Known: shortNames(flows)}
}

// Target is a flow's name in incidents and mutes: its short name in
// lower case, words joined by "-" ("Monitorfish - Sales and Logbook" →
// "sales-and-logbook"). Match finds the flow back from it.
func Target(flow string) string {
	return strings.ReplaceAll(normalize(ShortName(flow)), " ", "-")
}

// normalize folds case and treats spaces, "-" and "_" between words alike.
func normalize(name string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(name), func(r rune) bool {
		return r == ' ' || r == '-' || r == '_' || r == '\t'
	}), " ")
}

func fullNames(flows []Flow) []string {
	out := make([]string, len(flows))
	for i, f := range flows {
		out[i] = f.Name
	}
	sort.Strings(out)
	return out
}

func shortNames(flows []Flow) []string {
	out := make([]string, len(flows))
	for i, f := range flows {
		out[i] = ShortName(f.Name)
	}
	sort.Strings(out)
	return out
}
