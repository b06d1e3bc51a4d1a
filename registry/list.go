package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/distribution/distribution/v3"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Image is what images:list shows of one tag.
type Image struct {
	Repo, Tag string
	// Digest is the manifest's (or index's) digest: what a pull by
	// digest names.
	Digest string
	// MediaType is the manifest's media type.
	MediaType string
	// Size is the bytes of the image's config and layers as stored,
	// each counted once (for an index, over all its images).
	Size int64
}

// Repositories lists, sorted, the repositories that hold at least one tag.
func (r *Registry) Repositories(ctx context.Context) ([]string, error) {
	enum, ok := r.ns.(distribution.RepositoryEnumerator)
	if !ok {
		return nil, errors.New("registry: storage cannot list repositories")
	}
	var repos []string
	err := enum.Enumerate(ctx, func(name string) error {
		tags, err := r.Tags(ctx, name)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if len(tags) > 0 {
			repos = append(repos, name)
		}
		return nil
	})
	if err != nil && !errors.As(err, new(storagedriver.PathNotFoundError)) {
		return nil, fmt.Errorf("registry: list repositories: %w", err)
	}
	slices.Sort(repos)
	return repos, nil
}

// Tags lists repo's tags, sorted; ErrNotFound if it has none.
func (r *Registry) Tags(ctx context.Context, repo string) ([]string, error) {
	rep, err := r.repository(ctx, repo)
	if err != nil {
		return nil, err
	}
	tags, err := rep.Tags(ctx).All(ctx)
	if err != nil {
		return nil, notFound(err, repo)
	}
	slices.Sort(tags)
	return tags, nil
}

// Image describes repo:tag; ErrNotFound if there is no such tag.
func (r *Registry) Image(ctx context.Context, repo, tag string) (Image, error) {
	rep, err := r.repository(ctx, repo)
	if err != nil {
		return Image{}, err
	}
	desc, err := rep.Tags(ctx).Get(ctx, tag)
	if err != nil {
		return Image{}, notFound(err, repo+":"+tag)
	}
	ms, err := rep.Manifests(ctx)
	if err != nil {
		return Image{}, fmt.Errorf("registry: %w", err)
	}
	img := Image{Repo: repo, Tag: tag, Digest: desc.Digest.String()}
	m, err := ms.Get(ctx, desc.Digest)
	if err != nil {
		return Image{}, notFound(err, repo+":"+tag)
	}
	img.MediaType, _, _ = m.Payload()
	img.Size, err = r.imageSize(ctx, rep, ms, m, map[digest.Digest]bool{})
	if err != nil {
		return Image{}, fmt.Errorf("registry: size of %s:%s: %w", repo, tag, err)
	}
	return img, nil
}

// manifestTypes are the media types of what references other manifests
// or is itself a manifest, not a blob of an image.
var manifestTypes = map[string]bool{
	v1.MediaTypeImageManifest:                                   true,
	v1.MediaTypeImageIndex:                                      true,
	"application/vnd.docker.distribution.manifest.v2+json":      true,
	"application/vnd.docker.distribution.manifest.list.v2+json": true,
}

func (r *Registry) imageSize(ctx context.Context, rep distribution.Repository, ms distribution.ManifestService, m distribution.Manifest, seen map[digest.Digest]bool) (int64, error) {
	var total int64
	for _, d := range m.References() {
		if seen[d.Digest] {
			continue
		}
		seen[d.Digest] = true
		if manifestTypes[d.MediaType] {
			child, err := ms.Get(ctx, d.Digest)
			if err != nil {
				continue // an index may name images the registry lacks
			}
			n, err := r.imageSize(ctx, rep, ms, child, seen)
			if err != nil {
				return 0, err
			}
			total += n
			continue
		}
		desc, err := rep.Blobs(ctx).Stat(ctx, d.Digest)
		if err != nil {
			return 0, err
		}
		total += desc.Size
	}
	return total, nil
}

// blobSize is the stored size of a blob linked into repo.
func (r *Registry) blobSize(ctx context.Context, repo string, d digest.Digest) (int64, error) {
	if d.Validate() != nil {
		return 0, ErrNotFound
	}
	rep, err := r.repository(ctx, repo)
	if err != nil {
		return 0, err
	}
	desc, err := rep.Blobs(ctx).Stat(ctx, d)
	if err != nil {
		return 0, err
	}
	return desc.Size, nil
}

func (r *Registry) repository(ctx context.Context, repo string) (distribution.Repository, error) {
	named, err := reference.WithName(repo)
	if err != nil {
		return nil, fmt.Errorf("registry: %q is not a repository name: %w", repo, err)
	}
	rep, err := r.ns.Repository(ctx, named)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	return rep, nil
}

// notFound turns distribution's unknown-tag and unknown-repository errors
// into ErrNotFound.
func notFound(err error, what string) error {
	if errors.As(err, new(distribution.ErrTagUnknown)) || errors.As(err, new(distribution.ErrRepositoryUnknown)) ||
		errors.As(err, new(distribution.ErrManifestUnknownRevision)) || errors.As(err, new(storagedriver.PathNotFoundError)) ||
		errors.Is(err, distribution.ErrBlobUnknown) {
		return fmt.Errorf("registry: %s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("registry: %s: %w", what, err)
}
