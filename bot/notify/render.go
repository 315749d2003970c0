package notify

import (
	"fmt"
	"strconv"
	"strings"

	slackapi "mfbot/adapters/slack"
	"mfbot/human"
	"mfbot/incident"
	"mfbot/reply"
)

// stateEmoji shows an incident's state at a glance.
func stateEmoji(s incident.State) string {
	switch s {
	case incident.StateOpen:
		return "🔴"
	case incident.StateCrashLooping:
		return "🔁"
	case incident.StateRecovered:
		return "✅"
	case incident.StateResolved:
		return "⚪"
	}
	return "•"
}

// headline says how the incident stands, in a few words.
func headline(inc *incident.Incident, pr Presentation) string {
	switch inc.State {
	case incident.StateCrashLooping:
		return "crash-looping"
	case incident.StateRecovered:
		return "recovered after " + human.Duration(inc.Duration(inc.ClosedAt))
	case incident.StateResolved:
		return "resolved"
	}
	return reasonText(inc, pr)
}

// reasonText is the last failure, as the timeline says it.
func reasonText(inc *incident.Incident, pr Presentation) string {
	if pr.Reason != "" {
		return pr.Reason
	}
	switch inc.Reason {
	case incident.SignalCrashed:
		return fmt.Sprintf("exited with code %d", inc.ExitCode)
	case incident.SignalOOMKilled:
		return "OOM-killed"
	case incident.SignalUnhealthy:
		return "unhealthy"
	case incident.SignalDown:
		return "down"
	case "":
		return "failing"
	}
	return string(inc.Reason)
}

// rootReply is the incident's root message: state, what failed, when,
// and the buttons to look and act, as its source presents them.
func rootReply(inc *incident.Incident, pr Presentation) (reply.Reply, string) {
	k := inc.Key
	state := stateEmoji(inc.State) + " " + string(inc.State)
	switch {
	case inc.State.Closed():
		state = stateEmoji(inc.State) + " " + headline(inc, pr)
	case !inc.UpSince.IsZero():
		state += " · up again since " + human.Clock(inc.UpSince)
	}
	label := pr.TargetLabel
	if label == "" {
		label = "Target"
	}
	fields := []reply.Field{
		{Label: label, Value: k.Target},
		{Label: "Environment", Value: k.Env},
		{Label: "State", Value: state},
		{Label: "Last failure", Value: reasonText(inc, pr)},
	}
	fields = append(fields, pr.Fields...)
	fields = append(fields,
		reply.Field{Label: "Failures", Value: strconv.Itoa(inc.Count)},
		reply.Field{Label: "First seen", Value: human.Stamp(inc.FirstSeen)},
		reply.Field{Label: "Last seen", Value: human.Stamp(inc.LastSeen)},
	)
	if inc.Detail != "" {
		fields = append(fields, reply.Field{Label: "Detail", Value: inc.Detail})
	}
	rep := reply.Reply{
		Status: reply.StatusFailed,
		Title:  fmt.Sprintf("%s in %s: %s", k.Target, k.Env, headline(inc, pr)),
		Blocks: []reply.Block{&reply.Fields{Fields: fields}},
		Target: pr.Thread,
	}
	if inc.State.Closed() {
		rep.Status = reply.StatusOK
	}
	for _, a := range pr.Actions {
		if !inc.State.Closed() || a.KeepWhenClosed {
			rep.Actions = append(rep.Actions, a.Action)
		}
	}
	return rep, stateEmoji(inc.State)
}

// rootMessage renders the root, with the metadata that finds it again.
func rootMessage(inc *incident.Incident, pr Presentation) slackapi.Message {
	rep, emoji := rootReply(inc, pr)
	msg := slackapi.RenderWithEmoji(rep, emoji)
	msg.Metadata = slackapi.IncidentMetadata(inc.ID)
	return msg
}

// threadPostMessage renders a queued thread post.
func threadPostMessage(p incident.ThreadPost, pr Presentation) slackapi.Message {
	rep := reply.Reply{Status: reply.StatusOK, Title: p.Title, Target: pr.Thread}
	if strings.TrimSpace(rep.Title) == "" {
		rep.Title = p.Kind
	}
	if p.Text != "" {
		rep.Blocks = append(rep.Blocks, &reply.Text{Text: p.Text})
	}
	if p.Code != "" {
		rep.Blocks = append(rep.Blocks, &reply.Code{Text: p.Code})
	}
	emoji := "📝"
	if p.Kind == "logs" {
		emoji = "📜"
	}
	return slackapi.RenderWithEmoji(rep, emoji)
}

// timelineMessage renders the timeline entries not yet in the thread; the
// closing one says how the incident ended.
func timelineMessage(inc *incident.Incident, pr Presentation, entries []incident.Entry, closing bool) slackapi.Message {
	lines := make([]string, len(entries))
	for i, e := range entries {
		lines[i] = human.Clock(e.Time) + " · " + e.Text
	}
	rep := reply.Reply{Status: reply.StatusFailed, Target: pr.Thread}
	emoji := "🕒"
	switch {
	case closing:
		rep.Status, emoji = reply.StatusOK, stateEmoji(inc.State)
		h := headline(inc, pr)
		rep.Title = strings.ToUpper(h[:1]) + h[1:]
		rep.Blocks = []reply.Block{&reply.Text{Text: strings.Join(lines, "\n")}}
	case len(lines) == 1:
		rep.Title = lines[0]
	default:
		rep.Title = fmt.Sprintf("%d events", len(lines))
		rep.Blocks = []reply.Block{&reply.Text{Text: strings.Join(lines, "\n")}}
	}
	return slackapi.RenderWithEmoji(rep, emoji)
}
