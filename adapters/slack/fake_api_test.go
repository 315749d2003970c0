package slack

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAPI is a minimal Slack Web API for this package's tests: it records
// every request and answers with per-method handlers (ok:true by default).
type fakeAPI struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	calls    []apiCall
	counts   map[string]int
	handlers map[string]apiHandler
}

type apiCall struct {
	Method string
	Form   url.Values
	Header http.Header
	File   []byte // multipart "file" part (upload URL)
	At     time.Time
}

// apiHandler answers the n-th (1-based) call of a method.
type apiHandler func(w http.ResponseWriter, c apiCall, n int)

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t, counts: map[string]int{}, handlers: map[string]apiHandler{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	c := apiCall{Method: strings.TrimPrefix(r.URL.Path, "/api/"), Header: r.Header.Clone(), At: time.Now()}
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if p.FormName() == "file" {
				c.File, _ = io.ReadAll(p)
			}
		}
	default:
		_ = r.ParseForm()
		c.Form = r.Form
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.counts[c.Method]++
	n := f.counts[c.Method]
	h := f.handlers[c.Method]
	f.mu.Unlock()
	if h == nil {
		h = defaultHandler
	}
	h(w, c, n)
}

func defaultHandler(w http.ResponseWriter, c apiCall, n int) {
	switch c.Method {
	case "chat.postMessage", "chat.update":
		writeJSON(w, map[string]any{"ok": true, "channel": c.Form.Get("channel"), "ts": fmt.Sprintf("1700000000.%06d", n)})
	case "chat.postEphemeral":
		writeJSON(w, map[string]any{"ok": true, "message_ts": "1700000000.999999"})
	default:
		writeJSON(w, map[string]any{"ok": true})
	}
}

func (f *fakeAPI) handle(method string, h apiHandler) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers[method] = h
}

func (f *fakeAPI) callsTo(method string) []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apiCall
	for _, c := range f.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeAPI) methods() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, c.Method)
	}
	return out
}

// client returns a Client on the fake, with fast retries.
func (f *fakeAPI) client(opts ClientOptions) *Client {
	if opts.RetryBackoff == 0 {
		opts.RetryBackoff = 10 * time.Millisecond
	}
	if opts.PerChannelInterval == 0 {
		opts.PerChannelInterval = -1
	}
	return NewClient("xoxb-test-token", f.srv.URL+"/api", opts)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func slackError(code string) apiHandler {
	return func(w http.ResponseWriter, _ apiCall, _ int) {
		writeJSON(w, map[string]any{"ok": false, "error": code})
	}
}
