package config

// MinAPITokenLength is the shortest bearer token the HTTP API accepts: a
// shorter one could be guessed.
const MinAPITokenLength = 16

// APITokenSource says where the bearer tokens of the HTTP API come from: an
// environment variable (api_token_env) holding one token, or several
// separated by white space, or a file (api_token_file) with one token per
// line, where blank lines and lines starting with # are ignored. More than
// one token lets a token be rotated: add the new one, move the clients over,
// then remove the old one. The tokens themselves never sit in the
// configuration file.
type APITokenSource struct {
	Env  string
	File string
}

// Configured reports whether a token source is set; without one the HTTP
// API is off.
func (s APITokenSource) Configured() bool { return s.Env != "" || s.File != "" }

// Read returns the tokens. It fails when the variable is unset, the file
// cannot be read, no token is found or a token is shorter than
// MinAPITokenLength. Its errors never contain a token.
func (s APITokenSource) Read() ([]Secret, error) {
	return readSecretList(s.Env, s.File, apiTokens)
}

// apiTokens names the API tokens for readSecretList.
var apiTokens = secretList{
	what:        "API token",
	one:         "token",
	envSetting:  "api_token_env",
	fileSetting: "api_token_file",
	minLen:      MinAPITokenLength,
}
