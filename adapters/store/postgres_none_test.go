//go:build !integration

package store

// postgresDialects is empty without the integration tag: plain `go test`
// runs without a PostgreSQL server (see postgres_integration_test.go).
func postgresDialects() []dialect { return nil }
