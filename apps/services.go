package apps

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/services"
	"github.com/slipway/slipway/supervisor"
)

var _ slipway.BackingServices = (*Service)(nil)

// The backing services' use cases. Each takes the service's lock (the
// apps' locks, under "service:NAME", which no app's name can be), and one
// that changes an app (a link) takes the app's after it, through the app's
// own use case (SetConfig): persist, then switch, then report, as
// everywhere.

// serviceLock is the lock key of service name.
func serviceLock(name string) string { return "service:" + name }

// findService returns service name of kind, or ENOTFOUND saying what to
// do; a service of the other kind is named as such.
func (s *Service) findService(ctx context.Context, kind slipway.ServiceKind, name string) (*slipway.BackingService, error) {
	if err := slipway.ValidateServiceName(name); err != nil {
		return nil, err
	}
	svc, err := s.store.FindService(ctx, name)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return nil, slipway.Errorf(slipway.ENOTFOUND, "no %s service named %q: %s:list lists them, %s:create %s makes it", kind, name, kind, kind, name)
	}
	if err != nil {
		return nil, err
	}
	if svc.Kind != kind {
		return nil, slipway.Errorf(slipway.ENOTFOUND, "%q is a %s service, not a %s one: use %s:%s", name, svc.Kind, kind, svc.Kind, "info "+name)
	}
	return svc, nil
}

// lockService takes service name's lock and finds it under the lock.
func (s *Service) lockService(ctx context.Context, kind slipway.ServiceKind, name string, out io.Writer) (*slipway.BackingService, func(), error) {
	if err := slipway.ValidateServiceName(name); err != nil {
		return nil, nil, err
	}
	unlock, err := s.lock(ctx, serviceLock(name), out)
	if err != nil {
		return nil, nil, err
	}
	svc, err := s.findService(ctx, kind, name)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return svc, unlock, nil
}

// serviceHost is where svc's processes run.
func (s *Service) serviceHost(svc *slipway.BackingService) (services.Host, error) {
	if s.cfg.Identities == nil {
		l := s.layout
		for _, d := range []string{l.ServiceData(svc.Name), filepath.Dir(l.ServiceTmp(svc.Name)), filepath.Dir(l.ServiceLog(svc.Name)), l.ServiceBackups(svc.Name)} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return services.Host{}, err
			}
		}
		return services.Host{Layout: l}, nil
	}
	return s.cfg.Identities.ServiceHost(svc)
}

// recordService keeps where a service's server runs, for the next slipway.
func (s *Service) recordService(name string, p slipway.ServiceProcess) {
	ctx, cancel := background()
	defer cancel()
	if _, err := s.store.UpdateService(ctx, name, slipway.ServiceUpdate{Running: &p}); err != nil && slipway.ErrorCode(err) != slipway.ENOTFOUND {
		s.logger.Error("record a service's server process", "service", name, "err", err)
	}
}

// servicePorts are where services listen: below the kernel's ephemeral
// ports (32768 and up on Linux), so that no outgoing connection has taken
// a service's port when it starts again after a reboot.
const servicePortLo, servicePortHi = 20000, 29999

// freeServicePort returns a port of the range no service has and that
// nothing listens on now.
func (s *Service) freeServicePort(ctx context.Context) (int, error) {
	all, err := s.store.ListServices(ctx)
	if err != nil {
		return 0, err
	}
	taken := map[int]bool{}
	for _, o := range all {
		taken[o.Port] = true
	}
	for p := servicePortLo; p <= servicePortHi; p++ {
		if taken[p] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		return p, nil
	}
	return 0, slipway.Errorf(slipway.EINVALID, "no free port left for a service in %d-%d", servicePortLo, servicePortHi)
}

func (s *Service) CreateService(ctx context.Context, kind slipway.ServiceKind, name, version string, out io.Writer) error {
	srv, err := services.For(kind)
	if err != nil {
		return err
	}
	if err := slipway.ValidateServiceName(name); err != nil {
		return err
	}
	unlock, err := s.lock(ctx, serviceLock(name), out)
	if err != nil {
		return err
	}
	defer unlock()
	if old, err := s.store.FindService(ctx, name); err == nil {
		return slipway.Errorf(slipway.ECONFLICT, "a %s service named %q exists already: %s:info %s shows it", old.Kind, name, old.Kind, name)
	}
	if version, err = srv.Version(version); err != nil {
		return err
	}
	started := time.Now()
	fmt.Fprintf(out, "-----> Creating %s service %s (%s %s)\n", kind, name, serverName(kind), version)
	port, err := s.freeServicePort(ctx)
	if err != nil {
		return err
	}
	pw := make([]byte, 24)
	rand.Read(pw)
	svc := &slipway.BackingService{Name: name, Kind: kind, Version: version, Port: port, Password: hex.EncodeToString(pw), BackupKeep: 7}
	var uids slipway.UIDRange
	if s.cfg.Identities != nil && s.cfg.Identities.Root() {
		uids = s.cfg.Identities.UIDs()
	}
	if err := s.store.CreateService(ctx, svc, uids); err != nil {
		return err
	}
	undo := func() {
		s.svcs.Stop(name)
		os.RemoveAll(s.layout.ServiceDir(name))
		ctx, cancel := background()
		defer cancel()
		s.store.DeleteService(ctx, name)
		if s.cfg.Identities != nil {
			s.cfg.Identities.ForgetService(svc)
		}
	}
	h, err := s.serviceHost(svc)
	if err == nil {
		err = srv.Init(ctx, h, svc, out)
	}
	if err == nil {
		err = s.svcs.Start(ctx, h, svc)
	}
	if err == nil {
		err = srv.Setup(ctx, h, svc)
	}
	if err != nil {
		undo()
		return err
	}
	s.logger.Info("service created", "service", name, "kind", kind, "version", version, "port", port, "by", slipway.CallerName(ctx, slipway.HostCaller))
	fmt.Fprintf(out, "=====> %s is running (%.1fs): link it to an app with %s:link %s APP\n", name, time.Since(started).Seconds(), kind, name)
	return nil
}

// serverName is the kind's server as people call it.
func serverName(kind slipway.ServiceKind) string {
	if kind == slipway.Redis {
		return "Redis"
	}
	return "PostgreSQL"
}

func (s *Service) LinkService(ctx context.Context, kind slipway.ServiceKind, name, app string, out io.Writer) (string, error) {
	if err := s.exists(ctx, app); err != nil {
		return "", err
	}
	svc, unlock, err := s.lockService(ctx, kind, name, out)
	if err != nil {
		return "", err
	}
	defer unlock()
	links, err := s.store.AppServiceLinks(ctx, app)
	if err != nil {
		return "", err
	}
	first := true
	for _, l := range links {
		if l.Service == name {
			return "", slipway.Errorf(slipway.ECONFLICT, "%s is linked to %s already (as %s)", app, name, l.Var)
		}
		if o, err := s.store.FindService(ctx, l.Service); err == nil && o.Kind == kind {
			first = false
		}
	}
	key := kind.LinkVar(name, first)
	cfg, err := s.store.AppConfig(ctx, app)
	if err != nil {
		return "", err
	}
	if _, set := cfg[key]; set && first {
		// The app's own DATABASE_URL (an outside database) is kept.
		fmt.Fprintf(out, "%s of %s is set already, not by a link: keeping it, and setting %s\n", key, app, kind.LinkVar(name, false))
		key = kind.LinkVar(name, false)
	}
	if err := s.store.AddServiceLink(ctx, slipway.ServiceLink{Service: name, App: app, Var: key}); err != nil {
		return "", err
	}
	fmt.Fprintf(out, "-----> Linking %s to %s: %s\n", name, app, key)
	if _, err := s.SetConfig(ctx, app, map[string]string{key: svc.URL(true)}, nil, !s.hasLive(ctx, app), out); err != nil {
		ctx, cancel := background()
		defer cancel()
		s.store.RemoveServiceLink(ctx, name, app)
		return "", err
	}
	return key, nil
}

// hasLive reports whether app has a live release, which a link's config
// release replaces; one that has none takes the config with its first
// push.
func (s *Service) hasLive(ctx context.Context, app string) bool {
	rels, err := s.store.ListReleases(ctx, app)
	return err == nil && liveRelease(rels) != nil
}

func (s *Service) UnlinkService(ctx context.Context, kind slipway.ServiceKind, name, app string, out io.Writer) error {
	if err := s.exists(ctx, app); err != nil {
		return err
	}
	_, unlock, err := s.lockService(ctx, kind, name, out)
	if err != nil {
		return err
	}
	defer unlock()
	links, err := s.store.ServiceLinks(ctx, name)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(links, func(l slipway.ServiceLink) bool { return l.App == app })
	if i < 0 {
		return slipway.Errorf(slipway.ENOTFOUND, "%s is not linked to %s", app, name)
	}
	fmt.Fprintf(out, "-----> Unlinking %s from %s: %s\n", name, app, links[i].Var)
	if _, err := s.SetConfig(ctx, app, nil, []string{links[i].Var}, !s.hasLive(ctx, app), out); err != nil {
		return err
	}
	return s.store.RemoveServiceLink(ctx, name, app)
}

func (s *Service) Services(ctx context.Context, kind slipway.ServiceKind) ([]slipway.ServiceStatus, error) {
	if _, err := services.For(kind); err != nil {
		return nil, err
	}
	all, err := s.store.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	out := []slipway.ServiceStatus{}
	for _, svc := range all {
		if svc.Kind == kind {
			out = append(out, s.serviceStatus(ctx, svc, false))
		}
	}
	return out, nil
}

func (s *Service) Service(ctx context.Context, kind slipway.ServiceKind, name string, reveal bool) (*slipway.ServiceStatus, error) {
	svc, err := s.findService(ctx, kind, name)
	if err != nil {
		return nil, err
	}
	st := s.serviceStatus(ctx, svc, reveal)
	return &st, nil
}

// serviceStatus is what list, info, the page and metrics show of svc.
func (s *Service) serviceStatus(ctx context.Context, svc *slipway.BackingService, reveal bool) slipway.ServiceStatus {
	st := slipway.ServiceStatus{Name: svc.Name, Kind: svc.Kind, Version: svc.Version, State: slipway.StateStopped,
		URL: svc.URL(reveal), BackupSchedule: svc.BackupSchedule, BackupKeep: svc.BackupKeep, Links: []slipway.ServiceLink{}}
	if info, ok := s.svcs.Info(svc.Name); ok {
		st.State, st.PID, st.Since, st.Restarts = info.State, info.PID, info.Since, info.Restarts
		if info.CrashLoop {
			st.State = slipway.StateCrashed
		}
	}
	if links, err := s.store.ServiceLinks(ctx, svc.Name); err == nil {
		st.Links = links
	}
	st.Size = dirSize(s.layout.ServiceData(svc.Name))
	if backups := s.backups(svc); len(backups) > 0 {
		st.LastBackup = &backups[0]
	}
	if h, err := s.serviceHost(svc); err == nil && h.Sandbox != nil {
		st.Limits = h.Sandbox.Limits
	}
	return st
}

// linkedServices are the services app is linked to, with their state.
func (s *Service) linkedServices(ctx context.Context, app string) []slipway.LinkedService {
	out := []slipway.LinkedService{}
	links, _ := s.store.AppServiceLinks(ctx, app)
	for _, l := range links {
		svc, err := s.store.FindService(ctx, l.Service)
		if err != nil {
			continue
		}
		state := slipway.StateStopped
		if info, ok := s.svcs.Info(svc.Name); ok {
			state = info.State
		}
		out = append(out, slipway.LinkedService{Name: svc.Name, Kind: svc.Kind, Var: l.Var, State: state})
	}
	return out
}

// dirSize is how many bytes the files below dir take on disk.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if fi, err := d.Info(); err == nil && fi.Mode().IsRegular() {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			} else {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func (s *Service) ServiceLogs(ctx context.Context, kind slipway.ServiceKind, name string, opt slipway.LogOptions, out io.Writer) error {
	if _, err := s.findService(ctx, kind, name); err != nil {
		return err
	}
	err := supervisor.Tail(ctx, s.layout.ServiceLog(name), opt, out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (s *Service) RestartService(ctx context.Context, kind slipway.ServiceKind, name string, out io.Writer) error {
	svc, unlock, err := s.lockService(ctx, kind, name, out)
	if err != nil {
		return err
	}
	defer unlock()
	fmt.Fprintf(out, "-----> Restarting %s: its clients reconnect\n", name)
	s.svcs.Stop(name)
	return s.startService(ctx, svc, out)
}

func (s *Service) StopService(ctx context.Context, kind slipway.ServiceKind, name string, out io.Writer) error {
	svc, unlock, err := s.lockService(ctx, kind, name, out)
	if err != nil {
		return err
	}
	defer unlock()
	stopped := true
	if _, err := s.store.UpdateService(ctx, name, slipway.ServiceUpdate{Stopped: &stopped}); err != nil {
		return err
	}
	s.svcs.Stop(name)
	links, _ := s.store.ServiceLinks(ctx, name)
	fmt.Fprintf(out, "%s is stopped, across restarts of slipway too, until %s:start %s", name, svc.Kind, name)
	if len(links) > 0 {
		fmt.Fprintf(out, "; the apps linked to it (%s) cannot reach it meanwhile", linkedApps(links))
	}
	fmt.Fprintln(out)
	return nil
}

func linkedApps(links []slipway.ServiceLink) string {
	apps := make([]string, len(links))
	for i, l := range links {
		apps[i] = l.App
	}
	return strings.Join(apps, ", ")
}

func (s *Service) StartService(ctx context.Context, kind slipway.ServiceKind, name string, out io.Writer) error {
	svc, unlock, err := s.lockService(ctx, kind, name, out)
	if err != nil {
		return err
	}
	defer unlock()
	if _, ok := s.svcs.Info(name); ok && !svc.Stopped {
		fmt.Fprintf(out, "%s is running already\n", name)
		return nil
	}
	stopped := false
	if _, err := s.store.UpdateService(ctx, name, slipway.ServiceUpdate{Stopped: &stopped}); err != nil {
		return err
	}
	return s.startService(ctx, svc, out)
}

// startService starts svc's server and says so; the caller holds its lock.
func (s *Service) startService(ctx context.Context, svc *slipway.BackingService, out io.Writer) error {
	h, err := s.serviceHost(svc)
	if err != nil {
		return err
	}
	started := time.Now()
	if err := s.svcs.Start(ctx, h, svc); err != nil {
		return err
	}
	fmt.Fprintf(out, "=====> %s is running (%.1fs)\n", svc.Name, time.Since(started).Seconds())
	return nil
}

func (s *Service) ConnectService(ctx context.Context, kind slipway.ServiceKind, name string, t slipway.Terminal) (int, error) {
	svc, err := s.runningService(ctx, kind, name)
	if err != nil {
		return 0, err
	}
	h, err := s.serviceHost(svc)
	if err != nil {
		return 0, err
	}
	s.logger.Info("service client attached", "service", name, "by", slipway.CallerName(ctx, slipway.HostCaller))
	return services.Connect(ctx, h, svc, t)
}

func (s *Service) ExportService(ctx context.Context, kind slipway.ServiceKind, name string, out io.Writer) error {
	svc, err := s.runningService(ctx, kind, name)
	if err != nil {
		return err
	}
	h, err := s.serviceHost(svc)
	if err != nil {
		return err
	}
	return services.Export(ctx, h, svc, out)
}

func (s *Service) ImportService(ctx context.Context, kind slipway.ServiceKind, name string, in io.Reader, out io.Writer) error {
	svc, unlock, err := s.lockService(ctx, kind, name, out)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.running(svc); err != nil {
		return err
	}
	h, err := s.serviceHost(svc)
	if err != nil {
		return err
	}
	if err := services.Import(ctx, h, svc, in); err != nil {
		return err
	}
	s.logger.Info("service imported a dump", "service", name, "by", slipway.CallerName(ctx, slipway.HostCaller))
	fmt.Fprintf(out, "=====> Imported the dump into %s\n", name)
	return nil
}

// runningService finds service name of kind and checks that it runs.
func (s *Service) runningService(ctx context.Context, kind slipway.ServiceKind, name string) (*slipway.BackingService, error) {
	svc, err := s.findService(ctx, kind, name)
	if err != nil {
		return nil, err
	}
	return svc, s.running(svc)
}

// running returns nil when svc's server runs, else the error that says
// how to start it.
func (s *Service) running(svc *slipway.BackingService) error {
	if _, ok := s.svcs.Info(svc.Name); !ok {
		return slipway.Errorf(slipway.EINVALID, "%s is stopped: %s:start %s first", svc.Name, svc.Kind, svc.Name)
	}
	return nil
}

func (s *Service) BackupService(ctx context.Context, kind slipway.ServiceKind, name string, out io.Writer) (slipway.BackupInfo, error) {
	svc, err := s.runningService(ctx, kind, name)
	if err != nil {
		return slipway.BackupInfo{}, err
	}
	b, err := s.backup(ctx, svc, false, time.Now())
	if err != nil {
		return b, err
	}
	fmt.Fprintf(out, "=====> Backed up %s: %s (%s), checked readable\n", name, b.Name, slipway.HumanBytes(b.Size))
	return b, nil
}

// scheduledSuffix marks the backups the schedule takes, which retention
// prunes; those taken by hand are kept until removed.
const scheduledSuffix = "-scheduled"

// backup takes a backup of svc into its backups dir, named after at.
func (s *Service) backup(ctx context.Context, svc *slipway.BackingService, scheduled bool, at time.Time) (slipway.BackupInfo, error) {
	srv, err := services.For(svc.Kind)
	if err != nil {
		return slipway.BackupInfo{}, err
	}
	h, err := s.serviceHost(svc)
	if err != nil {
		return slipway.BackupInfo{}, err
	}
	now := at.UTC()
	name := svc.Name + "-" + now.Format("20060102T150405Z")
	if scheduled {
		name += scheduledSuffix
	}
	name += srv.BackupExt()
	path := filepath.Join(s.layout.ServiceBackups(svc.Name), name)
	if err := srv.Backup(ctx, h, svc, path); err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return slipway.BackupInfo{}, slipway.Errorf(slipway.EINVALID, "backup of %s failed: no space left for it in %s (nothing was kept; %s keeps running): free some, or remove old backups, and try again", svc.Name, s.layout.ServiceBackups(svc.Name), svc.Name)
		}
		if slipway.ErrorCode(err) == slipway.EINVALID {
			return slipway.BackupInfo{}, slipway.Errorf(slipway.EINVALID, "backup of %s failed: %s", svc.Name, slipway.ErrorMessage(err))
		}
		return slipway.BackupInfo{}, fmt.Errorf("backup of %s: %w", svc.Name, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return slipway.BackupInfo{}, err
	}
	s.logger.Info("service backed up", "service", svc.Name, "backup", name, "bytes", fi.Size(), "scheduled", scheduled)
	return slipway.BackupInfo{Name: name, Size: fi.Size(), Taken: now}, nil
}

// backups lists svc's backups, newest first.
func (s *Service) backups(svc *slipway.BackingService) []slipway.BackupInfo {
	entries, _ := os.ReadDir(s.layout.ServiceBackups(svc.Name))
	out := []slipway.BackupInfo{}
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasSuffix(e.Name(), ".partial") || !strings.HasPrefix(e.Name(), svc.Name+"-") {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, slipway.BackupInfo{Name: e.Name(), Size: fi.Size(), Taken: fi.ModTime().UTC()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name > out[j].Name })
	return out
}

func (s *Service) ServiceBackups(ctx context.Context, kind slipway.ServiceKind, name string) ([]slipway.BackupInfo, error) {
	svc, err := s.findService(ctx, kind, name)
	if err != nil {
		return nil, err
	}
	return s.backups(svc), nil
}

func (s *Service) RestoreService(ctx context.Context, kind slipway.ServiceKind, name, backup string, out io.Writer) error {
	svc, unlock, err := s.lockService(ctx, kind, name, out)
	if err != nil {
		return err
	}
	defer unlock()
	i := slices.IndexFunc(s.backups(svc), func(b slipway.BackupInfo) bool { return b.Name == backup })
	if i < 0 || filepath.Base(backup) != backup {
		return slipway.Errorf(slipway.ENOTFOUND, "%s has no backup named %q: %s:backups %s lists them", name, slipway.OneLine(backup, 80), kind, name)
	}
	h, err := s.serviceHost(svc)
	if err != nil {
		return err
	}
	path := filepath.Join(s.layout.ServiceBackups(name), backup)
	fmt.Fprintf(out, "-----> Restoring %s from %s\n", name, backup)
	done, err := services.Restore(ctx, s.svcs, h, svc, path)
	if err != nil {
		return err
	}
	s.logger.Info("service restored", "service", name, "backup", backup, "by", slipway.CallerName(ctx, slipway.HostCaller))
	fmt.Fprintf(out, "=====> Restored %s from %s: %s\n", name, backup, done)
	return nil
}

func (s *Service) ScheduleBackups(ctx context.Context, kind slipway.ServiceKind, name, spec string, keep int, out io.Writer) error {
	_, unlock, err := s.lockService(ctx, kind, name, out)
	if err != nil {
		return err
	}
	defer unlock()
	if spec == "off" {
		spec = ""
	}
	if spec != "" {
		if _, err := cron.ParseStandard(spec); err != nil {
			return slipway.Errorf(slipway.EINVALID, "backup schedule %q: %v (five fields, minute hour day month weekday, as in cron: \"0 3 * * *\", or @daily)", slipway.OneLine(spec, 60), err)
		}
	}
	if keep < 1 {
		return slipway.Errorf(slipway.EINVALID, "--keep %d: keep at least one backup", keep)
	}
	if _, err := s.store.UpdateService(ctx, name, slipway.ServiceUpdate{BackupSchedule: &spec, BackupKeep: &keep}); err != nil {
		return err
	}
	if spec == "" {
		fmt.Fprintf(out, "%s has no backup schedule now; its backups are kept\n", name)
		return nil
	}
	fmt.Fprintf(out, "%s is backed up on %q, keeping the last %d scheduled backups\n", name, spec, keep)
	return nil
}

func (s *Service) DestroyService(ctx context.Context, kind slipway.ServiceKind, name string, out io.Writer) error {
	svc, unlock, err := s.lockService(ctx, kind, name, out)
	if err != nil {
		return err
	}
	defer unlock()
	links, err := s.store.ServiceLinks(ctx, name)
	if err != nil {
		return err
	}
	if len(links) > 0 {
		them := "them"
		if len(links) == 1 {
			them = "it"
		}
		return slipway.Errorf(slipway.ECONFLICT, "%s is still linked to %s: unlink %s first (%s:unlink %s APP)", name, linkedApps(links), them, kind, name)
	}
	s.svcs.Stop(name)
	if err := s.store.DeleteService(ctx, name); err != nil {
		return err
	}
	if err := os.RemoveAll(s.layout.ServiceDir(name)); err != nil {
		s.logger.Warn("remove a destroyed service's data", "service", name, "err", err)
	}
	if s.cfg.Identities != nil {
		s.cfg.Identities.ForgetService(svc)
	}
	s.logger.Info("service destroyed", "service", name, "by", slipway.CallerName(ctx, slipway.HostCaller))
	fmt.Fprintf(out, "=====> %s is destroyed: its data and backups are gone\n", name)
	return nil
}
