package slack

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"mfbot/commands"
	"mfbot/reply"
)

// A chart is uploaded byte for byte (redacting binary content would
// break it, and it is drawn from redacted data) with its alt text, which
// is redacted like any text, in the thread of the message that announces it.
func TestImageIsUploadedIntactWithRedactedAltText(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	redactor, err := commands.NewRedactor(nil)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := fakeClient(t)
	c := NewClient(f.BotToken(), f.APIURL(), ClientOptions{PerChannelInterval: -1, RetryBackoff: 10 * time.Millisecond, Redactor: redactor})
	// Bytes that would look like a secret to the redactor, inside a PNG.
	png := append([]byte("\x89PNG\r\n\x1a\n"), []byte("password=hunter2hunter2 \x00\xff\xfe")...)
	rep := reply.Reply{Status: reply.StatusOK, Title: "Positions received in prod, last 24h", Blocks: []reply.Block{
		&reply.Text{Text: "1,234 positions received"},
		&reply.File{Name: "positions-prod.png", Title: "Positions received", Content: png, MediaType: "image/png",
			Alt: "1,234 positions received; DB_PASSWORD=Sup3rS3cr3t-alt"},
	}}
	m := Render(rep)
	if len(m.Files) != 1 || !m.Files[0].Binary || m.Files[0].AltText == "" {
		t.Fatalf("files %+v", m.Files)
	}
	ts, err := c.Post(ctx, "C1", "", m)
	if err != nil {
		t.Fatal(err)
	}
	files := f.Files()
	if len(files) != 1 {
		t.Fatalf("%d files uploaded", len(files))
	}
	got := files[0]
	if !bytes.Equal(got.Content, png) {
		t.Errorf("the PNG changed on its way: %q, want %q", got.Content, png)
	}
	if strings.Contains(got.AltText, "Sup3rS3cr3t-alt") || !strings.Contains(got.AltText, "1,234 positions received") {
		t.Errorf("alt text %q: want it redacted, its summary kept", got.AltText)
	}
	if got.ThreadTS != ts || got.Channel != "C1" {
		t.Errorf("uploaded in %s/%s, want the thread of %s", got.Channel, got.ThreadTS, ts)
	}
	msgs := f.Messages("C1")
	if len(msgs) == 0 || !strings.Contains(string(msgs[0].Blocks), "🖼 positions-prod.png") {
		t.Errorf("the message does not announce the picture: %v", msgs)
	}
}
