package config

import (
	"fmt"
	"maps"
	"net/url"
	"strings"
	"testing"
)

func TestParseDatabaseURL(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  Database
	}{
		{
			name:  "MonitorFish JDBC form",
			input: "jdbc:postgresql://db:5432/monitorfishdb?user=postgres&password=s3cr3t!",
			want:  Database{Host: "db", Port: 5432, Name: "monitorfishdb", User: "postgres", Password: "s3cr3t!"},
		},
		{
			name:  "JDBC without port gets 5432",
			input: "jdbc:postgresql://db/monitorfishdb?user=postgres&password=pw",
			want:  Database{Host: "db", Port: 5432, Name: "monitorfishdb", User: "postgres", Password: "pw"},
		},
		{
			name:  "JDBC percent-encoded password",
			input: "jdbc:postgresql://db:5432/monitorfishdb?user=postgres&password=p%26ss%3Dw%25rd",
			want:  Database{Host: "db", Port: 5432, Name: "monitorfishdb", User: "postgres", Password: "p&ss=w%rd"},
		},
		{
			name:  "JDBC properties translated, Java-only ones dropped",
			input: "jdbc:postgresql://db:5433/mf?user=u&password=p&ssl=true&ApplicationName=mfbot&currentSchema=public&prepareThreshold=0",
			want: Database{Host: "db", Port: 5433, Name: "mf", User: "u", Password: "p",
				Params: map[string]string{"sslmode": "verify-full", "application_name": "mfbot", "search_path": "public"}},
		},
		{
			name:  "JDBC sslmode wins over ssl",
			input: "jdbc:postgresql://db/mf?ssl=true&sslmode=require&user=u",
			want:  Database{Host: "db", Port: 5432, Name: "mf", User: "u", Params: map[string]string{"sslmode": "require"}},
		},
		{
			name:  "postgres URL",
			input: "postgres://mfbot:pw@db.example.org:6432/monitorfishdb?sslmode=require",
			want: Database{Host: "db.example.org", Port: 6432, Name: "monitorfishdb", User: "mfbot", Password: "pw",
				Params: map[string]string{"sslmode": "require"}},
		},
		{
			name:  "postgresql scheme, no password",
			input: "postgresql://mfbot@db/monitorfishdb",
			want:  Database{Host: "db", Port: 5432, Name: "monitorfishdb", User: "mfbot"},
		},
		{
			name:  "postgres URL escaped password",
			input: "postgres://mf%40bot:p%40ss%3Aw%2Ford%23@db:5432/monitorfishdb",
			want:  Database{Host: "db", Port: 5432, Name: "monitorfishdb", User: "mf@bot", Password: "p@ss:w/ord#"},
		},
		{
			name:  "postgres URL with user in the query",
			input: "postgres://db/monitorfishdb?user=mfbot&password=pw&connect_timeout=5",
			want: Database{Host: "db", Port: 5432, Name: "monitorfishdb", User: "mfbot", Password: "pw",
				Params: map[string]string{"connect_timeout": "5"}},
		},
		{
			name:  "IPv6 host",
			input: "postgres://u:p@[::1]:5432/mf",
			want:  Database{Host: "::1", Port: 5432, Name: "mf", User: "u", Password: "p"},
		},
		{
			name:  "scheme in capitals, surrounding spaces",
			input: "  JDBC:PostgreSQL://db/mf?user=u  ",
			want:  Database{Host: "db", Port: 5432, Name: "mf", User: "u"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDatabaseURL(tt.input)
			if err != nil {
				t.Fatalf("ParseDatabaseURL: %v", err)
			}
			if got.Host != tt.want.Host || got.Port != tt.want.Port || got.Name != tt.want.Name ||
				got.User != tt.want.User || got.Password.Reveal() != tt.want.Password.Reveal() ||
				!maps.Equal(got.Params, tt.want.Params) {
				t.Errorf("got  %+v (password %q, params %v)\nwant %+v (password %q, params %v)",
					got, got.Password.Reveal(), got.Params, tt.want, tt.want.Password.Reveal(), tt.want.Params)
			}
		})
	}
}

func TestParseDatabaseURLErrorsNeverShowThePassword(t *testing.T) {
	const password = "Hunter2xyz"
	tests := []struct {
		name    string
		input   string
		wantErr string
	}{
		{"missing database name", "jdbc:postgresql://db:5432?user=postgres&password=" + password, "malformed JDBC URL: missing database name"},
		{"empty database name", "jdbc:postgresql://db:5432/?user=postgres&password=" + password, "malformed JDBC URL: missing database name"},
		{"missing host", "jdbc:postgresql://:5432/db?user=postgres&password=" + password, "malformed JDBC URL: missing host"},
		{"bad port", "jdbc:postgresql://db:54x2/db?user=postgres&password=" + password, "malformed JDBC URL: invalid port"},
		{"port out of range", "postgres://u:" + password + "@db:70000/db", "malformed postgres URL: invalid port"},
		{"several hosts", "jdbc:postgresql://db1,db2/db?password=" + password, "several hosts are not supported"},
		{"mysql", "mysql://root:" + password + "@db/db", `unsupported database URL scheme "mysql"`},
		{"jdbc mysql", "jdbc:mysql://db/db?password=" + password, `unsupported database URL scheme "jdbc:mysql"`},
		{"jdbc without slashes", "jdbc:postgresql:db?password=" + password, "malformed JDBC URL: expected jdbc:postgresql://"},
		{"not a URL", "user=postgres password=" + password, "not a database URL"},
		{"password alone", password, "not a database URL"},
		{"bad escape in query password", "jdbc:postgresql://db/db?user=u&password=" + password + "%zz", "invalid percent-encoding in the password"},
		{"bad escape in userinfo password", "postgres://u:" + password + "%g1@db/db", "invalid percent-encoding in the password"},
		{"unescaped slash in password", "postgres://u:Hunter/2xyz@db/db", "malformed postgres URL: @ after the host: percent-encode / ? # in the password (%2F %3F %23)"},
		{"unescaped slash and query in password", "postgresql://u:/x?a=Hunter2xyz@h:5432/db?sslmode=require", "@ after the host"},
		{"unescaped ? in password", "postgres://u:?Hunter2xyz@h/db", "@ after the host"},
		{"password read as a parameter without a name", "postgres://h/db?=Hunter2xyz", "query parameter without a name"},
		{"password read as a parameter name", "jdbc:postgresql://h/db?user=u&password=a&Hunter:2xyz=1", "invalid character in a query parameter name"},
		{"unescaped ampersand in password", "jdbc:postgresql://db/db?user=u&password=Hunter&2xyz", "query parameter without ="},
		{"unescaped # and space in password", "postgres://u:Hunter 2xyz#@db/db", ""},
		{"IPv6 without brackets", "postgres://u:" + password + "@::1:5432/db", "IPv6 address must be written in brackets"},
		{"path after database", "postgres://u:" + password + "@db/db/extra", "unexpected / after the database name"},
		{"bad sslmode", "postgres://u:" + password + "@db/db?sslmode=always", `sslmode "always" is not one of`},
		{"empty", "", "not a database URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDatabaseURL(tt.input)
			if tt.wantErr == "" {
				// Accepted or refused: either way no password in the message.
				if err != nil && (strings.Contains(err.Error(), "Hunter") || strings.Contains(err.Error(), "2xyz")) {
					t.Fatalf("error shows the password: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseDatabaseURL(…) = nil error, want %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
			for _, piece := range []string{password, "Hunter", "2xyz"} {
				if strings.Contains(err.Error(), piece) {
					t.Errorf("error %q shows (part of) the password", err)
				}
			}
		})
	}
}

func TestDatabaseConnStringAndString(t *testing.T) {
	db := Database{Host: "db", Port: 5432, Name: "monitor fish", User: "mf@bot", Password: "p@ss:w/ord#?&%",
		Params: map[string]string{"sslmode": "require", "sslpassword": "keypass"}}

	conn := db.ConnString()
	u, err := url.Parse(conn)
	if err != nil {
		t.Fatalf("ConnString is not a URL: %v", err)
	}
	password, _ := u.User.Password()
	if u.Scheme != "postgres" || u.Host != "db:5432" || u.Path != "/monitor fish" ||
		u.User.Username() != "mf@bot" || password != "p@ss:w/ord#?&%" ||
		u.Query().Get("sslmode") != "require" || u.Query().Get("sslpassword") != "keypass" {
		t.Errorf("ConnString %q does not round-trip: %+v", conn, u)
	}
	// The conn string parses back to the same database.
	back, err := ParseDatabaseURL(conn)
	if err != nil || back.Password.Reveal() != db.Password.Reveal() || back.User != db.User || back.Name != db.Name {
		t.Errorf("ParseDatabaseURL(ConnString) = %+v, %v", back, err)
	}

	shown := db.String()
	want := "postgres://mf%40bot:[REDACTED]@db:5432/monitor%20fish?sslmode=require&sslpassword=[REDACTED]"
	if shown != want {
		t.Errorf("String() = %q, want %q", shown, want)
	}
	for _, format := range []string{"%v", "%s", "%+v", "%#v"} {
		for _, arg := range []any{db, &db, struct{ DB *Database }{&db}} {
			if out := fmt.Sprintf(format, arg); strings.Contains(out, "p@ss") || strings.Contains(out, "keypass") {
				t.Errorf("Sprintf(%q) shows a password: %q", format, out)
			}
		}
	}

	noPassword := Database{Host: "::1", Port: 5432, Name: "db", User: "u"}
	if got := noPassword.String(); got != "postgres://u@[::1]:5432/db" {
		t.Errorf("String() without password = %q", got)
	}
	if got := noPassword.ConnString(); got != "postgres://u@[::1]:5432/db" {
		t.Errorf("ConnString() without password = %q", got)
	}
}
