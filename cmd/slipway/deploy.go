package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unicode"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/builder"
	"github.com/slipway/slipway/gitserver"
	"github.com/slipway/slipway/metrics"
	"github.com/slipway/slipway/releaser"
)

// deployer turns a push into a live release: record, build, release. It
// is the wiring between gitserver, builder, releaser and the history.
type deployer struct {
	builder  *builder.Builder
	releaser *releaser.Releaser
	store    releaser.Store
	dataDir  string
	domain   string
	httpAddr func() string // the router's bound address, for the app URL
	metrics  *metrics.Metrics
	logger   *slog.Logger
}

var _ gitserver.Deployer = (*deployer)(nil)

// Deploy implements gitserver.Deployer.
func (d *deployer) Deploy(ctx context.Context, p gitserver.Push, out io.Writer) error {
	start := time.Now()
	unlock, err := d.releaser.Lock(ctx, p.App, out)
	if err != nil {
		return err
	}
	defer unlock()
	commit, err := gitserver.ReadCommit(ctx, p.RepoDir, p.GitEnv, p.NewSHA)
	if err != nil {
		return err
	}
	rel := &slipway.Release{
		App: p.App, Kind: slipway.KindPush, Status: slipway.StatusBuilding,
		Commit: commit.SHA, Subject: commit.Subject, Author: commit.Author,
		PusherFingerprint: p.Pusher.Fingerprint, PusherComment: p.Pusher.Comment,
	}
	if err := d.store.CreateRelease(ctx, rel); err != nil {
		return err
	}
	v := rel.Version
	if rel.Config, err = d.store.AppConfig(ctx, p.App); err != nil {
		return err
	}
	out, closeLog := d.buildLog(rel, out)
	defer closeLog()
	log := d.logger.With("app", p.App, "release", v.String(), "commit", p.NewSHA)
	log.Info("deploy started", "pusher", p.Pusher.String(), "ref", p.Ref)
	fmt.Fprintf(out, "-----> Deploying %s %s as %s: %s\n", p.App, commit.SHA[:7], v, oneLine(commit.Subject, 72))
	built, err := d.builder.Build(ctx, builder.Request{
		App: p.App, Version: v, Commit: p.NewSHA, RepoDir: p.RepoDir, GitEnv: p.GitEnv,
	}, out)
	rel.BuildDuration = time.Since(start)
	if err != nil {
		log.Info("deploy failed", "step", "build", "err", err)
		rel.Status, rel.FinishedAt, rel.Failure = slipway.StatusFailed, time.Now(), slipway.ErrorMessage(err)
		d.record(rel)
		d.metrics.Deploy(false, rel.BuildDuration)
		return fmt.Errorf("%s %s: %w", p.App, v, err)
	}
	rel.Dir = built.Dir
	d.record(rel)
	err = d.releaser.Deploy(ctx, releaser.Spec{
		App: p.App, Version: v, Commit: p.NewSHA, Dir: built.Dir,
		Procfile: built.Procfile, AppJSON: built.AppJSON, StaticDir: built.StaticDir, Path: built.Path,
		Env: rel.Config,
	}, out)
	if err != nil {
		log.Info("deploy failed", "step", "release", "err", err)
		d.metrics.Deploy(false, rel.BuildDuration)
		return fmt.Errorf("%s %s: %w", p.App, v, err)
	}
	d.metrics.Deploy(true, rel.BuildDuration)
	took := time.Since(start)
	log.Info("deploy done", "took", took.Round(time.Millisecond).String())
	fmt.Fprintf(out, "-----> %s is live at %s (%.1fs)\n", v, d.appURL(p.App), took.Seconds())
	return nil
}

// record stores rel's changes; the history never stops a deploy.
func (d *deployer) record(rel *slipway.Release) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.store.UpdateRelease(ctx, rel); err != nil {
		d.logger.Error("record release", "app", rel.App, "release", rel.Version.String(), "err", err)
	}
}

// buildLog returns a writer that sends deploy output to the pusher and to
// the release's log file, which the history page shows. The pusher hanging
// up does not cut the log short.
func (d *deployer) buildLog(rel *slipway.Release, out io.Writer) (io.Writer, func()) {
	rel.LogPath = releaseLogPath(d.dataDir, rel.App, rel.Version)
	if err := os.MkdirAll(filepath.Dir(rel.LogPath), 0o755); err != nil {
		d.logger.Error("build log", "err", err)
		return out, func() {}
	}
	f, err := os.Create(rel.LogPath)
	if err != nil {
		d.logger.Error("build log", "err", err)
		return out, func() {}
	}
	return &teeWriter{client: out, log: f}, func() { f.Close() }
}

// releaseLogPath is where the build and deploy output of a release is kept.
func releaseLogPath(dataDir, app string, v slipway.Version) string {
	return filepath.Join(dataDir, "apps", app, "logs", "releases", v.String()+".log")
}

// teeWriter writes to the log always and to the client while it listens.
type teeWriter struct {
	mu     sync.Mutex
	client io.Writer
	log    io.Writer
	gone   bool
}

func (t *teeWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.log.Write(p)
	if !t.gone {
		if _, err := t.client.Write(p); err != nil {
			t.gone = true
		}
	}
	return len(p), nil
}

// appURL is where the pusher can see the app.
func (d *deployer) appURL(app string) string {
	port := ""
	if _, p, err := net.SplitHostPort(d.httpAddr()); err == nil && p != "80" {
		port = ":" + p
	}
	return "http://" + app + "." + d.domain + port + "/"
}

// oneLine shortens s to n runes of its first line and replaces control
// characters, so an untrusted commit subject cannot drive the pusher's
// terminal.
func oneLine(s string, n int) string {
	r := []rune(s)
	for i, c := range r {
		if c == '\n' || c == '\r' {
			r = r[:i]
			break
		}
		if unicode.IsControl(c) {
			r[i] = '?'
		}
	}
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return string(r)
}
