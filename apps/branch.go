package apps

import (
	"context"
	"encoding/json"
	"os"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/gitserver"
)

// The commit point of a push is the switch: once its release is live, the
// push has happened, whatever becomes of the connection it came on. Git
// moves the branch only once the pre-receive hook has answered, so a
// slipway killed between the switch and the answer leaves the branch at
// its old commit while the new one serves. Deploy therefore keeps the
// pushed objects (gitserver.KeepObjects) and records the branch move
// before the switch, and the next start makes the branch the live
// release's commit when git never got to it, and says so in the history.

// branchUpdate is a deployed push's branch move.
type branchUpdate struct {
	Ref string `json:"ref"`
	Old string `json:"old"`
	New string `json:"new"`
}

// recordBranch keeps p's objects in its repository and records its
// branch move, before its release goes live.
func (s *Service) recordBranch(ctx context.Context, p gitserver.Push) error {
	if err := gitserver.KeepObjects(p); err != nil {
		return err
	}
	b, err := json.Marshal(branchUpdate{Ref: p.Ref, Old: p.OldSHA, New: p.NewSHA})
	if err != nil {
		return err
	}
	return s.store.SetAppSetting(ctx, p.App, slipway.SettingBranchUpdate, string(b))
}

// restoreBranch moves app's branch to the live release's commit if a push
// went live and was cut off before git moved it. Callers hold the app's
// lock.
func (s *Service) restoreBranch(ctx context.Context, app string, live *slipway.Release) {
	raw, err := s.store.AppSetting(ctx, app, slipway.SettingBranchUpdate)
	if err != nil || raw == "" {
		return
	}
	var u branchUpdate
	if err := json.Unmarshal([]byte(raw), &u); err != nil || live == nil || live.Kind != slipway.KindPush || live.Commit != u.New {
		return // the push did not go live, or another release came since
	}
	repo := s.layout.Repo(app)
	if _, err := os.Stat(repo); err != nil {
		return
	}
	cur, err := gitserver.RefValue(ctx, repo, u.Ref)
	if err != nil || cur != u.Old {
		return // git moved it (to the live commit, or a later push did)
	}
	if err := gitserver.SetRef(ctx, repo, u.Ref, u.New, u.Old); err != nil {
		s.logger.Error("move the branch to the live release's commit", "app", app, "err", err)
		return
	}
	detail := "The push of " + slipway.ShortSHA(u.New, 7) + " (" + live.Version.String() + ") went live but its connection was cut before git moved the branch: " +
		u.Ref + " moved to it at the start"
	s.event(ctx, app, slipway.EventBranch, detail)
	if _, err := s.store.UpdateRelease(ctx, app, live.Version, slipway.ReleaseUpdate{Note: slipway.Set(slipway.NoteConnectionCut)}); err != nil {
		s.logger.Error("note the cut push on its release", "app", app, "release", live.Version.String(), "err", err)
	}
	s.logger.Warn("branch moved to the live release's commit: its push was cut off", "app", app, "release", live.Version.String(), "ref", u.Ref)
}

// holdAnswer is a test hook: with SLIPWAY_TEST_HOLD_PUSH_ANSWER set to a
// file name, a deployed push's answer to git waits (at most a minute)
// until that file exists, so that a test can kill slipway between the
// switch and the answer. Unset, it does nothing.
func (s *Service) holdAnswer(app string) {
	gate := os.Getenv("SLIPWAY_TEST_HOLD_PUSH_ANSWER")
	if gate == "" {
		return
	}
	s.logger.Info("test hold: the push's answer waits", "app", app, "gate", gate)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(gate); err == nil {
			return
		}
	}
}
