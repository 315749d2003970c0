package docker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mfbot/containers"
	"mfbot/testenv/tlscerts"
)

// tlsEngine is an HTTPS server that answers the Docker API's /_ping and
// requires a client certificate signed by the CA of files, like dockerd
// --tlsverify.
func tlsEngine(t *testing.T, files tlscerts.Files) string {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(files.ServerCert, files.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(files.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		w.Write([]byte("OK"))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return "tcp://" + srv.Listener.Addr().String()
}

func writeCerts(t *testing.T) tlscerts.Files {
	t.Helper()
	files, err := tlscerts.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func ping(t *testing.T, host string, opts *TLS) error {
	t.Helper()
	e, err := New(Options{Host: host, TLS: opts})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return e.Ping(ctx)
}

// A TLS engine is reached with the CA, certificate and key of the
// configuration; each way it can go wrong says which file to look at, and
// counts as the engine unreachable (the watcher's engine incident).
func TestTLSEngine(t *testing.T) {
	good, other := writeCerts(t), writeCerts(t)
	host := tlsEngine(t, good)
	if err := ping(t, host, &TLS{CA: good.CA, Cert: good.ClientCert, Key: good.ClientKey}); err != nil {
		t.Fatalf("the right files: %v", err)
	}
	for _, tc := range []struct {
		name string
		tls  *TLS
		want string
	}{
		{"a client certificate of another CA", &TLS{CA: good.CA, Cert: other.ClientCert, Key: other.ClientKey}, "refused the TLS connection (is docker_tls.cert signed by the CA the engine trusts"},
		{"no client certificate", &TLS{CA: good.CA}, "refused the TLS connection"},
		{"the engine's certificate not signed by the CA", &TLS{CA: other.CA, Cert: good.ClientCert, Key: good.ClientKey}, "its certificate is not trusted"},
	} {
		err := ping(t, host, tc.tls)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), host) || !errors.Is(err, containers.ErrUnreachable) {
			t.Errorf("%s: %v, want %q about %s, unreachable", tc.name, err, tc.want, host)
		}
	}
	// verify: false accepts any engine certificate (the engine still
	// checks mfbot's).
	if err := ping(t, host, &TLS{CA: other.CA, Cert: good.ClientCert, Key: good.ClientKey, SkipVerify: true}); err != nil {
		t.Errorf("verify false: %v", err)
	}

	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	if err := ping(t, "tcp://"+plain.Listener.Addr().String(), &TLS{CA: good.CA, Cert: good.ClientCert, Key: good.ClientKey}); err == nil || !strings.Contains(err.Error(), "does not speak TLS") {
		t.Errorf("TLS to a plain HTTP engine: %v", err)
	}
}

// Files that cannot be read fail at start, naming the file; TLS needs a
// tcp:// host.
func TestTLSFilesChecked(t *testing.T) {
	good := writeCerts(t)
	missing := filepath.Join(t.TempDir(), "nope", "ca.pem")
	_, err := New(Options{Host: "tcp://127.0.0.1:2376", TLS: &TLS{CA: missing, Cert: good.ClientCert, Key: good.ClientKey}})
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "tcp://127.0.0.1:2376") {
		t.Errorf("missing CA: %v", err)
	}
	_, err = New(Options{Host: "tcp://127.0.0.1:2376", TLS: &TLS{CA: good.CA, Cert: good.ClientCert, Key: good.CA}})
	if err == nil || !strings.Contains(err.Error(), "key pair") {
		t.Errorf("a key that is no key: %v", err)
	}
	if _, err = New(Options{Host: "unix:///var/run/docker.sock", TLS: &TLS{CA: good.CA}}); err == nil || !strings.Contains(err.Error(), "tcp://") {
		t.Errorf("TLS on a unix socket: %v", err)
	}
}

// The dial of an engine that does not answer is bounded by DialTimeout
// (the client wraps its transport: the bound must be set before).
func TestDialTimeoutBounds(t *testing.T) {
	e, err := New(Options{Host: "tcp://" + silentAddr(t), DialTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	start := time.Now()
	err = e.Ping(context.Background())
	if err == nil || !errors.Is(err, containers.ErrUnreachable) {
		t.Fatalf("Ping: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the dial took %s, bound 200ms: %v", took, err)
	}
}

// silentAddr is a loopback address whose connections are never accepted:
// a socket listening with a backlog of 0 whose one pending slot is taken,
// so the kernel drops further SYNs and a dial hangs.
func silentAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := (&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*syscall.SockaddrInet4).Port}).String()
	first, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.Close() })
	return addr
}
