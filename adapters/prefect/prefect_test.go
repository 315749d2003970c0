package prefect

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestPingGraphQLAndREST(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/graphql":
			body, _ := io.ReadAll(r.Body)
			if !strings.Contains(string(body), "hello") {
				http.Error(w, "bad query", http.StatusBadRequest)
				return
			}
			io.WriteString(w, `{"data":{"hello":"👋"}}`)
		case r.Method == http.MethodGet && r.URL.Path == "/api/health":
			io.WriteString(w, `true`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	if err := Ping(context.Background(), srv.URL+"/graphql", "graphql", time.Second); err != nil {
		t.Errorf("graphql: %v", err)
	}
	if err := Ping(context.Background(), srv.URL+"/api", "rest", time.Second); err != nil {
		t.Errorf("rest: %v", err)
	}
	if err := Ping(context.Background(), srv.URL+"/nope", "rest", time.Second); err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("wrong path: %v", err)
	}
}

func TestPingOfADeadOrHungServerIsBounded(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if err := Ping(context.Background(), "http://"+addr+"/graphql", "graphql", time.Second); err == nil || !strings.Contains(err.Error(), "reach Prefect") {
		t.Errorf("dead server: %v", err)
	}
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then the server notices the client leaving
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer hung.Close()
	start := time.Now()
	if err := Ping(context.Background(), hung.URL+"/graphql", "graphql", 300*time.Millisecond); err == nil {
		t.Error("a hung server answered")
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("waited %s for a hung server", waited)
	}
}
