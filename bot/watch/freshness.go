package watch

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"mfbot/bot/notify"
	"mfbot/freshness"
	"mfbot/human"
	"mfbot/incident"
	"mfbot/reply"
)

// SourceFreshness is the Source of the keys of the freshness watcher's
// signals; their Target is a check name (freshness.CheckPositionsReceived ...).
const SourceFreshness = "freshness"

const (
	defaultFreshnessPoll = time.Minute
	// maxFreshnessTimeout bounds one poll of one environment whatever the
	// interval: the healthcheck and the database answer within seconds
	// or not at all.
	maxFreshnessTimeout = 30 * time.Second
	// freshnessReadings is how many recent readings per environment are
	// kept for the thread of an incident they open.
	freshnessReadings  = 4
	freshnessDetailMax = 400
)

// FreshnessEnv is what the freshness watcher reads in one environment.
// App or DB may be nil (no app_url, no database): an environment with
// neither is not polled.
type FreshnessEnv struct {
	Name string
	App  freshness.App
	DB   freshness.Database
	// AppService and DBService are the services that the alerts' threads
	// are about (`@mfbot logs` there shows their logs): the app for the
	// app and data checks, the database for the database check; "": the
	// environment has no such service.
	AppService, DBService string
}

// FreshnessSource polls MonitorFish's data freshness in every environment
// as the operators' cron script did: the app's healthcheck, the ages of
// the last position received, of the last positions updated by Prefect
// and of the last logbook message, a sudden drop of positions, and the
// database's reachability. Each check of each environment is an incident
// identity of its own (Key{env, "freshness", check}). It reads with
// freshness.Read, as the `health` command does, so both always agree.
//
// A polled condition is reported at every poll while it lasts (the rules
// of package incident count it once); a check that cannot be evaluated
// (no source answered) reports nothing, so it neither opens nor recovers
// an incident: the app-healthcheck and database incidents say why.
type FreshnessSource struct {
	Envs       []FreshnessEnv
	Thresholds freshness.Thresholds
	// Interval is the time between two polls of an environment (default
	// 1 min); the first poll is at start.
	Interval time.Duration
	// Timeout bounds one poll of one environment (default 3/4 of the
	// interval, at most 30 s); it is kept below the interval.
	Timeout time.Duration
	// QueryFailed says whether an error of the database is its answer to
	// the query (permission denied, statement timeout ...) rather than no
	// answer: the database check is then failing, not unreachable. nil:
	// every error counts as unreachable.
	QueryFailed func(error) bool
	Log         *slog.Logger
	Now         func() time.Time // default time.Now
	// Seen is called with an environment and the time of each of its polls
	// that the app or the database answered. nil: not reported.
	Seen func(env string, at time.Time)

	mu     sync.Mutex
	recent map[string][]freshness.Reading // by environment, newest last
}

// Name implements bot.Source.
func (*FreshnessSource) Name() string { return SourceFreshness }

func (s *FreshnessSource) interval() time.Duration {
	if s.Interval > 0 {
		return s.Interval
	}
	return defaultFreshnessPoll
}

func (s *FreshnessSource) timeout() time.Duration {
	iv := s.interval()
	t := s.Timeout
	if t <= 0 {
		t = min(iv*3/4, maxFreshnessTimeout)
	}
	return min(t, iv*9/10)
}

func (s *FreshnessSource) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *FreshnessSource) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Watch polls every environment, each on its own goroutine (a slow one
// delays no other), until ctx ends.
func (s *FreshnessSource) Watch(ctx context.Context, signals chan<- incident.Signal) error {
	var wg sync.WaitGroup
	for _, env := range s.Envs {
		if env.App == nil && env.DB == nil {
			s.log().Info("data freshness not watched: neither app_url nor a database is configured", "env", env.Name)
			continue
		}
		wg.Go(func() { s.watchEnv(ctx, env, signals) })
	}
	wg.Wait()
	return nil
}

func (s *FreshnessSource) watchEnv(ctx context.Context, env FreshnessEnv, signals chan<- incident.Signal) {
	ticker := time.NewTicker(s.interval())
	defer ticker.Stop()
	for {
		if !s.poll(ctx, env, signals) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// poll reads one environment once and sends its signals; false: ctx ended.
func (s *FreshnessSource) poll(ctx context.Context, env FreshnessEnv, signals chan<- incident.Signal) bool {
	pctx, cancel := context.WithTimeout(ctx, s.timeout())
	r := freshness.Read(pctx, env.App, env.DB, s.Thresholds, s.now)
	cancel()
	if ctx.Err() != nil {
		return false
	}
	s.remember(env.Name, r)
	if answered := r.HasApp && r.AppErr == nil || r.HasDB && r.DBErr == nil; answered && s.Seen != nil {
		s.Seen(env.Name, s.now())
	}
	for _, sig := range s.Signals(env.Name, r) {
		select {
		case signals <- sig:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// Signals are what one reading of an environment says, one per check that
// could be evaluated: the app healthcheck and the database when they are
// configured, the data checks when a source answered.
func (s *FreshnessSource) Signals(env string, r freshness.Reading) []incident.Signal {
	key := func(check string) incident.Key {
		return incident.Key{Env: env, Source: SourceFreshness, Target: check}
	}
	// Said by the app and database incidents when no data check could be.
	var blind string
	if r.Facts.From == "" && len(r.Results) > 0 {
		blind = "; data checks " + r.Results[0].Detail
	}
	var out []incident.Signal
	if r.HasApp {
		sig := incident.Signal{Key: key(freshness.CheckAppHealth), Time: r.At, HasHealthcheck: true, Kind: incident.SignalHealthy, Detail: "answers"}
		if r.AppErr != nil {
			sig.Kind, sig.Detail = incident.SignalUnreachable, clip("does not answer: "+r.AppErr.Error())+blind
		}
		out = append(out, sig)
	}
	if r.HasDB {
		sig := incident.Signal{Key: key(freshness.CheckDatabase), Time: r.At, HasHealthcheck: true, Kind: incident.SignalHealthy, Detail: "answers"}
		switch {
		case r.DBErr != nil && s.QueryFailed != nil && s.QueryFailed(r.DBErr):
			sig.Kind, sig.Detail = incident.SignalFailing, clip("answers, but the freshness query fails: "+r.DBErr.Error())+blind
		case r.DBErr != nil:
			sig.Kind, sig.Detail = incident.SignalUnreachable, clip("unreachable: "+r.DBErr.Error())+blind
		}
		out = append(out, sig)
	}
	for _, res := range r.Results {
		sig := incident.Signal{Key: key(res.Check), Time: r.At, HasHealthcheck: true, Detail: res.Detail}
		switch res.Verdict {
		case freshness.Failing:
			sig.Kind = incident.SignalFailing
		case freshness.OK:
			sig.Kind = incident.SignalHealthy
		default:
			continue // cannot be evaluated: neither a failure nor a recovery
		}
		out = append(out, sig)
	}
	return out
}

// clip keeps a detail short enough for a field of the alert.
func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= freshnessDetailMax {
		return s
	}
	r := []rune(s)
	return string(r[:freshnessDetailMax-1]) + "…"
}

func (s *FreshnessSource) remember(env string, r freshness.Reading) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recent == nil {
		s.recent = map[string][]freshness.Reading{}
	}
	rs := append(s.recent[env], r)
	if len(rs) > freshnessReadings {
		rs = rs[len(rs)-freshnessReadings:]
	}
	s.recent[env] = rs
}

// reading finds the reading of env taken at t.
func (s *FreshnessSource) reading(env string, t time.Time) (freshness.Reading, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recent[env] {
		if r.At.Equal(t) {
			return r, true
		}
	}
	return freshness.Reading{}, false
}

// Opened starts a new incident's thread with the facts as they were read
// when it opened: which source answered, each check's verdict. The
// healthcheck's answer is not kept anywhere else.
func (s *FreshnessSource) Opened(_ context.Context, inc *incident.Incident, sig incident.Signal) []incident.ThreadPost {
	post := incident.ThreadPost{IncidentID: inc.ID, Kind: "facts", Title: "Data freshness as read at " + human.Clock(sig.Time), CreatedAt: time.Now()}
	r, ok := s.reading(sig.Env, sig.Time)
	if !ok {
		post.Text = "The reading that opened the incident is no longer at hand: ask `health`."
		return []incident.ThreadPost{post}
	}
	post.Text = DescribeReading(r)
	return []incident.ThreadPost{post}
}

// DescribeReading is a reading in a few lines: where the facts come from,
// the state of each source, each check's verdict and the fact's time.
func DescribeReading(r freshness.Reading) string {
	var b strings.Builder
	switch r.Facts.From {
	case "":
		b.WriteString("No source answered: the data checks cannot be evaluated.\n")
	default:
		fmt.Fprintf(&b, "Facts read from the %s.\n", r.Facts.From)
	}
	source := func(label string, has bool, err error, none string) {
		switch {
		case !has:
			fmt.Fprintf(&b, "%s: %s\n", label, none)
		case err != nil:
			fmt.Fprintf(&b, "%s: does not answer: %s\n", label, clip(err.Error()))
		default:
			fmt.Fprintf(&b, "%s: answers\n", label)
		}
	}
	source(freshness.Label(freshness.CheckAppHealth), r.HasApp, r.AppErr, "not configured (no app_url)")
	source(freshness.Label(freshness.CheckDatabase), r.HasDB, r.DBErr, "not configured")
	for _, res := range r.Results {
		fmt.Fprintf(&b, "%s: %s, %s", res.Label, res.Verdict, res.Detail)
		if !res.At.IsZero() {
			fmt.Fprintf(&b, " (%s)", human.Stamp(res.At))
		}
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}

// Present shows a freshness incident: what the check measures, its limit,
// and the buttons health, Mute 1h (and db status for the database).
func (s *FreshnessSource) Present(inc *incident.Incident) notify.Presentation {
	k := inc.Key
	check := k.Target
	env := s.env(k.Env)
	p := notify.Presentation{TargetLabel: "Check", Reason: FreshnessReason(inc), Thread: &reply.Target{Env: k.Env}}
	p.Fields = append(p.Fields, reply.Field{Label: "What", Value: freshness.Label(check)})
	if limit := s.limit(check); limit > 0 {
		p.Fields = append(p.Fields, reply.Field{Label: "Limit", Value: human.Duration(limit)})
	}
	if check == freshness.CheckDatabase {
		p.Thread.Service = env.DBService
	} else {
		p.Thread.Service = env.AppService
	}
	p.Actions = []notify.PresentedAction{
		{Action: reply.Action{Label: "Health", Command: k.Env + " health"}, KeepWhenClosed: true},
	}
	if check == freshness.CheckDatabase {
		p.Actions = append(p.Actions, notify.PresentedAction{Action: reply.Action{Label: "DB status", Command: k.Env + " db status"}})
	}
	p.Actions = append(p.Actions, notify.PresentedAction{Action: reply.Action{Label: "Mute 1h", Command: k.Env + " mute " + check + " 1h"}})
	return p
}

func (s *FreshnessSource) env(name string) FreshnessEnv {
	for _, e := range s.Envs {
		if e.Name == name {
			return e
		}
	}
	return FreshnessEnv{Name: name}
}

func (s *FreshnessSource) limit(check string) time.Duration {
	switch check {
	case freshness.CheckPositionsReceived:
		return s.Thresholds.PositionsReceived
	case freshness.CheckPositionsUpdated:
		return s.Thresholds.PositionsUpdated
	case freshness.CheckLogbookReceived:
		return s.Thresholds.LogbookReceived
	}
	return 0
}

// FreshnessReason is a freshness incident's last failure in a few words:
// "last position received 12 min ago (limit 5 min)", "database unreachable".
func FreshnessReason(inc *incident.Incident) string {
	switch inc.Key.Target {
	case freshness.CheckAppHealth:
		return "app healthcheck down"
	case freshness.CheckDatabase:
		if inc.Reason == incident.SignalFailing {
			return "database freshness query failing"
		}
		return "database unreachable"
	case freshness.CheckSuddenDrop:
		return "sudden drop of positions received"
	}
	what := freshness.Label(inc.Key.Target)
	what = strings.ToLower(what[:1]) + what[1:]
	if inc.Detail == "" {
		return what + " too old"
	}
	return what + " " + inc.Detail
}
