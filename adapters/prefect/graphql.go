package prefect

import (
	"net/http"

	"mfbot/pipeline"
)

// newGraphQL returns the Prefect Server 1 client (to be written).
func newGraphQL(o Options, hc *http.Client) pipeline.API { panic("not yet") }
