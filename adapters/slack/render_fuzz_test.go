package slack

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"mfbot/reply"
)

// fuzzReply builds a reply of every kind of block from fuzzed strings; n
// sets how many fields, rows, code lines and actions it holds.
func fuzzReply(title, text, cell, code, label, command string, n uint16, status uint8) reply.Reply {
	rows := int(n % 150)
	rep := reply.Reply{
		Status:      reply.Status(int(status) % 7), // 6 is unknown
		Title:       title,
		Target:      &reply.Target{Env: cell, Service: label},
		RequestedBy: cell,
		DecidedBy:   label,
	}
	fields := &reply.Fields{}
	for i := range rows % 25 {
		fields.Fields = append(fields.Fields, reply.Field{Label: fmt.Sprint(label, i), Value: text})
	}
	table := &reply.Table{Header: []string{cell, label, "state"}}
	for i := range rows {
		table.Rows = append(table.Rows, []string{fmt.Sprint(cell, i), text, code})
	}
	rep.Blocks = []reply.Block{
		&reply.Text{Text: text},
		fields,
		table,
		&reply.Code{Text: strings.Repeat(code+"\n", rows%50+1)},
		&reply.Text{Text: strings.Repeat(text, rows%8)},
		&reply.Code{Text: code},
	}
	for i := range int(n/150) % 60 {
		// Many short blocks: more than a message's 50.
		rep.Blocks = append(rep.Blocks, &reply.Text{Text: fmt.Sprint(text, i)}, &reply.Code{Text: code})
	}
	rep.Blocks = append(rep.Blocks, &reply.File{Name: label, Title: title, Content: []byte(code)})
	for i := range rows % 40 {
		style := []string{"", "primary", "danger", label}[i%4]
		rep.Actions = append(rep.Actions, reply.Action{Label: label, Command: command + strings.Repeat(" x", i), Style: style})
	}
	if rep.Status == reply.StatusPending {
		rep.Confirm = &reply.Confirmation{Prompt: text, Command: command, ID: cell,
			ExpiresAt: renderNow.Add(time.Duration(int(n)-3000) * time.Second)}
	}
	return rep
}

// FuzzRender: whatever the reply holds (titles, texts, table cells, code,
// fields, files, actions with any labels and commands, many rows), Render
// never panics and its message stays within Slack's limits (checkLimits:
// 50 blocks, 3,000 characters a section, 40,000 a message, button labels
// and values, escaping, no stray ```).
func FuzzRender(f *testing.F) {
	for _, seed := range []struct {
		title, text, cell, code, label, command string
		n                                       uint16
		status                                  uint8
	}{
		{"Status of prod", "Database reachable", "remote_app_1", "2025-03-14 INFO started", "Logs", "prod logs app --tail 200", 5, 0},
		{"Restart app?", "Pull and recreate app in prod?", "c0ffee", "", "Confirm", "prod restart app", 3, 4},
		{"", "", "", "", "", "", 0, 1},
		{"<!channel> & <https://x|y>", "*bold* _it_ ~s~ `c` ```x```", "<@U123ABC>", "````` ``` `", "<b>", "logs app --grep '```'", 8999, 2},
		{strings.Repeat("t", 200), strings.Repeat("é", 2000), strings.Repeat("c", 100), strings.Repeat("日本🐟", 300), strings.Repeat("L", 90), strings.Repeat("x", 2100), 149, 5},
		{"\n\t \u200b", "\xff\xfe", "\x00", "\r\n\r\n", " ", " \t ", 26, 3},
		{"Logs", "a\nb\nc", "U0123ABCD", "line\n", "U0123ABCD", "help", 49, 4},
	} {
		f.Add(seed.title, seed.text, seed.cell, seed.code, seed.label, seed.command, seed.n, seed.status)
	}
	f.Fuzz(func(t *testing.T, title, text, cell, code, label, command string, n uint16, status uint8) {
		for _, s := range []string{title, text, cell, code, label, command} {
			if len(s) > 4<<10 {
				return // longer strings only make each run slower
			}
		}
		rep := fuzzReply(title, text, cell, code, label, command, n, status)
		for _, emoji := range []string{"", "🔴"} {
			m := renderAt(rep, renderNow, emoji)
			if err := checkLimits(m); err != nil {
				t.Fatalf("title %q text %q cell %q code %q label %q command %q n %d status %d, emoji %q: %v",
					title, text, cell, code, label, command, n, status, emoji, err)
			}
		}
	})
}

// Two inputs FuzzRender found: three backticks outside a code block (a
// title, a mute reason) must not open one; an empty file is said, not
// uploaded empty.
func TestRenderFuzzFindings(t *testing.T) {
	m := renderAt(reply.Reply{Title: "deploy ``` failed", Blocks: []reply.Block{&reply.Text{Text: "reason: ``` oops"},
		&reply.Fields{Fields: []reply.Field{{Label: "a", Value: "b ``` c"}}}, &reply.File{Name: "a.txt"}}}, renderNow, "")
	if err := checkLimits(m); err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 0 || !strings.Contains(mustJSON(t, m.Blocks), "a.txt is empty: nothing attached") {
		t.Errorf("empty file: uploads %d, blocks %s", len(m.Files), mustJSON(t, m.Blocks))
	}
}
