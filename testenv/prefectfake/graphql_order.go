package prefectfake

import (
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// selectRows applies a table field's arguments to rows: where, order_by,
// distinct_on, offset, limit — in SQL's order.
func (x *gqlExecution) selectRows(table string, rows []hasuraRow, f *ast.Field) ([]hasuraRow, error) {
	where, err := x.argValue(f, "where")
	if err != nil {
		return nil, err
	}
	var out []hasuraRow
	for _, row := range rows {
		ok, err := x.matches(table, row, where)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, row)
		}
	}
	var order []hasuraOrder
	if arg := f.Arguments.ForName("order_by"); arg != nil {
		if order, err = x.orderTerms(arg.Value, nil); err != nil {
			return nil, err
		}
	}
	x.sortRows(table, out, order)
	distinct, err := x.argValue(f, "distinct_on")
	if err != nil {
		return nil, err
	}
	if distinct != nil {
		out = hasuraDistinctRows(out, gqlList(distinct))
	}
	offset, err := x.intArg(f, "offset")
	if err != nil {
		return nil, err
	}
	if offset > 0 {
		out = out[min(offset, len(out)):]
	}
	limit, err := x.intArg(f, "limit")
	if err != nil {
		return nil, err
	}
	if limit >= 0 && limit < len(out) {
		out = out[:limit]
	}
	return out, nil
}

// intArg reads limit or offset; -1 when absent or null (no bound).
func (x *gqlExecution) intArg(f *ast.Field, name string) (int, error) {
	v, err := x.argValue(f, name)
	if err != nil || v == nil {
		return -1, err
	}
	n := hasuraFloat(v)
	if n < 0 {
		return 0, gqlDataErrorf("%s must not be negative", name)
	}
	return int(n), nil
}

// hasuraOrder is one order_by term: a column, through object
// relationships when path is longer than one.
type hasuraOrder struct {
	path       []string
	desc       bool
	nullsFirst bool
}

// orderTerms reads order_by from the document, so the terms of one
// object keep their written order; from a variable (a JSON object has
// none), the keys of one object are taken alphabetically. Null terms are
// dropped, like every null in Hasura's arguments.
func (x *gqlExecution) orderTerms(v *ast.Value, prefix []string) ([]hasuraOrder, error) {
	if v == nil {
		return nil, nil
	}
	switch v.Kind {
	case ast.Variable:
		return hasuraOrderTermsOf(x.vars[v.Raw], prefix)
	case ast.ListValue:
		var out []hasuraOrder
		for _, child := range v.Children {
			terms, err := x.orderTerms(child.Value, prefix)
			if err != nil {
				return nil, err
			}
			out = append(out, terms...)
		}
		return out, nil
	case ast.ObjectValue:
		var out []hasuraOrder
		for _, child := range v.Children {
			path := append(slices.Clone(prefix), child.Name)
			var terms []hasuraOrder
			var err error
			if child.Value.Kind == ast.EnumValue {
				terms, err = hasuraOrderTermsOf(child.Value.Raw, path)
			} else {
				terms, err = x.orderTerms(child.Value, path)
			}
			if err != nil {
				return nil, err
			}
			out = append(out, terms...)
		}
		return out, nil
	case ast.EnumValue:
		return hasuraOrderTermsOf(v.Raw, prefix)
	}
	return nil, nil
}

// hasuraOrderTermsOf reads order_by terms from a variable's value.
func hasuraOrderTermsOf(v any, prefix []string) ([]hasuraOrder, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case []any:
		var out []hasuraOrder
		for _, item := range v {
			terms, err := hasuraOrderTermsOf(item, prefix)
			if err != nil {
				return nil, err
			}
			out = append(out, terms...)
		}
		return out, nil
	case map[string]any:
		var out []hasuraOrder
		for _, key := range gqlSortedKeys(v) {
			terms, err := hasuraOrderTermsOf(v[key], append(slices.Clone(prefix), key))
			if err != nil {
				return nil, err
			}
			out = append(out, terms...)
		}
		return out, nil
	case string:
		if len(prefix) == 0 {
			return nil, gqlResolverErrorf("order_by: direction %s without a column", v)
		}
		// PostgreSQL puts nulls last ascending, first descending.
		term := hasuraOrder{path: prefix, desc: strings.HasPrefix(v, "desc")}
		term.nullsFirst = term.desc
		switch {
		case strings.HasSuffix(v, "_nulls_first"):
			term.nullsFirst = true
		case strings.HasSuffix(v, "_nulls_last"):
			term.nullsFirst = false
		}
		return []hasuraOrder{term}, nil
	}
	return nil, gqlResolverErrorf("order_by: cannot read %T", v)
}

// sortRows sorts in place, stably: rows equal on every term keep the
// World's creation order.
func (x *gqlExecution) sortRows(table string, rows []hasuraRow, order []hasuraOrder) {
	if len(order) == 0 {
		return
	}
	slices.SortStableFunc(rows, func(a, b hasuraRow) int {
		for _, term := range order {
			va, vb := x.orderValue(table, a, term.path), x.orderValue(table, b, term.path)
			var c int
			switch {
			case va == nil && vb == nil:
				c = 0
			case va == nil || vb == nil:
				c = 1
				if (va == nil) == term.nullsFirst {
					c = -1
				}
			default:
				c = hasuraCompare(va, vb)
				if term.desc {
					c = -c
				}
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
}

// orderValue follows a term's object relationships to its column.
func (x *gqlExecution) orderValue(table string, row hasuraRow, path []string) any {
	for len(path) > 1 {
		rel, ok := x.handler.relationships[table][path[0]]
		if !ok || rel.array {
			return nil
		}
		related := x.db.lookup(rel.table, rel.remoteColumn, row[rel.column])
		if len(related) == 0 {
			return nil
		}
		table, row, path = rel.table, related[0], path[1:]
	}
	return row[path[0]]
}

// hasuraDistinctRows keeps the first row of each distinct combination of the
// columns (PostgreSQL's DISTINCT ON, after ORDER BY).
func hasuraDistinctRows(rows []hasuraRow, columns []any) []hasuraRow {
	seen := map[string]bool{}
	var out []hasuraRow
	for _, row := range rows {
		var key strings.Builder
		for _, c := range columns {
			name, _ := c.(string)
			key.WriteString(gqlJSONText(row[name]))
			key.WriteByte(0)
		}
		if !seen[key.String()] {
			seen[key.String()] = true
			out = append(out, row)
		}
	}
	return out
}
