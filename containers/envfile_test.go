package containers

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseEnvFileLikeDocker(t *testing.T) {
	lookup := func(key string) (string, bool) {
		v, ok := map[string]string{"FROM_MFBOT": "mine", "EMPTY_IN_MFBOT": ""}[key]
		return v, ok
	}
	file := "\xEF\xBB\xBF# a comment\n" +
		"PLAIN=value\n" +
		"   INDENTED=kept\n" +
		"\t# an indented comment\n" +
		"\n" +
		"   \n" +
		"QUOTED=\"with quotes\"\n" +
		"SINGLE='single'\n" +
		"EQUALS=a=b=c\n" +
		"EMPTY=\n" +
		"TRAILING=spaces  \n" +
		"INNER=two  words\n" +
		"HASH=not#a comment\n" +
		"FROM_MFBOT\n" +
		"EMPTY_IN_MFBOT\n" +
		"UNSET_IN_MFBOT\n" +
		"CRLF=windows\r\n" +
		"lower.case-key=ok\n" +
		"LAST=no newline"
	got, err := ParseEnvFile("test.env", strings.NewReader(file), lookup)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"PLAIN=value",
		"INDENTED=kept",
		`QUOTED="with quotes"`,
		"SINGLE='single'",
		"EQUALS=a=b=c",
		"EMPTY=",
		"TRAILING=spaces  ", // docker keeps the trailing whitespace in the value
		"INNER=two  words",
		"HASH=not#a comment",
		"FROM_MFBOT=mine",
		"EMPTY_IN_MFBOT=",
		"CRLF=windows",
		"lower.case-key=ok",
		"LAST=no newline",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parsed\n %q\nwant\n %q", got, want)
	}
}

func TestParseEnvFileErrorsNameFileAndLine(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	for _, tc := range []struct {
		name, file, want string
		secret           string // must not appear in the error
	}{
		{"empty key", "A=1\n\n=s3cr3t\n", "bad.env, line 3: no variable name", "s3cr3t"},
		{"space in key", "# c\nMY KEY=s3cr3t\n", `bad.env, line 2: the variable name "MY"… contains whitespace`, "s3cr3t"},
		{"tab in key", "KEY\t=v\n", "bad.env, line 1:", ""},
		{"bare key with trailing blank", "A=1\nKEY \n", "bad.env, line 2:", ""},
		{"value pasted alone", "PASSWORD hunter2\n", "bad.env, line 1:", "hunter2"},
		{"invalid UTF-8", "A=1\nB=\xff\n", "bad.env, line 2: not valid UTF-8", ""},
		{"line too long", "A=" + strings.Repeat("x", 70<<10) + "\n", "bad.env", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseEnvFile("bad.env", strings.NewReader(tc.file), none)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("the error shows the value: %v", err)
			}
		})
	}
}

func TestReadEnvFileUsesTheProcessEnvironment(t *testing.T) {
	t.Setenv("MFBOT_ENVFILE_TEST", "from-env")
	path := filepath.Join(t.TempDir(), "run.env")
	if err := os.WriteFile(path, []byte("MFBOT_ENVFILE_TEST\nMFBOT_ENVFILE_TEST_UNSET\nA=b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadEnvFile(path, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"MFBOT_ENVFILE_TEST=from-env", "A=b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := ReadEnvFile(filepath.Join(t.TempDir(), "missing.env"), os.LookupEnv); err == nil || !strings.Contains(err.Error(), "missing.env") {
		t.Errorf("missing file: err = %v", err)
	}
}
