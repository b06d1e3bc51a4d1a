package builder

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slipway/slipway"
)

// errTimedOut is the cause of the build context's cancellation when the
// build's own time limit passes, to tell it from a caller's cancellation.
var errTimedOut = errors.New("build timed out")

// buildError is what Build returns: one line naming the failing step,
// wrapping slipway.ErrBuildFailed and the underlying error. The details
// (compiler errors and so on) are in the streamed output, not here.
type buildError struct {
	msg string // "go build: exit status 1"
	err error  // may be nil
}

// Error returns "build failed: " followed by the step and what went wrong.
func (e *buildError) Error() string {
	return slipway.ErrBuildFailed.Error() + ": " + e.msg
}

// Unwrap lets errors.Is find slipway.ErrBuildFailed and the cause.
func (e *buildError) Unwrap() []error {
	if e.err == nil {
		return []error{slipway.ErrBuildFailed}
	}
	return []error{slipway.ErrBuildFailed, e.err}
}

// failf returns a buildError with the formatted message, wrapping err.
func failf(err error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	// The message goes into one line of a git client's output.
	msg = strings.Join(strings.Fields(msg), " ")
	return &buildError{msg: msg, err: err}
}

// interrupted returns the error for step when ctx is done: "timed out after
// 10m0s" when the build's time limit passed, otherwise the caller's reason.
func interrupted(ctx context.Context, step string, limit fmt.Stringer) error {
	if errors.Is(context.Cause(ctx), errTimedOut) {
		return failf(context.DeadlineExceeded, "%s timed out after %s", step, limit)
	}
	return failf(ctx.Err(), "%s: interrupted: %v", step, context.Cause(ctx))
}
