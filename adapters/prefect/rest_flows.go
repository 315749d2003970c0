package prefect

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"mfbot/pipeline"
)

// Flows lists the deployments with their schedules, versions and images
// (job_variables.image) and, in one more request for all of them, their
// last runs.
func (c *restClient) Flows(ctx context.Context) ([]pipeline.Flow, error) {
	deployments, err := c.readDeployments(ctx)
	if err != nil {
		return nil, err
	}
	names, err := c.learnNames(ctx, deployments, false)
	if err != nil {
		return nil, err
	}
	flows := make([]pipeline.Flow, len(deployments))
	ids := make([]string, len(deployments))
	for i, d := range deployments {
		schedule, active := describeSchedules(d.Schedules)
		flows[i] = pipeline.Flow{ID: d.ID, Name: names[d.ID], Schedule: schedule, ScheduleActive: active && !d.Paused,
			Version: d.Version, Image: d.image()}
		ids[i] = d.ID
	}
	last, err := c.lastRuns(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range flows {
		if r, ok := last[flows[i].ID]; ok {
			r.FlowName = flows[i].Name
			flows[i].LastRun = &r
		}
	}
	slices.SortStableFunc(flows, func(a, b pipeline.Flow) int { return strings.Compare(a.Name, b.Name) })
	return flows, nil
}

// lastRuns reads, in one request, the newest run of each deployment that
// is not scheduled ahead: by expected start, as Prefect sorts them. A
// deployment whose last run is older than the newest 200 runs of all has
// none (unknown).
func (c *restClient) lastRuns(ctx context.Context, deploymentIDs []string) (map[string]pipeline.Run, error) {
	if len(deploymentIDs) == 0 {
		return nil, nil
	}
	q := flowRunsQuery{
		FlowRuns: &flowRunFilter{DeploymentID: idsIn(deploymentIDs...), ExpectedStartTime: before(c.now())},
		Sort:     "EXPECTED_START_TIME_DESC",
		Limit:    restPageLimit,
	}
	var runs []flowRunJSON
	if _, err := c.call(ctx, "read the flows' last runs", http.MethodPost, "/flow_runs/filter", q, &runs); err != nil {
		return nil, err
	}
	last := map[string]pipeline.Run{}
	for _, fr := range runs {
		if _, seen := last[fr.DeploymentID]; !seen && fr.DeploymentID != "" {
			last[fr.DeploymentID] = fr.run()
		}
	}
	return last, nil
}

// readDeployments reads every deployment, by name, in pages.
func (c *restClient) readDeployments(ctx context.Context) ([]deploymentJSON, error) {
	var out []deploymentJSON
	for page := 0; page < restMaxPages; page++ {
		var batch []deploymentJSON
		q := listQuery{Sort: "NAME_ASC", Limit: restPageLimit, Offset: len(out)}
		if _, err := c.call(ctx, "list deployments", http.MethodPost, "/deployments/filter", q, &batch); err != nil {
			return nil, err
		}
		out = append(out, batch...)
		if len(batch) < restPageLimit {
			break
		}
	}
	return out, nil
}

// readFlowNames reads every flow's name, by ID, in pages.
func (c *restClient) readFlowNames(ctx context.Context) (map[string]string, error) {
	names := map[string]string{}
	for page, offset := 0, 0; page < restMaxPages; page++ {
		var batch []flowJSON
		q := listQuery{Sort: "NAME_ASC", Limit: restPageLimit, Offset: offset}
		if _, err := c.call(ctx, "list flows", http.MethodPost, "/flows/filter", q, &batch); err != nil {
			return nil, err
		}
		for _, f := range batch {
			names[f.ID] = f.Name
		}
		offset += len(batch)
		if len(batch) < restPageLimit {
			break
		}
	}
	return names, nil
}

// describeSchedules says when a deployment runs ("*/1 * * * * (UTC)",
// "every 2 min"; its active schedules, else all of them) and whether one
// of its schedules is active.
func describeSchedules(schedules []deploymentSchedule) (string, bool) {
	var active, all []string
	for _, s := range schedules {
		text := describeSchedule(s)
		if text == "" {
			continue
		}
		all = append(all, text)
		if s.Active {
			active = append(active, text)
		}
	}
	if len(active) > 0 {
		return strings.Join(active, "; "), true
	}
	return strings.Join(all, "; "), false
}

func describeSchedule(s deploymentSchedule) string {
	var text string
	switch sch := s.Schedule; {
	case sch.Cron != "":
		text = sch.Cron
	case sch.Interval > 0:
		text = "every " + describeInterval(sch.Interval)
	case sch.RRule != "":
		text = sch.RRule
	default:
		return ""
	}
	if tz := s.Schedule.Timezone; tz != "" && s.Schedule.Interval == 0 {
		text += " (" + tz + ")"
	}
	return text
}

// describeInterval writes an interval in seconds in its largest whole unit.
func describeInterval(seconds float64) string {
	if seconds != math.Trunc(seconds) {
		return strconv.FormatFloat(seconds, 'f', -1, 64) + " s"
	}
	n := int64(seconds)
	for _, unit := range []struct {
		size int64
		name string
	}{{86400, "d"}, {3600, "h"}, {60, "min"}} {
		if n%unit.size == 0 {
			return fmt.Sprintf("%d %s", n/unit.size, unit.name)
		}
	}
	return fmt.Sprintf("%d s", n)
}
