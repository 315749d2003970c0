package pipeline

import (
	"errors"
	"reflect"
	"testing"
)

func TestMatchFlowNames(t *testing.T) {
	flows := []Flow{{ID: "1", Name: "Monitorfish - Logbook"}, {ID: "2", Name: "Monitorfish - Last positions"},
		{ID: "3", Name: "Monitorfish - Sales and Logbook"}, {ID: "4", Name: "Monitorfish - Logbook cleaning"},
		{ID: "5", Name: "Vessels"}, {ID: "6", Name: "Monitorfish - Position alerts"}}
	for _, tc := range []struct{ name, want string }{
		{"Logbook", "1"}, {"logbook", "1"}, {"Monitorfish - Logbook", "1"}, {"monitorfish - LOGBOOK", "1"},
		{"sales-and-logbook", "3"}, {"last_positions", "2"}, {"last", "2"}, {"Last positions", "2"}, {"sales", "3"}, {"Logbook c", "4"}, {"vess", "5"}, {"  Vessels ", "5"},
	} {
		got, err := Match(flows, tc.name)
		if err != nil || got.ID != tc.want {
			t.Errorf("Match(%q) = %+v, %v; want flow %s", tc.name, got, err, tc.want)
		}
	}
	_, err := Match(flows, "Lo")
	var amb *AmbiguousError
	if !errors.As(err, &amb) || !reflect.DeepEqual(amb.Candidates, []string{"Monitorfish - Logbook", "Monitorfish - Logbook cleaning"}) {
		t.Errorf("ambiguous prefix: %v", err)
	}
	_, err = Match(flows, "Po")
	if err != nil {
		t.Errorf("unique prefix Po: %v", err)
	}
	_, err = Match(flows, "Species")
	var unknown *UnknownFlowError
	if !errors.As(err, &unknown) || len(unknown.Known) != len(flows) || unknown.Known[0] != "Last positions" {
		t.Errorf("unknown: %v %+v", err, unknown)
	}
	if _, err := Match(flows, ""); !errors.As(err, &unknown) {
		t.Errorf("empty name: %v", err)
	}
	twins := []Flow{{ID: "a", Name: "Monitorfish - Ports"}, {ID: "b", Name: "Ports"}}
	if _, err := Match(twins, "ports"); !errors.As(err, &amb) {
		t.Errorf("two flows with one short name: %v", err)
	}
}

func TestTargets(t *testing.T) {
	for name, want := range map[string]string{"Monitorfish - Sales and Logbook": "sales-and-logbook", "Logbook": "logbook",
		"Monitorfish - Last  positions": "last-positions", "Risk_factor": "risk-factor"} {
		if got := Target(name); got != want {
			t.Errorf("Target(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestStates(t *testing.T) {
	timedOut := State{Type: Failed, Name: "TimedOut"}
	if !timedOut.Failure() || !timedOut.Final() || timedOut.String() != "TimedOut" {
		t.Error("TimedOut is a failure")
	}
	if (State{Type: Cancelled}).Failure() || !(State{Type: Crashed}).Failure() || !(State{Type: Completed}).Success() {
		t.Error("state classes")
	}
	if (State{Type: Running}).Final() || (State{}).String() != "unknown" {
		t.Error("running / unknown")
	}
	if ShortName("Monitorfish - Logbook") != "Logbook" || ShortName("Logbook") != "Logbook" || ShortName("Monitorfish - ") != "Monitorfish - " {
		t.Error("short names")
	}
}
