package bot

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"mfbot/commands"
)

// maxSlackBody caps what is read of a Slack request before its signature
// is checked: real payloads are a few KiB, interactivity ones a few tens.
const maxSlackBody = 256 << 10

// SlackHTTPHandler serves Slack's HTTP endpoints (/slack/commands,
// /slack/interactivity, /slack/events). Every request must carry a valid
// v0 signature made less than 5 minutes ago; anything else gets 401 and
// nothing runs. Valid requests are acknowledged at once and handed to the
// dispatcher.
func (s *Slack) SlackHTTPHandler(signingSecret string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/commands", s.verified(signingSecret, s.httpCommand))
	mux.HandleFunc("POST /slack/interactivity", s.verified(signingSecret, s.httpInteraction))
	mux.HandleFunc("POST /slack/events", s.verified(signingSecret, s.httpEvent))
	return mux
}

// verified reads the capped body, checks Slack's signature and timestamp
// with slack-go's verifier, then calls next with the body.
func (s *Slack) verified(secret string, next func(http.ResponseWriter, *http.Request, []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSlackBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		verifier, err := slack.NewSecretsVerifier(r.Header, secret)
		if err == nil {
			_, err = verifier.Write(body)
		}
		if err == nil {
			err = verifier.Ensure()
		}
		if err != nil {
			s.log.Warn("refused an unsigned, forged or stale Slack request", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		s.Touch()
		next(w, r, body)
	}
}

func (s *Slack) httpCommand(w http.ResponseWriter, _ *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if form.Get("ssl_check") != "" {
		// Slack checking the certificate of the command's URL: no command.
		w.WriteHeader(http.StatusOK)
		return
	}
	cmd := SlashCommand{Text: form.Get("text"), UserID: form.Get("user_id"), ChannelID: form.Get("channel_id"),
		ResponseURL: form.Get("response_url"), Via: commands.ViaHTTP}
	if err := s.HandleSlashCommand(cmd); err != nil {
		writeJSON(w, map[string]string{"response_type": "ephemeral", "text": "⚠️ " + err.Error()})
		return
	}
	w.WriteHeader(http.StatusOK) // an empty 200 is the acknowledgement
}

func (s *Slack) httpInteraction(w http.ResponseWriter, _ *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
	if cb.Type != slack.InteractionTypeBlockActions {
		return
	}
	for _, click := range clicksOf(cb, commands.ViaHTTP) {
		s.busy(s.HandleClick(click), cb.ResponseURL)
	}
}

func (s *Slack) httpEvent(w http.ResponseWriter, _ *http.Request, body []byte) {
	outer, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
	if err != nil {
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	switch outer.Type {
	case slackevents.URLVerification:
		var challenge slackevents.ChallengeResponse
		if err := json.Unmarshal(body, &challenge); err != nil {
			http.Error(w, "bad challenge", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, challenge.Challenge)
	case slackevents.CallbackEvent:
		w.WriteHeader(http.StatusOK)
		var envelope struct {
			EventID string `json:"event_id"`
		}
		json.Unmarshal(body, &envelope)
		if !s.FirstDelivery(envelope.EventID) {
			return // Slack's retry of an event already handled
		}
		if m, ok := outer.InnerEvent.Data.(*slackevents.AppMentionEvent); ok {
			s.busy(s.HandleMention(Mention{UserID: m.User, ChannelID: m.Channel, TS: m.TimeStamp, ThreadTS: m.ThreadTimeStamp, Text: m.Text, Via: commands.ViaHTTP,
				DeliveryID: envelope.EventID}), "")
		}
	default:
		w.WriteHeader(http.StatusOK)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
