package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cloudflare/tableflip"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/apps"
	"github.com/slipway/slipway/gitserver"
	"github.com/slipway/slipway/internal/pausable"
)

// handover upgrades slipway in place: on SIGHUP or `slipway upgrade` it
// starts the executable at slipway's path (which may be a new version) as
// a new process that inherits the listening sockets (tableflip) and adopts
// every app, and once that one serves, this one stops accepting, finishes
// what is in flight and exits without stopping any app.
type handover struct {
	upg    *tableflip.Upgrader
	svc    *apps.Service
	git    *gitserver.Server
	admin  []*pausable.Listener // the admin API's TCP and unix listeners
	quiet  time.Duration        // how long deploys in progress may take to finish
	data   string               // the data dir, whose pid file names the serving process
	ctx    context.Context      // ends at SIGTERM: an upgrade waiting for deploys gives up
	logger *slog.Logger

	mu sync.Mutex // one upgrade at a time
}

// upgrade hands over to a new slipway process and returns its pid once it
// serves. Deploys and other changes in progress finish here first; new
// ssh and admin connections wait in the kernel's queue for the new
// process meanwhile. When the new process fails to start or to become
// ready, this one goes on serving and the error says why in one line.
func (h *handover) upgrade() (int, error) {
	if !h.mu.TryLock() {
		return 0, slipway.Errorf(slipway.ECONFLICT, "an upgrade is already in progress")
	}
	defer h.mu.Unlock()
	if h.upg.HasParent() { // this one took over from another: it must be gone first
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		err := h.upg.WaitForParent(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, slipway.Errorf(slipway.ECONFLICT, "the slipway this one took over from is still finishing its requests: try again in a few seconds")
		}
	}
	h.git.Pause()
	for _, ln := range h.admin {
		ln.Pause()
	}
	exe, _ := os.Executable()
	h.logger.Info("upgrade: handing over to a new slipway process", "executable", exe)
	resume := func() {
		for _, ln := range h.admin {
			ln.Resume()
		}
		h.git.Resume()
	}
	ctx, cancel := context.WithTimeout(h.ctx, h.quiet)
	defer cancel()
	thaw, err := h.svc.Freeze(ctx, func() bool { return h.git.Pushes() > 0 })
	if err != nil {
		resume()
		return 0, slipway.Errorf(slipway.ECONFLICT, "upgrade refused: %s", slipway.ErrorMessage(err))
	}
	h.svc.Detach()
	if err := h.upg.Upgrade(); err != nil {
		h.svc.Resume()
		thaw(false)
		resume()
		h.logger.Error("upgrade failed: this slipway keeps serving", "err", err)
		return 0, slipway.Errorf(slipway.ECONFLICT, "upgrade failed, the running slipway keeps serving: the new process (%s); its own words are in slipway's log", slipway.OneLine(err.Error(), 300))
	}
	thaw(true)
	return apps.ServingPID(h.data), nil // the new process wrote the pid file before it was ready
}

// listen returns the listener called name: the one inherited from the
// slipway process that handed over, else the socket a service manager
// passed, else a new one on addr. Every one is passed on at the next
// upgrade.
func listen(upg *tableflip.Upgrader, passed map[string]net.Listener, name, addr string) (net.Listener, error) {
	ln, err := upg.ListenWithCallback("tcp", name, func(string, string) (net.Listener, error) {
		if ln := passed[name]; ln != nil {
			return ln, nil
		}
		return net.Listen("tcp", addr)
	})
	if err != nil {
		return nil, fmt.Errorf("%s listen: %w", name, err)
	}
	return ln, nil
}

// listenUnix returns the unix socket listener at path: the one inherited
// from the slipway process that handed over, else a new one, made
// readable and writable by slipway's user only (a stale file left by a
// crash is replaced). It is passed on at the next upgrade.
func listenUnix(upg *tableflip.Upgrader, path string) (net.Listener, error) {
	ln, err := upg.ListenWithCallback("unix", path, func(network, addr string) (net.Listener, error) {
		if err := os.MkdirAll(filepath.Dir(addr), 0o700); err != nil {
			return nil, err
		}
		if fi, err := os.Lstat(addr); err == nil && fi.Mode().Type() == fs.ModeSocket {
			os.Remove(addr) // no slipway serves this data dir: checked before
		}
		ln, err := net.Listen(network, addr)
		if err != nil {
			return nil, err
		}
		// DATA/run is slipway's only (0700); the mode and the peer's
		// credentials (httpserver.PeerUIDs) are further walls.
		if err := os.Chmod(addr, 0o600); err != nil {
			ln.Close()
			return nil, err
		}
		return ln, nil
	})
	if err != nil {
		return nil, fmt.Errorf("admin socket listen: %w", err)
	}
	return ln, nil
}

// runUpgrade is `slipway upgrade`: the running slipway hands over to a new
// process of the executable at its path.
func runUpgrade(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("slipway upgrade", flag.ContinueOnError)
	client := clientFlags(fs)
	if _, code := parseClientArgs(fs, args, "upgrade", 0, 0); code >= 0 {
		return code
	}
	c, err := client()
	if err != nil {
		return cliFail(err)
	}
	start := time.Now()
	var out struct {
		PID int `json:"pid"`
	}
	if err := c.JSON(ctx, http.MethodPost, "/api/upgrade", nil, &out); err != nil {
		return cliFail(err)
	}
	fmt.Printf("slipway upgraded in place: pid %d serves, every app kept running (%s)\n", out.PID, time.Since(start).Round(time.Millisecond))
	return 0
}
