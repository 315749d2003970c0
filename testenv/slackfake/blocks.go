package slackfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Block Kit limits Slack enforces on messages.
const (
	MaxBlocks            = 50
	MaxSectionText       = 3000
	MaxSectionFields     = 10
	MaxSectionFieldText  = 2000
	MaxContextElements   = 10
	MaxContextText       = 3000
	MaxActionsElements   = 25
	MaxHeaderText        = 150
	MaxButtonText        = 75
	MaxButtonValue       = 2000
	MaxButtonURL         = 3000
	MaxActionID          = 255
	MaxBlockID           = 255
	MaxImageAltText      = 2000
	MaxMarkdownBlockText = 12000
)

// blockChecker collects Slack-style block errors: "must be less than 3001
// characters [json-pointer:/blocks/0/text/text]".
type blockChecker struct {
	errs []string
}

func (c *blockChecker) add(ptr, format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...)+" [json-pointer:"+ptr+"]")
}

// validateBlocks checks a blocks JSON array the way chat.postMessage does.
// It answers invalid_blocks_format when the JSON is not an array of objects,
// invalid_blocks (with Slack's errors and response_metadata.messages) when a
// block breaks a rule or doesn't parse into slack-go's block types, and
// returns the compacted JSON otherwise (nil for an empty array).
func validateBlocks(raw string) (json.RawMessage, *apiError) {
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		return nil, &apiError{code: "invalid_blocks_format", messages: []string{"[ERROR] blocks must be a JSON array of objects: " + err.Error()}}
	}
	if len(blocks) == 0 {
		return nil, nil
	}
	c := &blockChecker{}
	if len(blocks) > MaxBlocks {
		c.add("/blocks", "no more than %d items allowed", MaxBlocks)
	}
	blockIDs := map[string]bool{}
	for i, b := range blocks {
		ptr := fmt.Sprintf("/blocks/%d", i)
		if id, ok := b["block_id"].(string); ok {
			c.maxLen(ptr+"/block_id", id, MaxBlockID)
			if blockIDs[id] {
				c.add(ptr+"/block_id", "duplicate block_id %q", id)
			}
			blockIDs[id] = true
		}
		c.block(ptr, b)
	}
	var parsed slack.Blocks
	if err := json.Unmarshal([]byte(raw), &parsed); err != nil {
		c.add("/blocks", "blocks do not parse into slack-go block types: %v", err)
	}
	if len(c.errs) > 0 {
		e := &apiError{code: "invalid_blocks", errors: c.errs}
		for _, m := range c.errs {
			e.messages = append(e.messages, "[ERROR] "+m)
		}
		return nil, e
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(raw)); err != nil {
		return json.RawMessage(raw), nil
	}
	return buf.Bytes(), nil
}

func (c *blockChecker) maxLen(ptr, s string, max int) {
	if n := utf8.RuneCountInString(s); n > max {
		c.add(ptr, "must be less than %d characters", max+1)
	}
}

// text checks a text composition object; kinds lists the allowed types.
func (c *blockChecker) text(ptr string, v any, max int, kinds ...string) {
	obj, ok := v.(map[string]any)
	if !ok {
		c.add(ptr, "must provide an object")
		return
	}
	typ, _ := obj["type"].(string)
	allowed := false
	for _, k := range kinds {
		allowed = allowed || typ == k
	}
	if !allowed {
		c.add(ptr+"/type", "must be one of %v", kinds)
	}
	s, ok := obj["text"].(string)
	if !ok {
		c.add(ptr+"/text", "missing required field: text")
		return
	}
	if s == "" {
		c.add(ptr+"/text", "must be more than 0 characters")
	}
	c.maxLen(ptr+"/text", s, max)
}

func (c *blockChecker) block(ptr string, b map[string]any) {
	typ, _ := b["type"].(string)
	switch typ {
	case "section":
		_, hasText := b["text"]
		fields, hasFields := b["fields"].([]any)
		if !hasText && !hasFields {
			c.add(ptr, "must provide either text or fields")
		}
		if hasText {
			c.text(ptr+"/text", b["text"], MaxSectionText, "plain_text", "mrkdwn")
		}
		if hasFields {
			if len(fields) > MaxSectionFields {
				c.add(ptr+"/fields", "no more than %d items allowed", MaxSectionFields)
			}
			for j, f := range fields {
				c.text(fmt.Sprintf("%s/fields/%d", ptr, j), f, MaxSectionFieldText, "plain_text", "mrkdwn")
			}
		}
		if acc, ok := b["accessory"]; ok {
			c.element(ptr+"/accessory", acc, map[string]bool{})
		}
	case "context":
		els, ok := b["elements"].([]any)
		if !ok || len(els) == 0 {
			c.add(ptr+"/elements", "must provide at least 1 item")
		}
		if len(els) > MaxContextElements {
			c.add(ptr+"/elements", "no more than %d items allowed", MaxContextElements)
		}
		for j, el := range els {
			ep := fmt.Sprintf("%s/elements/%d", ptr, j)
			obj, _ := el.(map[string]any)
			switch t, _ := obj["type"].(string); t {
			case "plain_text", "mrkdwn":
				c.text(ep, el, MaxContextText, "plain_text", "mrkdwn")
			case "image":
				c.image(ep, obj, "alt_text")
			default:
				c.add(ep+"/type", "unsupported context element type %q", t)
			}
		}
	case "actions":
		els, ok := b["elements"].([]any)
		if !ok || len(els) == 0 {
			c.add(ptr+"/elements", "must provide at least 1 item")
		}
		if len(els) > MaxActionsElements {
			c.add(ptr+"/elements", "no more than %d items allowed", MaxActionsElements)
		}
		ids := map[string]bool{}
		for j, el := range els {
			c.element(fmt.Sprintf("%s/elements/%d", ptr, j), el, ids)
		}
	case "header":
		c.text(ptr+"/text", b["text"], MaxHeaderText, "plain_text")
	case "divider":
	case "image":
		c.image(ptr, b, "alt_text")
		if t, ok := b["title"]; ok {
			c.text(ptr+"/title", t, 2000, "plain_text")
		}
	case "markdown":
		s, _ := b["text"].(string)
		if s == "" {
			c.add(ptr+"/text", "must be more than 0 characters")
		}
		c.maxLen(ptr+"/text", s, MaxMarkdownBlockText)
	case "rich_text", "input", "file", "video", "table", "context_actions":
		// accepted without detailed checks
	case "":
		c.add(ptr+"/type", "missing required field: type")
	default:
		c.add(ptr+"/type", "unsupported type: %s", typ)
	}
}

func (c *blockChecker) image(ptr string, obj map[string]any, altKey string) {
	if _, ok := obj["image_url"]; !ok {
		if _, ok := obj["slack_file"]; !ok {
			c.add(ptr, "must provide either image_url or slack_file")
		}
	}
	alt, ok := obj[altKey].(string)
	if !ok {
		c.add(ptr+"/"+altKey, "missing required field: %s", altKey)
	}
	c.maxLen(ptr+"/"+altKey, alt, MaxImageAltText)
}

// element checks an interactive element; ids collects the action_ids of the
// enclosing block, which must be unique there.
func (c *blockChecker) element(ptr string, v any, ids map[string]bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		c.add(ptr, "must provide an object")
		return
	}
	if id, ok := obj["action_id"].(string); ok {
		c.maxLen(ptr+"/action_id", id, MaxActionID)
		if ids[id] {
			c.add(ptr+"/action_id", "duplicate action_id %q", id)
		}
		ids[id] = true
	}
	typ, _ := obj["type"].(string)
	switch typ {
	case "button":
		c.text(ptr+"/text", obj["text"], MaxButtonText, "plain_text")
		if val, ok := obj["value"].(string); ok {
			c.maxLen(ptr+"/value", val, MaxButtonValue)
		}
		if u, ok := obj["url"].(string); ok {
			c.maxLen(ptr+"/url", u, MaxButtonURL)
		}
		if st, ok := obj["style"].(string); ok && st != "primary" && st != "danger" {
			c.add(ptr+"/style", "must be one of [primary danger]")
		}
	case "image":
		c.image(ptr, obj, "alt_text")
	case "overflow":
		opts, _ := obj["options"].([]any)
		if len(opts) < 1 || len(opts) > 5 {
			c.add(ptr+"/options", "must provide between 1 and 5 items")
		}
	case "static_select", "multi_static_select":
		opts, _ := obj["options"].([]any)
		groups, _ := obj["option_groups"].([]any)
		if len(opts) > 100 || len(groups) > 100 {
			c.add(ptr+"/options", "no more than 100 items allowed")
		}
	case "checkboxes", "radio_buttons", "datepicker", "datetimepicker", "timepicker",
		"external_select", "multi_external_select", "users_select", "multi_users_select",
		"conversations_select", "multi_conversations_select", "channels_select", "multi_channels_select",
		"plain_text_input", "email_text_input", "url_text_input", "number_input", "rich_text_input",
		"workflow_button", "file_input":
	case "":
		c.add(ptr+"/type", "missing required field: type")
	default:
		c.add(ptr+"/type", "unsupported element type: %s", typ)
	}
}
