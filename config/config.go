// Package config reads mfbot's configuration: an optional YAML file, then
// environment variables (which win), then defaults for the standard
// MonitorFish layout, then validation that reports every problem at once.
package config

import (
	"time"
)

// Config is the whole, validated configuration. Load is the only way to get
// one that is complete: every default filled, at least one environment.
type Config struct {
	Slack        Slack
	AlertChannel string        // MFBOT_ALERT_CHANNEL / alert_channel: "" = alerts only logged
	HTTPAddr     string        // MFBOT_HTTP_ADDR / http_addr
	Store        string        // MFBOT_STORE / store: a file path (SQLite) or a postgres:// URL
	Operators    []string      // MFBOT_OPERATORS / operators: Slack user (U…, W…) or user-group (S…) IDs
	AuditChannel string        // audit_channel: optional mirror of the audit log
	DefaultEnv   string        // default_environment, else the first environment
	Environments []Environment // never empty; in the file's order
	Redaction    Redaction
	Limits       Limits
	Alerts       Alerts
	Mutes        []Mute
	// Registries are the logins to private registries (registries:), by
	// host without scheme or path ("ghcr.io", "registry.example.fr:5000"),
	// as typed in the file: `versions` lists their tags and deploys pull
	// from them with it. A host not listed is read anonymously (ghcr.io's
	// token flow for public images). nil when none.
	Registries map[string]RegistryLogin
	Path       string // the file actually loaded, "" when none
}

// RegistryLogin is basic auth to a registry (registries.<host>: username,
// password_env). The password (or token) comes from the variable that
// password_env names, never from the file; both are set after Load.
type RegistryLogin struct {
	Username string
	Password Secret
}

// Environment returns the environment with that name.
func (c *Config) Environment(name string) (Environment, bool) {
	for _, env := range c.Environments {
		if env.Name == name {
			return env, true
		}
	}
	return Environment{}, false
}

// EnvironmentNames lists the environments in configuration order.
func (c *Config) EnvironmentNames() []string {
	names := make([]string, len(c.Environments))
	for i, env := range c.Environments {
		names[i] = env.Name
	}
	return names
}

// Slack holds the credentials and endpoint of the Slack Web API.
type Slack struct {
	// Tokens come from the environment only (SLACK_BOT_TOKEN, SLACK_APP_TOKEN,
	// SLACK_SIGNING_SECRET): secrets stay out of files.
	BotToken, AppToken, SigningSecret Secret
	APIURL                            string // SLACK_API_URL / slack.api_url, always ends with "/"
}

// Enabled reports whether a bot token is configured; without one the bot
// runs with the console only.
func (s Slack) Enabled() bool { return s.BotToken != "" }

// Environment is one MonitorFish deployment (dev, prod ...) with its Docker
// engine, services, database and Prefect.
type Environment struct {
	Name           string
	DockerHost     string     // docker_host; "" = the Docker client's default (local socket)
	DockerTLS      *DockerTLS // docker_tls; nil = none configured here
	ComposeProject string     // compose_project
	AppURL         string     // app_url: backend base URL, without trailing slash
	Database       *Database  // nil = db commands disabled
	Prefect        *Prefect   // nil = pipeline commands disabled
	// Operators holds the global operators followed by this environment's
	// own: authorization needs to look nowhere else.
	Operators []string
	Viewers   []string // empty = everyone in an allowed channel may read
	Channels  []string // channel allowlist; empty = any channel
	// OpenMutations lets anyone who may read also run mutating commands
	// (still behind a confirmation): the "dev may not require operators" case.
	OpenMutations bool
	Services      []Service           // defaults first in their fixed order, then added ones by name
	Groups        map[string][]string // group name → service names
	// VersionFile (version_file) is an environment file on mfbot's host
	// that names the version the next `make restart-remote-app` would run
	// (MonitorFish's ~/.monitorfish: MONITORFISH_VERSION=v1.54.0). mfbot
	// only reads it, to warn when it names another version than the one
	// deployed; Load expands "~/" but does not require the file to exist.
	// "" = none.
	VersionFile string
	// VersionVariable is the variable of VersionFile that holds the
	// version (version_variable, default MONITORFISH_VERSION).
	VersionVariable string
	// Deploy tunes `deploy` (deploy:); its defaults are set even when the
	// file has no deploy: key.
	Deploy Deploy
}

// Deploy is how `deploy <version> [app|pipeline|all]` runs in one environment.
type Deploy struct {
	// Timeout bounds one whole deploy (deploy.timeout, default 15m); it is
	// also how long the environment's deploy lock lasts if mfbot dies
	// mid-deploy.
	Timeout time.Duration
	// HealthyTimeout bounds the wait for the new app container to be
	// healthy (deploy.healthy_timeout, default 3m) before rolling back.
	HealthyTimeout time.Duration
	// Flows runs the deploy-flows container of `deploy … pipeline`
	// (deploy.flows, even empty: flows: {}); nil: the pipeline is not
	// deployed by mfbot.
	Flows *DeployFlows
}

// DeployFlows is the one-off container that registers the Prefect
// deployments with a new pipeline image, as `make deploy-pipeline-flows`
// runs it: docker run --network host --env-file <.env> -e
// MONITORFISH_VERSION=<version> <image>:<version> <command>.
type DeployFlows struct {
	// Image is the pipeline image's repository, without tag or digest
	// (deploy.flows.image); the tag is the version deployed. "" after
	// Load when not set: the caller uses the repository of the
	// pipeline-flows service's image.
	Image string
	// Command replaces the image's command (deploy.flows.command); empty:
	// the image's own.
	Command []string
	// EnvFile is the pipeline's .env, read like docker's --env-file
	// (deploy.flows.env_file, "~/" expanded at Load); "" = none.
	EnvFile string
	// Volumes are bind mounts, "host-path:container-path[:ro|rw]"
	// (deploy.flows.volumes): MonitorFish's deploy-flows.sh mounts the
	// pipeline's .env into the container rather than passing it with
	// --env-file. The host path is on the Docker engine's host.
	Volumes []string
	// Network is the container's network mode (deploy.flows.network,
	// default "host": the flows reach Prefect on the host's loopback).
	Network string
	// Environment adds variables (deploy.flows.environment); "{version}"
	// in a value is replaced by the version deployed. MONITORFISH_VERSION
	// is always set to it unless given here.
	Environment map[string]string
	// Timeout bounds the container's run (deploy.flows.timeout, default 10m).
	Timeout time.Duration
}

// Service returns the service with that logical name.
func (e Environment) Service(name string) (Service, bool) {
	for _, svc := range e.Services {
		if svc.Name == name {
			return svc, true
		}
	}
	return Service{}, false
}

// ServiceNames lists the services in display order.
func (e Environment) ServiceNames() []string {
	names := make([]string, len(e.Services))
	for i, svc := range e.Services {
		names[i] = svc.Name
	}
	return names
}

// DockerTLS is the client side of a TLS connection to a Docker engine.
type DockerTLS struct {
	CA, Cert, Key string // file paths
	Verify        bool   // verify the engine's certificate (default true)
}

// Service is a logical service that commands address, resolved to a
// container by configured name, then compose labels, then known names.
type Service struct {
	Name           string   // app, db, geoserver, pipeline-server, pipeline-flows, or an added one
	Container      string   // configured container name; "" = not configured
	ComposeService string   // compose service label; "" = do not match on labels
	KnownNames     []string // fallback container names
	Image          string   // reference to pull on restart; "" = the container's own reference
}

// Prefect locates a Prefect Server API.
type Prefect struct {
	URL    string // without trailing slash
	Flavor string // PrefectGraphQL or PrefectREST
	UIURL  string // prefect_ui_url: the Prefect UI, for links to runs; "" = no links
	// AuthString is PREFECT_SERVER_API_AUTH_STRING ("user:password", HTTP
	// basic auth, Prefect ≥ 3.1.8); APIKey is PREFECT_API_KEY (Prefect
	// Cloud, a bearer token). From the environment only.
	AuthString, APIKey Secret
}

// Prefect API flavors.
const (
	PrefectGraphQL = "graphql" // Prefect 1 Server: …/graphql
	PrefectREST    = "rest"    // Prefect 2/3 Server: …/api
)

// Redaction lists what must be hidden from Slack beyond the built-in rules.
type Redaction struct {
	Patterns []string // extra regular expressions, each known to compile
}

// Limits bound what a command may ask for and how long it may take.
type Limits struct {
	DefaultTail    int           // log lines when --tail is omitted
	MaxTail        int           // 1..10000
	MaxSince       time.Duration // at most 7 days
	CommandTimeout time.Duration
	RestartTimeout time.Duration // wait for running/healthy after a restart
	StopTimeout    time.Duration // grace period given to a container on stop
	ConfirmTimeout time.Duration // limits.confirm_timeout: a Confirm button expires after this, default 2m
}

// Alerts are the thresholds of the watchers.
type Alerts struct {
	CrashLoopRestarts int // restarts within CrashLoopWindow that make a crash loop
	CrashLoopWindow   time.Duration
	RecoveryAfter     time.Duration // healthy this long before an incident is recovered
	UpdateInterval    time.Duration // at most one chat.update per incident per interval
	// GroupWindow: an incident that opens in an environment within this
	// time of the last alert posted there joins it, as a line of one
	// grouped message (a storm). 0: never group.
	GroupWindow       time.Duration
	PrefectPoll       time.Duration
	StuckRunAfter     time.Duration // a flow run Running longer than this is stuck
	PositionsReceived time.Duration // freshness thresholds
	PositionsUpdated  time.Duration
	LogbookReceived   time.Duration
	FreshnessPoll     time.Duration
	// FreshnessEnabled: watch the data freshness of the environments that
	// have an app_url or a database (alerts.freshness.enabled, default true).
	FreshnessEnabled bool
}

// Mute silences the notifications of a target until a time.
type Mute struct {
	Env    string // "" = every environment
	Target string // a service, a flow name, or "all"
	Until  time.Time
	Reason string
}
