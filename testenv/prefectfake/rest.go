package prefectfake

import "net/http"

// restHandler serves Prefect 3's REST API (to be written).
func restHandler(s *Server) (http.Handler, error) {
	return http.NotFoundHandler(), nil
}
