package prefectfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// defaultLimit is Prefect's PREFECT_API_DEFAULT_LIMIT: a filter's limit by
// default, and the highest it accepts.
const defaultLimit = 200

// restAPI serves Prefect 3's REST API over the World: every request body
// validated against the operation's schema in the OpenAPI subset, answered
// with Prefect's shapes and status codes.
type restAPI struct {
	s   *Server
	doc *openAPI
}

// restRequest is a request whose body validated.
type restRequest struct {
	http *http.Request
	op   string // "POST /api/flow_runs/filter"
	raw  []byte // the JSON body, "{}" when none was sent
	body any    // raw, decoded
}

// restAnswer is an endpoint's answer: a status and a body encoded as JSON
// (none with 204).
type restAnswer struct {
	status int
	body   any
}

type restEndpoint func(*restRequest) restAnswer

// restHandler serves Prefect 3's REST API under /api: the operations of
// the OpenAPI subset, each counted in the World as "POST /flow_runs/filter".
func restHandler(s *Server) (http.Handler, error) {
	doc, err := loadOpenAPI(s.SchemaDir)
	if err != nil {
		return nil, err
	}
	a := &restAPI{s: s, doc: doc}
	endpoints := a.endpoints()
	mux := http.NewServeMux()
	for _, op := range doc.operations {
		endpoint, ok := endpoints[op]
		if !ok {
			endpoint = a.notImplemented
		}
		delete(endpoints, op)
		pattern := op
		if strings.HasSuffix(pattern, "/") {
			pattern += "{$}" // "/api/flow_run_states/" is that path, not a subtree
		}
		mux.Handle(pattern, a.serve(op, endpoint))
	}
	if len(endpoints) > 0 {
		return nil, fmt.Errorf("prefectfake serves operations the OpenAPI subset does not have: %v", slices.Sorted(maps.Keys(endpoints)))
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		a.s.World.Count(r.Method + " (no route)")
		a.write(w, a.noRoute(r.Method+" "+r.URL.Path))
	})
	return mux, nil
}

// serve counts a request, checks its path IDs and validates its body,
// then lets the endpoint answer.
func (a *restAPI) serve(op string, endpoint restEndpoint) http.Handler {
	method, path, _ := strings.Cut(op, " ")
	counted := method + " " + strings.TrimPrefix(path, "/api")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.s.World.Count(counted)
		// Prefect's routes take only UUIDs ({id:uuid}): another ID matches no route.
		for _, name := range []string{"id", "schedule_id"} {
			if v := r.PathValue(name); v != "" && !isUUID(v) {
				a.write(w, a.noRoute(r.Method+" "+r.URL.Path))
				return
			}
		}
		req, refused := a.decode(op, r)
		if refused != nil {
			a.write(w, *refused)
			return
		}
		a.write(w, endpoint(req))
	})
}

// decode reads and validates a request's body, as FastAPI and Prefect do.
func (a *restAPI) decode(op string, r *http.Request) (*restRequest, *restAnswer) {
	req := &restRequest{http: r, op: op, raw: []byte("{}"), body: map[string]any{}}
	schema := a.doc.bodies[op]
	if schema == nil {
		return req, nil // no body expected: whatever was sent is ignored
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return nil, &restAnswer{http.StatusBadRequest, map[string]any{"detail": "There was an error parsing the body"}}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		if a.doc.required[op] {
			return nil, a.invalid(op, nil, []pydanticError{{Type: "missing", Loc: []any{"body"}, Msg: "Field required"}})
		}
		return req, nil
	}
	if !isJSONContent(r.Header.Get("Content-Type")) {
		return nil, a.invalid(op, string(raw), []pydanticError{{Type: "model_attributes_type", Loc: []any{"body"},
			Msg: "Input should be a valid dictionary or object to extract fields from (Content-Type is not application/json)", Input: string(raw)}})
	}
	body, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, a.invalid(op, string(raw), []pydanticError{{Type: "json_invalid", Loc: []any{"body", 0}, Msg: "JSON decode error: " + err.Error(), Input: map[string]any{}}})
	}
	if err := schema.Validate(body); err != nil {
		return nil, a.invalid(op, body, pydanticErrors(err, body))
	}
	if refused := a.checkLimit(op, body); refused != nil {
		return nil, refused
	}
	req.raw, req.body = raw, body
	return req, nil
}

// checkLimit refuses a limit above Prefect's default one, as its
// LimitBody dependency does: a 422 with a plain detail.
func (a *restAPI) checkLimit(op string, body any) *restAnswer {
	n, ok := dig(body, "limit").(json.Number)
	if !ok {
		return nil
	}
	limit, err := n.Int64()
	if err != nil {
		return nil // not an integer: the schema refused it already
	}
	var detail string
	switch {
	case limit < 0:
		detail = "Invalid limit: must be greater than or equal to 0."
	case limit > defaultLimit:
		detail = fmt.Sprintf("Invalid limit: must be less than or equal to %d.", defaultLimit)
	default:
		return nil
	}
	a.s.reject(fmt.Sprintf("rest: %s: limit %d: %s", op, limit, detail))
	return &restAnswer{http.StatusUnprocessableEntity, map[string]any{"detail": detail}}
}

// invalid is Prefect's answer to a body that does not validate (its
// validation_exception_handler, not the {"detail": [...]} the OpenAPI
// document declares), recorded as an invalid request.
func (a *restAPI) invalid(op string, body any, details []pydanticError) *restAnswer {
	what := "invalid body"
	if len(details) > 0 {
		what = fmt.Sprintf("%v: %s", details[0].Loc, details[0].Msg)
	}
	a.s.reject(fmt.Sprintf("rest: %s: %s", op, what))
	return &restAnswer{http.StatusUnprocessableEntity, map[string]any{
		"exception_message": "Invalid request received.",
		"exception_detail":  details,
		"request_body":      body,
	}}
}

// model decodes a validated body into the fake's model of it. A key the
// model lacks is something the fake does not implement (a filter on work
// queues, a state with data …): a 501, recorded, rather than an answer
// that would silently ignore it.
func (a *restAPI) model(req *restRequest, into any) *restAnswer {
	dec := json.NewDecoder(bytes.NewReader(req.raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return a.unsupported(req.op, err.Error())
	}
	return nil
}

func (a *restAPI) unsupported(op, what string) *restAnswer {
	a.s.reject(fmt.Sprintf("rest: %s: prefectfake does not implement %s", op, what))
	return &restAnswer{http.StatusNotImplemented, map[string]any{"detail": "prefectfake does not implement " + what}}
}

func (a *restAPI) notImplemented(req *restRequest) restAnswer {
	return *a.unsupported(req.op, "this operation")
}

// noRoute is FastAPI's answer to a path no route matches (an ID that is
// not a UUID included): recorded, mfbot should never ask one.
func (a *restAPI) noRoute(what string) restAnswer {
	a.s.reject("rest: no route for " + what)
	return restAnswer{http.StatusNotFound, map[string]any{"detail": "Not Found"}}
}

func (a *restAPI) write(w http.ResponseWriter, ans restAnswer) {
	if ans.status == http.StatusNoContent {
		w.WriteHeader(ans.status)
		return
	}
	data, err := json.Marshal(ans.body)
	if err != nil {
		ans.status, data = http.StatusInternalServerError, []byte(`{"exception_message":"Internal Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ans.status)
	w.Write(data)
}

func isJSONContent(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mediaType == "application/json" || strings.HasSuffix(mediaType, "+json"))
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}
