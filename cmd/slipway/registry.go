package main

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/registry"
)

// registryUser is the user name of the registry's push credential, whose
// password is the admin token: docker login HOST -u slipway -p TOKEN.
const registryUser = "slipway"

// openRegistry opens slipway's image registry in DATA/registry. The admin
// token may push and pull; a pull token (registry:tokens:add), under any
// user name, may pull; tokens reports whether a password is one.
func openRegistry(ctx context.Context, cfg serveConfig, layout slipway.Layout, adminToken string, tokens func(string) bool, logger *slog.Logger) (*registry.Registry, error) {
	return registry.New(ctx, registry.Config{
		Root: layout.Registry(), MaxImageSize: cfg.MaxImageSize, Logger: logger.With("component", "registry"),
		Check: func(user, password string) registry.Access {
			if user == registryUser && subtle.ConstantTimeCompare([]byte(password), []byte(adminToken)) == 1 {
				return registry.Push
			}
			if tokens(password) {
				return registry.Pull
			}
			return registry.NoAccess
		},
	})
}

// onLoopback reports whether addr (a listener's) is a loopback address.
func onLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
