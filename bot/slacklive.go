package bot

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack/socketmode"
)

// SocketSilenceLimit is how long the Socket Mode connection may stay
// silent — no message, no ping — before /healthz calls Slack down. Slack
// pings every connection and slack-go drops one that goes 30 s without a
// ping: three times that is a dead connection, whatever the client thinks.
const SocketSilenceLimit = 90 * time.Second

// SocketActivity records when Slack last sent anything on the Socket Mode
// websocket: a message or a ping. slack-go answers Slack's pings itself
// and reports none of them as an event, so the connection's reads are
// watched instead (every frame Slack sends is a read). The zero value is
// ready to use.
type SocketActivity struct {
	last atomic.Int64 // Unix nanoseconds; 0: nothing read yet
}

// Last is when Slack last sent something on the socket (zero: never).
func (a *SocketActivity) Last() time.Time {
	if n := a.last.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Option makes the Socket Mode client dial through a connection whose
// reads are recorded, with slack-go's own dialer settings.
func (a *SocketActivity) Option() socketmode.Option {
	dialer := &net.Dialer{}
	return socketmode.OptionDialer(&websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: 45 * time.Second,
		// Above Slack's 20 KiB response limit: one frame per response, as
		// slack-go's default dialer does (Slack drops continuation frames).
		WriteBufferSize: 32 * 1024,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &watchedConn{Conn: c, last: &a.last}, nil
		},
	})
}

// watchedConn records the time of each read that returned data.
type watchedConn struct {
	net.Conn
	last *atomic.Int64
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.last.Store(time.Now().UnixNano())
	}
	return n, err
}

// SlackProbe is the /healthz probe of the connection to Slack. Over
// Socket Mode (activity set) it is required: it fails while the socket is
// disconnected or has been silent for more than SocketSilenceLimit, and
// says how long ago Slack last sent a message or a ping. Over the HTTP
// endpoints only (activity nil) nothing can be checked from here — Slack
// calls when someone types a command — so it is reported, not required:
// the age of the last signed request.
func (s *Slack) SlackProbe(activity *SocketActivity) Probe {
	if activity == nil {
		return Probe{Name: "slack", Check: func(context.Context) error { return nil }, Detail: func() string {
			last := s.LastEvent()
			if last.IsZero() {
				return "HTTP endpoints: no signed request from Slack yet"
			}
			return fmt.Sprintf("HTTP endpoints: last signed request from Slack %s ago", ageText(time.Since(last)))
		}}
	}
	return Probe{Name: "slack", Required: true,
		Check: func(context.Context) error {
			last := activity.Last()
			switch {
			case !s.socketUp.Load() && last.IsZero():
				return errors.New("Socket Mode not connected yet")
			case !s.socketUp.Load():
				return fmt.Errorf("Socket Mode disconnected; Slack last sent a message or ping %s ago", ageText(time.Since(last)))
			case time.Since(last) > SocketSilenceLimit:
				return fmt.Errorf("Socket Mode silent: no message or ping from Slack for %s (limit %s)", ageText(time.Since(last)), SocketSilenceLimit)
			}
			return nil
		},
		Detail: func() string {
			last := activity.Last()
			if last.IsZero() {
				return "Socket Mode: nothing received yet"
			}
			return fmt.Sprintf("Socket Mode: last message or ping %s ago", ageText(time.Since(last)))
		}}
}

// ageText is an age to the tenth of a second.
func ageText(d time.Duration) string { return d.Round(100 * time.Millisecond).String() }
