package slackfake

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Response URL limits: Slack accepts up to 5 posts within 30 minutes.
const (
	MaxResponseURLUses   = 5
	ResponseURLLifetime  = 30 * time.Minute
	slackUserAgent       = "Slackbot 1.0 (+https://api.slack.com/robots)"
	formContentType      = "application/x-www-form-urlencoded"
	jsonContentType      = "application/json"
	signatureHeader      = "X-Slack-Signature"
	signatureTSHeader    = "X-Slack-Request-Timestamp"
	signatureVersionPref = "v0"
)

// SlashCommand is what a user typed. Empty fields get defaults: TeamID and
// APIAppID from the fake, TeamDomain "fake", UserName and ChannelName
// derived from the IDs, a fresh TriggerID, and a fresh ResponseURL on the fake.
type SlashCommand struct {
	Command             string // "/mf"
	Text                string // "status"
	UserID              string
	UserName            string
	ChannelID           string
	ChannelName         string
	TeamID              string
	TeamDomain          string
	EnterpriseID        string
	EnterpriseName      string
	IsEnterpriseInstall bool
	APIAppID            string
	TriggerID           string
	ResponseURL         string
}

// ResponsePost is one POST to a response URL.
type ResponsePost struct {
	Time            time.Time
	Body            []byte
	Text            string
	Blocks          json.RawMessage
	ResponseType    string // "ephemeral" (default) or "in_channel"
	ReplaceOriginal bool
	DeleteOriginal  bool
	ThreadTS        string
	HTTPStatus      int
	Error           string // "" when accepted
	// MessageTS is the ts of the message (or ephemeral) it posted, replaced
	// or deleted.
	MessageTS string
}

// hook is a response URL.
type hook struct {
	url       string
	kind      string // "command" or "action"
	channel   string
	user      string
	threadTS  string
	origTS    string // message the interaction came from / last command response
	origEph   bool
	created   time.Time
	posts     []ResponsePost
	acceptedN int
}

func (s *Server) newHookLocked(kind, channel, user, threadTS, origTS string, origEph bool) *hook {
	dir := "commands"
	if kind == "action" {
		dir = "actions"
	}
	s.seq++
	path := fmt.Sprintf("/%s/%s/%d/%s", dir, s.opts.TeamID, 1000000+s.seq, strings.ReplaceAll(randomUUID(), "-", "")[:24])
	h := &hook{url: s.ts.URL + path, kind: kind, channel: channel, user: user, threadTS: threadTS, origTS: origTS, origEph: origEph, created: time.Now()}
	s.hooks[path] = h
	s.hookOrder = append(s.hookOrder, h.url)
	return h
}

// ResponseURLs lists every response URL handed out, oldest first.
func (s *Server) ResponseURLs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.hookOrder...)
}

// ResponsePosts returns the POSTs made to a response URL (full URL or path).
func (s *Server) ResponsePosts(responseURL string) []ResponsePost {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hooks[strings.TrimPrefix(responseURL, s.ts.URL)]
	if h == nil {
		return nil
	}
	return append([]ResponsePost(nil), h.posts...)
}

func (s *Server) handleResponseURL(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	post := ResponsePost{Time: time.Now(), Body: body, HTTPStatus: http.StatusOK}
	var msg struct {
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
		ResponseType    string          `json:"response_type"`
		ReplaceOriginal bool            `json:"replace_original"`
		DeleteOriginal  bool            `json:"delete_original"`
		ThreadTS        string          `json:"thread_ts"`
	}
	jsonErr := json.Unmarshal(body, &msg)
	post.Text, post.ResponseType, post.ReplaceOriginal, post.DeleteOriginal, post.ThreadTS =
		msg.Text, msg.ResponseType, msg.ReplaceOriginal, msg.DeleteOriginal, msg.ThreadTS

	s.mu.Lock()
	h := s.hooks[r.URL.Path]
	fail := func(status int, code string) {
		post.HTTPStatus, post.Error = status, code
	}
	switch {
	case s.down:
		fail(http.StatusServiceUnavailable, "service_unavailable")
	case h == nil:
		fail(http.StatusNotFound, "no_such_url")
	case r.Method != http.MethodPost:
		fail(http.StatusMethodNotAllowed, "method_not_allowed")
	case time.Since(h.created) > ResponseURLLifetime:
		fail(http.StatusNotFound, "expired_url")
	case h.acceptedN >= MaxResponseURLUses:
		fail(http.StatusNotFound, "used_url")
	case jsonErr != nil:
		fail(http.StatusBadRequest, "invalid_payload")
	default:
		if e := s.applyResponseLocked(h, &post, msg.Blocks); e != nil {
			fail(http.StatusBadRequest, e.code)
		} else {
			h.acceptedN++
		}
	}
	if h != nil {
		h.posts = append(h.posts, post)
	}
	s.calls = append(s.calls, Call{
		Method: ResponseURLMethod, Time: post.Time, Params: url.Values{"url": {r.URL.Path}}, Body: body,
		ContentType: r.Header.Get("Content-Type"), HTTPStatus: post.HTTPStatus, Error: post.Error,
	})
	s.notifyLocked()
	s.mu.Unlock()

	s.logf("response_url %s -> %d %s", r.URL.Path, post.HTTPStatus, post.Error)
	switch post.HTTPStatus {
	case http.StatusOK:
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	case http.StatusServiceUnavailable:
		writeDown(w)
	default:
		// Like incoming webhooks, response URLs answer errors as plain text.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(post.HTTPStatus)
		_, _ = io.WriteString(w, post.Error)
	}
}

// applyResponseLocked applies a response URL post to the message store.
func (s *Server) applyResponseLocked(h *hook, post *ResponsePost, rawBlocks json.RawMessage) *apiError {
	if post.DeleteOriginal {
		if h.origTS == "" {
			return nil
		}
		if h.origEph {
			if e := s.findEphemeralLocked(h.channel, h.origTS); e != nil {
				e.Deleted = true
			}
		} else if m := s.findLocked(h.channel, h.origTS); m != nil {
			m.Deleted = true
		}
		post.MessageTS = h.origTS
		s.notifyLocked()
		return nil
	}
	blocksStr := ""
	if len(rawBlocks) > 0 && string(rawBlocks) != "null" {
		blocksStr = string(rawBlocks)
	}
	blocks, e := checkContent(post.Text, blocksStr, true)
	if e != nil {
		return e
	}
	post.Blocks = blocks
	threadTS := post.ThreadTS
	if threadTS == "" {
		threadTS = h.threadTS
	}
	if post.ReplaceOriginal && h.origTS != "" {
		if h.origEph {
			if eph := s.findEphemeralLocked(h.channel, h.origTS); eph != nil {
				eph.Text, eph.Blocks = post.Text, blocks
				eph.Revisions = append(eph.Revisions, Revision{Time: time.Now(), Text: post.Text, Blocks: blocks, Via: ResponseURLMethod})
				post.MessageTS = eph.TS
				s.notifyLocked()
				return nil
			}
		} else if m := s.findLocked(h.channel, h.origTS); m != nil && !m.Deleted {
			s.reviseLocked(m, post.Text, blocks, ResponseURLMethod)
			post.MessageTS = m.TS
			return nil
		}
	}
	if post.ResponseType == "in_channel" {
		m := s.addMessageLocked(s.botMessage(h.channel, threadTS, post.Text, blocks, ResponseURLMethod))
		post.MessageTS = m.TS
		if h.kind == "command" {
			h.origTS, h.origEph = m.TS, false
		}
		return nil
	}
	eph := s.addEphemeralLocked(h.channel, h.user, threadTS, post.Text, blocks, ResponseURLMethod)
	post.MessageTS = eph.TS
	if h.kind == "command" {
		h.origTS, h.origEph = eph.TS, true
	}
	return nil
}

// --- slash commands ---

func (s *Server) fillSlashLocked(cmd SlashCommand) SlashCommand {
	if cmd.TeamID == "" {
		cmd.TeamID = s.opts.TeamID
	}
	if cmd.TeamDomain == "" {
		cmd.TeamDomain = DefaultTeamDomain
	}
	if cmd.UserName == "" {
		cmd.UserName = s.userLocked(cmd.UserID).Name
	}
	if cmd.ChannelName == "" {
		cmd.ChannelName = channelName(cmd.ChannelID)
	}
	if cmd.APIAppID == "" {
		cmd.APIAppID = s.opts.AppID
	}
	if cmd.TriggerID == "" {
		cmd.TriggerID = s.triggerIDLocked()
	}
	if cmd.ResponseURL == "" {
		cmd.ResponseURL = s.newHookLocked("command", cmd.ChannelID, cmd.UserID, "", "", false).url
	}
	return cmd
}

func (s *Server) triggerIDLocked() string {
	s.seq++
	return fmt.Sprintf("%d.%d.%s", 1700000000+s.seq, 4242424242, strings.ReplaceAll(randomUUID(), "-", "")[:32])
}

// slashFields are the slash command's fields in the order Slack sends them.
func (s *Server) slashFields(cmd SlashCommand) [][2]string {
	f := [][2]string{
		{"token", s.opts.VerificationToken},
		{"team_id", cmd.TeamID},
		{"team_domain", cmd.TeamDomain},
	}
	if cmd.EnterpriseID != "" {
		f = append(f, [2]string{"enterprise_id", cmd.EnterpriseID}, [2]string{"enterprise_name", cmd.EnterpriseName})
	}
	return append(f,
		[2]string{"channel_id", cmd.ChannelID},
		[2]string{"channel_name", cmd.ChannelName},
		[2]string{"user_id", cmd.UserID},
		[2]string{"user_name", cmd.UserName},
		[2]string{"command", cmd.Command},
		[2]string{"text", cmd.Text},
		[2]string{"api_app_id", cmd.APIAppID},
		[2]string{"is_enterprise_install", strconv.FormatBool(cmd.IsEnterpriseInstall)},
		[2]string{"response_url", cmd.ResponseURL},
		[2]string{"trigger_id", cmd.TriggerID},
	)
}

// SendSlashCommand sends a slash_commands envelope on the newest Socket Mode
// connection and waits for the ack. Ack.ResponseURL is the command's
// response URL.
func (s *Server) SendSlashCommand(ctx context.Context, cmd SlashCommand) (Ack, error) {
	s.mu.Lock()
	cmd = s.fillSlashLocked(cmd)
	s.mu.Unlock()
	payload := map[string]string{}
	for _, kv := range s.slashFields(cmd) {
		payload[kv[0]] = kv[1]
	}
	return s.sendEnvelope(ctx, "slash_commands", payload, true, cmd.ResponseURL)
}

// SignedSlashCommand builds the HTTP request Slack POSTs to an app's slash
// command URL: the form body and its headers (Content-Type, v0 signature
// with secret at ts). A fresh response URL on the fake is in the body's
// response_url unless cmd sets one.
func (s *Server) SignedSlashCommand(secret string, cmd SlashCommand, ts time.Time) (string, http.Header) {
	s.mu.Lock()
	cmd = s.fillSlashLocked(cmd)
	s.mu.Unlock()
	var b strings.Builder
	for i, kv := range s.slashFields(cmd) {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[0]) + "=" + url.QueryEscape(kv[1]))
	}
	body := b.String()
	return body, signedHeaders(secret, ts, body, formContentType)
}

// Sign returns Slack's signature headers for body sent at ts:
// X-Slack-Request-Timestamp and X-Slack-Signature v0=hex(hmac_sha256(secret,
// "v0:"+ts+":"+body)).
func Sign(secret string, ts time.Time, body string) http.Header {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	_, _ = io.WriteString(mac, signatureVersionPref+":"+stamp+":"+body)
	h := http.Header{}
	h.Set(signatureTSHeader, stamp)
	h.Set(signatureHeader, signatureVersionPref+"="+hex.EncodeToString(mac.Sum(nil)))
	return h
}

func signedHeaders(secret string, ts time.Time, body, contentType string) http.Header {
	h := Sign(secret, ts, body)
	h.Set("Content-Type", contentType)
	h.Set("User-Agent", slackUserAgent)
	return h
}

// --- interactions ---

// ButtonClick builds the block_actions payload Slack sends when userID
// clicks the button with actionID on the stored message (or ephemeral
// message) channel/messageTS, with a fresh response URL. value, if not
// empty, picks among buttons sharing actionID; the payload carries the
// button's stored value, as Slack does. It fails if the message has no such
// button.
func (s *Server) ButtonClick(channel, messageTS, actionID, value, userID string) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var (
		blocks   json.RawMessage
		threadTS string
		msgJSON  map[string]any
		eph      bool
	)
	if m := s.findLocked(channel, messageTS); m != nil && !m.Deleted {
		blocks = m.Blocks
		if m.IsReply() {
			threadTS = m.ThreadTS
		}
		msgJSON = s.messageJSONLocked(m)
	} else if e := s.findEphemeralLocked(channel, messageTS); e != nil && !e.Deleted {
		blocks, threadTS, eph = e.Blocks, e.ThreadTS, true
	} else {
		return nil, fmt.Errorf("slackfake: no message %s in channel %s", messageTS, channel)
	}
	withIDs, action, err := findButton(blocks, messageTS, actionID, value)
	if err != nil {
		return nil, fmt.Errorf("slackfake: message %s in %s: %w", messageTS, channel, err)
	}
	if msgJSON != nil {
		msgJSON["blocks"] = withIDs
	}
	now := time.Now()
	action["action_ts"] = fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)
	u := s.userLocked(userID)
	h := s.newHookLocked("action", channel, userID, threadTS, messageTS, eph)
	container := map[string]any{"type": "message", "message_ts": messageTS, "channel_id": channel, "is_ephemeral": eph}
	if threadTS != "" {
		container["thread_ts"] = threadTS
	}
	payload := map[string]any{
		"type":                  "block_actions",
		"user":                  map[string]any{"id": u.ID, "username": u.Name, "name": u.Name, "team_id": s.opts.TeamID},
		"api_app_id":            s.opts.AppID,
		"token":                 s.opts.VerificationToken,
		"container":             container,
		"trigger_id":            s.triggerIDLocked(),
		"team":                  map[string]any{"id": s.opts.TeamID, "domain": DefaultTeamDomain},
		"enterprise":            nil,
		"is_enterprise_install": false,
		"channel":               map[string]any{"id": channel, "name": channelName(channel)},
		"state":                 map[string]any{"values": map[string]any{}},
		"response_url":          h.url,
		"actions":               []any{action},
	}
	if msgJSON != nil {
		payload["message"] = msgJSON
	}
	return payload, nil
}

// findButton finds a button by action_id (and value, if given) in blocks. It
// returns the blocks with every block_id filled in (Slack assigns one to
// blocks that have none) and the action as Slack reports it.
func findButton(raw json.RawMessage, ts, actionID, value string) ([]map[string]any, map[string]any, error) {
	var blocks []map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &blocks); err != nil {
			return nil, nil, err
		}
	}
	var action map[string]any
	for i, b := range blocks {
		if _, ok := b["block_id"].(string); !ok {
			b["block_id"] = fmt.Sprintf("b%d_%s", i, strings.ReplaceAll(ts, ".", ""))
		}
		var els []any
		if e, ok := b["elements"].([]any); ok && b["type"] == "actions" {
			els = e
		}
		if acc, ok := b["accessory"]; ok && b["type"] == "section" {
			els = append(els, acc)
		}
		for _, el := range els {
			obj, _ := el.(map[string]any)
			if action != nil || obj["type"] != "button" || obj["action_id"] != actionID {
				continue
			}
			v, _ := obj["value"].(string)
			if value != "" && v != value {
				continue
			}
			action = map[string]any{
				"action_id": actionID,
				"block_id":  b["block_id"],
				"text":      obj["text"],
				"type":      "button",
			}
			if v != "" {
				action["value"] = v
			}
			if st, ok := obj["style"]; ok {
				action["style"] = st
			}
		}
	}
	if action == nil {
		if value != "" {
			return nil, nil, fmt.Errorf("no button with action_id %q and value %q", actionID, value)
		}
		return nil, nil, fmt.Errorf("no button with action_id %q", actionID)
	}
	return blocks, action, nil
}

// SendInteraction sends an interactive envelope with payload (e.g. from
// ButtonClick) and waits for the ack.
func (s *Server) SendInteraction(ctx context.Context, payload any) (Ack, error) {
	return s.sendEnvelope(ctx, "interactive", payload, false, responseURLOf(payload))
}

// SendInteractionVia is SendInteraction on the connection and under the
// envelope ID that d says: sent again with the first one's Ack.EnvelopeID
// on another connection, it is Slack's redelivery of a click to another
// replica.
func (s *Server) SendInteractionVia(ctx context.Context, d Delivery, payload any) (Ack, error) {
	return s.sendEnvelopeVia(ctx, d, "interactive", payload, false, responseURLOf(payload))
}

func responseURLOf(payload any) string {
	b, err := json.Marshal(payload)
	if err != nil {
		return ""
	}
	var p struct {
		ResponseURL string `json:"response_url"`
	}
	_ = json.Unmarshal(b, &p)
	return p.ResponseURL
}

// ClickButton is ButtonClick then SendInteraction.
func (s *Server) ClickButton(ctx context.Context, channel, messageTS, actionID, value, userID string) (Ack, error) {
	payload, err := s.ButtonClick(channel, messageTS, actionID, value, userID)
	if err != nil {
		return Ack{}, err
	}
	return s.SendInteraction(ctx, payload)
}

// SignedInteraction builds the HTTP request Slack POSTs to an app's
// interactivity URL: payload=<json> form body and signed headers.
func (s *Server) SignedInteraction(secret string, payload any, ts time.Time) (string, http.Header) {
	b, err := json.Marshal(payload)
	if err != nil {
		panic(fmt.Sprintf("slackfake: marshalling interaction payload: %v", err))
	}
	body := "payload=" + url.QueryEscape(string(b))
	return body, signedHeaders(secret, ts, body, formContentType)
}

// --- events ---

// AppMention stores userID's message mentioning the bot in channel (in
// threadTS's thread if not empty) and returns the app_mention event for it.
// text gets a leading "<@BOT> " unless it already mentions the bot.
func (s *Server) AppMention(channel, threadTS, userID, text string) map[string]any {
	mention := "<@" + s.opts.BotUserID + ">"
	if !strings.Contains(text, mention) {
		text = mention + " " + text
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.addMessageLocked(&Message{Channel: channel, ThreadTS: threadTS, User: userID, Text: text, Via: "user"})
	ev := map[string]any{
		"type":          "app_mention",
		"user":          userID,
		"text":          text,
		"ts":            m.TS,
		"channel":       channel,
		"event_ts":      m.TS,
		"team":          s.opts.TeamID,
		"client_msg_id": randomUUID(),
	}
	if m.ThreadTS != "" {
		ev["thread_ts"] = m.ThreadTS
	}
	return ev
}

// EventCallback wraps an inner event in the event_callback Slack delivers.
func (s *Server) EventCallback(event any) map[string]any {
	s.mu.Lock()
	s.seq++
	id := fmt.Sprintf("Ev%010d", s.seq)
	s.mu.Unlock()
	return map[string]any{
		"token":      s.opts.VerificationToken,
		"team_id":    s.opts.TeamID,
		"api_app_id": s.opts.AppID,
		"event":      event,
		"type":       "event_callback",
		"event_id":   id,
		"event_time": time.Now().Unix(),
		"authorizations": []any{map[string]any{
			"enterprise_id": nil, "team_id": s.opts.TeamID, "user_id": s.opts.BotUserID,
			"is_bot": true, "is_enterprise_install": false,
		}},
		"is_ext_shared_channel": false,
		"event_context":         "4-" + strings.ReplaceAll(randomUUID(), "-", ""),
	}
}

// SendEvent wraps event (an inner event such as AppMention's) in an
// event_callback, sends it as an events_api envelope and waits for the ack.
func (s *Server) SendEvent(ctx context.Context, event any) (Ack, error) {
	return s.sendEnvelope(ctx, "events_api", s.EventCallback(event), false, "")
}

// Mention is AppMention then SendEvent.
func (s *Server) Mention(ctx context.Context, channel, threadTS, userID, text string) (Ack, error) {
	return s.SendEvent(ctx, s.AppMention(channel, threadTS, userID, text))
}

// SignedEvent builds the HTTP request Slack POSTs to an app's events URL:
// event wrapped in an event_callback, as JSON, with signed headers.
func (s *Server) SignedEvent(secret string, event any, ts time.Time) (string, http.Header) {
	b, err := json.Marshal(s.EventCallback(event))
	if err != nil {
		panic(fmt.Sprintf("slackfake: marshalling event: %v", err))
	}
	return string(b), signedHeaders(secret, ts, string(b), jsonContentType)
}

// URLVerification builds the signed url_verification request Slack sends
// when an events URL is configured; the app must answer the challenge.
func (s *Server) URLVerification(secret, challenge string, ts time.Time) (string, http.Header) {
	b, _ := json.Marshal(map[string]string{"token": s.opts.VerificationToken, "challenge": challenge, "type": "url_verification"})
	return string(b), signedHeaders(secret, ts, string(b), jsonContentType)
}
