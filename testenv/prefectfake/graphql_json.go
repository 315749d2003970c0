package prefectfake

import (
	"bytes"
	"encoding/json"
	"time"
)

// gqlObject is a JSON object that keeps its keys in insertion order, so
// answers list fields in the order the selection set asked for them.
type gqlObject struct {
	keys   []string
	values []any
}

func (o *gqlObject) set(key string, value any) {
	for i, k := range o.keys {
		if k == key {
			o.values[i] = value
			return
		}
	}
	o.keys = append(o.keys, key)
	o.values = append(o.values, value)
}

func (o *gqlObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		key, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b.Write(key)
		b.WriteByte(':')
		value, err := json.Marshal(o.values[i])
		if err != nil {
			return nil, err
		}
		b.Write(value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// hasuraTimeLayout is how Hasura prints a timestamptz.
const hasuraTimeLayout = "2006-01-02T15:04:05.999999-07:00"

// hasuraJSON gives a column value as Hasura prints it.
func hasuraJSON(v any) any {
	switch v := v.(type) {
	case time.Time:
		return v.UTC().Format(hasuraTimeLayout)
	default:
		return v
	}
}

// parseHasuraTime reads a timestamptz or DateTime as PostgreSQL would
// (RFC 3339, with or without fraction, "Z" or an offset).
func parseHasuraTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-07", "2006-01-02 15:04:05.999999999-07:00", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
