package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"
)

const (
	defaultConfigFile  = "mfbot.yaml"
	defaultEnvironment = "local" // the one environment when the file names none
	defaultSlackAPIURL = "https://slack.com/api/"
	defaultHTTPAddr    = "127.0.0.1:8090"
	defaultStore       = "./mfbot.db"
	defaultCompose     = "remote"
	defaultAppURL      = "http://127.0.0.1:8880"
	day                = 24 * time.Hour
	maxTailLimit       = 10000
	maxSinceLimit      = 7 * day

	defaultVersionVariable = "MONITORFISH_VERSION" // what ~/.monitorfish and the Makefile use
	defaultDeployTimeout   = 15 * time.Minute
	defaultHealthyTimeout  = 3 * time.Minute
	defaultFlowsNetwork    = "host" // as `make deploy-pipeline-flows`: Prefect on the host's loopback
	defaultFlowsTimeout    = 10 * time.Minute
)

// Load reads the YAML file at path, then applies environment variables
// (which win), fills defaults and validates. path "" means $MFBOT_CONFIG if
// set, else ./mfbot.yaml if it exists, else no file. lookupEnv is
// os.LookupEnv in production; nil means no variables. Empty variables count
// as unset, as `docker run -e VAR=` leaves them.
//
// The error lists every problem found, one per line, each naming the YAML
// key (with its line) or the variable, and never quoting a secret.
func Load(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	vars := variables(lookupEnv)
	path, explicit := configPath(path, vars)

	cfg := defaultConfig()
	p := newProblems(path)
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			d := decoder{p: p, vars: vars}
			if err := d.decodeFile(data, cfg); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			cfg.Path = path
		case errors.Is(err, fs.ErrNotExist) && !explicit:
			p.file = "" // no ./mfbot.yaml: configuration by variables only
		default:
			return nil, fmt.Errorf("reading the configuration: %w", err)
		}
	}
	if len(cfg.Environments) == 0 {
		cfg.Environments = []Environment{newEnvironment(defaultEnvironment)}
	}
	applyVariables(cfg, vars, p)
	finish(cfg, p)
	if err := p.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// configPath returns the file to read and whether it was asked for (then
// it must exist) rather than merely looked for.
func configPath(path string, vars variables) (string, bool) {
	if path != "" {
		return path, true
	}
	if path, ok := vars.get("MFBOT_CONFIG"); ok {
		return path, true
	}
	return defaultConfigFile, false
}

func defaultConfig() *Config {
	return &Config{
		Slack:    Slack{APIURL: defaultSlackAPIURL},
		HTTPAddr: defaultHTTPAddr,
		Store:    defaultStore,
		Limits: Limits{
			DefaultTail:    100,
			MaxTail:        maxTailLimit,
			MaxSince:       maxSinceLimit,
			CommandTimeout: 30 * time.Second,
			RestartTimeout: 3 * time.Minute,
			StopTimeout:    10 * time.Second,
			ConfirmTimeout: 2 * time.Minute,
		},
		Alerts: Alerts{
			CrashLoopRestarts: 3,
			CrashLoopWindow:   10 * time.Minute,
			RecoveryAfter:     2 * time.Minute,
			UpdateInterval:    10 * time.Second,
			GroupWindow:       30 * time.Second,
			PrefectPoll:       15 * time.Second,
			StuckRunAfter:     50 * time.Minute, // what MonitorFish's own clean-up flow used
			PositionsReceived: 5 * time.Minute,  // the thresholds of MonitorFish's cron health script
			PositionsUpdated:  5 * time.Minute,
			LogbookReceived:   10 * time.Minute,
			FreshnessPoll:     time.Minute,
			FreshnessEnabled:  true,
		},
	}
}

func newEnvironment(name string) Environment {
	return Environment{
		Name:           name,
		ComposeProject: defaultCompose,
		AppURL:         defaultAppURL,
		Services:       defaultServices(),
		Groups:         defaultGroups(),
		// Deploy is filled even without deploy: in the file; Flows stays
		// nil unless deploy.flows is there.
		VersionVariable: defaultVersionVariable,
		Deploy:          Deploy{Timeout: defaultDeployTimeout, HealthyTimeout: defaultHealthyTimeout},
	}
}

// newDeployFlows is deploy.flows with its defaults. Image stays "": the
// caller uses the repository of the pipeline-flows service's image.
func newDeployFlows() *DeployFlows {
	return &DeployFlows{Network: defaultFlowsNetwork, Timeout: defaultFlowsTimeout}
}

// variables reads the environment; empty values count as unset.
type variables func(string) (string, bool)

func (v variables) get(name string) (string, bool) {
	if v == nil {
		return "", false
	}
	value, ok := v(name)
	value = strings.TrimSpace(value)
	return value, ok && value != ""
}

// applyVariables lets the environment variables override the file. Those
// that describe one MonitorFish (DOCKER_HOST, ENV_DB_URL, PREFECT_API_URL)
// apply to the default environment.
func applyVariables(cfg *Config, vars variables, p *problems) {
	applySlackVariables(&cfg.Slack, vars, p)

	set := func(name string, target *string, check func(string) error) {
		value, ok := vars.get(name)
		if !ok {
			return
		}
		if err := check(value); err != nil {
			p.atVariable(name, err)
			return
		}
		*target = value
	}
	set("MFBOT_ALERT_CHANNEL", &cfg.AlertChannel, checkChannelID)
	set("MFBOT_HTTP_ADDR", &cfg.HTTPAddr, checkHTTPAddr)
	set("MFBOT_STORE", &cfg.Store, checkStore)
	if list, ok := vars.get("MFBOT_OPERATORS"); ok {
		cfg.Operators = nil
		for id := range strings.SplitSeq(list, ",") {
			id = strings.TrimSpace(id)
			if id == "" {
				continue
			}
			if err := checkPrincipalID(id); err != nil {
				p.atVariable("MFBOT_OPERATORS", err)
				continue
			}
			cfg.Operators = append(cfg.Operators, id)
		}
	}

	if cfg.DefaultEnv == "" {
		cfg.DefaultEnv = cfg.Environments[0].Name
	}
	i := slices.IndexFunc(cfg.Environments, func(e Environment) bool { return e.Name == cfg.DefaultEnv })
	if i < 0 {
		p.atKey("default_environment", 0, fmt.Errorf("unknown environment %q (environments: %s)",
			cfg.DefaultEnv, strings.Join(cfg.EnvironmentNames(), ", ")))
		return
	}
	env := &cfg.Environments[i]
	if env.DockerHost == "" { // a DOCKER_HOST exported for the shell must not beat the file
		set("DOCKER_HOST", &env.DockerHost, checkDockerHost)
	}
	if raw, ok := vars.get("ENV_DB_URL"); ok {
		if db, err := ParseDatabaseURL(raw); err != nil {
			p.atVariable("ENV_DB_URL", err)
		} else {
			env.Database = &db
		}
	}
	if raw, ok := vars.get("PREFECT_API_URL"); ok {
		if err := checkHTTPURL(raw); err != nil {
			p.atVariable("PREFECT_API_URL", err)
		} else if flavor, err := prefectFlavorOf(raw); err == nil {
			if env.Prefect == nil {
				env.Prefect = &Prefect{}
			}
			env.Prefect.URL, env.Prefect.Flavor = strings.TrimRight(raw, "/"), flavor
		} else if env.Prefect != nil && env.Prefect.Flavor != "" { // prefect_flavor set in the file
			env.Prefect.URL = strings.TrimRight(raw, "/")
		} else {
			p.atVariable("PREFECT_API_URL", fmt.Errorf("%w, or set prefect_flavor in the file", err))
		}
	}
	applyPrefectVariables(env, vars, p)
}

// applyPrefectVariables applies the Prefect client's own variables to the
// default environment: PREFECT_UI_URL, PREFECT_SERVER_API_AUTH_STRING
// (basic auth, Prefect ≥ 3.1.8) and PREFECT_API_KEY (Prefect Cloud).
// Without a Prefect API they configure nothing, and say so.
func applyPrefectVariables(env *Environment, vars variables, p *problems) {
	ui, uiSet := vars.get("PREFECT_UI_URL")
	auth, authSet := vars.get("PREFECT_SERVER_API_AUTH_STRING")
	key, keySet := vars.get("PREFECT_API_KEY")
	if !uiSet && !authSet && !keySet {
		return
	}
	if env.Prefect == nil {
		for _, v := range []struct {
			name string
			set  bool
		}{{"PREFECT_UI_URL", uiSet}, {"PREFECT_SERVER_API_AUTH_STRING", authSet}, {"PREFECT_API_KEY", keySet}} {
			if v.set {
				p.atVariable(v.name, errors.New("set, but no Prefect API is configured: set PREFECT_API_URL too"))
			}
		}
		return
	}
	if uiSet {
		if err := checkHTTPURL(ui); err != nil {
			p.atVariable("PREFECT_UI_URL", err)
		} else {
			env.Prefect.UIURL = strings.TrimRight(ui, "/")
		}
	}
	if authSet {
		if err := checkPrefectAuthString(auth); err != nil {
			p.atVariable("PREFECT_SERVER_API_AUTH_STRING", err)
		} else {
			env.Prefect.AuthString = Secret(auth)
		}
	}
	if keySet {
		env.Prefect.APIKey = Secret(key)
	}
}

func applySlackVariables(slack *Slack, vars variables, p *problems) {
	if token, ok := vars.get("SLACK_BOT_TOKEN"); ok {
		if err := slackTokenProblem(token, "xoxb-", "a bot token"); err != nil {
			p.atVariable("SLACK_BOT_TOKEN", err)
		}
		slack.BotToken = Secret(token)
	}
	if token, ok := vars.get("SLACK_APP_TOKEN"); ok {
		if err := slackTokenProblem(token, "xapp-", "an app-level token"); err != nil {
			p.atVariable("SLACK_APP_TOKEN", err)
		}
		slack.AppToken = Secret(token)
	}
	if secret, ok := vars.get("SLACK_SIGNING_SECRET"); ok {
		slack.SigningSecret = Secret(secret)
	}
	if slack.BotToken == "" {
		if slack.AppToken != "" {
			p.atVariable("SLACK_APP_TOKEN", errors.New("set, but SLACK_BOT_TOKEN is not: Socket Mode needs both"))
		}
		if slack.SigningSecret != "" {
			p.atVariable("SLACK_SIGNING_SECRET", errors.New("set, but SLACK_BOT_TOKEN is not: replying needs the bot token"))
		}
	}
	if url, ok := vars.get("SLACK_API_URL"); ok {
		if err := checkHTTPURL(url); err != nil {
			p.atVariable("SLACK_API_URL", err)
		} else {
			slack.APIURL = withTrailingSlash(url)
		}
	}
}

// finish derives what depends on several settings and checks how they fit
// together.
func finish(cfg *Config, p *problems) {
	for i := range cfg.Environments {
		env := &cfg.Environments[i]
		key := "environments." + env.Name
		if env.Prefect != nil {
			finishPrefect(env.Prefect, key, p)
		}
		if env.DockerTLS != nil && !strings.HasPrefix(env.DockerHost, "tcp://") {
			p.atKey(key+".docker_tls", 0, errors.New("TLS needs a tcp:// docker_host"))
		}
		env.Operators = union(cfg.Operators, env.Operators)
		for _, problem := range checkDeploy(env.Deploy) {
			p.atKey(key+".deploy."+problem.key, 0, problem.err)
		}
	}
	for i, mute := range cfg.Mutes {
		if _, ok := cfg.Environment(mute.Env); mute.Env != "" && !ok {
			p.atKey(fmt.Sprintf("mutes[%d].env", i), 0, fmt.Errorf("unknown environment %q (environments: %s)",
				mute.Env, strings.Join(cfg.EnvironmentNames(), ", ")))
		}
	}
	for _, problem := range append(checkLimits(cfg.Limits), checkAlerts(cfg.Alerts)...) {
		p.atKey(problem.key, 0, problem.err)
	}
}

// finishPrefect tells the API flavor from the URL unless the file set it.
func finishPrefect(prefect *Prefect, envKey string, p *problems) {
	switch {
	case prefect.URL == "":
		p.atKey(envKey, 0, errors.New("Prefect settings (prefect_flavor, prefect_ui_url, prefect_auth_env, prefect_api_key_env) without prefect_url (or PREFECT_API_URL)"))
	case prefect.Flavor == "":
		flavor, err := prefectFlavorOf(prefect.URL)
		if err != nil {
			p.atKey(envKey+".prefect_url", 0, fmt.Errorf("%w, or set prefect_flavor", err))
		}
		prefect.Flavor = flavor
	}
}

// union returns a followed by the elements of b it lacks.
func union(a, b []string) []string {
	all := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(all, s) {
			all = append(all, s)
		}
	}
	return all
}

// checkDeploy checks the durations of deploy:, keyed relative to it.
func checkDeploy(dep Deploy) []keyedError {
	var errs []keyedError
	add := func(key string, format string, args ...any) {
		errs = append(errs, keyedError{key, fmt.Errorf(format, args...)})
	}
	durations := []namedDuration{{"timeout", dep.Timeout}, {"healthy_timeout", dep.HealthyTimeout}}
	if dep.Flows != nil {
		durations = append(durations, namedDuration{"flows.timeout", dep.Flows.Timeout})
	}
	for _, c := range durations {
		switch {
		case c.value <= 0:
			add(c.key, "must be more than 0")
		case c.key != "timeout" && dep.Timeout > 0 && c.value > dep.Timeout:
			// One deploy holds both waits: neither may outlast it.
			add(c.key, "must be at most deploy.timeout (%s), got %s", formatDuration(dep.Timeout), formatDuration(c.value))
		}
	}
	return errs
}
