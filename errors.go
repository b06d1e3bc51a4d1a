package slipway

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
)

// Error codes, for the edges to map to an HTTP status or an exit status.
const (
	EINVALID  = "invalid"   // the request is wrong: bad name, bad value, nothing to do
	ENOTFOUND = "not_found" // no such app or release
	ECONFLICT = "conflict"  // the request clashes with the current state
	EINTERNAL = "internal"  // slipway's own failure; details only in the log
)

// Error is an error whose message is written for users, with a code that
// says what kind of failure it is. Anything that is not an *Error (or one
// of the sentinel errors above) is internal: the edges show a generic line
// and log the rest.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: that of an *Error in its chain, the
// code of a sentinel error of this package, or EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, ErrAppNotFound):
		return ENOTFOUND
	case errors.Is(err, ErrInvalidAppName), errors.Is(err, ErrBuildFailed), errors.Is(err, ErrHealthCheck):
		return EINVALID
	}
	return EINTERNAL
}

// ErrorMessage returns what a user may see of err: the message of an
// *Error, the text of a sentinel-wrapping error, or a generic line.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	case ErrorCode(err) != EINTERNAL:
		return err.Error()
	case errors.Is(err, syscall.ENOSPC):
		return diskFullMessage(err)
	}
	return "internal error (see the slipway log)"
}

// diskFullMessage says which path's disk is full and what to do about it.
func diskFullMessage(err error) string {
	where := "slipway's data directory"
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path != "" {
		where = pe.Path
	}
	if _, rest, ok := strings.Cut(where, "/apps/"); ok {
		app, _, _ := strings.Cut(rest, "/")
		return "no space left on the disk holding " + where + ": " + app + "'s disk (apps:info " + app + " says which and how full): " +
			"free space in its HOME or TMPDIR (run " + app + " …); nothing was changed and the live release keeps serving"
	}
	return "no space left on the disk holding " + where + ": free space there (old releases' builds and logs " +
		"are under the data directory's apps/); nothing was changed and the live release keeps serving"
}
