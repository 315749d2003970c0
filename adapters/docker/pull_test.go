package docker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/pkg/jsonmessage"

	"mfbot/containers"
)

// recordedPull is what a 20.10 engine sends for `docker pull` of an image of
// four layers, the first two already there; one Downloading message per
// layer and a pull that ends well.
const recordedPull = `{"status":"Pulling from monitorfish-app","id":"v3"}
{"status":"Already exists","progressDetail":{},"id":"a1a1a1a1a1a1"}
{"status":"Already exists","progressDetail":{},"id":"b2b2b2b2b2b2"}
{"status":"Pulling fs layer","progressDetail":{},"id":"c3c3c3c3c3c3"}
{"status":"Pulling fs layer","progressDetail":{},"id":"d4d4d4d4d4d4"}
{"status":"Waiting","progressDetail":{},"id":"d4d4d4d4d4d4"}
{"status":"Downloading","progressDetail":{"current":1000,"total":4000},"progress":"[============\u003e                                      ]      1kB/4kB","id":"c3c3c3c3c3c3"}
{"status":"Downloading","progressDetail":{"current":3000,"total":4000},"progress":"[=====================================\u003e             ]      3kB/4kB","id":"c3c3c3c3c3c3"}
{"status":"Downloading","progressDetail":{"current":500,"total":6000},"progress":"[====\u003e                                              ]    500B/6kB","id":"d4d4d4d4d4d4"}
{"status":"Verifying Checksum","progressDetail":{},"id":"c3c3c3c3c3c3"}
{"status":"Download complete","progressDetail":{},"id":"c3c3c3c3c3c3"}
{"status":"Extracting","progressDetail":{"current":4000,"total":4000},"progress":"[==================================================\u003e]      4kB/4kB","id":"c3c3c3c3c3c3"}
{"status":"Pull complete","progressDetail":{},"id":"c3c3c3c3c3c3"}
{"status":"Downloading","progressDetail":{"current":6000,"total":6000},"progress":"[==================================================\u003e]      6kB/6kB","id":"d4d4d4d4d4d4"}
{"status":"Verifying Checksum","progressDetail":{},"id":"d4d4d4d4d4d4"}
{"status":"Download complete","progressDetail":{},"id":"d4d4d4d4d4d4"}
{"status":"Extracting","progressDetail":{"current":2000,"total":6000},"progress":"[================\u003e                                  ]      2kB/6kB","id":"d4d4d4d4d4d4"}
{"status":"Extracting","progressDetail":{"current":6000,"total":6000},"progress":"[==================================================\u003e]      6kB/6kB","id":"d4d4d4d4d4d4"}
{"status":"Pull complete","progressDetail":{},"id":"d4d4d4d4d4d4"}
{"status":"Digest: sha256:3428ec5281ffdb6bb4d21abb40e5bd8672b9ef01875cff003493384a97772a09"}
{"status":"Status: Downloaded newer image for 127.0.0.1:5000/monitorfish-app:v3"}
`

// failedPull starts like a pull, then the registry breaks down in the
// middle of a layer: the engine ends the stream with an error message.
const failedPull = `{"status":"Pulling from monitorfish-app","id":"v3"}
{"status":"Pulling fs layer","progressDetail":{},"id":"c3c3c3c3c3c3"}
{"status":"Downloading","progressDetail":{"current":1000,"total":4000},"progress":"[============\u003e                                      ]      1kB/4kB","id":"c3c3c3c3c3c3"}
{"errorDetail":{"message":"received unexpected HTTP status: 502 Bad Gateway"},"error":"received unexpected HTTP status: 502 Bad Gateway"}
{"status":"Pull complete","progressDetail":{},"id":"c3c3c3c3c3c3"}
`

func TestPullStreamAggregatesLayers(t *testing.T) {
	var got []containers.PullProgress
	if err := readPullStream(strings.NewReader(recordedPull), func(p containers.PullProgress) { got = append(got, p) }); err != nil {
		t.Fatal(err)
	}
	p := func(done, total int64, layers, pulled int) containers.PullProgress {
		return containers.PullProgress{Done: done, Total: total, Layers: layers, Pulled: pulled}
	}
	want := []containers.PullProgress{
		p(0, 0, 1, 1),         // Already exists: done, size never announced
		p(0, 0, 2, 2),         //
		p(0, 0, 3, 2),         // Pulling fs layer: one more layer, nothing more
		p(0, 0, 4, 2),         // (Waiting changes nothing: not reported)
		p(1000, 4000, 4, 2),   // c3 announces its size
		p(3000, 4000, 4, 2),   //
		p(3500, 10000, 4, 2),  // d4 announces its size
		p(4500, 10000, 4, 2),  // c3 Download complete (Verifying Checksum and Extracting change nothing)
		p(4500, 10000, 4, 3),  // c3 Pull complete
		p(10000, 10000, 4, 3), // d4 downloaded (Download complete then changes nothing)
		p(10000, 10000, 4, 4), // d4 Pull complete; Digest and Status are not layers
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("progress reports:\n got %v\nwant %v", got, want)
	}
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Errorf("report %d repeats the previous one: %v", i, got[i])
		}
	}
}

func TestPullStreamEndsWithTheEnginesError(t *testing.T) {
	var got []containers.PullProgress
	err := readPullStream(strings.NewReader(failedPull), func(p containers.PullProgress) { got = append(got, p) })
	var jerr *jsonmessage.JSONError
	if !errors.As(err, &jerr) || jerr.Message != "received unexpected HTTP status: 502 Bad Gateway" {
		t.Fatalf("err = %#v, want the stream's errorDetail", err)
	}
	if want := (containers.PullProgress{Done: 1000, Total: 4000, Layers: 1}); len(got) == 0 || got[len(got)-1] != want {
		t.Errorf("last report %v, want %v: the messages after the error are not read", got, want)
	}
	// Old engines only set "error"; a stream cut mid-message is an error.
	if err := readPullStream(strings.NewReader(`{"error":"pull access denied"}`), nil); err == nil || err.Error() != "pull access denied" {
		t.Errorf("legacy error: %v", err)
	}
	if err := readPullStream(strings.NewReader(`{"status":"Downloading","id":"c3`), nil); err == nil {
		t.Error("a truncated stream was accepted")
	}
	if err := readPullStream(strings.NewReader(""), nil); err != nil {
		t.Errorf("empty stream: %v", err)
	}
}

// fakePullEngine answers the API calls of Pull like a 20.10 engine: the
// pull stream, then the inspection of the pulled image. It records the
// login it received.
func fakePullEngine(t *testing.T, stream string, auth *string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			w.Write([]byte("OK"))
		case strings.HasSuffix(r.URL.Path, "/images/create"):
			if r.URL.Query().Get("fromImage") != "127.0.0.1:5000/monitorfish-app" || r.URL.Query().Get("tag") != "v3" {
				http.Error(w, `{"message":"unexpected pull `+r.URL.RawQuery+`"}`, http.StatusBadRequest)
				return
			}
			*auth = r.Header.Get("X-Registry-Auth")
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(stream))
		case strings.HasSuffix(r.URL.Path, "/images/127.0.0.1:5000/monitorfish-app:v3/json"):
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"Id":"sha256:b0968c6fc8c4","RepoTags":["127.0.0.1:5000/monitorfish-app:v3"]}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"message":"no such route ` + r.URL.Path + `"}`))
		}
	}))
	t.Cleanup(srv.Close)
	return "tcp://" + srv.Listener.Addr().String()
}

func TestPullSendsTheLoginAndReturnsTheImageID(t *testing.T) {
	var auth string
	e, err := New(Options{Host: fakePullEngine(t, recordedPull, &auth)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var last containers.PullProgress
	id, err := e.Pull(ctx, "127.0.0.1:5000/monitorfish-app:v3", containers.PullOptions{
		Auth:     &containers.RegistryAuth{Username: "bot", Password: "t0k=n/+"},
		Progress: func(p containers.PullProgress) { last = p },
	})
	if err != nil {
		t.Fatal(err)
	}
	if id != "sha256:b0968c6fc8c4" {
		t.Errorf("id = %q", id)
	}
	if want := (containers.PullProgress{Done: 10000, Total: 10000, Layers: 4, Pulled: 4}); last != want {
		t.Errorf("last progress %v, want %v", last, want)
	}
	// The header is base64url JSON, as the engine decodes it.
	raw, err := base64.URLEncoding.DecodeString(auth)
	if err != nil {
		t.Fatalf("X-Registry-Auth %q is not base64url: %v", auth, err)
	}
	var login map[string]string
	if err := json.Unmarshal(raw, &login); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"username": "bot", "password": "t0k=n/+", "serveraddress": "127.0.0.1:5000"}; !reflect.DeepEqual(login, want) {
		t.Errorf("login sent %v, want %v", login, want)
	}

	// Anonymous: no login sent.
	if _, err := e.Pull(ctx, "127.0.0.1:5000/monitorfish-app:v3", containers.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		t.Errorf("anonymous pull sent X-Registry-Auth %q", auth)
	}
}

func TestPullErrorOfTheStreamNamesTheReference(t *testing.T) {
	var auth string
	e, err := New(Options{Host: fakePullEngine(t, failedPull, &auth)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = e.Pull(ctx, "127.0.0.1:5000/monitorfish-app:v3", containers.PullOptions{})
	if err == nil || err.Error() != "pull 127.0.0.1:5000/monitorfish-app:v3: received unexpected HTTP status: 502 Bad Gateway" {
		t.Fatalf("err = %v", err)
	}
	if errors.Is(err, containers.ErrUnreachable) || errors.Is(err, containers.ErrNoSuchContainer) {
		t.Errorf("a registry error classified as an engine one: %v", err)
	}
	// Recreate's pull reads the same stream.
	if err := e.pull(ctx, "127.0.0.1:5000/monitorfish-app:v3"); err == nil || !strings.Contains(err.Error(), "502 Bad Gateway") {
		t.Errorf("recreate's pull: %v", err)
	}
}

func TestLoginServer(t *testing.T) {
	for ref, want := range map[string]string{
		"127.0.0.1:5000/monitorfish-app:v1":            "127.0.0.1:5000",
		"ghcr.io/mtes-mct/monitorfish/app:v1.2":        "ghcr.io",
		"localhost/app":                                "localhost",
		"library/postgres:15":                          "https://index.docker.io/v1/",
		"postgres":                                     "https://index.docker.io/v1/",
		"timescale/timescaledb-postgis:1.7.4-pg11":     "https://index.docker.io/v1/",
		"registry.example:443/a/b@sha256:0123456789ab": "registry.example:443",
	} {
		if got := loginServer(ref); got != want {
			t.Errorf("loginServer(%q) = %q, want %q", ref, got, want)
		}
	}
}
