// Package prefect talks to the Prefect API: Prefect Server 1.x over
// GraphQL, Prefect 2/3 over REST.
package prefect

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Ping checks that the API answers: `{ hello }` for GraphQL, GET /health
// for REST.
func Ping(ctx context.Context, url, flavor string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var req *http.Request
	var err error
	if flavor == "graphql" {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewBufferString(`{"query":"{ hello }"}`))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(url, "/")+"/health", nil)
	}
	if err != nil {
		return fmt.Errorf("build Prefect request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reach Prefect at %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("Prefect at %s answered HTTP %d", url, resp.StatusCode)
	}
	if flavor == "graphql" && !bytes.Contains(body, []byte(`"hello"`)) {
		return fmt.Errorf("Prefect at %s did not answer the GraphQL hello query", url)
	}
	return nil
}
