package prefectfake

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// matches evaluates a <table>_bool_exp on a row with Prefect's Hasura
// semantics (v1, kept by Prefect Server): a field or an operator whose
// value is null is DROPPED, not compared — {id: {_eq: null}} is {id: {}},
// which holds for every row. This is the trap mfbot must never fall in.
func (x *gqlExecution) matches(table string, row hasuraRow, exp any) (bool, error) {
	if exp == nil {
		return true, nil
	}
	m, ok := exp.(map[string]any)
	if !ok {
		return false, gqlResolverErrorf("%s_bool_exp must be an object, not %T", table, exp)
	}
	boolExp := x.handler.schema.Types[table+"_bool_exp"]
	if boolExp == nil {
		return false, gqlResolverErrorf("prefectfake has no %s_bool_exp", table)
	}
	for _, key := range gqlSortedKeys(m) {
		value := m[key]
		if value == nil {
			continue // null collapse
		}
		var ok bool
		var err error
		switch key {
		case "_and":
			ok = true
			for _, sub := range gqlList(value) {
				if ok, err = x.matches(table, row, sub); err != nil || !ok {
					break
				}
			}
		case "_or":
			// An empty _or is SQL's empty OR: false.
			for _, sub := range gqlList(value) {
				if ok, err = x.matches(table, row, sub); err != nil || ok {
					break
				}
			}
		case "_not":
			ok, err = x.matches(table, row, value)
			ok = !ok
		default:
			ok, err = x.matchesField(table, row, key, value)
		}
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// matchesField evaluates one column's comparison or one relationship's
// filter (true when a related row matches: SQL EXISTS).
func (x *gqlExecution) matchesField(table string, row hasuraRow, key string, exp any) (bool, error) {
	if rel, ok := x.handler.relationships[table][key]; ok {
		for _, related := range x.db.lookup(rel.table, rel.remoteColumn, row[rel.column]) {
			ok, err := x.matches(rel.table, related, exp)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
	field := x.handler.schema.Types[table+"_bool_exp"].Fields.ForName(key)
	if field == nil || !strings.HasSuffix(field.Type.Name(), "_comparison_exp") {
		return false, gqlResolverErrorf("prefectfake cannot filter %s on %q", table, key)
	}
	value, ok := row[key]
	if !ok {
		return false, gqlResolverErrorf("prefectfake does not serve %s.%s", table, key)
	}
	ops, ok := exp.(map[string]any)
	if !ok {
		return false, gqlResolverErrorf("%s: a comparison must be an object", key)
	}
	return hasuraCompareOps(strings.TrimSuffix(field.Type.Name(), "_comparison_exp"), value, ops)
}

// hasuraCompareOps applies a <scalar>_comparison_exp to a column value with
// SQL's rules (NULL compares to nothing) and Hasura's null collapse.
func hasuraCompareOps(scalar string, value any, ops map[string]any) (bool, error) {
	for _, op := range gqlSortedKeys(ops) {
		operand := ops[op]
		if operand == nil {
			continue // null collapse
		}
		var ok bool
		switch op {
		case "_is_null":
			isNull, _ := operand.(bool)
			ok = (value == nil) == isNull
		case "_eq", "_neq", "_gt", "_gte", "_lt", "_lte":
			if value == nil {
				return false, nil
			}
			want, err := hasuraOperand(scalar, operand)
			if err != nil {
				return false, err
			}
			c := hasuraCompare(value, want)
			ok = map[string]bool{"_eq": c == 0, "_neq": c != 0, "_gt": c > 0, "_gte": c >= 0, "_lt": c < 0, "_lte": c <= 0}[op]
		case "_in", "_nin":
			if value == nil {
				return false, nil
			}
			found := false
			for _, item := range gqlList(operand) {
				want, err := hasuraOperand(scalar, item)
				if err != nil {
					return false, err
				}
				found = found || hasuraCompare(value, want) == 0
			}
			ok = found == (op == "_in")
		case "_like", "_nlike", "_ilike", "_nilike":
			s, isString := value.(string)
			pattern, _ := operand.(string)
			if !isString {
				return false, nil
			}
			re, err := hasuraLikePattern(pattern, strings.Contains(op, "ilike"))
			if err != nil {
				return false, err
			}
			ok = re.MatchString(s) == !strings.HasPrefix(op, "_n")
		default:
			return false, gqlResolverErrorf("prefectfake does not implement the operator %s", op)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// hasuraOperand reads a comparison operand as PostgreSQL reads a value of
// the column's type: malformed UUIDs and timestamps are errors, as they
// are for Hasura (never null, never "every row").
func hasuraOperand(scalar string, v any) (any, error) {
	switch scalar {
	case "uuid", "UUID":
		s, ok := v.(string)
		if !ok || !hasuraIsUUID(s) {
			return nil, gqlDataErrorf("invalid input syntax for type uuid: %s", gqlJSONText(v))
		}
		return strings.ToLower(s), nil
	case "timestamptz", "DateTime":
		s, _ := v.(string)
		t, ok := parseHasuraTime(s)
		if !ok {
			return nil, gqlDataErrorf("invalid input syntax for type timestamp with time zone: %s", gqlJSONText(v))
		}
		return t, nil
	case "Int":
		switch n := v.(type) {
		case float64:
			return n, nil
		case int64:
			return float64(n), nil
		case int:
			return float64(n), nil
		case json.Number:
			f, err := n.Float64()
			if err != nil {
				return nil, gqlDataErrorf("invalid integer %s", n)
			}
			return f, nil
		}
		return nil, gqlDataErrorf("invalid integer %s", gqlJSONText(v))
	}
	return v, nil
}

var hasuraUUIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func hasuraIsUUID(s string) bool { return hasuraUUIDPattern.MatchString(s) }

// hasuraCompare orders two values of one column type; 0 when equal.
func hasuraCompare(a, b any) int {
	switch a := a.(type) {
	case time.Time:
		if b, ok := b.(time.Time); ok {
			return a.Compare(b)
		}
	case string:
		if b, ok := b.(string); ok {
			return strings.Compare(a, b)
		}
	case bool:
		if b, ok := b.(bool); ok {
			switch {
			case a == b:
				return 0
			case !a:
				return -1
			}
			return 1
		}
	case int, float64:
		fa, fb := hasuraFloat(a), hasuraFloat(b)
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	// jsonb and mixed types: compare their JSON text.
	return strings.Compare(gqlJSONText(a), gqlJSONText(b))
}

func hasuraFloat(v any) float64 {
	switch v := v.(type) {
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case float64:
		return v
	}
	return 0
}

// hasuraLikePattern turns SQL LIKE (% and _) into a regular expression.
func hasuraLikePattern(pattern string, caseInsensitive bool) (*regexp.Regexp, error) {
	var b strings.Builder
	if caseInsensitive {
		b.WriteString("(?i)")
	}
	b.WriteString("^")
	for _, r := range pattern {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, gqlDataErrorf("invalid LIKE pattern %q", pattern)
	}
	return re, nil
}

// gqlList reads a list input, which GraphQL lets a client give as a single
// value.
func gqlList(v any) []any {
	if list, ok := v.([]any); ok {
		return list
	}
	return []any{v}
}

func gqlSortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func gqlJSONText(v any) string {
	switch v := v.(type) {
	case time.Time:
		return v.Format(time.RFC3339Nano)
	case string:
		return fmt.Sprintf("%q", v)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(raw)
}
