package prefect

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"mfbot/pipeline"
)

// restPageLimit is the most rows one filter request may ask for: Prefect's
// PREFECT_API_DEFAULT_LIMIT, which is also the highest limit it accepts
// (more is a 422); longer lists are read in pages with offset.
const restPageLimit = 200

// restMaxPages bounds every paging loop, so that a server answering full
// pages forever cannot keep a command busy: 10 000 rows.
const restMaxPages = 50

// namesRefreshEvery is how often, at most, the deployments are read again
// to name the runs of a deployment not seen before.
const namesRefreshEvery = time.Minute

// restClient is pipeline.API over Prefect 3's REST API (…/api). MonitorFish
// has one deployment per flow, named after it: a pipeline.Flow is a
// deployment, its ID the deployment's.
type restClient struct {
	base  string // …/api, without trailing slash
	ui    string // the Prefect UI, "" = no links
	hc    *http.Client
	now   func() time.Time
	names *flowNames
}

// newREST returns the Prefect 3 client.
func newREST(o Options, hc *http.Client) pipeline.API {
	return &restClient{base: o.URL, ui: o.UIURL, hc: hc, now: time.Now, names: &flowNames{}}
}

// Version reads Prefect's own version (GET /admin/version: "3.6.9"; GET
// /version is the API's, "0.8.4").
func (c *restClient) Version(ctx context.Context) (string, error) {
	var version string
	if _, err := c.call(ctx, "read Prefect's version", http.MethodGet, "/admin/version", nil, &version); err != nil {
		return "", err
	}
	if version == "" {
		return "Prefect 3 (REST)", nil
	}
	return "Prefect " + version, nil
}

// RunURL links to the run's page in the Prefect UI.
func (c *restClient) RunURL(runID string) string {
	if c.ui == "" || runID == "" {
		return ""
	}
	return c.ui + "/runs/flow-run/" + runID
}

// checkID refuses, without asking Prefect, an ID that cannot be one of its
// UUIDs: Prefect would answer a 404 "Not Found" (no route) or a 422.
func checkID(what, id string) error {
	if !isUUID(id) {
		return fmt.Errorf("%s: %w: %q is not a Prefect ID", what, pipeline.ErrNotFound, id)
	}
	return nil
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}
