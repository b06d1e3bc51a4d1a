package releaser

import (
	"strings"

	"github.com/slipway/slipway"
)

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
	// Image, for an image release (a Dockerfile's, git:from-image), is
	// the unpacked image its processes run in, with runc; nil for a
	// release that runs from its directory on the host.
	Image *ImageSpec `json:"image,omitempty"`
}

// ImageSpec is how an image release runs: its image unpacked in
// Dir/rootfs, and the image's own command and settings.
type ImageSpec struct {
	Rootfs     string   `json:"rootfs"`
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	Env        []string `json:"env,omitempty"`
	WorkDir    string   `json:"workdir,omitempty"`
	// Digest is the image's manifest digest in slipway's registry.
	Digest string `json:"digest,omitempty"`
}

// DefaultArgs is the image's own command: its ENTRYPOINT and CMD.
func (im *ImageSpec) DefaultArgs() []string {
	return append(append([]string(nil), im.Entrypoint...), im.Cmd...)
}

// DefaultCommand is how the Procfile of an image with none shows the
// image's own command (its web process): run as DefaultArgs, not by a
// shell.
func (im *ImageSpec) DefaultCommand() string {
	return strings.Join(im.DefaultArgs(), " ")
}
