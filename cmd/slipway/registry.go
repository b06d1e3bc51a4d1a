package main

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/apps"
	"github.com/slipway/slipway/internal/httpserver"
	"github.com/slipway/slipway/registry"
)

// registryUser is the user name of the registry's push credential, whose
// password is the admin token: docker login HOST -u slipway -p TOKEN.
const registryUser = "slipway"

// openRegistry opens slipway's image registry in DATA/registry. The admin
// token may push and pull; a pull token (registry:tokens:add), under any
// user name, may pull, and so may a Dockerfile build's credential, which
// reaches only some repositories; svc is the application layer, which
// knows those tokens.
func openRegistry(ctx context.Context, cfg serveConfig, layout slipway.Layout, adminToken string, svc func() *apps.Service, logger *slog.Logger) (*registry.Registry, error) {
	return registry.New(ctx, registry.Config{
		Root: layout.Registry(), MaxImageSize: cfg.MaxImageSize, Logger: logger.With("component", "registry"),
		Check: func(user, password string) registry.Access {
			if user == registryUser && subtle.ConstantTimeCompare([]byte(password), []byte(adminToken)) == 1 {
				return registry.Push
			}
			if svc().CheckPullToken(password) || (cfg.Scheduler == SchedulerKubernetes && kubePull(user, password, adminToken)) || svc().CheckBuildToken(user, password) {
				return registry.Pull
			}
			return registry.NoAccess
		},
		Repos: func(user string) func(string) bool { return svc().RegistryReach(user) },
	})
}

// buildRegistry serves the registry on a loopback port of its own for the
// Dockerfile builds (buildah pulls their FROM images over HTTP), whatever
// --registry-addr says; each build has a credential of its own.
func buildRegistry(reg *registry.Registry, logger *slog.Logger) (*httpserver.Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("the builds' registry listener: %w", err)
	}
	srv := httpserver.New("registry for builds", ln.Addr().String(), reg.Handler(), logger)
	srv.Listener = ln
	// Apps can reach it (their builds must): no more connections than a
	// few builds need.
	srv.Limit = &httpserver.ConnLimit{Total: 64, PerNetwork: 64}
	srv.BodyTimeout = 60 * time.Second
	return srv, nil
}

// onLoopback reports whether addr (a listener's) is a loopback address.
func onLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
