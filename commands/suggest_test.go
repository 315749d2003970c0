package commands

import (
	"strings"
	"testing"
)

func TestClosestName(t *testing.T) {
	services := []string{"app", "db", "geoserver", "pipeline-server", "pipeline-flows"}
	verbs := []string{"logs", "restart", "stats", "status", "stop", "start", "flow", "flows", "help"}
	tests := []struct {
		typed string
		names []string
		want  string
	}{
		{"ap", services, "app"},
		{"APP", services, "app"}, // case-insensitive, and an exact match is its own suggestion
		{"aap", services, "app"},
		{"dbb", services, "db"},
		{"geoserer", services, "geoserver"},
		{"pipline-server", services, "pipeline-server"},
		{"geo", services, "geoserver"},       // the only name it starts
		{"pipeline", services, ""},           // starts two names: no guess
		{"pipeline-", services, ""},          // still two
		{"web", services, ""},                // 2 edits from db, in 3 letters: another word
		{"x", services, ""},                  // one letter: a prefix or nothing
		{"g", services, "geoserver"},         // which is a prefix here
		{"", services, ""},                   //
		{"lgos", verbs, "logs"},              // a transposition is one edit
		{"frob", verbs, ""},                  // 2 edits from flow, in 4 letters
		{"restrat", verbs, "restart"},        //
		{"satuts", verbs, "status"},          // 2 edits in 6 letters
		{"stauts", verbs, "status"},          // as close to stats: the same length wins
		{"stat", verbs, "stats"},             // 1 edit from stats, 2 from status
		{"flwo", verbs, "flow"},              // flow before flows
		{"stp", verbs, "stop"},               //
		{strings.Repeat("a", 65), verbs, ""}, // no typo is that long
		{"lögs", verbs, "logs"},              // runes, not bytes
	}
	for _, tt := range tests {
		if got := closestName(tt.typed, tt.names); got != tt.want {
			t.Errorf("closestName(%q) = %q, want %q", tt.typed, got, tt.want)
		}
	}
}

func TestUnknownNameMessage(t *testing.T) {
	names := []string{"status", "tables", "activity"}
	for typed, want := range map[string]string{
		"tabels": `Unknown db command "tabels" (did you mean tables?).`,
		"act":    `Unknown db command "act" (did you mean activity?).`,
		"foo":    `Unknown db command "foo". db commands: status, tables, activity.`,
		`"x y"`:  `Unknown db command "\"x y\"". db commands: status, tables, activity.`,
	} {
		if got := unknownNameMessage("db command", typed, "db commands", names); got != want {
			t.Errorf("%q: %q, want %q", typed, got, want)
		}
	}
}
