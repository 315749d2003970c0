package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// ghcrLike answers like ghcr.io: /v2/ wants a bearer token that /token
// gives anonymously for the pull scope of a public repository, and the
// tag list comes in pages of n with a Link header.
type ghcrLike struct {
	srv     *httptest.Server
	repo    string
	tags    []string
	tokens  atomic.Int32
	private bool
}

func newGHCRLike(t *testing.T, repo string, tags []string) *ghcrLike {
	g := &ghcrLike{repo: repo, tags: tags}
	const token = "anon-token-1"
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("scope") != "repository:"+g.repo+":pull" || g.private {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		g.tokens.Add(1)
		json.NewEncoder(w).Encode(map[string]string{"token": token})
	})
	challenge := func(w http.ResponseWriter, scope string) {
		v := fmt.Sprintf(`Bearer realm="%s/token",service="ghcr-like"`, g.srv.URL)
		if scope != "" {
			v += `,scope="` + scope + `"`
		}
		w.Header().Set("WWW-Authenticate", v)
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
	}
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			scope := ""
			if r.URL.Path != "/v2/" {
				scope = "repository:" + g.repo + ":pull"
			}
			challenge(w, scope)
			return
		}
		if r.URL.Path == "/v2/" {
			return
		}
		if r.URL.Path != "/v2/"+g.repo+"/tags/list" {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}`)
			return
		}
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if n <= 0 || n > 3 {
			n = 3 // small pages: the pagination is exercised
		}
		start := 0
		if last := r.URL.Query().Get("last"); last != "" {
			start = slices.Index(g.tags, last) + 1
		}
		end := min(start+n, len(g.tags))
		if end < len(g.tags) {
			w.Header().Set("Link", fmt.Sprintf(`</v2/%s/tags/list?n=%d&last=%s>; rel="next"`, g.repo, n, g.tags[end-1]))
		}
		json.NewEncoder(w).Encode(map[string]any{"name": g.repo, "tags": g.tags[start:end]})
	})
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *ghcrLike) host() string { return strings.TrimPrefix(g.srv.URL, "http://") }

func TestTagsThroughTheTokenFlowAndPages(t *testing.T) {
	tags := []string{"v1.52.0", "v1.53.0", "v1.53.1", "v1.54.0", "latest", "v1.9.0", "pr-123"}
	g := newGHCRLike(t, "mtes-mct/monitorfish/monitorfish-app", tags)
	got, err := Client{}.Tags(context.Background(), g.host()+"/mtes-mct/monitorfish/monitorfish-app")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, tags) {
		t.Errorf("tags %v, want %v (every page)", got, tags)
	}
	if g.tokens.Load() == 0 {
		t.Error("no token asked: the bearer flow was not exercised")
	}
}

func TestTagsErrors(t *testing.T) {
	g := newGHCRLike(t, "org/app", []string{"v1"})
	if _, err := (Client{}).Tags(context.Background(), g.host()+"/org/other"); !errors.Is(err, ErrRefused) && !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown repository: %v, want refused or not found", err)
	}
	g.private = true
	if _, err := (Client{}).Tags(context.Background(), g.host()+"/org/app"); !errors.Is(err, ErrRefused) {
		t.Errorf("private repository: %v, want ErrRefused", err)
	}
	g.srv.Close()
	if _, err := (Client{}).Tags(context.Background(), g.host()+"/org/app"); !errors.Is(err, ErrUnreachable) {
		t.Errorf("registry down: %v, want ErrUnreachable", err)
	}
	if _, err := (Client{}).Tags(context.Background(), "Not A Repo!"); err == nil || errors.Is(err, ErrUnreachable) {
		t.Errorf("bad name: %v", err)
	}
}
