package commands_test

import (
	"context"
	"testing"
	"time"

	"mfbot/commands"
	"mfbot/containers"
	"mfbot/reply"
)

// untimedEngine also streams lines without their times, as the Docker
// engine does for the catalogue.
type untimedEngine struct {
	loggingEngine
	untimed []containers.LogQuery
}

func (e *untimedEngine) LogsWithoutTimes(_ context.Context, _ string, q containers.LogQuery, sink func(containers.LogLine) error) error {
	e.untimed = append(e.untimed, q)
	for _, l := range []containers.LogLine{
		{Stream: "stdout", Text: "starting"},
		{Stream: "stderr", Text: "-----BEGIN RSA PRIVATE KEY-----"},
		{Stream: "stdout", Text: "DB_PASSWORD=hunter2"},
		{Stream: "stderr", Text: "MIIEowIBAAKCAQEA1"},
		{Stream: "stderr", Text: "-----END RSA PRIVATE KEY----- done"},
		{Stream: "stdout", Text: "ready"},
	} {
		if err := sink(l); err != nil {
			return err
		}
	}
	return nil
}

// logs and the alerts' context read the lines without their times when the
// engine can, redacted and filtered as ever.
func TestLogsReadLinesWithoutTimesWhenTheEngineCan(t *testing.T) {
	cfg := loadConfig(t, "environments:\n  prod: {}\n")
	engine := &untimedEngine{loggingEngine: loggingEngine{recordingEngine: recordingEngine{containers: []containers.Container{{ID: "a1", Name: "remote_app_1", State: "running"}}}}}
	c, err := commands.New(cfg, []*commands.Environment{{Config: cfg.Environments[0], Docker: engine}}, commands.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rep := c.Run(ctx, commands.Request{Line: "prod logs app --tail 4", User: "U1", Via: commands.ViaConsole})
	// The key written to stderr does not hide stdout's lines.
	want := "[REDACTED PRIVATE KEY]\nDB_PASSWORD=[REDACTED]\n done\nready"
	if rep.Status != reply.StatusOK || len(rep.Blocks) != 1 {
		t.Fatalf("%s %s: %#v", rep.Status, rep.Title, rep.Blocks)
	}
	if got := rep.Blocks[0].(*reply.Code).Text; got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	rep = c.Run(ctx, commands.Request{Line: `prod logs app --grep "hunter|REDACTED"`, User: "U1", Via: commands.ViaConsole})
	if got := rep.Blocks[0].(*reply.Code).Text; got != "[REDACTED PRIVATE KEY]\nDB_PASSWORD=[REDACTED]" {
		t.Errorf("--grep matched %q", got)
	}
	text, err := c.LogsBefore(ctx, "prod", "app", time.Now(), 2)
	if err != nil || text != " done\nready" {
		t.Errorf("LogsBefore: %q, %v", text, err)
	}
	if len(engine.untimed) != 3 || len(engine.queries) != 0 {
		t.Errorf("%d reads without times, %d with", len(engine.untimed), len(engine.queries))
	}
}
