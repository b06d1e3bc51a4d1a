package releaser

import "github.com/slipway/slipway"

// Spec is a built release, everything needed to run it. The application
// layer keeps the live one's Spec in the history (Release.Spec) to start
// it again after a restart.
type Spec struct {
	App       string           `json:"app"`
	Version   slipway.Version  `json:"version"`
	Commit    string           `json:"commit"`
	Dir       string           `json:"dir"`
	Procfile  slipway.Procfile `json:"procfile"`
	AppJSON   *slipway.AppJSON `json:"app_json,omitempty"`
	StaticDir string           `json:"static_dir,omitempty"`
	Path      []string         `json:"path,omitempty"`
	// Env is the release's config vars: kept in the history's config
	// column, not in the stored spec.
	Env map[string]string `json:"-"`
	// Scale is the app's instance counts set with ps:scale, by process
	// type; types it lacks run app.json's quantity.
	Scale map[string]int `json:"-"`
}
