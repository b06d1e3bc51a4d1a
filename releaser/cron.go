package releaser

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/supervisor"
)

// cronJobs runs the app.json cron jobs of every app's live release. The
// schedules follow the release: a deploy or a rollback replaces them with
// the new live release's.
type cronJobs struct {
	c *cron.Cron

	mu      sync.Mutex
	entries map[string][]cronEntry // by app
	ctx     context.Context        // cancelled at shutdown: running jobs stop
	cancel  context.CancelFunc
}

type cronEntry struct {
	id  cron.EntryID
	job slipway.CronJob
}

func newCronJobs() *cronJobs {
	ctx, cancel := context.WithCancel(context.Background())
	j := &cronJobs{c: cron.New(), entries: map[string][]cronEntry{}, ctx: ctx, cancel: cancel}
	j.c.Start()
	return j
}

// stop ends the scheduler and every job still running.
func (j *cronJobs) stop() {
	j.cancel()
	<-j.c.Stop().Done()
}

// CheckCron refuses a release whose app.json has a schedule cron cannot read.
func CheckCron(spec Spec) error {
	if spec.AppJSON == nil {
		return nil
	}
	for i, job := range spec.AppJSON.Cron {
		if _, err := cron.ParseStandard(job.Schedule); err != nil {
			return slipway.Errorf(slipway.EINVALID, "app.json cron[%d].schedule %q: %v (use a cron spec such as \"*/5 * * * *\")", i, job.Schedule, err)
		}
	}
	return nil
}

// schedule replaces app's cron jobs with those of spec, now live.
func (r *Releaser) schedule(app string, spec Spec, version slipway.Version, out io.Writer) {
	j := r.cron
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, e := range j.entries[app] {
		j.c.Remove(e.id)
	}
	delete(j.entries, app)
	if spec.AppJSON == nil {
		return
	}
	for i, job := range spec.AppJSON.Cron {
		id := fmt.Sprintf("cron.%d", i+1)
		run := cron.FuncJob(func() { r.runCron(app, spec, version, id, job) })
		// A job never overlaps itself: a run still going skips the next.
		eid, err := j.c.AddJob(job.Schedule, cron.NewChain(cron.SkipIfStillRunning(cron.DiscardLogger)).Then(run))
		if err != nil {
			continue // CheckCron refused such a release before it went live
		}
		j.entries[app] = append(j.entries[app], cronEntry{id: eid, job: job})
	}
	if n := len(j.entries[app]); n > 0 {
		fmt.Fprintf(out, "-----> Scheduled %d cron job(s)\n", n)
	}
}

// runCron runs one cron job in the live release's directory with its
// config; its output and exit status go to the app's log.
func (r *Releaser) runCron(app string, spec Spec, version slipway.Version, id string, job slipway.CronJob) {
	if r.detached.Load() {
		return // the next slipway runs the next slot
	}
	log := r.appLog(app)
	spec.Version = version
	ps, err := r.processSpec(spec, id, job.Command, 0)
	var in *supervisor.Process
	if err == nil {
		in, err = supervisor.Start(ps)
	}
	if err != nil {
		log.Line(id, version.String(), []byte("could not start: "+err.Error()))
		return
	}
	select {
	case <-in.Exited():
	case <-r.cron.ctx.Done():
	}
	in.Stop(r.cfg.StopGrace)
	log.Line(id, version.String(), []byte(fmt.Sprintf("%s %s (%s)", job.Command, in.ExitText(), time.Since(in.Started()).Round(time.Millisecond))))
}

// CronEntry is one scheduled job (slipway.CronEntry).
type CronEntry = slipway.CronEntry

// CronList returns the app's scheduled jobs with their next run times.
func (r *Releaser) CronList(name string) []CronEntry {
	j := r.cron
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []CronEntry
	for i, e := range j.entries[name] {
		out = append(out, CronEntry{
			ID: fmt.Sprintf("cron.%d", i+1), Schedule: e.job.Schedule, Command: e.job.Command, Next: j.c.Entry(e.id).Next,
		})
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}
