package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/slack-go/slack"
)

// IncidentEventType is the metadata event type of an incident's root
// message; its payload carries {"incident_id": N}.
const IncidentEventType = "mfbot_incident"

// IncidentMetadata is the metadata of incident id's root message.
func IncidentMetadata(id int64) *slack.SlackMetadata {
	return &slack.SlackMetadata{EventType: IncidentEventType, EventPayload: map[string]any{"incident_id": id}}
}

// findRootPages bounds FindRoot's walk through the channel history
// (findRootPageSize messages a page): the root is looked for near the
// time it was posted, never through a whole busy channel.
const (
	findRootPages    = 10
	findRootPageSize = 200
)

// FindRoot looks for the root message of incident id posted in channel
// since since (conversations.history with its metadata: the
// channels:history scope, groups:history for a private channel) and
// returns its ts. It is how a notifier that crashed between posting a
// root and saving its ts finds it again instead of posting a second one.
func (c *Client) FindRoot(ctx context.Context, channel string, incidentID int64, since time.Time) (ts string, found bool, err error) {
	params := &slack.GetConversationHistoryParameters{
		ChannelID:          channel,
		Oldest:             slackTS(since),
		Limit:              findRootPageSize,
		IncludeAllMetadata: true,
	}
	for range findRootPages {
		var resp *slack.GetConversationHistoryResponse
		err := c.call(ctx, "conversations.history", func(ctx context.Context) error {
			var err error
			resp, err = c.api.GetConversationHistoryContext(ctx, params)
			return err
		})
		if err != nil {
			return "", false, err
		}
		// Newest first: the last root posted for the incident wins.
		for _, m := range resp.Messages {
			if m.Metadata.EventType == IncidentEventType && payloadID(m.Metadata.EventPayload["incident_id"]) == incidentID {
				return m.Timestamp, true, nil
			}
		}
		if !resp.HasMore || resp.ResponseMetaData.NextCursor == "" {
			return "", false, nil
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
	}
	c.log.Warn("root message not found within the history searched", "channel", channel, "incident", incidentID,
		"messages", findRootPages*findRootPageSize)
	return "", false, nil
}

// payloadID reads an incident ID from decoded JSON (a number, or a string
// of digits), -1 if it is neither.
func payloadID(v any) int64 {
	switch v := v.(type) {
	case float64:
		if v == float64(int64(v)) {
			return int64(v)
		}
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n
		}
	case string:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return -1
}

// slackTS formats t as a Slack timestamp ("1700000000.000100"); the zero
// time gives "" (no bound).
func slackTS(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	us := t.UnixMicro()
	return fmt.Sprintf("%d.%06d", us/1_000_000, us%1_000_000)
}
