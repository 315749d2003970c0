package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mfbot/containers"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

// Watch streams the engine's container events live from since (zero: from
// now) to sink, oldest first, until ctx ends (nil) or the stream breaks (a
// wrapped error: the engine restarted, the connection dropped). exec_*
// events are dropped, like in Events. A sink error ends the stream and is
// returned as is.
//
// The engine replays the events it still holds in memory whose time is at
// or after since (at nanosecond precision, inclusive), then streams live
// ones; its memory is small (256 events, exec_* included), so a long gap is
// not fully replayed.
func (e *Engine) Watch(ctx context.Context, since time.Time, sink func(containers.Event) error) error {
	opts := events.ListOptions{Filters: filters.NewArgs(filters.Arg("type", string(events.ContainerEventType)))}
	if !since.IsZero() {
		opts.Since = sinceNano(since)
	}
	// A child context ends the client's reading goroutine whatever way
	// this function returns.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs, errs := e.api.Events(ctx, opts)
	for {
		select {
		case m := <-msgs:
			if ev, ok := eventFrom(m); ok {
				if err := sink(ev); err != nil {
					return err
				}
			}
		case err := <-errs:
			if ctx.Err() != nil {
				return nil
			}
			if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("watch events: the Docker engine at %s closed the stream", e.host)
			}
			return e.wrap("watch events", err)
		case <-ctx.Done():
			return nil
		}
	}
}

// sinceNano formats a time the way the events API reads it with nanosecond
// precision ("seconds.nanoseconds").
func sinceNano(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}
