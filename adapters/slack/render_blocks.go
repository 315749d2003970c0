package slack

import (
	"fmt"
	"mfbot/human"
	"mfbot/reply"
	"strings"

	"github.com/slack-go/slack"
)

// Body blocks: each commands.Block becomes one or more items.

const (
	// tableCellMax bounds a table cell in the message (the file has it whole).
	tableCellMax = 60
	// fieldLabelMax bounds a field label.
	fieldLabelMax = 100
	fences        = "```\n"
	fenceEnd      = "\n```"
)

func (r *renderer) block(b reply.Block) []item {
	switch b := b.(type) {
	case *reply.Text:
		return r.text(b.Text)
	case *reply.Fields:
		return r.fields(b.Fields)
	case *reply.Table:
		return r.table(b)
	case *reply.Code:
		return r.code(b.Text)
	case *reply.File:
		return r.file(b)
	}
	return nil
}

func sectionItem(text, plain string) item {
	s := mrkdwnSection(text)
	return item{block: s, chars: blockChars(s), plain: plain}
}

// text is a paragraph: split into as many sections as it needs.
func (r *renderer) text(raw string) []item {
	raw = strings.TrimRight(raw, " \t\r\n")
	if raw == "" {
		return nil
	}
	var items []item
	for _, part := range splitFitting(raw, maxSectionText) {
		if strings.TrimSpace(part) == "" {
			// Slack refuses blank sections: the blank goes with the previous part.
			if len(items) > 0 {
				items[len(items)-1].plain += part
			}
			continue
		}
		it := sectionItem(escape(part), part)
		it.cont = len(items) > 0
		items = append(items, it)
	}
	return items
}

// fields: label/value pairs, at most ten per section, each at most
// maxFieldText characters.
func (r *renderer) fields(fields []reply.Field) []item {
	var items []item
	var full strings.Builder
	shortened := false
	for start := 0; start < len(fields); start += maxFieldsPerSection {
		chunk := fields[start:min(start+maxFieldsPerSection, len(fields))]
		var objs []*slack.TextBlockObject
		var plain strings.Builder
		for _, f := range chunk {
			text, cut := fieldText(f)
			shortened = shortened || cut
			objs = append(objs, mrkdwn(text))
			fmt.Fprintf(&plain, "%s: %s\n", f.Label, f.Value)
		}
		s := slack.NewSectionBlock(nil, objs, nil)
		items = append(items, item{block: s, chars: blockChars(s), plain: plain.String(), cont: start > 0})
		full.WriteString(plain.String())
	}
	if shortened && len(items) > 0 {
		last := &items[len(items)-1]
		last.upload = &Upload{Name: r.name(r.stem+"-fields", ".txt"), Title: r.title, Content: []byte(full.String())}
	}
	return items
}

// fieldText renders "*Label*\nvalue" within maxFieldText; cut reports a
// shortened value.
func fieldText(f reply.Field) (text string, cut bool) {
	label := strings.TrimSpace(oneLine(f.Label))
	prefix := ""
	if label != "" {
		prefix = "*" + escape(truncate(label, fieldLabelMax)) + "*\n"
	}
	value := strings.TrimSpace(f.Value)
	if value == "" {
		value = "—"
	}
	budget := maxFieldText - runes(prefix)
	if head := headFitting(value, budget); len(head) < len(value) {
		return prefix + escape(headFitting(value, budget-1)) + "…", true
	}
	return prefix + escape(value), false
}

// table: a monospace block with aligned columns, like `docker ps`.
func (r *renderer) table(t *reply.Table) []item {
	full := tableLines(t, 0)
	if len(full) == 0 {
		return nil
	}
	plain := strings.Join(full, "\n") + "\n"
	lines := tableLines(t, tableCellMax)
	cellsCut := strings.Join(lines, "\n") != strings.Join(full, "\n")
	header, rows := lines[0], lines[1:]
	if t.Header == nil {
		header, rows = "", lines
	}

	whole := escapeCode(strings.Join(lines, "\n"))
	if n := runes(fences + whole + fenceEnd); n <= codeBudget && !cellsCut {
		return []item{sectionItem(fences+whole+fenceEnd, plain)}
	}

	name := r.name(r.stem, ".txt")
	up := &Upload{Name: name, Title: r.title, Content: []byte(plain)}
	note := func(hidden int) string {
		if hidden == 0 {
			return "_Some cells are shortened: the full table is in the attached file " + name + "_\n"
		}
		return fmt.Sprintf("_…%d earlier %s in the attached file %s_\n", hidden, human.Plural(hidden, "row", "rows"), name)
	}
	budget := codeBudget - runes(fences+fenceEnd) - max(runes(note(0)), runes(note(len(rows))))
	var kept []string
	if header != "" {
		header = headFitting(header, budget/2)
		kept = append(kept, header)
		budget -= codeWidth(header) + 1
	}
	tail, _ := keepLast(rows, budget)
	kept = append(kept, tail...)
	text := note(len(rows)-len(tail)) + fences + escapeCode(strings.Join(kept, "\n")) + fenceEnd
	it := sectionItem(text, plain)
	it.upload = up
	return []item{it}
}

// tableLines aligns the header and rows; cells longer than cellMax (if
// not 0) are shortened. Column separators are three spaces, as docker's.
func tableLines(t *reply.Table, cellMax int) []string {
	cols := len(t.Header)
	for _, row := range t.Rows {
		cols = max(cols, len(row))
	}
	if cols == 0 {
		return nil
	}
	clean := func(row []string) []string {
		out := make([]string, cols)
		for i := range out {
			if i < len(row) {
				out[i] = strings.Join(strings.Fields(row[i]), " ")
				if cellMax > 0 {
					out[i] = truncate(out[i], cellMax)
				}
			}
		}
		return out
	}
	var grid [][]string
	if t.Header != nil {
		h := clean(t.Header)
		for i := range h {
			h[i] = strings.ToUpper(h[i])
		}
		grid = append(grid, h)
	}
	for _, row := range t.Rows {
		grid = append(grid, clean(row))
	}
	widths := make([]int, cols)
	for _, row := range grid {
		for i, c := range row {
			widths[i] = max(widths[i], runes(c))
		}
	}
	lines := make([]string, 0, len(grid))
	for _, row := range grid {
		var b strings.Builder
		for i, c := range row {
			b.WriteString(c)
			if i < cols-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-runes(c)+3))
			}
		}
		lines = append(lines, strings.TrimRight(b.String(), " "))
	}
	return lines
}

// code: a ``` block. Too long for a section, the message keeps the last
// lines (for logs the newest are what matter) and the whole goes to a file.
func (r *renderer) code(raw string) []item {
	raw = strings.TrimRight(raw, "\r\n")
	if strings.TrimSpace(raw) == "" {
		return nil
	}
	whole := fences + escapeCode(raw) + fenceEnd
	if runes(whole) <= codeBudget {
		return []item{sectionItem(whole, raw)}
	}
	lines := strings.Split(raw, "\n")
	name := r.name(r.stem, ".txt")
	note := func(hidden int, cut bool) string {
		s := fmt.Sprintf("…%d earlier %s in the attached file %s", hidden, human.Plural(hidden, "line", "lines"), name)
		if hidden == 0 {
			s = "…the full output is in the attached file " + name
		}
		if cut {
			s += " (the last line is shortened)"
		}
		return "_" + s + "_\n"
	}
	budget := codeBudget - runes(fences+fenceEnd) - runes(note(len(lines), true))
	kept, cut := keepLast(lines, budget)
	text := note(len(lines)-len(kept), cut) + fences + escapeCode(strings.Join(kept, "\n")) + fenceEnd
	it := sectionItem(text, raw)
	it.upload = &Upload{Name: name, Title: r.title, Content: []byte(raw + "\n")}
	return []item{it}
}

// codeWidth bounds the runes of escapeCode(s).
func codeWidth(s string) int {
	n := 0
	for _, r := range s {
		n += escapedWidth(r)
	}
	return n
}

// keepLast returns the longest suffix of lines that fits budget runes once
// escaped and joined by newlines. If not even the last line fits, its end
// is kept behind a "…" and cut is true.
func keepLast(lines []string, budget int) (kept []string, cut bool) {
	used := 0
	i := len(lines)
	for i > 0 {
		w := codeWidth(lines[i-1])
		if i < len(lines) {
			w++ // newline
		}
		if used+w > budget {
			break
		}
		used += w
		i--
	}
	if i == len(lines) && len(lines) > 0 {
		return []string{"…" + tailFitting(lines[len(lines)-1], budget-1)}, true
	}
	return lines[i:], false
}

// file: an attachment of the reply, announced in the message. An empty
// one is said, not uploaded: Slack refuses an empty upload.
func (r *renderer) file(f *reply.File) []item {
	name := safeFileName(f.Name)
	if len(f.Content) == 0 {
		c := slack.NewContextBlock("", mrkdwn(fmt.Sprintf("📎 %s is empty: nothing attached", escape(name))))
		return []item{{block: c, chars: blockChars(c), plain: fmt.Sprintf("(file %s, empty)", name)}}
	}
	if r.names[name] {
		ext := ""
		if i := strings.LastIndexByte(name, '.'); i > 0 {
			name, ext = name[:i], name[i:]
		}
		name = r.name(name, ext)
	} else {
		r.names[name] = true
	}
	title := f.Title
	if strings.TrimSpace(title) == "" {
		title = name
	}
	icon := "📎"
	if f.Binary() {
		icon = "🖼"
	}
	text := fmt.Sprintf("%s %s (%s) is attached in the thread", icon, escape(name), humanSize(len(f.Content)))
	c := slack.NewContextBlock("", mrkdwn(text))
	return []item{{
		block: c, chars: blockChars(c),
		plain:  fmt.Sprintf("(file %s, attached separately)", name),
		upload: &Upload{Name: name, Title: title, Content: f.Content, AltText: f.Alt, Binary: f.Binary()}, keepUpload: true,
	}}
}

func humanSize(n int) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.1f KB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1024*1024))
}
