package commands

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// redactNoSecretText is a 10,000-line text of MonitorFish log lines, Spring
// text and log4j2 JSON, without any secret: what `logs --tail 10000` shows
// and the transports redact once more before sending it. One line in
// hintEvery holds a word that sends it past the pre-check (a URL, a
// "duplicate key" error, a filter named after tokens); 0: none does.
func redactNoSecretText(hintEvery int) string {
	clean := []string{
		`2024-05-01 12:00:%02d.123  INFO 1 --- [nio-8880-exec-%d] f.g.c.m.i.api.bff.VesselController       : GET /bff/v1/vessels/search?searchText=GUIL%d`,
		`2024-05-01 12:00:%02d.456 DEBUG 1 --- [   scheduling-%d] f.g.c.m.d.u.GetAllCurrentReportings      : Found %d current reportings`,
		`{"instant":{"epochSecond":17145576%02d,"nanoOfSecond":123000000},"thread":"scheduling-%d","level":"INFO","loggerName":"fr.gouv.cnsp.monitorfish.domain.use_cases.alert.GetPendingAlerts","message":"Found %d pending alerts","endOfBatch":false,"loggerFqcn":"org.apache.logging.slf4j.Log4jLogger","threadId":42,"threadPriority":5}`,
		`2024-05-01 12:00:%02d.789  WARN 1 --- [nio-8880-exec-%d] o.h.engine.jdbc.spi.SqlExceptionHelper   : SQL Error: 0, SQLState: 57014 (%d)`,
		`{"instant":{"epochSecond":17145576%02d,"nanoOfSecond":456000000},"thread":"http-nio-8880-exec-%d","level":"INFO","loggerName":"fr.gouv.cnsp.monitorfish.infrastructure.api.bff.LogbookController","message":"GET /bff/v1/vessels/logbook/find?internalReferenceNumber=FRA000%d","endOfBatch":false,"threadId":57,"threadPriority":5}`,
		`2024-05-01 12:00:%02d.012 ERROR 1 --- [nio-8880-exec-%d] o.a.c.c.C.[.[.[/].[dispatcherServlet]    : Servlet.service() threw exception [Request processing failed] (%d)`,
		`{"instant":{"epochSecond":17145576%02d,"nanoOfSecond":789000000},"thread":"main","level":"WARN","loggerName":"com.zaxxer.hikari.pool.HikariPool","message":"HikariPool-%d - Thread starvation or clock leap detected (housekeeper delta=%ds).","endOfBatch":false}`,
		`2024-05-01 12:00:%02d.345  INFO 1 --- [   scheduling-%d] f.g.c.m.d.u.p.GetLastPositions           : bench line %d: Found 42 last positions for vessel FAK000000042`,
	}
	hinted := []string{
		`{"instant":{"epochSecond":17145576%02d},"thread":"http-nio-8880-exec-%d","level":"INFO","loggerName":"fr.gouv.cnsp.monitorfish.infrastructure.api.security.ApiKeyCheckFilter","message":"GET https://monitorfish.din.developpement-durable.gouv.fr/api/v1/vessels/%d"}`,
		`2024-05-01 12:00:%02d.123 ERROR 1 --- [nio-8880-exec-%d] o.h.engine.jdbc.spi.SqlExceptionHelper   : ERROR: duplicate key value violates unique constraint "reportings_pkey" Detail: Key (id)=(%d) already exists.`,
		`2024-05-01 12:00:%02d.456 DEBUG 1 --- [nio-8880-exec-%d] f.g.c.m.i.a.security.TokenFilter        : token check passed for request %d`,
	}
	lines := make([]string, 10000)
	for i := range lines {
		format := clean[i%len(clean)]
		if hintEvery > 0 && i%hintEvery == hintEvery-1 {
			format = hinted[i/hintEvery%len(hinted)]
		}
		lines[i] = fmt.Sprintf(format, i%60, i%10, i)
	}
	return strings.Join(lines, "\n")
}

// BenchmarkRedactStringNoSecrets is Redactor.String over the whole text of a
// 10,000-line --tail without secrets, as every transport runs it on what
// it sends: the fast path must stay far below a microsecond a line.
func BenchmarkRedactStringNoSecrets(b *testing.B) {
	for _, bench := range []struct {
		name      string
		hintEvery int
		extra     []string
	}{
		{"clean", 0, nil},
		{"hinted-1in20", 20, nil},
		{"clean-extra-literal-pattern", 0, []string{`api_key=[A-Za-z0-9]+`}},
		{"clean-extra-patterns", 0, []string{`api_key=[A-Za-z0-9]+`, `(?i)authorization: \S+`}},
	} {
		b.Run(bench.name, func(b *testing.B) {
			r, err := NewRedactor(bench.extra)
			if err != nil {
				b.Fatal(err)
			}
			text := redactNoSecretText(bench.hintEvery)
			if r.String(text) != text {
				b.Fatal("the text holds a secret")
			}
			lines := strings.Count(text, "\n") + 1
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				_ = r.String(text)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(lines), "ns/line")
		})
	}
}

// BenchmarkRedactLineStream is LineRedactor.Line over the 10,000 lines of a
// --tail, the per-line work of `logs`.
func BenchmarkRedactLineStream(b *testing.B) {
	r, err := NewRedactor(nil)
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.Split(redactNoSecretText(20), "\n")
	b.ReportAllocs()
	for b.Loop() {
		stream := r.Lines()
		for _, line := range lines {
			_, _ = stream.Line(line)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(lines)), "ns/line")
}

// Redacting twice, as the transports do after the catalogue, changes
// nothing more, whether or not the text held secrets.
func TestRedactStringTwiceOnLogText(t *testing.T) {
	r, _ := NewRedactor([]string{`api_key=[A-Za-z0-9]+`})
	texts := []string{redactNoSecretText(0), redactNoSecretText(20), strings.Join(redactBenchLines(5000), "\n")}
	for _, text := range texts {
		once := r.String(text)
		if twice := r.String(once); twice != once {
			t.Error("a second pass changed the text")
		}
		// Line by line and on the whole text, the result is the same.
		var lines []string
		for _, line := range strings.Split(text, "\n") {
			lines = append(lines, r.String(line))
		}
		if strings.Join(lines, "\n") != once {
			t.Error("redacting the whole text differs from redacting each line")
		}
	}
}

// redactNextHint and redactScanHints, which skip 8 bytes at a time, find
// every hint that redactHintAt sees, at the same place.
func TestRedactNextHintFindsEveryHint(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	words := []string{"password", "passwd", "pwd", "secret", "token", "key", "credentials", "://", "xoxb-", "xapp-", "bearer", "basic",
		"-----BEGIN", "-----END", "authorization", "eyJ", "a", "-", ":", "x", "/", " ", "\n"}
	for range 100000 {
		var b strings.Builder
		for n := r.Intn(12); n > 0; n-- {
			word := []byte(words[r.Intn(len(words))])
			for i := range word {
				if r.Intn(2) == 0 && 'a' <= word[i] && word[i] <= 'z' {
					word[i] -= 'a' - 'A'
				}
			}
			if r.Intn(4) == 0 && len(word) > 1 {
				word = word[:1+r.Intn(len(word)-1)] // cut short: no hint
			}
			b.Write(word)
			b.WriteString(strings.Repeat("z", r.Intn(10)))
		}
		s := b.String()
		var all redactHint
		first, firstHint := -1, redactHint(0)
		for i := 0; i+2 < len(s); i++ {
			if hint := redactHintAt(s, i); hint != 0 {
				if first < 0 {
					first, firstHint = i, hint
				}
				all |= hint
			}
		}
		if at, hint := redactNextHint(s, 0); at != first || hint != firstHint {
			t.Fatalf("redactNextHint(%q) = %d, %b; want %d, %b", s, at, hint, first, firstHint)
		}
		if got := redactScanHints(s); got != all {
			t.Fatalf("redactScanHints(%q) = %b, want %b", s, got, all)
		}
	}
}

func TestRedactRequiredLiteral(t *testing.T) {
	tests := []struct {
		pattern, literal string
		fold             bool
	}{
		{`api_key=[A-Za-z0-9]+`, "api_key=", false},
		{`(?i)authorization: \S+`, "authorization: ", true},
		{`ssn=(\d+)`, "ssn=", false},
		{`(secret-\d+)`, "secret-", false},
		{`(?i)token=\w+`, "en=", true}, // k could be the Kelvin sign
		{`(?i)password`, "word", true}, // s could be the long s
		{`(?i)éclair`, "clair", true},  // é could be É
		{`(ab)+cdef`, "cdef", false},
		{`x{2,}yz`, "yz", false},
		{`(ab|cd)ef`, "ef", false},
		{`abc|abd`, "ab", false}, // the parser factors the common prefix out
		{`a*b?`, "", false},
		{`(?i)a(?-i)B`, "", false},
		{`\x{FFFD}ab`, "ab", false}, // U+FFFD matches any invalid byte
		{`MF-[A-Z]+`, "MF-", false},
		{`[`, "", false},
	}
	for _, tt := range tests {
		if literal, fold := redactRequiredLiteral(tt.pattern); literal != tt.literal || fold != tt.fold {
			t.Errorf("redactRequiredLiteral(%q) = %q, %t; want %q, %t", tt.pattern, literal, fold, tt.literal, tt.fold)
		}
	}
}

func TestRedactContainsLiteral(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	const alphabet = "aAbBzZ:= _x\n"
	for range 100000 {
		s := make([]byte, r.Intn(30))
		for i := range s {
			s[i] = alphabet[r.Intn(len(alphabet))]
		}
		literal := []byte{"abz:= x"[r.Intn(7)], "abz:= x"[r.Intn(7)]}
		if r.Intn(2) == 0 {
			literal = append(literal, 'z')
		}
		want := strings.Contains(strings.ToLower(string(s)), string(literal))
		if got := redactContainsLiteral(string(s), string(literal), true); got != want {
			t.Fatalf("redactContainsLiteral(%q, %q, fold) = %t", s, literal, got)
		}
		want = strings.Contains(string(s), string(literal))
		if got := redactContainsLiteral(string(s), string(literal), false); got != want {
			t.Fatalf("redactContainsLiteral(%q, %q) = %t", s, literal, got)
		}
	}
}
