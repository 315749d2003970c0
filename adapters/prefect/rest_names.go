package prefect

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"mfbot/pipeline"
)

// flowNames remembers what runs are named by: a FlowRun carries the IDs of
// its deployment and flow, not their names. It is read again only when a
// run of an unknown deployment shows up, and at most every
// namesRefreshEvery, so that a poll stays one request.
type flowNames struct {
	refreshing sync.Mutex // one refresh at a time

	mu           sync.Mutex
	byDeployment map[string]string // deployment ID → pipeline.Flow.Name
	byFlow       map[string]string // flow ID → flow name
	refreshedAt  time.Time
}

// name is the name of a run's flow: its deployment's, else (no deployment,
// or one deleted since) its flow's; "" when unknown.
func (n *flowNames) name(deploymentID, flowID string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if name, ok := n.byDeployment[deploymentID]; ok {
		return name
	}
	return n.byFlow[flowID]
}

// missing says whether a run's flow is not known by name.
func (n *flowNames) missing(runs []flowRunJSON) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, r := range runs {
		if r.DeploymentID != "" {
			if _, ok := n.byDeployment[r.DeploymentID]; !ok {
				return true
			}
		} else if _, ok := n.byFlow[r.FlowID]; !ok && r.FlowID != "" {
			return true
		}
	}
	return false
}

func (n *flowNames) due(now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.refreshedAt.IsZero() || now.Sub(n.refreshedAt) >= namesRefreshEvery
}

func (n *flowNames) flows() map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return maps.Clone(n.byFlow)
}

func (n *flowNames) set(byDeployment, byFlow map[string]string, at time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.byDeployment, n.byFlow, n.refreshedAt = byDeployment, byFlow, at
}

// learnNames names the deployments (all of them, as read) and remembers
// their names; it reads the flows' names when one is unknown, or always
// with readFlows.
func (c *restClient) learnNames(ctx context.Context, deployments []deploymentJSON, readFlows bool) (map[string]string, error) {
	byFlow := c.names.flows()
	for _, d := range deployments {
		if _, ok := byFlow[d.FlowID]; !ok {
			readFlows = true
		}
	}
	if readFlows {
		var err error
		if byFlow, err = c.readFlowNames(ctx); err != nil {
			return nil, err
		}
	}
	byDeployment := deploymentNames(deployments, byFlow)
	c.names.set(byDeployment, byFlow, c.now())
	return maps.Clone(byDeployment), nil
}

// deploymentNames names each deployment as operators know it: MonitorFish
// names its deployments after their flows; a deployment named otherwise is
// called by its flow's name, or "flow/deployment" (as Prefect writes it)
// when its flow has several deployments, so that names stay unique.
func deploymentNames(deployments []deploymentJSON, flowNames map[string]string) map[string]string {
	perFlow := map[string]int{}
	for _, d := range deployments {
		perFlow[d.FlowID]++
	}
	names := make(map[string]string, len(deployments))
	for _, d := range deployments {
		flow := flowNames[d.FlowID]
		switch {
		case flow == "" || flow == d.Name:
			names[d.ID] = d.Name
		case perFlow[d.FlowID] == 1:
			names[d.ID] = flow
		default:
			names[d.ID] = flow + "/" + d.Name
		}
	}
	return names
}

// named turns flow runs into pipeline runs with their flows' names,
// reading the deployments again first when one of them is unknown (and
// they were not read in the last minute).
func (c *restClient) named(ctx context.Context, what string, runs []flowRunJSON) ([]pipeline.Run, error) {
	if c.names.missing(runs) {
		if err := c.refreshNames(ctx, runs); err != nil {
			return nil, fmt.Errorf("%s: name their flows: %w", what, err)
		}
	}
	out := make([]pipeline.Run, len(runs))
	for i, fr := range runs {
		out[i] = fr.run()
		out[i].FlowName = c.names.name(fr.DeploymentID, fr.FlowID)
	}
	return out, nil
}

func (c *restClient) refreshNames(ctx context.Context, runs []flowRunJSON) error {
	c.names.refreshing.Lock()
	defer c.names.refreshing.Unlock()
	// Another call may have refreshed them while this one waited.
	if !c.names.missing(runs) || !c.names.due(c.now()) {
		return nil
	}
	deployments, err := c.readDeployments(ctx)
	if err != nil {
		return err
	}
	_, err = c.learnNames(ctx, deployments, true)
	return err
}
