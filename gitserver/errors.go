package gitserver

import (
	"context"
	"errors"

	"github.com/slipway/slipway"
)

// userMessage is the one place that maps an error to the line an ssh user
// sees. slipway's own errors are written for users; an error may also carry
// a user-facing line through a UserError method. Anything else is reduced to
// a generic line, so no internal error chain leaks to a client.
func userMessage(err error) string {
	for _, known := range []error{
		ErrBadCommand, errRefRefused, context.Canceled,
		slipway.ErrInvalidAppName, slipway.ErrAppNotFound,
		slipway.ErrBuildFailed, slipway.ErrHealthCheck,
	} {
		if errors.Is(err, known) {
			return err.Error()
		}
	}
	var ue interface{ UserError() string }
	if errors.As(err, &ue) {
		return ue.UserError()
	}
	return "internal error (see the slipway log)"
}
