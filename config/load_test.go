package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// vars is a fake environment for Load.
func vars(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// writeConfig writes a YAML file and returns its path.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mfbot.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoad(t *testing.T, content string, env map[string]string) *Config {
	t.Helper()
	cfg, err := Load(writeConfig(t, content), vars(env))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

func mustEnvironment(t *testing.T, cfg *Config, name string) Environment {
	t.Helper()
	env, ok := cfg.Environment(name)
	if !ok {
		t.Fatalf("no environment %q in %v", name, cfg.EnvironmentNames())
	}
	return env
}

func TestLoadWithZeroConfiguration(t *testing.T) {
	t.Chdir(t.TempDir()) // no ./mfbot.yaml here
	cfg, err := Load("", vars(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cfg.Path != "" || cfg.DefaultEnv != "local" || cfg.Slack.Enabled() {
		t.Errorf("Path %q, DefaultEnv %q, Slack enabled %v", cfg.Path, cfg.DefaultEnv, cfg.Slack.Enabled())
	}
	if cfg.HTTPAddr != "127.0.0.1:8090" || cfg.Store != "./mfbot.db" || cfg.Slack.APIURL != "https://slack.com/api/" {
		t.Errorf("defaults: http %q store %q slack %q", cfg.HTTPAddr, cfg.Store, cfg.Slack.APIURL)
	}
	wantLimits := Limits{DefaultTail: 100, MaxTail: 10000, MaxSince: 7 * 24 * time.Hour,
		CommandTimeout: 30 * time.Second, RestartTimeout: 3 * time.Minute, StopTimeout: 10 * time.Second, ConfirmTimeout: 2 * time.Minute}
	if cfg.Limits != wantLimits {
		t.Errorf("Limits = %+v, want %+v", cfg.Limits, wantLimits)
	}
	wantAlerts := Alerts{CrashLoopRestarts: 3, CrashLoopWindow: 10 * time.Minute, RecoveryAfter: 2 * time.Minute,
		UpdateInterval: 10 * time.Second, GroupWindow: 30 * time.Second, PrefectPoll: 15 * time.Second, StuckRunAfter: 50 * time.Minute,
		PositionsReceived: 5 * time.Minute, PositionsUpdated: 5 * time.Minute, LogbookReceived: 10 * time.Minute,
		FreshnessPoll: time.Minute, FreshnessEnabled: true}
	if cfg.Alerts != wantAlerts {
		t.Errorf("Alerts = %+v, want %+v", cfg.Alerts, wantAlerts)
	}

	if len(cfg.Environments) != 1 {
		t.Fatalf("environments = %v, want [local]", cfg.EnvironmentNames())
	}
	env := cfg.Environments[0]
	if env.Name != "local" || env.DockerHost != "" || env.DockerTLS != nil || env.ComposeProject != "remote" ||
		env.AppURL != "http://127.0.0.1:8880" || env.Database != nil || env.Prefect != nil ||
		len(env.Operators) != 0 || env.OpenMutations {
		t.Errorf("local environment = %+v", env)
	}
	wantServices := []Service{
		{Name: "app", ComposeService: "app", KnownNames: []string{"remote_app_1", "monitorfish_backend"}},
		{Name: "db", ComposeService: "db", KnownNames: []string{"remote_db_1", "monitorfish_database"}},
		{Name: "geoserver", ComposeService: "geoserver", KnownNames: []string{"monitorfish_geoserver"}},
		{Name: "pipeline-server", ComposeService: "pipeline-server", KnownNames: []string{"monitorfish-pipeline-server"}},
		{Name: "pipeline-flows", ComposeService: "pipeline-flows", KnownNames: []string{"monitorfish-pipeline-flows", "monitorfish-pipeline-agent"}},
	}
	if !reflect.DeepEqual(env.Services, wantServices) {
		t.Errorf("services = %+v\nwant %+v", env.Services, wantServices)
	}
	if want := map[string][]string{"pipeline": {"pipeline-server", "pipeline-flows"}}; !reflect.DeepEqual(env.Groups, want) {
		t.Errorf("groups = %v, want %v", env.Groups, want)
	}
	if svc, ok := env.Service("db"); !ok || svc.KnownNames[0] != "remote_db_1" {
		t.Errorf(`Service("db") = %+v, %v`, svc, ok)
	}
	if _, ok := env.Service("nope"); ok {
		t.Error(`Service("nope") found`)
	}
	if env.VersionFile != "" || env.VersionVariable != "MONITORFISH_VERSION" || cfg.Registries != nil {
		t.Errorf("VersionFile %q, VersionVariable %q, Registries %v", env.VersionFile, env.VersionVariable, cfg.Registries)
	}
	if want := (Deploy{Timeout: 15 * time.Minute, HealthyTimeout: 3 * time.Minute}); !reflect.DeepEqual(env.Deploy, want) {
		t.Errorf("Deploy = %+v, want %+v", env.Deploy, want)
	}
}

func TestLoadFromVariablesOnly(t *testing.T) {
	t.Chdir(t.TempDir())
	cfg, err := Load("", vars(map[string]string{
		"SLACK_BOT_TOKEN":      "xoxb-1-2-abc",
		"SLACK_APP_TOKEN":      "xapp-1-A-2-def",
		"SLACK_SIGNING_SECRET": "0123456789abcdef",
		"SLACK_API_URL":        "http://127.0.0.1:9999/api",
		"MFBOT_ALERT_CHANNEL":  "C0123ALERTS",
		"MFBOT_HTTP_ADDR":      ":9090",
		"MFBOT_STORE":          "postgres://mfbot:pw@db/mfbot",
		"MFBOT_OPERATORS":      " U0123ALICE, S0123OPS,,W0123BOB ",
		"DOCKER_HOST":          "tcp://10.0.0.5:2376",
		"ENV_DB_URL":           "jdbc:postgresql://db:5432/monitorfishdb?user=postgres&password=s3cr3t!",
		"PREFECT_API_URL":      "http://prefect:4200/graphql",
		"UNRELATED":            "",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !cfg.Slack.Enabled() || cfg.Slack.BotToken.Reveal() != "xoxb-1-2-abc" || cfg.Slack.AppToken.Reveal() != "xapp-1-A-2-def" ||
		cfg.Slack.SigningSecret.Reveal() != "0123456789abcdef" || cfg.Slack.APIURL != "http://127.0.0.1:9999/api/" {
		t.Errorf("Slack = %+v (API URL %q)", cfg.Slack, cfg.Slack.APIURL)
	}
	if cfg.AlertChannel != "C0123ALERTS" || cfg.HTTPAddr != ":9090" || cfg.Store != "postgres://mfbot:pw@db/mfbot" {
		t.Errorf("alert %q http %q store %q", cfg.AlertChannel, cfg.HTTPAddr, cfg.Store)
	}
	if want := []string{"U0123ALICE", "S0123OPS", "W0123BOB"}; !slices.Equal(cfg.Operators, want) {
		t.Errorf("operators = %v, want %v", cfg.Operators, want)
	}
	env := mustEnvironment(t, cfg, "local")
	if env.DockerHost != "tcp://10.0.0.5:2376" {
		t.Errorf("DockerHost = %q", env.DockerHost)
	}
	db := env.Database
	if db == nil || db.Host != "db" || db.Port != 5432 || db.Name != "monitorfishdb" || db.User != "postgres" || db.Password.Reveal() != "s3cr3t!" {
		t.Errorf("Database = %+v", db)
	}
	if env.Prefect == nil || *env.Prefect != (Prefect{URL: "http://prefect:4200/graphql", Flavor: PrefectGraphQL}) {
		t.Errorf("Prefect = %+v", env.Prefect)
	}
	if !slices.Equal(env.Operators, cfg.Operators) {
		t.Errorf("environment operators = %v, want the global ones %v", env.Operators, cfg.Operators)
	}
}

func TestVariablesOverrideTheFile(t *testing.T) {
	const file = `
slack:
  api_url: http://file/api/
alert_channel: CFILE
http_addr: 127.0.0.1:1111
store: /var/lib/mfbot/file.db
operators: [UFILE]
environments:
  local:
    database_url: postgres://file:filepw@filedb/file
    prefect_url: http://file:4200/api
`
	withoutVariables := mustLoad(t, file, nil)
	if withoutVariables.AlertChannel != "CFILE" || withoutVariables.Store != "/var/lib/mfbot/file.db" ||
		mustEnvironment(t, withoutVariables, "local").Database.Host != "filedb" {
		t.Fatalf("file values not loaded: %+v", withoutVariables)
	}

	cfg := mustLoad(t, file, map[string]string{
		"SLACK_API_URL":       "http://env/api",
		"MFBOT_ALERT_CHANNEL": "CENV",
		"MFBOT_HTTP_ADDR":     "0.0.0.0:2222",
		"MFBOT_STORE":         "/tmp/env.db",
		"MFBOT_OPERATORS":     "UENV",
		"ENV_DB_URL":          "postgres://env:envpw@envdb/env",
		"PREFECT_API_URL":     "http://env:4200/graphql/",
	})
	if cfg.Slack.APIURL != "http://env/api/" || cfg.AlertChannel != "CENV" || cfg.HTTPAddr != "0.0.0.0:2222" ||
		cfg.Store != "/tmp/env.db" || !slices.Equal(cfg.Operators, []string{"UENV"}) {
		t.Errorf("variables did not win: %+v", cfg)
	}
	env := mustEnvironment(t, cfg, "local")
	if env.Database.Host != "envdb" || *env.Prefect != (Prefect{URL: "http://env:4200/graphql", Flavor: PrefectGraphQL}) {
		t.Errorf("database %+v, prefect %+v", env.Database, env.Prefect)
	}
}

func TestVariablesApplyToTheDefaultEnvironmentOnly(t *testing.T) {
	const file = `
default_environment: prod
environments:
  dev:
    database_url: postgres://dev@devdb/monitorfishdb
  prod:
    app_url: http://prod:8880/
  staging:
    docker_host: ssh://mf@staging
`
	env := map[string]string{
		"DOCKER_HOST":     "tcp://prod-docker:2376",
		"ENV_DB_URL":      "jdbc:postgresql://proddb/monitorfishdb?user=mf",
		"PREFECT_API_URL": "http://prod-prefect:4200/api",
	}
	cfg := mustLoad(t, file, env)
	if got := cfg.EnvironmentNames(); !slices.Equal(got, []string{"dev", "prod", "staging"}) {
		t.Errorf("environments = %v, want the file's order", got)
	}
	if cfg.DefaultEnv != "prod" {
		t.Errorf("DefaultEnv = %q", cfg.DefaultEnv)
	}
	dev, prod, staging := mustEnvironment(t, cfg, "dev"), mustEnvironment(t, cfg, "prod"), mustEnvironment(t, cfg, "staging")
	if prod.DockerHost != "tcp://prod-docker:2376" || prod.Database == nil || prod.Database.Host != "proddb" ||
		prod.Prefect == nil || prod.Prefect.Flavor != PrefectREST || prod.AppURL != "http://prod:8880" {
		t.Errorf("prod = %+v", prod)
	}
	if dev.DockerHost != "" || dev.Database.Host != "devdb" || dev.Prefect != nil {
		t.Errorf("dev got the variables: %+v", dev)
	}
	if staging.DockerHost != "ssh://mf@staging" {
		t.Errorf("staging DockerHost = %q", staging.DockerHost)
	}

	// A docker_host in the file beats DOCKER_HOST, which a shell may export
	// for other reasons.
	cfg = mustLoad(t, strings.Replace(file, "app_url: http://prod:8880/", "docker_host: unix:///run/docker.sock", 1), env)
	if got := mustEnvironment(t, cfg, "prod").DockerHost; got != "unix:///run/docker.sock" {
		t.Errorf("prod DockerHost = %q, want the file's", got)
	}

	// Without default_environment, the first one is the default.
	cfg = mustLoad(t, strings.Replace(file, "default_environment: prod", "", 1), env)
	if cfg.DefaultEnv != "dev" || mustEnvironment(t, cfg, "dev").DockerHost != "tcp://prod-docker:2376" ||
		mustEnvironment(t, cfg, "prod").DockerHost != "" {
		t.Errorf("DefaultEnv = %q, dev %+v", cfg.DefaultEnv, mustEnvironment(t, cfg, "dev"))
	}
}

func TestServicesAndGroups(t *testing.T) {
	cfg := mustLoad(t, `
operators: [UGLOBAL]
environments:
  prefect-host:
    operators: [ULOCAL, UGLOBAL]
    viewers: [S0VIEWERS]
    channels: [C0OPS, G0PRIVATE]
    open_mutations: true
    services:
      zeta:
        container: zeta_1
      app:
        image: ghcr.io/mtes-mct/monitorfish/monitorfish-app:v1.2.3
        known_names: []
      db:
        enabled: false
      geoserver:
        enabled: false
      alpha:
        compose_service: alpha-svc
        known_names: [alpha_1]
      pipeline-flows:
        container: monitorfish-pipeline-agent
    groups:
      web: [app, alpha]
`, nil)
	env := mustEnvironment(t, cfg, "prefect-host")
	if got, want := env.ServiceNames(), []string{"app", "pipeline-server", "pipeline-flows", "alpha", "zeta"}; !slices.Equal(got, want) {
		t.Errorf("ServiceNames = %v, want %v", got, want)
	}
	app, _ := env.Service("app")
	want := Service{Name: "app", ComposeService: "app", KnownNames: []string{}, Image: "ghcr.io/mtes-mct/monitorfish/monitorfish-app:v1.2.3"}
	if !reflect.DeepEqual(app, want) {
		t.Errorf("app = %+v, want %+v (only the fields set change)", app, want)
	}
	flows, _ := env.Service("pipeline-flows")
	if flows.Container != "monitorfish-pipeline-agent" || flows.ComposeService != "pipeline-flows" || len(flows.KnownNames) != 2 {
		t.Errorf("pipeline-flows = %+v", flows)
	}
	alpha, _ := env.Service("alpha")
	if !reflect.DeepEqual(alpha, Service{Name: "alpha", ComposeService: "alpha-svc", KnownNames: []string{"alpha_1"}}) {
		t.Errorf("alpha = %+v", alpha)
	}
	zeta, _ := env.Service("zeta")
	if !reflect.DeepEqual(zeta, Service{Name: "zeta", Container: "zeta_1"}) {
		t.Errorf("zeta = %+v: an added service has no compose service unless set", zeta)
	}
	wantGroups := map[string][]string{"pipeline": {"pipeline-server", "pipeline-flows"}, "web": {"app", "alpha"}}
	if !reflect.DeepEqual(env.Groups, wantGroups) {
		t.Errorf("groups = %v, want %v", env.Groups, wantGroups)
	}
	if !slices.Equal(env.Operators, []string{"UGLOBAL", "ULOCAL"}) || !slices.Equal(env.Viewers, []string{"S0VIEWERS"}) ||
		!slices.Equal(env.Channels, []string{"C0OPS", "G0PRIVATE"}) || !env.OpenMutations {
		t.Errorf("operators %v viewers %v channels %v open %v", env.Operators, env.Viewers, env.Channels, env.OpenMutations)
	}

	// A default group whose services are all disabled disappears.
	cfg = mustLoad(t, `
environments:
  app-host:
    services:
      pipeline-server: {enabled: false}
      pipeline-flows: {enabled: false}
`, nil)
	if groups := mustEnvironment(t, cfg, "app-host").Groups; len(groups) != 0 {
		t.Errorf("groups = %v, want none", groups)
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	cfg := mustLoad(t, `
x-common: &common
  compose_project: monitorfish
  services:
    app: {container: monitorfish_backend}
environments:
  dev:
    <<: *common
    app_url: http://dev:8880
  prod:
    <<: *common
    compose_project: remote
`, nil)
	dev, prod := mustEnvironment(t, cfg, "dev"), mustEnvironment(t, cfg, "prod")
	if dev.ComposeProject != "monitorfish" || dev.AppURL != "http://dev:8880" || prod.ComposeProject != "remote" {
		t.Errorf("dev %+v, prod %+v", dev, prod)
	}
	for _, env := range []Environment{dev, prod} {
		if app, _ := env.Service("app"); app.Container != "monitorfish_backend" {
			t.Errorf("%s app = %+v", env.Name, app)
		}
	}
}

func TestFileValues(t *testing.T) {
	cfg := mustLoad(t, `
audit_channel: C0AUDIT
redaction:
  patterns: ['secret-\d+']
limits:
  default_tail: 50
  max_tail: 500
  max_since: 2d
  command_timeout: 1m
  restart_timeout: 5m
  stop_timeout: 0s
alerts:
  crash_loop_restarts: 5
  crash_loop_window: 1h
  recovery_after: 30s
  update_interval: 20s
  group_window: 0s
  prefect_poll_interval: 30s
  stuck_run_after: 2h
  freshness:
    positions_received: 15m
    positions_updated: 16m
    logbook_received: 1h
    poll_interval: 2m
    enabled: false
mutes:
  - {env: local, target: app, until: "2030-01-02T03:04:05+01:00", reason: upgrade}
  - {target: Logbook, until: 2030-01-01T00:00:00Z}
environments:
  local:
    docker_host: tcp://docker:2376
    docker_tls: {ca: /ca.pem, cert: /cert.pem, key: /key.pem}
    prefect_url: http://prefect:4200/
    prefect_flavor: graphql
`, nil)
	if cfg.AuditChannel != "C0AUDIT" || !slices.Equal(cfg.Redaction.Patterns, []string{`secret-\d+`}) {
		t.Errorf("audit %q redaction %v", cfg.AuditChannel, cfg.Redaction)
	}
	wantLimits := Limits{DefaultTail: 50, MaxTail: 500, MaxSince: 48 * time.Hour, CommandTimeout: time.Minute,
		RestartTimeout: 5 * time.Minute, StopTimeout: 0, ConfirmTimeout: 2 * time.Minute}
	if cfg.Limits != wantLimits {
		t.Errorf("Limits = %+v, want %+v", cfg.Limits, wantLimits)
	}
	wantAlerts := Alerts{CrashLoopRestarts: 5, CrashLoopWindow: time.Hour, RecoveryAfter: 30 * time.Second,
		UpdateInterval: 20 * time.Second, PrefectPoll: 30 * time.Second, StuckRunAfter: 2 * time.Hour,
		PositionsReceived: 15 * time.Minute, PositionsUpdated: 16 * time.Minute, LogbookReceived: time.Hour,
		FreshnessPoll: 2 * time.Minute, FreshnessEnabled: false}
	if cfg.Alerts != wantAlerts {
		t.Errorf("Alerts = %+v, want %+v", cfg.Alerts, wantAlerts)
	}
	until := time.Date(2030, 1, 2, 2, 4, 5, 0, time.UTC)
	if len(cfg.Mutes) != 2 || cfg.Mutes[0].Env != "local" || cfg.Mutes[0].Target != "app" || !cfg.Mutes[0].Until.Equal(until) ||
		cfg.Mutes[0].Reason != "upgrade" || cfg.Mutes[1].Env != "" || cfg.Mutes[1].Target != "Logbook" {
		t.Errorf("Mutes = %+v", cfg.Mutes)
	}
	env := mustEnvironment(t, cfg, "local")
	if env.DockerTLS == nil || *env.DockerTLS != (DockerTLS{CA: "/ca.pem", Cert: "/cert.pem", Key: "/key.pem", Verify: true}) {
		t.Errorf("DockerTLS = %+v", env.DockerTLS)
	}
	if *env.Prefect != (Prefect{URL: "http://prefect:4200", Flavor: PrefectGraphQL}) {
		t.Errorf("Prefect = %+v", env.Prefect)
	}
}

func TestDatabaseURLFromANamedVariable(t *testing.T) {
	const file = `
environments:
  dev: {}
  prod:
    database_url_env: PROD_DB_URL
`
	cfg := mustLoad(t, file, map[string]string{"PROD_DB_URL": "postgres://mf:pw@proddb/monitorfishdb"})
	if db := mustEnvironment(t, cfg, "prod").Database; db == nil || db.Host != "proddb" || db.Password.Reveal() != "pw" {
		t.Errorf("prod database = %+v", db)
	}
	_, err := Load(writeConfig(t, file), vars(nil))
	if err == nil || !strings.Contains(err.Error(), "environments.prod.database_url_env: the variable PROD_DB_URL is not set (line 5)") {
		t.Errorf("error = %v", err)
	}
}

func TestLoadPaths(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	missing := filepath.Join(dir, "missing.yaml")

	if _, err := Load(missing, vars(nil)); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("explicit missing file: error = %v", err)
	}
	if _, err := Load("", vars(map[string]string{"MFBOT_CONFIG": missing})); err == nil {
		t.Error("MFBOT_CONFIG naming a missing file: no error")
	}

	other := writeConfig(t, "alert_channel: C0OTHER\n")
	cfg, err := Load("", vars(map[string]string{"MFBOT_CONFIG": other}))
	if err != nil || cfg.Path != other || cfg.AlertChannel != "C0OTHER" {
		t.Errorf("MFBOT_CONFIG: %+v, %v", cfg, err)
	}

	if err := os.WriteFile("mfbot.yaml", []byte("alert_channel: C0LOCAL\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = Load("", vars(nil))
	if err != nil || cfg.Path != "mfbot.yaml" || cfg.AlertChannel != "C0LOCAL" {
		t.Errorf("./mfbot.yaml: %+v, %v", cfg, err)
	}
	// An explicit path wins over MFBOT_CONFIG and ./mfbot.yaml.
	cfg, err = Load(other, vars(map[string]string{"MFBOT_CONFIG": missing}))
	if err != nil || cfg.Path != other {
		t.Errorf("explicit path: %+v, %v", cfg, err)
	}

	for _, content := range []string{"", "# nothing but a comment\n", "---\n"} {
		if cfg := mustLoad(t, content, nil); len(cfg.Environments) != 1 {
			t.Errorf("empty file %q: %+v", content, cfg)
		}
	}
}

func TestExampleFileLoads(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	cfg, err := Load("../mfbot.example.yaml", vars(map[string]string{
		"MFBOT_PROD_DB_URL":       "jdbc:postgresql://proddb:5432/monitorfishdb?user=readaccess&password=x",
		"MFBOT_PROD_PREFECT_AUTH": "mfbot:x",
		"MFBOT_GHCR_TOKEN":        "ghp_x",
	}))
	if err != nil {
		t.Fatalf("the example does not load:\n%v", err)
	}
	if got := cfg.EnvironmentNames(); !slices.Equal(got, []string{"prod", "dev"}) {
		t.Errorf("environments = %v", got)
	}
	prod := mustEnvironment(t, cfg, "prod")
	if prod.Database == nil || prod.Prefect == nil || prod.Prefect.UIURL == "" || prod.Prefect.AuthString == "" || prod.DockerTLS == nil || len(prod.Operators) != 3 {
		t.Errorf("prod = %+v", prod)
	}
	if prod.VersionFile != filepath.Join(home, ".monitorfish") || prod.Deploy.Flows == nil || prod.Deploy.Flows.Image == "" ||
		prod.Deploy.Flows.EnvFile == "" || prod.Deploy.Flows.Environment["MONITORFISH_VERSION"] != "{version}" {
		t.Errorf("prod version file %q, deploy %+v, flows %+v", prod.VersionFile, prod.Deploy, prod.Deploy.Flows)
	}
	if login, ok := cfg.Registries["ghcr.io"]; !ok || login.Username == "" || login.Password.Reveal() != "ghp_x" {
		t.Errorf("Registries = %+v", cfg.Registries)
	}
	dev := mustEnvironment(t, cfg, "dev")
	if dev.Database == nil || dev.Prefect == nil || dev.Prefect.Flavor != PrefectGraphQL || !dev.OpenMutations {
		t.Errorf("dev = %+v", dev)
	}
}

func TestDeployVersionFileAndRegistries(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	cfg := mustLoad(t, `
registries:
  ghcr.io:
    username: mfbot-bot
    password_env: MFBOT_GHCR_TOKEN
  registry.example.fr:5000:
    username: deploy
    password_env: MFBOT_REGISTRY_PASSWORD
  127.0.0.1:5000: {username: local, password_env: LOCAL_REGISTRY_PASSWORD}
environments:
  prod:
    version_file: ~/.monitorfish
    version_variable: MF_VERSION
    deploy:
      timeout: 20m
      healthy_timeout: 5m
      flows:
        image: ghcr.io/mtes-mct/monitorfish/monitorfish-pipeline-prefect3
        command: [python, main.py, deploy-flows]
        env_file: ~/monitorfish/datascience/.env
        volumes: [/home/mf/pipeline/.env:/home/monitorfish-pipeline/pipeline/.env:ro]
        network: monitorfish_network
        environment:
          MONITORFISH_VERSION: "{version}"
          IS_INTEGRATION: false
          EMPTY:
        timeout: 5m
  dev:
    version_file: /etc/monitorfish/version.env
    deploy:
      flows: {}
  staging:
    deploy:
      timeout: 1h
`, map[string]string{"MFBOT_GHCR_TOKEN": "ghp_T0ken", "MFBOT_REGISTRY_PASSWORD": "pa55", "LOCAL_REGISTRY_PASSWORD": "local-pw"})

	wantRegistries := map[string]RegistryLogin{
		"ghcr.io":                  {Username: "mfbot-bot", Password: "ghp_T0ken"},
		"registry.example.fr:5000": {Username: "deploy", Password: "pa55"},
		"127.0.0.1:5000":           {Username: "local", Password: "local-pw"},
	}
	if !reflect.DeepEqual(cfg.Registries, wantRegistries) {
		t.Errorf("Registries = %+v, want %+v", cfg.Registries, wantRegistries)
	}
	if s := fmt.Sprintf("%v %+v", cfg.Registries, cfg.Registries); strings.Contains(s, "ghp_T0ken") || strings.Contains(s, "pa55") {
		t.Errorf("a registry password prints: %s", s)
	}

	prod := mustEnvironment(t, cfg, "prod")
	if prod.VersionFile != filepath.Join(home, ".monitorfish") || prod.VersionVariable != "MF_VERSION" {
		t.Errorf("prod VersionFile %q (home %s), VersionVariable %q", prod.VersionFile, home, prod.VersionVariable)
	}
	wantFlows := &DeployFlows{
		Image:       "ghcr.io/mtes-mct/monitorfish/monitorfish-pipeline-prefect3",
		Command:     []string{"python", "main.py", "deploy-flows"},
		EnvFile:     filepath.Join(home, "monitorfish/datascience/.env"),
		Volumes:     []string{"/home/mf/pipeline/.env:/home/monitorfish-pipeline/pipeline/.env:ro"},
		Network:     "monitorfish_network",
		Environment: map[string]string{"MONITORFISH_VERSION": "{version}", "IS_INTEGRATION": "false", "EMPTY": ""},
		Timeout:     5 * time.Minute,
	}
	if want := (Deploy{Timeout: 20 * time.Minute, HealthyTimeout: 5 * time.Minute, Flows: wantFlows}); !reflect.DeepEqual(prod.Deploy, want) {
		t.Errorf("prod Deploy = %+v, flows %+v\nwant %+v, flows %+v", prod.Deploy, prod.Deploy.Flows, want, want.Flows)
	}

	// flows: {} enables the pipeline deploy with every default; the image
	// is left to the caller (the pipeline-flows service's repository).
	dev := mustEnvironment(t, cfg, "dev")
	if dev.VersionFile != "/etc/monitorfish/version.env" || dev.VersionVariable != "MONITORFISH_VERSION" {
		t.Errorf("dev VersionFile %q, VersionVariable %q", dev.VersionFile, dev.VersionVariable)
	}
	wantDev := Deploy{Timeout: 15 * time.Minute, HealthyTimeout: 3 * time.Minute,
		Flows: &DeployFlows{Network: "host", Timeout: 10 * time.Minute}}
	if !reflect.DeepEqual(dev.Deploy, wantDev) {
		t.Errorf("dev Deploy = %+v, flows %+v, want %+v, flows %+v", dev.Deploy, dev.Deploy.Flows, wantDev, wantDev.Flows)
	}

	// deploy: without flows keeps the other defaults, and no pipeline deploy.
	staging := mustEnvironment(t, cfg, "staging")
	if want := (Deploy{Timeout: time.Hour, HealthyTimeout: 3 * time.Minute}); !reflect.DeepEqual(staging.Deploy, want) {
		t.Errorf("staging Deploy = %+v, want %+v", staging.Deploy, want)
	}
}

func TestPrefectUIAndCredentials(t *testing.T) {
	file := `
environments:
  prod:
    prefect_url: http://prefect-prod:4200/api/
    prefect_ui_url: http://prefect-prod:4200/
    prefect_auth_env: PROD_PREFECT_AUTH
  cloud:
    prefect_url: https://api.prefect.cloud/api/accounts/a/workspaces/w/api
    prefect_api_key_env: CLOUD_KEY
`
	cfg := mustLoad(t, file, map[string]string{"PROD_PREFECT_AUTH": "admin:pass:word", "CLOUD_KEY": "pnu_abc"})
	prod, cloud := mustEnvironment(t, cfg, "prod"), mustEnvironment(t, cfg, "cloud")
	if p := prod.Prefect; p == nil || p.URL != "http://prefect-prod:4200/api" || p.Flavor != PrefectREST || p.UIURL != "http://prefect-prod:4200" ||
		p.AuthString.Reveal() != "admin:pass:word" || p.APIKey != "" {
		t.Errorf("prod Prefect = %+v", prod.Prefect)
	}
	if p := cloud.Prefect; p == nil || p.APIKey.Reveal() != "pnu_abc" || p.AuthString != "" || p.Flavor != PrefectREST {
		t.Errorf("cloud Prefect = %+v", cloud.Prefect)
	}
	if s := fmt.Sprintf("%v %+v", prod.Prefect, cloud.Prefect); strings.Contains(s, "pass:word") || strings.Contains(s, "pnu_abc") {
		t.Errorf("a Prefect secret prints: %s", s)
	}

	// The Prefect client's own variables configure the default environment,
	// keeping what the file says of it.
	cfg = mustLoad(t, "environments:\n  prod:\n    prefect_ui_url: http://ui:4200\n    prefect_flavor: graphql\n", map[string]string{
		"PREFECT_API_URL": "http://prefect:4200/graphql", "PREFECT_SERVER_API_AUTH_STRING": "u:p", "PREFECT_API_KEY": "k"})
	if p := mustEnvironment(t, cfg, "prod").Prefect; p == nil || p.URL != "http://prefect:4200/graphql" || p.Flavor != PrefectGraphQL ||
		p.UIURL != "http://ui:4200" || p.AuthString.Reveal() != "u:p" || p.APIKey.Reveal() != "k" {
		t.Errorf("variables: %+v", p)
	}
	cfg = mustLoad(t, "", map[string]string{"PREFECT_API_URL": "http://prefect:4200/api", "PREFECT_UI_URL": "http://prefect:4200/"})
	if p := cfg.Environments[0].Prefect; p == nil || p.UIURL != "http://prefect:4200" || p.Flavor != PrefectREST {
		t.Errorf("variables only: %+v", p)
	}
}
