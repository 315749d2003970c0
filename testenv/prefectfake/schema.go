package prefectfake

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Schema files in the shared folder.
const (
	SchemaPython  = "server-python.graphql"
	SchemaHasura  = "server-hasura-subset.graphql"
	OpenAPISubset = "prefect3-openapi-subset.json"
)

// FindSchemaDir finds the schema files: MFBOT_PREFECT_SCHEMAS, else
// ../shared/prefect from the working directory or one of its parents
// (tests run in their package's directory), else the copy committed
// beside this file (schemas/, kept equal to the shared one by
// TestCommittedSchemasMatchTheShared), so that the fake never lacks its
// contract and no test is skipped for it.
func FindSchemaDir() (string, error) {
	if dir := os.Getenv("MFBOT_PREFECT_SCHEMAS"); dir != "" {
		return dir, checkSchemaDir(dir)
	}
	if dir, ok := sharedSchemaDir(); ok {
		return dir, nil
	}
	dir := committedSchemaDir()
	if err := checkSchemaDir(dir); err != nil {
		return "", fmt.Errorf("the Prefect schema files are neither in ../shared/prefect nor in %s: %w (set MFBOT_PREFECT_SCHEMAS to their folder)", dir, err)
	}
	return dir, nil
}

// sharedSchemaDir finds ../shared/prefect, the files' source.
func sharedSchemaDir() (string, bool) {
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		for _, candidate := range []string{filepath.Join(dir, "shared", "prefect"), filepath.Join(dir, "..", "shared", "prefect")} {
			if checkSchemaDir(candidate) == nil {
				return filepath.Clean(candidate), true
			}
		}
		if parent := filepath.Dir(dir); parent == dir {
			return "", false
		}
	}
}

// committedSchemaDir is the copy of the schema files in this package's
// source folder.
func committedSchemaDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "schemas")
}

func checkSchemaDir(dir string) error {
	for _, name := range []string{SchemaPython, SchemaHasura, OpenAPISubset} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("Prefect schema file %s: %w", name, err)
		}
	}
	return nil
}
