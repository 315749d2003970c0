package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheckAsksHealthz(t *testing.T) {
	healthy := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		if !healthy {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"ok":false}`))
			return
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	// The image listens on 0.0.0.0: the probe goes to the loopback.
	t.Setenv("MFBOT_HTTP_ADDR", "0.0.0.0:"+port)
	var out, errs bytes.Buffer
	if code := runHealthcheck(context.Background(), &out, &errs); code != 0 || !strings.Contains(out.String(), `"ok":true`) {
		t.Errorf("healthy: exit %d, %q %q", code, out.String(), errs.String())
	}
	healthy = false
	out.Reset()
	if code := runHealthcheck(context.Background(), &out, &errs); code == 0 || !strings.Contains(errs.String(), "HTTP 503") {
		t.Errorf("unhealthy: exit %d, %q", code, errs.String())
	}
	srv.Close()
	errs.Reset()
	if code := runHealthcheck(context.Background(), &out, &errs); code == 0 || !strings.Contains(errs.String(), "does not answer") {
		t.Errorf("nothing listening: exit %d, %q", code, errs.String())
	}
	for in, want := range map[string]string{"": "127.0.0.1:8090", "0.0.0.0:9000": "127.0.0.1:9000", ":9000": "127.0.0.1:9000", "10.0.0.2:80": "10.0.0.2:80", "[::]:80": "127.0.0.1:80"} {
		if got := probeAddr(in); got != want {
			t.Errorf("probeAddr(%q) = %q, want %q", in, got, want)
		}
	}
}
