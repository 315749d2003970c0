// Package bot runs mfbot: its transports (console now, Slack later), and
// later its watchers and notifications. It wires and transports; the
// business rules live in commands.
package bot

import (
	"fmt"
	"mfbot/reply"
	"strings"
	"unicode/utf8"
)

// RenderText renders a reply for a terminal.
func RenderText(rep reply.Reply) string {
	var b strings.Builder
	// Long outputs (10,000 log lines) are copied once, into a builder of
	// the right size.
	size := len(rep.Title) + 64
	for _, blk := range rep.Blocks {
		switch blk := blk.(type) {
		case *reply.Text:
			size += len(blk.Text) + 1
		case *reply.Code:
			size += len(blk.Text) + 1
		case *reply.File:
			size += len(blk.Content) + len(blk.Name) + 32
		}
	}
	b.Grow(size)
	if rep.Title != "" {
		b.WriteString(marker(rep.Status) + rep.Title + "\n")
	}
	for _, blk := range rep.Blocks {
		switch blk := blk.(type) {
		case *reply.Text:
			b.WriteString(blk.Text)
			b.WriteByte('\n')
		case *reply.Fields:
			width := 0
			for _, f := range blk.Fields {
				width = max(width, utf8.RuneCountInString(f.Label))
			}
			for _, f := range blk.Fields {
				fmt.Fprintf(&b, "  %-*s  %s\n", width, f.Label, f.Value)
			}
		case *reply.Table:
			writeTable(&b, blk)
		case *reply.Code:
			b.WriteString(blk.Text)
			b.WriteByte('\n')
		case *reply.File:
			if blk.Binary() {
				fmt.Fprintf(&b, "--- %s (%d bytes, %s, not shown) ---\n%s\n", blk.Name, len(blk.Content), blk.MediaType, blk.Alt)
				continue
			}
			fmt.Fprintf(&b, "--- %s (%d bytes) ---\n%s\n", blk.Name, len(blk.Content), blk.Content)
		}
	}
	if rep.Confirm != nil {
		b.WriteString(rep.Confirm.Prompt + "\n")
	}
	for _, a := range rep.Actions {
		fmt.Fprintf(&b, "  → %s: %s\n", a.Label, a.Command)
	}
	return b.String()
}

func marker(s reply.Status) string {
	switch s {
	case reply.StatusFailed:
		return "✗ "
	case reply.StatusUsage, reply.StatusDenied:
		return "! "
	}
	return ""
}

func writeTable(b *strings.Builder, t *reply.Table) {
	widths := make([]int, len(t.Header))
	for i, h := range t.Header {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, row := range t.Rows {
		for i, cell := range row {
			if i < len(widths) {
				widths[i] = max(widths[i], utf8.RuneCountInString(cell))
			}
		}
	}
	line := func(cells []string) {
		for i, cell := range cells {
			if i >= len(widths) {
				break
			}
			if i == len(cells)-1 {
				b.WriteString(cell)
			} else {
				b.WriteString(cell + strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)+2))
			}
		}
		b.WriteString("\n")
	}
	line(upper(t.Header))
	for _, row := range t.Rows {
		line(row)
	}
}

func upper(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToUpper(s)
	}
	return out
}
