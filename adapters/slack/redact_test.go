package slack

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"mfbot/commands"
	"mfbot/reply"
)

// secrets are the values that must never reach Slack, in the forms they
// take in MonitorFish's world.
var secrets = []string{"Sup3rS3cr3t-edge", "xoxb-1111-2222-edgeToken", "hunter2hunter2", "MIIEedgeKeyBody0123456789abcdefABCDEF"}

// secretReply carries a secret in every part a reply has.
func secretReply() reply.Reply {
	const jdbc = "jdbc:postgresql://db:5432/monitorfishdb?user=postgres&password=Sup3rS3cr3t-edge"
	return reply.Reply{
		Status: reply.StatusFailed,
		Title:  "connect " + jdbc + " refused",
		Blocks: []reply.Block{
			&reply.Text{Text: "SLACK_BOT_TOKEN=xoxb-1111-2222-edgeToken"},
			&reply.Fields{Fields: []reply.Field{{Label: "ENV_DB_URL", Value: jdbc}}},
			&reply.Table{Header: []string{"env"}, Rows: [][]string{{"DB_PASSWORD=hunter2hunter2"}}},
			&reply.Code{Text: "Authorization: Bearer hunter2hunter2\n-----BEGIN PRIVATE KEY-----\nMIIEedgeKeyBody0123456789abcdefABCDEF\n-----END PRIVATE KEY-----"},
		},
		Actions: []reply.Action{{Label: "Logs", Command: "prod logs app"}},
	}
}

// responseRecorder stands for a response_url: it keeps the raw bodies.
type responseRecorder struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (r *responseRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.bodies = append(r.bodies, body)
	r.mu.Unlock()
	w.Write([]byte("ok"))
}

// The Slack client is the edge of the redaction boundary: a secret sent
// down any outgoing path (message, update, ephemeral, response_url, file)
// is found nowhere in what Slack receives.
func TestEveryOutgoingPathIsRedacted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	redactor, err := commands.NewRedactor(nil)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := fakeClient(t)
	c := NewClient(f.BotToken(), f.APIURL(), ClientOptions{PerChannelInterval: -1, RetryBackoff: 10 * time.Millisecond, Redactor: redactor})
	responses := &responseRecorder{}
	hook := httptest.NewServer(responses)
	t.Cleanup(hook.Close)

	msg := Render(secretReply())
	msg.Files = []Upload{{Name: "password=hunter2hunter2.txt", Title: "token: xoxb-1111-2222-edgeToken", Content: []byte("ENV_DB_URL=jdbc:postgresql://db/monitorfishdb?user=u&password=Sup3rS3cr3t-edge\n")}}
	ts, err := c.Post(ctx, "C1", "", msg)
	if err != nil {
		t.Fatal("post:", err)
	}
	if _, err := c.Post(ctx, "C1", ts, textMessage("thread: password=hunter2hunter2")); err != nil {
		t.Fatal("thread post:", err)
	}
	if err := c.Update(ctx, "C1", ts, Render(secretReply())); err != nil {
		t.Fatal("update:", err)
	}
	if err := c.PostEphemeral(ctx, "C1", "U1", "", Render(secretReply())); err != nil {
		t.Fatal("ephemeral:", err)
	}
	if err := c.Respond(ctx, hook.URL+"/commands/1", Render(secretReply()), false); err != nil {
		t.Fatal("response_url:", err)
	}
	if err := c.UploadFiles(ctx, "C1", ts, []Upload{{Name: "logs.txt", Content: []byte("Bearer hunter2hunter2\n")}}); err != nil {
		t.Fatal("upload:", err)
	}

	var sent []string
	for _, call := range f.Calls("") {
		sent = append(sent, call.Method+" "+string(call.Body))
		for name, values := range call.Params {
			sent = append(sent, name+"="+strings.Join(values, ","))
		}
	}
	for _, file := range f.Files() {
		sent = append(sent, "file "+file.Name+" "+file.Title+" "+string(file.Content))
	}
	for _, b := range responses.bodies {
		sent = append(sent, "response_url "+string(b))
	}
	if len(responses.bodies) != 1 || len(f.Files()) != 2 {
		t.Fatalf("not every path was taken: %d responses, %d files", len(responses.bodies), len(f.Files()))
	}
	all := strings.Join(sent, "\n")
	for _, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("secret %q reached Slack:\n%s", s, all)
		}
	}
	if n := strings.Count(all, commands.Redacted); n < 20 {
		t.Errorf("only %d redaction markers in what was sent: did the messages go out?\n%s", n, all)
	}
	// The buttons still run what they said.
	if !strings.Contains(all, "prod logs app") {
		t.Errorf("the Logs button's command was lost:\n%s", all)
	}
}

// A message without secrets keeps its blocks as built: redaction does not
// rebuild what it need not.
func TestRedactionKeepsCleanBlocks(t *testing.T) {
	redactor, _ := commands.NewRedactor(nil)
	c := NewClient("xoxb-test", "http://127.0.0.1:1/api/", ClientOptions{Redactor: redactor})
	msg := Render(reply.Reply{Status: reply.StatusOK, Title: "app restarted", Blocks: []reply.Block{&reply.Code{Text: "INFO started"}}})
	out, err := c.redact(msg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.Blocks, msg.Blocks) || out.Text != msg.Text {
		t.Fatalf("clean message changed:\n%#v\n%#v", msg.Blocks, out.Blocks)
	}
}

func BenchmarkRedactMessage(b *testing.B) {
	redactor, _ := commands.NewRedactor(nil)
	c := NewClient("xoxb-test", "http://127.0.0.1:1/api/", ClientOptions{Redactor: redactor})
	lines := strings.Repeat("2026-12-04 10:00:00.000  INFO 1 --- [main] f.g.c.m.MonitorFishApplicationKt : Started in 4.2 s\n", 30)
	msg := Render(reply.Reply{Status: reply.StatusOK, Title: "logs of app", Blocks: []reply.Block{&reply.Code{Text: lines}}})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.redact(msg); err != nil {
			b.Fatal(err)
		}
	}
}
