package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"mfbot/bot"
)

// The Slack app manifests in the repository root: Socket Mode (the
// default) and the HTTP endpoints variant.
const (
	manifestSocketMode = "slack-app-manifest.yaml"
	manifestHTTP       = "slack-app-manifest.http.yaml"
	manifestHTTPBase   = "https://mfbot.example.org"
)

// slackManifest is the part of Slack's app manifest (major version 1) that
// mfbot's manifests use. Decoding is strict: a misspelt key fails the test
// instead of being silently ignored (Slack would refuse it on paste).
type slackManifest struct {
	Metadata struct {
		MajorVersion int `yaml:"major_version"`
		MinorVersion int `yaml:"minor_version"`
	} `yaml:"_metadata"`
	DisplayInformation struct {
		Name            string `yaml:"name"`
		Description     string `yaml:"description"`
		BackgroundColor string `yaml:"background_color"`
	} `yaml:"display_information"`
	Features struct {
		AppHome struct {
			HomeTabEnabled             bool `yaml:"home_tab_enabled"`
			MessagesTabEnabled         bool `yaml:"messages_tab_enabled"`
			MessagesTabReadOnlyEnabled bool `yaml:"messages_tab_read_only_enabled"`
		} `yaml:"app_home"`
		BotUser *struct {
			DisplayName  string `yaml:"display_name"`
			AlwaysOnline bool   `yaml:"always_online"`
		} `yaml:"bot_user"`
		SlashCommands []struct {
			Command      string `yaml:"command"`
			URL          string `yaml:"url"`
			Description  string `yaml:"description"`
			UsageHint    string `yaml:"usage_hint"`
			ShouldEscape *bool  `yaml:"should_escape"`
		} `yaml:"slash_commands"`
	} `yaml:"features"`
	OAuthConfig struct {
		Scopes struct {
			Bot []string `yaml:"bot"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		EventSubscriptions struct {
			RequestURL string   `yaml:"request_url"`
			BotEvents  []string `yaml:"bot_events"`
		} `yaml:"event_subscriptions"`
		Interactivity struct {
			IsEnabled  bool   `yaml:"is_enabled"`
			RequestURL string `yaml:"request_url"`
		} `yaml:"interactivity"`
		OrgDeployEnabled     *bool `yaml:"org_deploy_enabled"`
		SocketModeEnabled    *bool `yaml:"socket_mode_enabled"`
		TokenRotationEnabled *bool `yaml:"token_rotation_enabled"`
	} `yaml:"settings"`
}

func readManifest(t *testing.T, name string) slackManifest {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var m slackManifest
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// knownBotScopes are real Slack bot token scopes: a scope in a manifest
// must be one of them (a typo makes Slack refuse the manifest).
var knownBotScopes = map[string]bool{
	"app_mentions:read": true, "bookmarks:read": true, "bookmarks:write": true,
	"calls:read": true, "calls:write": true, "channels:history": true, "channels:join": true,
	"channels:manage": true, "channels:read": true, "chat:write": true, "chat:write.customize": true,
	"chat:write.public": true, "commands": true, "dnd:read": true, "emoji:read": true,
	"files:read": true, "files:write": true, "groups:history": true, "groups:read": true,
	"groups:write": true, "im:history": true, "im:read": true, "im:write": true,
	"incoming-webhook": true, "links:read": true, "links:write": true, "metadata.message:read": true,
	"mpim:history": true, "mpim:read": true, "mpim:write": true, "pins:read": true, "pins:write": true,
	"reactions:read": true, "reactions:write": true, "reminders:read": true, "reminders:write": true,
	"remote_files:read": true, "remote_files:share": true, "remote_files:write": true,
	"team:read": true, "usergroups:read": true, "usergroups:write": true, "users.profile:read": true,
	"users:read": true, "users:read.email": true, "users:write": true,
}

// webAPIScopes maps the Web API methods mfbot calls (the names under which
// adapters/slack retries them) to the bot scope each needs; "" for those
// that need none (auth.test, the upload URL, response URLs) or an
// app-level token rather than a bot scope (apps.connections.open:
// connections:write on the xapp- token).
var webAPIScopes = map[string]string{
	"chat.postMessage":             "chat:write",
	"chat.update":                  "chat:write",
	"chat.postEphemeral":           "chat:write",
	"reactions.add":                "reactions:write",
	"reactions.remove":             "reactions:write",
	"files.getUploadURLExternal":   "files:write",
	"files.completeUploadExternal": "files:write",
	"usergroups.users.list":        "usergroups:read",
	"conversations.history":        "channels:history", // groups:history too for a private alert channel
	"auth.test":                    "",
	"apps.connections.open":        "",
	"files.upload":                 "", // adapters/slack's label for the POST to the upload URL, not the retired method
	"response_url":                 "",
}

// slackGoMethods maps the slack-go client methods the code calls to the
// Web API method each one makes. A new slack-go call fails the test until
// it is added here, with its scope in webAPIScopes and the manifests.
var slackGoMethods = map[string]string{
	"PostMessageContext":            "chat.postMessage",
	"UpdateMessageContext":          "chat.update",
	"PostEphemeralContext":          "chat.postEphemeral",
	"SendMessageContext":            "response_url", // with MsgOptionResponseURL only
	"AddReactionContext":            "reactions.add",
	"RemoveReactionContext":         "reactions.remove",
	"AuthTestContext":               "auth.test",
	"GetUserGroupMembersContext":    "usergroups.users.list",
	"GetConversationHistoryContext": "conversations.history",
	"GetUploadURLExternalContext":   "files.getUploadURLExternal",
	"UploadToURL":                   "files.upload",
	"CompleteUploadExternalContext": "files.completeUploadExternal",
	"RunContext":                    "apps.connections.open", // socketmode.Client
	"StartSocketModeContext":        "apps.connections.open", // check.go, without the websocket
}

// notSlack are *Context methods in the scanned files that are not Slack calls.
var notSlack = map[string]bool{"NotifyContext": true, "DialContext": true}

// featureScopes are the scopes the manifest's features need, not a method.
var featureScopes = map[string]string{
	"commands":          "the /mf slash command",
	"app_mentions:read": "the app_mention event",
}

// slackCalls lists the Web API methods the Slack code calls, found in the
// source of adapters/slack, bot and package main: the labels of
// adapters/slack's retried calls and the slack-go methods called.
func slackCalls(t *testing.T) map[string][]string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"adapters/slack/*.go", "bot/*.go", "*.go"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	labels := regexp.MustCompile(`\bc\.call(?:For)?\(ctx, "([^"]+)"`)
	goCalls := regexp.MustCompile(`\.api\.(\w+)\(|\.(\w+Context)\(`)
	found := map[string][]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range labels.FindAllStringSubmatch(string(src), -1) {
			found[m[1]] = append(found[m[1]], f)
		}
		for _, m := range goCalls.FindAllStringSubmatch(string(src), -1) {
			name := m[1] + m[2]
			if notSlack[name] {
				continue
			}
			if strings.HasPrefix(f, "bot/") && m[1] != "" {
				continue // bot's s.api is the SlackAPI interface of adapters/slack
			}
			method, ok := slackGoMethods[name]
			if !ok {
				if f == "run.go" || f == "check.go" || strings.HasPrefix(f, "adapters/slack/") || strings.HasPrefix(f, "bot/") {
					t.Errorf("%s calls %s: add the Web API method it makes to slackGoMethods (and its scope to webAPIScopes and the manifests)", f, name)
				}
				continue
			}
			found[method] = append(found[method], f)
		}
	}
	if len(found) < 5 {
		t.Fatalf("found only %v in the source: has the Slack code moved?", found)
	}
	return found
}

func TestSlackAppManifest(t *testing.T) {
	calls := slackCalls(t)
	needed := map[string]string{} // scope → why
	for method, where := range calls {
		scope, ok := webAPIScopes[method]
		if !ok {
			t.Errorf("%s calls Web API method %s: add it to webAPIScopes with the scope it needs", where[0], method)
			continue
		}
		if scope != "" {
			needed[scope] = method
		}
	}
	for scope, why := range featureScopes {
		needed[scope] = why
	}

	for _, name := range []string{manifestSocketMode, manifestHTTP} {
		t.Run(name, func(t *testing.T) {
			m := readManifest(t, name)
			if m.Metadata.MajorVersion != 1 {
				t.Errorf("_metadata.major_version = %d, want 1", m.Metadata.MajorVersion)
			}
			if d := m.DisplayInformation; d.Name != "mfbot" || d.Description == "" || utf8.RuneCountInString(d.Description) > 140 {
				t.Errorf("display_information: name %q (want mfbot), description of %d characters (want 1 to 140)", d.Name, utf8.RuneCountInString(d.Description))
			}
			if m.Features.BotUser == nil || m.Features.BotUser.DisplayName != "mfbot" {
				t.Error("features.bot_user.display_name must be mfbot")
			}
			if n := len(m.Features.SlashCommands); n != 1 {
				t.Fatalf("%d slash commands, want /mf only", n)
			}
			cmd := m.Features.SlashCommands[0]
			if cmd.Command != "/mf" {
				t.Errorf("slash command %q, want /mf", cmd.Command)
			}
			if cmd.Description == "" || cmd.UsageHint != "[env] <command> [service] [flags]" {
				t.Errorf("slash command description %q, usage hint %q", cmd.Description, cmd.UsageHint)
			}
			if cmd.ShouldEscape == nil || *cmd.ShouldEscape {
				t.Error("the slash command must say should_escape: false")
			}

			scopes := m.OAuthConfig.Scopes.Bot
			for _, s := range scopes {
				if !knownBotScopes[s] {
					t.Errorf("bot scope %q is not a Slack bot scope", s)
				}
				if _, ok := needed[s]; !ok {
					t.Errorf("bot scope %q is asked for but nothing in the code needs it", s)
				}
			}
			for s, why := range needed {
				if !slices.Contains(scopes, s) {
					t.Errorf("bot scope %q is missing: %s needs it", s, why)
				}
			}
			if len(slices.Compact(slices.Sorted(slices.Values(scopes)))) != len(scopes) {
				t.Errorf("duplicate scopes in %v", scopes)
			}

			st := m.Settings
			if !slices.Contains(st.EventSubscriptions.BotEvents, "app_mention") {
				t.Errorf("bot events %v lack app_mention", st.EventSubscriptions.BotEvents)
			}
			if len(st.EventSubscriptions.BotEvents) != 1 {
				t.Errorf("bot events %v: mfbot handles app_mention only", st.EventSubscriptions.BotEvents)
			}
			if !st.Interactivity.IsEnabled {
				t.Error("interactivity must be enabled (Confirm/Cancel and Logs buttons)")
			}
			if st.OrgDeployEnabled == nil || *st.OrgDeployEnabled {
				t.Error("settings.org_deploy_enabled must be false")
			}
			if st.TokenRotationEnabled != nil && *st.TokenRotationEnabled {
				t.Error("token rotation must stay off: mfbot keeps one xoxb- token")
			}
			socket := st.SocketModeEnabled != nil && *st.SocketModeEnabled
			urls := []string{cmd.URL, st.Interactivity.RequestURL, st.EventSubscriptions.RequestURL}
			if name == manifestSocketMode {
				if !socket {
					t.Error("settings.socket_mode_enabled must be true")
				}
				if slices.ContainsFunc(urls, func(u string) bool { return u != "" }) {
					t.Errorf("Socket Mode manifest with request URLs %q", urls)
				}
				return
			}
			if socket {
				t.Error("the HTTP manifest must say socket_mode_enabled: false")
			}
			want := []string{manifestHTTPBase + "/slack/commands", manifestHTTPBase + "/slack/interactivity", manifestHTTPBase + "/slack/events"}
			if !slices.Equal(urls, want) {
				t.Errorf("request URLs %q, want %q", urls, want)
			}
		})
	}

	// The two manifests differ only by the transport settings.
	a, b := readManifest(t, manifestSocketMode), readManifest(t, manifestHTTP)
	for _, m := range []*slackManifest{&a, &b} {
		for i := range m.Features.SlashCommands {
			m.Features.SlashCommands[i].URL = ""
		}
		m.Settings.Interactivity.RequestURL, m.Settings.EventSubscriptions.RequestURL = "", ""
		m.Settings.SocketModeEnabled = nil
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("%s and %s differ in more than the request URLs and socket_mode_enabled:\n%+v\n%+v", manifestSocketMode, manifestHTTP, a, b)
	}
}

// TestSlackAppManifestURLsAreServed checks that the HTTP manifest's request
// URLs are the paths mfbot serves: each answers an unsigned POST with 401
// (route found, signature refused), not 404 or 405.
func TestSlackAppManifestURLsAreServed(t *testing.T) {
	m := readManifest(t, manifestHTTP)
	h := bot.HTTPHandler(bot.NewSlack(nil, nil, nil, bot.SlackOptions{}), "manifest-test-secret", false, nil, nil, nil)
	for _, raw := range []string{m.Features.SlashCommands[0].URL, m.Settings.Interactivity.RequestURL, m.Settings.EventSubscriptions.RequestURL} {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "https" {
			t.Errorf("request URL %q: must be https (%v)", raw, err)
			continue
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, u.Path, strings.NewReader("text=status")))
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("POST %s unsigned: %d, want 401 (is the path served?)", u.Path, rec.Code)
		}
	}
}
