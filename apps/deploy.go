package apps

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/builder"
	"github.com/slipway/slipway/gitserver"
	"github.com/slipway/slipway/releaser"
)

var _ gitserver.Deployer = (*Service)(nil)

// Deploy implements gitserver.Deployer: it turns a push into a live
// release. Under the app's lock it checks that the branch still has the
// value the push expects (another push may have moved it while this one
// waited), records the release, builds it, runs its release phase and
// switches to it. Progress goes to out and to the release's log.
func (s *Service) Deploy(ctx context.Context, p gitserver.Push, out io.Writer) (err error) {
	start := time.Now()
	unlock, err := s.lock(ctx, p.App, out)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.checkRef(ctx, p); err != nil {
		return err
	}
	prior, _ := s.store.ListReleases(ctx, p.App)
	rejected := func(err error) error {
		if liveRelease(prior) == nil {
			return gitserver.NoLiveRelease(err)
		}
		return err
	}
	commit, err := gitserver.ReadCommit(ctx, p.RepoDir, p.GitEnv, p.NewSHA)
	if err != nil {
		return err
	}
	config, err := s.store.AppConfig(ctx, p.App)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND { // the first push creates the app
		config, err = map[string]string{}, nil
	}
	if err != nil {
		return err
	}
	rel := &slipway.Release{
		App: p.App, Kind: slipway.KindPush, Status: slipway.StatusBuilding,
		Commit: commit.SHA, Subject: slipway.Truncate(commit.Subject, slipway.MaxSubjectLen), Author: slipway.Truncate(commit.Author, slipway.MaxAuthorLen),
		PusherFingerprint: p.Pusher.Fingerprint, PusherComment: p.Pusher.Comment,
		Config: config,
	}
	out, closeLog, err := s.create(rel, out)
	if err != nil {
		return err
	}
	defer closeLog()
	v := rel.Version
	defer s.notifyReleaseDone(slipway.WebhookDeploy, p.App, v, p.Pusher.String(), &err)
	log := s.logger.With("app", p.App, "release", v.String(), "commit", p.NewSHA)
	log.Info("deploy started", "pusher", p.Pusher.String(), "ref", p.Ref)
	fmt.Fprintf(out, "-----> Deploying %s %s as %s: %s\n", p.App, slipway.ShortSHA(commit.SHA, 7), v, slipway.OneLine(commit.Subject, 72))
	how, _ := s.store.AppSetting(ctx, p.App, slipway.SettingBuilder)
	built, err := s.cfg.Builder.Build(ctx, builder.Request{
		App: p.App, Version: v, Commit: p.NewSHA, RepoDir: p.RepoDir, GitEnv: p.GitEnv, Env: config, Builder: how,
	}, out)
	var image *releaser.ImageSpec
	if err == nil && built.Image != nil {
		image, err = s.pushBuiltImage(ctx, p.App, v, built.Image, out)
	}
	took := time.Since(start)
	if err != nil {
		log.Info("deploy failed", "step", "build", "err", err)
		failed := slipway.Failed(time.Now(), slipway.ErrorMessage(err))
		failed.BuildDuration = &took
		s.update(p.App, v, failed)
		s.deployed(false, took)
		return rejected(fmt.Errorf("%s %s: %w", p.App, v, err))
	}
	s.update(p.App, v, slipway.ReleaseUpdate{BuildDuration: &took, Dir: &built.Dir})
	if err := s.recordBranch(ctx, p); err != nil { // see branch.go
		log.Info("deploy failed", "step", "keep the pushed objects", "err", err)
		s.fail(p.App, v, err)
		s.deployed(false, took)
		return rejected(fmt.Errorf("%s %s: %w", p.App, v, err))
	}
	err = s.release(ctx, releaser.Spec{
		App: p.App, Version: v, Commit: p.NewSHA, Dir: built.Dir,
		Procfile: built.Procfile, AppJSON: built.AppJSON, StaticDir: built.StaticDir, Path: built.Path,
		Env: config, Image: image,
	}, true, out)
	if err != nil {
		log.Info("deploy failed", "step", "release", "err", err)
		s.deployed(false, took)
		return rejected(fmt.Errorf("%s %s: %w", p.App, v, err))
	}
	s.accepted(p)
	s.deployed(true, took)
	s.refreshMaintenance(ctx, p.App)
	if s.stopped(ctx, p.App) { // a push runs a stopped app again
		s.setStopped(ctx, p.App, false)
	}
	took = time.Since(start)
	log.Info("deploy done", "took", took.Round(time.Millisecond).String())
	fmt.Fprintf(out, "-----> %s is live at %s (%.1fs)\n", v, s.URL(p.App), took.Seconds())
	s.holdAnswer(p.App)
	return nil
}

// release runs spec's release phase (unless phase is false: a rollback
// reuses a build that already went through it) and switches to it, with
// the app's scale. A failure is recorded in the history. Callers hold the
// app's lock.
func (s *Service) release(ctx context.Context, spec releaser.Spec, phase bool, out io.Writer) error {
	scale, err := s.store.AppScale(ctx, spec.App)
	if err != nil {
		s.fail(spec.App, spec.Version, err)
		return err
	}
	spec.Scale = scale
	ir, ok := s.rel.(imageRuntime)
	imageFirst := ok && ir.RunsImages()
	if imageFirst {
		if err := s.releaseImageNow(ctx, spec, out); err != nil {
			s.fail(spec.App, spec.Version, err)
			return err
		}
	}
	if phase {
		err = s.rel.ReleasePhase(ctx, spec, out)
	}
	if err == nil {
		err = s.rel.Release(ctx, spec, out)
	}
	if err != nil {
		s.fail(spec.App, spec.Version, err)
		return err
	}
	s.setUndeployed(spec.App, false)
	if !imageFirst {
		s.publish(spec)
	}
	return nil
}

// setUndeployed tells the router whether app exists with no release yet,
// for the page it answers while the app has none.
func (s *Service) setUndeployed(app string, undeployed bool) {
	if s.cfg.Pages != nil {
		s.cfg.Pages.SetUndeployed(app, undeployed)
	}
}

func (s *Service) deployed(ok bool, took time.Duration) {
	if s.cfg.OnDeploy != nil {
		s.cfg.OnDeploy(ok, took)
	}
}

// refUpdate is a deployed push whose ref git has not moved yet: git
// updates the ref only once the pre-receive hook has answered, which is
// after the app's lock is released.
type refUpdate struct {
	ref, old, new string
	at            time.Time
}

// refWriteBound is how long git may take to write a deployed push's ref;
// a ref still at its old value after that was never written (git failed
// after the hook), and counts as it is.
const refWriteBound = 30 * time.Second

// checkRef refuses a push whose branch moved while it waited for the
// app's lock, as git itself would refuse the stale ref update after the
// deploy: the live release and the branch must never disagree. The branch
// is taken to have the value of the last deployed push until git has
// written it.
func (s *Service) checkRef(ctx context.Context, p gitserver.Push) error {
	cur, err := gitserver.RefValue(ctx, p.RepoDir, p.Ref)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if u, ok := s.pending[p.App]; ok && u.ref == p.Ref {
		if cur == u.old && time.Since(u.at) < refWriteBound {
			cur = u.new
		} else {
			delete(s.pending, p.App)
		}
	}
	s.mu.Unlock()
	if cur != p.OldSHA {
		branch := strings.TrimPrefix(p.Ref, "refs/heads/")
		return slipway.Errorf(slipway.ECONFLICT, "%s moved while you waited: fetch, merge and push again", branch)
	}
	return nil
}

// accepted remembers that git is about to move p's ref to the deployed
// commit.
func (s *Service) accepted(p gitserver.Push) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == nil {
		s.pending = map[string]refUpdate{}
	}
	s.pending[p.App] = refUpdate{ref: p.Ref, old: p.OldSHA, new: p.NewSHA, at: time.Now()}
}
