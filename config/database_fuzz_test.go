package config

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// databaseFuzzVocabulary is every string literal of database.go and
// secret.go (the static words of error messages, the marker, the scheme
// names): a password that is a substring of one of them may appear in an
// error or in String() without having leaked.
func databaseFuzzVocabulary(f *testing.F) []string {
	f.Helper()
	var words []string
	for _, name := range []string{"database.go", "secret.go"} {
		file, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			f.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					words = append(words, s)
				}
			}
			return true
		})
	}
	return append(words, "postgres://u:"+redacted+"@h:5432/db")
}

// FuzzParseDatabaseURL: ParseDatabaseURL never panics, its errors are
// never empty, and a password never shows in an error, nor in the String
// (%v, %+v, %#v) of what it parsed. The fuzzed password is put where a JDBC
// URL and a postgres:// URL carry it; it is checked when it has 4 bytes or
// more and is no substring of the rest of the input, of the parser's own
// words, nor of the redacted URL.
func FuzzParseDatabaseURL(f *testing.F) {
	for _, seed := range []struct{ password, raw string }{
		{"s3cr3t", "jdbc:postgresql://db:5432/monitorfishdb?user=postgres&password=s3cr3t"},
		{"p@ss:w/rd?#&=", "postgres://mfbot:pa55@pg:5432/mfbot?sslmode=disable"},
		{"%zz%", "postgresql://u:p%zz@h/db"},
		{"pass&sslmode=bogus", "jdbc:postgresql://h/db?ssl=true&sslpassword=x"},
		{"hunter2,other", "jdbc:postgresql://h1,h2/db"},
		{"a]b[c", "postgres://u:p@[::1]:5432/db"},
		{"x y\tz\n", "postgres://u:p@[fe80::1%eth0]/db"},
		{"pw@h:99999/db", "jdbc:postgresql:h/db"},
		{"café☕", "mysql://u:p@h/db"},
		{"\xff\xfe\x00", "jdbc:postgresql://h/db?user=u&password=%"},
		{"abcdefgh/../x", "postgres://u:abcdefgh@h/a/b"},
	} {
		f.Add(seed.password, seed.raw)
	}
	vocabulary := databaseFuzzVocabulary(f)
	f.Fuzz(func(t *testing.T, password, raw string) {
		// Any input: no panic, errors say something.
		if _, err := ParseDatabaseURL(raw); err != nil && strings.TrimSpace(err.Error()) == "" {
			t.Fatalf("ParseDatabaseURL(%q): empty error", raw)
		}
		for _, form := range [][2]string{
			{"jdbc:postgresql://h:5432/db?user=u&password=", ""},
			{"postgres://u:", "@h/db"},
			{"postgresql://u:", "@h:5432/db?sslmode=require"},
			{"jdbc:postgresql://h/db?password=", "&user=u&ssl=true"},
		} {
			input := form[0] + password + form[1]
			db, err := ParseDatabaseURL(input)
			if err != nil && strings.TrimSpace(err.Error()) == "" {
				t.Fatalf("ParseDatabaseURL(%q): empty error", input)
			}
			if !databaseFuzzChecked(password, form[0]+" "+form[1], vocabulary) {
				continue
			}
			if err != nil {
				if strings.Contains(err.Error(), password) {
					t.Fatalf("ParseDatabaseURL(%q): the error shows the password %q: %v", input, password, err)
				}
				continue
			}
			shown := db.String() + "\n" + fmt.Sprintf("%v %+v %#v %s", db, db, db, db)
			// What is printed anyway (sslmode=verify-full, the port …) is no
			// leak of a password that happens to be part of it ("ode=").
			if placeholder, perr := ParseDatabaseURL(form[0] + "Plac3holderPassw0rd" + form[1]); perr == nil &&
				strings.Contains(placeholder.String()+"\n"+fmt.Sprintf("%v %+v %#v %s", placeholder, placeholder, placeholder, placeholder), password) {
				continue
			}
			if strings.Contains(shown, password) {
				t.Fatalf("ParseDatabaseURL(%q): String shows the password %q: %s", input, password, shown)
			}
		}
	})
}

// databaseFuzzChecked tells whether a password is long and distinctive
// enough for its presence in a message to be a leak.
func databaseFuzzChecked(password, fixed string, vocabulary []string) bool {
	if len(password) < 4 || strings.Contains(fixed, password) {
		return false
	}
	for _, word := range vocabulary {
		if strings.Contains(word, password) {
			return false
		}
	}
	return true
}
