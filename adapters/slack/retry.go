package slack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/slack-go/slack"
)

// IsFatalAuthError reports an error that no retry will cure: the token is
// wrong, revoked or expired, or the app was uninstalled. The process
// should say so and stop using Slack. missing_scope is not fatal: one
// feature lacks a scope, the rest of the bot works.
func IsFatalAuthError(err error) bool {
	switch slackErrorCode(err) {
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
		"not_allowed_token_type", "ekm_access_denied", "team_access_not_granted":
		return true
	}
	return false
}

// ErrorCode is the "error" of a Web API answer with ok=false
// ("message_not_found", "channel_not_found" ...), or "".
func ErrorCode(err error) string { return slackErrorCode(err) }

// IsRetryable reports an error that calling again later may cure: a rate
// limit, a 5xx, a timeout or a connection error (Slack down or
// unreachable), as opposed to an answer refusing the call itself.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	kind, _ := classify(err)
	return kind != permanent
}

// slackErrorCode is the "error" of a Web API answer with ok=false, or "".
func slackErrorCode(err error) string {
	var e slack.SlackErrorResponse
	if errors.As(err, &e) {
		return e.Err
	}
	var p *slack.SlackErrorResponse
	if errors.As(err, &p) && p != nil {
		return p.Err
	}
	return ""
}

// errorKind says what to do after a failed call.
type errorKind int

const (
	permanent   errorKind = iota // return the error
	rateLimited                  // wait and call again, however many times
	transient                    // call again with backoff, for a bounded time
)

// classify sorts a failed call; wait is the Retry-After of a 429.
func classify(err error) (kind errorKind, wait time.Duration) {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return rateLimited, max(rl.RetryAfter, defaultRetryAfter)
	}
	switch code := slackErrorCode(err); code {
	case "":
	case "ratelimited", "rate_limited":
		return rateLimited, defaultRetryAfter
	case "internal_error", "fatal_error", "service_unavailable", "request_timeout":
		return transient, 0
	default:
		return permanent, 0
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		switch {
		case sc.Code == http.StatusTooManyRequests:
			return rateLimited, defaultRetryAfter
		case sc.Code >= 500, sc.Code == http.StatusRequestTimeout:
			return transient, 0
		}
		return permanent, 0
	}
	var netErr net.Error
	var opErr *net.OpError
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &netErr) && netErr.Timeout(),
		errors.As(err, &opErr), errors.As(err, &dnsErr),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return transient, 0
	}
	return permanent, 0
}

// call runs one Web API request until it succeeds or fails for good:
//   - 429: wait its Retry-After (every caller of that method waits) and call
//     again, however many times, until ctx is done;
//   - 5xx, connection errors, timeouts: call again with capped exponential
//     backoff until RetryFor has passed since the first attempt;
//   - anything else, fatal auth errors included: return at once.
func (c *Client) call(ctx context.Context, method string, fn func(context.Context) error) error {
	return c.callFor(ctx, method, c.opts.RetryFor, fn)
}

func (c *Client) callFor(ctx context.Context, method string, retryFor time.Duration, fn func(context.Context) error) error {
	deadline := time.Now().Add(retryFor)
	backoff := c.opts.RetryBackoff
	for attempt := 1; ; attempt++ {
		if err := c.gate.wait(ctx, method); err != nil {
			return fmt.Errorf("slack %s: %w", method, err)
		}
		start := time.Now()
		err := fn(ctx)
		took := time.Since(start)
		c.opts.Metrics.call(method, took, err, ctx.Err())
		if c.opts.OnCall != nil {
			c.opts.OnCall(method, took, err)
		}
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("slack %s: %w", method, err)
		}
		kind, wait := classify(err)
		switch kind {
		case rateLimited:
			c.log.Warn("slack rate limited", "method", method, "retry_after", wait, "attempt", attempt)
			if c.opts.OnRateLimited != nil {
				c.opts.OnRateLimited(method, wait)
			}
			c.gate.block(method, wait)
			continue
		case transient:
			if retryFor <= 0 || time.Now().Add(backoff).After(deadline) {
				return fmt.Errorf("slack %s: %w (gave up after %d attempts)", method, err, attempt)
			}
			c.log.Warn("slack call failed, retrying", "method", method, "err", err, "attempt", attempt, "backoff", backoff)
			if err := sleep(ctx, backoff); err != nil {
				return fmt.Errorf("slack %s: %w", method, err)
			}
			backoff = min(2*backoff, c.opts.RetryBackoffMax)
		default:
			return fmt.Errorf("slack %s: %w", method, err)
		}
	}
}
