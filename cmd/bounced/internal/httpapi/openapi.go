package httpapi

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the OpenAPI 3.1 description of the API's routes, served at
// GET /v1/openapi.json. It is written by hand; TestOpenAPIRoutes fails when
// it and Routes disagree, and TestOpenAPIResponses validates real responses
// against its schemas.
//
//go:embed openapi.json
var OpenAPI []byte

// serveOpenAPI serves GET /v1/openapi.json.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	// A failed write means the client went away; there is no one to tell.
	_, _ = w.Write(OpenAPI)
}
