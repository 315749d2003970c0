package prefect

import (
	"net/http"

	"mfbot/pipeline"
)

// newREST returns the Prefect 3 client (to be written).
func newREST(o Options, hc *http.Client) pipeline.API { panic("not yet") }
