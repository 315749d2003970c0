// Package docker implements containers.Engine over the Docker Engine API.
package docker

import (
	"context"
	"errors"
	"fmt"
	"mfbot/containers"
	"net"
	"net/http"
	"time"

	"github.com/docker/docker/client"
)

// Options configures the connection to one engine.
type Options struct {
	// Host is the engine address (unix://, tcp://, ssh:// ...); "" takes
	// DOCKER_HOST and the local socket, like the docker CLI.
	Host string
	// TLS paths; empty CAPath means no client TLS configured here
	// (DOCKER_CERT_PATH still applies through the environment).
	CAPath, CertPath, KeyPath string
	// DialTimeout bounds connection establishment so that an engine that
	// does not answer gives a clear error quickly instead of a hang.
	DialTimeout time.Duration
}

// Engine is a containers.Engine backed by one Docker engine.
type Engine struct {
	api  *client.Client
	host string
}

var _ containers.Engine = (*Engine)(nil)

// New connects lazily to an engine: no request is made until the first call.
// The API version is negotiated because production engines (29+) refuse
// versions below 1.44 while older ones (20.10 speaks 1.41) refuse newer ones.
func New(opts Options) (*Engine, error) {
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 3 * time.Second
	}
	clientOpts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if opts.Host != "" {
		clientOpts = append(clientOpts, client.WithHost(opts.Host))
	}
	if opts.CAPath != "" || opts.CertPath != "" {
		clientOpts = append(clientOpts, client.WithTLSClientConfig(opts.CAPath, opts.CertPath, opts.KeyPath))
	}
	api, err := client.NewClientWithOpts(clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("configure Docker client: %w", err)
	}
	// Bound the dial of whatever transport the client chose (unix, tcp,
	// TLS, ssh) so that an engine that does not answer fails fast.
	if transport, ok := api.HTTPClient().Transport.(*http.Transport); ok && transport.DialContext != nil {
		dial, timeout := transport.DialContext, opts.DialTimeout
		transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			return dial(ctx, network, addr)
		}
	}
	return &Engine{api: api, host: api.DaemonHost()}, nil
}

// Host is the engine address in use.
func (e *Engine) Host() string { return e.host }

// Close releases the client's idle connections.
func (e *Engine) Close() error { return e.api.Close() }

// Ping checks that the engine answers.
func (e *Engine) Ping(ctx context.Context) error {
	if _, err := e.api.Ping(ctx); err != nil {
		return e.wrap("reach the Docker engine", err)
	}
	return nil
}

// wrap names what was being done and turns the client's connection errors
// into a sentence an operator can act on.
func (e *Engine) wrap(doing string, err error) error {
	if err == nil {
		return nil
	}
	if client.IsErrConnectionFailed(err) || isDialError(err) {
		return fmt.Errorf("%s: Docker engine at %s is unreachable: %w", doing, e.host, err)
	}
	if client.IsErrNotFound(err) {
		return fmt.Errorf("%s: %w: %w", doing, containers.ErrNoSuchContainer, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: Docker engine at %s did not answer in time: %w", doing, e.host, err)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

func isDialError(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}
