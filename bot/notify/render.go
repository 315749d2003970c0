package notify

import (
	"fmt"
	"strconv"
	"strings"

	slackapi "mfbot/adapters/slack"
	"mfbot/commands"
	"mfbot/human"
	"mfbot/incident"
)

// LogsTail is how many lines the Logs button of an alert asks for. The
// logs verb takes only relative --since/--until, which would mean another
// window each time the button is clicked: the last lines it is.
const LogsTail = 200

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
func headline(inc *incident.Incident) string {
	switch inc.State {
	case incident.StateCrashLooping:
		return "crash-looping"
	case incident.StateRecovered:
		return "recovered after " + human.Duration(inc.Duration(inc.ClosedAt))
	case incident.StateResolved:
		return "resolved"
	}
	return reasonText(inc)
}

// reasonText is the last failure, as the timeline says it.
func reasonText(inc *incident.Incident) string {
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

// targetLabel names what failed, by source.
func targetLabel(source string) string {
	switch source {
	case "docker":
		return "Service"
	case "prefect":
		return "Flow"
	case "freshness":
		return "Check"
	}
	return "Target"
}

// rootReply is the incident's root message: state, what failed, when,
// and the buttons to look and act.
func rootReply(inc *incident.Incident) (commands.Reply, string) {
	k := inc.Key
	state := stateEmoji(inc.State) + " " + string(inc.State)
	switch {
	case inc.State.Closed():
		state = stateEmoji(inc.State) + " " + headline(inc)
	case !inc.UpSince.IsZero():
		state += " · up again since " + human.Clock(inc.UpSince)
	}
	fields := []commands.Field{
		{Label: targetLabel(k.Source), Value: k.Target},
		{Label: "Environment", Value: k.Env},
		{Label: "State", Value: state},
		{Label: "Last failure", Value: reasonText(inc)},
	}
	if inc.Reason == incident.SignalCrashed || inc.Reason == incident.SignalOOMKilled || inc.ExitCode != 0 {
		fields = append(fields, commands.Field{Label: "Exit code", Value: strconv.Itoa(inc.ExitCode)})
	}
	if k.Source == "docker" || inc.OOM {
		fields = append(fields, commands.Field{Label: "OOM-killed", Value: yesNo(inc.OOM)})
	}
	fields = append(fields,
		commands.Field{Label: "Failures", Value: strconv.Itoa(inc.Count)},
		commands.Field{Label: "First seen", Value: human.Stamp(inc.FirstSeen)},
		commands.Field{Label: "Last seen", Value: human.Stamp(inc.LastSeen)},
	)
	if inc.Detail != "" {
		fields = append(fields, commands.Field{Label: "Detail", Value: inc.Detail})
	}
	rep := commands.Reply{
		Status: commands.StatusFailed,
		Title:  fmt.Sprintf("%s in %s: %s", k.Target, k.Env, headline(inc)),
		Blocks: []commands.Block{&commands.Fields{Fields: fields}},
		Target: &commands.Target{Env: k.Env, Service: k.Target},
	}
	if inc.State.Closed() {
		rep.Status = commands.StatusOK
	}
	if k.Source == "docker" {
		rep.Actions = append(rep.Actions, commands.Action{Label: "Logs",
			Command: fmt.Sprintf("%s logs %s --tail %d", k.Env, k.Target, LogsTail)})
		if !inc.State.Closed() {
			rep.Actions = append(rep.Actions,
				commands.Action{Label: "Restart", Command: k.Env + " restart " + k.Target, Style: "danger"},
				commands.Action{Label: "Mute 1h", Command: k.Env + " mute " + k.Target + " 1h"})
		}
	}
	return rep, stateEmoji(inc.State)
}

// rootMessage renders the root, with the metadata that finds it again.
func rootMessage(inc *incident.Incident) slackapi.Message {
	rep, emoji := rootReply(inc)
	msg := slackapi.RenderWithEmoji(rep, emoji)
	msg.Metadata = slackapi.IncidentMetadata(inc.ID)
	return msg
}

// threadPostMessage renders a queued thread post.
func threadPostMessage(inc *incident.Incident, p incident.ThreadPost) slackapi.Message {
	rep := commands.Reply{Status: commands.StatusOK, Title: p.Title,
		Target: &commands.Target{Env: inc.Key.Env, Service: inc.Key.Target}}
	if strings.TrimSpace(rep.Title) == "" {
		rep.Title = p.Kind
	}
	if p.Text != "" {
		rep.Blocks = append(rep.Blocks, &commands.Text{Text: p.Text})
	}
	if p.Code != "" {
		rep.Blocks = append(rep.Blocks, &commands.Code{Text: p.Code})
	}
	emoji := "📝"
	if p.Kind == "logs" {
		emoji = "📜"
	}
	return slackapi.RenderWithEmoji(rep, emoji)
}

// timelineMessage renders the timeline entries not yet in the thread; the
// closing one says how the incident ended.
func timelineMessage(inc *incident.Incident, entries []incident.Entry, closing bool) slackapi.Message {
	lines := make([]string, len(entries))
	for i, e := range entries {
		lines[i] = human.Clock(e.Time) + " · " + e.Text
	}
	rep := commands.Reply{Status: commands.StatusFailed, Target: &commands.Target{Env: inc.Key.Env, Service: inc.Key.Target}}
	emoji := "🕒"
	switch {
	case closing:
		rep.Status, emoji = commands.StatusOK, stateEmoji(inc.State)
		rep.Title = strings.ToUpper(headline(inc)[:1]) + headline(inc)[1:]
		rep.Blocks = []commands.Block{&commands.Text{Text: strings.Join(lines, "\n")}}
	case len(lines) == 1:
		rep.Title = lines[0]
	default:
		rep.Title = fmt.Sprintf("%d events", len(lines))
		rep.Blocks = []commands.Block{&commands.Text{Text: strings.Join(lines, "\n")}}
	}
	return slackapi.RenderWithEmoji(rep, emoji)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
