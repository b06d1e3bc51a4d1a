package builder

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// npmDefaults are slipway's npm settings, which the app's config wins
// over. Packages already in the cache are not fetched again, even without
// a lock file. A registry that cannot be reached, or takes the connection
// and never answers, fails the install within 10 s, not after npm's
// minutes of retries: two tries of 3 s, a second apart, and npm's own
// start. (fetch-timeout also bounds reading a packument whole: a slow
// link to a huge one needs NPM_CONFIG_FETCH_TIMEOUT in the app's config.)
var npmDefaults = []string{
	"npm_config_prefer_offline=true",
	"npm_config_fetch_retries=1",
	"npm_config_fetch_retry_mintimeout=1000",
	"npm_config_fetch_retry_maxtimeout=1000",
	"npm_config_fetch_timeout=3000",
}

// buildNode installs the app's dependencies, with npm ci when there is a
// lock file, then runs its build script if it has one. npm's cache lives
// in the app's cache directory.
func (s *session) buildNode(ctx context.Context) error {
	env := s.env(append([]string{
		"npm_config_cache=" + filepath.Join(s.cache, "npm"),
		"npm_config_update_notifier=false",
	}, s.unlessSet(npmDefaults...)...)...)
	install := []string{"npm", "install", "--no-audit", "--no-fund"}
	if isFile(filepath.Join(s.tmp, "package-lock.json")) || isFile(filepath.Join(s.tmp, "npm-shrinkwrap.json")) {
		install = []string{"npm", "ci", "--no-audit", "--no-fund"}
	}
	steps := [][]string{install, {"npm", "run", "build", "--if-present"}}
	for _, args := range steps {
		c := command{
			step:   strings.Join(args[:2], " "), // "npm ci"
			header: "Running " + strings.Join(args, " "),
			args:   args,
			env:    env,
		}
		if args[1] != "run" {
			c.hint = indexHint(s.req.App, "NPM_CONFIG_REGISTRY")
		}
		err := s.run(ctx, c)
		if err != nil {
			return err
		}
	}
	return nil
}

// nodeDefaultWeb returns "npm start" when package.json has a start script
// or there is a server.js (npm start's own default). Otherwise it returns a
// hint saying what to add.
func nodeDefaultWeb(dir string) (web, hint string, err error) {
	data, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return "", "", err
	}
	var pkg struct {
		Scripts map[string]string `json:"scripts"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		return "", "", fmt.Errorf("package.json: %w", err)
	}
	if strings.TrimSpace(pkg.Scripts["start"]) != "" || isFile(filepath.Join(dir, "server.js")) {
		return "npm start", "", nil
	}
	return "", "package.json has no scripts.start and there is no server.js: add one, or a Procfile (web: COMMAND)", nil
}
