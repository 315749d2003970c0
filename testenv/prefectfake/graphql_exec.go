package prefectfake

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// gqlExecution runs one validated operation.
type gqlExecution struct {
	handler *gqlHandler
	doc     *ast.QueryDocument
	vars    map[string]any
	db      *hasuraDB
}

// gqlResolverError is an error of one root field: the answer is still
// HTTP 200, with the error in errors[] and the field null.
type gqlResolverError struct {
	message string
	code    string
	// invalid: the request itself was wrong (a malformed UUID in a
	// literal …), which tests must also see in World.Invalid.
	invalid bool
}

func (e *gqlResolverError) Error() string { return e.message }

func gqlResolverErrorf(format string, args ...any) error {
	return &gqlResolverError{message: fmt.Sprintf(format, args...), code: "INTERNAL_SERVER_ERROR"}
}

// gqlDataErrorf is Hasura's answer to a value PostgreSQL cannot read.
func gqlDataErrorf(format string, args ...any) error {
	return &gqlResolverError{message: fmt.Sprintf(format, args...), code: "data-exception", invalid: true}
}

// run executes every root field; a field that fails is null with its
// error in errors[], and when every one failed data is null, as Prefect
// Server answers a failing resolver.
func (x *gqlExecution) run(op *ast.OperationDefinition) (any, []gqlErrorOut) {
	rootType := "Query"
	if op.Operation == ast.Mutation {
		rootType = "Mutation"
	}
	data := &gqlObject{}
	var errs []gqlErrorOut
	fields := x.collectFields(op.SelectionSet, rootType)
	for _, f := range fields {
		var value any
		var err error
		switch {
		case f.Name == "__typename":
			value = rootType
		case op.Operation == ast.Mutation:
			value, err = x.mutation(f)
		case op.Operation == ast.Query:
			value, err = x.query(f)
		default:
			err = gqlResolverErrorf("prefectfake does not serve %s operations", op.Operation)
		}
		if err != nil {
			errs = append(errs, x.errorOut(f, err))
			value = nil
		}
		data.set(f.Alias, value)
	}
	if len(errs) > 0 && len(errs) == len(fields) {
		return nil, errs
	}
	return data, errs
}

func (x *gqlExecution) errorOut(f *ast.Field, err error) gqlErrorOut {
	code := "INTERNAL_SERVER_ERROR"
	var re *gqlResolverError
	if errors.As(err, &re) {
		code = re.code
		if re.invalid {
			x.handler.server.reject("graphql: " + f.Name + ": " + re.message)
		}
	}
	out := gqlErrorOut{Message: err.Error(), Path: []any{f.Alias}, Extensions: map[string]any{"code": code}}
	if f.Position != nil {
		out.Locations = []gqlerror.Location{{Line: f.Position.Line, Column: f.Position.Column}}
	}
	return out
}

// query answers a root field of Query: Hasura's tables, or the Python
// service's hello and api.
func (x *gqlExecution) query(f *ast.Field) (any, error) {
	name := f.Name
	switch {
	case name == "hello":
		return "hello", nil
	case name == "api":
		return x.projectPlain("api_info", map[string]any{"backend": "SERVER", "mode": "normal", "version": hasuraServerVersion,
			"core_version": hasuraCoreVersion, "release_timestamp": "2022-09-23T16:26:24+00:00"}, f.SelectionSet), nil
	case isHasuraTable(name):
		rows, err := x.selectRows(name, x.db.rows(name), f)
		if err != nil {
			return nil, err
		}
		return x.projectRows(name, rows, f.SelectionSet)
	case strings.HasSuffix(name, "_by_pk") && isHasuraTable(strings.TrimSuffix(name, "_by_pk")):
		table := strings.TrimSuffix(name, "_by_pk")
		id, err := x.argValue(f, "id")
		if err != nil {
			return nil, err
		}
		key, err := hasuraOperand("uuid", id)
		if err != nil {
			return nil, err
		}
		rows := x.db.lookup(table, "id", key)
		if len(rows) == 0 {
			return nil, nil
		}
		return x.project(table, rows[0], f.SelectionSet)
	case strings.HasSuffix(name, "_aggregate") && isHasuraTable(strings.TrimSuffix(name, "_aggregate")):
		table := strings.TrimSuffix(name, "_aggregate")
		return x.aggregate(table, x.db.rows(table), f)
	}
	return nil, gqlResolverErrorf("prefectfake does not serve the query field %q", name)
}

// hasuraServerVersion is the Prefect Server version the fake claims.
const hasuraServerVersion = "2022.09.23"

func (x *gqlExecution) projectRows(table string, rows []hasuraRow, sel ast.SelectionSet) ([]any, error) {
	out := make([]any, 0, len(rows))
	for _, row := range rows {
		obj, err := x.project(table, row, sel)
		if err != nil {
			return nil, err
		}
		out = append(out, obj)
	}
	return out, nil
}

// project gives the fields of a row the selection set asks for, under
// their aliases: columns, relationships (filtered, ordered and limited by
// their arguments), aggregates and __typename.
func (x *gqlExecution) project(table string, row hasuraRow, sel ast.SelectionSet) (*gqlObject, error) {
	out := &gqlObject{}
	relationships := x.handler.relationships[table]
	for _, f := range x.collectFields(sel, table) {
		if f.Name == "__typename" {
			out.set(f.Alias, table)
			continue
		}
		if rel, ok := relationships[f.Name]; ok {
			related := x.db.lookup(rel.table, rel.remoteColumn, row[rel.column])
			if !rel.array {
				if len(related) == 0 {
					out.set(f.Alias, nil)
					continue
				}
				obj, err := x.project(rel.table, related[0], f.SelectionSet)
				if err != nil {
					return nil, err
				}
				out.set(f.Alias, obj)
				continue
			}
			rows, err := x.selectRows(rel.table, related, f)
			if err != nil {
				return nil, err
			}
			list, err := x.projectRows(rel.table, rows, f.SelectionSet)
			if err != nil {
				return nil, err
			}
			out.set(f.Alias, list)
			continue
		}
		if base, ok := strings.CutSuffix(f.Name, "_aggregate"); ok {
			if rel, ok := relationships[base]; ok && rel.array {
				agg, err := x.aggregate(rel.table, x.db.lookup(rel.table, rel.remoteColumn, row[rel.column]), f)
				if err != nil {
					return nil, err
				}
				out.set(f.Alias, agg)
				continue
			}
		}
		value, ok := row[f.Name]
		if !ok {
			return nil, gqlResolverErrorf("prefectfake does not serve %s.%s", table, f.Name)
		}
		if path, _ := x.argValue(f, "path"); path != nil {
			return nil, gqlResolverErrorf("prefectfake does not implement the path argument (%s.%s)", table, f.Name)
		}
		out.set(f.Alias, hasuraJSON(value))
	}
	return out, nil
}

// aggregate answers <table>_aggregate: {aggregate {count} nodes {…}}.
func (x *gqlExecution) aggregate(table string, rows []hasuraRow, f *ast.Field) (*gqlObject, error) {
	rows, err := x.selectRows(table, rows, f)
	if err != nil {
		return nil, err
	}
	out := &gqlObject{}
	for _, sub := range x.collectFields(f.SelectionSet, table+"_aggregate") {
		switch sub.Name {
		case "__typename":
			out.set(sub.Alias, table+"_aggregate")
		case "aggregate":
			out.set(sub.Alias, x.projectPlain(table+"_aggregate_fields", map[string]any{"count": len(rows)}, sub.SelectionSet))
		case "nodes":
			list, err := x.projectRows(table, rows, sub.SelectionSet)
			if err != nil {
				return nil, err
			}
			out.set(sub.Alias, list)
		}
	}
	return out, nil
}

// projectPlain projects an object that is not a table row (a mutation's
// payload, api_info).
func (x *gqlExecution) projectPlain(typeName string, values map[string]any, sel ast.SelectionSet) *gqlObject {
	out := &gqlObject{}
	for _, f := range x.collectFields(sel, typeName) {
		if f.Name == "__typename" {
			out.set(f.Alias, typeName)
			continue
		}
		out.set(f.Alias, hasuraJSON(values[f.Name]))
	}
	return out
}

// collectFields flattens a selection set for an object type: fragments
// spread, @skip and @include applied.
func (x *gqlExecution) collectFields(sel ast.SelectionSet, typeName string) []*ast.Field {
	var out []*ast.Field
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if x.included(s.Directives) {
				out = append(out, s)
			}
		case *ast.InlineFragment:
			if x.included(s.Directives) && (s.TypeCondition == "" || s.TypeCondition == typeName) {
				out = append(out, x.collectFields(s.SelectionSet, typeName)...)
			}
		case *ast.FragmentSpread:
			def := x.doc.Fragments.ForName(s.Name)
			if def != nil && x.included(s.Directives) && def.TypeCondition == typeName {
				out = append(out, x.collectFields(def.SelectionSet, typeName)...)
			}
		}
	}
	return out
}

func (x *gqlExecution) included(directives ast.DirectiveList) bool {
	for _, d := range directives {
		if d.Name != "skip" && d.Name != "include" {
			continue
		}
		var cond any
		if arg := d.Arguments.ForName("if"); arg != nil {
			cond, _ = arg.Value.Value(x.vars)
		}
		if b, _ := cond.(bool); b == (d.Name == "skip") {
			return false
		}
	}
	return true
}

// argValue is a field argument's value with the variables substituted;
// nil when absent or null.
func (x *gqlExecution) argValue(f *ast.Field, name string) (any, error) {
	arg := f.Arguments.ForName(name)
	if arg == nil {
		return nil, nil
	}
	v, err := arg.Value.Value(x.vars)
	if err != nil {
		return nil, gqlDataErrorf("argument %s: %v", name, err)
	}
	return v, nil
}
