package imapwatch

import "errors"

// The SASL clients below satisfy go-sasl's sasl.Client interface, which
// imapclient.Client.Authenticate takes, without importing the package.

// plainAuth is SASL PLAIN (RFC 4616) without an authorization identity.
type plainAuth struct{ username, password string }

func (a *plainAuth) Start() (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.username + "\x00" + a.password), nil
}

func (a *plainAuth) Next(challenge []byte) ([]byte, error) {
	return nil, errors.New("unexpected SASL PLAIN challenge")
}

// xoauth2Auth is the XOAUTH2 mechanism of Gmail and Microsoft 365.
type xoauth2Auth struct {
	username, token string
	// serverError keeps the JSON error the server sends before refusing.
	serverError string
}

func (a *xoauth2Auth) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + a.username + "\x01auth=Bearer " + a.token + "\x01\x01"), nil
}

// Next answers the server's error challenge with an empty response, which
// makes the server end the exchange with a tagged NO.
func (a *xoauth2Auth) Next(challenge []byte) ([]byte, error) {
	a.serverError = string(challenge)
	return []byte{}, nil
}
