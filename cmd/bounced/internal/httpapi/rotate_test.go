package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bounced/bounced/cmd/bounced/internal/httpapi"
	"github.com/bounced/bounced/config"
)

func TestSetTokensRotates(t *testing.T) {
	f := newFixture(t)
	api, err := httpapi.New(httpapi.Options{Store: f.store, Status: f.status,
		Tokens: []config.Secret{config.NewSecret(tokenOld)}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	expect := func(when, token string, want int) {
		t.Helper()
		if got := do(t, srv, token, "GET", "/v1/suppressions", nil).status; got != want {
			t.Errorf("%s: token %.8s…: %d, want %d", when, token, got, want)
		}
	}

	expect("before", tokenOld, http.StatusOK)
	expect("before", tokenNew, http.StatusUnauthorized)
	if err := api.SetTokens([]config.Secret{config.NewSecret(tokenNew)}); err != nil {
		t.Fatal(err)
	}
	expect("after rotation", tokenOld, http.StatusUnauthorized)
	expect("after rotation", tokenNew, http.StatusOK)
	if err := api.SetTokens(nil); err == nil {
		t.Error("SetTokens accepted no token at all")
	}
	expect("after a refused change", tokenNew, http.StatusOK)
}
