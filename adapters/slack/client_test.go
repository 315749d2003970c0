package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mfbot/reply"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func textMessage(s string) Message {
	return Message{Text: s, Blocks: []slack.Block{mrkdwnSection(s)}}
}

func TestPostWaitsOutRateLimits(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("chat.postMessage", func(w http.ResponseWriter, c apiCall, n int) {
		switch n {
		case 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2: // no Retry-After at all: still a rate limit, not an error
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			defaultHandler(w, c, n)
		}
	})
	var limited []string
	c := f.client(ClientOptions{RetryFor: 100 * time.Millisecond, // 429s are not bounded by it
		OnRateLimited: func(method string, wait time.Duration) { limited = append(limited, method) }})
	ts, err := c.Post(context.Background(), "C1", "", textMessage("hello"))
	if err != nil || ts == "" {
		t.Fatalf("Post: %q %v", ts, err)
	}
	calls := f.callsTo("chat.postMessage")
	if len(calls) != 3 {
		t.Fatalf("%d calls, want 3", len(calls))
	}
	for i := 1; i < 3; i++ {
		if gap := calls[i].At.Sub(calls[i-1].At); gap < time.Second {
			t.Errorf("call %d came %v after the 429, want ≥ 1s", i+1, gap)
		}
	}
	if len(limited) != 2 {
		t.Errorf("OnRateLimited: %v", limited)
	}
}

func TestRateLimitHoldsBackOtherCallersOfTheMethod(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("chat.postMessage", func(w http.ResponseWriter, c apiCall, n int) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		defaultHandler(w, c, n)
	})
	c := f.client(ClientOptions{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := c.Post(context.Background(), "C1", "", textMessage("first")); err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(200 * time.Millisecond) // the 429 has been answered
	if _, err := c.Post(context.Background(), "C2", "", textMessage("other channel")); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	calls := f.callsTo("chat.postMessage")
	if len(calls) != 3 {
		t.Fatalf("%d calls", len(calls))
	}
	for _, call := range calls[1:] {
		if gap := call.At.Sub(calls[0].At); gap < time.Second {
			t.Errorf("%s posted %v after the 429: the method's Retry-After applies to every caller", call.Form.Get("channel"), gap)
		}
	}
}

func TestRateLimitWaitHonoursContext(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("chat.postMessage", func(w http.ResponseWriter, _ apiCall, _ int) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	c := f.client(ClientOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Post(ctx, "C1", "", textMessage("x"))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("want the context's deadline promptly, got %v after %v", err, time.Since(start))
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]int{
		"3": 3, "0": 1, "": 1, "soon": 1,
		now.Add(5 * time.Second).Format(http.TimeFormat): 5,
		now.Add(-time.Hour).Format(http.TimeFormat):      1,
	} {
		if got := retryAfterSeconds(in, now); got != want {
			t.Errorf("retryAfterSeconds(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestPacingPerChannel(t *testing.T) {
	const interval = 200 * time.Millisecond
	f := newFakeAPI(t)
	c := f.client(ClientOptions{PerChannelInterval: interval})
	ctx := context.Background()

	start := time.Now()
	for i := 1; i <= 3; i++ {
		if _, err := c.Post(ctx, "C1", "", textMessage(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < 2*interval {
		t.Errorf("three posts to one channel took %v, want ≥ %v", took, 2*interval)
	}
	calls := f.callsTo("chat.postMessage")
	for i, call := range calls {
		if call.Form.Get("text") != fmt.Sprint(i+1) {
			t.Errorf("post %d carries %q: order not kept", i+1, call.Form.Get("text"))
		}
	}

	// Two channels in parallel: neither waits for the other.
	start = time.Now()
	var wg sync.WaitGroup
	first := map[string]time.Duration{}
	var mu sync.Mutex
	for _, ch := range []string{"C2", "C3"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2; i++ {
				if _, err := c.Post(ctx, ch, "", textMessage(ch)); err != nil {
					t.Error(err)
				}
				if i == 0 {
					mu.Lock()
					first[ch] = time.Since(start)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if took < interval || took >= 2*interval {
		t.Errorf("2 posts to each of 2 channels took %v, want about one interval (%v)", took, interval)
	}
	for ch, d := range first {
		if d > interval/2 {
			t.Errorf("first post to %s waited %v for another channel", ch, d)
		}
	}
}

func TestFatalAuthErrors(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("auth.test", slackError("invalid_auth"))
	c := f.client(ClientOptions{})
	_, _, err := c.AuthTest(context.Background())
	if !IsFatalAuthError(err) {
		t.Fatalf("invalid_auth: IsFatalAuthError(%v) = false", err)
	}
	if n := len(f.callsTo("auth.test")); n != 1 {
		t.Errorf("a fatal error must not be retried: %d calls", n)
	}
	f.handle("chat.postMessage", slackError("missing_scope"))
	_, err = c.Post(context.Background(), "C1", "", textMessage("x"))
	if err == nil || IsFatalAuthError(err) {
		t.Errorf("missing_scope: %v, want a non-fatal error", err)
	}
	if IsFatalAuthError(errors.New("invalid_auth")) || IsFatalAuthError(nil) {
		t.Error("only Slack's answers are fatal")
	}
	for _, code := range []string{"token_revoked", "account_inactive", "not_authed", "token_expired"} {
		if !IsFatalAuthError(fmt.Errorf("wrapped: %w", slack.SlackErrorResponse{Err: code})) {
			t.Errorf("%s should be fatal", code)
		}
	}
}

func TestAuthTest(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("auth.test", func(w http.ResponseWriter, _ apiCall, _ int) {
		writeJSON(w, map[string]any{"ok": true, "user_id": "UBOT", "team": "MonitorFish", "team_id": "T1"})
	})
	user, team, err := f.client(ClientOptions{}).AuthTest(context.Background())
	if err != nil || user != "UBOT" || team != "MonitorFish" {
		t.Fatalf("AuthTest: %q %q %v", user, team, err)
	}
}

func TestTransientErrorsRetriedForABoundedTime(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("chat.postMessage", func(w http.ResponseWriter, c apiCall, n int) {
		if n <= 2 {
			http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
			return
		}
		defaultHandler(w, c, n)
	})
	c := f.client(ClientOptions{RetryFor: 5 * time.Second})
	if _, err := c.Post(context.Background(), "C1", "", textMessage("x")); err != nil {
		t.Fatalf("two 502s then ok: %v", err)
	}

	f.handle("chat.update", func(w http.ResponseWriter, _ apiCall, _ int) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	c = f.client(ClientOptions{RetryFor: 300 * time.Millisecond, RetryBackoff: 20 * time.Millisecond})
	start := time.Now()
	err := c.Update(context.Background(), "C1", "1.2", textMessage("x"))
	var sc slack.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != 503 {
		t.Fatalf("want the 503 after giving up, got %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("gave up after %v, want about RetryFor", took)
	}
	if n := len(f.callsTo("chat.update")); n < 3 {
		t.Errorf("%d attempts: transient errors should be retried", n)
	}
}

func TestConnectionRefusedIsRetriedThenReturned(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c := NewClient("xoxb-x", url+"/api/", ClientOptions{RetryFor: 200 * time.Millisecond, RetryBackoff: 20 * time.Millisecond})
	start := time.Now()
	_, err := c.Post(context.Background(), "C1", "", textMessage("x"))
	if err == nil || !strings.Contains(err.Error(), "gave up after") {
		t.Fatalf("want a give-up error, got %v", err)
	}
	if took := time.Since(start); took < 100*time.Millisecond || took > 2*time.Second {
		t.Errorf("took %v", took)
	}
}

func TestPostUploadsFilesInTheThread(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("files.getUploadURLExternal", func(w http.ResponseWriter, c apiCall, n int) {
		id := fmt.Sprintf("F%d", n)
		// The upload URL must be on the API's host: slack-go refuses to send
		// the token anywhere else (or to a non-Slack https URL).
		writeJSON(w, map[string]any{"ok": true, "upload_url": f.srv.URL + "/upload/" + id, "file_id": id})
	})
	f.handle("files.completeUploadExternal", func(w http.ResponseWriter, c apiCall, _ int) {
		var files []map[string]string
		_ = json.Unmarshal([]byte(c.Form.Get("files")), &files)
		writeJSON(w, map[string]any{"ok": true, "files": files})
	})
	c := f.client(ClientOptions{})
	m := Render(reply.Reply{Status: reply.StatusOK, Title: "Logs of app (remote_app_1)", Target: &reply.Target{Env: "prod", Service: "app"},
		Blocks: []reply.Block{&reply.Code{Text: logLines(2000)}}})
	if len(m.Files) != 1 {
		t.Fatalf("want one file, got %v", fileSummaries(m.Files))
	}
	ts, err := c.Post(context.Background(), "C1", "", m)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"chat.postMessage", "files.getUploadURLExternal", "/upload/F1", "files.completeUploadExternal"}
	if got := f.methods(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("calls %v, want %v", got, want)
	}
	get := f.callsTo("files.getUploadURLExternal")[0]
	if get.Form.Get("filename") != "logs-app.txt" || get.Form.Get("length") != fmt.Sprint(len(m.Files[0].Content)) {
		t.Errorf("getUploadURLExternal form: %v", get.Form)
	}
	up := f.callsTo("/upload/F1")[0]
	if string(up.File) != string(m.Files[0].Content) {
		t.Errorf("uploaded %d bytes, want %d", len(up.File), len(m.Files[0].Content))
	}
	done := f.callsTo("files.completeUploadExternal")[0]
	if done.Form.Get("channel_id") != "C1" || done.Form.Get("thread_ts") != ts || !strings.Contains(done.Form.Get("files"), `"id":"F1"`) {
		t.Errorf("completeUploadExternal form: %v (ts %s)", done.Form, ts)
	}
	if !strings.Contains(done.Form.Get("files"), "Logs of app") {
		t.Errorf("the file title is lost: %s", done.Form.Get("files"))
	}

	// In an existing thread, the files go to that thread.
	if _, err := c.Post(context.Background(), "C1", "1699999999.000001", m); err != nil {
		t.Fatal(err)
	}
	calls := f.callsTo("files.completeUploadExternal")
	if got := calls[len(calls)-1].Form.Get("thread_ts"); got != "1699999999.000001" {
		t.Errorf("thread_ts %q, want the given thread", got)
	}
	posts := f.callsTo("chat.postMessage")
	if got := posts[len(posts)-1].Form.Get("thread_ts"); got != "1699999999.000001" {
		t.Errorf("message thread_ts %q", got)
	}
}

func TestUploadFailureKeepsThePostedMessage(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("files.getUploadURLExternal", slackError("not_in_channel"))
	c := f.client(ClientOptions{})
	ts, err := c.Post(context.Background(), "C1", "", Message{Text: "x", Blocks: []slack.Block{mrkdwnSection("x")},
		Files: []Upload{{Name: "a.txt", Content: []byte("a")}}})
	var ue *UploadError
	if ts == "" || !errors.As(err, &ue) || ue.Name != "a.txt" {
		t.Fatalf("want the ts and an UploadError, got %q %v", ts, err)
	}
}

func TestRejectedBlocksFallBackToText(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("chat.postMessage", func(w http.ResponseWriter, c apiCall, n int) {
		if n == 1 {
			slackError("invalid_blocks")(w, c, n)
			return
		}
		defaultHandler(w, c, n)
	})
	ts, err := f.client(ClientOptions{}).Post(context.Background(), "C1", "", textMessage("alert"))
	if err != nil || ts == "" {
		t.Fatalf("Post: %q %v", ts, err)
	}
	if b := f.callsTo("chat.postMessage")[1].Form.Get("blocks"); !strings.Contains(b, "could not be displayed") {
		t.Errorf("fallback blocks: %s", b)
	}
}

func TestUpdateEphemeralAndReactions(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("reactions.add", slackError("already_reacted"))
	f.handle("reactions.remove", slackError("no_reaction"))
	c := f.client(ClientOptions{})
	ctx := context.Background()
	if err := c.Update(ctx, "C1", "1.000001", textMessage("updated")); err != nil {
		t.Fatal(err)
	}
	if u := f.callsTo("chat.update")[0].Form; u.Get("ts") != "1.000001" || u.Get("channel") != "C1" || !strings.Contains(u.Get("blocks"), "updated") {
		t.Errorf("chat.update form: %v", u)
	}
	if err := c.PostEphemeral(ctx, "C1", "U1", "1.000001", textMessage("only you")); err != nil {
		t.Fatal(err)
	}
	if e := f.callsTo("chat.postEphemeral")[0].Form; e.Get("user") != "U1" || e.Get("thread_ts") != "1.000001" {
		t.Errorf("chat.postEphemeral form: %v", e)
	}
	if err := c.React(ctx, "C1", "1.000001", ":eyes:"); err != nil {
		t.Errorf("already_reacted is not an error: %v", err)
	}
	if n := f.callsTo("reactions.add")[0].Form.Get("name"); n != "eyes" {
		t.Errorf("reaction name %q", n)
	}
	if err := c.Unreact(ctx, "C1", "1.000001", "eyes"); err != nil {
		t.Errorf("no_reaction is not an error: %v", err)
	}
}

func TestRespondPostsJSONToTheResponseURL(t *testing.T) {
	var got map[string]any
	var auth string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &got)
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "ok")
	}))
	defer hook.Close()
	f := newFakeAPI(t)
	c := f.client(ClientOptions{})
	m := Render(reply.Reply{Status: reply.StatusUsage, Title: "Usage", Blocks: []reply.Block{&reply.Text{Text: "logs <service>"}}})
	if err := c.Respond(context.Background(), hook.URL+"/commands/T1/123/abc", m, true); err != nil {
		t.Fatal(err)
	}
	if got["response_type"] != "ephemeral" || got["replace_original"] != true || got["blocks"] == nil {
		t.Errorf("response_url body: %v", got)
	}
	if auth != "" {
		t.Error("the bot token must not be sent to a response_url")
	}

	hook.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "expired_url", http.StatusNotFound)
	})
	if err := c.Respond(context.Background(), hook.URL+"/x", m, false); err == nil {
		t.Error("an expired response_url must be reported")
	}
}
