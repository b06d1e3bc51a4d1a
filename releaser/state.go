package releaser

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/atomicfile"
)

// Spec is a built release, everything needed to run it: the releaser starts
// its processes from it, and keeps the live one's Spec on disk to start it
// again after a restart.
type Spec struct {
	App       string           `json:"app"`
	Version   slipway.Version  `json:"version"`
	Commit    string           `json:"commit"`
	Dir       string           `json:"dir"`
	Procfile  slipway.Procfile `json:"procfile"`
	AppJSON   *slipway.AppJSON `json:"app_json,omitempty"`
	StaticDir string           `json:"static_dir,omitempty"`
	Path      []string         `json:"path,omitempty"`
	// Env is the release's config vars.
	Env map[string]string `json:"env,omitempty"`
}

// appState is what the releaser keeps per app in DataDir/apps/NAME/state.json:
// what it needs to start the app again after a restart. The history of
// releases is in the ReleaseStore.
type appState struct {
	Live *Spec `json:"live,omitempty"`
	// Scale holds instance counts set with ps:scale; they outlive releases.
	Scale map[string]int `json:"scale,omitempty"`
}

func (r *Releaser) appDir(app string) string { return r.layout.AppDir(app) }

func (r *Releaser) statePath(app string) string { return r.layout.LegacyState(app) }

func (r *Releaser) loadState(app string) (appState, error) {
	var st appState
	data, err := os.ReadFile(r.statePath(app))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, err
	}
	return st, nil
}

func (r *Releaser) saveState(app string, st appState) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(r.statePath(app), data, 0o644)
}
