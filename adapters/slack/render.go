// Package slack is mfbot's Slack adapter: it renders transport-neutral
// replies as Block Kit messages within Slack's limits and talks to the Web
// API (posting, updating, uploading, reacting) while honouring its rate
// limits.
package slack

import (
	"fmt"
	"mfbot/human"
	"mfbot/reply"
	"regexp"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Message is a rendered reply: what chat.postMessage, chat.update, a
// response_url and chat.postEphemeral take.
type Message struct {
	// Text is the fallback text (notifications, screen readers): the status
	// and the title, escaped.
	Text   string
	Blocks []slack.Block
	// Files is the output that did not fit: to upload in the reply's thread.
	Files []Upload
	// Ephemeral is set for errors, usage and denials: they are shown only
	// to the user who typed the command.
	Ephemeral bool
	// Metadata, if set, is attached to the message by Post and Update
	// (Render never sets it): an incident's root message carries its ID
	// so that it can be found again (FindRoot).
	Metadata *slack.SlackMetadata
}

// Upload is a file to attach in the thread of a message.
type Upload struct {
	Name    string
	Title   string
	Content []byte
	// AltText describes a picture (Slack's alt_txt).
	AltText string
	// Binary content (a PNG) is not redacted: it would break, and it is
	// drawn from redacted data only.
	Binary bool
}

// Action IDs of the buttons Render makes. Slack wants action IDs unique
// within a block, so the second and later Run buttons of a message carry a
// "#n" suffix: use ActionOf to map an incoming action_id back to these.
const (
	ActionRun     = "mf_run"     // value: the command line to run
	ActionConfirm = "mf_confirm" // value: the confirmation ID
	ActionCancel  = "mf_cancel"  // value: the confirmation ID
)

// ActionOf returns the Action* constant an action_id stands for
// ("mf_run#2" → ActionRun).
func ActionOf(actionID string) string {
	if i := strings.IndexByte(actionID, '#'); i >= 0 {
		return actionID[:i]
	}
	return actionID
}

// Slack's limits (Block Kit reference, chat.postMessage).
const (
	maxBlocks           = 50
	maxSectionText      = 3000
	maxFieldText        = 2000
	maxFieldsPerSection = 10
	maxMessageChars     = 40000
	maxButtonLabel      = 75
	maxButtonValue      = 2000
	maxActionElements   = 25
	maxHeaderText       = 150
	maxConfirmTitle     = 100
	maxConfirmText      = 300
	maxContextText      = 3000

	// codeBudget is what a ``` block may take in a section, fences and
	// note included: a little under maxSectionText.
	codeBudget = 2900
	// titleMax bounds the headline, as a header block would.
	titleMax = maxHeaderText
	// overflowNoteReserve is kept free for the "rest in a file" note.
	overflowNoteReserve = 300
)

// Render turns a reply into a message that fits Slack's limits; what does
// not fit goes to Files.
func Render(rep reply.Reply) Message { return renderAt(rep, time.Now(), "") }

// RenderWithEmoji is Render with emoji in front of the title instead of
// the one of rep.Status (an alert shows its state: 🔴, 🔁, ✅).
func RenderWithEmoji(rep reply.Reply, emoji string) Message {
	return renderAt(rep, time.Now(), emoji)
}

// renderAt is Render at a given time (the confirmation's "expires in"),
// with emoji before the title ("": the status's).
func renderAt(rep reply.Reply, now time.Time, emoji string) Message {
	if emoji == "" {
		emoji = statusEmoji(rep.Status)
	}
	r := &renderer{title: rep.Title, stem: slug(rep.Title), names: map[string]bool{}}
	if strings.TrimSpace(r.title) == "" {
		r.title = rep.Status.String()
	}
	msg := Message{
		Text:      escape(emoji + " " + truncate(oneLine(r.title), titleMax)),
		Ephemeral: isEphemeral(rep),
	}

	head := mrkdwnSection(escape(emoji) + " *" + escape(truncate(oneLine(r.title), titleMax)) + "*")
	var tail []slack.Block
	if who := whoContext(rep); who != nil {
		tail = append(tail, who)
	}
	if rep.Confirm != nil {
		tail = append(tail, r.confirm(rep.Confirm, now)...)
	}
	tail = append(tail, r.actions(rep.Actions)...)

	var items []item
	for _, b := range rep.Blocks {
		items = append(items, r.block(b)...)
	}

	fixedBlocks := 1 + len(tail)
	fixedChars := runes(msg.Text) + blockChars(head)
	for _, b := range tail {
		fixedChars += blockChars(b)
	}
	n := fit(items, maxBlocks-fixedBlocks, maxMessageChars-fixedChars)
	if n < len(items) {
		n = fit(items, maxBlocks-fixedBlocks-1, maxMessageChars-fixedChars-overflowNoteReserve)
	}

	msg.Blocks = append(msg.Blocks, head)
	for _, it := range items[:n] {
		if it.block != nil {
			msg.Blocks = append(msg.Blocks, it.block)
		}
		if it.upload != nil {
			msg.Files = append(msg.Files, *it.upload)
		}
	}
	if rest := items[n:]; len(rest) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "%s (continued)\n\n", r.title)
		for i, it := range rest {
			if it.keepUpload && it.upload != nil {
				msg.Files = append(msg.Files, *it.upload)
			}
			if i > 0 && !it.cont {
				b.WriteString("\n\n")
			}
			b.WriteString(it.plain)
		}
		b.WriteString("\n")
		name := r.name(r.stem+"-more", ".txt")
		msg.Files = append(msg.Files, Upload{Name: name, Title: r.title + " (continued)", Content: []byte(b.String())})
		msg.Blocks = append(msg.Blocks, mrkdwnSection(fmt.Sprintf("_…%d more %s did not fit in this message: see the attached file %s_",
			len(rest), human.Plural(len(rest), "part", "parts"), name)))
	}
	msg.Blocks = append(msg.Blocks, tail...)
	return msg
}

// whoContext says who asked for a mutating command and who confirmed or
// cancelled it, as real mentions (user IDs only: anything else is escaped).
func whoContext(rep reply.Reply) slack.Block {
	var parts []string
	if rep.RequestedBy != "" {
		parts = append(parts, "requested by "+mention(rep.RequestedBy))
	}
	if rep.DecidedBy != "" {
		verb := "confirmed"
		if rep.Status == reply.StatusCancelled {
			verb = "cancelled"
		}
		parts = append(parts, verb+" by "+mention(rep.DecidedBy))
	}
	if len(parts) == 0 {
		return nil
	}
	text := strings.Join(parts, " · ")
	return slack.NewContextBlock("", mrkdwn(strings.ToUpper(text[:1])+text[1:]))
}

// mention renders a Slack user ID as a mention; anything that is not an
// ID (a console login) is shown escaped.
func mention(user string) string {
	if userIDPattern.MatchString(user) {
		return "<@" + user + ">"
	}
	return escape(user)
}

var userIDPattern = regexp.MustCompile(`^[UW][A-Z0-9]{2,30}$`)

// isEphemeral: usage errors and denials concern only the user who typed
// the command; so does a failure about nothing in particular. A failure
// about a service stays visible: the channel needs to see a restart failed.
func isEphemeral(rep reply.Reply) bool {
	switch rep.Status {
	case reply.StatusUsage, reply.StatusDenied:
		return true
	case reply.StatusFailed:
		return rep.Target == nil
	}
	return false
}

func statusEmoji(s reply.Status) string {
	switch s {
	case reply.StatusOK:
		return "✅"
	case reply.StatusFailed:
		return "❌"
	case reply.StatusUsage, reply.StatusDenied:
		return "⚠️"
	case reply.StatusPending:
		return "⏳"
	case reply.StatusCancelled:
		return "🚫"
	}
	return "•"
}

// item is one body block of the message, with what it says as plain text
// in case it has to move to the overflow file.
type item struct {
	block slack.Block // nil for an item that only carries an upload
	chars int
	plain string
	// upload is the full content of a block shortened in the message.
	upload *Upload
	// keepUpload: the upload is a file of the reply, sent even when the
	// item itself overflows (otherwise plain carries the content then).
	keepUpload bool
	// cont: the item continues the previous one's block (a long text
	// split into sections), so plain follows it without a separator.
	cont bool
}

// fit returns how many leading items fit in the given numbers of blocks
// and characters.
func fit(items []item, blocks, chars int) int {
	for i, it := range items {
		if it.block != nil {
			blocks--
		}
		chars -= it.chars
		if blocks < 0 || chars < 0 {
			return i
		}
	}
	return len(items)
}

// renderer carries what the blocks of one reply share: the title and the
// file names already used.
type renderer struct {
	title string
	stem  string
	names map[string]bool
}

// name returns base+ext, or base-2+ext ... if already taken in this reply.
func (r *renderer) name(base, ext string) string {
	n := base + ext
	for i := 2; r.names[n]; i++ {
		n = fmt.Sprintf("%s-%d%s", base, i, ext)
	}
	r.names[n] = true
	return n
}

func mrkdwn(text string) *slack.TextBlockObject {
	// verbatim: Slack must not auto-link URLs, channel names or mentions
	// found in the (already escaped) text.
	return slack.NewTextBlockObject(slack.MarkdownType, text, false, true)
}

func plainText(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, text, true, false)
}

func mrkdwnSection(text string) *slack.SectionBlock {
	return slack.NewSectionBlock(mrkdwn(text), nil, nil)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// blockChars counts the characters of the text objects of a block, as the
// message total limit counts them.
func blockChars(b slack.Block) int {
	n := 0
	text := func(t *slack.TextBlockObject) {
		if t != nil {
			n += runes(t.Text)
		}
	}
	switch b := b.(type) {
	case *slack.SectionBlock:
		text(b.Text)
		for _, f := range b.Fields {
			text(f)
		}
	case *slack.ContextBlock:
		for _, e := range b.ContextElements.Elements {
			if t, ok := e.(*slack.TextBlockObject); ok {
				text(t)
			}
		}
	case *slack.ActionBlock:
		for _, e := range b.Elements.ElementSet {
			if btn, ok := e.(*slack.ButtonBlockElement); ok {
				text(btn.Text)
				if c := btn.Confirm; c != nil {
					text(c.Title)
					text(c.Text)
					text(c.Confirm)
					text(c.Deny)
				}
			}
		}
	case *slack.HeaderBlock:
		text(b.Text)
	}
	return n
}
