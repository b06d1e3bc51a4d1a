package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
	"github.com/slipway/slipway/web"
)

// backend serves the admin pages, the JSON API and the ssh history
// commands from the release store and the releaser.
type backend struct {
	store    releaser.Store
	releaser *releaser.Releaser
	dataDir  string
	appURL   func(app string) string
}

var _ web.Backend = (*backend)(nil)

// Apps implements web.Backend.
func (b *backend) Apps(ctx context.Context) ([]web.AppSummary, error) {
	names, err := b.store.ListApps(ctx)
	if err != nil {
		return nil, err
	}
	running := map[string]releaser.AppStatus{}
	for _, st := range b.releaser.Apps() {
		running[st.Name] = st
	}
	out := make([]web.AppSummary, 0, len(names))
	for _, name := range names {
		sum := web.AppSummary{Name: name, URL: b.appURL(name)}
		rels, err := b.store.ListReleases(ctx, name)
		if err != nil {
			return nil, err
		}
		if len(rels) > 0 {
			sum.LastDeploy = rels[0].CreatedAt
		}
		for _, r := range rels {
			if r.Status == slipway.StatusLive {
				sum.Live, sum.Commit = r.Version, r.Commit
				break
			}
		}
		if st, ok := running[name]; ok {
			sum.Instances, sum.Draining = st.Instances, len(st.Draining)
		}
		out = append(out, sum)
	}
	return out, nil
}

// Releases implements web.Backend.
func (b *backend) Releases(ctx context.Context, app string) ([]*slipway.Release, error) {
	if err := slipway.ValidateAppName(app); err != nil {
		return nil, err
	}
	return b.store.ListReleases(ctx, app)
}

// Release implements web.Backend.
func (b *backend) Release(ctx context.Context, app string, v slipway.Version) (*slipway.Release, error) {
	if err := slipway.ValidateAppName(app); err != nil {
		return nil, err
	}
	return b.store.FindRelease(ctx, app, v)
}

// BuildLog implements web.Backend.
func (b *backend) BuildLog(ctx context.Context, app string, v slipway.Version) ([]byte, error) {
	rel, err := b.Release(ctx, app, v)
	if err != nil {
		return nil, err
	}
	if rel.LogPath == "" {
		return nil, nil
	}
	data, err := os.ReadFile(rel.LogPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// Rollback implements web.Backend: it takes the app's deploy lock, rolls
// back, and keeps the output as the new release's log.
func (b *backend) Rollback(ctx context.Context, app string, to slipway.Version, by string, out io.Writer) (*slipway.Release, error) {
	if err := slipway.ValidateAppName(app); err != nil {
		return nil, err
	}
	var logBuf bytes.Buffer
	w := &teeWriter{client: out, log: &logBuf}
	unlock, err := b.releaser.Lock(ctx, app, w)
	if err != nil {
		return nil, err
	}
	defer unlock()
	rel, err := b.releaser.Rollback(ctx, app, to, slipway.Release{PusherComment: by}, w)
	if rel != nil {
		rel.LogPath = releaseLogPath(b.dataDir, app, rel.Version)
		if werr := os.WriteFile(rel.LogPath, logBuf.Bytes(), 0o644); werr == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			b.store.UpdateRelease(ctx, rel)
		}
	}
	return rel, err
}
