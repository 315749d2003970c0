package prefect

import (
	"encoding/json"
	"fmt"
	"time"

	"mfbot/pipeline"
)

// gqlTime reads a timestamptz as Hasura prints it
// ("2024-05-02T10:00:00.123456+00:00"); null is the zero time.
type gqlTime struct{ time.Time }

func (t *gqlTime) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == nil || *s == "" {
		t.Time = time.Time{}
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-07", "2006-01-02T15:04:05.999999999"} {
		if parsed, err := time.Parse(layout, *s); err == nil {
			t.Time = parsed.UTC()
			return nil
		}
	}
	return fmt.Errorf("not a timestamp: %q", *s)
}

// gqlRun is a flow run as the mfbotRun fragment reads it.
type gqlRun struct {
	ID                 string  `json:"id"`
	Name               string  `json:"name"`
	State              string  `json:"state"`
	StateMessage       string  `json:"state_message"`
	StateTimestamp     gqlTime `json:"state_timestamp"`
	ScheduledStartTime gqlTime `json:"scheduled_start_time"`
	StartTime          gqlTime `json:"start_time"`
	EndTime            gqlTime `json:"end_time"`
	Flow               *struct {
		FlowGroupID string `json:"flow_group_id"`
		Name        string `json:"name"`
	} `json:"flow"`
}

func (r gqlRun) run() pipeline.Run {
	out := pipeline.Run{
		ID: r.ID, Name: r.Name, State: gqlState(r.State, r.StateMessage),
		ExpectedStart: r.ScheduledStartTime.Time, Start: r.StartTime.Time, End: r.EndTime.Time, StateTime: r.StateTimestamp.Time,
	}
	if r.Flow != nil {
		out.FlowID, out.FlowName = r.Flow.FlowGroupID, r.Flow.Name
	}
	return out
}

func gqlRunList(rows []gqlRun) []pipeline.Run {
	out := make([]pipeline.Run, len(rows))
	for i, r := range rows {
		out[i] = r.run()
	}
	return out
}

// gqlStateTypes maps Prefect 1's state names (its state classes) onto
// pipeline's state types. A name not listed keeps an empty type.
func gqlStateType(name string) pipeline.StateType {
	switch name {
	case "Success", "Cached", "Skipped", "Mapped":
		return pipeline.Completed
	case "Failed", "TimedOut", "TriggerFailed", "ValidationFailed":
		return pipeline.Failed
	case "Cancelled":
		return pipeline.Cancelled
	case "Cancelling":
		return pipeline.Cancelling
	case "Running":
		return pipeline.Running
	case "Scheduled", "Queued", "Resume":
		return pipeline.Scheduled
	case "Submitted", "Pending", "Retrying":
		// Retrying is a Pending subclass in Prefect 1.
		return pipeline.Pending
	case "Paused":
		return pipeline.Paused
	}
	return ""
}

// gqlFinalStates are the state names FinishedSince polls: every name
// gqlStateType maps to a final type.
func gqlFinalStates() []string {
	return []string{"Success", "Cached", "Skipped", "Mapped", "Failed", "TimedOut", "TriggerFailed", "ValidationFailed", "Cancelled"}
}

// gqlFailedStates are the state names of failed runs.
func gqlFailedStates() []string {
	return []string{"Failed", "TimedOut", "TriggerFailed", "ValidationFailed"}
}

// gqlState is a Prefect 1 state as pipeline sees it; the name is kept
// ("TimedOut" is a FAILED state named TimedOut).
func gqlState(name, message string) pipeline.State {
	return pipeline.State{Type: gqlStateType(name), Name: name, Message: message}
}
