package commands

import (
	"strings"
	"testing"
)

// redactFuzzForm is one secret form of redact_test.go: the secret, made of
// the characters its rule captures, goes between before and after.
type redactFuzzForm struct {
	name          string
	before, after string
	charset       string
	// multiline forms are embedded on lines of their own.
	multiline bool
}

const (
	redactFuzzAlnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	// A URL's password runs from the user's colon to the authority's last @.
	redactFuzzURLChars = redactFuzzAlnum + "._~!$*+,;=:@-%"
	// A bare assigned value ends at blanks, quotes, & ; ).
	redactFuzzBareChars = redactFuzzAlnum + "._~!$*+,:=/@#%-"
	// Slack tokens: [A-Za-z0-9-]+ after the prefix.
	redactFuzzSlackChars = redactFuzzAlnum + "-"
	// An Authorization header's credential: [^\s"',;\\]+.
	redactFuzzHeaderChars = redactFuzzAlnum + "._~+/=-!#$%*:@"
	// A bearer token outside a header: [A-Za-z0-9._~+/-]+.
	redactFuzzBearerChars = redactFuzzAlnum + "._~+/-"
	redactFuzzBase64Chars = redactFuzzAlnum + "+/"
)

var redactFuzzForms = []redactFuzzForm{
	{name: "postgres url", before: "postgres://mfbot:", after: "@db:5432/mfbot?sslmode=disable", charset: redactFuzzURLChars},
	{name: "https url", before: "fetching https://bob:", after: "@example.org/file", charset: redactFuzzURLChars},
	{name: "jdbc password", before: "jdbc:postgresql://db:5432/monitorfishdb?user=postgres&password=", after: "&ssl=true", charset: redactFuzzBareChars},
	{name: "PASSWORD=", before: "DB_PASSWORD=", charset: redactFuzzBareChars},
	{name: "SECRET=", before: "export SLACK_SIGNING_SECRET=", charset: redactFuzzBareChars},
	{name: "TOKEN=", before: "API_TOKEN=", charset: redactFuzzBareChars},
	{name: "KEY=", before: "AWS_ACCESS_KEY=", charset: redactFuzzBareChars},
	{name: "json secret", before: `{"client_secret": "`, after: `", "client_id": "mfbot"}`, charset: redactFuzzBareChars + " "},
	{name: "xoxb", before: "using xoxb-", after: " now", charset: redactFuzzSlackChars},
	{name: "xapp", before: "app token xapp-", charset: redactFuzzSlackChars},
	{name: "authorization", before: "Authorization: Bearer ", charset: redactFuzzHeaderChars},
	{name: "bearer", before: "calling with bearer 0", charset: redactFuzzBearerChars},
	{name: "private key", before: "-----BEGIN RSA PRIVATE KEY-----\nMIIE", after: "\n-----END RSA PRIVATE KEY-----", charset: redactFuzzBase64Chars, multiline: true},
}

// redactFuzzSecret maps fuzzed bytes onto charset (at most 200 of them).
func redactFuzzSecret(raw []byte, charset string) string {
	raw = raw[:min(len(raw), 200)]
	b := make([]byte, len(raw))
	for i, c := range raw {
		b[i] = charset[int(c)%len(charset)]
	}
	return string(b)
}

// redactFuzzMarkers counts the bytes a redaction may add: each marker
// replaces at least one byte.
func redactFuzzMarkers(s string) int {
	return strings.Count(s, Redacted)*(len(Redacted)-1) + strings.Count(s, RedactedPrivateKey)*(len(RedactedPrivateKey)-1)
}

// redactFuzzCheckGrowth: redaction only replaces non-empty spans by markers,
// and redacting again does not make the text longer.
func redactFuzzCheckGrowth(t *testing.T, r *Redactor, in, out string) {
	t.Helper()
	if added := redactFuzzMarkers(out) - redactFuzzMarkers(in); len(out) > len(in)+max(added, 0) {
		t.Fatalf("redaction grew the text by %d bytes with %d bytes of new markers:\n in  %q\n out %q", len(out)-len(in), added, in, out)
	}
	if again := r.String(out); len(again) > len(out) {
		t.Fatalf("redacting again grew the text:\n in    %q\n once  %q\n twice %q", in, out, again)
	}
}

// redactFuzzLines runs text through a LineRedactor, line by line.
func redactFuzzLines(r *Redactor, text string) string {
	lines := r.Lines()
	var kept []string
	for line := range strings.SplitSeq(text, "\n") {
		if out, keep := lines.Line(line); keep {
			kept = append(kept, out)
		}
	}
	return strings.Join(kept, "\n")
}

// FuzzRedactSecrets: a secret of each standard form, of 8 bytes or more and
// made of the characters its rule captures, never survives redaction
// (String, and a LineRedactor fed the lines), whatever text surrounds it on
// its line and around it; the redactor never panics on any text, and only
// ever replaces spans by markers, so the text grows by at most a marker's
// length per redaction.
func FuzzRedactSecrets(f *testing.F) {
	for _, seed := range []struct {
		before, after string
		secret        []byte
	}{
		{"2025-03-14 ERROR", "refused", []byte("s3cr3t-hunter2")},
		{`{"message":"`, `"}`, []byte("pa55w0rd!pa55w0rd")},
		{"password=", "&a=b", []byte("0123456789abcdef")},
		{"-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", []byte("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC")},
		{"Authorization:", "Basic dXNlcjpwYXNzd29yZA==", []byte("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abc")},
		{"[REDACTED", "REDACTED]", []byte{0, 255, 128, 64, 32, 16, 8, 4, 2, 1}},
		{"a://b:c@", "xoxb-", []byte("@@@@::::@@@@::::")},
		{"token: '", `\"`, []byte("abcdefgh")},
		{"\n\n", "\r\n", []byte("\x00\x01\x02\x03\x04\x05\x06\x07")},
	} {
		f.Add(seed.before, seed.secret, seed.after)
	}
	r, err := NewRedactor(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, before string, raw []byte, after string) {
		// Any text: no panic, bounded growth.
		for _, text := range []string{before, after, before + string(raw) + after} {
			out := r.String(text)
			redactFuzzCheckGrowth(t, r, text, out)
			redactFuzzLines(r, text)
		}
		for _, form := range redactFuzzForms {
			secret := redactFuzzSecret(raw, form.charset)
			if len(secret) < 8 {
				continue
			}
			embedded := form.before + secret + form.after
			// On a line of its own between the fuzzed text, and on the same
			// line as it, blanks apart.
			texts := []string{before + "\n" + embedded + "\n" + after}
			if !form.multiline {
				texts = append(texts, before+"\n"+redactFuzzOneLine(before)+" "+embedded+" "+redactFuzzOneLine(after)+"\n"+after)
			}
			for _, text := range texts {
				out := r.String(text)
				if strings.Contains(out, secret) {
					t.Fatalf("%s: the secret %q survives String:\n in  %q\n out %q", form.name, secret, text, out)
				}
				redactFuzzCheckGrowth(t, r, text, out)
				if lines := redactFuzzLines(r, text); strings.Contains(lines, secret) {
					t.Fatalf("%s: the secret %q survives Lines:\n in  %q\n out %q", form.name, secret, text, lines)
				}
			}
		}
	})
}

// redactFuzzOneLine makes fuzzed text fit on the secret's line without
// changing where its value ends: no line breaks, quotes nor backslashes
// (a quote opened before a secret may legitimately end inside it).
func redactFuzzOneLine(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '\n', '\r', '"', '\'', '\\', '`':
			return ' '
		}
		return r
	}, s)
}
