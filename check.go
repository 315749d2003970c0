package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"

	"github.com/slack-go/slack"

	"mfbot/adapters/postgres"
	"mfbot/adapters/store"
	"mfbot/bot"
)

// checkTimeout bounds each connection test, so a dead dependency shows as
// a failed line instead of a hang.
const checkTimeout = 5 * time.Second

// runCheck validates the configuration and tests every connection, one
// line per check; it fails when one check fails.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration file")
	if err := fs.Parse(args); err != nil {
		return bot.ExitUsage
	}
	a, err := wire(*configPath, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintf(stdout, "FAIL  config: %v\n", err)
		return bot.ExitFailed
	}
	defer a.Close()
	redactor := a.Redactor
	failed := false
	line := func(name string, err error, detail string) {
		if err != nil {
			failed = true
			fmt.Fprintf(stdout, "FAIL  %s: %s\n", name, redactor.String(err.Error()))
			return
		}
		fmt.Fprintf(stdout, "ok    %s: %s\n", name, detail)
	}
	source := "defaults and environment variables"
	if a.Config.Path != "" {
		source = a.Config.Path
	}
	line("config", nil, fmt.Sprintf("%s, %d environment(s)", source, len(a.Config.Environments)))
	for i, e := range a.Config.Environments {
		cctx, cancel := context.WithTimeout(ctx, checkTimeout)
		v, err := a.Engines[e.Name].Version(cctx)
		cancel()
		line("docker["+e.Name+"]", err, fmt.Sprintf("engine %s, API %s at %s", v.Version, v.APIVersion, a.Engines[e.Name].Host()))
		if e.Database == nil {
			fmt.Fprintf(stdout, "-     database[%s]: not configured (ENV_DB_URL)\n", e.Name)
		} else {
			version, err := postgres.Ping(ctx, e.Database.ConnString(), checkTimeout)
			line("database["+e.Name+"]", err, fmt.Sprintf("PostgreSQL %s at %s", version, e.Database))
		}
		if e.Prefect == nil {
			fmt.Fprintf(stdout, "-     prefect[%s]: not configured (PREFECT_API_URL)\n", e.Name)
		} else {
			cctx, cancel := context.WithTimeout(ctx, checkTimeout)
			version, err := a.envs[i].Pipeline.Version(cctx)
			cancel()
			line("prefect["+e.Name+"]", err, fmt.Sprintf("%s at %s", version, e.Prefect.URL))
		}
	}
	if st, err := store.Open(ctx, a.Config.Store); err != nil {
		line("store", err, "")
	} else {
		err := st.Ping(ctx)
		line("store", err, st.Describe())
		st.Close()
	}
	if !a.Config.Slack.Enabled() {
		fmt.Fprintln(stdout, "-     slack: not configured (SLACK_BOT_TOKEN)")
	} else {
		cctx, cancel := context.WithTimeout(ctx, checkTimeout)
		api := slack.New(a.Config.Slack.BotToken.Reveal(), slack.OptionAPIURL(a.Config.Slack.APIURL))
		resp, err := api.AuthTestContext(cctx)
		cancel()
		detail := ""
		if err == nil {
			detail = fmt.Sprintf("bot %s in team %s", resp.User, resp.Team)
		}
		line("slack", err, detail)
		if a.Config.Slack.AppToken != "" {
			detail, err := checkSocketMode(ctx, a.Config.Slack.BotToken.Reveal(), a.Config.Slack.AppToken.Reveal(), a.Config.Slack.APIURL)
			line("slack socket mode", err, detail)
		}
	}
	if failed {
		return bot.ExitFailed
	}
	return bot.ExitOK
}

// checkSocketMode asks apps.connections.open for a Socket Mode URL with the
// app-level token, bounded by checkTimeout, without opening the websocket.
// The detail names the websocket host only: the URL's query holds a ticket.
func checkSocketMode(ctx context.Context, botToken, appToken, apiURL string) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	api := slack.New(botToken, slack.OptionAppLevelToken(appToken), slack.OptionAPIURL(apiURL))
	_, wsURL, err := api.StartSocketModeContext(cctx)
	if err != nil {
		return "", fmt.Errorf("apps.connections.open (SLACK_APP_TOKEN): %w", err)
	}
	host := "?"
	if u, perr := url.Parse(wsURL); perr == nil && u.Host != "" {
		host = u.Host
	}
	return "app-level token accepted by apps.connections.open (websocket at " + host + ", not opened)", nil
}
