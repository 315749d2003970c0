// Package registry reads image repositories from their registry with the
// Registry HTTP API v2 (github.com/google/go-containerregistry): the tags
// of a repository, following the `Link: <…>; rel="next"` pages, with the
// anonymous bearer-token flow that ghcr.io and Docker Hub use for public
// images (a 401 with `WWW-Authenticate: Bearer realm=…`, a token, the
// request again). Registries on the loopback (a local registry) are spoken
// to over plain HTTP.
package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Errors of Tags, for the caller to say what to do.
var (
	// ErrNotFound: the registry does not know the repository.
	ErrNotFound = errors.New("repository not found")
	// ErrRefused: the registry refused mfbot (a private repository).
	ErrRefused = errors.New("the registry refused to list the repository")
	// ErrUnreachable: no answer, or not a registry's.
	ErrUnreachable = errors.New("registry unreachable")
)

// DefaultTimeout bounds one listing (all its pages and the token).
const DefaultTimeout = 20 * time.Second

// Client lists tags. The zero value is ready to use.
type Client struct {
	// Timeout bounds one listing (default DefaultTimeout).
	Timeout time.Duration
	// Transport, if set, carries the requests (tests).
	Transport http.RoundTripper
}

// Tags returns the tags of repository ("ghcr.io/mtes-mct/monitorfish/monitorfish-app",
// "127.0.0.1:5000/monitorfish-app"), in the registry's order.
func (c Client) Tags(ctx context.Context, repository string) ([]string, error) {
	repo, err := name.NewRepository(repository)
	if err != nil {
		return nil, fmt.Errorf("list the tags of %q: not a repository name: %w", repository, err)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(authn.Anonymous), remote.WithUserAgent("mfbot")}
	if c.Transport != nil {
		opts = append(opts, remote.WithTransport(c.Transport))
	}
	tags, err := remote.List(repo, opts...)
	if err != nil {
		return nil, fmt.Errorf("list the tags of %s: %w", repo.Name(), classify(err))
	}
	return tags, nil
}

// classify wraps err with the kind of failure it is.
func classify(err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch {
		case terr.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%w (%s)", ErrNotFound, diagnostic(terr))
		case terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden:
			return fmt.Errorf("%w (%s)", ErrRefused, diagnostic(terr))
		}
		return fmt.Errorf("%w: HTTP %d (%s)", ErrUnreachable, terr.StatusCode, diagnostic(terr))
	}
	return fmt.Errorf("%w: %v", ErrUnreachable, err)
}

// diagnostic is the registry's own words, without the request URL.
func diagnostic(e *transport.Error) string {
	var msgs []string
	for _, d := range e.Errors {
		msgs = append(msgs, strings.TrimSpace(string(d.Code)+" "+d.Message))
	}
	if len(msgs) == 0 {
		return http.StatusText(e.StatusCode)
	}
	return strings.Join(msgs, "; ")
}
