package builder

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/slipway/slipway"
)

func TestFailf_OneLineWrappingBuildFailed(t *testing.T) {
	cause := errors.New("exit status 1")
	err := failf(cause, "go build: %v\n  detail", cause)
	if got, want := err.Error(), "build failed: go build: exit status 1 detail"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, slipway.ErrBuildFailed) || !errors.Is(err, cause) {
		t.Error("does not wrap ErrBuildFailed and the cause")
	}
	if err := failf(nil, "no web"); !errors.Is(err, slipway.ErrBuildFailed) {
		t.Error("without a cause: does not wrap ErrBuildFailed")
	}
}

func TestInterrupted_TellsTimeoutFromCancel(t *testing.T) {
	ctx, cancel := context.WithTimeoutCause(context.Background(), 0, errTimedOut)
	defer cancel()
	<-ctx.Done()
	err := interrupted(ctx, "npm ci", 10*time.Minute)
	if got, want := err.Error(), "build failed: npm ci timed out after 10m0s"; got != want {
		t.Errorf("timeout: %q, want %q", got, want)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Error("timeout does not wrap context.DeadlineExceeded")
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	err = interrupted(ctx, "npm ci", 10*time.Minute)
	if got, want := err.Error(), "build failed: npm ci: interrupted: context canceled"; got != want {
		t.Errorf("cancel: %q, want %q", got, want)
	}
}
