// Package slackfake is an in-process fake of Slack for tests: the Web API
// (form or JSON bodies, bearer or form tokens, `ok`/`error` answers, HTTP 429
// with Retry-After, Block Kit validation, message metadata, timestamps that
// are times, paged conversations.history), the files upload V2 flow, Socket
// Mode (apps.connections.open, a websocket that says hello, pings, carries
// envelopes and takes acks, disconnects), response_url hooks, and the signed
// HTTP requests Slack sends to an app's own endpoints.
//
// It speaks Slack's real protocols closely enough that the unmodified
// github.com/slack-go/slack client and its socketmode package work against it:
//
//	fake := slackfake.New(slackfake.Options{Logf: t.Logf})
//	t.Cleanup(fake.Close)
//	api := slack.New(fake.BotToken(), slack.OptionAPIURL(fake.APIURL()),
//		slack.OptionAppLevelToken(fake.AppToken()))
//	sm := socketmode.New(api)
//
// Everything the fake sees is recorded (calls, messages, files, acks,
// connections) and every change wakes WaitFor, so tests wait on conditions,
// never on sleeps.
package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Defaults for the zero Options.
const (
	DefaultBotToken          = "xoxb-0000000000-fake-bot-token"
	DefaultAppToken          = "xapp-1-A0FAKEAPP-0000-fake-app-token"
	DefaultBotUserID         = "U0FAKEBOT"
	DefaultBotID             = "B0FAKEBOT"
	DefaultTeamID            = "T0FAKETEAM"
	DefaultTeamDomain        = "fake"
	DefaultAppID             = "A0FAKEAPP"
	DefaultVerificationToken = "fakeverificationtoken"
	DefaultPingInterval      = 5 * time.Second
)

// UploadMethod is the method name under which POSTs to the upload URLs handed
// out by files.getUploadURLExternal are recorded (Calls, RateLimit, FailNext).
const UploadMethod = "upload"

// ResponseURLMethod is the method name under which POSTs to response URLs are
// recorded in Calls.
const ResponseURLMethod = "response_url"

// Options configures a fake. Zero fields take the Default* values.
type Options struct {
	BotToken  string // xoxb-...: accepted by every method but apps.connections.open
	AppToken  string // xapp-...: accepted by apps.connections.open only
	BotUserID string // the bot's user ID (author of its messages, target of mentions)
	BotID     string // the bot's B... ID, as in bot messages' bot_id
	TeamID    string
	AppID     string
	// VerificationToken is the deprecated "token" field Slack still puts in
	// slash command, interaction and event payloads.
	VerificationToken string
	// PingInterval is how often each Socket Mode connection gets a websocket
	// ping (slack-go drops a connection that has no ping for 30 s). Default 5 s.
	PingInterval time.Duration
	// Logf, if set, receives a line per request and notable event.
	Logf func(format string, args ...any)
}

// Server is a running fake. All methods are safe for concurrent use.
type Server struct {
	opts Options
	ts   *httptest.Server

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	closed  bool

	seq       int   // for IDs
	lastTS    int64 // of the last message, in µs
	calls     []Call
	down      bool
	rate      map[string]*rateLimit
	failNext  map[string][]string
	hold      map[string][]time.Duration // answers to hold back, per method (HoldNextAnswer)
	messages  map[string][]*Message      // per channel, in ts order
	ephemeral map[string][]*Ephemeral
	files     []*File
	groups    map[string][]string
	users     map[string]User
	tickets   map[string]bool // unused apps.connections.open tickets
	conns     []*wsConn
	envelopes []*Envelope
	strayAcks []json.RawMessage
	hooks     map[string]*hook // response URLs by path
	hookOrder []string

	wg sync.WaitGroup // socket goroutines
}

type rateLimit struct {
	times      int
	retryAfter time.Duration
}

// Call is one request to a Web API method (or to an upload or response URL,
// under UploadMethod / ResponseURLMethod), accepted or not.
type Call struct {
	Method      string
	Time        time.Time
	Params      url.Values // query + form fields, or JSON fields (non-strings JSON-encoded)
	Body        []byte     // raw request body (empty for uploads, see File.Content)
	ContentType string
	Token       string // from the Authorization header or the token field
	// HTTPStatus is the status the fake answered (200, 429, 503, ...).
	HTTPStatus int
	// Error is the Slack error code answered ("" when ok).
	Error string
	// RetryAfter is set on 429 answers.
	RetryAfter time.Duration
}

// OK reports whether the call was answered with HTTP 200 and ok=true.
func (c Call) OK() bool { return c.HTTPStatus == http.StatusOK && c.Error == "" }

// Message is a message in a channel, as the fake stores it.
type Message struct {
	Channel        string
	TS             string
	ThreadTS       string // "" for a top-level message without replies; root's ts for replies
	User           string // the bot's user ID for the bot's messages
	BotID          string // set on the bot's messages
	Text           string
	Blocks         json.RawMessage // raw JSON array, nil without blocks
	ReplyBroadcast bool
	Files          []string // file IDs shared with this message
	Reactions      []Reaction
	Revisions      []Revision // every version, the first being the original post
	Deleted        bool
	Via            string // chat.postMessage, response_url, files.completeUploadExternal, user, ...
	Time           time.Time
	// Metadata is the message metadata ({"event_type": ..., "event_payload":
	// {...}}) set by chat.postMessage or chat.update, nil without;
	// conversations.history and .replies return it with include_all_metadata.
	Metadata json.RawMessage
}

// Reaction is an emoji reaction on a message.
type Reaction struct {
	Name  string
	Users []string
}

// Revision is one version of a message's content.
type Revision struct {
	Time   time.Time
	Text   string
	Blocks json.RawMessage
	Via    string
}

// IsReply reports whether the message is a reply in a thread.
func (m Message) IsReply() bool { return m.ThreadTS != "" && m.ThreadTS != m.TS }

// Ephemeral is an ephemeral message, visible to User only.
type Ephemeral struct {
	Channel   string
	User      string // the recipient
	TS        string
	ThreadTS  string
	Text      string
	Blocks    json.RawMessage
	Revisions []Revision
	Deleted   bool
	Via       string // chat.postEphemeral or response_url
	Time      time.Time
}

// File is a file uploaded through the V2 flow.
type File struct {
	ID             string
	Name           string // filename given to files.getUploadURLExternal
	Length         int    // length declared to files.getUploadURLExternal
	AltText        string // alt_txt given to files.getUploadURLExternal
	UploadURL      string
	Content        []byte
	Uploaded       bool // content POSTed to UploadURL
	Completed      bool // files.completeUploadExternal called
	Title          string
	Channel        string
	ThreadTS       string
	InitialComment string
	MessageTS      string // ts of the message that shares it
	Time           time.Time
}

// User is what users.info answers for a user ID.
type User struct {
	ID       string
	Name     string
	RealName string
	IsBot    bool
	Deleted  bool
	TZ       string
}

// New starts a fake on 127.0.0.1. Close it when done.
func New(opts Options) *Server {
	if opts.BotToken == "" {
		opts.BotToken = DefaultBotToken
	}
	if opts.AppToken == "" {
		opts.AppToken = DefaultAppToken
	}
	if opts.BotUserID == "" {
		opts.BotUserID = DefaultBotUserID
	}
	if opts.BotID == "" {
		opts.BotID = DefaultBotID
	}
	if opts.TeamID == "" {
		opts.TeamID = DefaultTeamID
	}
	if opts.AppID == "" {
		opts.AppID = DefaultAppID
	}
	if opts.VerificationToken == "" {
		opts.VerificationToken = DefaultVerificationToken
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = DefaultPingInterval
	}
	s := &Server{
		opts:      opts,
		changed:   make(chan struct{}),
		rate:      map[string]*rateLimit{},
		failNext:  map[string][]string{},
		hold:      map[string][]time.Duration{},
		messages:  map[string][]*Message{},
		ephemeral: map[string][]*Ephemeral{},
		groups:    map[string][]string{},
		users:     map[string]User{},
		tickets:   map[string]bool{},
		hooks:     map[string]*hook{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.handleAPI)
	mux.HandleFunc("/upload/", s.handleUpload)
	mux.HandleFunc("/link/", s.handleSocket)
	mux.HandleFunc("/commands/", s.handleResponseURL)
	mux.HandleFunc("/actions/", s.handleResponseURL)
	s.ts = httptest.NewServer(mux)
	return s
}

// Close drops every Socket Mode connection and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conns := slices.Clone(s.conns)
	s.notifyLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.abort()
	}
	s.wg.Wait()
	s.ts.Close()
}

// URL is the fake's base URL (http://127.0.0.1:port).
func (s *Server) URL() string { return s.ts.URL }

// APIURL is the Web API base, ending in /api/, for slack.OptionAPIURL.
func (s *Server) APIURL() string { return s.ts.URL + "/api/" }

// BotToken is the bot token the fake accepts.
func (s *Server) BotToken() string { return s.opts.BotToken }

// AppToken is the app-level token the fake accepts for apps.connections.open.
func (s *Server) AppToken() string { return s.opts.AppToken }

// BotUserID is the bot's user ID.
func (s *Server) BotUserID() string { return s.opts.BotUserID }

// TeamID is the workspace ID.
func (s *Server) TeamID() string { return s.opts.TeamID }

// AppID is the app's ID.
func (s *Server) AppID() string { return s.opts.AppID }

// VerificationToken is the token field put in payloads.
func (s *Server) VerificationToken() string { return s.opts.VerificationToken }

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf == nil {
		return
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if !closed {
		s.opts.Logf("slackfake: "+format, args...)
	}
}

// notifyLocked wakes every WaitFor. s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// WaitFor returns nil as soon as cond returns true, re-evaluating it after
// every change the fake records (call, message, ack, connection, ping...),
// or ctx's error (with how long it waited) when ctx is done first. cond is
// called without any lock held and may use every accessor.
func (s *Server) WaitFor(ctx context.Context, cond func(*Server) bool) error {
	start := time.Now()
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond(s) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if cond(s) {
				return nil
			}
			return fmt.Errorf("slackfake: condition not met after %s: %w", time.Since(start).Round(time.Millisecond), ctx.Err())
		}
	}
}

// nextTSLocked hands out message timestamps as Slack does: the time of
// posting in microseconds ("1764237600.123456"), unique and increasing (a
// microsecond later than the previous one if the clock has not moved), so
// that conversations.history's oldest and latest bounds mean times.
func (s *Server) nextTSLocked() string {
	us := max(time.Now().UnixMicro(), s.lastTS+1)
	s.lastTS = us
	return fmt.Sprintf("%d.%06d", us/1_000_000, us%1_000_000)
}

func (s *Server) nextIDLocked(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%08d", prefix, s.seq)
}

// SetDown simulates an outage: while down, every Web API, upload and
// response URL request answers HTTP 503 (still recorded) and the Socket Mode
// endpoint refuses new websockets. Existing connections stay up; call
// DropConnections as well for a full outage.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
	s.notifyLocked()
}

// RateLimit makes the next `times` calls of method answer HTTP 429 with
// Retry-After (whole seconds, rounded up) and {"ok":false,"error":"ratelimited"}.
// It replaces any pending rate limit on method.
func (s *Server) RateLimit(method string, times int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate[method] = &rateLimit{times: times, retryAfter: retryAfter}
}

// FailNext makes the next call of method answer {"ok":false,"error":errCode}
// (HTTP 200, as Slack does). Calls queue: FailNext twice fails the next two.
func (s *Server) FailNext(method, errCode string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext[method] = append(s.failNext[method], errCode)
}

// HoldNextAnswer makes the next call of method take effect at once (a
// message posted is in the channel) but holds its answer back for d, or
// until the caller gives up: a caller that dies meanwhile never learns
// what it did (chat.postMessage's ts). Holds queue like FailNext's.
func (s *Server) HoldNextAnswer(method string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold[method] = append(s.hold[method], d)
}

// SetUsergroup sets the members usergroups.users.list answers for id.
func (s *Server) SetUsergroup(id string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[id] = slices.Clone(users)
	s.notifyLocked()
}

// SetUser sets what users.info answers for u.ID. Users not set get a
// synthesized profile (name = lower-cased ID).
func (s *Server) SetUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// Calls returns the recorded calls of method ("" for every call), oldest first.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			c.Params = cloneValues(c.Params)
			out = append(out, c)
		}
	}
	return out
}

// Messages returns the channel's live (not deleted) messages, top-level and
// replies alike, in ts order.
func (s *Server) Messages(channel string) []Message {
	return s.messagesWhere(channel, func(m *Message) bool { return !m.Deleted })
}

// AllMessages is Messages including deleted ones.
func (s *Server) AllMessages(channel string) []Message {
	return s.messagesWhere(channel, func(*Message) bool { return true })
}

// Thread returns the thread's live root and replies, in ts order. ts may be
// the root's or a reply's.
func (s *Server) Thread(channel, ts string) []Message {
	s.mu.Lock()
	root := ts
	if m := s.findLocked(channel, ts); m != nil && m.IsReply() {
		root = m.ThreadTS
	}
	s.mu.Unlock()
	return s.messagesWhere(channel, func(m *Message) bool {
		return !m.Deleted && (m.TS == root || m.ThreadTS == root)
	})
}

// Message returns the message with ts in channel, deleted or not.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.findLocked(channel, ts); m != nil {
		return copyMessage(m), true
	}
	return Message{}, false
}

func (s *Server) messagesWhere(channel string, keep func(*Message) bool) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages[channel] {
		if keep(m) {
			out = append(out, copyMessage(m))
		}
	}
	return out
}

// Ephemerals returns the channel's ephemeral messages (all recipients).
func (s *Server) Ephemerals(channel string) []Ephemeral {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Ephemeral
	for _, e := range s.ephemeral[channel] {
		c := *e
		c.Revisions = slices.Clone(e.Revisions)
		out = append(out, c)
	}
	return out
}

// Files returns the files seen by the upload flow, in creation order.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []File
	for _, f := range s.files {
		c := *f
		c.Content = slices.Clone(f.Content)
		out = append(out, c)
	}
	return out
}

func copyMessage(m *Message) Message {
	c := *m
	c.Files = slices.Clone(m.Files)
	c.Metadata = slices.Clone(m.Metadata)
	c.Revisions = slices.Clone(m.Revisions)
	c.Reactions = nil
	for _, r := range m.Reactions {
		c.Reactions = append(c.Reactions, Reaction{Name: r.Name, Users: slices.Clone(r.Users)})
	}
	return c
}
