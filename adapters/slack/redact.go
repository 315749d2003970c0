package slack

import (
	"encoding/json"
	"fmt"

	"github.com/slack-go/slack"
)

// Redactor removes secrets from text (commands.Redactor).
type Redactor interface {
	String(s string) string
}

// redact returns m with its text and every string inside its blocks
// redacted; upload redacts each file (name, title, content) as it sends
// it. This is the edge: whatever builds a message (a reply, an alert, the
// audit mirror, an error), it goes through here once.
func (c *Client) redact(m Message) (Message, error) {
	r := c.opts.Redactor
	if r == nil {
		return m, nil
	}
	out := m
	out.Text = r.String(m.Text)
	if len(m.Blocks) > 0 {
		blocks, err := redactBlocks(r, m.Blocks)
		if err != nil {
			return Message{}, err
		}
		out.Blocks = blocks
	}
	return out, nil
}

// redactUpload redacts a file before it is sent.
func (c *Client) redactUpload(f Upload) Upload {
	r := c.opts.Redactor
	if r == nil {
		return f
	}
	content := f.Content
	if !f.Binary {
		content = []byte(r.String(string(f.Content)))
	}
	return Upload{Name: r.String(f.Name), Title: r.String(f.Title), Content: content, AltText: r.String(f.AltText), Binary: f.Binary}
}

// redactBlocks redacts every string value of the blocks, whatever their
// kind: through their JSON form, decoded, so that escaping cannot hide a
// secret nor a replacement break the JSON. Blocks without any secret come
// back as they were.
func redactBlocks(r Redactor, blocks []slack.Block) ([]slack.Block, error) {
	raw, err := json.Marshal(blocks)
	if err != nil {
		return nil, fmt.Errorf("redact blocks: %w", err)
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return nil, fmt.Errorf("redact blocks: %w", err)
	}
	changed := false
	tree = redactTree(r, tree, &changed)
	if !changed {
		return blocks, nil
	}
	redacted, err := json.Marshal(tree)
	if err != nil {
		return nil, fmt.Errorf("redact blocks: %w", err)
	}
	var out slack.Blocks
	if err := json.Unmarshal(redacted, &out); err != nil {
		return nil, fmt.Errorf("redact blocks: %w", err)
	}
	return out.BlockSet, nil
}

func redactTree(r Redactor, v any, changed *bool) any {
	switch v := v.(type) {
	case string:
		s := r.String(v)
		if s != v {
			*changed = true
		}
		return s
	case []any:
		for i := range v {
			v[i] = redactTree(r, v[i], changed)
		}
	case map[string]any:
		for k, e := range v {
			v[k] = redactTree(r, e, changed)
		}
	}
	return v
}
