package prefectfake

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedSchemasMatchTheShared: the copy of the schema files the
// fake falls back on is the shared one, byte for byte, wherever the shared
// folder is at hand (here, in CI beside the repository).
func TestCommittedSchemasMatchTheShared(t *testing.T) {
	committed := committedSchemaDir()
	if err := checkSchemaDir(committed); err != nil {
		t.Fatal(err)
	}
	shared, ok := sharedSchemaDir()
	if !ok {
		t.Log("no ../shared/prefect here: the committed copy is used as is")
		return
	}
	for _, name := range []string{SchemaPython, SchemaHasura, OpenAPISubset, "example-documents.graphql"} {
		want, err := os.ReadFile(filepath.Join(shared, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(committed, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s: copy it again (cp %s/* %s/)", name, shared, shared, committed)
		}
	}
}
