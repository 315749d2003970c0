package prefectfake

import "net/http"

// graphqlHandler serves Prefect Server 1's GraphQL API (to be written).
func graphqlHandler(s *Server) (http.Handler, error) {
	return http.NotFoundHandler(), nil
}
