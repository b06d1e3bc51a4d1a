package apps

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/builder"
	"github.com/slipway/slipway/releaser"
	"github.com/slipway/slipway/supervisor"
)

// Describe says in the log how isolated apps are, and returns it in a
// few words for apps:info.
func (ids *Identities) Describe() string {
	shm := ", own /dev/shm"
	if !supervisor.PrivateShm() {
		ids.logger.Warn("apps have no /dev/shm: this host forbids the user namespaces that give each process its own")
		shm = ", no /dev/shm"
	}
	if ids.root {
		if err := supervisor.CgroupsUnavailable(); err != nil {
			ids.logger.Warn("resource limits are stored but not enforced, and a process that detaches outlives its stop", "err", err)
		} else {
			ids.logger.Info("each app process runs in a cgroup of its own", "cgroups", supervisor.CgroupVersion())
		}
	}
	disk := ""
	if ids.root {
		disk = ", data dir's disk shared"
		if ids.diskSize > 0 {
			disk = ", own " + slipway.FormatBytes(ids.diskSize) + " disk"
		}
	}
	return ids.describe() + shm + disk
}

func (ids *Identities) describe() string {
	logger := ids.logger
	abi := supervisor.LandlockABI()
	switch {
	case abi > 0 && ids.root:
		logger.Info("apps are isolated: each runs as its own user, sandboxed with Landlock", "landlock_abi", abi)
		return "own user, Landlock sandbox"
	case abi > 0:
		logger.Info("apps are sandboxed with Landlock; they share slipway's user, since slipway is not root", "landlock_abi", abi)
		return "Landlock sandbox, slipway's user (not root)"
	case ids.root:
		logger.Warn("apps run as their own users, but this kernel has no Landlock: they can read what every user may")
		return "own user, no Landlock on this kernel"
	default:
		logger.Warn("apps are not isolated: slipway is not root and this kernel has no Landlock, so an app can read and change what slipway's user can")
		return "none: slipway is not root and the kernel has no Landlock"
	}
}

// ServingPID returns the pid of another slipway that serves the data dir
// (DATA/slipway.pid names a live slipway process), or 0. A second one must
// not start: it would take the first one's apps for leftovers.
func ServingPID(dataDir string) int {
	layout := slipway.Layout{Root: dataDir}
	data, err := os.ReadFile(layout.PIDFile())
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return 0
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || !strings.Contains(string(cmdline), "slipway") || !strings.Contains(string(cmdline), "serve") {
		return 0 // gone, or the pid now names another program
	}
	return pid
}

// sweepTemporary removes what an earlier slipway that did not stop cleanly
// left half made: release trees being built, processes' TMPDIRs (but those
// of the processes in keep, about to be adopted) and repositories being
// created. At start no deploy runs.
func (s *Service) sweepTemporary(keep map[string]bool) {
	layout, logger := s.layout, s.logger
	var stale []string
	for _, pattern := range []string{
		filepath.Join(layout.Root, "apps", "*", "releases", ".v*.tmp-*"),
		filepath.Join(layout.TmpRoot("*"), "*"),
		filepath.Join(layout.ReposDir(), ".*.tmp-*"),
	} {
		m, _ := filepath.Glob(pattern)
		for _, p := range m {
			if !keep[p] {
				stale = append(stale, p)
			}
		}
	}
	for _, p := range stale {
		if err := builder.Remove(p); err != nil {
			logger.Warn("remove a stale temporary dir", "dir", p, "err", err)
		}
	}
	if len(stale) > 0 {
		logger.Info("removed stale temporary dirs", "dirs", len(stale))
	}
}

// survivors is what an earlier slipway left running that the next one
// takes back: the recorded processes of live and draining releases whose
// pid still names them, by app and release.
type survivors map[string]map[slipway.Version][]slipway.InstanceRecord

// cleanAfterRestart finds what an earlier slipway left running (it was
// upgraded, stopped alone, or killed): the processes of every app's live
// and draining releases are kept for Restore to adopt; every other one it
// left is ended (a deploy it was running, a pool it was retiring), and
// what it left half made is removed. At start no process of this data
// dir's slipway runs (ServingPID), or the one that ran has detached.
func (s *Service) cleanAfterRestart() survivors {
	ctx, cancel := background()
	defer cancel()
	keep := survivors{}
	cgroups, tmps := map[string]bool{}, map[string]bool{}
	names, _ := s.store.ListApps(ctx)
	ended := 0
	for _, app := range names {
		rels, _ := s.store.ListReleases(ctx, app)
		adoptable := map[slipway.Version]bool{}
		for _, rel := range rels {
			adoptable[rel.Version] = rel.Status == slipway.StatusLive || rel.Status == slipway.StatusDraining
		}
		recs, _ := s.store.ListInstances(ctx, app)
		for _, rec := range recs {
			if !supervisor.Alive(rec.PID, rec.StartTicks) {
				continue
			}
			if !adoptable[rec.Release] {
				if supervisor.KillRecorded(rec.PID, rec.StartTicks) {
					ended++
				}
				continue
			}
			if keep[app] == nil {
				keep[app] = map[slipway.Version][]slipway.InstanceRecord{}
			}
			keep[app][rec.Release] = append(keep[app][rec.Release], rec)
			cgroups[rec.Cgroup], tmps[rec.TmpDir] = true, true
		}
	}
	s.serviceSurvivors(ctx, cgroups, tmps)
	keepCgroup := func(name string) bool { return cgroups[name] }
	if s.cfg.Handover {
		// No deploy runs during a handover: what is not recorded is a
		// cron run or a one-off, which finish on their own.
		keepCgroup = func(name string) bool { return cgroups[name] || releaser.OneOff(name) }
	}
	if ended > 0 {
		s.logger.Warn("ended processes an earlier slipway left running for releases that no longer serve", "processes", ended)
	}
	// As root, every process of an app is in a cgroup: none escapes.
	if s.cfg.Identities != nil {
		// runc's record of a container an earlier slipway's process left
		// (a runc killed with it), named as its cgroup is; before the
		// cgroups go.
		if n, err := supervisor.SweepContainers(supervisor.ImageRun{}, s.cfg.Identities.CgroupPrefix(), keepCgroup); err != nil {
			s.logger.Error("remove containers an earlier slipway left", "err", err)
		} else if n > 0 {
			s.logger.Warn("removed containers an earlier slipway left that no release needs", "containers", n)
		}
		if n, err := supervisor.KillLeftovers(s.cfg.Identities.CgroupPrefix(), keepCgroup); err != nil {
			s.logger.Error("end processes an earlier slipway left running", "err", err)
		} else if n > 0 {
			s.logger.Warn("ended processes an earlier slipway left running that no release needs", "processes", n)
		}
	}
	s.sweepTemporary(tmps)
	if spools, _ := filepath.Glob(filepath.Join(s.layout.Root, ".import-*")); len(spools) > 0 {
		for _, d := range spools { // images:import cut off by a crash
			os.RemoveAll(d)
		}
	}
	return keep
}
