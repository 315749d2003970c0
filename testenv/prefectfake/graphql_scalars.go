package prefectfake

import (
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// checkVariableScalars checks what gqlparser leaves to the server: the
// custom scalars. A uuid/UUID must be a UUID and a timestamptz/DateTime
// a timestamp, anywhere in the variables (inside input objects and
// lists too), or the request is invalid.
func (h *gqlHandler) checkVariableScalars(op *ast.OperationDefinition, vars map[string]any) error {
	for _, def := range op.VariableDefinitions {
		if err := h.checkScalars(def.Type, vars[def.Variable], "$"+def.Variable); err != nil {
			return err
		}
	}
	return nil
}

func (h *gqlHandler) checkScalars(typ *ast.Type, v any, path string) error {
	if v == nil {
		return nil
	}
	if typ.Elem != nil {
		for i, item := range gqlList(v) {
			if err := h.checkScalars(typ.Elem, item, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	}
	def := h.schema.Types[typ.NamedType]
	if def == nil {
		return nil
	}
	switch def.Kind {
	case ast.InputObject:
		m, _ := v.(map[string]any)
		for _, key := range gqlSortedKeys(m) {
			if field := def.Fields.ForName(key); field != nil {
				if err := h.checkScalars(field.Type, m[key], path+"."+key); err != nil {
					return err
				}
			}
		}
	case ast.Scalar:
		switch typ.NamedType {
		case "uuid", "UUID", "timestamptz", "DateTime":
			if _, err := hasuraOperand(typ.NamedType, v); err != nil {
				return fmt.Errorf("Variable %s got an invalid value: %s", path, strings.TrimSpace(err.Error()))
			}
		}
	}
	return nil
}
