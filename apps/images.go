package apps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/images"
	"github.com/slipway/slipway/registry"
)

// registryHost is the host name of in-process requests to the registry:
// they never reach the network.
const registryHost = "slipway.internal"

// ListImages lists every tagged image of the registry: the releases'
// (repository = app) and the imported ones.
func (s *Service) ListImages(ctx context.Context) ([]slipway.ImageSummary, error) {
	reg, err := s.registry()
	if err != nil {
		return nil, err
	}
	repos, err := reg.Repositories(ctx)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	if list, err := s.store.ListApps(ctx); err == nil {
		for _, a := range list {
			known[a] = true
		}
	}
	var out []slipway.ImageSummary
	for _, repo := range repos {
		tags, err := reg.Tags(ctx, repo)
		if err != nil {
			return nil, err
		}
		slices.SortFunc(tags, compareTags)
		for _, tag := range tags {
			im, err := reg.Image(ctx, repo, tag)
			if errors.Is(err, registry.ErrNotFound) {
				continue // untagged meanwhile
			}
			if err != nil {
				return nil, err
			}
			sum := slipway.ImageSummary{Repository: repo, Tag: tag, Digest: im.Digest, Size: im.Size}
			if known[repo] && isVersionTag(tag) {
				sum.App = repo
			}
			out = append(out, sum)
		}
	}
	return out, nil
}

// isVersionTag reports whether tag names a release: vN.
func isVersionTag(tag string) bool {
	_, err := slipway.ParseVersion(tag)
	return err == nil && strings.HasPrefix(tag, "v")
}

// compareTags orders releases by number, newest first, then the others
// by name.
func compareTags(a, b string) int {
	va, ea := slipway.ParseVersion(a)
	vb, eb := slipway.ParseVersion(b)
	switch {
	case ea == nil && eb == nil:
		return int(vb) - int(va)
	case ea == nil:
		return -1
	case eb == nil:
		return 1
	}
	return strings.Compare(a, b)
}

// ImportImage adds the images of a `docker save` or OCI-layout tarball to
// the registry.
func (s *Service) ImportImage(ctx context.Context, ref string, r io.Reader, out io.Writer) error {
	reg, err := s.registry()
	if err != nil {
		return err
	}
	var repo, tag string
	if ref != "" {
		if repo, tag, err = parseImageRef(ref); err != nil {
			return slipway.Errorf(slipway.EINVALID, "%v", err)
		}
		if s.isApp(ctx, repo) {
			return slipway.Errorf(slipway.EINVALID, "%s is an app's name: its images are its releases; import under another name", repo)
		}
	}
	tmp, err := os.MkdirTemp(s.layout.Root, ".import-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	found, err := images.Import(r, tmp, s.cfg.MaxImageSize)
	if err != nil {
		return slipway.Errorf(slipway.EINVALID, "%v", err)
	}
	if ref != "" && len(found) != 1 {
		return slipway.Errorf(slipway.EINVALID, "the tarball holds %d images: give no NAME:TAG to import each as it is named", len(found))
	}
	for _, im := range found {
		r, t := repo, tag
		if ref == "" {
			if im.Tag == "" {
				return slipway.Errorf(slipway.EINVALID, "an image of the tarball has no name: give one (images:import NAME:TAG < image.tar)")
			}
			if r, t, err = parseImageRef(im.Tag); err != nil {
				return slipway.Errorf(slipway.EINVALID, "the tarball names an image %q: %v; give a name (images:import NAME:TAG)", slipway.OneLine(im.Tag, 60), err)
			}
			if s.isApp(ctx, r) {
				return slipway.Errorf(slipway.EINVALID, "the tarball's image %s has an app's name: import it under another (images:import NAME:TAG)", im.Tag)
			}
		}
		if err := images.Push(ctx, im.Image, registryHost+"/"+r+":"+t, reg.Transport(), nil); err != nil {
			return err
		}
		desc, err := reg.Image(ctx, r, t)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "imported %s:%s (%s, %s)\n", r, t, desc.Digest, slipway.HumanBytes(desc.Size))
		s.logger.Info("image imported", "image", r+":"+t, "digest", desc.Digest, "size", desc.Size)
	}
	return nil
}

// imageRepo and imageTag are the shapes of a repository name (path
// components of lower-case letters, digits and separators, as the
// distribution spec has them) and of a tag.
var (
	imageRepo = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)
	imageTag  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// parseImageRef reads NAME[:TAG] (the tag "latest" when left out) of an
// image of slipway's own registry: no other host.
func parseImageRef(ref string) (repo, tag string, err error) {
	repo, tag = ref, "latest"
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		repo, tag = ref[:i], ref[i+1:]
	}
	if strings.Contains(repo, ".") && strings.Contains(repo, "/") && strings.Index(repo, ".") < strings.Index(repo, "/") {
		return "", "", fmt.Errorf("image %q names another registry: slipway's own holds NAME:TAG", slipway.OneLine(ref, 80))
	}
	if len(repo) > 200 || !imageRepo.MatchString(repo) || !imageTag.MatchString(tag) {
		return "", "", fmt.Errorf("image %q: want NAME:TAG, such as busybox:latest (lower-case name, tag of letters, digits, dots, dashes)", slipway.OneLine(ref, 80))
	}
	return repo, tag, nil
}

// isApp reports whether name is an app's.
func (s *Service) isApp(ctx context.Context, name string) bool {
	list, err := s.store.ListApps(ctx)
	return err == nil && slices.Contains(list, name)
}

// registry returns the registry, or a line that says there is none.
func (s *Service) registry() (*registry.Registry, error) {
	if s.cfg.Registry == nil {
		return nil, slipway.Errorf(slipway.EINVALID, "this slipway keeps no images: it runs without its registry")
	}
	return s.cfg.Registry, nil
}

// CreatePullToken makes a read-only pull token for the registry.
func (s *Service) CreatePullToken(ctx context.Context, label string) (string, error) {
	tok, err := s.pullTokens().create(label, time.Now())
	if err == nil {
		s.logger.Info("registry pull token made", "label", label, "by", slipway.CallerName(ctx, "admin"))
	}
	return tok, err
}

// PullTokens lists the pull tokens.
func (s *Service) PullTokens(ctx context.Context) ([]slipway.PullToken, error) {
	return s.pullTokens().list()
}

// RevokePullToken removes a pull token.
func (s *Service) RevokePullToken(ctx context.Context, label string) error {
	err := s.pullTokens().revoke(label)
	if err == nil {
		s.logger.Info("registry pull token revoked", "label", label, "by", slipway.CallerName(ctx, "admin"))
	}
	return err
}

// CheckPullToken reports whether token is one of the registry's pull
// tokens (for the registry's authentication).
func (s *Service) CheckPullToken(token string) bool { return s.pullTokens().check(token) }

func (s *Service) pullTokens() *pullTokens {
	s.tokensOnce.Do(func() { s.tokens = &pullTokens{path: s.layout.PullTokens()} })
	return s.tokens
}
