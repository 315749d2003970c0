package prefectfake

import (
	"fmt"
	"time"
)

// Seed fills the world with flows MonitorFish-like flows ("Monitorfish -
// Flow 001" …, every one on a cron) and runs of history spread evenly
// over the day before now, one in twenty failed, each with a task run and
// two log lines: the history a poll must not be slowed by. Their
// deployments carry DeploymentVersion and the PipelineImage at it.
func (w *World) Seed(flows, runs int, now time.Time) []*Flow {
	out := make([]*Flow, flows)
	for i := range out {
		out[i] = w.AddFlow(fmt.Sprintf("Monitorfish - Flow %03d", i+1), fmt.Sprintf("*/%d * * * *", 1+i%15))
	}
	if flows == 0 {
		return out
	}
	step := 24 * time.Hour / time.Duration(max(runs, 1))
	for i := range runs {
		end := now.Add(-24 * time.Hour).Add(time.Duration(i) * step)
		f := out[i%flows]
		if i%20 == 0 {
			w.FailedRun(f, end, "", "extract", "psycopg2.OperationalError: server closed the connection unexpectedly")
		} else {
			w.SucceededRun(f, end)
		}
	}
	return out
}
