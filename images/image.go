package images

import (
	"runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// emptyOCI is an image with no layer, of OCI's media types
// (go-containerregistry's empty.Image has Docker's).
func emptyOCI() v1.Image {
	return mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1)
}

// withConfig returns img created at created with its config changed by
// edit. An image that names no platform gets linux on this machine's
// architecture, which runtimes and registries' clients want to see.
func withConfig(img v1.Image, created time.Time, edit func(*v1.Config) error) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	if cf.OS == "" {
		cf.OS, cf.Architecture = "linux", runtime.GOARCH
	}
	cf.Created = v1.Time{Time: created.UTC()}
	if err := edit(&cf.Config); err != nil {
		return nil, err
	}
	return mutate.ConfigFile(img, cf)
}
