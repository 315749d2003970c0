package slackfake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxTextRunes is chat.postMessage's limit on text (msg_too_long beyond).
const maxTextRunes = 40000

// apiError is a Slack error answer: {"ok":false,"error":code,...}.
type apiError struct {
	code     string
	errors   []string // Slack's "errors" (invalid_blocks details)
	messages []string // response_metadata.messages
}

func errCode(code string) *apiError { return &apiError{code: code} }

type tokenKind int

const (
	botToken tokenKind = iota
	appToken
)

type methodFunc func(s *Server, p url.Values) (map[string]any, *apiError)

// apiMethod returns the handler of a supported Web API method and the token
// it needs.
func apiMethod(name string) (tokenKind, methodFunc, bool) {
	switch name {
	case "apps.connections.open":
		return appToken, (*Server).appsConnectionsOpen, true
	case "auth.test":
		return botToken, (*Server).authTest, true
	case "chat.postMessage":
		return botToken, (*Server).chatPostMessage, true
	case "chat.update":
		return botToken, (*Server).chatUpdate, true
	case "chat.postEphemeral":
		return botToken, (*Server).chatPostEphemeral, true
	case "chat.delete":
		return botToken, (*Server).chatDelete, true
	case "chat.getPermalink":
		return botToken, (*Server).chatGetPermalink, true
	case "reactions.add":
		return botToken, (*Server).reactionsAdd, true
	case "reactions.remove":
		return botToken, (*Server).reactionsRemove, true
	case "reactions.get":
		return botToken, (*Server).reactionsGet, true
	case "files.getUploadURLExternal":
		return botToken, (*Server).filesGetUploadURLExternal, true
	case "files.completeUploadExternal":
		return botToken, (*Server).filesCompleteUploadExternal, true
	case "files.info":
		return botToken, (*Server).filesInfo, true
	case "usergroups.users.list":
		return botToken, (*Server).usergroupsUsersList, true
	case "conversations.replies":
		return botToken, (*Server).conversationsReplies, true
	case "conversations.history":
		return botToken, (*Server).conversationsHistory, true
	case "conversations.info":
		return botToken, (*Server).conversationsInfo, true
	case "users.info":
		return botToken, (*Server).usersInfo, true
	}
	return 0, nil, false
}

func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	params, token := parseParams(r, body)
	call := Call{
		Method:      method,
		Time:        time.Now(),
		Params:      params,
		Body:        body,
		ContentType: r.Header.Get("Content-Type"),
		Token:       token,
		HTTPStatus:  http.StatusOK,
	}

	s.mu.Lock()
	resp, apiErr := s.dispatchLocked(method, params, token, &call)
	if apiErr != nil {
		call.Error = apiErr.code
	}
	s.calls = append(s.calls, call)
	var hold time.Duration
	if q := s.hold[method]; len(q) > 0 {
		hold, s.hold[method] = q[0], q[1:]
	}
	s.notifyLocked()
	s.mu.Unlock()

	if call.Error != "" || call.HTTPStatus != http.StatusOK {
		s.logf("%s -> %d %s", method, call.HTTPStatus, call.Error)
	} else {
		s.logf("%s -> ok", method)
	}
	if hold > 0 {
		s.logf("%s: holding the answer back for %s", method, hold)
		t := time.NewTimer(hold)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return // the caller is gone: it never gets the answer
		}
	}
	switch call.HTTPStatus {
	case http.StatusServiceUnavailable:
		writeDown(w)
		return
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(call.RetryAfter)))
	}
	if apiErr != nil {
		resp = map[string]any{"ok": false, "error": apiErr.code}
		if len(apiErr.errors) > 0 {
			resp["errors"] = apiErr.errors
		}
		if len(apiErr.messages) > 0 {
			resp["response_metadata"] = map[string]any{"messages": apiErr.messages}
		}
		if apiErr.code == "unknown_method" {
			resp["req_method"] = method
		}
	} else {
		resp["ok"] = true
	}
	writeJSON(w, call.HTTPStatus, resp)
}

func (s *Server) dispatchLocked(method string, p url.Values, token string, call *Call) (map[string]any, *apiError) {
	if s.down {
		call.HTTPStatus = http.StatusServiceUnavailable
		return nil, errCode("service_unavailable")
	}
	kind, fn, ok := apiMethod(method)
	if !ok {
		return nil, errCode("unknown_method")
	}
	want, other := s.opts.BotToken, s.opts.AppToken
	if kind == appToken {
		want, other = other, want
	}
	switch token {
	case want:
	case "":
		return nil, errCode("not_authed")
	case other:
		return nil, errCode("not_allowed_token_type")
	default:
		return nil, errCode("invalid_auth")
	}
	if e := s.injectedLocked(method, call); e != nil {
		return nil, e
	}
	return fn(s, p)
}

// injectedLocked applies RateLimit and FailNext to a call of method.
func (s *Server) injectedLocked(method string, call *Call) *apiError {
	if rl := s.rate[method]; rl != nil && rl.times > 0 {
		rl.times--
		if rl.times == 0 {
			delete(s.rate, method)
		}
		call.HTTPStatus = http.StatusTooManyRequests
		call.RetryAfter = rl.retryAfter
		return errCode("ratelimited")
	}
	if q := s.failNext[method]; len(q) > 0 {
		s.failNext[method] = q[1:]
		if len(q) == 1 {
			delete(s.failNext, method)
		}
		return errCode(q[0])
	}
	return nil
}

func retryAfterSeconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeDown answers like Slack's edge during an outage: 503 with an HTML page.
func writeDown(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = io.WriteString(w, "<html><body><h1>503 Service Unavailable</h1>Slack is having trouble (slackfake outage).</body></html>\n")
}

// parseParams merges query parameters with a form, multipart or JSON body,
// and finds the token (Authorization: Bearer, else the token field).
func parseParams(r *http.Request, body []byte) (url.Values, string) {
	p := url.Values{}
	for k, v := range r.URL.Query() {
		p[k] = append(p[k], v...)
	}
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var obj map[string]json.RawMessage
		if len(bytes.TrimSpace(body)) > 0 && json.Unmarshal(body, &obj) == nil {
			for k, raw := range obj {
				var str string
				if json.Unmarshal(raw, &str) == nil {
					p.Set(k, str)
				} else if string(raw) != "null" {
					p.Set(k, string(raw))
				}
			}
		}
	case "multipart/form-data":
		mr := multipart.NewReader(bytes.NewReader(body), ctParams["boundary"])
		if form, err := mr.ReadForm(32 << 20); err == nil {
			for k, v := range form.Value {
				p[k] = append(p[k], v...)
			}
			_ = form.RemoveAll()
		}
	default:
		if q, err := url.ParseQuery(string(body)); err == nil {
			for k, v := range q {
				p[k] = append(p[k], v...)
			}
		}
	}
	token := bearer(r)
	if token == "" {
		token = p.Get("token")
	}
	return p, token
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) string {
	f := strings.Fields(r.Header.Get("Authorization"))
	if len(f) == 2 && strings.EqualFold(f[0], "Bearer") {
		return f[1]
	}
	return ""
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = slices.Clone(vs)
	}
	return c
}

func truthy(s string) bool { return s == "true" || s == "1" }

// --- message store helpers (s.mu held) ---

func (s *Server) findLocked(channel, ts string) *Message {
	for _, m := range s.messages[channel] {
		if m.TS == ts {
			return m
		}
	}
	return nil
}

func (s *Server) findEphemeralLocked(channel, ts string) *Ephemeral {
	for _, e := range s.ephemeral[channel] {
		if e.TS == ts {
			return e
		}
	}
	return nil
}

// rootTSLocked maps a thread_ts that names a reply to its thread's root, as
// Slack does.
func (s *Server) rootTSLocked(channel, threadTS string) string {
	if threadTS == "" {
		return ""
	}
	if m := s.findLocked(channel, threadTS); m != nil && m.IsReply() {
		return m.ThreadTS
	}
	return threadTS
}

func (s *Server) addMessageLocked(m *Message) *Message {
	m.TS = s.nextTSLocked()
	m.Time = time.Now()
	m.ThreadTS = s.rootTSLocked(m.Channel, m.ThreadTS)
	m.Revisions = []Revision{{Time: m.Time, Text: m.Text, Blocks: m.Blocks, Via: m.Via}}
	s.messages[m.Channel] = append(s.messages[m.Channel], m)
	if m.ThreadTS != "" {
		if root := s.findLocked(m.Channel, m.ThreadTS); root != nil && root.ThreadTS == "" {
			root.ThreadTS = root.TS
		}
	}
	s.notifyLocked()
	return m
}

func (s *Server) botMessage(channel, threadTS, text string, blocks json.RawMessage, via string) *Message {
	return &Message{
		Channel:  channel,
		ThreadTS: threadTS,
		User:     s.opts.BotUserID,
		BotID:    s.opts.BotID,
		Text:     text,
		Blocks:   blocks,
		Via:      via,
	}
}

// PostUserMessage stores a message from a (human) user, e.g. a thread root
// the bot will answer in, and returns its ts.
func (s *Server) PostUserMessage(channel, threadTS, userID, text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.addMessageLocked(&Message{Channel: channel, ThreadTS: threadTS, User: userID, Text: text, Via: "user"})
	return m.TS
}

// messageJSONLocked renders a stored message as Slack's message object.
func (s *Server) messageJSONLocked(m *Message) map[string]any {
	out := map[string]any{
		"type": "message",
		"user": m.User,
		"text": m.Text,
		"ts":   m.TS,
		"team": s.opts.TeamID,
	}
	if m.BotID != "" {
		out["bot_id"] = m.BotID
		out["app_id"] = s.opts.AppID
		out["bot_profile"] = map[string]any{"id": m.BotID, "app_id": s.opts.AppID, "name": "mfbot", "deleted": false, "team_id": s.opts.TeamID}
	}
	if len(m.Blocks) > 0 {
		out["blocks"] = m.Blocks
	}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
		if m.IsReply() {
			if root := s.findLocked(m.Channel, m.ThreadTS); root != nil {
				out["parent_user_id"] = root.User
			}
			if m.ReplyBroadcast {
				out["subtype"] = "thread_broadcast"
			}
		} else {
			var users []string
			count, latest := 0, ""
			for _, r := range s.messages[m.Channel] {
				if r.ThreadTS == m.TS && r.TS != m.TS && !r.Deleted {
					count++
					latest = r.TS
					if !slices.Contains(users, r.User) {
						users = append(users, r.User)
					}
				}
			}
			out["reply_count"] = count
			out["reply_users_count"] = len(users)
			out["reply_users"] = users
			out["latest_reply"] = latest
		}
	}
	if len(m.Revisions) > 1 {
		out["edited"] = map[string]any{"user": m.User, "ts": m.Revisions[len(m.Revisions)-1].ts()}
	}
	if len(m.Files) > 0 {
		var files []map[string]any
		for _, id := range m.Files {
			if f := s.fileLocked(id); f != nil {
				files = append(files, s.fileJSONLocked(f))
			}
		}
		out["files"] = files
		out["upload"] = false
	}
	if len(m.Reactions) > 0 {
		var rs []map[string]any
		for _, r := range m.Reactions {
			rs = append(rs, map[string]any{"name": r.Name, "users": r.Users, "count": len(r.Users)})
		}
		out["reactions"] = rs
	}
	return out
}

func (r Revision) ts() string {
	return fmt.Sprintf("%d.%06d", r.Time.Unix(), r.Time.Nanosecond()/1000)
}

func (s *Server) fileLocked(id string) *File {
	for _, f := range s.files {
		if f.ID == id {
			return f
		}
	}
	return nil
}

func (s *Server) fileJSONLocked(f *File) map[string]any {
	return map[string]any{
		"id":                   f.ID,
		"created":              f.Time.Unix(),
		"timestamp":            f.Time.Unix(),
		"name":                 f.Name,
		"title":                f.Title,
		"mimetype":             "text/plain",
		"filetype":             "text",
		"user":                 s.opts.BotUserID,
		"size":                 len(f.Content),
		"url_private":          s.ts.URL + "/files-pri/" + s.opts.TeamID + "-" + f.ID + "/" + url.PathEscape(f.Name),
		"url_private_download": s.ts.URL + "/files-pri/" + s.opts.TeamID + "-" + f.ID + "/download/" + url.PathEscape(f.Name),
		"permalink":            "https://" + DefaultTeamDomain + ".slack.com/files/" + s.opts.BotUserID + "/" + f.ID + "/" + url.PathEscape(f.Name),
	}
}

// checkContent validates a message's text and blocks as Slack does.
func checkContent(text, blocks string, needContent bool) (json.RawMessage, *apiError) {
	var raw json.RawMessage
	if strings.TrimSpace(blocks) != "" {
		var e *apiError
		raw, e = validateBlocks(blocks)
		if e != nil {
			return nil, e
		}
	}
	if utf8.RuneCountInString(text) > maxTextRunes {
		return nil, errCode("msg_too_long")
	}
	if needContent && text == "" && len(raw) == 0 {
		return nil, errCode("no_text")
	}
	return raw, nil
}

// --- methods ---

func (s *Server) authTest(url.Values) (map[string]any, *apiError) {
	return map[string]any{
		"url":                   "https://" + DefaultTeamDomain + ".slack.com/",
		"team":                  "Fake Team",
		"user":                  "mfbot",
		"team_id":               s.opts.TeamID,
		"user_id":               s.opts.BotUserID,
		"bot_id":                s.opts.BotID,
		"is_enterprise_install": false,
	}, nil
}

func (s *Server) appsConnectionsOpen(url.Values) (map[string]any, *apiError) {
	ticket := randomUUID()
	s.tickets[ticket] = true
	u := "ws" + strings.TrimPrefix(s.ts.URL, "http") + "/link/?ticket=" + ticket + "&app_id=" + s.opts.AppID
	return map[string]any{"url": u}, nil
}

func (s *Server) chatPostMessage(p url.Values) (map[string]any, *apiError) {
	ch := p.Get("channel")
	if ch == "" {
		return nil, errCode("channel_not_found")
	}
	blocks, e := checkContent(p.Get("text"), p.Get("blocks"), p.Get("attachments") == "")
	if e != nil {
		return nil, e
	}
	meta, e := checkMetadata(p.Get("metadata"))
	if e != nil {
		return nil, e
	}
	m := s.botMessage(ch, p.Get("thread_ts"), p.Get("text"), blocks, "chat.postMessage")
	m.ReplyBroadcast = m.ThreadTS != "" && truthy(p.Get("reply_broadcast"))
	m.Metadata = meta
	s.addMessageLocked(m)
	return map[string]any{"channel": ch, "ts": m.TS, "message": s.messageJSONLocked(m)}, nil
}

func (s *Server) chatUpdate(p url.Values) (map[string]any, *apiError) {
	ch, ts := p.Get("channel"), p.Get("ts")
	if ch == "" {
		return nil, errCode("channel_not_found")
	}
	m := s.findLocked(ch, ts)
	if m == nil || m.Deleted {
		return nil, errCode("message_not_found")
	}
	if m.User != s.opts.BotUserID {
		return nil, errCode("cant_update_message")
	}
	if !p.Has("text") && !p.Has("blocks") && !p.Has("attachments") {
		return nil, errCode("no_text")
	}
	text, blocks := m.Text, m.Blocks
	if p.Has("text") {
		text = p.Get("text")
	}
	if p.Has("blocks") {
		var e *apiError
		if blocks, e = checkContent("", p.Get("blocks"), false); e != nil {
			return nil, e
		}
	}
	if _, e := checkContent(text, "", len(blocks) == 0); e != nil {
		return nil, e
	}
	if p.Has("metadata") { // without it, the message keeps its metadata
		meta, e := checkMetadata(p.Get("metadata"))
		if e != nil {
			return nil, e
		}
		m.Metadata = meta
	}
	s.reviseLocked(m, text, blocks, "chat.update")
	return map[string]any{"channel": ch, "ts": ts, "text": text, "message": s.messageJSONLocked(m)}, nil
}

func (s *Server) reviseLocked(m *Message, text string, blocks json.RawMessage, via string) {
	m.Text, m.Blocks = text, blocks
	m.Revisions = append(m.Revisions, Revision{Time: time.Now(), Text: text, Blocks: blocks, Via: via})
	s.notifyLocked()
}

func (s *Server) chatPostEphemeral(p url.Values) (map[string]any, *apiError) {
	ch, user := p.Get("channel"), p.Get("user")
	if ch == "" {
		return nil, errCode("channel_not_found")
	}
	if user == "" {
		return nil, errCode("user_not_found")
	}
	blocks, e := checkContent(p.Get("text"), p.Get("blocks"), p.Get("attachments") == "")
	if e != nil {
		return nil, e
	}
	eph := s.addEphemeralLocked(ch, user, p.Get("thread_ts"), p.Get("text"), blocks, "chat.postEphemeral")
	return map[string]any{"message_ts": eph.TS}, nil
}

func (s *Server) addEphemeralLocked(ch, user, threadTS, text string, blocks json.RawMessage, via string) *Ephemeral {
	now := time.Now()
	eph := &Ephemeral{
		Channel: ch, User: user, TS: s.nextTSLocked(), ThreadTS: s.rootTSLocked(ch, threadTS),
		Text: text, Blocks: blocks, Via: via, Time: now,
		Revisions: []Revision{{Time: now, Text: text, Blocks: blocks, Via: via}},
	}
	s.ephemeral[ch] = append(s.ephemeral[ch], eph)
	s.notifyLocked()
	return eph
}

func (s *Server) chatDelete(p url.Values) (map[string]any, *apiError) {
	ch, ts := p.Get("channel"), p.Get("ts")
	if ch == "" {
		return nil, errCode("channel_not_found")
	}
	m := s.findLocked(ch, ts)
	if m == nil || m.Deleted {
		return nil, errCode("message_not_found")
	}
	if m.User != s.opts.BotUserID {
		return nil, errCode("cant_delete_message")
	}
	m.Deleted = true
	s.notifyLocked()
	return map[string]any{"channel": ch, "ts": ts}, nil
}

func (s *Server) chatGetPermalink(p url.Values) (map[string]any, *apiError) {
	ch, ts := p.Get("channel"), p.Get("message_ts")
	m := s.findLocked(ch, ts)
	if m == nil || m.Deleted {
		return nil, errCode("message_not_found")
	}
	link := "https://" + DefaultTeamDomain + ".slack.com/archives/" + ch + "/p" + strings.ReplaceAll(ts, ".", "")
	if m.IsReply() {
		link += "?thread_ts=" + m.ThreadTS + "&cid=" + ch
	}
	return map[string]any{"channel": ch, "permalink": link}, nil
}

func reactionName(n string) string { return strings.Trim(n, ":") }

func (s *Server) reactionTargetLocked(p url.Values) (*Message, string, *apiError) {
	ch, ts, name := p.Get("channel"), p.Get("timestamp"), reactionName(p.Get("name"))
	if ch == "" {
		return nil, "", errCode("channel_not_found")
	}
	if name == "" {
		return nil, "", errCode("invalid_name")
	}
	m := s.findLocked(ch, ts)
	if m == nil || m.Deleted {
		return nil, "", errCode("message_not_found")
	}
	return m, name, nil
}

func (s *Server) reactionsAdd(p url.Values) (map[string]any, *apiError) {
	m, name, e := s.reactionTargetLocked(p)
	if e != nil {
		return nil, e
	}
	user := s.opts.BotUserID
	for i := range m.Reactions {
		if m.Reactions[i].Name == name {
			if slices.Contains(m.Reactions[i].Users, user) {
				return nil, errCode("already_reacted")
			}
			m.Reactions[i].Users = append(m.Reactions[i].Users, user)
			s.notifyLocked()
			return map[string]any{}, nil
		}
	}
	m.Reactions = append(m.Reactions, Reaction{Name: name, Users: []string{user}})
	s.notifyLocked()
	return map[string]any{}, nil
}

func (s *Server) reactionsRemove(p url.Values) (map[string]any, *apiError) {
	m, name, e := s.reactionTargetLocked(p)
	if e != nil {
		return nil, e
	}
	user := s.opts.BotUserID
	for i := range m.Reactions {
		r := &m.Reactions[i]
		if r.Name == name && slices.Contains(r.Users, user) {
			r.Users = slices.DeleteFunc(r.Users, func(u string) bool { return u == user })
			if len(r.Users) == 0 {
				m.Reactions = slices.Delete(m.Reactions, i, i+1)
			}
			s.notifyLocked()
			return map[string]any{}, nil
		}
	}
	return nil, errCode("no_reaction")
}

func (s *Server) reactionsGet(p url.Values) (map[string]any, *apiError) {
	ch, ts := p.Get("channel"), p.Get("timestamp")
	m := s.findLocked(ch, ts)
	if m == nil || m.Deleted {
		return nil, errCode("message_not_found")
	}
	return map[string]any{"type": "message", "channel": ch, "message": s.messageJSONLocked(m)}, nil
}

func (s *Server) filesGetUploadURLExternal(p url.Values) (map[string]any, *apiError) {
	name := p.Get("filename")
	length, err := strconv.Atoi(p.Get("length"))
	if name == "" || err != nil || length <= 0 {
		return nil, &apiError{code: "invalid_arguments", messages: []string{"[ERROR] missing required field: filename or length"}}
	}
	f := &File{ID: s.nextIDLocked("F"), Name: name, Length: length, AltText: p.Get("alt_txt"), Time: time.Now()}
	f.UploadURL = s.ts.URL + "/upload/v1/" + randomUUID()
	s.files = append(s.files, f)
	s.notifyLocked()
	return map[string]any{"upload_url": f.UploadURL, "file_id": f.ID}, nil
}

func (s *Server) filesCompleteUploadExternal(p url.Values) (map[string]any, *apiError) {
	var summaries []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(p.Get("files")), &summaries); err != nil || len(summaries) == 0 {
		return nil, &apiError{code: "invalid_arguments", messages: []string{"[ERROR] missing required field: files"}}
	}
	var files []*File
	for _, sum := range summaries {
		f := s.fileLocked(sum.ID)
		if f == nil || !f.Uploaded || f.Completed {
			return nil, errCode("file_not_found")
		}
		files = append(files, f)
	}
	var channels []string
	if c := p.Get("channel_id"); c != "" {
		channels = append(channels, c)
	}
	for c := range strings.SplitSeq(p.Get("channels"), ",") {
		if c = strings.TrimSpace(c); c != "" && !slices.Contains(channels, c) {
			channels = append(channels, c)
		}
	}
	threadTS := p.Get("thread_ts")
	if threadTS != "" && len(channels) == 0 {
		return nil, &apiError{code: "invalid_arguments", messages: []string{"[ERROR] thread_ts requires channel_id"}}
	}
	comment := p.Get("initial_comment")
	blocks, e := checkContent(comment, p.Get("blocks"), false)
	if e != nil {
		return nil, e
	}
	var out []map[string]any
	for i, f := range files {
		f.Completed = true
		f.Title = summaries[i].Title
		if f.Title == "" {
			f.Title = f.Name
		}
		f.InitialComment = comment
		out = append(out, map[string]any{"id": f.ID, "title": f.Title})
	}
	for i, ch := range channels {
		m := s.botMessage(ch, threadTS, comment, blocks, "files.completeUploadExternal")
		for _, f := range files {
			m.Files = append(m.Files, f.ID)
		}
		s.addMessageLocked(m)
		if i == 0 {
			for _, f := range files {
				f.Channel, f.ThreadTS, f.MessageTS = ch, m.ThreadTS, m.TS
			}
		}
	}
	s.notifyLocked()
	return map[string]any{"files": out}, nil
}

func (s *Server) filesInfo(p url.Values) (map[string]any, *apiError) {
	f := s.fileLocked(p.Get("file"))
	if f == nil {
		return nil, errCode("file_not_found")
	}
	return map[string]any{"file": s.fileJSONLocked(f), "comments": []any{}, "paging": map[string]any{"count": 0, "total": 0, "page": 1, "pages": 0}}, nil
}

func (s *Server) usergroupsUsersList(p url.Values) (map[string]any, *apiError) {
	users, ok := s.groups[p.Get("usergroup")]
	if !ok {
		return nil, errCode("no_such_subteam")
	}
	return map[string]any{"users": append([]string{}, users...)}, nil
}

func (s *Server) conversationsReplies(p url.Values) (map[string]any, *apiError) {
	ch, ts := p.Get("channel"), p.Get("ts")
	if ch == "" {
		return nil, errCode("channel_not_found")
	}
	m := s.findLocked(ch, ts)
	if m == nil || m.Deleted {
		return nil, errCode("thread_not_found")
	}
	root := m.TS
	if m.IsReply() {
		root = m.ThreadTS
	}
	withMeta := truthy(p.Get("include_all_metadata"))
	msgs := []map[string]any{}
	for _, r := range s.messages[ch] {
		if !r.Deleted && (r.TS == root || r.ThreadTS == root) {
			msgs = append(msgs, s.messageWithMetadataLocked(r, withMeta))
		}
	}
	return map[string]any{"messages": msgs, "has_more": false, "response_metadata": map[string]any{"next_cursor": ""}}, nil
}

// conversations.history's page size: default and largest.
const (
	historyDefaultLimit = 100
	historyMaxLimit     = 999
)

// conversationsHistory answers the channel's top-level messages (and
// thread broadcasts), newest first, between oldest and latest (exclusive
// unless inclusive), limit a page, with an opaque cursor to the next page;
// their metadata with include_all_metadata.
func (s *Server) conversationsHistory(p url.Values) (map[string]any, *apiError) {
	ch := p.Get("channel")
	if ch == "" {
		return nil, errCode("channel_not_found")
	}
	oldest, ok := parseTS(p.Get("oldest"), 0)
	if !ok {
		return nil, errCode("invalid_ts_oldest")
	}
	latest, ok := parseTS(p.Get("latest"), math.MaxInt64)
	if !ok {
		return nil, errCode("invalid_ts_latest")
	}
	inclusive := truthy(p.Get("inclusive"))
	limit := historyDefaultLimit
	if v := p.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, errCode("invalid_limit")
		}
		if n > 0 {
			limit = min(n, historyMaxLimit)
		}
	}
	before := int64(math.MaxInt64) // the cursor: strictly older than this
	if c := p.Get("cursor"); c != "" {
		raw, err := base64.StdEncoding.DecodeString(c)
		ts, found := strings.CutPrefix(string(raw), "before:")
		if err != nil || !found {
			return nil, errCode("invalid_cursor")
		}
		if before, ok = parseTS(ts, 0); !ok {
			return nil, errCode("invalid_cursor")
		}
	}
	withMeta := truthy(p.Get("include_all_metadata"))
	msgs := []map[string]any{}
	hasMore, next := false, ""
	list := s.messages[ch]
	for i := len(list) - 1; i >= 0; i-- { // newest first, top-level and broadcasts only
		m := list[i]
		if m.Deleted || (m.IsReply() && !m.ReplyBroadcast) {
			continue
		}
		at, _ := parseTS(m.TS, 0)
		switch {
		case at >= before:
			continue
		case at > latest, at == latest && !inclusive:
			continue
		case at < oldest, at == oldest && !inclusive:
			continue
		}
		if len(msgs) == limit {
			hasMore = true
			break
		}
		msgs = append(msgs, s.messageWithMetadataLocked(m, withMeta))
		next = m.TS
	}
	cursor := ""
	if hasMore {
		cursor = base64.StdEncoding.EncodeToString([]byte("before:" + next))
	}
	return map[string]any{"messages": msgs, "has_more": hasMore, "pin_count": 0, "response_metadata": map[string]any{"next_cursor": cursor}}, nil
}

// messageWithMetadataLocked is messageJSONLocked with the message's
// metadata when asked for (include_all_metadata), as Slack answers.
func (s *Server) messageWithMetadataLocked(m *Message, withMeta bool) map[string]any {
	out := s.messageJSONLocked(m)
	if withMeta && len(m.Metadata) > 0 {
		out["metadata"] = m.Metadata
	}
	return out
}

// parseTS reads a Slack timestamp ("1700000000.000100", "1700000000") as
// microseconds; "" gives def.
func parseTS(ts string, def int64) (int64, bool) {
	if ts == "" {
		return def, true
	}
	secs, frac, _ := strings.Cut(ts, ".")
	sec, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || sec < 0 || len(frac) > 6 || strings.Trim(frac, "0123456789") != "" {
		return 0, false
	}
	us, _ := strconv.ParseInt((frac + "000000")[:6], 10, 64)
	return sec*1_000_000 + us, true
}

// checkMetadata validates chat.postMessage / chat.update's metadata: a JSON
// object with an event_type string and an event_payload object. "" is none.
func checkMetadata(raw string) (json.RawMessage, *apiError) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var meta struct {
		EventType    *string        `json:"event_type"`
		EventPayload map[string]any `json:"event_payload"`
	}
	if err := json.Unmarshal([]byte(raw), &meta); err != nil {
		return nil, errCode("invalid_metadata_format")
	}
	if meta.EventType == nil || *meta.EventType == "" || meta.EventPayload == nil {
		return nil, errCode("invalid_metadata_schema")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(raw)); err != nil {
		return nil, errCode("invalid_metadata_format")
	}
	return compact.Bytes(), nil
}

func (s *Server) conversationsInfo(p url.Values) (map[string]any, *apiError) {
	ch := p.Get("channel")
	if ch == "" {
		return nil, errCode("channel_not_found")
	}
	return map[string]any{"channel": map[string]any{
		"id": ch, "name": channelName(ch), "is_channel": true, "is_member": true, "is_private": false, "created": 1700000000,
	}}, nil
}

func channelName(id string) string { return "channel-" + strings.ToLower(id) }

func (s *Server) userLocked(id string) User {
	if u, ok := s.users[id]; ok {
		return u
	}
	u := User{ID: id, Name: strings.ToLower(id), RealName: "User " + id, TZ: "Europe/Paris"}
	if id == s.opts.BotUserID {
		u.Name, u.RealName, u.IsBot = "mfbot", "mfbot", true
	}
	return u
}

func (s *Server) usersInfo(p url.Values) (map[string]any, *apiError) {
	id := p.Get("user")
	if id == "" {
		return nil, errCode("user_not_found")
	}
	u := s.userLocked(id)
	return map[string]any{"user": map[string]any{
		"id": u.ID, "team_id": s.opts.TeamID, "name": u.Name, "real_name": u.RealName,
		"deleted": u.Deleted, "is_bot": u.IsBot, "tz": u.TZ,
		"profile": map[string]any{"real_name": u.RealName, "display_name": u.Name, "team": s.opts.TeamID},
	}}, nil
}

// --- upload URL ---

func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	call := Call{Method: UploadMethod, Time: time.Now(), ContentType: r.Header.Get("Content-Type"), HTTPStatus: http.StatusOK}
	call.Token = bearer(r)
	content, readErr := readUpload(r)

	s.mu.Lock()
	var f *File
	for _, x := range s.files {
		if strings.HasSuffix(x.UploadURL, r.URL.Path) {
			f = x
		}
	}
	switch {
	case s.down:
		call.HTTPStatus = http.StatusServiceUnavailable
	case r.Method != http.MethodPost:
		call.HTTPStatus, call.Error = http.StatusMethodNotAllowed, "method_not_allowed"
	case f == nil:
		call.HTTPStatus, call.Error = http.StatusNotFound, "file_not_found"
	case readErr != nil:
		call.HTTPStatus, call.Error = http.StatusBadRequest, "invalid_upload"
	default:
		if e := s.injectedLocked(UploadMethod, &call); e != nil {
			call.Error = e.code
			if call.HTTPStatus == http.StatusOK {
				call.HTTPStatus = http.StatusInternalServerError
			}
		} else {
			f.Content = content
			f.Uploaded = true
		}
	}
	s.calls = append(s.calls, call)
	s.notifyLocked()
	s.mu.Unlock()

	s.logf("upload %s -> %d %s (%d bytes)", r.URL.Path, call.HTTPStatus, call.Error, len(content))
	switch call.HTTPStatus {
	case http.StatusOK:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = fmt.Fprintf(w, "OK - %d", len(content))
	case http.StatusServiceUnavailable:
		writeDown(w)
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(call.RetryAfter)))
		writeJSON(w, call.HTTPStatus, map[string]any{"ok": false, "error": "ratelimited"})
	default:
		http.Error(w, call.Error, call.HTTPStatus)
	}
}

// readUpload returns the uploaded bytes: the "file" part (or the first file
// part) of a multipart body, as slack-go sends it, or the raw body.
func readUpload(r *http.Request) ([]byte, error) {
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		return io.ReadAll(io.LimitReader(r.Body, 1<<30))
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var first []byte
	found := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if part.FileName() == "" && part.FormName() != "file" {
			continue
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return nil, err
		}
		if part.FormName() == "file" {
			return b, nil
		}
		if !found {
			first, found = b, true
		}
	}
	if !found {
		return nil, fmt.Errorf("no file part")
	}
	return first, nil
}
