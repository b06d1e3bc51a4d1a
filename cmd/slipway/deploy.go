package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"
	"unicode"

	"github.com/slipway/slipway/builder"
	"github.com/slipway/slipway/gitserver"
	"github.com/slipway/slipway/releaser"
)

// deployer turns a push into a live release: build, then release. It is
// the wiring between gitserver, builder and releaser.
type deployer struct {
	builder  *builder.Builder
	releaser *releaser.Releaser
	domain   string
	httpAddr func() string // the router's bound address, for the app URL
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
	v, err := d.releaser.NextVersion(p.App)
	if err != nil {
		return err
	}
	log := d.logger.With("app", p.App, "release", v.String(), "commit", p.NewSHA)
	log.Info("deploy started", "pusher", p.Pusher.String(), "ref", p.Ref)
	fmt.Fprintf(out, "-----> Deploying %s %s as %s: %s\n", p.App, commit.SHA[:7], v, oneLine(commit.Subject, 72))
	rel, err := d.builder.Build(ctx, builder.Request{
		App: p.App, Version: v, Commit: p.NewSHA, RepoDir: p.RepoDir, GitEnv: p.GitEnv,
	}, out)
	if err != nil {
		log.Info("deploy failed", "step", "build", "err", err)
		return fmt.Errorf("%s %s: %w", p.App, v, err)
	}
	err = d.releaser.Release(ctx, releaser.Spec{
		App: p.App, Version: v, Commit: p.NewSHA, Dir: rel.Dir,
		Procfile: rel.Procfile, AppJSON: rel.AppJSON, StaticDir: rel.StaticDir, Path: rel.Path,
	}, out)
	if err != nil {
		log.Info("deploy failed", "step", "release", "err", err)
		return fmt.Errorf("%s %s: %w", p.App, v, err)
	}
	took := time.Since(start)
	log.Info("deploy done", "took", took.Round(time.Millisecond).String())
	fmt.Fprintf(out, "-----> %s is live at %s (%.1fs)\n", v, d.appURL(p.App), took.Seconds())
	return nil
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
