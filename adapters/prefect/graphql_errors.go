package prefect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	graphql "github.com/hasura/go-graphql-client"

	"mfbot/pipeline"
)

// gqlError is a failed call to Prefect Server 1: what was being done,
// which pipeline error it is, and what Prefect said (the first GraphQL
// error message) or why there was no answer. It never holds credentials:
// neither headers nor the request are kept.
type gqlError struct {
	op     string
	kind   error // pipeline.ErrRefused or pipeline.ErrUnreachable
	detail string
	// resolver: HTTP 200 with errors[] — the document was valid and a
	// resolver refused (a finished run cannot be cancelled …).
	resolver bool
	cause    error
}

func (e *gqlError) Error() string { return e.op + ": " + e.kind.Error() + ": " + e.detail }

func (e *gqlError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.kind}
}

// gqlFailure sorts out what go-graphql-client returned: the server's own
// errors[] in a 200 answer (a resolver refused), an HTTP error status (400
// validation errors carry errors[] too; 5xx and proxy pages mean Prefect
// is not answering), an answer that is not GraphQL JSON, or no answer.
func gqlFailure(ctx context.Context, op string, err error) error {
	var errs graphql.Errors
	if !errors.As(err, &errs) || len(errs) == 0 {
		return &gqlError{op: op, kind: pipeline.ErrUnreachable, detail: err.Error(), cause: err}
	}
	first := errs[0]
	cause := first.Unwrap()
	var status graphql.NetworkError
	switch {
	case cause == nil:
		// Decoded from the answer's errors[]: go-graphql-client only sets
		// a cause on the errors it makes itself.
		return &gqlError{op: op, kind: pipeline.ErrRefused, detail: gqlMessages(errs), resolver: true}
	case errors.As(cause, &status):
		return gqlStatusFailure(op, status.StatusCode(), status.Body())
	case first.Extensions["code"] == graphql.ErrJsonDecode:
		return &gqlError{op: op, kind: pipeline.ErrUnreachable, detail: "the answer is not GraphQL JSON (a proxy page?)"}
	case ctx.Err() != nil:
		return &gqlError{op: op, kind: pipeline.ErrUnreachable, detail: ctx.Err().Error(), cause: ctx.Err()}
	}
	// No answer: the transport's error, without the URL it would quote.
	var urlErr *url.Error
	if errors.As(cause, &urlErr) {
		cause = urlErr.Err
	}
	return &gqlError{op: op, kind: pipeline.ErrUnreachable, detail: cause.Error(), cause: cause}
}

// gqlStatusFailure explains an HTTP error status.
func gqlStatusFailure(op string, status int, body string) error {
	statusText := fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	message := gqlBodyMessage(body)
	if status >= 500 {
		detail := statusText
		if message != "" {
			detail += ": " + message
		}
		return &gqlError{op: op, kind: pipeline.ErrUnreachable, detail: detail}
	}
	switch {
	case status == http.StatusBadRequest && message != "":
		return &gqlError{op: op, kind: pipeline.ErrRefused, detail: "invalid GraphQL request (" + statusText + "): " + message}
	case message != "":
		return &gqlError{op: op, kind: pipeline.ErrRefused, detail: statusText + ": " + message}
	}
	return &gqlError{op: op, kind: pipeline.ErrRefused, detail: statusText}
}

// gqlBodyMessage is the message of an error answer: the first of a
// GraphQL errors[], or a proxy's JSON message; "" for anything else (an
// HTML page is not worth quoting).
func gqlBodyMessage(body string) string {
	var answer struct {
		Errors           []graphql.Error `json:"errors"`
		ExceptionMessage string          `json:"exception_message"`
		Message          string          `json:"message"`
	}
	if json.Unmarshal([]byte(body), &answer) != nil {
		return ""
	}
	switch {
	case len(answer.Errors) > 0:
		return gqlMessages(answer.Errors)
	case answer.ExceptionMessage != "":
		return answer.ExceptionMessage
	}
	return answer.Message
}

// gqlMessages is the first error's message, and how many more there are.
func gqlMessages(errs []graphql.Error) string {
	message := strings.TrimSpace(errs[0].Message)
	if message == "" {
		message = "an error without a message"
	}
	if len(errs) > 1 {
		message += fmt.Sprintf(" (and %d more errors)", len(errs)-1)
	}
	return message
}

// gqlIsResolverRefusal says whether err is a resolver's refusal (HTTP 200
// with errors[]), as opposed to an invalid request or no answer.
func gqlIsResolverRefusal(err error) (*gqlError, bool) {
	var e *gqlError
	if errors.As(err, &e) && e.resolver {
		return e, true
	}
	return nil, false
}
