package prefectfake

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Schema files in the shared folder.
const (
	SchemaPython  = "server-python.graphql"
	SchemaHasura  = "server-hasura-subset.graphql"
	OpenAPISubset = "prefect3-openapi-subset.json"
)

// FindSchemaDir finds ../shared/prefect from the working directory or
// one of its parents (tests run in their package's directory), or takes
// MFBOT_PREFECT_SCHEMAS. It says clearly when the folder is absent.
func FindSchemaDir() (string, error) {
	if dir := os.Getenv("MFBOT_PREFECT_SCHEMAS"); dir != "" {
		return dir, checkSchemaDir(dir)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		for _, candidate := range []string{filepath.Join(dir, "shared", "prefect"), filepath.Join(dir, "..", "shared", "prefect")} {
			if checkSchemaDir(candidate) == nil {
				return filepath.Clean(candidate), nil
			}
		}
		if parent := filepath.Dir(dir); parent == dir {
			break
		}
	}
	return "", errors.New("the Prefect schema files (../shared/prefect: " + SchemaPython + ", " + SchemaHasura + ", " + OpenAPISubset +
		") are absent: set MFBOT_PREFECT_SCHEMAS to their folder")
}

func checkSchemaDir(dir string) error {
	for _, name := range []string{SchemaPython, SchemaHasura, OpenAPISubset} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("Prefect schema file %s: %w", name, err)
		}
	}
	return nil
}
