package apps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/builder"
	"github.com/slipway/slipway/internal/atomicfile"
	"github.com/slipway/slipway/releaser"
)

// renameMarker is what DATA/rename.json records while a rename moves an
// app's directories, so that a slipway killed halfway finishes the move
// at its next start (finishRename).
type renameMarker struct {
	Old string `json:"old"`
	New string `json:"new"`
}

func (s *Service) renameMarkerPath() string { return filepath.Join(s.layout.Root, "rename.json") }

// Rename gives app old the name new (apps:rename): its repository,
// releases and their directories, history, config, domains, settings and
// events follow, the router serves it as NEW.<domain> and no longer as
// OLD.<domain>. Like Dokku's, a rename restarts the app: its processes
// stop and the live release starts again from its new directory; the
// sessions pinned to the old name start over.
func (s *Service) Rename(ctx context.Context, old, new string, out io.Writer) error {
	if err := slipway.ValidateAppName(new); err != nil {
		return err
	}
	if old == new {
		return slipway.Errorf(slipway.EINVALID, "%s is already named %s", old, new)
	}
	first, second := old, new
	if second < first {
		first, second = second, first
	}
	unlockFirst, err := s.lock(ctx, first, out)
	if err != nil {
		return err
	}
	defer unlockFirst()
	unlockSecond, err := s.lock(ctx, second, out)
	if err != nil {
		return err
	}
	defer unlockSecond()
	if err := s.exists(ctx, old); err != nil {
		return err
	}
	if err := s.exists(ctx, new); err == nil {
		return slipway.Errorf(slipway.ECONFLICT, "an app named %s exists already: pick another name", new)
	}
	for _, p := range []string{s.layout.Repo(new), s.layout.AppDir(new)} {
		if _, err := os.Lstat(p); err == nil {
			return slipway.Errorf(slipway.ECONFLICT, "%s is being pushed to or was not cleaned up (%s exists): pick another name", new, p)
		}
	}

	// Everything of the old name stops: processes, routes, pages.
	s.endProcesses(ctx, old)
	if s.cfg.Hosts != nil {
		s.cfg.Hosts.SetDomains(old, nil)
	}
	if s.cfg.Pages != nil {
		s.cfg.Pages.SetMaintenance(old, false, nil)
		s.cfg.Pages.SetStopped(old, false)
	}
	s.setUndeployed(old, false)
	s.routeAccessLog(old, true) // a new app of the old name starts with the default
	redirect := s.Redirects(old)
	s.setRedirect(old, true) // a new app of the old name starts with the default
	s.setDrains(old, nil)
	s.mu.Lock()
	delete(s.pending, old) // git writes the refs of the old name's last push in the moved repository
	s.mu.Unlock()

	marker, _ := json.Marshal(renameMarker{Old: old, New: new})
	if err := atomicfile.Write(s.renameMarkerPath(), marker, 0o600); err != nil {
		return err
	}
	oldDir, newDir := s.layout.AppDir(old), s.layout.AppDir(new)
	if err := s.store.RenameApp(ctx, old, new, func(r *slipway.Release) slipway.ReleaseUpdate {
		return movedRelease(r, new, oldDir, newDir)
	}); err != nil {
		os.Remove(s.renameMarkerPath())
		return err
	}
	if s.cfg.Identities != nil {
		s.cfg.Identities.Renamed(old)
	}
	if err := s.moveApp(old, new); err != nil {
		return fmt.Errorf("move the directories of %s to %s: %w", old, new, err)
	}
	os.Remove(s.renameMarkerPath())
	if s.cfg.Certs != nil {
		if err := s.cfg.Certs.RenameManual(old, new); err != nil {
			s.logger.Error("move the app's own certificate", "app", new, "err", err)
		}
	}
	if s.cfg.Keys != nil {
		if err := s.cfg.Keys.RenameApp(old, new); err != nil {
			s.logger.Error("rename the app in authorized_keys", "app", new, "err", err)
		}
	}
	s.event(ctx, new, slipway.EventRename, old+" → "+new)
	s.logger.Info("app renamed", "app", new, "was", old)
	fmt.Fprintf(out, "Renamed %s to %s\n", old, new)

	if err := s.routeDomains(ctx, new); err != nil {
		return err
	}
	s.setRedirect(new, redirect)
	if urls, err := s.drainURLs(ctx, new); err != nil { // they followed in the store
		s.logger.Error("read the log drains", "app", new, "err", err)
	} else {
		s.setDrains(new, urls)
	}
	s.routeAccessLog(new, s.accessLogOn(ctx, new))
	if s.stopped(ctx, new) {
		if s.cfg.Pages != nil {
			s.cfg.Pages.SetStopped(new, true)
		}
		fmt.Fprintf(out, "%s stays stopped: ps:start %s runs it\n", new, new)
	} else {
		rels, err := s.store.ListReleases(ctx, new)
		if err != nil {
			return err
		}
		if live := liveRelease(rels); live == nil {
			s.setUndeployed(new, true)
		} else if err := s.startLive(ctx, live, out); err != nil {
			return err
		} else {
			fmt.Fprintf(out, "%s %s is live\n", new, live.Version)
		}
	}
	fmt.Fprintf(out, "       %s\n       Point your git remote at it: git remote set-url deploy %s\n", s.URL(new), s.GitRemote(new))
	return nil
}

// startLive starts the app's live release with its scale again (ps:start,
// a rename). The caller holds the app's lock.
func (s *Service) startLive(ctx context.Context, live *slipway.Release, out io.Writer) error {
	spec, ok := specOf(live)
	if !ok {
		return errors.New("the live release " + live.Version.String() + " has no runnable build recorded")
	}
	if _, err := os.Stat(spec.Dir); err != nil {
		return slipway.Errorf(slipway.EINVALID, "the directory of %s %s is gone: push again", live.App, live.Version)
	}
	scale, err := s.store.AppScale(ctx, live.App)
	if err != nil {
		return err
	}
	spec.Scale = scale
	if err := s.rel.Release(ctx, spec, out); err != nil {
		return err
	}
	s.refreshMaintenance(ctx, live.App)
	return nil
}

// movedRelease is the change of release r that its app's move from
// oldDir to newDir under the name app makes: every path it records.
func movedRelease(r *slipway.Release, app, oldDir, newDir string) slipway.ReleaseUpdate {
	move := func(p string) string {
		if rest, ok := strings.CutPrefix(p, oldDir); ok && (rest == "" || rest[0] == filepath.Separator) {
			return newDir + rest
		}
		return p
	}
	u := slipway.ReleaseUpdate{Dir: slipway.Set(move(r.Dir)), LogPath: slipway.Set(move(r.LogPath))}
	var spec releaser.Spec
	if len(r.Spec) > 0 && json.Unmarshal(r.Spec, &spec) == nil {
		spec.App, spec.Dir, spec.StaticDir = app, move(spec.Dir), move(spec.StaticDir)
		for i, p := range spec.Path {
			spec.Path[i] = move(p)
		}
		if b, err := json.Marshal(spec); err == nil {
			u.Spec = &b
		}
	}
	return u
}

// moveApp moves the repository and data directory of old to new's names
// and makes the release directories work there. Each step is skipped
// when done, so that finishRename can run it again.
func (s *Service) moveApp(old, new string) error {
	for _, m := range [][2]string{{s.layout.Repo(old), s.layout.Repo(new)}, {s.layout.AppDir(old), s.layout.AppDir(new)}} {
		if _, err := os.Lstat(m[0]); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.Rename(m[0], m[1]); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(s.layout.ReleasesDir(new))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	// A build recorded its directory by the absolute data dir path, and
	// also with symlinks resolved (builder.relocateVenv).
	roots := []string{s.layout.Root}
	if abs, err := filepath.Abs(s.layout.Root); err == nil {
		roots[0] = abs
		if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
			roots = append(roots, real)
		}
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		for _, root := range roots {
			l := slipway.Layout{Root: root}
			if err := builder.Relocate(filepath.Join(l.ReleasesDir(new), e.Name()), filepath.Join(l.ReleasesDir(old), e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// finishRename completes a rename that a slipway killed halfway left (its
// marker is there): when the history has the new name, the directories
// follow it; otherwise nothing had moved yet.
func (s *Service) finishRename(ctx context.Context) {
	data, err := os.ReadFile(s.renameMarkerPath())
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var m renameMarker
	if err != nil || json.Unmarshal(data, &m) != nil || slipway.ValidateAppName(m.Old) != nil || slipway.ValidateAppName(m.New) != nil {
		s.logger.Error("unreadable rename marker: remove it once the app directories are right", "path", s.renameMarkerPath())
		return
	}
	if s.exists(ctx, m.New) == nil && s.exists(ctx, m.Old) != nil {
		if err := s.moveApp(m.Old, m.New); err != nil {
			s.logger.Error("finish renaming an app", "app", m.New, "was", m.Old, "err", err)
			return
		}
		s.logger.Info("finished renaming an app", "app", m.New, "was", m.Old)
	}
	os.Remove(s.renameMarkerPath())
}
