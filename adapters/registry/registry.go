// Package registry reads image repositories from their registry with the
// Registry HTTP API v2 (github.com/google/go-containerregistry): the tags
// of a repository, following the `Link: <…>; rel="next"` pages, with the
// anonymous bearer-token flow that ghcr.io and Docker Hub use for public
// images (a 401 with `WWW-Authenticate: Bearer realm=…`, a token, the
// request again). A registry with a login in Client.Logins gets its basic
// credentials: directly when it asks for them (`WWW-Authenticate: Basic`),
// or to the token endpoint, which trades them for a token (a private ghcr.io
// package, with a personal access token as the password). Registries on the
// loopback (a local registry) are spoken to over plain HTTP.
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
	// Logins are the credentials of private registries, by host as
	// name.Repository.RegistryStr() gives it ("ghcr.io",
	// "registry.example.fr:5000", "127.0.0.1:5000"); see Login for how a
	// host is matched. Other registries are read anonymously.
	Logins map[string]Login
}

// Login is basic auth to a registry: a user name and a password (or a
// token used as one, like ghcr.io's personal access tokens).
type Login struct {
	Username, Password string
}

// String hides the password, should a Login be printed or logged.
func (l Login) String() string {
	if l.Password == "" {
		return l.Username
	}
	return l.Username + ":[REDACTED]"
}

// GoString hides the password from %#v too.
func (l Login) GoString() string { return l.String() }

// Login returns the login configured for the registry host, if any. Hosts
// compare without case, and "docker.io" is "index.docker.io" (what
// go-containerregistry names Docker Hub).
func (c Client) Login(host string) (Login, bool) {
	want := registryKey(host)
	if want == "" {
		return Login{}, false
	}
	if login, ok := c.Logins[host]; ok {
		return login, true
	}
	for h, login := range c.Logins {
		if registryKey(h) == want {
			return login, true
		}
	}
	return Login{}, false
}

// registryKey is the form in which two spellings of a registry host compare.
func registryKey(host string) string {
	host = strings.ToLower(strings.TrimSpace(host))
	if host == "" {
		return "" // name.NewRegistry would make it Docker Hub
	}
	if reg, err := name.NewRegistry(host); err == nil {
		return reg.RegistryStr()
	}
	return host
}

// authenticator is the login for the repository's registry, or anonymous.
func (c Client) authenticator(repo name.Repository) authn.Authenticator {
	login, ok := c.Login(repo.RegistryStr())
	if !ok {
		return authn.Anonymous
	}
	return authn.FromConfig(authn.AuthConfig{Username: login.Username, Password: login.Password})
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
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(c.authenticator(repo)), remote.WithUserAgent("mfbot")}
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
