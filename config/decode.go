package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The file is decoded by walking yaml.Node rather than into tagged structs:
// that keeps the order of environments, tells a key set to a zero value from
// an absent one, and lets every error name its full key path and line.

// decoder walks the YAML document into a Config.
type decoder struct {
	p    *problems
	vars variables // for database_url_env
}

// decodeFile fills cfg from the YAML in data. Syntax errors stop at once;
// all other problems are collected in d.p.
func (d *decoder) decodeFile(data []byte, cfg *Config) error {
	stream := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := stream.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file configures nothing
		}
		return err
	}
	var next yaml.Node
	if err := stream.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			return err
		}
		return errors.New("several YAML documents: keep only one")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	d.file(root, cfg)
	return nil
}

// handlers maps the keys of a YAML mapping to what decodes their values.
type handlers map[string]func(key string, value *yaml.Node)

func (d *decoder) file(root *yaml.Node, cfg *Config) {
	d.mapping("", root, handlers{
		"slack":         func(key string, v *yaml.Node) { d.slack(key, v, &cfg.Slack) },
		"alert_channel": func(key string, v *yaml.Node) { cfg.AlertChannel, _ = d.str(key, v, checkChannelID) },
		"audit_channel": func(key string, v *yaml.Node) { cfg.AuditChannel, _ = d.str(key, v, checkChannelID) },
		"http_addr":     func(key string, v *yaml.Node) { cfg.HTTPAddr, _ = d.str(key, v, checkHTTPAddr) },
		"store":         func(key string, v *yaml.Node) { cfg.Store, _ = d.str(key, v, checkStore) },
		"operators":     func(key string, v *yaml.Node) { cfg.Operators = d.strs(key, v, checkPrincipalID) },
		"default_environment": func(key string, v *yaml.Node) {
			cfg.DefaultEnv, _ = d.str(key, v, nil)
		},
		"environments": func(key string, v *yaml.Node) { cfg.Environments = d.environments(key, v) },
		"redaction": func(key string, v *yaml.Node) {
			d.mapping(key, v, handlers{
				"patterns": func(key string, v *yaml.Node) { cfg.Redaction.Patterns = d.strs(key, v, checkPattern) },
			})
		},
		"limits": func(key string, v *yaml.Node) { d.limits(key, v, &cfg.Limits) },
		"alerts": func(key string, v *yaml.Node) { d.alerts(key, v, &cfg.Alerts) },
		"mutes":  func(key string, v *yaml.Node) { cfg.Mutes = d.mutes(key, v) },
		"registries": func(key string, v *yaml.Node) {
			cfg.Registries = d.registries(key, v)
		},
	})
}

// registries reads the logins to private registries: host → username and
// the variable that holds the password.
func (d *decoder) registries(path string, n *yaml.Node) map[string]RegistryLogin {
	var logins map[string]RegistryLogin
	for _, f := range d.fields(path, n) {
		key := path + "." + f.name
		d.p.lines[key] = f.key.Line
		if err := checkRegistryHost(f.name); err != nil {
			d.p.atKey(key, f.key.Line, err)
			continue
		}
		var (
			login                    RegistryLogin
			usernameSet, passwordSet bool // errors in their values are reported once
		)
		d.mapping(key, f.value, handlers{
			"username": func(key string, v *yaml.Node) {
				usernameSet = true
				login.Username, _ = d.str(key, v, checkRegistryUsername)
			},
			"password_env": func(key string, v *yaml.Node) {
				passwordSet = true
				login.Password = d.secretVariable(key, v, nil)
			},
			// A password in a file ends up in backups and repositories:
			// refuse it rather than ignore it silently.
			"password": func(key string, v *yaml.Node) {
				passwordSet = true
				d.p.atKey(key, v.Line, errors.New("secrets are not read from the file: set password_env to the name of an environment variable that holds the password"))
			},
		})
		if !usernameSet {
			d.p.atKey(key+".username", f.key.Line, errors.New("missing: the user name of the login"))
		}
		if !passwordSet {
			d.p.atKey(key+".password_env", f.key.Line, errors.New("missing: the environment variable that holds the password (or token)"))
		}
		if login.Username == "" || login.Password == "" {
			continue
		}
		if logins == nil {
			logins = map[string]RegistryLogin{}
		}
		logins[f.name] = login
	}
	return logins
}

func (d *decoder) slack(path string, n *yaml.Node, slack *Slack) {
	// Tokens in a file end up in backups and repositories: refuse them
	// rather than ignore them silently.
	fromVariableOnly := func(variable string) func(string, *yaml.Node) {
		return func(key string, v *yaml.Node) {
			d.p.atKey(key, v.Line, fmt.Errorf("secrets are not read from the file: set the %s environment variable instead", variable))
		}
	}
	d.mapping(path, n, handlers{
		"api_url": func(key string, v *yaml.Node) {
			if url, ok := d.str(key, v, checkHTTPURL); ok {
				slack.APIURL = withTrailingSlash(url)
			}
		},
		"bot_token":      fromVariableOnly("SLACK_BOT_TOKEN"),
		"app_token":      fromVariableOnly("SLACK_APP_TOKEN"),
		"signing_secret": fromVariableOnly("SLACK_SIGNING_SECRET"),
	})
}

func (d *decoder) environments(path string, n *yaml.Node) []Environment {
	var envs []Environment
	for _, f := range d.fields(path, n) {
		key := path + "." + f.name
		d.p.lines[key] = f.key.Line
		if err := checkEnvironmentName(f.name); err != nil {
			d.p.atKey(key, f.key.Line, err)
			continue
		}
		envs = append(envs, d.environment(key, f.name, f.value))
	}
	return envs
}

func (d *decoder) environment(path, name string, n *yaml.Node) Environment {
	env := newEnvironment(name)
	var (
		databaseURLSet, databaseVariableSet bool
		prefectURL, prefectFlavor           string
		prefectUI                           string
		prefectAuth, prefectKey             Secret
		groups                              *yaml.Node // decoded once the services are known
	)
	d.mapping(path, n, handlers{
		"docker_host": func(key string, v *yaml.Node) { env.DockerHost, _ = d.str(key, v, checkDockerHost) },
		"docker_tls":  func(key string, v *yaml.Node) { env.DockerTLS = d.dockerTLS(key, v) },
		"compose_project": func(key string, v *yaml.Node) {
			env.ComposeProject, _ = d.str(key, v, checkComposeName)
		},
		"app_url": func(key string, v *yaml.Node) {
			if url, ok := d.str(key, v, checkHTTPURL); ok {
				env.AppURL = strings.TrimRight(url, "/")
			}
		},
		"database_url": func(key string, v *yaml.Node) {
			databaseURLSet = true
			env.Database = d.database(key, v, "")
		},
		"database_url_env": func(key string, v *yaml.Node) {
			databaseVariableSet = true
			variable, ok := d.str(key, v, checkVariableName)
			if ok {
				env.Database = d.database(key, v, variable)
			}
		},
		"prefect_url":    func(key string, v *yaml.Node) { prefectURL, _ = d.str(key, v, checkHTTPURL) },
		"prefect_flavor": func(key string, v *yaml.Node) { prefectFlavor, _ = d.str(key, v, checkPrefectFlavor) },
		"prefect_ui_url": func(key string, v *yaml.Node) { prefectUI, _ = d.str(key, v, checkHTTPURL) },
		"prefect_auth_env": func(key string, v *yaml.Node) {
			prefectAuth = d.secretVariable(key, v, checkPrefectAuthString)
		},
		"prefect_api_key_env": func(key string, v *yaml.Node) { prefectKey = d.secretVariable(key, v, nil) },
		"operators":           func(key string, v *yaml.Node) { env.Operators = d.strs(key, v, checkPrincipalID) },
		"viewers":             func(key string, v *yaml.Node) { env.Viewers = d.strs(key, v, checkPrincipalID) },
		"channels":            func(key string, v *yaml.Node) { env.Channels = d.strs(key, v, checkChannelID) },
		"open_mutations":      func(key string, v *yaml.Node) { env.OpenMutations, _ = d.boolean(key, v) },
		"services":            func(key string, v *yaml.Node) { env.Services = d.services(key, v, env.Services) },
		"groups":              func(_ string, v *yaml.Node) { groups = v },
		"version_file":        func(key string, v *yaml.Node) { env.VersionFile, _ = d.path(key, v) },
		"version_variable": func(key string, v *yaml.Node) {
			env.VersionVariable, _ = d.str(key, v, checkVariableName)
		},
		"deploy": func(key string, v *yaml.Node) { d.deploy(key, v, &env.Deploy) },
	})
	if databaseURLSet && databaseVariableSet {
		d.p.atKey(path+".database_url_env", 0, errors.New("set database_url or database_url_env, not both"))
	}
	// The flavor is checked once PREFECT_API_URL may have replaced the URL.
	if prefectURL != "" || prefectFlavor != "" || prefectUI != "" || prefectAuth != "" || prefectKey != "" {
		env.Prefect = &Prefect{URL: strings.TrimRight(prefectURL, "/"), Flavor: prefectFlavor, UIURL: strings.TrimRight(prefectUI, "/"),
			AuthString: prefectAuth, APIKey: prefectKey}
	}
	env.Groups = d.groups(path+".groups", groups, env)
	return env
}

// deploy reads deploy: onto the defaults in dep.
func (d *decoder) deploy(path string, n *yaml.Node, dep *Deploy) {
	d.mapping(path, n, handlers{
		"timeout":         func(key string, v *yaml.Node) { dep.Timeout, _ = d.duration(key, v) },
		"healthy_timeout": func(key string, v *yaml.Node) { dep.HealthyTimeout, _ = d.duration(key, v) },
		"flows":           func(key string, v *yaml.Node) { dep.Flows = d.deployFlows(key, v) },
	})
}

// deployFlows reads deploy.flows:, the container of `make
// deploy-pipeline-flows`. Its presence (even {}) enables the pipeline
// deploy.
func (d *decoder) deployFlows(path string, n *yaml.Node) *DeployFlows {
	flows := newDeployFlows()
	d.mapping(path, n, handlers{
		"image":       func(key string, v *yaml.Node) { flows.Image, _ = d.str(key, v, checkImageRepository) },
		"command":     func(key string, v *yaml.Node) { flows.Command = d.strs(key, v, nil) },
		"env_file":    func(key string, v *yaml.Node) { flows.EnvFile, _ = d.path(key, v) },
		"volumes":     func(key string, v *yaml.Node) { flows.Volumes = d.strs(key, v, checkBindMount) },
		"network":     func(key string, v *yaml.Node) { flows.Network, _ = d.str(key, v, checkNetworkMode) },
		"environment": func(key string, v *yaml.Node) { flows.Environment = d.variableValues(key, v) },
		"timeout":     func(key string, v *yaml.Node) { flows.Timeout, _ = d.duration(key, v) },
	})
	return flows
}

// variableValues reads a mapping of environment variables to their values;
// a key without a value is set empty.
func (d *decoder) variableValues(path string, n *yaml.Node) map[string]string {
	values := map[string]string{}
	for _, f := range d.fields(path, n) {
		key := path + "." + f.name
		d.p.lines[key] = f.value.Line
		if err := checkVariableName(f.name); err != nil {
			d.p.atKey(key, f.key.Line, err)
			continue
		}
		if isNull(f.value) {
			values[f.name] = ""
			continue
		}
		if value, ok := d.str(key, f.value, nil); ok {
			values[f.name] = value
		}
	}
	return values
}

// path reads a file path, "~/" standing for the home directory of the user
// mfbot runs as.
func (d *decoder) path(key string, v *yaml.Node) (string, bool) {
	s, ok := d.str(key, v, nil)
	if !ok {
		return "", false
	}
	expanded, err := expandHome(s)
	if err != nil {
		d.p.atKey(key, v.Line, err)
		return "", false
	}
	return expanded, true
}

// secretVariable reads the secret held by the environment variable that
// the value of key names (secrets stay out of files). check, when set,
// checks the secret; its error must not quote it.
func (d *decoder) secretVariable(key string, v *yaml.Node, check func(string) error) Secret {
	variable, ok := d.str(key, v, checkVariableName)
	if !ok {
		return ""
	}
	raw, set := d.vars.get(variable)
	if !set {
		d.p.atKey(key, v.Line, fmt.Errorf("the variable %s is not set", variable))
		return ""
	}
	if check != nil {
		if err := check(raw); err != nil {
			d.p.atKey(key, v.Line, fmt.Errorf("%s: %w", variable, err))
			return ""
		}
	}
	return Secret(raw)
}

// database reads a database URL from the value of key, or from the variable
// it names. Errors quote neither: they may hold a password.
func (d *decoder) database(key string, v *yaml.Node, variable string) *Database {
	source := ""
	if variable == "" {
		raw, ok := d.str(key, v, nil)
		if !ok {
			return nil
		}
		source = raw
	} else {
		raw, set := d.vars.get(variable)
		if !set {
			d.p.atKey(key, v.Line, fmt.Errorf("the variable %s is not set", variable))
			return nil
		}
		source = raw
	}
	db, err := ParseDatabaseURL(source)
	if err != nil {
		if variable != "" {
			err = fmt.Errorf("%s: %w", variable, err)
		}
		d.p.atKey(key, v.Line, err)
		return nil
	}
	return &db
}

func (d *decoder) dockerTLS(path string, n *yaml.Node) *DockerTLS {
	tls := &DockerTLS{Verify: true}
	d.mapping(path, n, handlers{
		"ca":     func(key string, v *yaml.Node) { tls.CA, _ = d.str(key, v, nil) },
		"cert":   func(key string, v *yaml.Node) { tls.Cert, _ = d.str(key, v, nil) },
		"key":    func(key string, v *yaml.Node) { tls.Key, _ = d.str(key, v, nil) },
		"verify": func(key string, v *yaml.Node) { tls.Verify, _ = d.boolean(key, v) },
	})
	if (tls.Cert == "") != (tls.Key == "") {
		d.p.atKey(path, n.Line, errors.New("cert and key go together: set both or neither"))
	}
	return tls
}

// services applies the services: mapping onto the defaults. An entry for a
// default service changes only the fields it sets; a new name adds a
// service; enabled: false removes one (a host without geoserver …).
func (d *decoder) services(path string, n *yaml.Node, services []Service) []Service {
	for _, f := range d.fields(path, n) {
		key := path + "." + f.name
		d.p.lines[key] = f.key.Line
		if err := checkName(f.name); err != nil {
			d.p.atKey(key, f.key.Line, err)
			continue
		}
		i := slices.IndexFunc(services, func(s Service) bool { return s.Name == f.name })
		if i < 0 {
			services = append(services, Service{Name: f.name})
			i = len(services) - 1
		}
		svc := &services[i]
		enabled := true
		d.mapping(key, f.value, handlers{
			"container":       func(key string, v *yaml.Node) { svc.Container, _ = d.str(key, v, checkContainerName) },
			"compose_service": func(key string, v *yaml.Node) { svc.ComposeService, _ = d.str(key, v, checkContainerName) },
			"known_names":     func(key string, v *yaml.Node) { svc.KnownNames = d.strs(key, v, checkContainerName) },
			"image":           func(key string, v *yaml.Node) { svc.Image, _ = d.str(key, v, checkImageRef) },
			"enabled":         func(key string, v *yaml.Node) { enabled, _ = d.boolean(key, v) },
		})
		if !enabled {
			services = slices.Delete(services, i, i+1)
		}
	}
	sortServices(services)
	return services
}

// groups applies the groups: mapping (n may be nil) onto the default groups
// and checks every group against the services of env.
func (d *decoder) groups(path string, n *yaml.Node, env Environment) map[string][]string {
	groups := defaultGroups()
	// A default group follows the services: members disabled there leave it.
	for name, members := range groups {
		members = slices.DeleteFunc(members, func(m string) bool { _, ok := env.Service(m); return !ok })
		if len(members) == 0 {
			delete(groups, name)
		} else {
			groups[name] = members
		}
	}
	if n == nil {
		return groups
	}
	for _, f := range d.fields(path, n) {
		key := path + "." + f.name
		d.p.lines[key] = f.key.Line
		if err := checkName(f.name); err != nil {
			d.p.atKey(key, f.key.Line, err)
			continue
		}
		if _, isService := env.Service(f.name); isService {
			d.p.atKey(key, f.key.Line, fmt.Errorf("%q is already a service: a group needs a name of its own", f.name))
			continue
		}
		members := d.strs(key, f.value, func(member string) error {
			if _, ok := env.Service(member); !ok {
				return fmt.Errorf("unknown service %q (services: %s)", member, strings.Join(env.ServiceNames(), ", "))
			}
			return nil
		})
		if len(members) == 0 {
			d.p.atKey(key, f.value.Line, errors.New("a group needs at least one service"))
			continue
		}
		groups[f.name] = members
	}
	return groups
}

func (d *decoder) limits(path string, n *yaml.Node, limits *Limits) {
	d.mapping(path, n, handlers{
		"default_tail":    func(key string, v *yaml.Node) { limits.DefaultTail, _ = d.integer(key, v) },
		"max_tail":        func(key string, v *yaml.Node) { limits.MaxTail, _ = d.integer(key, v) },
		"max_since":       func(key string, v *yaml.Node) { limits.MaxSince, _ = d.duration(key, v) },
		"command_timeout": func(key string, v *yaml.Node) { limits.CommandTimeout, _ = d.duration(key, v) },
		"restart_timeout": func(key string, v *yaml.Node) { limits.RestartTimeout, _ = d.duration(key, v) },
		"stop_timeout":    func(key string, v *yaml.Node) { limits.StopTimeout, _ = d.duration(key, v) },
		"confirm_timeout": func(key string, v *yaml.Node) { limits.ConfirmTimeout, _ = d.duration(key, v) },
	})
}

func (d *decoder) alerts(path string, n *yaml.Node, alerts *Alerts) {
	d.mapping(path, n, handlers{
		"crash_loop_restarts":   func(key string, v *yaml.Node) { alerts.CrashLoopRestarts, _ = d.integer(key, v) },
		"crash_loop_window":     func(key string, v *yaml.Node) { alerts.CrashLoopWindow, _ = d.duration(key, v) },
		"recovery_after":        func(key string, v *yaml.Node) { alerts.RecoveryAfter, _ = d.duration(key, v) },
		"update_interval":       func(key string, v *yaml.Node) { alerts.UpdateInterval, _ = d.duration(key, v) },
		"group_window":          func(key string, v *yaml.Node) { alerts.GroupWindow, _ = d.duration(key, v) },
		"prefect_poll_interval": func(key string, v *yaml.Node) { alerts.PrefectPoll, _ = d.duration(key, v) },
		"stuck_run_after":       func(key string, v *yaml.Node) { alerts.StuckRunAfter, _ = d.duration(key, v) },
		"freshness": func(key string, v *yaml.Node) {
			d.mapping(key, v, handlers{
				"positions_received": func(key string, v *yaml.Node) { alerts.PositionsReceived, _ = d.duration(key, v) },
				"positions_updated":  func(key string, v *yaml.Node) { alerts.PositionsUpdated, _ = d.duration(key, v) },
				"logbook_received":   func(key string, v *yaml.Node) { alerts.LogbookReceived, _ = d.duration(key, v) },
				"poll_interval":      func(key string, v *yaml.Node) { alerts.FreshnessPoll, _ = d.duration(key, v) },
				"enabled":            func(key string, v *yaml.Node) { alerts.FreshnessEnabled, _ = d.boolean(key, v) },
			})
		},
	})
}

func (d *decoder) mutes(path string, n *yaml.Node) []Mute {
	items, ok := d.sequence(path, n)
	if !ok {
		return nil
	}
	mutes := make([]Mute, 0, len(items))
	for i, item := range items {
		key := fmt.Sprintf("%s[%d]", path, i)
		var mute Mute
		d.mapping(key, item, handlers{
			"env":    func(key string, v *yaml.Node) { mute.Env, _ = d.str(key, v, nil) },
			"target": func(key string, v *yaml.Node) { mute.Target, _ = d.str(key, v, nil) },
			"until":  func(key string, v *yaml.Node) { mute.Until, _ = d.time(key, v) },
			"reason": func(key string, v *yaml.Node) { mute.Reason, _ = d.str(key, v, nil) },
		})
		if mute.Target == "" {
			d.p.atKey(key+".target", item.Line, errors.New("missing: a service, a group, a flow name or all"))
		}
		if mute.Until.IsZero() {
			d.p.atKey(key+".until", item.Line, errors.New("missing: an RFC 3339 time such as 2025-06-01T18:00:00+02:00"))
		}
		mutes = append(mutes, mute)
	}
	return mutes
}

// field is one entry of a YAML mapping.
type field struct {
	name       string
	key, value *yaml.Node
}

// mapping decodes a mapping whose keys are known: each key's handler runs in
// file order; unknown keys are reported; a null value keeps the default.
func (d *decoder) mapping(path string, n *yaml.Node, known handlers) {
	for _, f := range d.fields(path, n) {
		key := joinKey(path, f.name)
		handle, ok := known[f.name]
		if !ok && path == "" && strings.HasPrefix(f.name, "x-") {
			continue // extension keys, as in compose files: a place for YAML anchors
		}
		if !ok {
			names := make([]string, 0, len(known))
			for name := range known {
				names = append(names, name)
			}
			slices.Sort(names)
			d.p.unknownKey(key, f.key.Line, f.name, names)
			continue
		}
		d.p.lines[key] = f.value.Line
		if isNull(f.value) {
			continue
		}
		handle(key, f.value)
	}
}

// fields lists the entries of a mapping in file order, aliases resolved and
// merge keys (<<: *anchor) expanded, reporting duplicate keys.
func (d *decoder) fields(path string, n *yaml.Node) []field {
	n = resolveAlias(n)
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.p.atKey(pathOrRoot(path), n.Line, fmt.Errorf("expected keys and values, got %s", kindName(n)))
		return nil
	}
	var merged, own []field
	firstLine := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		if k.Tag == "!!merge" {
			merged = append(merged, d.mergedFields(path, v)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.p.atKey(pathOrRoot(path), k.Line, errors.New("keys must be plain names"))
			continue
		}
		if line, seen := firstLine[k.Value]; seen {
			d.p.atKey(joinKey(path, k.Value), k.Line, fmt.Errorf("duplicate key (first at line %d)", line))
			continue
		}
		firstLine[k.Value] = k.Line
		own = append(own, field{name: k.Value, key: k, value: v})
	}
	// Own keys override merged ones; among merged mappings the first wins.
	var result []field
	for _, f := range merged {
		if _, seen := firstLine[f.name]; !seen {
			firstLine[f.name] = f.key.Line
			result = append(result, f)
		}
	}
	return append(result, own...)
}

func (d *decoder) mergedFields(path string, v *yaml.Node) []field {
	if v.Kind == yaml.SequenceNode {
		var all []field
		for _, item := range v.Content {
			all = append(all, d.fields(path, resolveAlias(item))...)
		}
		return all
	}
	return d.fields(path, v)
}

// str decodes a single value and runs check on it (check may be nil).
func (d *decoder) str(key string, v *yaml.Node, check func(string) error) (string, bool) {
	v = resolveAlias(v)
	if v.Kind != yaml.ScalarNode {
		d.p.atKey(key, v.Line, fmt.Errorf("expected a single value, got %s", kindName(v)))
		return "", false
	}
	if check != nil {
		if err := check(v.Value); err != nil {
			d.p.atKey(key, v.Line, err)
			return "", false
		}
	}
	return v.Value, true
}

// strs decodes a list of values, checking each; the result holds the valid ones.
func (d *decoder) strs(key string, v *yaml.Node, check func(string) error) []string {
	items, ok := d.sequence(key, v)
	if !ok {
		return nil
	}
	values := make([]string, 0, len(items))
	for i, item := range items {
		if s, ok := d.str(fmt.Sprintf("%s[%d]", key, i), item, check); ok {
			values = append(values, s)
		}
	}
	return values
}

func (d *decoder) sequence(key string, v *yaml.Node) ([]*yaml.Node, bool) {
	v = resolveAlias(v)
	if isNull(v) {
		return nil, true
	}
	if v.Kind != yaml.SequenceNode {
		d.p.atKey(key, v.Line, fmt.Errorf("expected a list, got %s", kindName(v)))
		return nil, false
	}
	items := make([]*yaml.Node, len(v.Content))
	for i, item := range v.Content {
		items[i] = resolveAlias(item)
	}
	return items, true
}

func (d *decoder) integer(key string, v *yaml.Node) (int, bool) {
	v = resolveAlias(v)
	s, ok := d.str(key, v, nil)
	if !ok {
		return 0, false
	}
	var n int
	if err := v.Decode(&n); err != nil {
		d.p.atKey(key, v.Line, fmt.Errorf("%q is not a whole number", s))
		return 0, false
	}
	return n, true
}

func (d *decoder) boolean(key string, v *yaml.Node) (bool, bool) {
	v = resolveAlias(v)
	s, ok := d.str(key, v, nil)
	if !ok {
		return false, false
	}
	var b bool
	if err := v.Decode(&b); err != nil {
		d.p.atKey(key, v.Line, fmt.Errorf("%q is not true or false", s))
		return false, false
	}
	return b, true
}

func (d *decoder) duration(key string, v *yaml.Node) (time.Duration, bool) {
	s, ok := d.str(key, v, nil)
	if !ok {
		return 0, false
	}
	var duration Duration
	if err := duration.UnmarshalText([]byte(s)); err != nil {
		d.p.atKey(key, v.Line, err)
		return 0, false
	}
	return time.Duration(duration), true
}

func (d *decoder) time(key string, v *yaml.Node) (time.Time, bool) {
	s, ok := d.str(key, v, nil)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		d.p.atKey(key, v.Line, fmt.Errorf("%q is not an RFC 3339 time such as 2025-06-01T18:00:00+02:00", s))
		return time.Time{}, false
	}
	return t, true
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "keys and values"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	}
	return "nothing"
}

func joinKey(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// pathOrRoot names the top of the document in errors about it.
func pathOrRoot(path string) string {
	if path == "" {
		return "top level"
	}
	return path
}

func withTrailingSlash(s string) string {
	if strings.HasSuffix(s, "/") {
		return s
	}
	return s + "/"
}

// The checks of the deploy and registry settings.

var (
	hostnamePattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`)
	networkPattern  = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.:-]*$`)
)

// checkRegistryHost accepts a registry as image references name it: a host
// name or IP address with an optional port, without scheme or path.
func checkRegistryHost(host string) error {
	const usage = "write the host alone, e.g. ghcr.io or registry.example.fr:5000"
	if strings.Contains(host, "://") {
		return fmt.Errorf("%q is not a registry host: no scheme, %s", host, usage)
	}
	if strings.Contains(host, "/") {
		return fmt.Errorf("%q is not a registry host: no path, %s", host, usage)
	}
	hostname := host
	if h, port, err := net.SplitHostPort(host); err == nil {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q is not a registry host: bad port, %s", host, usage)
		}
		hostname = h
	}
	if net.ParseIP(strings.Trim(hostname, "[]")) != nil {
		return nil
	}
	if len(hostname) > 253 || !hostnamePattern.MatchString(hostname) {
		return fmt.Errorf("%q is not a registry host: %s", host, usage)
	}
	return nil
}

// checkRegistryUsername keeps the user name to what basic auth can carry.
func checkRegistryUsername(user string) error {
	if user == "" {
		return errors.New("empty: the user name of the login")
	}
	if strings.ContainsAny(user, ": \t\r\n") {
		return errors.New("a user name contains no colon or blank")
	}
	return nil
}

// checkImageRepository accepts an image repository without tag or digest
// (the tag is added later: the version deployed).
func checkImageRepository(repo string) error {
	if err := checkImageRef(repo); err != nil {
		return fmt.Errorf("%q is not an image repository (e.g. ghcr.io/mtes-mct/monitorfish/monitorfish-pipeline-prefect3)", repo)
	}
	lastPart := repo[strings.LastIndex(repo, "/")+1:]
	if strings.Contains(repo, "@") || strings.Contains(lastPart, ":") {
		return fmt.Errorf("%q has a tag or digest: give the repository alone, the tag is the version deployed", repo)
	}
	return nil
}

// checkBindMount accepts a bind mount as `docker run -v` takes one:
// absolute host path, absolute container path, optional ro or rw.
func checkBindMount(spec string) error {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 || len(parts) > 3 || !strings.HasPrefix(parts[0], "/") || !strings.HasPrefix(parts[1], "/") ||
		(len(parts) == 3 && parts[2] != "ro" && parts[2] != "rw") {
		return fmt.Errorf("%q is not a bind mount: /host/path:/container/path, optionally :ro or :rw", spec)
	}
	return nil
}

// checkNetworkMode accepts what `docker run --network` does: host, bridge,
// none, container:<name> or a network's name.
func checkNetworkMode(mode string) error {
	if len(mode) > 128 || !networkPattern.MatchString(mode) {
		return fmt.Errorf("%q is not a network (host, bridge, none, container:<name> or a network's name)", mode)
	}
	return nil
}

// expandHome replaces a leading "~/" (or a lone "~") with the home
// directory of the user mfbot runs as.
func expandHome(path string) (string, error) {
	if path != "~" && !strings.HasPrefix(path, "~/") {
		if strings.HasPrefix(path, "~") {
			return "", fmt.Errorf("%q: only ~/ is expanded (the home directory of the user mfbot runs as): write another user's path in full", path)
		}
		return path, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot expand ~/: %w", err)
	}
	return filepath.Join(home, strings.TrimPrefix(path, "~")), nil
}
