// Package prefect talks to the Prefect API of one environment: Prefect
// Server 1 over GraphQL, Prefect 2/3 over REST, both behind pipeline.API.
package prefect

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"mfbot/config"
	"mfbot/pipeline"
)

// DefaultTimeout bounds one request to Prefect.
const DefaultTimeout = 10 * time.Second

// Options configure a client of one environment's Prefect.
type Options struct {
	// URL is the API: …/graphql (Prefect 1) or …/api (Prefect 2/3).
	URL string
	// Flavor is config.PrefectGraphQL or config.PrefectREST.
	Flavor string
	// UIURL is the Prefect UI, for links to runs; "" = no links.
	UIURL string
	// BasicAuth is PREFECT_SERVER_API_AUTH_STRING ("user:password"),
	// sent as HTTP basic auth; "" = none.
	BasicAuth string
	// APIKey is a Prefect Cloud key, sent as a bearer token; "" = none.
	APIKey string
	// Timeout bounds each request (default DefaultTimeout).
	Timeout time.Duration
	// Transport is the HTTP transport (default http.DefaultTransport).
	Transport http.RoundTripper
}

// FromConfig gives the options of a configured Prefect.
func FromConfig(p config.Prefect) Options {
	return Options{URL: p.URL, Flavor: p.Flavor, UIURL: p.UIURL, BasicAuth: p.AuthString.Reveal(), APIKey: p.APIKey.Reveal()}
}

// New returns the client of the API's flavor.
func New(o Options) (pipeline.API, error) {
	if o.URL == "" {
		return nil, errors.New("no Prefect API URL")
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	o.URL = strings.TrimRight(o.URL, "/")
	o.UIURL = strings.TrimRight(o.UIURL, "/")
	hc := &http.Client{Timeout: o.Timeout, Transport: authTransport{next: o.Transport, basic: o.BasicAuth, bearer: o.APIKey}}
	switch o.Flavor {
	case config.PrefectGraphQL:
		return newGraphQL(o, hc), nil
	case config.PrefectREST:
		return newREST(o, hc), nil
	}
	return nil, fmt.Errorf("unknown Prefect API flavor %q", o.Flavor)
}

// authTransport adds the configured credentials to every request.
type authTransport struct {
	next          http.RoundTripper
	basic, bearer string
}

func (t authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	if t.basic == "" && t.bearer == "" {
		return next.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	switch {
	case t.bearer != "":
		r.Header.Set("Authorization", "Bearer "+t.bearer)
	default:
		user, password, _ := strings.Cut(t.basic, ":")
		r.SetBasicAuth(user, password)
	}
	return next.RoundTrip(r)
}
