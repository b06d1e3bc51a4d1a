package images

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// FromLayout returns the one image of the OCI image layout directory dir
// (what `buildah push … oci:DIR` writes).
func FromLayout(dir string) (v1.Image, error) {
	lp, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("read the image layout %s: %w", dir, err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("read the image layout %s: %w", dir, err)
	}
	man, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read the image layout %s: %w", dir, err)
	}
	if len(man.Manifests) != 1 {
		return nil, fmt.Errorf("the image layout %s holds %d images, want one", dir, len(man.Manifests))
	}
	return idx.Image(man.Manifests[0].Digest)
}
