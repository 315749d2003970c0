package slack

import (
	"fmt"
	"math"
	"mfbot/human"
	"mfbot/reply"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// actions: one actions block of Run buttons, whose value is the command
// line. A command too long for a button value is left out, with a note.
func (r *renderer) actions(actions []reply.Action) []slack.Block {
	var buttons []slack.BlockElement
	tooLong, tooMany := 0, 0
	for _, a := range actions {
		command := strings.TrimSpace(a.Command)
		if command == "" {
			continue
		}
		if len(command) > maxButtonValue { // bytes ≥ runes: a conservative test
			tooLong++
			continue
		}
		if len(buttons) == maxActionElements {
			tooMany++
			continue
		}
		label := oneLine(a.Label)
		if label == "" {
			label = command
		}
		id := ActionRun
		if len(buttons) > 0 {
			id = fmt.Sprintf("%s#%d", ActionRun, len(buttons)+1)
		}
		btn := slack.NewButtonBlockElement(id, command, plainText(truncate(label, maxButtonLabel)))
		switch a.Style {
		case "primary":
			btn = btn.WithStyle(slack.StylePrimary)
		case "danger":
			btn = btn.WithStyle(slack.StyleDanger)
		}
		buttons = append(buttons, btn)
	}
	var blocks []slack.Block
	if len(buttons) > 0 {
		blocks = append(blocks, slack.NewActionBlock("", buttons...))
	}
	var notes []string
	if tooLong > 0 {
		notes = append(notes, fmt.Sprintf("%d %s too long to offer as a button", tooLong, human.Plural(tooLong, "action is", "actions are")))
	}
	if tooMany > 0 {
		notes = append(notes, fmt.Sprintf("%d more %s not shown", tooMany, human.Plural(tooMany, "action", "actions")))
	}
	if len(notes) > 0 {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn("_"+strings.Join(notes, "; ")+"_")))
	}
	return blocks
}

// confirm: the prompt, when it expires, and the Confirm / Cancel pair.
func (r *renderer) confirm(c *reply.Confirmation, now time.Time) []slack.Block {
	prompt := strings.TrimSpace(c.Prompt)
	if prompt == "" {
		prompt = "Run " + c.Command + "?"
	}
	text := "*" + escape(headFitting(prompt, maxSectionText-200)) + "*"
	if !c.ExpiresAt.IsZero() {
		text += "\n" + expiry(c.ExpiresAt, now)
	}
	dialog := slack.NewConfirmationBlockObject(
		plainText("Are you sure?"),
		plainText(truncate(oneLine(prompt), maxConfirmText)),
		plainText("Yes, do it"),
		plainText("Cancel"),
	)
	confirm := slack.NewButtonBlockElement(ActionConfirm, c.ID, plainText("Confirm")).
		WithStyle(slack.StylePrimary).WithConfirm(dialog)
	cancel := slack.NewButtonBlockElement(ActionCancel, c.ID, plainText("Cancel"))
	return []slack.Block{mrkdwnSection(text), slack.NewActionBlock("", confirm, cancel)}
}

// expiry says when a confirmation expires: relative to the time of
// rendering, and as a Slack date that each reader sees in their own time
// zone (the fallback is UTC).
func expiry(at, now time.Time) string {
	date := fmt.Sprintf("<!date^%d^{time}|%s UTC>", at.Unix(), at.UTC().Format("15:04"))
	left := at.Sub(now)
	if left <= 0 {
		return "_Expired at " + date + "_"
	}
	if left < time.Minute {
		return fmt.Sprintf("_Expires in %d s, at %s_", int(math.Ceil(left.Seconds())), date)
	}
	return fmt.Sprintf("_Expires in %d min, at %s_", int(math.Round(left.Minutes())), date)
}
