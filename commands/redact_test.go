package commands

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestRedactStandardPatterns(t *testing.T) {
	r, err := NewRedactor(nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, in, want string }{
		// JDBC and query strings.
		{"jdbc", "ENV_DB_URL=jdbc:postgresql://db:5432/monitorfishdb?user=postgres&password=s3cr3t",
			"ENV_DB_URL=jdbc:postgresql://db:5432/monitorfishdb?user=postgres&password=[REDACTED]"},
		{"jdbc then more params", "jdbc:postgresql://db:5432/monitorfishdb?password=s3cr3t&ssl=true",
			"jdbc:postgresql://db:5432/monitorfishdb?password=[REDACTED]&ssl=true"},
		{"jdbc in parentheses", "HikariPool-1 - Starting (url=jdbc:postgresql://db/x?user=a&password=p4ss)",
			"HikariPool-1 - Starting (url=jdbc:postgresql://db/x?user=a&password=[REDACTED])"},
		{"pwd in connection string", "Server=db;Database=x;Uid=sa;Pwd=Str0ng!;Encrypt=true",
			"Server=db;Database=x;Uid=sa;Pwd=[REDACTED];Encrypt=true"},
		{"pwd in query", "http://h/x?user=a&pwd=abc def", "http://h/x?user=a&pwd=[REDACTED] def"},
		{"passwd", "mysql://h/db?passwd=abc", "mysql://h/db?passwd=[REDACTED]"},
		{"password in quotes", `url is 'jdbc:postgresql://db/x?password=abc'`, `url is 'jdbc:postgresql://db/x?password=[REDACTED]'`},

		// URL credentials.
		{"postgres url", "MFBOT_STORE=postgres://mfbot:pa55@pg:5432/mfbot?sslmode=disable",
			"MFBOT_STORE=postgres://mfbot:[REDACTED]@pg:5432/mfbot?sslmode=disable"},
		{"https url", "fetching https://bob:x@example.org/file", "fetching https://bob:[REDACTED]@example.org/file"},
		{"jdbc url credentials", "jdbc:postgresql://user:pw@db:5432/monitorfishdb", "jdbc:postgresql://user:[REDACTED]@db:5432/monitorfishdb"},
		{"password with @", "redis://:p@ss@cache:6379", "redis://:[REDACTED]@cache:6379"},
		{"password with colon", "amqp://guest:a:b@rabbit/", "amqp://guest:[REDACTED]@rabbit/"},

		// Assignments.
		{"env", "DB_PASSWORD=hunter2", "DB_PASSWORD=[REDACTED]"},
		{"export", "export API_KEY=abc", "export API_KEY=[REDACTED]"},
		{"json", `{"client_secret": "abc", "client_id": "mfbot"}`, `{"client_secret": "[REDACTED]", "client_id": "mfbot"}`},
		{"json with escapes", `{"password":"a\"b c"}`, `{"password":"[REDACTED]"}`},
		{"yaml", "secret: abc", "secret: [REDACTED]"},
		{"yaml single quoted", "db_pass: 'a b c'", "db_pass: '[REDACTED]'"},
		{"token", "token=abc", "token=[REDACTED]"},
		{"spring property", "spring.datasource.password=abc", "spring.datasource.password=[REDACTED]"},
		{"java option", "-Dspring.datasource.password=abc -Xmx2g", "-Dspring.datasource.password=[REDACTED] -Xmx2g"},
		{"spaces around =", "password = abc", "password = [REDACTED]"},
		{"camel case", "apiKey=abc1 signingKey: xyz", "apiKey=[REDACTED] signingKey: [REDACTED]"},
		{"header", "X-Auth-Token: 0123456789", "X-Auth-Token: [REDACTED]"},
		{"aws", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG", "AWS_SECRET_ACCESS_KEY=[REDACTED]"},
		{"several", "user=bob password=x token=y", "user=bob password=[REDACTED] token=[REDACTED]"},
		{"db pwd", "DB_PWD=abc", "DB_PWD=[REDACTED]"},
		{"credentials object", `"credentials": {"password":"x"}`, `"credentials": {"password":"[REDACTED]"}`},
		{"go assignment", `apiToken := "abc"`, `apiToken := "[REDACTED]"`},

		// Slack tokens.
		{"xoxb", "SLACK_BOT_TOKEN=xoxb-1234567890-0987654321-AbCdEfGhIjKl", "SLACK_BOT_TOKEN=[REDACTED]"},
		{"xoxb in text", "using xoxb-1234567890-0987654321-AbCdEfGhIjKl now", "using [REDACTED] now"},
		{"xoxp", "xoxp-1-2-3-abc", "[REDACTED]"},
		{"xoxa xoxo xoxs xoxr", "xoxa-2-x xoxo-1 xoxs-aa xoxr-bb", "[REDACTED] [REDACTED] [REDACTED] [REDACTED]"},
		{"xoxe rotating", "refresh xoxe.xoxp-1-Mi0yLTM and xoxe-1-My0xLTI", "refresh [REDACTED] and [REDACTED]"},
		{"xapp", "app token xapp-1-A0123456789-1234567890123-abcdef0123456789", "app token [REDACTED]"},

		// Authorization and bearer tokens.
		{"authorization bearer", "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abc123",
			"Authorization: Bearer [REDACTED]"},
		{"authorization basic", "Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic [REDACTED]"},
		{"authorization lower case", "authorization: bearer abc", "authorization: bearer [REDACTED]"},
		{"authorization without scheme", "Authorization: abc123", "Authorization: [REDACTED]"},
		{"authorization json", `{"headers":{"Authorization":"Bearer abc.def"}}`, `{"headers":{"Authorization":"Bearer [REDACTED]"}}`},
		{"curl header", `curl -H "Authorization: Bearer abc.def.ghi" https://x`, `curl -H "Authorization: Bearer [REDACTED]" https://x`},
		{"bearer alone", "calling with bearer abc.def.ghi", "calling with bearer [REDACTED]"},
		{"bearer jwt", "Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJtZiJ9.c2lnbmF0dXJl", "Bearer [REDACTED]"},
		{"jwt alone", "id=eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJtZiJ9.c2lnbmF0dXJl", "id=[REDACTED]"},
		{"basic credentials alone", "sending Basic dXNlcjpwYXNzd29yZA== upstream", "sending Basic [REDACTED] upstream"},

		// Private keys.
		{"pem", "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1\nabcd\n-----END RSA PRIVATE KEY-----\ndone",
			"key:\n[REDACTED PRIVATE KEY]\ndone"},
		{"pem unterminated", "x -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\nkqhkiG9w0BAQEFAAS", "x [REDACTED PRIVATE KEY]"},
		{"pem openssh", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n-----END OPENSSH PRIVATE KEY-----", "[REDACTED PRIVATE KEY]"},
		{"pem escaped in json", `{"message":"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI\n-----END EC PRIVATE KEY-----\n"}`,
			`{"message":"[REDACTED PRIVATE KEY]\n"}`},
		{"two pems", "-----BEGIN PRIVATE KEY-----\na\n-----END PRIVATE KEY-----\nok\n-----BEGIN PRIVATE KEY-----\nb\n-----END PRIVATE KEY-----",
			"[REDACTED PRIVATE KEY]\nok\n[REDACTED PRIVATE KEY]"},
		{"public key stays", "-----BEGIN PUBLIC KEY-----\nMIIBIjANBg\n-----END PUBLIC KEY-----", "-----BEGIN PUBLIC KEY-----\nMIIBIjANBg\n-----END PUBLIC KEY-----"},

		// JSON log lines (log4j2 JsonLayout).
		{"log4j2 password", `{"instant":{"epochSecond":1714557600},"level":"ERROR","loggerName":"com.zaxxer.hikari.pool.HikariPool","message":"Connection to jdbc:postgresql://db:5432/monitorfishdb?user=postgres&password=s3cr3t refused"}`,
			`{"instant":{"epochSecond":1714557600},"level":"ERROR","loggerName":"com.zaxxer.hikari.pool.HikariPool","message":"Connection to jdbc:postgresql://db:5432/monitorfishdb?user=postgres&password=[REDACTED] refused"}`},
		{"log4j2 message password=", `{"level":"WARN","message":"login failed password=hunter2","thread":"main"}`,
			`{"level":"WARN","message":"login failed password=[REDACTED]","thread":"main"}`},
		{"log4j2 password at end of message", `{"message":"password=hunter2"}`, `{"message":"password=[REDACTED]"}`},
		{"log4j2 nested json", `{"message":"body {\"password\":\"hunter2\",\"user\":\"bob\"}"}`,
			`{"message":"body {\"password\":\"[REDACTED]\",\"user\":\"bob\"}"}`},
		{"log4j2 bearer", `{"message":"GET /api/v1/x Authorization: Bearer abc.def.ghi","level":"DEBUG"}`,
			`{"message":"GET /api/v1/x Authorization: Bearer [REDACTED]","level":"DEBUG"}`},
		{"log4j2 url", `{"message":"connecting to postgres://u:p@db/x"}`, `{"message":"connecting to postgres://u:[REDACTED]@db/x"}`},
		{"log4j2 slack", `{"message":"token xoxb-1-2-3 rejected"}`, `{"message":"token [REDACTED] rejected"}`},
		{"log4j2 secret field", `{"message":"ok","secret":"abc"}`, `{"message":"ok","secret":"[REDACTED]"}`},

		// Left alone.
		{"innocuous key", "the key is in the table", "the key is in the table"},
		{"password reset", "password reset requested", "password reset requested"},
		{"token expired", "Token expired for user 42, please log in", "Token expired for user 42, please log in"},
		{"keyboard", "keyboard=fr", "keyboard=fr"},
		{"keycloak", "KEYCLOAK_URL=http://sso:8080", "KEYCLOAK_URL=http://sso:8080"},
		{"bypass", "bypass=true", "bypass=true"},
		{"pwd env", "PWD=/home/monitorfish", "PWD=/home/monitorfish"},
		{"spring text logger", "2024-05-01 12:00:00.123  INFO 1 --- [main] f.g.c.m.i.a.s.TokenFilter : Filter initialized",
			"2024-05-01 12:00:00.123  INFO 1 --- [main] f.g.c.m.i.a.s.TokenFilter : Filter initialized"},
		{"bearer word", "missing bearer authentication header", "missing bearer authentication header"},
		{"basic word", "basic configuration loaded", "basic configuration loaded"},
		{"url without password", "see https://user@example.org:443/a and http://host:8080/x@y", "see https://user@example.org:443/a and http://host:8080/x@y"},
		{"empty password", `{"password":""}`, `{"password":""}`},
		{"password empty query", "x?password=&a=b", "x?password=&a=b"},
		{"plain log", "Started MonitorFishApplicationKt in 12.3 seconds (JVM running for 13.1)", "Started MonitorFishApplicationKt in 12.3 seconds (JVM running for 13.1)"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.String(tt.in)
			if got != tt.want {
				t.Errorf("String(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if again := r.String(got); again != got {
				t.Errorf("not idempotent: String(%q) = %q", got, again)
			}
		})
	}
}

func TestRedactNilRedactorAppliesStandardPatterns(t *testing.T) {
	var r *Redactor
	if got := r.String("DB_PASSWORD=x"); got != "DB_PASSWORD=[REDACTED]" {
		t.Errorf("got %q", got)
	}
}

func TestRedactMultiLineText(t *testing.T) {
	r, _ := NewRedactor(nil)
	in := "line one\nDB_PASSWORD=x\r\nline three\n\npostgres://a:b@c\n"
	want := "line one\nDB_PASSWORD=[REDACTED]\r\nline three\n\npostgres://a:[REDACTED]@c\n"
	if got := r.String(in); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	clean := "line one\nline two\n"
	if got := r.String(clean); got != clean {
		t.Errorf("clean text changed: %q", got)
	}
}

func TestRedactExtraPatterns(t *testing.T) {
	r, err := NewRedactor([]string{
		`ssn=(\d{3}-\d{2}-\d{4})`, // a group: only the group goes
		`MF-[A-Z0-9]{8}`,          // no group: the whole match goes
		`x*`,                      // matches empty strings: must not insert markers everywhere
		`RED`,                     // matches inside our own marker: must not loop or nest
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		{"ssn=123-45-6789 ok", "ssn=[REDACTED] ok"},
		{"licence MF-ABCD1234 issued", "licence [REDACTED] issued"},
		{"nothing here", "nothing here"},
		{"RED alert", "[REDACTED] alert"},
		{"DB_PASSWORD=x", "DB_PASSWORD=[REDACTED]"},
		{"a\nMF-ABCD1234\nb", "a\n[REDACTED]\nb"},
	}
	for _, tt := range tests {
		got := r.String(tt.in)
		if got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if again := r.String(got); again != got {
			t.Errorf("not idempotent: String(%q) = %q", got, again)
		}
	}
}

func TestRedactBadExtraPattern(t *testing.T) {
	_, err := NewRedactor([]string{`ok`, `(unclosed`})
	if err == nil || !strings.Contains(err.Error(), "pattern 2") {
		t.Fatalf("want an error naming pattern 2, got %v", err)
	}
}

func TestRedactMaskEnv(t *testing.T) {
	tests := []struct{ in, want string }{
		{"DB_PASSWORD=x", "DB_PASSWORD=[REDACTED]"},
		{"API_KEY=abc", "API_KEY=[REDACTED]"},
		{"AWS_SECRET_ACCESS_KEY=abc", "AWS_SECRET_ACCESS_KEY=[REDACTED]"},
		{"SLACK_BOT_TOKEN=xoxb-1", "SLACK_BOT_TOKEN=[REDACTED]"},
		{"GOOGLE_APPLICATION_CREDENTIALS=/run/creds.json", "GOOGLE_APPLICATION_CREDENTIALS=[REDACTED]"},
		{"POSTGRES_PASSWD=x", "POSTGRES_PASSWD=[REDACTED]"},
		{"db_password=x=y", "db_password=[REDACTED]"},
		{"Slack_Signing_Secret=abc", "Slack_Signing_Secret=[REDACTED]"},
		{"DB_PASS=x", "DB_PASS=[REDACTED]"},
		{"PREFECT_API_AUTH_STRING=user:pass", "PREFECT_API_AUTH_STRING=[REDACTED]"},
		{"BASIC_AUTH=u:p", "BASIC_AUTH=[REDACTED]"},
		{"AUTHOR=Jane", "AUTHOR=Jane"},
		{"ENV_DB_URL=jdbc:postgresql://db:5432/monitorfishdb?user=u&password=p", "ENV_DB_URL=jdbc:postgresql://db:5432/monitorfishdb?user=u&password=p"},
		{"MONITORFISH_VERSION=v1.2.3", "MONITORFISH_VERSION=v1.2.3"},
		{"PWD=/app", "PWD=/app"},
		{"PATH=/usr/bin", "PATH=/usr/bin"},
		{"DB_PASSWORD=", "DB_PASSWORD="},
		{"NOVALUE", "NOVALUE"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := MaskEnv(tt.in); got != tt.want {
			t.Errorf("MaskEnv(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if again := MaskEnv(MaskEnv(tt.in)); again != MaskEnv(tt.in) {
			t.Errorf("MaskEnv not idempotent on %q", tt.in)
		}
	}
	// The caller's second pass catches the JDBC password.
	r, _ := NewRedactor(nil)
	if got := r.String(MaskEnv("ENV_DB_URL=jdbc:postgresql://db/x?user=u&password=p")); got != "ENV_DB_URL=jdbc:postgresql://db/x?user=u&password=[REDACTED]" {
		t.Errorf("got %q", got)
	}
}

func TestRedactLines(t *testing.T) {
	r, _ := NewRedactor(nil)
	stream := r.Lines()
	in := []string{
		"starting",
		"loaded -----BEGIN RSA PRIVATE KEY-----",
		"MIIEowIBAAKCAQEA1",
		"abcd",
		"-----END RSA PRIVATE KEY----- then password=x",
		"after",
		"-----BEGIN PRIVATE KEY----- a -----END PRIVATE KEY----- same line",
		"still visible",
		"-----BEGIN PRIVATE KEY-----",
		"-----END PRIVATE KEY-----",
		"end",
	}
	var got []string
	for _, line := range in {
		if out, keep := stream.Line(line); keep {
			got = append(got, out)
		}
	}
	want := []string{
		"starting",
		"loaded [REDACTED PRIVATE KEY]",
		" then password=[REDACTED]",
		"after",
		"[REDACTED PRIVATE KEY] same line",
		"still visible",
		"[REDACTED PRIVATE KEY]",
		"end",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// A --tail or --since window can open in the middle of a private key:
// its body lines come before any BEGIN.
func TestRedactLinesWindowOpensInsideAKey(t *testing.T) {
	r, _ := NewRedactor(nil)
	stream := r.Lines()
	in := []string{
		"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCfakeBURSTkey",
		"U2VjcmV0S2V5TWF0ZXJpYWxGb3JUZXN0c09ubHlOb3RBUmVhbEtleUJ1cnN0==",
		"-----END PRIVATE KEY----- then password=x",
		"after",
		"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=",
	}
	var got []string
	for _, line := range in {
		if out, keep := stream.Line(line); keep {
			got = append(got, out)
		}
	}
	want := []string{" then password=[REDACTED]", "after", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestRedactCleanLinesDoNotAllocate(t *testing.T) {
	r, _ := NewRedactor(nil)
	lines := []string{
		`2024-05-01 12:00:00.123  INFO 1 --- [nio-8880-exec-3] f.g.c.m.i.api.bff.VesselController       : GET /bff/v1/vessels/search?searchText=GUIL`,
		`{"instant":{"epochSecond":1714557600,"nanoOfSecond":123000000},"thread":"main","level":"INFO","loggerName":"fr.gouv.cnsp.monitorfish.MonitorFishApplicationKt","message":"Started in 12.3 seconds","endOfBatch":false}`,
	}
	for _, line := range lines {
		if allocs := testing.AllocsPerRun(100, func() { _ = r.String(line) }); allocs != 0 {
			t.Errorf("%d allocations for a clean line %q", int(allocs), line)
		}
	}
}

// FuzzRedact checks that redaction never panics and is idempotent.
func FuzzRedact(f *testing.F) {
	for _, seed := range []string{
		"DB_PASSWORD=hunter2",
		"jdbc:postgresql://db:5432/monitorfishdb?user=postgres&password=s3cr3t",
		"postgres://user:pa55@host/db",
		`{"client_secret": "abc"}`,
		`{"message":"body {\"password\":\"x\"}"}`,
		"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abc",
		"xoxb-1-2-3 xapp-1-2",
		"-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----",
		"-----BEGIN PRIVATE KEY-----\nabc",
		"Basic dXNlcjpwYXNz",
		"keyboard=fr",
		"a://b:password=x@c",
		"password=[REDACTED]x",
		"token: 'a",
		`secret="a\`,
	} {
		f.Add(seed)
	}
	r, err := NewRedactor([]string{`ssn=(\d+)`, `MF-[A-Z]+`})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		once := r.String(in)
		if twice := r.String(once); twice != once {
			t.Errorf("not idempotent:\n in    %q\n once  %q\n twice %q", in, once, twice)
		}
	})
}

// redactBenchLines builds n MonitorFish-like log lines, text and log4j2
// JSON, one in 50 holding a secret.
func redactBenchLines(n int) []string {
	text := []string{
		`2024-05-01 12:00:%02d.123  INFO 1 --- [nio-8880-exec-%d] f.g.c.m.i.api.bff.VesselController       : GET /bff/v1/vessels/search?searchText=GUIL%d`,
		`2024-05-01 12:00:%02d.456 DEBUG 1 --- [   scheduling-%d] f.g.c.m.d.u.GetAllCurrentReportings      : Found %d current reportings`,
		`2024-05-01 12:00:%02d.789  WARN 1 --- [nio-8880-exec-%d] o.h.engine.jdbc.spi.SqlExceptionHelper   : SQL Error: 0, SQLState: 57014 (%d)`,
		`2024-05-01 12:00:%02d.012 ERROR 1 --- [nio-8880-exec-%d] o.a.c.c.C.[.[.[/].[dispatcherServlet]    : Servlet.service() threw exception [Request processing failed] (%d)`,
	}
	json := []string{
		`{"instant":{"epochSecond":17145576%02d,"nanoOfSecond":123000000},"thread":"scheduling-%d","level":"INFO","loggerName":"fr.gouv.cnsp.monitorfish.domain.use_cases.alert.GetPendingAlerts","message":"Found %d pending alerts","endOfBatch":false,"loggerFqcn":"org.apache.logging.slf4j.Log4jLogger","threadId":42,"threadPriority":5}`,
		`{"instant":{"epochSecond":17145576%02d,"nanoOfSecond":456000000},"thread":"http-nio-8880-exec-%d","level":"INFO","loggerName":"fr.gouv.cnsp.monitorfish.infrastructure.api.bff.LogbookController","message":"GET /bff/v1/vessels/logbook/find?internalReferenceNumber=FRA000%d","endOfBatch":false,"threadId":57,"threadPriority":5}`,
		`{"instant":{"epochSecond":17145576%02d,"nanoOfSecond":789000000},"thread":"main","level":"WARN","loggerName":"com.zaxxer.hikari.pool.HikariPool","message":"HikariPool-%d - Thread starvation or clock leap detected (housekeeper delta=%ds).","endOfBatch":false}`,
	}
	secret := []string{
		`{"instant":{"epochSecond":17145576%02d},"thread":"main","level":"ERROR","loggerName":"com.zaxxer.hikari.pool.HikariPool","message":"HikariPool-%d - Exception during pool initialization: jdbc:postgresql://db:5432/monitorfishdb?user=postgres&password=s3cr3t%d"}`,
		`2024-05-01 12:00:%02d.123 DEBUG 1 --- [nio-8880-exec-%d] o.s.web.client.RestTemplate : HTTP GET with Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig%d`,
		`2024-05-01 12:00:%02d.123  INFO 1 --- [           main] f.g.c.m.config.DataSourceConfig : spring.datasource.password=hunter%d%d`,
	}
	lines := make([]string, n)
	for i := range lines {
		var format string
		switch {
		case i%50 == 49:
			format = secret[i/50%len(secret)]
		case i%2 == 0:
			format = text[i%len(text)]
		default:
			format = json[i%len(json)]
		}
		lines[i] = fmt.Sprintf(format, i%60, i%10, i)
	}
	return lines
}

func BenchmarkRedactLogLines(b *testing.B) {
	r, err := NewRedactor(nil)
	if err != nil {
		b.Fatal(err)
	}
	lines := redactBenchLines(5000)
	bytes := 0
	for _, line := range lines {
		bytes += len(line)
	}
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	for b.Loop() {
		for _, line := range lines {
			_ = r.String(line)
		}
	}
}

// BenchmarkRedactHintedLogLines is the worst ordinary case: every line
// holds a word that sends it past the pre-check (a logger named after keys,
// a URL, a PostgreSQL "duplicate key" error) without holding a secret.
func BenchmarkRedactHintedLogLines(b *testing.B) {
	r, err := NewRedactor(nil)
	if err != nil {
		b.Fatal(err)
	}
	formats := []string{
		`{"instant":{"epochSecond":17145576%02d},"thread":"http-nio-8880-exec-%d","level":"INFO","loggerName":"fr.gouv.cnsp.monitorfish.infrastructure.api.security.ApiKeyCheckFilter","message":"GET https://monitorfish.din.developpement-durable.gouv.fr/api/v1/vessels/%d"}`,
		`2024-05-01 12:00:%02d.123 ERROR 1 --- [nio-8880-exec-%d] o.h.engine.jdbc.spi.SqlExceptionHelper   : ERROR: duplicate key value violates unique constraint "reportings_pkey" Detail: Key (id)=(%d) already exists.`,
		`2024-05-01 12:00:%02d.456 DEBUG 1 --- [nio-8880-exec-%d] f.g.c.m.i.a.security.TokenFilter        : token check passed for request %d`,
	}
	lines := make([]string, 5000)
	bytes := 0
	for i := range lines {
		lines[i] = fmt.Sprintf(formats[i%len(formats)], i%60, i%10, i)
		bytes += len(lines[i])
	}
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	for b.Loop() {
		for _, line := range lines {
			_ = r.String(line)
		}
	}
}

func TestRedactBenchLinesAreRedacted(t *testing.T) {
	r, _ := NewRedactor(nil)
	redacted := 0
	for _, line := range redactBenchLines(5000) {
		out := r.String(line)
		if out != line {
			redacted++
		}
		for _, leak := range []string{"s3cr3t", "eyJzdWIi", "hunter"} {
			if strings.Contains(out, leak) {
				t.Fatalf("leak %q in %q", leak, out)
			}
		}
	}
	if redacted != 100 {
		t.Errorf("%d lines redacted, want 100 (2%%)", redacted)
	}
}
