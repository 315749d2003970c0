package monitorfish

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/version" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, `{"version":"1.2.3","commit":"abc123"}`)
	}))
	defer srv.Close()
	v, err := New(srv.URL+"/", 0).Version(context.Background())
	if err != nil || v["version"] != "1.2.3" || v["commit"] != "abc123" {
		t.Fatalf("version = %v, %v", v, err)
	}
}

func TestVersionErrors(t *testing.T) {
	for name, handler := range map[string]http.HandlerFunc{
		"HTTP 500": func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) },
		"decode":   func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>") },
	} {
		srv := httptest.NewServer(handler)
		_, err := New(srv.URL, 0).Version(context.Background())
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
