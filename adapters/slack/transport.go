package slack

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// defaultRetryAfter is the wait after a 429 that gives no usable
// Retry-After.
const defaultRetryAfter = 1 * time.Second

// retryAfterTransport makes every 429 carry a Retry-After in whole
// seconds. slack-go turns a 429 into *slack.RateLimitedError only when the
// header is a number; a missing header gives a StatusCodeError and an HTTP
// date gives a bare strconv error, losing the fact that it was a 429.
type retryAfterTransport struct{ next http.RoundTripper }

func (t retryAfterTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		return resp, err
	}
	resp.Header.Set("Retry-After", strconv.Itoa(retryAfterSeconds(resp.Header.Get("Retry-After"), time.Now())))
	return resp, nil
}

// retryAfterSeconds reads a Retry-After header (seconds or HTTP date) as
// whole seconds, at least 1.
func retryAfterSeconds(v string, now time.Time) int {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return int(max(1, min(n, math.MaxInt32)))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(1, int(math.Ceil(t.Sub(now).Seconds())))
	}
	return int(defaultRetryAfter / time.Second)
}
