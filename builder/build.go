package builder

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/slipway/slipway"
)

// Build builds the commit req.Commit into the read-only release directory
// ReleaseDir(req.App, req.Version), writing step headers ("-----> …") and
// the build commands' output, indented, to out as they happen; out may be
// nil. The whole build runs under ctx and the Builder's time limit.
//
// Every error wraps slipway.ErrBuildFailed and is one line naming the
// failing step ("build failed: go build: exit status 1"); the details are
// in the output. After an error no release directory and no temporary
// directory are left behind. Build fails when the release already exists.
func (b *Builder) Build(ctx context.Context, req Request, out io.Writer) (*Release, error) {
	start := time.Now()
	s := &session{
		b:   b,
		req: req,
		out: newStream(out),
		log: b.log.With("app", req.App, "release", req.Version.String()),
	}
	ctx, cancel := context.WithTimeoutCause(ctx, b.timeout, errTimedOut)
	defer cancel()

	s.log.Info("build started", "commit", req.Commit)
	rel, err := s.build(ctx)
	if err != nil {
		s.log.Warn("build failed", "err", err, "duration", time.Since(start))
		return nil, err
	}
	rel.Duration = time.Since(start)
	s.out.header("Build succeeded in %s", roundDuration(rel.Duration))
	s.log.Info("build succeeded", "kind", rel.Kind, "dir", rel.Dir, "duration", rel.Duration)
	return rel, nil
}

func (s *session) build(ctx context.Context) (*Release, error) {
	if err := checkRequest(s.req); err != nil {
		return nil, err
	}
	s.final = s.b.ReleaseDir(s.req.App, s.req.Version)
	s.cache = s.b.cacheDir(s.req.App)
	if _, err := os.Lstat(s.final); err == nil {
		return nil, failf(fs.ErrExist, "release %s already exists", s.req.Version)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, failf(err, "prepare: %v", err)
	}
	for _, d := range []string{filepath.Dir(s.final), s.home()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, failf(err, "prepare: %v", err)
		}
	}
	tmp, err := os.MkdirTemp(filepath.Dir(s.final), "."+s.req.Version.String()+".tmp-")
	if err != nil {
		return nil, failf(err, "prepare: %v", err)
	}
	s.tmp = tmp
	done := false
	defer func() {
		if done {
			return
		}
		if err := Remove(tmp); err != nil {
			s.log.Error("remove unfinished release", "dir", tmp, "err", err)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp makes it 0700
		return nil, failf(err, "prepare: %v", err)
	}

	s.out.header("Building %s %s from commit %s", s.req.App, s.req.Version, slipway.ShortSHA(s.req.Commit, 12))
	if err := s.export(ctx); err != nil {
		return nil, err
	}
	if s.b.sandbox != nil {
		if s.sandbox, err = s.b.sandbox(s.req.App, "build"); err != nil {
			return nil, failf(err, "prepare: sandbox: %v", err)
		}
		if s.sandbox.UID != 0 { // the build steps run as the app's own user
			if err := chownTree(tmp, int(s.sandbox.UID), int(s.sandbox.GID)); err != nil {
				return nil, failf(err, "prepare: %v", err)
			}
		}
	}
	app, procfile, err := readManifests(tmp)
	if err != nil {
		return nil, err
	}
	det, err := detectWith(tmp, app, s.req.Builder)
	if err != nil {
		return nil, failf(err, "%v", err)
	}
	s.out.header("Detected %s", det.label)
	if det.kind == KindDockerfile {
		im, procfile, err := s.buildImage(ctx)
		if err != nil {
			return nil, err
		}
		if err := sealImage(tmp, s.final); err != nil {
			return nil, failf(err, "seal release: %v", err)
		}
		done = true
		return &Release{Dir: s.final, Kind: det.kind, AppJSON: app, Procfile: procfile, Image: im}, nil
	}
	if _, ok := procfile.Command("web"); !ok && det.kind == KindPython {
		return nil, failf(nil, pythonNoWeb) // before a long pip install
	}
	if err := s.compile(ctx, det, app); err != nil {
		return nil, err
	}

	rel := &Release{Dir: s.final, Kind: det.kind, AppJSON: app}
	if rel.Procfile, rel.StaticDir, err = s.processTypes(det, procfile); err != nil {
		return nil, err
	}
	if det.kind == KindPython {
		if err := s.relocateVenv(); err != nil {
			return nil, failf(err, "%v", err)
		}
	}
	rel.Path = releasePath(tmp, s.final)

	if ctx.Err() != nil {
		return nil, interrupted(ctx, "seal", s.b.timeout)
	}
	gid := -1 // the release's group: the app's, when it has its own identity
	if s.sandbox != nil && s.sandbox.UID != 0 {
		gid = int(s.sandbox.GID)
	}
	if err := seal(tmp, s.final, gid, s.log); err != nil {
		return nil, failf(err, "seal release: %v", err)
	}
	done = true
	return rel, nil
}

// compile runs the build steps of the detected kind in s.tmp.
func (s *session) compile(ctx context.Context, det detection, app *slipway.AppJSON) error {
	switch det.kind {
	case KindCustom:
		return s.buildCustom(ctx, app.Scripts.Build)
	case KindGo:
		return s.buildGo(ctx)
	case KindNode:
		return s.buildNode(ctx)
	case KindPython:
		return s.buildPython(ctx)
	}
	return nil // Procfile apps and static sites have nothing to build
}

// relocateVenv makes the virtualenv created in s.tmp work in s.final,
// under the name the venv recorded and the one with symlinks resolved.
func (s *session) relocateVenv() error {
	venv := filepath.Join(s.tmp, venvDir)
	if err := relocateVenv(venv, s.tmp, s.final); err != nil {
		return err
	}
	realTmp, err := filepath.EvalSymlinks(s.tmp)
	if err != nil || realTmp == s.tmp {
		return err
	}
	realParent, err := filepath.EvalSymlinks(filepath.Dir(s.final))
	if err != nil {
		return err
	}
	return relocateVenv(venv, realTmp, filepath.Join(realParent, filepath.Base(s.final)))
}
