package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Each check returns an error that says what is wrong with the value; the
// caller adds where the value came from (a YAML key or a variable).

// Bounded repetitions ({0,511}) compile into huge programs at start-up:
// lengths are checked separately instead.
var (
	namePattern         = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	channelIDPattern    = regexp.MustCompile(`^[CG][A-Z0-9]{1,31}$`)
	principalIDPattern  = regexp.MustCompile(`^[UWS][A-Z0-9]{1,31}$`)
	containerPattern    = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
	composeProjPattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	imageRefPattern     = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._/:@-]*$`)
	variableNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// maxPatternLength bounds the extra redaction patterns: they run on every
// line sent to Slack.
const maxPatternLength = 1000

func checkName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("invalid name %q: use lowercase letters, digits and dashes, starting with a letter, at most 32 characters", name)
	}
	if name == "all" {
		return errors.New(`"all" is reserved: it means every service`)
	}
	return nil
}

// checkEnvironmentName also refuses the command verbs: the environment is
// typed before the verb (/mf prod logs app), so "/mf logs …" would be ambiguous.
func checkEnvironmentName(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	switch name {
	case "help", "status", "ps", "logs", "restart", "stop", "start", "stats", "top", "events",
		"df", "inspect", "volumes", "version", "db", "health", "flows", "runs", "run", "flow",
		"pipeline", "mute", "unmute", "incidents", "audit":
		return fmt.Errorf("%q is a command: an environment cannot have that name", name)
	}
	return nil
}

func checkChannelID(id string) error {
	if strings.HasPrefix(id, "#") {
		return fmt.Errorf("%q is a channel name: use the channel ID (C… or G…, shown at the bottom of the channel details)", id)
	}
	if !channelIDPattern.MatchString(id) {
		return fmt.Errorf("%q is not a Slack channel ID (C… or G…)", id)
	}
	return nil
}

func checkPrincipalID(id string) error {
	if !principalIDPattern.MatchString(id) {
		return fmt.Errorf("%q is not a Slack user or user-group ID (U…, W… or S…, shown in the profile menu)", id)
	}
	return nil
}

func checkContainerName(name string) error {
	if len(name) > 128 || !containerPattern.MatchString(name) {
		return fmt.Errorf("%q is not a container name", name)
	}
	return nil
}

func checkComposeName(name string) error {
	if !composeProjPattern.MatchString(name) {
		return fmt.Errorf("%q is not a compose project name (lowercase letters, digits, - and _)", name)
	}
	return nil
}

func checkImageRef(ref string) error {
	if len(ref) > 512 || !imageRefPattern.MatchString(ref) {
		return fmt.Errorf("%q is not an image reference (e.g. ghcr.io/mtes-mct/monitorfish/monitorfish-app:v1.2.3)", ref)
	}
	return nil
}

func checkVariableName(name string) error {
	if len(name) > 128 || !variableNamePattern.MatchString(name) {
		return fmt.Errorf("%q is not an environment variable name", name)
	}
	return nil
}

func checkPattern(pattern string) error {
	if len(pattern) > maxPatternLength {
		return fmt.Errorf("pattern longer than %d characters", maxPatternLength)
	}
	if _, err := regexp.Compile(pattern); err != nil {
		return err
	}
	return nil
}

func checkHTTPAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		var n int
		n, err = strconv.Atoi(port)
		if err == nil && (n < 0 || n > 65535) {
			err = errors.New("port out of range")
		}
	}
	if err != nil {
		return fmt.Errorf("%q is not a listen address host:port (e.g. 127.0.0.1:8090 or :8090)", addr)
	}
	return nil
}

// checkStore accepts a file path or a postgres:// URL. The URL holds a
// password, so only ParseDatabaseURL's careful errors are returned.
func checkStore(store string) error {
	lower := strings.ToLower(store)
	switch {
	case store == "":
		return errors.New("empty: use a file path or a postgres:// URL")
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		_, err := ParseDatabaseURL(store)
		return err
	}
	if scheme, _, ok := strings.Cut(store, "://"); ok {
		if schemePattern.MatchString(scheme) {
			return fmt.Errorf("unsupported store URL scheme %q: use a file path or a postgres:// URL", scheme)
		}
		return errors.New("neither a file path nor a postgres:// URL")
	}
	return nil
}

// checkHTTPURL accepts an absolute http(s) URL with a host.
func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a URL: %w", urlProblem(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme must be http or https, got %q", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("missing host")
	}
	return nil
}

// urlProblem drops the input that net/url repeats in its errors: it may
// hold credentials.
func urlProblem(err error) error {
	if urlErr, ok := errors.AsType[*url.Error](err); ok {
		return urlErr.Err
	}
	return err
}

// checkDockerHost accepts what the Docker client accepts in DOCKER_HOST;
// "" leaves the client's default (the local socket).
func checkDockerHost(host string) error {
	if host == "" {
		return nil
	}
	const usage = "use unix:///var/run/docker.sock, tcp://host:2376, ssh://user@host or npipe:////./pipe/docker_engine"
	scheme, rest, ok := strings.Cut(host, "://")
	if !ok {
		return fmt.Errorf("not a Docker host URL: %s", usage)
	}
	switch scheme {
	case "unix", "npipe":
		if strings.Trim(rest, "/") == "" {
			return fmt.Errorf("missing socket path: %s", usage)
		}
	case "tcp", "ssh":
		u, err := url.Parse(host)
		if err != nil {
			return fmt.Errorf("not a Docker host URL: %w", urlProblem(err))
		}
		if u.Hostname() == "" {
			return fmt.Errorf("missing host: %s", usage)
		}
	default:
		return fmt.Errorf("unsupported scheme %q: %s", scheme, usage)
	}
	return nil
}

func checkPrefectFlavor(flavor string) error {
	if flavor != PrefectGraphQL && flavor != PrefectREST {
		return fmt.Errorf("%q is not a Prefect API flavor: use graphql (Prefect 1) or rest (Prefect 2/3)", flavor)
	}
	return nil
}

// checkPrefectAuthString checks PREFECT_SERVER_API_AUTH_STRING's form,
// "user:password", without quoting it.
func checkPrefectAuthString(s string) error {
	if user, _, ok := strings.Cut(s, ":"); !ok || user == "" {
		return errors.New(`not of the form "user:password"`)
	}
	return nil
}

// prefectFlavorOf tells the API flavor from the URL path, the way both
// Prefect generations publish it.
func prefectFlavorOf(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("not a URL: %w", urlProblem(err))
	}
	path := strings.TrimRight(u.Path, "/")
	switch {
	case strings.HasSuffix(path, "/graphql"):
		return PrefectGraphQL, nil
	case strings.HasSuffix(path, "/api"):
		return PrefectREST, nil
	}
	return "", errors.New("cannot tell the Prefect API from the URL: end it with /graphql (Prefect 1) or /api (Prefect 2/3)")
}

// slackTokenProblem recognizes the usual mix-ups between Slack token kinds
// without ever quoting the token.
func slackTokenProblem(token, wantPrefix, wantKind string) error {
	if strings.HasPrefix(token, wantPrefix) {
		return nil
	}
	kinds := map[string]string{
		"xoxb-": "a bot token (xoxb-)",
		"xapp-": "an app-level token (xapp-)",
		"xoxp-": "a user token (xoxp-)",
	}
	for prefix, kind := range kinds {
		if strings.HasPrefix(token, prefix) {
			return fmt.Errorf("this is %s, expected %s (%s…)", kind, wantKind, wantPrefix)
		}
	}
	return fmt.Errorf("not %s: it should start with %s", wantKind, wantPrefix)
}

// keyedError is a problem found after decoding, for the key it concerns.
type keyedError struct {
	key string
	err error
}

type namedDuration struct {
	key   string
	value time.Duration
}

func checkLimits(l Limits) []keyedError {
	var errs []keyedError
	add := func(key string, format string, args ...any) {
		errs = append(errs, keyedError{"limits." + key, fmt.Errorf(format, args...)})
	}
	if l.MaxTail < 1 || l.MaxTail > maxTailLimit {
		add("max_tail", "must be from 1 to %d, got %d", maxTailLimit, l.MaxTail)
	}
	if l.DefaultTail < 1 || l.DefaultTail > l.MaxTail {
		add("default_tail", "must be from 1 to max_tail (%d), got %d", l.MaxTail, l.DefaultTail)
	}
	if l.MaxSince <= 0 || l.MaxSince > maxSinceLimit {
		add("max_since", "must be more than 0 and at most 7d, got %s", formatDuration(l.MaxSince))
	}
	for _, c := range []namedDuration{
		{"command_timeout", l.CommandTimeout},
		{"restart_timeout", l.RestartTimeout},
		{"confirm_timeout", l.ConfirmTimeout},
	} {
		if c.value <= 0 {
			add(c.key, "must be more than 0")
		}
	}
	return errs
}

func checkAlerts(a Alerts) []keyedError {
	var errs []keyedError
	add := func(key string, format string, args ...any) {
		errs = append(errs, keyedError{"alerts." + key, fmt.Errorf(format, args...)})
	}
	if a.GroupWindow < 0 {
		add("group_window", "must be 0 (never group) or more, got %s", formatDuration(a.GroupWindow))
	}
	if a.CrashLoopRestarts < 2 {
		add("crash_loop_restarts", "must be at least 2, got %d", a.CrashLoopRestarts)
	}
	for _, c := range []namedDuration{
		{"crash_loop_window", a.CrashLoopWindow},
		{"stuck_run_after", a.StuckRunAfter},
		{"freshness.positions_received", a.PositionsReceived},
		{"freshness.positions_updated", a.PositionsUpdated},
		{"freshness.logbook_received", a.LogbookReceived},
	} {
		if c.value <= 0 {
			add(c.key, "must be more than 0")
		}
	}
	// Polls faster than a second would hammer the APIs they query.
	for _, c := range []namedDuration{
		{"update_interval", a.UpdateInterval},
		{"prefect_poll_interval", a.PrefectPoll},
		{"freshness.poll_interval", a.FreshnessPoll},
	} {
		if c.value < time.Second {
			add(c.key, "must be at least 1s, got %s", formatDuration(c.value))
		}
	}
	return errs
}

// formatDuration writes whole days the way they are typed (7d).
func formatDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return d.String()
}
