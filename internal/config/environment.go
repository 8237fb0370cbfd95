package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
)

// readDotEnv reads the .env file at path; a missing file holds no settings.
func readDotEnv(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseDotEnv(string(data))
}

// Environment is where every command reads its settings: the process
// environment, then ./.env, then the defaults given (dev's generated
// settings), in that order of precedence.
func Environment(getenv func(string) string, defaults ...Lookup) (Lookup, error) {
	dotenv, err := readDotEnv(".env")
	if err != nil {
		return nil, fmt.Errorf("read .env: %w", err)
	}
	return Layered(append([]Lookup{FromGetenv(getenv), FromMap(dotenv)}, defaults...)...), nil
}

// LoadEnvironment loads and validates the settings from Environment, as
// serve reads them.
func LoadEnvironment(getenv func(string) string, defaults ...Lookup) (Settings, error) {
	lookup, err := Environment(getenv, defaults...)
	if err != nil {
		return Settings{}, err
	}
	return Load(lookup)
}

// Origin is the Logto endpoint's scheme://host, the origin the sign-in
// pages load from; "" when the endpoint does not parse (Load has
// validated it by then).
func (l Logto) Origin() string {
	u, err := url.Parse(l.Endpoint)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
