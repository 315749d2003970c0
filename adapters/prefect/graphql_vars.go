package prefect

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"

	"mfbot/pipeline"
)

// gqlCheckNoNulls refuses variables holding a null anywhere: a nil value,
// or a nil slice or map (they encode as null). Prefect's Hasura drops a
// null inside a where instead of comparing it, so one would turn a filter
// into "every row".
func gqlCheckNoNulls(vars map[string]any) error {
	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := gqlCheckNoNull("$"+name, reflect.ValueOf(vars[name])); err != nil {
			return err
		}
	}
	return nil
}

func gqlCheckNoNull(path string, v reflect.Value) error {
	if !v.IsValid() {
		return fmt.Errorf("%s would be null", path)
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return fmt.Errorf("%s would be null", path)
		}
		return gqlCheckNoNull(path, v.Elem())
	case reflect.Map:
		if v.IsNil() {
			return fmt.Errorf("%s would be null", path)
		}
		iter := v.MapRange()
		for iter.Next() {
			if err := gqlCheckNoNull(fmt.Sprintf("%s.%v", path, iter.Key()), iter.Value()); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if v.IsNil() {
			return fmt.Errorf("%s would be null", path)
		}
		for i := range v.Len() {
			if err := gqlCheckNoNull(fmt.Sprintf("%s[%d]", path, i), v.Index(i)); err != nil {
				return err
			}
		}
	}
	return nil
}

var gqlUUIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// gqlRequireUUID refuses, before anything is sent, an ID that is empty or
// not a UUID: nothing of that ID exists in Prefect (pipeline.ErrNotFound),
// and Hasura would answer an empty one with an error at best.
func gqlRequireUUID(op, what, id string) error {
	if id == "" {
		return fmt.Errorf("%s: %w: no %s given (nothing sent)", op, pipeline.ErrNotFound, what)
	}
	if !gqlUUIDPattern.MatchString(id) {
		return fmt.Errorf("%s: %w: %s %q is not a UUID (nothing sent)", op, pipeline.ErrNotFound, what, id)
	}
	return nil
}
