package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"mfbot/adapters/plot"
	"mfbot/adapters/postgres"
	slackapi "mfbot/adapters/slack"
	"mfbot/adapters/store"
	"mfbot/audit"
	"mfbot/bot"
	"mfbot/bot/notify"
	"mfbot/bot/watch"
	"mfbot/commands"
	"mfbot/freshness"
	"mfbot/incident"
	"mfbot/mute"
)

// shutdownGrace bounds how long in-flight commands may finish at exit.
const shutdownGrace = 30 * time.Second

// runBot is `mfbot run`: the Slack bot over Socket Mode and/or HTTP.
func runBot(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration file")
	if err := fs.Parse(args); err != nil {
		return bot.ExitUsage
	}
	log := newLogger(stderr, slog.LevelInfo)
	a, err := wire(*configPath, log)
	if err != nil {
		fmt.Fprintln(stderr, "mfbot:", err)
		return bot.ExitUsage
	}
	defer a.Close()
	cfg := a.Config
	if !cfg.Slack.Enabled() || cfg.Slack.AppToken == "" && cfg.Slack.SigningSecret == "" {
		fmt.Fprintln(stderr, "mfbot: Slack is not configured: set SLACK_BOT_TOKEN (xoxb-...) and SLACK_APP_TOKEN (xapp-..., Socket Mode) "+
			"or SLACK_SIGNING_SECRET (HTTP endpoints). Without Slack, use `mfbot console`.")
		return bot.ExitFailed
	}
	st, err := store.Open(ctx, cfg.Store)
	if err != nil {
		log.Error("cannot open the store", "err", err)
		return bot.ExitFailed
	}
	a.onClose(st.Close)
	reg := newMetricsRegistry()
	botMetrics := bot.NewMetrics(reg)
	bot.RegisterOutbox(reg, st)

	api := slackapi.NewClient(cfg.Slack.BotToken.Reveal(), cfg.Slack.APIURL, slackapi.ClientOptions{Logger: log, Redactor: a.Redactor, Metrics: slackapi.NewMetrics(reg)})
	authCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	botUser, team, err := api.AuthTest(authCtx)
	cancel()
	if err != nil {
		log.Error("Slack refused the bot token (auth.test): check SLACK_BOT_TOKEN", "err", err)
		return bot.ExitFailed
	}
	log.Info("authenticated to Slack", "bot_user", botUser, "team", team, "store", st.Describe())

	var audit audit.Log = st
	if cfg.AuditChannel != "" {
		mirror := bot.NewAuditMirror(st, api, cfg.AuditChannel, log)
		go mirror.Run(ctx)
		audit = mirror
	}
	opts := commands.Options{Log: log, Redactor: a.Redactor, Groups: api, Audit: audit, Confirmations: st, ConfirmTTL: cfg.Limits.ConfirmTimeout,
		Mutes: st, Incidents: bot.IncidentSummaries{Store: st}, Reports: st, Metrics: commands.NewMetrics(reg), Releases: st}
	opts.Charts, opts.Samples = plot.Renderer{}, st
	if cfg.AlertChannel != "" {
		opts.Announcer = &bot.SlackAnnouncer{API: api, Channel: cfg.AlertChannel, Log: log}
	}
	if err := a.buildCatalogue(opts); err != nil {
		log.Error("cannot build the command catalogue", "err", err)
		return bot.ExitFailed
	}
	// Every replica answers commands; the store tells which one handles a
	// delivery that Slack repeats, possibly to another replica.
	dispatcher := bot.NewSlack(a.Catalogue, api, st, bot.SlackOptions{Log: log, Metrics: botMetrics, Deliveries: st})

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	errs := make(chan error, 3)
	// The dispatcher has its own channel: its end is waited for at exit,
	// so that commands in flight finish before the store and engines close.
	dispatched := make(chan error, 1)
	go func() { dispatched <- dispatcher.Run(ctx, shutdownGrace) }()
	// The alerts run on one replica at a time, the leader: the watchers,
	// the notifier and the retention job start with each of its terms and
	// stop with it. At exit the term ends before the store closes.
	leading := make(chan struct{})
	go func() {
		defer close(leading)
		leadAlerts(ctx, st.Leadership(store.LeaderOptions{Log: log}), newLeaderGauge(reg), log, errs,
			func(ctx context.Context, wg *sync.WaitGroup, errs chan<- error) error {
				if err := startAlerts(ctx, a, st, api, log, botMetrics, errs, wg); err != nil {
					return err
				}
				// Retention: purge old confirmations, thread targets, closed
				// incidents and Slack deliveries hourly.
				wg.Go(func() { (&bot.Retention{Store: st, Log: log}).Run(ctx) })
				// Stats history: each running service's CPU and memory once a
				// minute, into the store's rings (`stats <svc> --chart`).
				sampler := &bot.Sampler{Store: st, Interval: bot.DefaultSampleInterval, Log: log, Metrics: botMetrics}
				for _, e := range cfg.Environments {
					sampler.Envs = append(sampler.Envs, bot.SamplerEnv{Config: e, Engine: a.Engines[e.Name]})
				}
				wg.Go(func() { sampler.Run(ctx) })
				return nil
			})
	}()
	defer func() {
		stop()
		if !waitClosed(leading, shutdownGrace) {
			log.Warn("the alerts did not stop in time", "after", shutdownGrace)
		}
	}()
	var socket *bot.SocketActivity // nil: HTTP endpoints only
	if cfg.Slack.AppToken != "" {
		socket = &bot.SocketActivity{}
		socketAPI := slack.New(cfg.Slack.BotToken.Reveal(), slack.OptionAppLevelToken(cfg.Slack.AppToken.Reveal()), slack.OptionAPIURL(cfg.Slack.APIURL))
		go func() { errs <- dispatcher.RunSocketMode(ctx, socketAPI, socket.Option()) }()
	}
	server, err := listen(cfg.HTTPAddr, bot.HTTPHandler(dispatcher, cfg.Slack.SigningSecret.Reveal(), cfg.Slack.AppToken != "", metricsHandler(reg),
		append(a.probes(st), dispatcher.SlackProbe(socket)), a.Redactor.String))
	if err != nil {
		log.Error("cannot listen", "addr", cfg.HTTPAddr, "err", err)
		return bot.ExitFailed
	}
	log.Info("mfbot is running", "http", server.addr, "socket_mode", cfg.Slack.AppToken != "", "http_endpoints", cfg.Slack.SigningSecret != "")
	go func() { errs <- server.serve() }()

	var failure error
	select {
	case <-ctx.Done():
	case failure = <-errs:
		if ctx.Err() != nil {
			failure = nil // a component noticing the shutdown, not a failure
		}
	case failure = <-dispatched:
		dispatched = nil // it stopped by itself: nothing left to drain
	}
	stop()
	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancelShutdown()
	server.Shutdown(shutdownCtx)
	if dispatched != nil {
		// Commands in flight finish (Run cancels them after shutdownGrace)
		// and post their replies; the outbox stays in the store for the
		// next start.
		log.Info("mfbot stops: waiting for the commands in flight", "at_most", shutdownGrace)
		<-dispatched
	}
	if failure != nil && !errors.Is(failure, http.ErrServerClosed) {
		log.Error("mfbot stops", "err", failure)
		return bot.ExitFailed
	}
	log.Info("mfbot stopped")
	return bot.ExitOK
}

// httpServer is the listening HTTP server with its real address (":0"
// picks a free port in tests).
type httpServer struct {
	*http.Server
	listener net.Listener
	addr     string
}

func listen(addr string, h http.Handler) (*httpServer, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second}
	return &httpServer{Server: srv, listener: l, addr: l.Addr().String()}, nil
}

func (s *httpServer) serve() error { return s.Serve(s.listener) }

// startAlerts starts, in wg, the pipeline that turns failures into alerts: the
// sources (one Docker watcher per environment, resuming from its saved
// cursor; the data freshness checks of every environment; the flow runs
// of every environment with a Prefect), the incident
// recorder, and the notifier when an alert channel is set (without one,
// incidents are recorded and logged only).
func startAlerts(ctx context.Context, a *app, st *store.Store, api *slackapi.Client, log *slog.Logger, m *bot.Metrics, errs chan<- error, wg *sync.WaitGroup) error {
	cfg := a.Config
	docker := watch.DockerSource{LogsBefore: a.Catalogue.LogsBefore}
	for _, e := range cfg.Environments {
		cursor, err := st.Cursor(ctx, e.Name, watch.SourceDocker)
		if err != nil {
			return err
		}
		seen := func(at time.Time) { m.WatcherSeen(watch.SourceDocker, e.Name, at) }
		docker.Watchers = append(docker.Watchers, watch.NewDockerWatcher(e, a.Engines[e.Name],
			watch.DockerOptions{Cursor: cursor, StopWindow: cfg.Limits.StopTimeout + time.Minute, Log: log, Seen: seen}))
	}
	// The data freshness of each environment: its app's healthcheck and its
	// database, as wired for the commands (`health` reads them the same way).
	fresh := &watch.FreshnessSource{Interval: cfg.Alerts.FreshnessPoll, Log: log,
		Thresholds:  freshness.Thresholds{PositionsReceived: cfg.Alerts.PositionsReceived, PositionsUpdated: cfg.Alerts.PositionsUpdated, LogbookReceived: cfg.Alerts.LogbookReceived},
		QueryFailed: func(err error) bool { return errors.Is(err, postgres.ErrQuery) },
		Seen:        func(env string, at time.Time) { m.WatcherSeen(watch.SourceFreshness, env, at) }}
	for _, env := range a.envs {
		fe := watch.FreshnessEnv{Name: env.Config.Name}
		if env.App != nil {
			fe.App = env.App
		}
		if env.DB != nil {
			fe.DB = env.DB
		}
		if _, ok := env.Config.Service("app"); ok {
			fe.AppService = "app"
		}
		if _, ok := env.Config.Service("db"); ok {
			fe.DBService = "db"
		}
		fresh.Envs = append(fresh.Envs, fe)
	}
	// The flow runs of every environment with a Prefect, each from the
	// cursor saved by the last run of mfbot.
	flows := &watch.PrefectSource{Interval: cfg.Alerts.PrefectPoll, StuckAfter: cfg.Alerts.StuckRunAfter, Log: log,
		Seen: func(env string, at time.Time) { m.WatcherSeen(watch.SourcePrefect, env, at) }}
	for _, env := range a.envs {
		if env.Pipeline == nil {
			continue
		}
		cursor, err := st.Cursor(ctx, env.Config.Name, watch.SourcePrefect)
		if err != nil {
			return err
		}
		flows.Envs = append(flows.Envs, watch.PrefectEnv{Name: env.Config.Name, API: env.Pipeline, Cursor: cursor})
	}
	sources := []bot.Source{docker}
	if cfg.Alerts.FreshnessEnabled {
		sources = append(sources, fresh)
	} else {
		log.Info("data freshness not watched: alerts.freshness.enabled is false")
	}
	if len(flows.Envs) > 0 {
		sources = append(sources, flows)
	}
	// Every source presents its incidents, watched or not: those recorded
	// before its watcher was turned off are still delivered as it shows them.
	presenters := bot.Presenters([]bot.Source{docker, fresh, flows})
	rules := incident.Rules{CrashLoopRestarts: cfg.Alerts.CrashLoopRestarts, CrashLoopWindow: cfg.Alerts.CrashLoopWindow, RecoveryAfter: cfg.Alerts.RecoveryAfter}
	alerts := &bot.Alerts{Store: st, Rules: rules, Sources: sources, SaveCursor: st.SaveCursor, Log: log, Metrics: m}
	if cfg.AlertChannel != "" {
		groupWindow := cfg.Alerts.GroupWindow
		if groupWindow == 0 {
			groupWindow = -1 // notify's "never"
		}
		n := notify.New(st, api, cfg.AlertChannel, notify.Options{UpdateInterval: cfg.Alerts.UpdateInterval, GroupWindow: groupWindow,
			Muted: mutedBy(commands.MutePolicy(cfg, st), log), Presenters: presenters, Threads: st, Log: log, OnEvent: m.NotifyEvent})
		alerts.Notify = n.Kick
		wg.Go(func() { errs <- n.Run(ctx) })
	} else {
		log.Warn("MFBOT_ALERT_CHANNEL is not set: incidents are recorded and logged, not posted")
	}
	wg.Go(func() { alerts.Run(ctx) })
	return nil
}

// probes are the dependencies /healthz asks: each environment's Docker
// engine and the store are required (no alert, no command without them);
// databases and Prefects are reported.
func (a *app) probes(st *store.Store) []bot.Probe {
	probes := []bot.Probe{{Name: "store", Required: true, Check: st.Ping}}
	for _, env := range a.envs {
		name := env.Config.Name
		probes = append(probes, bot.Probe{Name: "docker[" + name + "]", Required: true, Check: a.Engines[name].Ping})
		if api := env.Pipeline; api != nil {
			probes = append(probes, bot.Probe{Name: "prefect[" + name + "]", Check: func(ctx context.Context) error {
				_, err := api.Version(ctx)
				return err
			}})
		}
		if db := env.Config.Database; db != nil {
			probes = append(probes, bot.Probe{Name: "database[" + name + "]", Check: func(ctx context.Context) error {
				_, err := postgres.Ping(ctx, db.ConnString(), 2*time.Second)
				return err
			}})
		}
	}
	return probes
}

// mutedBy says whether an incident's notifications are muted, by the
// one mute policy (the configuration's mutes and the store's).
func mutedBy(policy mute.Policy, log *slog.Logger) func(incident.Key, time.Time) bool {
	return func(k incident.Key, t time.Time) bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		muted, err := policy.Muted(ctx, k.Env, k.Target, t)
		if err != nil {
			log.Error("cannot read every mute: notifying unless a configured mute applies", "err", err)
		}
		return muted
	}
}
