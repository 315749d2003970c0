package prefect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"mfbot/pipeline"
)

// maxAnswer bounds what is read of one answer: 200 flow runs with their
// parameters stay far below it.
const maxAnswer = 32 << 20

// call sends one request to Prefect (body, when not nil, as JSON) and
// decodes its JSON answer into out (nil: the body is not read). It returns
// the HTTP status. Errors say what was being done and wrap
// pipeline.ErrUnreachable, ErrNotFound or ErrRefused; they never carry the
// URL (it may hold credentials) nor the request.
func (c *restClient) call(ctx context.Context, what, method, path string, body, out any) (int, error) {
	var payload io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("%s: encode the request: %w", what, err)
		}
		payload = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, payload)
	if err != nil {
		// The error would quote the URL, credentials included.
		return 0, fmt.Errorf("%s: invalid Prefect API URL", what)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s: %w: %w", what, pipeline.ErrUnreachable, withoutURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s: %w: reading the answer: %w", what, pipeline.ErrUnreachable, withoutURL(err))
	}
	if len(data) > maxAnswer {
		return resp.StatusCode, fmt.Errorf("%s: Prefect's answer is larger than %d MiB", what, maxAnswer>>20)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("%s: %w", what, statusError(resp, data))
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return resp.StatusCode, nil
	}
	if !isJSON(resp) {
		return resp.StatusCode, fmt.Errorf("%s: %w: it answered HTTP %d with %s instead of JSON (is the URL Prefect's API, ending in /api?)",
			what, pipeline.ErrUnreachable, resp.StatusCode, contentType(resp))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return resp.StatusCode, fmt.Errorf("%s: %w: its answer is not what Prefect 3 sends: %v", what, pipeline.ErrUnreachable, err)
	}
	return resp.StatusCode, nil
}

// apiError is every error body Prefect sends: {"detail": "..."} from an
// HTTPException, {"detail": [...]} as its OpenAPI document says,
// {"exception_message": ..., "exception_detail": [...]} for a request that
// does not validate, {"exception_message": "Unauthorized"} from basic auth.
type apiError struct {
	Detail           json.RawMessage    `json:"detail"`
	ExceptionMessage string             `json:"exception_message"`
	ExceptionDetail  []validationDetail `json:"exception_detail"`
}

// validationDetail is one of pydantic's errors: where and what.
type validationDetail struct {
	Loc []any  `json:"loc"`
	Msg string `json:"msg"`
}

func (d validationDetail) String() string {
	loc := make([]string, len(d.Loc))
	for i, part := range d.Loc {
		loc[i] = fmt.Sprint(part)
	}
	if len(loc) == 0 {
		return d.Msg
	}
	return strings.Join(loc, ".") + ": " + d.Msg
}

// message is the first thing the error body explains, "" when none.
func (e apiError) message() string {
	if len(e.ExceptionDetail) > 0 {
		return firstDetail(e.ExceptionDetail)
	}
	var text string
	if json.Unmarshal(e.Detail, &text) == nil && text != "" {
		return text
	}
	var details []validationDetail
	if json.Unmarshal(e.Detail, &details) == nil && len(details) > 0 {
		return firstDetail(details)
	}
	return e.ExceptionMessage
}

func firstDetail(details []validationDetail) string {
	msg := details[0].String()
	if len(details) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(details)-1)
	}
	return msg
}

// statusError turns a non-2xx answer into the pipeline error it means.
func statusError(resp *http.Response, data []byte) error {
	code := resp.StatusCode
	var body apiError
	answered := isJSON(resp) && json.Unmarshal(data, &body) == nil
	msg := body.message()
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return credentialsRefused{code: code, msg: msg}
	case code >= 500 || !answered:
		// A proxy's error page, a gateway timeout, Prefect's own 500.
		if !answered {
			msg = contentType(resp)
		}
		return fmt.Errorf("%w: it answered HTTP %d%s", pipeline.ErrUnreachable, code, suffix(msg))
	case code == http.StatusNotFound && msg == "Not Found":
		// FastAPI's answer for a path that has no route: the URL is wrong.
		return fmt.Errorf("%w: HTTP 404, no such endpoint (is the URL Prefect 3's API, ending in /api?)", pipeline.ErrRefused)
	case code == http.StatusNotFound:
		return fmt.Errorf("%w: %s", pipeline.ErrNotFound, orStatus(msg, code))
	}
	return fmt.Errorf("%w: %s", pipeline.ErrRefused, orStatus(msg, code))
}

// credentialsRefused is a 401 or 403: the configured auth string or API
// key (never quoted) is wrong or missing. It is a pipeline.ErrRefused.
type credentialsRefused struct {
	code int
	msg  string
}

func (e credentialsRefused) Error() string {
	return fmt.Sprintf("Prefect refused mfbot's credentials (HTTP %d%s): check its auth string (PREFECT_SERVER_API_AUTH_STRING) or API key",
		e.code, suffix(e.msg))
}

func (credentialsRefused) Unwrap() error { return pipeline.ErrRefused }

func suffix(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}

func orStatus(msg string, code int) string {
	if msg == "" {
		return fmt.Sprintf("HTTP %d", code)
	}
	return fmt.Sprintf("%s (HTTP %d)", msg, code)
}

func isJSON(resp *http.Response) bool {
	mediaType, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return err == nil && (mediaType == "application/json" || strings.HasSuffix(mediaType, "+json"))
}

func contentType(resp *http.Response) string {
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		mediaType, _, _ := mime.ParseMediaType(ct)
		return "a " + mediaType + " page"
	}
	return "no content type"
}

// withoutURL drops the URL a *url.Error quotes (its user info may hold
// credentials), keeping the cause: "connection refused", a timeout.
func withoutURL(err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err
	}
	return err
}
