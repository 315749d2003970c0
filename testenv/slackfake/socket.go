package slackfake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// AckDeadline is how long Slack waits for an envelope's ack before it
// considers the delivery failed; compare Ack.Latency with it.
const AckDeadline = 3 * time.Second

// ErrNoConnection is returned when an envelope is sent while no Socket Mode
// connection is open.
var ErrNoConnection = errors.New("slackfake: no open Socket Mode connection")

// ConnInfo describes one Socket Mode websocket, open or closed.
type ConnInfo struct {
	ID       int // 1, 2, ... in opening order
	Ticket   string
	OpenedAt time.Time
	ClosedAt time.Time // zero while open
	Open     bool
	Pings    []time.Time // websocket pings sent by the fake
	Pongs    []time.Time // pongs received from the client
	// CloseCause is why the fake saw it close: "disconnect:<reason>",
	// "dropped", "server closed", or the read error.
	CloseCause string
}

// Envelope is a Socket Mode envelope the fake sent, and its ack if any.
type Envelope struct {
	ID          string
	Type        string // slash_commands, interactive, events_api
	Payload     json.RawMessage
	ConnID      int
	SentAt      time.Time
	ResponseURL string
	Ack         *Ack
}

// Ack is the client's acknowledgement of an envelope.
type Ack struct {
	EnvelopeID  string
	ConnID      int
	ResponseURL string // the envelope's response_url, if it had one
	SentAt      time.Time
	AckedAt     time.Time
	Latency     time.Duration // AckedAt - SentAt
	// Payload is the ack's optional payload (e.g. an immediate slash command
	// response), nil without one.
	Payload json.RawMessage
}

type wsConn struct {
	s       *Server
	id      int
	c       *websocket.Conn
	writeMu sync.Mutex
	done    chan struct{}
	info    ConnInfo // guarded by s.mu
	cause   string   // guarded by s.mu: set before a deliberate close
}

func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (s *Server) handleSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	switch {
	case s.down || s.closed:
		s.mu.Unlock()
		writeDown(w)
		return
	case !s.tickets[ticket]:
		s.mu.Unlock()
		s.logf("socket: refused unknown or used ticket %q", ticket)
		http.Error(w, "invalid_ticket", http.StatusUnauthorized)
		return
	}
	delete(s.tickets, ticket)
	s.mu.Unlock()

	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		s.logf("socket: upgrade: %v", err)
		return
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = c.Close()
		return
	}
	wc := &wsConn{s: s, id: len(s.conns) + 1, c: c, done: make(chan struct{})}
	wc.info = ConnInfo{ID: wc.id, Ticket: ticket, OpenedAt: time.Now(), Open: true}
	s.conns = append(s.conns, wc)
	live := s.liveConnsLocked()
	s.wg.Add(2)
	s.notifyLocked()
	s.mu.Unlock()
	s.logf("socket: connection %d open (%d live)", wc.id, len(live))

	c.SetPongHandler(func(string) error {
		s.mu.Lock()
		wc.info.Pongs = append(wc.info.Pongs, time.Now())
		s.notifyLocked()
		s.mu.Unlock()
		return nil
	})
	hello := map[string]any{
		"type":            "hello",
		"num_connections": len(live),
		"debug_info": map[string]any{
			"host":                        "applink-fake-" + strconv.Itoa(wc.id),
			"build_number":                1,
			"approximate_connection_time": 18060,
		},
		"connection_info": map[string]any{"app_id": s.opts.AppID},
	}
	if err := wc.writeJSON(hello); err != nil {
		s.logf("socket: hello on %d: %v", wc.id, err)
	}
	go wc.pinger(s.opts.PingInterval)
	wc.readLoop()
}

func (s *Server) liveConnsLocked() []*wsConn {
	var out []*wsConn
	for _, c := range s.conns {
		if c.info.Open {
			out = append(out, c)
		}
	}
	return out
}

func (wc *wsConn) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	wc.writeMu.Lock()
	defer wc.writeMu.Unlock()
	_ = wc.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return wc.c.WriteMessage(websocket.TextMessage, b)
}

func (wc *wsConn) pinger(interval time.Duration) {
	defer wc.s.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-wc.done:
			return
		case <-t.C:
		}
		if err := wc.c.WriteControl(websocket.PingMessage, []byte("ping-"+strconv.Itoa(n)), time.Now().Add(5*time.Second)); err != nil {
			return
		}
		wc.s.mu.Lock()
		wc.info.Pings = append(wc.info.Pings, time.Now())
		wc.s.notifyLocked()
		wc.s.mu.Unlock()
	}
}

func (wc *wsConn) readLoop() {
	s := wc.s
	defer s.wg.Done()
	var err error
	for {
		var data []byte
		if _, data, err = wc.c.ReadMessage(); err != nil {
			break
		}
		s.handleFrame(wc, data)
	}
	_ = wc.c.Close()
	s.mu.Lock()
	wc.info.Open = false
	wc.info.ClosedAt = time.Now()
	wc.info.CloseCause = wc.cause
	if wc.info.CloseCause == "" {
		wc.info.CloseCause = err.Error()
	}
	close(wc.done)
	s.notifyLocked()
	s.mu.Unlock()
	s.logf("socket: connection %d closed: %s", wc.id, wc.info.CloseCause)
}

// handleFrame takes an ack: {"envelope_id": "...", "payload": {...}}.
func (s *Server) handleFrame(wc *wsConn, data []byte) {
	var ack struct {
		EnvelopeID string          `json:"envelope_id"`
		Payload    json.RawMessage `json:"payload"`
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := json.Unmarshal(data, &ack); err != nil || ack.EnvelopeID == "" {
		s.strayAcks = append(s.strayAcks, slices.Clone(data))
		s.notifyLocked()
		return
	}
	// The envelope is the one sent on this connection, or else the first
	// one pending with that ID: a redelivery on another connection shares
	// its ID.
	var env *Envelope
	for _, e := range s.envelopes {
		if e.ID != ack.EnvelopeID || e.Ack != nil {
			continue
		}
		if e.ConnID == wc.id {
			env = e
			break
		}
		if env == nil {
			env = e
		}
	}
	if env != nil {
		a := &Ack{
			EnvelopeID: env.ID, ConnID: wc.id, ResponseURL: env.ResponseURL,
			SentAt: env.SentAt, AckedAt: now, Latency: now.Sub(env.SentAt),
		}
		if len(ack.Payload) > 0 && string(ack.Payload) != "null" {
			a.Payload = slices.Clone(ack.Payload)
		}
		env.Ack = a
		s.notifyLocked()
		return
	}
	s.strayAcks = append(s.strayAcks, slices.Clone(data))
	s.notifyLocked()
}

// Delivery says how an envelope travels. Slack sends each envelope on
// one of the app's open connections and, when it gets no ack in time,
// delivers it again — possibly on another connection (another replica of
// the app) — under the same envelope ID. The zero Delivery is the
// ordinary case: the newest open connection, a new envelope ID.
type Delivery struct {
	ConnID     int    // the connection (ConnInfo.ID); 0: the newest open one
	EnvelopeID string // "": a new one; an earlier envelope's ID: a redelivery of it
}

// OpenConnections lists the IDs of the open Socket Mode connections,
// oldest first.
func (s *Server) OpenConnections() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int
	for _, c := range s.liveConnsLocked() {
		ids = append(ids, c.id)
	}
	return ids
}

// sendEnvelope sends an envelope on the newest open connection and waits
// for its ack.
func (s *Server) sendEnvelope(ctx context.Context, typ string, payload any, acceptsResponse bool, responseURL string) (Ack, error) {
	return s.sendEnvelopeVia(ctx, Delivery{}, typ, payload, acceptsResponse, responseURL)
}

// sendEnvelopeVia sends an envelope as d says and waits for its ack on
// that connection.
func (s *Server) sendEnvelopeVia(ctx context.Context, d Delivery, typ string, payload any, acceptsResponse bool, responseURL string) (Ack, error) {
	pl, err := json.Marshal(payload)
	if err != nil {
		return Ack{}, err
	}
	s.mu.Lock()
	live := s.liveConnsLocked()
	if len(live) == 0 {
		s.mu.Unlock()
		return Ack{}, ErrNoConnection
	}
	wc := live[len(live)-1]
	if d.ConnID != 0 {
		wc = nil
		for _, c := range live {
			if c.id == d.ConnID {
				wc = c
			}
		}
		if wc == nil {
			s.mu.Unlock()
			return Ack{}, fmt.Errorf("slackfake: Socket Mode connection %d is not open", d.ConnID)
		}
	}
	id := d.EnvelopeID
	if id == "" {
		id = randomUUID()
	}
	env := &Envelope{ID: id, Type: typ, Payload: pl, ConnID: wc.id, SentAt: time.Now(), ResponseURL: responseURL}
	s.envelopes = append(s.envelopes, env)
	s.notifyLocked()
	s.mu.Unlock()

	msg := map[string]any{
		"envelope_id":              env.ID,
		"payload":                  json.RawMessage(pl),
		"type":                     typ,
		"accepts_response_payload": acceptsResponse,
	}
	if typ == "events_api" {
		msg["retry_attempt"] = 0
		msg["retry_reason"] = ""
	}
	if err := wc.writeJSON(msg); err != nil {
		return Ack{}, fmt.Errorf("slackfake: sending %s envelope on connection %d: %w", typ, wc.id, err)
	}
	s.logf("socket: sent %s envelope %s on connection %d", typ, env.ID, wc.id)
	for {
		s.mu.Lock()
		ch := s.changed
		ack, open := env.Ack, wc.info.Open
		s.mu.Unlock()
		if ack != nil {
			return *ack, nil
		}
		if !open {
			return Ack{}, fmt.Errorf("slackfake: connection %d closed before %s envelope %s was acked", wc.id, typ, env.ID)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return Ack{}, fmt.Errorf("slackfake: waiting for the ack of %s envelope %s: %w", typ, env.ID, ctx.Err())
		}
	}
}

// Disconnect sends {"type":"disconnect","reason":reason,...} on every open
// connection, as Slack does before recycling them ("refresh_requested",
// "link_disabled"), then closes them and returns once they are closed. With
// reason "warning" (Slack's advance notice) it only sends the message.
func (s *Server) Disconnect(reason string) {
	s.mu.Lock()
	live := s.liveConnsLocked()
	s.mu.Unlock()
	msg := map[string]any{
		"type":   "disconnect",
		"reason": reason,
	}
	for _, wc := range live {
		msg["debug_info"] = map[string]any{"host": "applink-fake-" + strconv.Itoa(wc.id)}
		if err := wc.writeJSON(msg); err != nil {
			s.logf("socket: disconnect on %d: %v", wc.id, err)
		}
	}
	if reason == "warning" {
		return
	}
	for _, wc := range live {
		s.mu.Lock()
		wc.cause = "disconnect:" + reason
		s.mu.Unlock()
		_ = wc.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, reason), time.Now().Add(time.Second))
	}
	for _, wc := range live {
		select {
		case <-wc.done:
		case <-time.After(2 * time.Second):
			wc.abort()
			<-wc.done
		}
	}
}

// DropConnections closes every open connection abruptly (no close frame,
// no disconnect message), like a network failure, and returns once they are
// closed.
func (s *Server) DropConnections() {
	s.mu.Lock()
	live := s.liveConnsLocked()
	for _, wc := range live {
		wc.cause = "dropped"
	}
	s.mu.Unlock()
	for _, wc := range live {
		wc.abort()
		<-wc.done
	}
}

func (wc *wsConn) abort() {
	wc.s.mu.Lock()
	if wc.cause == "" {
		wc.cause = "server closed"
	}
	wc.s.mu.Unlock()
	_ = wc.c.Close()
}

// Connections is the number of open Socket Mode connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.liveConnsLocked())
}

// ConnectionLog lists every Socket Mode connection ever opened, oldest first.
func (s *Server) ConnectionLog() []ConnInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ConnInfo
	for _, c := range s.conns {
		i := c.info
		i.Pings = slices.Clone(i.Pings)
		i.Pongs = slices.Clone(i.Pongs)
		out = append(out, i)
	}
	return out
}

// Envelopes lists every envelope sent, oldest first.
func (s *Server) Envelopes() []Envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Envelope
	for _, e := range s.envelopes {
		c := *e
		if e.Ack != nil {
			a := *e.Ack
			c.Ack = &a
		}
		out = append(out, c)
	}
	return out
}

// StrayFrames lists frames the client sent that were not the ack of a
// pending envelope (unknown or repeated envelope_id, not JSON...).
func (s *Server) StrayFrames() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.strayAcks)
}
