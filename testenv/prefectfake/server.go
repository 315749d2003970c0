package prefectfake

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server serves a World over HTTP: Prefect 1's GraphQL at /graphql (and
// /), Prefect 3's REST under /api. Down and Up stop and restart it on the
// same address, for "Prefect unreachable" tests.
type Server struct {
	World *World
	// SchemaDir is where the schema files are (../shared/prefect).
	SchemaDir string
	// Logf, when set, logs every request that did not validate.
	Logf func(format string, args ...any)

	mu       sync.Mutex
	addr     string
	listener net.Listener
	srv      *http.Server
	handler  http.Handler
	// auth, when set, is required on every request as the Authorization header.
	auth string
}

// Start starts a fake on 127.0.0.1 with the schema files of schemaDir,
// and stops it when the test ends. Without the schema files the test
// fails: they are the contract the fake checks.
func Start(t testing.TB) *Server {
	t.Helper()
	dir, err := FindSchemaDir()
	if err != nil {
		t.Fatalf("Prefect fake not started: %v", err)
	}
	s, err := New(dir)
	if err != nil {
		t.Fatalf("Prefect fake: %v", err)
	}
	s.Logf = t.Logf
	if err := s.Up(); err != nil {
		t.Fatalf("Prefect fake: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// New builds a fake over a new World, validating against the schema files
// of dir; it does not listen yet (Up).
func New(dir string) (*Server, error) {
	s := &Server{World: NewWorld(), SchemaDir: dir}
	gql, err := graphqlHandler(s)
	if err != nil {
		return nil, err
	}
	rest, err := restHandler(s)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", rest)
	mux.Handle("/graphql", gql)
	mux.Handle("/", gql)
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		auth := s.auth
		s.mu.Unlock()
		if auth != "" && r.Header.Get("Authorization") != auth {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"exception_message":"Unauthorized"}`))
			return
		}
		mux.ServeHTTP(w, r)
	})
	return s, nil
}

// RequireAuthorization makes every request need that Authorization header
// ("Basic …" for PREFECT_SERVER_API_AUTH_STRING, "Bearer …" for Cloud);
// "" = none.
func (s *Server) RequireAuthorization(header string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.auth = header
}

// Handler is the fake's HTTP handler (for in-process benchmarks).
func (s *Server) Handler() http.Handler { return s.handler }

// Up listens (again, on the same address after Down).
func (s *Server) Up() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener != nil {
		return nil
	}
	addr := s.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var l net.Listener
	var err error
	// The port of a closed listener may take a moment to be free again.
	for i := 0; i < 50; i++ {
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	s.addr, s.listener = l.Addr().String(), l
	s.srv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	srv := s.srv
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) && s.Logf != nil {
			s.Logf("prefectfake: %v", err)
		}
	}()
	return nil
}

// Down stops listening: clients get "connection refused" until Up.
func (s *Server) Down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Close()
	}
	s.srv, s.listener = nil, nil
}

// Close stops the fake.
func (s *Server) Close() { s.Down() }

// URL is the fake's base URL (http://127.0.0.1:port).
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "http://" + s.addr
}

// GraphQLURL is the Prefect 1 API URL (…/graphql).
func (s *Server) GraphQLURL() string { return s.URL() + "/graphql" }

// RESTURL is the Prefect 3 API URL (…/api).
func (s *Server) RESTURL() string { return s.URL() + "/api" }

func (s *Server) reject(what string) {
	s.World.Reject(what)
	if s.Logf != nil {
		s.Logf("prefectfake: invalid request: %s", strings.TrimSpace(what))
	}
}
