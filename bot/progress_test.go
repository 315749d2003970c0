package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"mfbot/commands"
	"mfbot/reply"
)

type runnerFunc func(ctx context.Context, req commands.Request) reply.Reply

func (f runnerFunc) Run(ctx context.Context, req commands.Request) reply.Reply { return f(ctx, req) }

type redactFunc func(string) string

func (f redactFunc) String(s string) string { return f(s) }

// shownSteps records what a pacedSteps shows and posts, with when.
type shownSteps struct {
	mu    sync.Mutex
	times []time.Time
	steps []string
	posts [][]string
}

func (s *shownSteps) show(_ context.Context, p reply.Progress) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.times = append(s.times, time.Now())
	s.steps = append(s.steps, p.Step)
}

func (s *shownSteps) post(_ context.Context, lines []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posts = append(s.posts, lines)
}

func TestPacedStepsKeepTheGapAndShowTheNewest(t *testing.T) {
	const gap = 100 * time.Millisecond
	var got shownSteps
	started := time.Now()
	p := newPacedSteps(context.Background(), gap, started, got.show, got.post)
	// 30 steps over ~300 ms: at most one per gap is shown, the newest.
	for i := range 30 {
		p.Step(reply.Progress{Step: fmt.Sprint("step ", i)})
		p.Output(fmt.Sprint("line ", i))
		time.Sleep(10 * time.Millisecond)
	}
	p.finish(true)
	finished := time.Now()

	got.mu.Lock()
	defer got.mu.Unlock()
	if len(got.times) < 2 || len(got.times) > 4 {
		t.Errorf("shown %d times in %s with a gap of %s: %q", len(got.times), finished.Sub(started), gap, got.steps)
	}
	last := started
	for i, at := range got.times {
		if at.Sub(last) < gap {
			t.Errorf("update %d came %s after the previous one, less than %s", i, at.Sub(last), gap)
		}
		last = at
	}
	if finished.Sub(last) < gap {
		t.Errorf("finish returned %s after the last update: the outcome would come too soon", finished.Sub(last))
	}
	var lines []string
	for _, batch := range got.posts {
		lines = append(lines, batch...)
	}
	if len(lines) != 30 || lines[0] != "line 0" || lines[29] != "line 29" {
		t.Errorf("every output line is posted once, in order: got %d: %q", len(lines), lines)
	}
	if len(got.posts) > 5 {
		t.Errorf("lines posted in %d batches, want them batched at the pace of the updates", len(got.posts))
	}
}

func TestPacedStepsBoundThePendingLines(t *testing.T) {
	var got shownSteps
	// The last update was just now: nothing is shown or posted for a while.
	p := newPacedSteps(context.Background(), time.Hour, time.Now(), got.show, got.post)
	for i := range maxPendingLines + 50 {
		p.Output(fmt.Sprint("line ", i))
	}
	p.finish(false)
	if len(got.posts) != 1 {
		t.Fatalf("want the lines posted once at finish, got %d batches", len(got.posts))
	}
	batch := got.posts[0]
	if len(batch) != maxPendingLines+1 || !strings.Contains(batch[0], "50 earlier lines not shown") || batch[len(batch)-1] != fmt.Sprint("line ", maxPendingLines+49) {
		t.Errorf("want a note for the 50 dropped lines then the newest %d: got %d lines, first %q", maxPendingLines, len(batch), batch[0])
	}
	if len(got.steps) != 0 {
		t.Errorf("nothing was stepped, yet shown: %q", got.steps)
	}
}

func TestConsolePrintsStepsOnErr(t *testing.T) {
	var out, errOut strings.Builder
	c := &Console{Runner: runnerFunc(func(ctx context.Context, req commands.Request) reply.Reply {
		req.Progress.Step(reply.Progress{Title: "Deploying v2", Step: "pulling", Detail: "1.0 of 2.0 MB"})
		req.Progress.Step(reply.Progress{Title: "Deploying v2", Step: "pulling", Detail: "2.0 of 2.0 MB"})
		req.Progress.Output("token=abc123secret")
		req.Progress.Step(reply.Progress{Title: "Deploying v2", Step: "recreating"})
		return reply.Reply{Status: reply.StatusOK, Title: "Deployed v2"}
	}), Out: &out, Err: &errOut, In: strings.NewReader(""), Redactor: redactFunc(func(s string) string {
		return strings.ReplaceAll(s, "abc123secret", "[REDACTED]")
	})}
	if code := c.RunOne(context.Background(), "deploy v2"); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	e := errOut.String()
	for _, want := range []string{"Deploying v2: pulling — 1.0 of 2.0 MB", "│ token=[REDACTED]", "Deploying v2: recreating"} {
		if !strings.Contains(e, want) {
			t.Errorf("stderr lacks %q:\n%s", want, e)
		}
	}
	if strings.Contains(e, "abc123secret") || strings.Contains(out.String(), "⏳") || !strings.Contains(out.String(), "Deployed v2") {
		t.Errorf("stdout %q, stderr %q", out.String(), e)
	}
}
