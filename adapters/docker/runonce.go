package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"

	"mfbot/containers"
)

// runCleanupTimeout bounds the removal of a one-off container, done even
// when the caller's context has ended.
const runCleanupTimeout = 30 * time.Second

// outputGrace bounds how long the output of an exited container may keep
// coming: the engine closes the attached streams when the process exits.
const outputGrace = 10 * time.Second

// RunOnce does `docker run --rm` of spec: it creates the container,
// attaches to its output before starting it (so nothing is lost, whatever
// the log driver), streams its lines to sink, waits for its exit and
// removes it. The container is never created with AutoRemove: its removal
// is done here, so that it happens also on a timeout, a sink error or a
// cancelled ctx, and that the exit code is read before.
func (e *Engine) RunOnce(ctx context.Context, spec containers.RunSpec, sink func(containers.LogLine) error) (res containers.RunResult, err error) {
	begin := time.Now()
	what := "run " + spec.Image
	if spec.Name != "" {
		what = "run " + spec.Name + " (" + spec.Image + ")"
	}
	var env []string
	if spec.EnvFile != "" {
		if env, err = containers.ReadEnvFile(spec.EnvFile, os.LookupEnv); err != nil {
			return res, fmt.Errorf("%s: %w", what, err)
		}
	}
	// After the file: the engine keeps the last value of a key, so Env wins.
	env = append(env, spec.Env...)

	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	timedOut := errors.New("timed out")
	if spec.Timeout > 0 {
		var cancelTimeout context.CancelFunc
		runCtx, cancelTimeout = context.WithTimeoutCause(runCtx, spec.Timeout, timedOut)
		defer cancelTimeout()
	}
	// fail names what was being done, and says so when the run's own
	// timeout ended it rather than the engine (e.wrap would call a
	// deadline an unreachable engine).
	fail := func(doing string, err error) error {
		if errors.Is(context.Cause(runCtx), timedOut) {
			return fmt.Errorf("%s: timed out after %s: the container was killed", what, spec.Timeout)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %s: %w", what, doing, context.Cause(ctx))
		}
		return e.wrap(what+": "+doing, err)
	}

	cfg := &container.Config{
		Image:        spec.Image,
		Env:          env,
		Labels:       spec.Labels,
		AttachStdout: true,
		AttachStderr: true,
	}
	if len(spec.Cmd) > 0 {
		cfg.Cmd = spec.Cmd
	}
	hostCfg := &container.HostConfig{NetworkMode: container.NetworkMode(spec.Network), Binds: spec.Binds}
	created, err := e.api.ContainerCreate(runCtx, cfg, hostCfg, nil, nil, spec.Name)
	if err != nil {
		return res, fail("create the container", err)
	}
	res.ContainerID = created.ID

	// Set up below; the cleanup undoes what was done, in this order: end
	// the run's requests, stop reading, collect the wait, remove.
	type readResult struct {
		fromSink bool
		err      error
	}
	var (
		att      types.HijackedResponse
		readDone chan readResult
		reading  bool
		waitC    <-chan container.WaitResponse
		waitErrC <-chan error
		waiting  bool
	)
	defer func() {
		cancelRun()
		// The hijacked connection ignores ctx: closing it ends the reader,
		// and sink is not called once RunOnce has returned.
		if att.Conn != nil {
			att.Close()
		}
		if reading {
			<-readDone
		}
		if waiting {
			// The client's goroutine sends one result or one error (the
			// cancelled context ends its request): take it, or it leaks.
			select {
			case <-waitC:
			case <-waitErrC:
			}
		}
		if res.Took == 0 {
			res.Took = time.Since(begin)
		}
		if rmErr := e.removeRun(created.ID); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("%s: %w", what, rmErr))
		}
	}()

	// Attached before start, so the first lines are not missed.
	att, err = e.api.ContainerAttach(runCtx, created.ID, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return res, fail("attach to the container", err)
	}
	stamped := func(l containers.LogLine) error {
		l.Time = time.Now() // the attached stream carries no time: the time it arrived
		if sink == nil {
			return nil
		}
		return sink(l)
	}
	readDone, reading = make(chan readResult, 1), true
	go func() {
		fromSink, err := readLines(att.Reader, false, false, stamped)
		readDone <- readResult{fromSink, err}
	}()

	// The exit is waited for from before the start, so a fast exit is not
	// missed: the engine has registered the wait when ContainerWait returns.
	waitC, waitErrC = e.api.ContainerWait(runCtx, created.ID, container.WaitConditionNextExit)
	waiting = true

	if err := e.api.ContainerStart(runCtx, created.ID, container.StartOptions{}); err != nil {
		return res, fail("start the container", err)
	}

	var exit *container.WaitResponse
	var grace <-chan time.Time
	for reading || exit == nil {
		select {
		case r := <-readDone:
			reading = false
			if r.fromSink {
				return res, r.err
			}
			if r.err != nil && runCtx.Err() == nil {
				return res, fail("read the container's output", r.err)
			}
		case w := <-waitC:
			waiting = false
			exit = &w
			res.Took = time.Since(begin)
			grace = time.After(outputGrace)
		case err := <-waitErrC:
			waiting = false
			return res, fail("wait for the container", err)
		case <-grace:
			return res, fmt.Errorf("%s: the container exited but its output did not end within %s", what, outputGrace)
		case <-runCtx.Done():
			return res, fail("wait for the container", runCtx.Err())
		}
	}
	res.ExitCode = int(exit.StatusCode)
	if exit.Error != nil && exit.Error.Message != "" {
		return res, fmt.Errorf("%s: the engine could not wait for the container: %s", what, exit.Error.Message)
	}
	return res, nil
}

// removeRun removes a one-off container, killing it if it still runs. It
// has its own context: a cancelled caller must not leave it behind.
func (e *Engine) removeRun(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), runCleanupTimeout)
	defer cancel()
	if err := e.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}); err != nil {
		return e.wrap("remove the container "+shortID(id), err)
	}
	return nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
