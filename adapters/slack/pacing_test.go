package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// The pace used by these tests, and the tolerance on the gaps measured at
// the server (timer and scheduling jitter).
const (
	testInterval = 200 * time.Millisecond
	minGap       = testInterval * 9 / 10
)

// rateLimitFirst answers the first chat.postMessage with a 429 and
// Retry-After: 1, and the others normally.
func rateLimitFirst(w http.ResponseWriter, c apiCall, n int) {
	if n == 1 {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	defaultHandler(w, c, n)
}

// laneTail is the newest turn taken in channel's lane (nil: none yet).
func laneTail(c *Client, channel string) chan struct{} {
	c.pacer.mu.Lock()
	defer c.pacer.mu.Unlock()
	if l := c.pacer.lanes[channel]; l != nil {
		return l.tail
	}
	return nil
}

// submit runs write in a goroutine and returns once it has taken its place
// in channel's lane, so that the writes submitted one after the other are
// queued in that order; the channel receives write's error.
func submit(t *testing.T, c *Client, channel string, write func() error) <-chan error {
	t.Helper()
	before := laneTail(c, channel)
	errc := make(chan error, 1)
	go func() { errc <- write() }()
	for deadline := time.Now().Add(2 * time.Second); laneTail(c, channel) == before; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("a write to %s never got in the queue", channel)
		}
	}
	return errc
}

func submitPost(t *testing.T, c *Client, ctx context.Context, channel, text string) <-chan error {
	t.Helper()
	return submit(t, c, channel, func() error {
		_, err := c.Post(ctx, channel, "", textMessage(text))
		return err
	})
}

func wait(t *testing.T, errcs ...<-chan error) {
	t.Helper()
	for _, errc := range errcs {
		select {
		case err := <-errc:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a post never returned")
		}
	}
}

// postsTo: the chat.postMessage calls of channel, the 429 at calls[0]
// (when there is one) left out.
func postsTo(f *fakeAPI, channel string, skipFirst bool) []apiCall {
	var out []apiCall
	for i, c := range f.callsTo("chat.postMessage") {
		if c.Form.Get("channel") == channel && !(skipFirst && i == 0) {
			out = append(out, c)
		}
	}
	return out
}

// checkPacedInOrder: calls carry texts want, in that order, each at least
// minGap after the previous one as received by the server.
func checkPacedInOrder(t *testing.T, calls []apiCall, want ...string) {
	t.Helper()
	var got []string
	for i, c := range calls {
		got = append(got, c.Form.Get("text"))
		if i == 0 {
			continue
		}
		gap := c.At.Sub(calls[i-1].At)
		t.Logf("%s -> %s: %v", calls[i-1].Form.Get("text"), c.Form.Get("text"), gap.Round(100*time.Microsecond))
		if gap < minGap {
			t.Errorf("post %q came %v after %q, want ≥ %v", c.Form.Get("text"), gap, calls[i-1].Form.Get("text"), testInterval)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("posts received in the order %v, want %v", got, want)
	}
}

// The bug: the posts queued behind a 429 all went out the moment its
// Retry-After ended (within a millisecond), in any order.
func TestPostsKeepPaceAndOrderAfterRateLimit(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("chat.postMessage", rateLimitFirst)
	c := f.client(ClientOptions{PerChannelInterval: testInterval})
	ctx := context.Background()
	var errcs []<-chan error
	for i := 1; i <= 5; i++ {
		errcs = append(errcs, submitPost(t, c, ctx, "C1", fmt.Sprint(i)))
	}
	wait(t, errcs...)
	all := f.callsTo("chat.postMessage")
	if len(all) != 6 {
		t.Fatalf("%d calls, want the 429 and 5 posts", len(all))
	}
	posts := postsTo(f, "C1", true)
	if gap := posts[0].At.Sub(all[0].At); gap < time.Second {
		t.Errorf("the first post was sent again %v after its 429, want ≥ 1s", gap)
	}
	checkPacedInOrder(t, posts, "1", "2", "3", "4", "5")
}

func TestOtherChannelNotHeldBehindAnotherOnesPace(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("chat.postMessage", rateLimitFirst)
	c := f.client(ClientOptions{PerChannelInterval: testInterval})
	ctx := context.Background()
	var errcs []<-chan error
	for i := 1; i <= 5; i++ {
		errcs = append(errcs, submitPost(t, c, ctx, "C1", fmt.Sprint(i)))
	}
	// Submitted while the 429's Retry-After holds chat.postMessage back.
	errcs = append(errcs, submitPost(t, c, ctx, "C2", "a"), submitPost(t, c, ctx, "C2", "b"))
	wait(t, errcs...)

	gateEnd := f.callsTo("chat.postMessage")[0].At.Add(time.Second)
	c1, c2 := postsTo(f, "C1", true), postsTo(f, "C2", false)
	checkPacedInOrder(t, c1, "1", "2", "3", "4", "5")
	checkPacedInOrder(t, c2, "a", "b")
	if len(c1) != 5 || len(c2) != 2 {
		t.FailNow()
	}
	if c2[0].At.Before(gateEnd) {
		t.Errorf("C2 posted %v before the end of the 429's Retry-After: it holds back every caller of the method", gateEnd.Sub(c2[0].At))
	}
	if late := c2[0].At.Sub(gateEnd); late > testInterval/2 {
		t.Errorf("C2's first post went %v after the method reopened: held behind C1's queue", late)
	}
	if !c2[1].At.Before(c1[4].At) {
		t.Errorf("C2's posts were served after C1's whole queue")
	}
}

func TestCancelledPostDoesNotHoldUpTheChannel(t *testing.T) {
	t.Run("waiting in the queue", func(t *testing.T) {
		f := newFakeAPI(t)
		f.handle("chat.postMessage", rateLimitFirst)
		c := f.client(ClientOptions{PerChannelInterval: testInterval})
		ctx := context.Background()
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		first := submitPost(t, c, ctx, "C1", "1")
		cancelled := submitPost(t, c, cctx, "C1", "2")
		rest := []<-chan error{submitPost(t, c, ctx, "C1", "3"), submitPost(t, c, ctx, "C1", "4")}
		cancel()
		select {
		case err := <-cancelled:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled post: %v, want context.Canceled", err)
			}
		case <-time.After(500 * time.Millisecond): // the 429 holds the others for 1s
			t.Fatal("a cancelled post waited for its turn")
		}
		wait(t, append([]<-chan error{first}, rest...)...)
		posts := postsTo(f, "C1", true)
		checkPacedInOrder(t, posts, "1", "3", "4")
		if len(posts) == 3 {
			if gap := posts[1].At.Sub(posts[0].At); gap >= 2*testInterval {
				t.Errorf("post 3 came %v after post 1: the cancelled post's turn was kept", gap)
			}
		}
	})
	t.Run("waiting out a 429", func(t *testing.T) {
		f := newFakeAPI(t)
		f.handle("chat.postMessage", rateLimitFirst)
		c := f.client(ClientOptions{PerChannelInterval: testInterval})
		ctx := context.Background()
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		cancelled := submitPost(t, c, cctx, "C1", "1")
		rest := []<-chan error{submitPost(t, c, ctx, "C1", "2"), submitPost(t, c, ctx, "C1", "3")}
		for len(f.callsTo("chat.postMessage")) == 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond) // the 429 reached the client
		cancel()
		select {
		case err := <-cancelled:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled post: %v, want context.Canceled", err)
			}
		case <-time.After(500 * time.Millisecond):
			t.Fatal("a post cancelled during a 429 wait did not return")
		}
		wait(t, rest...)
		all := f.callsTo("chat.postMessage")
		posts := postsTo(f, "C1", true)
		checkPacedInOrder(t, posts, "2", "3")
		if len(posts) > 0 && posts[0].At.Sub(all[0].At) < time.Second {
			t.Errorf("post 2 went out during the 429's Retry-After")
		}
	})
}

// Every attempt is a write to the channel: a quick retry after a 5xx still
// keeps the pace.
func TestRetryOfAPacedPostKeepsThePace(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("chat.postMessage", func(w http.ResponseWriter, c apiCall, n int) {
		if n == 1 {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		defaultHandler(w, c, n)
	})
	c := f.client(ClientOptions{PerChannelInterval: testInterval, RetryBackoff: 10 * time.Millisecond})
	if _, err := c.Post(context.Background(), "C1", "", textMessage("x")); err != nil {
		t.Fatal(err)
	}
	calls := f.callsTo("chat.postMessage")
	if len(calls) != 2 {
		t.Fatalf("%d calls, want 2", len(calls))
	}
	if gap := calls[1].At.Sub(calls[0].At); gap < minGap {
		t.Errorf("retry %v after the 502, want ≥ %v", gap, testInterval)
	}
}

// Sharing an uploaded file and an ephemeral message are writes to the
// channel, paced like posts; chat.update is not.
func TestUploadsAndEphemeralsArePacedUpdatesAreNot(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("files.getUploadURLExternal", func(w http.ResponseWriter, c apiCall, n int) {
		writeJSON(w, map[string]any{"ok": true, "upload_url": f.srv.URL + "/upload/F1", "file_id": "F1"})
	})
	c := f.client(ClientOptions{PerChannelInterval: testInterval})
	ctx := context.Background()
	m := textMessage("with a file")
	m.Files = []Upload{{Name: "a.txt", Content: []byte("a")}}
	ts, err := c.Post(ctx, "C1", "", m)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PostEphemeral(ctx, "C1", "U1", "", textMessage("only you")); err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, "C1", ts, textMessage("updated")); err != nil {
		t.Fatal(err)
	}
	post := f.callsTo("chat.postMessage")[0].At
	share := f.callsTo("files.completeUploadExternal")[0].At
	eph := f.callsTo("chat.postEphemeral")[0].At
	upd := f.callsTo("chat.update")[0].At
	if gap := share.Sub(post); gap < minGap {
		t.Errorf("file shared %v after the message, want ≥ %v", gap, testInterval)
	}
	if gap := eph.Sub(share); gap < minGap {
		t.Errorf("ephemeral message %v after the file, want ≥ %v", gap, testInterval)
	}
	if gap := upd.Sub(eph); gap >= testInterval/2 {
		t.Errorf("chat.update waited %v: updates are not paced", gap)
	}
}
