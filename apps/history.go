package apps

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
)

// history is the Service as the releaser's Recorder: the status changes
// the releaser makes are written here, and nowhere else.
type history struct{ s *Service }

var _ releaser.Recorder = history{}

// Live implements releaser.Recorder: v becomes the app's one live release,
// with the spec it runs from and its instances, recorded first (a failure
// aborts the switch, so that a start after a crash always finds the live
// release's instances to adopt); the one live until then drains.
func (h history) Live(app string, v slipway.Version, spec releaser.Spec, recs []slipway.InstanceRecord) error {
	data, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	ctx, cancel := background()
	defer cancel()
	if err := h.s.store.SetInstances(ctx, app, v, recs); err != nil {
		return fmt.Errorf("record the instances of %s: %w", v, err)
	}
	return h.s.store.SetLive(ctx, app, v, data, spec.Dir)
}

// Retired implements releaser.Recorder.
func (h history) Retired(app string, v slipway.Version) {
	h.s.update(app, v, slipway.Retired(time.Now()))
}

// Sleeping implements releaser.Recorder.
func (h history) Sleeping(app string, v slipway.Version, since time.Time) {
	h.s.update(app, v, slipway.ReleaseUpdate{SleepingSince: &since})
}

// Instances implements releaser.Recorder.
func (h history) Instances(app string, v slipway.Version, recs []slipway.InstanceRecord) {
	ctx, cancel := background()
	defer cancel()
	if err := h.s.store.SetInstances(ctx, app, v, recs); err != nil && slipway.ErrorCode(err) != slipway.ENOTFOUND {
		h.s.logger.Error("record instances", "app", app, "release", v.String(), "err", err)
	}
}

// update applies u to release v of app. The history is not allowed to stop
// a use case: a failure is logged. An app destroyed meanwhile is not one.
func (s *Service) update(app string, v slipway.Version, u slipway.ReleaseUpdate) {
	ctx, cancel := background()
	defer cancel()
	if _, err := s.store.UpdateRelease(ctx, app, v, u); err != nil && slipway.ErrorCode(err) != slipway.ENOTFOUND {
		s.logger.Error("record release", "app", app, "release", v.String(), "err", err)
	}
}

// fail records that release v of app failed with err, as its pusher saw it.
func (s *Service) fail(app string, v slipway.Version, err error) {
	s.update(app, v, slipway.Failed(time.Now(), slipway.ErrorMessage(err)))
}

// create records rel as the app's next release (creating the app on its
// first) and opens its build-and-deploy log: the returned writer sends
// everything to out and to the log file, and close closes the file.
func (s *Service) create(rel *slipway.Release, out io.Writer) (*teeWriter, func(), error) {
	ctx, cancel := background()
	defer cancel()
	if err := s.store.CreateRelease(ctx, rel); err != nil {
		return nil, nil, fmt.Errorf("record release of %s: %w", rel.App, err)
	}
	if err := s.prepareDir(rel.App); err != nil {
		s.update(rel.App, rel.Version, slipway.Failed(time.Now(), slipway.ErrorMessage(err)))
		return nil, nil, err
	}
	w, path, closeLog := s.openLog(rel.App, rel.Version, out)
	if path != "" {
		rel.LogPath = path
		s.update(rel.App, rel.Version, slipway.ReleaseUpdate{LogPath: &path})
	}
	return w, closeLog, nil
}

// prepareDir gives app its identity and its own filesystem before
// anything is written in its directory (the first release's log).
func (s *Service) prepareDir(app string) error {
	if s.cfg.Identities == nil {
		return nil
	}
	return s.cfg.Identities.Prepare(app)
}

// liveRelease returns the app's live release from the history, or nil.
func liveRelease(rels []*slipway.Release) *slipway.Release {
	for _, rel := range rels {
		if rel.Status == slipway.StatusLive {
			return rel
		}
	}
	return nil
}

// specOf returns the runnable spec kept with rel, as release rel.
func specOf(rel *slipway.Release) (releaser.Spec, bool) {
	var spec releaser.Spec
	if err := json.Unmarshal(rel.Spec, &spec); err != nil || spec.Dir == "" {
		return spec, false
	}
	spec.Version, spec.Env = rel.Version, rel.Config
	return spec, true
}
