// Package docker implements containers.Engine over the Docker Engine API.
package docker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/docker/docker/client"
	"github.com/docker/go-connections/tlsconfig"

	"mfbot/containers"
)

// Options configures the connection to one engine.
type Options struct {
	// Host is the engine address (unix://, tcp://, ssh:// ...); "" takes
	// DOCKER_HOST and the local socket, like the docker CLI.
	Host string
	// TLS, when set, is the client side of a TLS connection to a tcp://
	// engine; nil leaves TLS to DOCKER_CERT_PATH and DOCKER_TLS_VERIFY.
	TLS *TLS
	// DialTimeout bounds connection establishment so that an engine that
	// does not answer gives a clear error quickly instead of a hang.
	DialTimeout time.Duration
}

// TLS is a TLS client configuration read from files (PEM).
type TLS struct {
	CA, Cert, Key string // file paths; CA "" = the system's roots, Cert and Key "" = no client certificate
	// SkipVerify accepts any engine certificate (verify: false): the
	// connection is encrypted, not authenticated.
	SkipVerify bool
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
	host := opts.Host
	if host == "" {
		host = os.Getenv(client.EnvOverrideHost)
	}
	if host == "" {
		host = client.DefaultDockerHost
	}
	var tlsConfig *tls.Config
	if opts.TLS != nil {
		if !strings.HasPrefix(host, "tcp://") {
			return nil, fmt.Errorf("configure Docker client: TLS needs a tcp:// host, not %s", host)
		}
		cfg, err := tlsconfig.Client(tlsconfig.Options{CAFile: opts.TLS.CA, CertFile: opts.TLS.Cert, KeyFile: opts.TLS.Key,
			InsecureSkipVerify: opts.TLS.SkipVerify, ExclusiveRootPools: true})
		if err != nil {
			return nil, fmt.Errorf("configure Docker client: TLS files of %s: %w", host, err)
		}
		tlsConfig = cfg
	}
	// The client's transport is this package's own: the client wraps the
	// transport it is given (tracing) so it cannot be reached afterwards,
	// and the dial timeout and the TLS configuration must be set on it.
	transport := &http.Transport{}
	configure := func(*client.Client) error {
		if tlsConfig != nil {
			transport.TLSClientConfig = tlsConfig
		}
		// Bound the dial of whatever transport WithHost chose (unix, tcp)
		// so that an engine that does not answer fails fast.
		if dial, timeout := transport.DialContext, opts.DialTimeout; dial != nil {
			transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				ctx, cancel := context.WithTimeout(ctx, timeout)
				defer cancel()
				return dial(ctx, network, addr)
			}
		}
		return nil
	}
	api, err := client.NewClientWithOpts(
		client.WithHTTPClient(&http.Client{Transport: transport, CheckRedirect: client.CheckRedirect}),
		client.WithHost(host), client.WithTLSClientConfigFromEnv(), client.WithVersionFromEnv(),
		client.WithAPIVersionNegotiation(), configure)
	if err != nil {
		return nil, fmt.Errorf("configure Docker client for %s: %w", host, err)
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
// into a sentence an operator can act on. An engine that cannot be used
// at all (no answer, or TLS refused) is containers.ErrUnreachable.
func (e *Engine) wrap(doing string, err error) error {
	if err == nil {
		return nil
	}
	if problem := tlsProblem(err); problem != "" {
		return &unreachableError{msg: fmt.Sprintf("%s: Docker engine at %s: %s: %v", doing, e.host, problem, err), err: err}
	}
	if client.IsErrConnectionFailed(err) || isDialError(err) {
		return &unreachableError{msg: fmt.Sprintf("%s: Docker engine at %s is unreachable: %v", doing, e.host, err), err: err}
	}
	if client.IsErrNotFound(err) {
		return fmt.Errorf("%s: %w: %w", doing, containers.ErrNoSuchContainer, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &unreachableError{msg: fmt.Sprintf("%s: Docker engine at %s did not answer in time: %v", doing, e.host, err), err: err}
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// wrapImage is wrap for image operations: a not-found is an image's
// (or a tag's), not a container's.
func (e *Engine) wrapImage(doing string, err error) error {
	if client.IsErrNotFound(err) {
		return fmt.Errorf("%s: %w: %w", doing, containers.ErrNoSuchImage, err)
	}
	return e.wrap(doing, err)
}

// unreachableError is an engine that cannot be used: its text says why,
// and it is both containers.ErrUnreachable and the client's error.
type unreachableError struct {
	msg string
	err error
}

func (u *unreachableError) Error() string   { return u.msg }
func (u *unreachableError) Unwrap() []error { return []error{containers.ErrUnreachable, u.err} }

// tlsProblem says which side of a TLS connection refused the other ("":
// not a TLS failure): the client errors say "x509" or "remote error" and
// leave the operator to guess which file is wrong.
func tlsProblem(err error) string {
	var verify *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	if errors.As(err, &verify) || errors.As(err, &unknownCA) || errors.As(err, &hostname) {
		return "its certificate is not trusted (signed by docker_tls.ca, for this host name?)"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" {
		return "it refused the TLS connection (is docker_tls.cert signed by the CA the engine trusts, with its key?)"
	}
	var header tls.RecordHeaderError
	if errors.As(err, &header) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return "it does not speak TLS (remove docker_tls, or use the engine's TLS port)"
	}
	return ""
}

func isDialError(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}
