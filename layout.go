package slipway

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
)

// Layout is slipway's data directory: the one place that knows where each
// thing slipway keeps lives in it. Root should be absolute, since build
// tools and virtualenvs record the paths they are given.
//
//	DATA/
//	  slipway.db  affinity.key  drains.key  admin_token  authorized_keys  ssh_host_ed25519_key  slipway.pid
//	  hooks/pre-receive  run/hook.sock  repos/NAME.git  bin/slipway (as root: the sandbox launcher)
//	  apps/NAME/releases/vN  apps/NAME/cache  apps/NAME/home  apps/NAME/tmp
//	  apps/NAME/logs/app.log  apps/NAME/logs/vN/web.1.log  apps/NAME/logs/releases/vN.log
//	  disks/UID.img  disks/UID (as root: the app of uid UID's own filesystem; apps/NAME links to it)
//	  services/NAME/data  services/NAME/backups  services/NAME/logs/server.log  services/NAME/tmp
type Layout struct{ Root string }

// DB is the history database.
func (l Layout) DB() string { return filepath.Join(l.Root, "slipway.db") }

// AffinityKey signs the affinity cookies.
func (l Layout) AffinityKey() string { return filepath.Join(l.Root, "affinity.key") }

// DrainIDKey keys the log drains' ids (LogDrainIDKey). It is the host's
// alone: on Kubernetes the affinity key is the router replicas' too.
func (l Layout) DrainIDKey() string { return filepath.Join(l.Root, "drains.key") }

// AdminToken holds the admin token slipway generated.
func (l Layout) AdminToken() string { return filepath.Join(l.Root, "admin_token") }

// AuthorizedKeys is the default file of who may push.
func (l Layout) AuthorizedKeys() string { return filepath.Join(l.Root, "authorized_keys") }

// HostKey is the ssh host key.
func (l Layout) HostKey() string { return filepath.Join(l.Root, "ssh_host_ed25519_key") }

// PIDFile holds the pid of the slipway serving this data dir.
func (l Layout) PIDFile() string { return filepath.Join(l.Root, "slipway.pid") }

// HooksDir is git's core.hooksPath for pushes.
func (l Layout) HooksDir() string { return filepath.Join(l.Root, "hooks") }

// HookSocket is where the pre-receive hook reaches the slipway process
// pid, which runs the push: DATA/run/hook.PID.sock, or a path under the
// system temp dir named after it when that would exceed the ~108 bytes a
// unix socket path may have. Each process has its own, so that while one
// hands over to the next (an upgrade) a push's hook reaches the process
// that knows the push.
func (l Layout) HookSocket(pid int) string {
	return socketPath(filepath.Join(l.Root, "run", "hook."+strconv.Itoa(pid)+".sock"))
}

// socketPath returns p made absolute, or a name under the system temp dir
// made from it when p is longer than a unix socket path may be (~108
// bytes).
func socketPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	if len(p) <= 100 {
		return p
	}
	sum := sha256.Sum256([]byte(p))
	return filepath.Join(os.TempDir(), "slipway-"+hex.EncodeToString(sum[:6])+".sock")
}

// AdminSocket is the admin API's unix socket, for the local CLI:
// DATA/run/admin.sock, or "" (none) when that path is longer than a unix
// socket's may be. It is never moved to a shared temp dir: the CLI sends
// the admin token to whatever listens there.
func (l Layout) AdminSocket() string {
	p := filepath.Join(l.Root, "run", "admin.sock")
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	if len(p) > 100 {
		return ""
	}
	return p
}

// Certs holds the TLS certificates, their keys and the ACME account.
func (l Layout) Certs() string { return filepath.Join(l.Root, "certs") }

// ReposDir holds the bare repositories.
func (l Layout) ReposDir() string { return filepath.Join(l.Root, "repos") }

// Repo is app's bare repository.
func (l Layout) Repo(app string) string { return filepath.Join(l.ReposDir(), app+".git") }

// AppDir holds everything of app but its repository. As root it is a
// symlink to the app's own filesystem (Disk), unless the app was made
// without one.
func (l Layout) AppDir(app string) string { return filepath.Join(l.Root, "apps", app) }

// DisksDir holds the apps' own filesystems (package appdisk).
func (l Layout) DisksDir() string { return filepath.Join(l.Root, "disks") }

// Disk is the image of the filesystem of the app whose uid is uid, and
// where it is mounted; the app's AppDir is a symlink to that.
func (l Layout) Disk(uid int) (image, dir string) {
	dir = filepath.Join(l.DisksDir(), strconv.Itoa(uid))
	return dir + ".img", dir
}

// LegacyState is the per-app state file of slipway before the history
// held the scale; read once to carry it over.
func (l Layout) LegacyState(app string) string { return filepath.Join(l.AppDir(app), "state.json") }

// ReleasesDir holds app's immutable release directories.
func (l Layout) ReleasesDir(app string) string { return filepath.Join(l.AppDir(app), "releases") }

// Release is the immutable directory of app's release v.
func (l Layout) Release(app string, v Version) string {
	return filepath.Join(l.ReleasesDir(app), v.String())
}

// Cache holds app's build caches, kept between builds outside every release.
func (l Layout) Cache(app string) string { return filepath.Join(l.AppDir(app), "cache") }

// BuildHome is the HOME of app's build steps, inside the cache.
func (l Layout) BuildHome(app string) string { return filepath.Join(l.Cache(app), "home") }

// Home is the HOME of app's processes.
func (l Layout) Home(app string) string { return filepath.Join(l.AppDir(app), "home") }

// TmpRoot holds the TMPDIRs of app's processes.
func (l Layout) TmpRoot(app string) string { return filepath.Join(l.AppDir(app), "tmp") }

// Tmp is the TMPDIR of process id ("web.1") of app's release v.
func (l Layout) Tmp(app string, v Version, id string) string {
	return filepath.Join(l.TmpRoot(app), v.String()+"."+id)
}

// AppLog is the log all of app's processes write to.
func (l Layout) AppLog(app string) string { return filepath.Join(l.AppDir(app), "logs", "app.log") }

// ProcessLog is the raw output of process id of app's release v.
func (l Layout) ProcessLog(app string, v Version, id string) string {
	return filepath.Join(l.AppDir(app), "logs", v.String(), id+".log")
}

// ReleaseLog is the build and deploy output of app's release v.
func (l Layout) ReleaseLog(app string, v Version) string {
	return filepath.Join(l.AppDir(app), "logs", "releases", v.String()+".log")
}

// ServicesDir holds every backing service's directory.
func (l Layout) ServicesDir() string { return filepath.Join(l.Root, "services") }

// ServiceDir is backing service name's directory: slipway's, the service
// reaching only its data, logs and tmp below it.
func (l Layout) ServiceDir(name string) string { return filepath.Join(l.ServicesDir(), name) }

// ServiceData is the server's own data dir (PostgreSQL's PGDATA, Redis's
// dir), the service user's alone.
func (l Layout) ServiceData(name string) string { return filepath.Join(l.ServiceDir(name), "data") }

// ServiceBackups holds the service's backups, slipway's alone.
func (l Layout) ServiceBackups(name string) string {
	return filepath.Join(l.ServiceDir(name), "backups")
}

// ServiceLog is the raw output of the service's server process.
func (l Layout) ServiceLog(name string) string {
	return filepath.Join(l.ServiceDir(name), "logs", "server.log")
}

// ServiceTmp is the TMPDIR prefix of the service's server process.
func (l Layout) ServiceTmp(name string) string {
	return filepath.Join(l.ServiceDir(name), "tmp", "server")
}

// Registry is the storage of slipway's image registry.
func (l Layout) Registry() string { return filepath.Join(l.Root, "registry") }

// PullTokens is the file of the registry's read-only pull tokens (their
// hashes and labels), slipway's alone.
func (l Layout) PullTokens() string { return filepath.Join(l.Root, "registry_pull_tokens") }
