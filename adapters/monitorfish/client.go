// Package monitorfish reads the MonitorFish backend's own HTTP endpoints
// (/version, /api/v1/healthcheck).
package monitorfish

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client talks to one backend.
type Client struct {
	base string
	http *http.Client
}

// New returns a client for the backend at baseURL (http://host:8880).
func New(baseURL string, timeout time.Duration) *Client {
	if timeout == 0 {
		timeout = 3 * time.Second
	}
	return &Client{base: strings.TrimSuffix(baseURL, "/"), http: &http.Client{Timeout: timeout}}
}

// maxBody bounds what is read of an answer: these endpoints return a few
// hundred bytes, anything larger is not the backend.
const maxBody = 64 << 10

// Version returns the fields of GET /version as strings.
func (c *Client) Version(ctx context.Context) (map[string]string, error) {
	var raw map[string]any
	if err := c.getJSON(ctx, "/version", &raw); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		out[k] = fmt.Sprint(v)
	}
	return out, nil
}

func (c *Client) getJSON(ctx context.Context, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return fmt.Errorf("build request for %s: %w", path, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", c.base+path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", path, resp.StatusCode)
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}
