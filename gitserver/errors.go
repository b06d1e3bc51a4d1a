package gitserver

import (
	"context"
	"errors"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/termsafe"
)

// userMessage is the one place that maps an error to the line an ssh user
// sees: gitserver's own refusals, or slipway.ErrorMessage, which shows
// users only what was written for them.
func userMessage(err error) string {
	for _, known := range []error{ErrBadCommand, errRefRefused, context.Canceled} {
		if errors.Is(err, known) {
			return termsafe.Clean(err.Error())
		}
	}
	return termsafe.Clean(slipway.ErrorMessage(err)) // it may quote the user's input
}
