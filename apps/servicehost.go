package apps

import (
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/services"
	"github.com/slipway/slipway/supervisor"
)

// ServiceHost returns where svc's processes run, its directories made:
// as root, its own user (uid from the history, a passwd entry slipway-UID
// whose home is its data dir) reaching only its data and tmp below
// DATA/services/NAME, which is slipway's (its logs and backups are
// slipway's alone), and a cgroup of its own; otherwise slipway's user,
// the same directories and the Landlock sandbox.
func (ids *Identities) ServiceHost(svc *slipway.BackingService) (services.Host, error) {
	l := ids.layout
	sb := &supervisor.Sandbox{Launcher: ids.launcher,
		Write: []string{l.ServiceData(svc.Name), filepath.Dir(l.ServiceTmp(svc.Name))}}
	uid := 0
	if ids.root && svc.UID != 0 {
		uid = svc.UID
		sb.UID, sb.GID = uint32(uid), uint32(uid)
		ids.passwdEntry(uid, l.ServiceData(svc.Name), "slipway "+string(svc.Kind)+" service "+svc.Name)
		sb.Cgroup = ids.CgroupPrefix() + ServiceCgroup(svc.Name)
		sb.Limits = svc.Limits.WithDefaults()
	}
	through := fs.FileMode(0o700)
	if uid != 0 {
		through = 0o711
	}
	dirs := []struct {
		path string
		uid  int
		perm fs.FileMode
	}{
		{l.ServicesDir(), 0, through},
		{l.ServiceDir(svc.Name), 0, through},
		{l.ServiceData(svc.Name), uid, 0o700},
		{filepath.Dir(l.ServiceTmp(svc.Name)), uid, 0o700},
		{filepath.Dir(l.ServiceLog(svc.Name)), 0, 0o700},
		{l.ServiceBackups(svc.Name), 0, 0o700},
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d.path, d.perm); err != nil {
			return services.Host{}, err
		}
		if ids.root {
			if err := chownIfNot(d.path, d.uid, d.uid, false); err != nil {
				return services.Host{}, err
			}
		}
		if err := os.Chmod(d.path, d.perm); err != nil {
			return services.Host{}, err
		}
	}
	return services.Host{Layout: l, Sandbox: sb}, nil
}

// ServiceCgroup is the name of a service's cgroup below the data dir's
// prefix: "svc_NAME", which no app's can be (app names have no "_").
func ServiceCgroup(name string) string { return "svc_" + name }

// ForgetService drops the passwd entry of a destroyed service's user; its
// uid is never given out again.
func (ids *Identities) ForgetService(svc *slipway.BackingService) {
	if !ids.root || svc.UID == 0 {
		return
	}
	if u, err := user.LookupId(strconv.Itoa(svc.UID)); err == nil && ids.ours(u) {
		if err := ids.run("userdel", u.Username); err == nil {
			ids.run("groupdel", u.Username)
		}
	}
}
