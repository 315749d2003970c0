package containers

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ReadEnvFile reads an env file as `docker run --env-file` does, a bare
// KEY taking lookup's value (mfbot's own environment: os.LookupEnv).
func ReadEnvFile(path string, lookup func(string) (string, bool)) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read env file: %w", err)
	}
	defer f.Close()
	return ParseEnvFile(path, f, lookup)
}

// ParseEnvFile parses KEY=VALUE lines the way the docker CLI does (its
// kvfile package): the line's leading whitespace is dropped, the rest is
// kept verbatim (quotes and trailing spaces are part of the value, as
// docker passes them to the container), blank and # lines are skipped, a
// bare KEY takes lookup's value or is left out when lookup has none. name
// is the file named in errors.
func ParseEnvFile(name string, r io.Reader, lookup func(string) (string, bool)) ([]string, error) {
	var env []string
	sc := bufio.NewScanner(r) // lines up to 64 KiB, like docker's
	for n := 1; sc.Scan(); n++ {
		raw := sc.Bytes()
		if n == 1 {
			raw = bytes.TrimPrefix(raw, []byte("\xEF\xBB\xBF")) // a BOM written by some editors
		}
		if !utf8.Valid(raw) {
			return nil, fmt.Errorf("env file %s, line %d: not valid UTF-8", name, n)
		}
		line := strings.TrimLeftFunc(string(raw), unicode.IsSpace)
		if line == "" || line[0] == '#' {
			continue
		}
		key, _, hasValue := strings.Cut(line, "=")
		if key == "" {
			// The line itself is not quoted: its value may be a secret.
			return nil, fmt.Errorf("env file %s, line %d: no variable name before '='", name, n)
		}
		if i := strings.IndexAny(key, " \t"); i >= 0 {
			// Only what comes before the blank is shown: a line without
			// '=' may be a value pasted alone.
			return nil, fmt.Errorf("env file %s, line %d: the variable name %q… contains whitespace", name, n, key[:i])
		}
		if hasValue {
			env = append(env, line)
		} else if v, ok := lookup(key); ok {
			env = append(env, key+"="+v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read env file %s: %w", name, err)
	}
	return env, nil
}
