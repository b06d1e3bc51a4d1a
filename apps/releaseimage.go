package apps

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/builder"
	"github.com/slipway/slipway/images"
	"github.com/slipway/slipway/registry"
	"github.com/slipway/slipway/releaser"
)

// Every release is an image NAME:vN in slipway's registry: its release
// directory as one layer on the stack (--stack), its process types and
// labels, never its config. The image is made after the release went
// live, in the background: a push goes live as fast as before, and the
// image follows within a second or so (images.FromRelease and a push in
// process). An image release (a Dockerfile's) is in the registry already.

// publishQueue bounds the releases waiting for their image.
const publishQueue = 64

// publish queues spec's image; a full queue drops it, logged, and the
// next start makes what is missing.
func (s *Service) publish(spec releaser.Spec) {
	if s.cfg.Registry == nil || s.publishing == nil {
		return
	}
	select {
	case s.publishing <- spec:
	default:
		s.logger.Warn("release image not made: too many waiting; the next start makes it", "app", spec.App, "release", spec.Version.String())
	}
}

// releaseImageNow makes spec's image before it is released, for a
// runtime that pulls it.
func (s *Service) releaseImageNow(ctx context.Context, spec releaser.Spec, out io.Writer) error {
	if s.cfg.Registry == nil {
		return slipway.Errorf(slipway.EINVALID, "releases run from slipway's registry here, and it is off: start slipway with --registry-addr")
	}
	start := time.Now()
	if err := s.makeReleaseImage(ctx, spec); err != nil {
		return fmt.Errorf("the release's image: %w", err)
	}
	fmt.Fprintf(out, "-----> Image %s:%s in slipway's registry (%.1fs)\n", spec.App, spec.Version, time.Since(start).Seconds())
	return nil
}

// startPublishing runs the worker that makes the releases' images, and
// queues the live releases' that are missing (a slipway of before made
// none).
func (s *Service) startPublishing(ctx context.Context) {
	if s.cfg.Registry == nil {
		return
	}
	s.publishing = make(chan releaser.Spec, publishQueue)
	s.background.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case spec := <-s.publishing:
				if err := s.makeReleaseImage(ctx, spec); err != nil && ctx.Err() == nil {
					s.logger.Error("release image", "app", spec.App, "release", spec.Version.String(), "err", err)
				}
			}
		}
	})
	names, err := s.store.ListApps(ctx)
	if err != nil {
		return
	}
	for _, app := range names {
		rels, err := s.store.ListReleases(ctx, app)
		if err != nil {
			continue
		}
		if live := liveRelease(rels); live != nil && live.Dir != "" && !live.Pruned {
			if _, err := s.cfg.Registry.Image(ctx, app, live.Version.String()); errors.Is(err, registry.ErrNotFound) {
				if spec, ok := specOf(live); ok {
					s.publish(spec)
				}
			}
		}
	}
}

// makeReleaseImage makes and pushes spec's image.
func (s *Service) makeReleaseImage(ctx context.Context, spec releaser.Spec) error {
	if spec.Image != nil { // an image release: its image is in the registry
		if _, err := s.cfg.Registry.Image(ctx, spec.App, spec.Version.String()); err == nil || spec.Image.Digest == "" {
			return nil // pushed as it was built or deployed
		}
		// A rollback or config release of it: the same image, its own tag.
		img, err := images.Pull(ctx, registryHost+"/"+spec.App+"@"+spec.Image.Digest, s.cfg.Registry.Transport(), nil)
		if err != nil {
			return err
		}
		return images.Push(ctx, img, registryHost+"/"+spec.App+":"+spec.Version.String(), s.cfg.Registry.Transport(), nil)
	}
	start := time.Now()
	ri := images.ReleaseImage{Dir: spec.Dir, App: spec.App, Version: spec.Version.String(), Commit: spec.Commit,
		Processes: map[string]string{}}
	for _, p := range spec.Procfile {
		ri.Processes[p.Type] = p.Command
	}
	if s.cfg.Stack != "" {
		base, err := images.Pull(ctx, registryHost+"/"+s.cfg.Stack, s.cfg.Registry.Transport(), nil)
		if err != nil {
			return err
		}
		ri.Base = base
	}
	img, err := images.FromRelease(ctx, ri)
	if err != nil {
		return err
	}
	ref := registryHost + "/" + spec.App + ":" + spec.Version.String()
	if err := images.Push(ctx, img, ref, s.cfg.Registry.Transport(), nil); err != nil {
		return err
	}
	s.logger.Info("release image made", "image", spec.App+":"+spec.Version.String(), "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// untag removes app's image of release v, if there is one.
func (s *Service) untag(ctx context.Context, app string, v slipway.Version) {
	if s.cfg.Registry == nil {
		return
	}
	err := s.cfg.Registry.Delete(ctx, app, v.String())
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		s.logger.Error("remove a release's image", "app", app, "release", v.String(), "err", err)
	}
}

// untagAll removes every image of app (apps:destroy).
func (s *Service) untagAll(ctx context.Context, app string) {
	if s.cfg.Registry == nil {
		return
	}
	tags, err := s.cfg.Registry.Tags(ctx, app)
	if err != nil {
		return
	}
	for _, t := range tags {
		if err := s.cfg.Registry.Delete(ctx, app, t); err != nil && !errors.Is(err, registry.ErrNotFound) {
			s.logger.Error("remove an app's image", "app", app, "tag", t, "err", err)
		}
	}
}

// collectImages frees what no tag reaches any more (after a prune).
func (s *Service) collectImages(ctx context.Context) {
	if s.cfg.Registry == nil {
		return
	}
	freed, err := s.cfg.Registry.GC(ctx)
	if err != nil {
		s.logger.Error("registry garbage collection", "err", err)
		return
	}
	if freed > 0 {
		s.logger.Info("registry garbage collected", "freed", slipway.HumanBytes(freed))
	}
}

// pushBuiltImage pushes a Dockerfile build's image to the registry as
// app:vN and returns how its release runs; the build's layout goes.
func (s *Service) pushBuiltImage(ctx context.Context, app string, v slipway.Version, im *builder.ImageRelease, out io.Writer) (*releaser.ImageSpec, error) {
	defer os.RemoveAll(im.Layout)
	spec := &releaser.ImageSpec{Rootfs: im.Rootfs, Entrypoint: im.Entrypoint, Cmd: im.Cmd, Env: im.Env, WorkDir: im.WorkDir, Digest: im.Digest}
	if s.cfg.Registry == nil {
		return spec, nil
	}
	img, err := images.FromLayout(im.Layout)
	if err != nil {
		return nil, err
	}
	if err := images.Push(ctx, img, registryHost+"/"+app+":"+v.String(), s.cfg.Registry.Transport(), nil); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "-----> Image %s:%s (%s) in slipway's registry\n", app, v, slipway.ShortSHA(strings.TrimPrefix(im.Digest, "sha256:"), 12))
	return spec, nil
}

// buildCreds are the registry credentials of the Dockerfile builds in
// progress: user build-APP, a fresh token each build, which may pull the
// app's own images and the imported ones, never another app's.
type buildCreds struct {
	mu sync.Mutex
	m  map[string]string // user → token
}

// buildUserPrefix starts the registry user name of an app's build.
const buildUserPrefix = "build-"

// BuildRegistries gives app's Dockerfile build slipway's registry at addr
// (a loopback address) with a credential of its own, and the func that
// ends it.
func (s *Service) BuildRegistries(app, addr string) ([]builder.Registry, func()) {
	if addr == "" {
		return nil, func() {}
	}
	b := make([]byte, 24)
	rand.Read(b)
	user, token := buildUserPrefix+app, hex.EncodeToString(b)
	s.builds.mu.Lock()
	if s.builds.m == nil {
		s.builds.m = map[string]string{}
	}
	s.builds.m[user] = token
	s.builds.mu.Unlock()
	return []builder.Registry{{Host: addr, Insecure: true, Username: user, Password: token}}, func() {
		s.builds.mu.Lock()
		if s.builds.m[user] == token {
			delete(s.builds.m, user)
		}
		s.builds.mu.Unlock()
	}
}

// CheckBuildToken reports whether user and token are a build's in
// progress.
func (s *Service) CheckBuildToken(user, token string) bool {
	s.builds.mu.Lock()
	want, ok := s.builds.m[user]
	s.builds.mu.Unlock()
	return ok && subtle.ConstantTimeCompare([]byte(want), []byte(token)) == 1
}

// RegistryReach limits what a registry user may pull: a build's, the
// app's own images and those that are no app's; others, every one.
func (s *Service) RegistryReach(user string) func(repo string) bool {
	app, ok := strings.CutPrefix(user, buildUserPrefix)
	if !ok {
		return nil
	}
	return func(repo string) bool {
		return repo == app || !s.isApp(context.Background(), repo)
	}
}

// SetBuilder sets how the app's pushes are built (builder:set).
func (s *Service) SetBuilder(ctx context.Context, app, how string) error {
	if how != builder.BuilderAuto && how != builder.BuilderDockerfile && how != builder.BuilderHost {
		return slipway.Errorf(slipway.EINVALID, "builder %q: use dockerfile, host or auto", slipway.OneLine(how, 20))
	}
	unlock, err := s.acquire(ctx, app, io.Discard)
	if err != nil {
		return err
	}
	defer unlock()
	value := how
	if how == builder.BuilderAuto {
		value = ""
	}
	if err := s.store.SetAppSetting(ctx, app, slipway.SettingBuilder, value); err != nil {
		return err
	}
	s.event(ctx, app, slipway.EventBuilder, how)
	return nil
}

// DeployImage deploys image (NAME:TAG of slipway's registry) as app's next
// release (git:from-image): no build, the image unpacked and run as a
// Dockerfile app's is, health-gated like any release; its image is also
// tagged app:vN.
func (s *Service) DeployImage(ctx context.Context, app, ref string, out io.Writer) (err error) {
	reg, err := s.registry()
	if err != nil {
		return err
	}
	repo, tag, err := parseImageRef(ref)
	if err != nil {
		return slipway.Errorf(slipway.EINVALID, "%v", err)
	}
	if repo != app && s.isApp(ctx, repo) {
		// A key that may reach this app only must not run another's code.
		return slipway.Errorf(slipway.EINVALID, "%s:%s is app %s's release: an app deploys its own images (rollback) or imported ones", repo, tag, repo)
	}
	unlock, err := s.acquire(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	img, err := images.Pull(ctx, registryHost+"/"+repo+":"+tag, reg.Transport(), nil)
	if errors.Is(err, images.ErrNotFound) {
		return slipway.Errorf(slipway.ENOTFOUND, "no image %s:%s in slipway's registry: images:list shows them, images:import adds one", repo, tag)
	}
	if err != nil {
		return err
	}
	config, err := s.store.AppConfig(ctx, app)
	if err != nil {
		return err
	}
	by := slipway.CallerName(ctx, "admin")
	rel := &slipway.Release{App: app, Kind: slipway.KindPush, Status: slipway.StatusBuilding,
		Subject: slipway.Truncate("git:from-image "+repo+":"+tag, slipway.MaxSubjectLen), PusherComment: by, Config: config}
	out, closeLog, err := s.create(rel, out)
	if err != nil {
		return err
	}
	defer closeLog()
	v := rel.Version
	defer s.notifyReleaseDone(slipway.WebhookDeploy, app, v, by, &err)
	fmt.Fprintf(out, "-----> Deploying %s from the image %s:%s as %s\n", app, repo, tag, v)
	start := time.Now()
	fb, ok := s.cfg.Builder.(interface {
		FromImage(ctx context.Context, app string, v slipway.Version, img v1.Image, out io.Writer) (*builder.Release, error)
	})
	if !ok {
		err := slipway.Errorf(slipway.EINVALID, "this slipway's builder cannot deploy images")
		s.fail(app, v, err)
		return err
	}
	built, err := fb.FromImage(ctx, app, v, img, out)
	took := time.Since(start)
	if err != nil {
		failed := slipway.Failed(time.Now(), slipway.ErrorMessage(err))
		failed.BuildDuration = &took
		s.update(app, v, failed)
		return fmt.Errorf("%s %s: %w", app, v, err)
	}
	s.update(app, v, slipway.ReleaseUpdate{BuildDuration: &took, Dir: &built.Dir})
	if err := images.Push(ctx, img, registryHost+"/"+app+":"+v.String(), reg.Transport(), nil); err != nil {
		s.fail(app, v, err)
		return err
	}
	im := built.Image
	err = s.release(ctx, releaser.Spec{App: app, Version: v, Dir: built.Dir, Procfile: built.Procfile, Env: config,
		Image: &releaser.ImageSpec{Rootfs: im.Rootfs, Entrypoint: im.Entrypoint, Cmd: im.Cmd, Env: im.Env, WorkDir: im.WorkDir, Digest: im.Digest}}, true, out)
	if err != nil {
		return fmt.Errorf("%s %s: %w", app, v, err)
	}
	s.refreshMaintenance(ctx, app)
	if s.stopped(ctx, app) {
		s.setStopped(ctx, app, false)
	}
	s.logger.Info("image deployed", "app", app, "release", v.String(), "image", repo+":"+tag, "by", by)
	fmt.Fprintf(out, "-----> %s is live at %s (%.1fs)\n", v, s.URL(app), time.Since(start).Seconds())
	return nil
}
