package prefectfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// graphqlHandler serves Prefect Server 1's GraphQL API over s.World. Every
// document is validated with its variables against the two schema files;
// queries are answered like Prefect's Hasura (null filters collapse),
// mutations like its Python resolvers.
func graphqlHandler(s *Server) (http.Handler, error) {
	schema, err := gqlLoadSchema(s.SchemaDir)
	if err != nil {
		return nil, err
	}
	return &gqlHandler{server: s, schema: schema, relationships: hasuraRelationships()}, nil
}

// gqlLoadSchema loads the Python half, then the Hasura half that
// extends its Query type.
func gqlLoadSchema(dir string) (*ast.Schema, error) {
	var sources []*ast.Source
	for _, name := range []string{SchemaPython, SchemaHasura} {
		text, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read the Prefect GraphQL schema: %w", err)
		}
		sources = append(sources, &ast.Source{Name: name, Input: string(text)})
	}
	schema, err := gqlparser.LoadSchema(sources...)
	if err != nil {
		return nil, fmt.Errorf("load the Prefect GraphQL schema from %s: %w", dir, err)
	}
	return schema, nil
}

type gqlHandler struct {
	server        *Server
	schema        *ast.Schema
	relationships map[string]map[string]hasuraRelationship
}

// gqlRequestBody is a GraphQL POST body.
type gqlRequestBody struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
}

// gqlMaxBody bounds a request body: mfbot's documents are small.
const gqlMaxBody = 1 << 20

func (h *gqlHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		h.server.World.Count("graphql " + r.Method)
		h.invalid(w, http.StatusMethodNotAllowed, "GraphQL is served over POST, not "+r.Method, "BAD_REQUEST")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, gqlMaxBody))
	if err != nil {
		h.server.World.Count("graphql (unreadable)")
		h.invalid(w, http.StatusBadRequest, "could not read the body: "+err.Error(), "BAD_REQUEST")
		return
	}
	var body gqlRequestBody
	if err := json.Unmarshal(raw, &body); err != nil {
		h.server.World.Count("graphql (not JSON)")
		h.invalid(w, http.StatusBadRequest, "POST body sent invalid JSON: "+err.Error(), "BAD_REQUEST")
		return
	}
	doc, parseErr := parser.ParseQuery(&ast.Source{Input: body.Query})
	h.server.World.Count("graphql " + gqlFirstRootField(doc, body.OperationName))
	if parseErr != nil {
		h.invalidErrors(w, gqlErrorList(parseErr), "GRAPHQL_PARSE_FAILED")
		return
	}
	if errs := validator.ValidateWithRules(h.schema, doc, nil); len(errs) > 0 {
		h.invalidErrors(w, errs, "GRAPHQL_VALIDATION_FAILED")
		return
	}
	op, err := gqlOperation(doc, body.OperationName)
	if err != nil {
		h.invalid(w, http.StatusBadRequest, err.Error(), "GRAPHQL_VALIDATION_FAILED")
		return
	}
	vars, err := validator.VariableValues(h.schema, op, body.Variables)
	if err == nil {
		err = h.checkVariableScalars(op, vars)
	}
	if err != nil {
		h.invalidErrors(w, gqlErrorList(err), "BAD_USER_INPUT")
		return
	}
	x := &gqlExecution{handler: h, doc: doc, vars: vars, db: newHasuraDB(h.server.World)}
	data, errs := x.run(op)
	h.respond(w, http.StatusOK, data, errs)
}

// gqlFirstRootField names a request for World.Count: the first root field
// of its operation ("flow_run", "create_flow_run").
func gqlFirstRootField(doc *ast.QueryDocument, operationName string) string {
	if doc == nil {
		return "(unparsable)"
	}
	op, err := gqlOperation(doc, operationName)
	if err != nil {
		return "(no operation)"
	}
	for _, sel := range op.SelectionSet {
		if f, ok := sel.(*ast.Field); ok {
			return f.Name
		}
	}
	return "(fragments)"
}

// gqlOperation picks the operation to run: the named one, else the only one.
func gqlOperation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, error) {
	if name != "" {
		if op := doc.Operations.ForName(name); op != nil {
			return op, nil
		}
		return nil, fmt.Errorf("Unknown operation named %q.", name)
	}
	if len(doc.Operations) != 1 {
		return nil, errors.New("Must provide operation name if query contains multiple operations.")
	}
	return doc.Operations[0], nil
}

func gqlErrorList(err error) gqlerror.List {
	var list gqlerror.List
	if errors.As(err, &list) {
		return list
	}
	var one *gqlerror.Error
	if errors.As(err, &one) {
		return gqlerror.List{one}
	}
	return gqlerror.List{gqlerror.Wrap(err)}
}

// gqlErrorOut is one entry of a response's errors[].
type gqlErrorOut struct {
	Message    string              `json:"message"`
	Locations  []gqlerror.Location `json:"locations,omitempty"`
	Path       []any               `json:"path,omitempty"`
	Extensions map[string]any      `json:"extensions"`
}

// invalidErrors answers 400 like Apollo does for a document or variables
// that do not validate, and records the request as invalid.
func (h *gqlHandler) invalidErrors(w http.ResponseWriter, errs gqlerror.List, code string) {
	out := make([]gqlErrorOut, 0, len(errs))
	for _, e := range errs {
		message := e.Message
		if len(e.Path) > 0 {
			// gqlparser's variable errors name the variable in their path only.
			message = e.Path.String() + " " + message
		}
		out = append(out, gqlErrorOut{Message: message, Locations: e.Locations, Extensions: map[string]any{"code": code}})
	}
	h.server.reject("graphql: " + out[0].Message)
	h.write(w, http.StatusBadRequest, map[string]any{"errors": out})
}

func (h *gqlHandler) invalid(w http.ResponseWriter, status int, message, code string) {
	h.server.reject("graphql: " + message)
	h.write(w, status, map[string]any{"errors": []gqlErrorOut{{Message: message, Extensions: map[string]any{"code": code}}}})
}

// respond writes {"data": …} or {"data": …, "errors": […]}.
func (h *gqlHandler) respond(w http.ResponseWriter, status int, data any, errs []gqlErrorOut) {
	body := &gqlObject{}
	body.set("data", data)
	if len(errs) > 0 {
		body.set("errors", errs)
	}
	h.write(w, status, body)
}

func (h *gqlHandler) write(w http.ResponseWriter, status int, body any) {
	raw, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		raw = []byte(`{"errors":[{"message":"prefectfake: cannot encode the answer"}]}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(raw)
}
