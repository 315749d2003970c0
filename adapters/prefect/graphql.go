package prefect

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	graphql "github.com/hasura/go-graphql-client"

	"mfbot/pipeline"
)

// graphQL is the Prefect Server 1 client. It sends only the fixed
// documents of graphql_documents.go, through go-graphql-client over the
// authenticating, time-bounded http.Client of New.
type graphQL struct {
	client *graphql.Client
	uiURL  string
	now    func() time.Time
}

var _ pipeline.API = (*graphQL)(nil)

// newGraphQL returns the Prefect Server 1 client.
func newGraphQL(o Options, hc *http.Client) pipeline.API {
	return &graphQL{client: graphql.NewClient(o.URL, hc), uiURL: o.UIURL, now: time.Now}
}

// do sends one document and decodes its data into out. op says what was
// being done ("list flows"): every error starts with it.
func (g *graphQL) do(ctx context.Context, op, document string, vars map[string]any, out any) error {
	if err := gqlCheckNoNulls(vars); err != nil {
		return fmt.Errorf("%s: not sent: %w", op, err)
	}
	data, err := g.client.ExecRaw(ctx, document, vars)
	if err != nil {
		return gqlFailure(ctx, op, err)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: Prefect's answer does not decode: %w", op, err)
	}
	return nil
}

// Version asks the server's Python service for its version.
func (g *graphQL) Version(ctx context.Context) (string, error) {
	var data struct {
		API *struct {
			Version     string `json:"version"`
			CoreVersion string `json:"core_version"`
		} `json:"api"`
	}
	if err := g.do(ctx, "read the Prefect version", gqlVersionDoc, nil, &data); err != nil {
		return "", err
	}
	if data.API == nil || data.API.Version == "" {
		return "Prefect Server 1 (GraphQL)", nil
	}
	details := []string{"API " + data.API.Version}
	if data.API.CoreVersion != "" {
		details = append(details, "Core "+data.API.CoreVersion)
	}
	return "Prefect Server 1 (" + strings.Join(details, ", ") + ")", nil
}

// RunURL links to the run in Prefect Server's UI.
func (g *graphQL) RunURL(runID string) string {
	if g.uiURL == "" || runID == "" {
		return ""
	}
	return g.uiURL + "/flow-run/" + runID
}

// gqlTimestamp writes a time as a timestamptz variable.
func gqlTimestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
