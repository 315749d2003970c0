package config

import (
	"strings"
	"testing"
)

func TestLoadRejectsMalformedConfiguration(t *testing.T) {
	tests := []struct {
		name   string
		file   string // YAML; "" = no file
		env    map[string]string
		want   []string // each must appear in the error
		secret string   // must not appear in the error
	}{
		{
			name: "unknown key names its path and line, and guesses the intended one",
			file: "environments:\n  prod:\n    app_url: http://prod:8880\n    servces: {}\n",
			want: []string{`mfbot.yaml: unknown key "environments.prod.servces" (line 4): did you mean "services"?`},
		},
		{
			name: "unknown top-level key",
			file: "alert_chanel: C0ALERTS\n",
			want: []string{`unknown key "alert_chanel" (line 1): did you mean "alert_channel"?`},
		},
		{
			name: "unknown key without a near one",
			file: "limits:\n  verbosity: 3\n",
			want: []string{`unknown key "limits.verbosity" (line 2)`},
		},
		{
			name: "bad duration",
			file: "limits:\n  max_since: 3x\n",
			want: []string{`limits.max_since: bad duration "3x": use 30s, 15m, 2h or 1d (line 2)`},
		},
		{
			name: "duration without unit",
			file: "alerts:\n  freshness:\n    poll_interval: 60\n",
			want: []string{`alerts.freshness.poll_interval: bad duration "60"`},
		},
		{
			name: "limits out of range",
			file: "limits:\n  max_since: 8d\n  max_tail: 20000\n  default_tail: 0\n  command_timeout: 0s\n",
			want: []string{
				"limits.max_since: must be more than 0 and at most 7d, got 8d (line 2)",
				"limits.max_tail: must be from 1 to 10000, got 20000 (line 3)",
				"limits.default_tail: must be from 1 to max_tail (20000), got 0 (line 4)",
				"limits.command_timeout: must be more than 0 (line 5)",
			},
		},
		{
			name: "default tail above max tail",
			file: "limits:\n  max_tail: 50\n",
			want: []string{"limits.default_tail: must be from 1 to max_tail (50), got 100"},
		},
		{
			name: "alerts out of range",
			file: "alerts:\n  crash_loop_restarts: 1\n  prefect_poll_interval: 100ms\n",
			want: []string{
				"alerts.crash_loop_restarts: must be at least 2, got 1 (line 2)",
				"alerts.prefect_poll_interval: must be at least 1s, got 100ms (line 3)",
			},
		},
		{
			name: "not a number",
			file: "limits:\n  max_tail: lots\n",
			want: []string{`limits.max_tail: "lots" is not a whole number (line 2)`},
		},
		{
			name: "not a boolean",
			file: "environments:\n  dev:\n    open_mutations: maybe\n",
			want: []string{`environments.dev.open_mutations: "maybe" is not true or false (line 3)`},
		},
		{
			name: "docker_host scheme",
			file: "environments:\n  prod:\n    docker_host: http://docker:2375\n",
			want: []string{`environments.prod.docker_host: unsupported scheme "http"`},
		},
		{
			name: "docker_host without scheme",
			file: "environments:\n  prod:\n    docker_host: docker:2375\n",
			want: []string{"environments.prod.docker_host: not a Docker host URL"},
		},
		{
			name: "docker_host tcp without host",
			file: "environments:\n  prod:\n    docker_host: tcp://:2375\n",
			want: []string{"environments.prod.docker_host: missing host"},
		},
		{
			name: "docker_tls needs tcp, cert needs key",
			file: "environments:\n  prod:\n    docker_host: unix:///var/run/docker.sock\n    docker_tls:\n      cert: /c.pem\n",
			want: []string{
				"environments.prod.docker_tls: cert and key go together: set both or neither (line 5)",
				"environments.prod.docker_tls: TLS needs a tcp:// docker_host (line 5)",
			},
		},
		{
			name: "app_url scheme",
			file: "environments:\n  prod:\n    app_url: ftp://prod\n",
			want: []string{`environments.prod.app_url: scheme must be http or https, got "ftp" (line 3)`},
		},
		{
			name: "app_url without host",
			file: "environments:\n  prod:\n    app_url: http:///healthcheck\n",
			want: []string{"environments.prod.app_url: missing host"},
		},
		{
			name: "prefect flavor unknown",
			file: "environments:\n  prod:\n    prefect_url: http://prefect:4200/\n",
			want: []string{"environments.prod.prefect_url: cannot tell the Prefect API from the URL: end it with /graphql (Prefect 1) or /api (Prefect 2/3), or set prefect_flavor (line 3)"},
		},
		{
			name: "prefect_flavor invalid and without URL",
			file: "environments:\n  prod:\n    prefect_flavor: soap\n  dev:\n    prefect_flavor: rest\n",
			want: []string{
				`environments.prod.prefect_flavor: "soap" is not a Prefect API flavor`,
				"environments.dev: Prefect settings (prefect_flavor, prefect_ui_url, prefect_auth_env, prefect_api_key_env) without prefect_url (or PREFECT_API_URL) (line 4)",
			},
		},
		{
			name:   "prefect auth variable malformed, missing, or without an API",
			file:   "environments:\n  prod:\n    prefect_url: http://p:4200/api\n    prefect_auth_env: PROD_PREFECT_AUTH\n    prefect_api_key_env: PROD_PREFECT_KEY\n",
			env:    map[string]string{"PROD_PREFECT_AUTH": "admin-S3cr3tPass", "PREFECT_UI_URL": "ftp://ui"},
			want:   []string{`environments.prod.prefect_auth_env: PROD_PREFECT_AUTH: not of the form "user:password" (line 4)`, "environments.prod.prefect_api_key_env: the variable PROD_PREFECT_KEY is not set (line 5)", `PREFECT_UI_URL: scheme must be http or https`},
			secret: "S3cr3tPass",
		},
		{
			name:   "prefect variables without a Prefect API",
			file:   "environments:\n  prod:\n    app_url: http://app:8880\n",
			env:    map[string]string{"PREFECT_SERVER_API_AUTH_STRING": "admin:S3cr3tPass", "PREFECT_API_KEY": "pnu_S3cr3tPass"},
			want:   []string{"PREFECT_SERVER_API_AUTH_STRING: set, but no Prefect API is configured: set PREFECT_API_URL too", "PREFECT_API_KEY: set, but no Prefect API is configured"},
			secret: "S3cr3tPass",
		},
		{
			name:   "malformed JDBC URL",
			file:   "environments:\n  prod:\n    database_url: jdbc:postgresql://db:5432?user=postgres&password=Pa55w0rd\n",
			want:   []string{"mfbot.yaml: environments.prod.database_url: malformed JDBC URL: missing database name (line 3)"},
			secret: "Pa55w0rd",
		},
		{
			name:   "database from a malformed variable",
			file:   "environments:\n  prod:\n    database_url_env: PROD_DB\n",
			env:    map[string]string{"PROD_DB": "mysql://root:Pa55w0rd@db/x"},
			want:   []string{`environments.prod.database_url_env: PROD_DB: unsupported database URL scheme "mysql"`},
			secret: "Pa55w0rd",
		},
		{
			name: "database set twice",
			file: "environments:\n  prod:\n    database_url: postgres://db/x\n    database_url_env: PROD_DB\n",
			env:  map[string]string{"PROD_DB": "postgres://db/y"},
			want: []string{"environments.prod.database_url_env: set database_url or database_url_env, not both (line 4)"},
		},
		{
			name: "bad regexp names its index",
			file: "redaction:\n  patterns:\n    - 'ok'\n    - '(unclosed'\n",
			want: []string{"redaction.patterns[1]: error parsing regexp: missing closing ): `(unclosed` (line 4)"},
		},
		{
			name: "unknown default environment",
			file: "default_environment: staging\nenvironments:\n  dev: {}\n  prod: {}\n",
			want: []string{`default_environment: unknown environment "staging" (environments: dev, prod) (line 1)`},
		},
		{
			name: "invalid environment names",
			file: "environments:\n  Prod: {}\n  logs: {}\n  a_b: {}\n",
			want: []string{
				`environments.Prod: invalid name "Prod"`,
				`environments.logs: "logs" is a command`,
				`environments.a_b: invalid name "a_b"`,
			},
		},
		{
			name: "duplicate environment",
			file: "environments:\n  prod: {}\n  prod: {}\n",
			want: []string{"environments.prod: duplicate key (first at line 2) (line 3)"},
		},
		{
			name: "invalid service and group names",
			file: "environments:\n  prod:\n    services:\n      all: {}\n      My_Svc: {}\n      web: {}\n    groups:\n      app: [db]\n      empty: []\n      front: [web, nope]\n",
			want: []string{
				`environments.prod.services.all: "all" is reserved: it means every service (line 4)`,
				`environments.prod.services.My_Svc: invalid name "My_Svc"`,
				`environments.prod.groups.app: "app" is already a service`,
				"environments.prod.groups.empty: a group needs at least one service (line 9)",
				`environments.prod.groups.front[1]: unknown service "nope" (services: app, db, geoserver, pipeline-server, pipeline-flows, web) (line 10)`,
			},
		},
		{
			name: "service fields",
			file: "environments:\n  prod:\n    services:\n      app:\n        container: 'has space'\n        known_names: remote_app_1\n        image: 'UPPER CASE'\n        colour: blue\n",
			want: []string{
				`environments.prod.services.app.container: "has space" is not a container name (line 5)`,
				"environments.prod.services.app.known_names: expected a list, got a single value (line 6)",
				`environments.prod.services.app.image: "UPPER CASE" is not an image reference`,
				`unknown key "environments.prod.services.app.colour" (line 8)`,
			},
		},
		{
			name: "channel and user IDs",
			file: "alert_channel: '#alerts'\naudit_channel: audit\noperators: [bob, U0ALICE]\nenvironments:\n  prod:\n    channels: [C0OK, D0DM]\n    viewers: ['@carol']\n",
			want: []string{
				`alert_channel: "#alerts" is a channel name: use the channel ID (C… or G…`,
				`audit_channel: "audit" is not a Slack channel ID (C… or G…) (line 2)`,
				`operators[0]: "bob" is not a Slack user or user-group ID (U…, W… or S…`,
				`environments.prod.channels[1]: "D0DM" is not a Slack channel ID`,
				`environments.prod.viewers[0]: "@carol" is not a Slack user or user-group ID`,
			},
		},
		{
			name: "mutes",
			file: "mutes:\n  - {env: nowhere, target: app, until: 2030-01-01T00:00:00Z}\n  - {target: app, until: tomorrow}\n  - {reason: nothing else}\n",
			want: []string{
				`mutes[0].env: unknown environment "nowhere" (environments: local) (line 2)`,
				`mutes[1].until: "tomorrow" is not an RFC 3339 time`,
				"mutes[2].target: missing: a service, a group, a flow name or all (line 4)",
				"mutes[2].until: missing",
			},
		},
		{
			name: "wrong shapes",
			file: "environments: [dev, prod]\nlimits: 3\nslack:\n  api_url: [a]\n",
			want: []string{
				"environments: expected keys and values, got a list (line 1)",
				"limits: expected keys and values, got a single value (line 2)",
				"slack.api_url: expected a single value, got a list (line 4)",
			},
		},
		{
			name:   "Slack tokens do not belong in the file",
			file:   "slack:\n  bot_token: xoxb-Pa55w0rd\n",
			want:   []string{"slack.bot_token: secrets are not read from the file: set the SLACK_BOT_TOKEN environment variable instead (line 2)"},
			secret: "Pa55w0rd",
		},
		{
			name: "registry hosts",
			file: "registries:\n  https://ghcr.io: {username: a, password_env: P}\n  ghcr.io/mtes-mct: {username: a, password_env: P}\n  'registry.example.fr:99999': {username: a, password_env: P}\n  'bad host': {username: a, password_env: P}\n",
			env:  map[string]string{"P": "x"},
			want: []string{
				`registries.https://ghcr.io: "https://ghcr.io" is not a registry host: no scheme, write the host alone, e.g. ghcr.io or registry.example.fr:5000 (line 2)`,
				`registries.ghcr.io/mtes-mct: "ghcr.io/mtes-mct" is not a registry host: no path`,
				`registries.registry.example.fr:99999: "registry.example.fr:99999" is not a registry host: bad port`,
				`registries.bad host: "bad host" is not a registry host: write the host alone, e.g. ghcr.io or registry.example.fr:5000 (line 5)`,
			},
		},
		{
			name: "registry login without username or password variable",
			file: "registries:\n  ghcr.io:\n    password_env: GHCR_TOKEN\n  registry.example.fr:\n    username: deploy\n",
			env:  map[string]string{"GHCR_TOKEN": "x"},
			want: []string{
				"registries.ghcr.io.username: missing: the user name of the login (line 2)",
				"registries.registry.example.fr.password_env: missing: the environment variable that holds the password (or token) (line 4)",
			},
		},
		{
			name:   "registry password in the file",
			file:   "registries:\n  ghcr.io:\n    username: mfbot\n    password: ghp_Pa55w0rd\n",
			want:   []string{"registries.ghcr.io.password: secrets are not read from the file: set password_env to the name of an environment variable that holds the password (line 4)"},
			secret: "Pa55w0rd",
		},
		{
			name: "registry password variable unset or malformed",
			file: "registries:\n  ghcr.io:\n    username: mfbot\n    password_env: MFBOT_GHCR_TOKEN\n  quay.io:\n    username: mfbot\n    password_env: 'not a name'\n",
			want: []string{
				"registries.ghcr.io.password_env: the variable MFBOT_GHCR_TOKEN is not set (line 4)",
				`registries.quay.io.password_env: "not a name" is not an environment variable name (line 7)`,
			},
		},
		{
			name: "unknown registry key",
			file: "registries:\n  ghcr.io:\n    usernme: mfbot\n    username: mfbot\n    password_env: T\n",
			env:  map[string]string{"T": "x"},
			want: []string{`unknown key "registries.ghcr.io.usernme" (line 3): did you mean "username"?`},
		},
		{
			name: "version file and variable",
			file: "environments:\n  prod:\n    version_file: ~root/.monitorfish\n    version_variable: MONITORFISH-VERSION\n",
			want: []string{
				`environments.prod.version_file: "~root/.monitorfish": only ~/ is expanded (the home directory of the user mfbot runs as): write another user's path in full (line 3)`,
				`environments.prod.version_variable: "MONITORFISH-VERSION" is not an environment variable name (line 4)`,
			},
		},
		{
			name: "deploy durations",
			file: "environments:\n  prod:\n    deploy:\n      timeout: 15 minutes\n      healthy_timeout: 0s\n  dev:\n    deploy:\n      timeout: 5m\n      healthy_timeout: 10m\n      flows:\n        timeout: 1h\n",
			want: []string{
				`environments.prod.deploy.timeout: bad duration "15 minutes": use 30s, 15m, 2h or 1d (line 4)`,
				"environments.prod.deploy.healthy_timeout: must be more than 0 (line 5)",
				"environments.dev.deploy.healthy_timeout: must be at most deploy.timeout (5m0s), got 10m0s (line 9)",
				"environments.dev.deploy.flows.timeout: must be at most deploy.timeout (5m0s), got 1h0m0s (line 11)",
			},
		},
		{
			name: "deploy flows fields",
			file: "environments:\n  prod:\n    deploy:\n      flows:\n        image: ghcr.io/mtes-mct/monitorfish/monitorfish-pipeline-prefect3:v1.54.0\n        command: python main.py\n        network: 'no such'\n        environment:\n          bad-name: x\n          LIST: [a]\n        env_file: [a]\n        volumes: [relative:/x, /a:/b:rx]\n",
			want: []string{
				`environments.prod.deploy.flows.image: "ghcr.io/mtes-mct/monitorfish/monitorfish-pipeline-prefect3:v1.54.0" has a tag or digest: give the repository alone, the tag is the version deployed (line 5)`,
				"environments.prod.deploy.flows.command: expected a list, got a single value (line 6)",
				`environments.prod.deploy.flows.network: "no such" is not a network`,
				`environments.prod.deploy.flows.environment.bad-name: "bad-name" is not an environment variable name (line 9)`,
				"environments.prod.deploy.flows.environment.LIST: expected a single value, got a list (line 10)",
				"environments.prod.deploy.flows.env_file: expected a single value, got a list (line 11)",
				`environments.prod.deploy.flows.volumes[0]: "relative:/x" is not a bind mount: /host/path:/container/path, optionally :ro or :rw`,
				`environments.prod.deploy.flows.volumes[1]: "/a:/b:rx" is not a bind mount`,
			},
		},
		{
			name: "deploy flows image with a digest, on a registry with a port",
			file: "environments:\n  prod:\n    deploy:\n      flows:\n        image: registry.example.fr:5000/pipeline@sha256:abc\n",
			want: []string{`environments.prod.deploy.flows.image: "registry.example.fr:5000/pipeline@sha256:abc" has a tag or digest`},
		},
		{
			name: "unknown deploy keys",
			file: "environments:\n  prod:\n    deploy:\n      timout: 1m\n      flows:\n        imag: x\n",
			want: []string{
				`unknown key "environments.prod.deploy.timout" (line 4): did you mean "timeout"?`,
				`unknown key "environments.prod.deploy.flows.imag" (line 6): did you mean "image"?`,
			},
		},
		{
			name: "slack api_url",
			file: "slack:\n  api_url: slack.com/api\n",
			want: []string{`slack.api_url: scheme must be http or https, got ""`},
		},
		{
			name: "YAML syntax error",
			file: "environments:\n  prod: [unclosed\n",
			want: []string{"mfbot.yaml: yaml: line"},
		},
		{
			name: "several documents",
			file: "alert_channel: C0A\n---\nalert_channel: C0B\n",
			want: []string{"several YAML documents"},
		},
		{
			name: "every problem at once",
			file: "http_addr: nowhere\nstore: ''\nlimits:\n  max_tail: 0\n",
			env:  map[string]string{"MFBOT_OPERATORS": "bob"},
			want: []string{
				`http_addr: "nowhere" is not a listen address`,
				"store: empty: use a file path or a postgres:// URL (line 2)",
				"limits.max_tail: must be from 1 to 10000, got 0",
				`MFBOT_OPERATORS: "bob" is not a Slack user or user-group ID`,
			},
		},

		// Variables
		{
			name:   "ENV_DB_URL malformed",
			env:    map[string]string{"ENV_DB_URL": "jdbc:postgresql://db:5432?user=postgres&password=Pa55w0rd"},
			want:   []string{"ENV_DB_URL: malformed JDBC URL: missing database name"},
			secret: "Pa55w0rd",
		},
		{
			name:   "ENV_DB_URL with a misplaced password character",
			env:    map[string]string{"ENV_DB_URL": "postgres://mf:Pa55/w0rd@db/monitorfishdb"},
			want:   []string{"ENV_DB_URL: malformed postgres URL: @ after the host: percent-encode / ? # in the password"},
			secret: "w0rd",
		},
		{
			name: "MFBOT_OPERATORS",
			env:  map[string]string{"MFBOT_OPERATORS": "U0ALICE,bob"},
			want: []string{`MFBOT_OPERATORS: "bob" is not a Slack user or user-group ID`},
		},
		{
			name: "MFBOT_ALERT_CHANNEL and MFBOT_HTTP_ADDR",
			env:  map[string]string{"MFBOT_ALERT_CHANNEL": "alerts", "MFBOT_HTTP_ADDR": "8090"},
			want: []string{`MFBOT_ALERT_CHANNEL: "alerts" is not a Slack channel ID`, `MFBOT_HTTP_ADDR: "8090" is not a listen address`},
		},
		{
			name:   "MFBOT_STORE with another scheme",
			env:    map[string]string{"MFBOT_STORE": "mysql://root:Pa55w0rd@db/mfbot"},
			want:   []string{`MFBOT_STORE: unsupported store URL scheme "mysql"`},
			secret: "Pa55w0rd",
		},
		{
			name:   "MFBOT_STORE postgres without host",
			env:    map[string]string{"MFBOT_STORE": "postgres://mfbot:Pa55w0rd@/mfbot"},
			want:   []string{"MFBOT_STORE: malformed postgres URL: missing host"},
			secret: "Pa55w0rd",
		},
		{
			name: "DOCKER_HOST",
			env:  map[string]string{"DOCKER_HOST": "localhost:2375"},
			want: []string{"DOCKER_HOST: not a Docker host URL"},
		},
		{
			name: "PREFECT_API_URL",
			env:  map[string]string{"PREFECT_API_URL": "http://prefect:4200"},
			want: []string{"PREFECT_API_URL: cannot tell the Prefect API from the URL"},
		},
		{
			name: "SLACK_API_URL",
			env:  map[string]string{"SLACK_API_URL": "ftp://slack"},
			want: []string{`SLACK_API_URL: scheme must be http or https, got "ftp"`},
		},
		{
			name:   "Slack tokens swapped",
			env:    map[string]string{"SLACK_BOT_TOKEN": "xapp-1-Pa55w0rd", "SLACK_APP_TOKEN": "xoxb-2-Pa55w0rd"},
			want:   []string{"SLACK_BOT_TOKEN: this is an app-level token (xapp-), expected a bot token (xoxb-…)", "SLACK_APP_TOKEN: this is a bot token (xoxb-), expected an app-level token (xapp-…)"},
			secret: "Pa55w0rd",
		},
		{
			name:   "Slack token of unknown kind",
			env:    map[string]string{"SLACK_BOT_TOKEN": "Pa55w0rd"},
			want:   []string{"SLACK_BOT_TOKEN: not a bot token: it should start with xoxb-"},
			secret: "Pa55w0rd",
		},
		{
			name:   "app token and signing secret without bot token",
			env:    map[string]string{"SLACK_APP_TOKEN": "xapp-Pa55w0rd", "SLACK_SIGNING_SECRET": "Pa55w0rd"},
			want:   []string{"SLACK_APP_TOKEN: set, but SLACK_BOT_TOKEN is not", "SLACK_SIGNING_SECRET: set, but SLACK_BOT_TOKEN is not"},
			secret: "Pa55w0rd",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir()) // no stray ./mfbot.yaml
			path := ""
			if tt.file != "" {
				path = writeConfig(t, tt.file)
			}
			_, err := Load(path, vars(tt.env))
			if err == nil {
				t.Fatalf("Load succeeded, want an error containing %q", tt.want)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not contain %q:\n%v", want, err)
				}
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error shows a secret:\n%v", err)
			}
			if tt.file != "" && len(tt.want) > 0 && strings.HasPrefix(tt.want[0], "mfbot.yaml") && !strings.HasPrefix(err.Error(), path) {
				t.Errorf("error does not start with the file path %s:\n%v", path, err)
			}
		})
	}
}
