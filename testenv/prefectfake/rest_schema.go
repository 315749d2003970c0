package prefectfake

import (
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// openAPIURL names the OpenAPI document as one schema resource: the
// operations' schemas are compiled from its #/components/schemas/…
const openAPIURL = "https://prefectfake.invalid/prefect3-openapi.json"

// openAPI is what the fake takes from Prefect 3's OpenAPI document: the
// schema of each operation's request body ("POST /api/flow_runs/filter"),
// and the document's operations.
type openAPI struct {
	operations []string                      // "POST /api/flow_runs/filter", in the document's order
	bodies     map[string]*jsonschema.Schema // operation → its request body's schema
	required   map[string]bool               // operation → a body is required
	compiler   *jsonschema.Compiler
}

// loadOpenAPI reads and compiles the OpenAPI subset of dir.
func loadOpenAPI(dir string) (*openAPI, error) {
	path := filepath.Join(dir, OpenAPISubset)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read the Prefect 3 OpenAPI document: %w", err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	root, _ := doc.(map[string]any)
	schemas, _ := dig(root, "components", "schemas").(map[string]any)
	paths, _ := root["paths"].(map[string]any)
	if schemas == nil || paths == nil {
		return nil, fmt.Errorf("%s has no paths or no components/schemas", path)
	}
	strictBodies(schemas)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020) // OpenAPI 3.1's dialect
	c.AssertFormat()                     // a run ID must be a UUID, a time a date-time, as pydantic checks
	if err := c.AddResource(openAPIURL, root); err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	api := &openAPI{bodies: map[string]*jsonschema.Schema{}, required: map[string]bool{}, compiler: c}
	for _, p := range sortedKeys(paths) {
		item, _ := paths[p].(map[string]any)
		for _, method := range sortedKeys(item) {
			op := strings.ToUpper(method) + " " + p
			api.operations = append(api.operations, op)
			body, _ := dig(item, method, "requestBody").(map[string]any)
			if body == nil {
				continue
			}
			ref, _ := dig(body, "content", "application/json", "schema", "$ref").(string)
			if ref == "" {
				return nil, fmt.Errorf("%s: %s: request body without a $ref schema", path, op)
			}
			sch, err := c.Compile(openAPIURL + ref)
			if err != nil {
				return nil, fmt.Errorf("%s: compile the request body of %s: %w", path, op, err)
			}
			api.bodies[op] = sch
			api.required[op], _ = body["required"].(bool)
		}
	}
	return api, nil
}

// schema compiles one of the document's component schemas ("FlowRunResponse"):
// tests check the fake's answers with it.
func (a *openAPI) schema(name string) (*jsonschema.Schema, error) {
	return a.compiler.Compile(openAPIURL + "#/components/schemas/" + name)
}

// strictBodies makes the Body_* wrappers (FastAPI's model of an endpoint's
// several Body() parameters) refuse unknown keys, as Prefect's filter
// models already do (additionalProperties: false): FastAPI itself would
// silently drop a misspelt top-level filter and answer every row, the very
// mistake the fake is here to catch.
func strictBodies(schemas map[string]any) {
	for name, s := range schemas {
		sch, ok := s.(map[string]any)
		if !ok || !strings.HasPrefix(name, "Body_") {
			continue
		}
		if _, set := sch["additionalProperties"]; !set {
			sch["additionalProperties"] = false
		}
	}
}

// pydanticError is one entry of the exception_detail of Prefect's 422.
type pydanticError struct {
	Type  string `json:"type"`
	Loc   []any  `json:"loc"`
	Msg   string `json:"msg"`
	Input any    `json:"input"`
}

// pydanticErrors turns a validation failure into pydantic's errors, the
// most precise first. Errors of the null branch of an "X or null" are left
// out when another error explains more, as pydantic reports the model's.
func pydanticErrors(err error, body any) []pydanticError {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []pydanticError{{Type: "value_error", Loc: []any{"body"}, Msg: err.Error(), Input: body}}
	}
	var leaves []*jsonschema.ValidationError
	var collect func(e *jsonschema.ValidationError)
	collect = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			leaves = append(leaves, e)
		}
		for _, c := range e.Causes {
			collect(c)
		}
	}
	collect(ve)
	var out, nullBranch []pydanticError
	for _, leaf := range leaves {
		for _, pe := range describeLeaf(leaf, body) {
			if t, ok := leaf.ErrorKind.(*kind.Type); ok && slices.Equal(t.Want, []string{"null"}) {
				nullBranch = append(nullBranch, pe)
				continue
			}
			out = append(out, pe)
		}
	}
	if len(out) == 0 {
		out = nullBranch
	}
	// Deepest location first: the key at fault rather than its parents.
	slices.SortStableFunc(out, func(a, b pydanticError) int { return len(b.Loc) - len(a.Loc) })
	return out
}

func describeLeaf(e *jsonschema.ValidationError, body any) []pydanticError {
	loc := append([]any{"body"}, locOf(e.InstanceLocation)...)
	// at is the loc and the value of a key of the object at fault.
	at := func(key string) ([]any, any) {
		return append(slices.Clone(loc), key), valueAt(body, append(slices.Clone(e.InstanceLocation), key))
	}
	input := valueAt(body, e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		var out []pydanticError
		for _, p := range k.Properties {
			l, v := at(p)
			out = append(out, pydanticError{Type: "extra_forbidden", Loc: l, Msg: "Extra inputs are not permitted", Input: v})
		}
		return out
	case *kind.Required:
		var out []pydanticError
		for _, p := range k.Missing {
			l, _ := at(p)
			out = append(out, pydanticError{Type: "missing", Loc: l, Msg: "Field required", Input: input})
		}
		return out
	case *kind.Type:
		want := k.Want[0]
		return []pydanticError{{Type: pydanticType(want) + "_type", Loc: loc, Msg: "Input should be a valid " + pydanticNoun(want), Input: input}}
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = fmt.Sprintf("'%v'", w)
		}
		return []pydanticError{{Type: "enum", Loc: loc, Msg: "Input should be " + joinOr(want), Input: input}}
	case *kind.Const:
		return []pydanticError{{Type: "literal_error", Loc: loc, Msg: fmt.Sprintf("Input should be '%v'", k.Want), Input: input}}
	case *kind.Format:
		if k.Want == "uuid" {
			return []pydanticError{{Type: "uuid_parsing", Loc: loc, Msg: "Input should be a valid UUID", Input: input}}
		}
		return []pydanticError{{Type: strings.ReplaceAll(k.Want, "-", "") + "_parsing", Loc: loc, Msg: "Input should be a valid " + k.Want, Input: input}}
	case *kind.Minimum:
		return []pydanticError{{Type: "greater_than_equal", Loc: loc, Msg: "Input should be greater than or equal to " + ratString(k.Want), Input: input}}
	case *kind.ExclusiveMinimum:
		return []pydanticError{{Type: "greater_than", Loc: loc, Msg: "Input should be greater than " + ratString(k.Want), Input: input}}
	case *kind.Maximum:
		return []pydanticError{{Type: "less_than_equal", Loc: loc, Msg: "Input should be less than or equal to " + ratString(k.Want), Input: input}}
	}
	return []pydanticError{{Type: "value_error", Loc: loc, Msg: "Value error, " + strings.Join(e.ErrorKind.KeywordPath(), "/") + " failed", Input: input}}
}

func pydanticType(jsonType string) string {
	switch jsonType {
	case "integer":
		return "int"
	case "boolean":
		return "bool"
	case "array":
		return "list"
	case "object":
		return "dict"
	case "number":
		return "float"
	}
	return jsonType
}

func pydanticNoun(jsonType string) string {
	switch jsonType {
	case "integer":
		return "integer"
	case "boolean":
		return "boolean"
	case "array":
		return "list"
	case "object":
		return "dictionary or object to extract fields from"
	case "number":
		return "number"
	}
	return jsonType
}

func joinOr(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

func ratString(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// locOf turns a JSON pointer's tokens into pydantic's loc: array indexes
// as numbers.
func locOf(tokens []string) []any {
	out := make([]any, len(tokens))
	for i, t := range tokens {
		if n, err := strconv.Atoi(t); err == nil {
			out[i] = n
		} else {
			out[i] = t
		}
	}
	return out
}

// valueAt is the value at a JSON pointer's tokens; nil when absent.
func valueAt(v any, tokens []string) any {
	for _, t := range tokens {
		switch x := v.(type) {
		case map[string]any:
			v = x[t]
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
