package registry

import (
	"context"
	"encoding/base64"
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
	// login, when set, is what the token endpoint wants as basic auth (a
	// private ghcr.io package: user name and personal access token);
	// without it, or with other credentials, no token.
	login *Login
}

func newGHCRLike(t *testing.T, repo string, tags []string) *ghcrLike {
	g := &ghcrLike{repo: repo, tags: tags}
	const token = "anon-token-1"
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		user, pass, hasBasic := r.BasicAuth()
		wrongLogin := g.login != nil && (!hasBasic || user != g.login.Username || pass != g.login.Password)
		if r.URL.Query().Get("scope") != "repository:"+g.repo+":pull" || g.private || wrongLogin {
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

func TestTagsWithALoginToTheTokenEndpoint(t *testing.T) {
	tags := []string{"v1.54.0", "v1.55.0"}
	g := newGHCRLike(t, "mtes-mct/monitorfish/monitorfish-app", tags)
	g.login = &Login{Username: "mfbot", Password: "ghp_S3cr3tT0ken"}
	repo := g.host() + "/mtes-mct/monitorfish/monitorfish-app"

	client := Client{Logins: map[string]Login{g.host(): *g.login}}
	got, err := client.Tags(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, tags) || g.tokens.Load() == 0 {
		t.Errorf("tags %v (tokens %d), want %v through a token", got, g.tokens.Load(), tags)
	}

	for name, client := range map[string]Client{
		"no login":        {},
		"wrong password":  {Logins: map[string]Login{g.host(): {Username: "mfbot", Password: "ghp_wrong"}}},
		"another host's":  {Logins: map[string]Login{"ghcr.io": *g.login}},
		"wrong user name": {Logins: map[string]Login{g.host(): {Username: "other", Password: g.login.Password}}},
	} {
		_, err := client.Tags(context.Background(), repo)
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%s: %v, want ErrRefused", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "S3cr3t") {
			t.Errorf("%s: the error shows the password: %v", name, err)
		}
	}
}

// basicOnly answers like a self-hosted registry behind basic auth: every
// /v2/ request without the right credentials gets a 401 with
// `WWW-Authenticate: Basic realm=…`, and no token endpoint exists.
func newBasicOnly(t *testing.T, repo string, tags []string, login Login) (*httptest.Server, *atomic.Int32) {
	var authorized atomic.Int32
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(login.Username+":"+login.Password))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want {
			w.Header().Set("WWW-Authenticate", `Basic realm="Registry Realm"`)
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		authorized.Add(1)
		switch r.URL.Path {
		case "/v2/":
		case "/v2/" + repo + "/tags/list":
			json.NewEncoder(w).Encode(map[string]any{"name": repo, "tags": tags})
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &authorized
}

func TestTagsWithBasicAuth(t *testing.T) {
	tags := []string{"v1.54.0", "latest"}
	login := Login{Username: "deploy", Password: "Pa55w0rd"}
	srv, authorized := newBasicOnly(t, "monitorfish/monitorfish-app", tags, login)
	host := strings.TrimPrefix(srv.URL, "http://")
	repo := host + "/monitorfish/monitorfish-app"

	got, err := Client{Logins: map[string]Login{host: login}}.Tags(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, tags) || authorized.Load() == 0 {
		t.Errorf("tags %v (authorized requests %d), want %v", got, authorized.Load(), tags)
	}

	for name, client := range map[string]Client{
		"no login":       {},
		"wrong password": {Logins: map[string]Login{host: {Username: "deploy", Password: "wrong"}}},
	} {
		_, err := client.Tags(context.Background(), repo)
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%s: %v, want ErrRefused", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "Pa55w0rd") {
			t.Errorf("%s: the error shows the password: %v", name, err)
		}
	}
}

func TestLoginMatchesTheHost(t *testing.T) {
	ghcr := Login{Username: "a", Password: "p1"}
	hub := Login{Username: "b", Password: "p2"}
	local := Login{Username: "c", Password: "p3"}
	c := Client{Logins: map[string]Login{"GHCR.io": ghcr, "docker.io": hub, "127.0.0.1:5000": local}}
	for host, want := range map[string]Login{"ghcr.io": ghcr, "index.docker.io": hub, "docker.io": hub, "127.0.0.1:5000": local} {
		if got, ok := c.Login(host); !ok || got != want {
			t.Errorf("Login(%q) = %v, %v; want %v", host, got, ok, want)
		}
	}
	for _, host := range []string{"127.0.0.1:5001", "registry.example.fr", ""} {
		if got, ok := c.Login(host); ok {
			t.Errorf("Login(%q) = %v, want none", host, got)
		}
	}
	if s := fmt.Sprintf("%v %+v %#v", ghcr, ghcr, ghcr); strings.Contains(s, "p1") {
		t.Errorf("a Login prints its password: %s", s)
	}
}
