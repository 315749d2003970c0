package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

const defaultPostgresPort = 5432

// Database is a PostgreSQL connection, read from the JDBC URL MonitorFish
// itself uses or from a postgres:// URL.
type Database struct {
	Host     string
	Port     int
	Name     string
	User     string
	Password Secret
	Params   map[string]string // libpq/pgx parameters (sslmode …); never user or password
}

// ParseDatabaseURL reads jdbc:postgresql://host[:port]/db?user=…&password=…
// and postgres:// or postgresql:// URLs (user:password@host:port/db?params).
//
// The password may be anywhere in the input, so errors never quote the
// input or any piece of it that could hold the password: they describe the
// problem in words only.
func ParseDatabaseURL(s string) (Database, error) {
	s = strings.TrimSpace(s)
	form, rest, err := splitDatabaseScheme(s)
	if err != nil {
		return Database{}, err
	}
	db, err := parseDatabaseParts(rest, form == "JDBC")
	if err != nil {
		return Database{}, fmt.Errorf("malformed %s URL: %w", form, err)
	}
	return db, nil
}

var (
	// schemePattern recognizes a URL scheme, including JDBC's two-part ones,
	// so that only a real scheme is quoted in an error.
	schemePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*(:[A-Za-z][A-Za-z0-9+.-]*)?$`)
	hostPattern   = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	// paramPattern is a libpq keyword, a pgjdbc property or a server
	// setting (custom ones have a dot): never an @, a : or a /.
	paramPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	ipv6Pattern  = regexp.MustCompile(`^[0-9A-Fa-f:.]+(%[A-Za-z0-9._~-]+)?$`)
)

// splitDatabaseScheme returns the form of s ("JDBC" or "postgres") and what
// follows its "//".
func splitDatabaseScheme(s string) (form, rest string, err error) {
	lower := strings.ToLower(s)
	for _, prefix := range []string{"postgres://", "postgresql://"} {
		if strings.HasPrefix(lower, prefix) {
			return "postgres", s[len(prefix):], nil
		}
	}
	const jdbcPrefix = "jdbc:postgresql://"
	if strings.HasPrefix(lower, jdbcPrefix) {
		return "JDBC", s[len(jdbcPrefix):], nil
	}
	if strings.HasPrefix(lower, "jdbc:postgresql:") {
		return "", "", errors.New("malformed JDBC URL: expected jdbc:postgresql://host[:port]/database?user=…&password=…")
	}
	if scheme, _, ok := strings.Cut(s, "://"); ok && schemePattern.MatchString(scheme) {
		return "", "", fmt.Errorf("unsupported database URL scheme %q: use jdbc:postgresql:// or postgres://", scheme)
	}
	return "", "", errors.New("not a database URL: expected jdbc:postgresql://host[:port]/database?user=…&password=… or postgres://user:password@host[:port]/database")
}

// parseDatabaseParts reads "[user[:password]@]host[:port]/database[?params]".
// It does not use net/url, whose errors quote the input.
func parseDatabaseParts(rest string, jdbc bool) (Database, error) {
	db := Database{Port: defaultPostgresPort}
	authority, afterAuthority := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, afterAuthority = rest[:i], rest[i:]
	}
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		if err := db.parseUserInfo(authority[:i]); err != nil {
			return Database{}, err
		}
		authority = authority[i+1:]
	} else if !jdbc && strings.Contains(afterAuthority, "@") {
		// "postgres://u:pa/ss@h/db": the / ended the host early, and the
		// rest would be read as a database name and parameters, password
		// included, which String would then print.
		return Database{}, errors.New("@ after the host: percent-encode / ? # in the password (%2F %3F %23) and @ in a parameter (%40)")
	}
	if err := db.parseHostPort(authority); err != nil {
		return Database{}, err
	}

	path, query, _ := strings.Cut(afterAuthority, "?")
	name, err := url.PathUnescape(strings.TrimPrefix(path, "/"))
	switch {
	case err != nil:
		return Database{}, errors.New("invalid percent-encoding in the database name")
	case name == "":
		return Database{}, errors.New("missing database name")
	case strings.Contains(strings.TrimPrefix(path, "/"), "/"):
		return Database{}, errors.New("unexpected / after the database name")
	}
	db.Name = name

	if err := db.parseQuery(query, jdbc); err != nil {
		return Database{}, err
	}
	return db, nil
}

func (db *Database) parseUserInfo(userInfo string) error {
	user, password, hasPassword := strings.Cut(userInfo, ":")
	var err error
	if db.User, err = url.PathUnescape(user); err != nil {
		return errors.New("invalid percent-encoding in the user name")
	}
	if hasPassword {
		p, err := url.PathUnescape(password)
		if err != nil {
			return errors.New("invalid percent-encoding in the password (write % as %25)")
		}
		db.Password = Secret(p)
	}
	return nil
}

// parseHostPort reads "host", "host:port", "[v6]" or "[v6]:port". A
// misplaced password character can end up here, so nothing is quoted.
func (db *Database) parseHostPort(hostPort string) error {
	if strings.Contains(hostPort, ",") {
		return errors.New("several hosts are not supported")
	}
	host, port := hostPort, ""
	if strings.HasPrefix(hostPort, "[") {
		end := strings.Index(hostPort, "]")
		if end < 0 {
			return errors.New("missing ] after the IPv6 address")
		}
		host = hostPort[1:end]
		after := hostPort[end+1:]
		if after != "" {
			var ok bool
			if port, ok = strings.CutPrefix(after, ":"); !ok {
				return errors.New("unexpected characters after the IPv6 address")
			}
		}
		if !ipv6Pattern.MatchString(host) {
			return errors.New("invalid IPv6 address")
		}
	} else {
		if strings.Count(hostPort, ":") > 1 {
			return errors.New("an IPv6 address must be written in brackets: [::1]:5432")
		}
		host, port, _ = strings.Cut(hostPort, ":")
		if host != "" && !hostPattern.MatchString(host) {
			return errors.New("invalid character in the host name (is a character of the password not percent-encoded?)")
		}
	}
	if host == "" {
		return errors.New("missing host")
	}
	db.Host = host
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return errors.New("invalid port: expected a number from 1 to 65535")
		}
		db.Port = n
	}
	return nil
}

func (db *Database) parseQuery(query string, jdbc bool) error {
	params := map[string]string{}
	for part := range strings.SplitSeq(query, "&") {
		if part == "" {
			continue
		}
		rawKey, rawValue, ok := strings.Cut(part, "=")
		if !ok {
			return errors.New("query parameter without = (write & inside a value as %26)")
		}
		key, err := url.QueryUnescape(rawKey)
		switch {
		case err != nil:
			return errors.New("invalid percent-encoding in a query parameter name")
		case key == "":
			return errors.New("query parameter without a name (write & inside a value as %26)")
		case !paramPattern.MatchString(key):
			return errors.New("invalid character in a query parameter name (is a character of the password not percent-encoded?)")
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			if key == "password" {
				return errors.New("invalid percent-encoding in the password (write % as %25)")
			}
			return errors.New("invalid percent-encoding in a query parameter value")
		}
		switch key {
		case "user":
			db.User = value
		case "password":
			db.Password = Secret(value)
		default:
			params[key] = value
		}
	}
	if jdbc {
		params = libpqParamsFromJDBC(params)
	}
	if mode, ok := params["sslmode"]; ok && !isSSLMode(mode) {
		return fmt.Errorf("sslmode %q is not one of disable, allow, prefer, require, verify-ca, verify-full", mode)
	}
	if len(params) > 0 {
		db.Params = params
	}
	return nil
}

func isSSLMode(mode string) bool {
	switch mode {
	case "disable", "allow", "prefer", "require", "verify-ca", "verify-full":
		return true
	}
	return false
}

// libpqParamsFromJDBC translates pgjdbc properties to their libpq names.
// Properties that only tune the Java driver (prepareThreshold …) are
// dropped: passed on, pgx would send them to the server, which refuses them.
func libpqParamsFromJDBC(jdbcParams map[string]string) map[string]string {
	names := map[string]string{
		"sslmode":         "sslmode",
		"sslcert":         "sslcert",
		"sslkey":          "sslkey",
		"sslrootcert":     "sslrootcert",
		"sslpassword":     "sslpassword",
		"ApplicationName": "application_name",
		"connectTimeout":  "connect_timeout",
		"currentSchema":   "search_path",
		"options":         "options",
	}
	params := map[string]string{}
	for jdbcName, value := range jdbcParams {
		if name, ok := names[jdbcName]; ok {
			params[name] = value
		}
	}
	// pgjdbc's ssl=true without sslmode means verify-full.
	if _, ok := params["sslmode"]; !ok {
		switch strings.ToLower(jdbcParams["ssl"]) {
		case "true":
			params["sslmode"] = "verify-full"
		case "false":
			params["sslmode"] = "disable"
		}
	}
	return params
}

// ConnString is a postgres:// URL for pgx, password included: give it to
// the driver only, never to a log or a message (String is for those).
func (d Database) ConnString() string {
	u := d.url()
	if d.User != "" || d.Password != "" {
		if d.Password != "" {
			u.User = url.UserPassword(d.User, d.Password.Reveal())
		} else {
			u.User = url.User(d.User)
		}
	}
	query := url.Values{}
	for k, v := range d.Params {
		query.Set(k, v)
	}
	u.RawQuery = query.Encode()
	return u.String()
}

// String is the connection URL with the password replaced by [REDACTED].
func (d Database) String() string {
	u := d.url()
	s := u.String()
	if d.User != "" || d.Password != "" {
		userInfo := url.User(d.User).String()
		if d.Password != "" {
			userInfo += ":" + redacted
		}
		s = "postgres://" + userInfo + "@" + strings.TrimPrefix(s, "postgres://")
	}
	keys := make([]string, 0, len(d.Params))
	for k := range d.Params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		value := url.QueryEscape(d.Params[k])
		if strings.Contains(strings.ToLower(k), "password") {
			value = redacted
		}
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		s += sep + url.QueryEscape(k) + "=" + value
	}
	return s
}

// GoString makes %#v print String too: Params may hold an sslpassword.
func (d Database) GoString() string { return d.String() }

// url is the connection URL without credentials nor parameters.
func (d Database) url() url.URL {
	port := d.Port
	if port == 0 {
		port = defaultPostgresPort
	}
	return url.URL{
		Scheme: "postgres",
		Host:   net.JoinHostPort(d.Host, strconv.Itoa(port)),
		Path:   "/" + d.Name,
	}
}
