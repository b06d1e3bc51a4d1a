package apps

import (
	"context"
	"strconv"
	"strings"

	"github.com/slipway/slipway"
)

// maxActivity is how many events the admin page reads for an app.
const maxActivity = 50

// event records what the caller in ctx (a key, or the operator on the
// host) did to app, for the admin page's activity list. A failure to
// record is logged: the change itself has happened.
func (s *Service) event(ctx context.Context, app, kind, detail string) {
	e := &slipway.Event{App: app, Kind: kind, By: slipway.CallerName(ctx, slipway.HostCaller), Detail: detail}
	if err := s.store.AddEvent(context.WithoutCancel(ctx), e); err != nil {
		s.logger.Warn("could not record an event", "app", app, "kind", kind, "err", err)
	}
}

// scaleDetail is "web=2 worker=0".
func scaleDetail(changes []ScaleChange) string {
	parts := make([]string, len(changes))
	for i, c := range changes {
		parts[i] = c.Type + "=" + strconv.Itoa(c.Count)
	}
	return strings.Join(parts, " ")
}
