package prefect

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// gqlSchedule is a Prefect 1 schedule as serialized in flow.schedule and
// flow_group.schedule.
type gqlSchedule struct {
	Clocks []struct {
		Type string `json:"type"`
		Cron string `json:"cron"`
		// Interval is in microseconds (marshmallow TimeDelta precision).
		Interval  *float64 `json:"interval"`
		StartDate *struct {
			TZ string `json:"tz"`
		} `json:"start_date"`
	} `json:"clocks"`
}

// gqlScheduleText describes a flow's schedule: the flow group's when it
// has one (set in the UI, it overrides the registered one), else the
// flow version's. Cron clocks read "*/5 * * * * (UTC)", interval clocks
// "every 10 min"; "" when there is no schedule.
func gqlScheduleText(groupSchedule, flowSchedule json.RawMessage) string {
	if text := gqlDescribeSchedule(groupSchedule); text != "" {
		return text
	}
	return gqlDescribeSchedule(flowSchedule)
}

func gqlDescribeSchedule(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var schedule gqlSchedule
	if err := json.Unmarshal(raw, &schedule); err != nil {
		return "unreadable schedule"
	}
	var clocks []string
	for _, clock := range schedule.Clocks {
		switch {
		case clock.Cron != "":
			tz := "UTC" // Prefect 1's default: a clock without a start date runs in UTC
			if clock.StartDate != nil && clock.StartDate.TZ != "" {
				tz = clock.StartDate.TZ
			}
			clocks = append(clocks, clock.Cron+" ("+tz+")")
		case clock.Interval != nil:
			clocks = append(clocks, gqlIntervalText(time.Duration(*clock.Interval)*time.Microsecond))
		case clock.Type != "":
			clocks = append(clocks, clock.Type)
		}
	}
	return strings.Join(clocks, ", ")
}

func gqlIntervalText(d time.Duration) string {
	switch {
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("every %d min", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("every %d s", d/time.Second)
	}
	return "every " + d.String()
}
