package apps

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/supervisor"
)

// serviceSurvivors adds to cgroups and tmps those of the services' server
// processes an earlier slipway left running, so that they are kept for
// restoreServices to adopt.
func (s *Service) serviceSurvivors(ctx context.Context, cgroups, tmps map[string]bool) {
	all, _ := s.store.ListServices(ctx)
	for _, svc := range all {
		if r := svc.Running; r.PID != 0 && supervisor.Alive(r.PID, r.StartTicks) {
			cgroups[r.Cgroup], tmps[r.TmpDir] = true, true
		}
	}
}

// restoreServices takes back the services' servers an earlier slipway
// left running and starts those that are not, but the stopped ones, in
// parallel: before the apps, which need them.
func (s *Service) restoreServices(ctx context.Context) {
	all, err := s.store.ListServices(ctx)
	if err != nil {
		s.logger.Error("read the services", "err", err)
		return
	}
	var wg sync.WaitGroup
	for _, svc := range all {
		wg.Go(func() {
			unlock, err := s.lock(ctx, serviceLock(svc.Name), io.Discard)
			if err != nil {
				return
			}
			defer unlock()
			if svc.Stopped {
				if r := svc.Running; r.PID != 0 && supervisor.Alive(r.PID, r.StartTicks) {
					supervisor.KillRecorded(r.PID, r.StartTicks)
				}
				return
			}
			h, err := s.serviceHost(svc)
			if err != nil {
				s.logger.Error("prepare a service", "service", svc.Name, "err", err)
				return
			}
			if s.svcs.Adopt(h, svc) {
				s.logger.Info("service adopted", "service", svc.Name, "pid", svc.Running.PID)
				return
			}
			if err := s.svcs.Start(ctx, h, svc); err != nil {
				s.logger.Error("start a service", "service", svc.Name, "err", err)
			}
		})
	}
	wg.Wait()
}

// backupSchedules takes the scheduled backups until ctx is done: each
// service with a schedule is backed up when it is due, and its scheduled
// backups beyond its BackupKeep are removed, the oldest first.
func (s *Service) backupSchedules(ctx context.Context) {
	next := map[string]time.Time{} // by service and schedule: when its next backup is due
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	for {
		s.dueBackups(ctx, time.Now(), next)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// dueBackups takes the backups due at now: a service seen for the first
// time (or with a new schedule) is due at its schedule's next time after
// now.
func (s *Service) dueBackups(ctx context.Context, now time.Time, next map[string]time.Time) {
	all, _ := s.store.ListServices(ctx)
	for _, svc := range all {
		sched, err := cron.ParseStandard(svc.BackupSchedule)
		if svc.BackupSchedule == "" || err != nil {
			continue
		}
		key := svc.Name + " " + svc.BackupSchedule
		due, ok := next[key]
		if !ok {
			next[key] = sched.Next(now)
			continue
		}
		if now.Before(due) {
			continue
		}
		next[key] = sched.Next(now)
		if _, running := s.svcs.Info(svc.Name); !running {
			s.logger.Warn("scheduled backup skipped: the service is stopped", "service", svc.Name)
			continue
		}
		if _, err := s.backup(ctx, svc, true, now); err != nil {
			s.logger.Error("scheduled backup failed", "service", svc.Name, "err", err)
			continue
		}
		s.pruneBackups(svc)
	}
}

// pruneBackups removes svc's scheduled backups beyond its BackupKeep.
func (s *Service) pruneBackups(svc *slipway.BackingService) {
	kept := 0
	for _, b := range s.backups(svc) { // newest first
		if !strings.Contains(b.Name, scheduledSuffix+".") {
			continue
		}
		if kept++; kept > max(1, svc.BackupKeep) {
			if err := os.Remove(filepath.Join(s.layout.ServiceBackups(svc.Name), b.Name)); err == nil {
				s.logger.Info("old scheduled backup removed", "service", svc.Name, "backup", b.Name)
			}
		}
	}
}
