// Package monitorfish reads the MonitorFish backend's own HTTP endpoints
// (/version, /api/v1/healthcheck).
package monitorfish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"mfbot/freshness"
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

// maxExcerpt bounds the excerpt of an error answer quoted in an error:
// enough for Spring's "message", short enough for one line of a reply.
const maxExcerpt = 160

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

// The healthcheck's paths: /api/v1/healthcheck since 2023-06 (MonitorFish
// commit 8162a2a "Move public apis to public_api"), /bff/v1/healthcheck
// from 2021-06 (f215d9c "Add healthcheck api") until then.
const (
	HealthcheckPath       = "/api/v1/healthcheck"
	LegacyHealthcheckPath = "/bff/v1/healthcheck"
)

// The healthcheck's field names, current first, then the older names the
// /bff endpoint used. The older names are mapped by what the backend
// measured, not by how they read: from 2021-06 to 2023-01
// datePositionReceived was last_positions' newest last_position_datetime_utc
// (the table Prefect's "Last positions" flow updates) and dateLastPosition
// the newest positions.date_time (received by the API); MonitorFish's
// commit 3a10a27 "Refactor last positions naming" (2023-01-23) renamed them
// dateLastPositionUpdatedByPrefect and dateLastPositionReceivedByAPI.
// dateERSMessageReceived became dateLogbookMessageReceived on 2022-02-08
// (06f9473 "Refactor backend 'ERS' as 'logbook'");
// suddenDropOfPositionsReceived exists since 2023-10-26 (08af950).
var (
	receivedNames = []string{"dateLastPositionReceivedByAPI", "dateLastPosition"}
	updatedNames  = []string{"dateLastPositionUpdatedByPrefect", "datePositionReceived"}
	logbookNames  = []string{"dateLogbookMessageReceived", "dateERSMessageReceived"}
	suddenDrop    = "suddenDropOfPositionsReceived"
)

// Healthcheck reads the backend's healthcheck: GET /api/v1/healthcheck,
// or, when the backend answers 404 there (a version older than 2023-06),
// GET /bff/v1/healthcheck with its older field names. A 200 only says
// the backend's queries ran: the caller judges the facts (package
// freshness). Any other answer, an answer without the healthcheck's
// fields or an unreadable date is an error.
func (c *Client) Healthcheck(ctx context.Context) (freshness.Facts, error) {
	body, err := c.get(ctx, HealthcheckPath)
	var status *statusError
	if errors.As(err, &status) && status.code == http.StatusNotFound {
		body, err = c.get(ctx, LegacyHealthcheckPath)
		if errors.As(err, &status) && status.code == http.StatusNotFound {
			return freshness.Facts{}, fmt.Errorf("no healthcheck endpoint: %s and %s answer HTTP 404", HealthcheckPath, LegacyHealthcheckPath)
		}
	}
	if err != nil {
		return freshness.Facts{}, err
	}
	return parseHealthcheck(body)
}

func parseHealthcheck(body []byte) (freshness.Facts, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return freshness.Facts{}, fmt.Errorf("the healthcheck answer is not JSON: %s", excerpt(body))
	}
	var f freshness.Facts
	found := 0
	for _, field := range []struct {
		names []string
		into  *time.Time
	}{{receivedNames, &f.LastPositionReceived}, {updatedNames, &f.LastPositionUpdated}, {logbookNames, &f.LastLogbookMessage}} {
		for _, name := range field.names {
			v, ok := raw[name]
			if !ok {
				continue
			}
			found++
			t, err := parseTime(v)
			if err != nil {
				return freshness.Facts{}, fmt.Errorf("healthcheck field %s: %w", name, err)
			}
			*field.into = t
			break
		}
	}
	if v, ok := raw[suddenDrop]; ok && string(v) != "null" {
		found++
		if err := json.Unmarshal(v, &f.SuddenDrop); err != nil {
			return freshness.Facts{}, fmt.Errorf("healthcheck field %s: not a boolean: %s", suddenDrop, excerpt(v))
		}
		f.SuddenDropKnown = true
	}
	if found == 0 {
		return freshness.Facts{}, fmt.Errorf("the healthcheck answer has none of the healthcheck's fields: %s", excerpt(body))
	}
	f.From = freshness.FromHealthcheck
	return f, nil
}

// timeLayouts are the forms Jackson and MonitorFish's CustomZonedDateTime
// write dates in: ISO-8601, with or without fraction, with Z or an offset
// or no zone at all (then UTC), minutes-only when the seconds are zero
// (ZonedDateTime.toString).
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05Z07",
	"2006-01-02T15:04Z07",
}

var zonelessLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05.999999999",
}

// parseTime reads a date of the healthcheck: an ISO-8601 string (UTC when
// it has no zone; a trailing "[Zone/Id]" is ignored), a number of seconds
// since the epoch (Jackson's WRITE_DATES_AS_TIMESTAMPS), or null (unknown).
func parseTime(raw json.RawMessage) (time.Time, error) {
	if string(raw) == "null" {
		return time.Time{}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var secs float64
		if err := json.Unmarshal(raw, &secs); err != nil {
			return time.Time{}, fmt.Errorf("not a date: %s", excerpt(raw))
		}
		whole := int64(secs)
		return time.Unix(whole, int64((secs-float64(whole))*1e9)).UTC(), nil
	}
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '['); i > 0 && strings.HasSuffix(s, "]") {
		s = s[:i]
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	for _, l := range zonelessLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not an ISO-8601 date: %s", excerpt([]byte(s)))
}

// statusError is an answer other than 200.
type statusError struct {
	path string
	code int
	body []byte
}

func (e *statusError) Error() string {
	msg := fmt.Sprintf("GET %s: HTTP %d", e.path, e.code)
	if x := errorExcerpt(e.body); x != "" {
		msg += ": " + x
	}
	return msg
}

func (c *Client) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("build request for %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error repeats the method and URL: keep its cause.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("GET %s: %w", c.base+path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &statusError{path: path, code: resp.StatusCode, body: body}
	}
	return body, nil
}

func (c *Client) getJSON(ctx context.Context, path string, into any) error {
	body, err := c.get(ctx, path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// errorExcerpt is what an error answer says, in one short line: the
// "message" (else "error") of a Spring Boot error body, else the start
// of the body.
func errorExcerpt(body []byte) string {
	var spring struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &spring) == nil {
		if spring.Message != "" {
			return excerpt([]byte(spring.Message))
		}
		if spring.Error != "" {
			return excerpt([]byte(spring.Error))
		}
	}
	return excerpt(body)
}

// excerpt is b on one line, cut to maxExcerpt characters.
func excerpt(b []byte) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "?")), " ")
	if utf8.RuneCountInString(s) <= maxExcerpt {
		return s
	}
	r := []rune(s)
	return string(r[:maxExcerpt-1]) + "…"
}
