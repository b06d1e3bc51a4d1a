package slipway

import (
	"context"
	"fmt"
	"io"
	"slices"
)

// Pusher identifies who pushed or runs a command: the SHA256 fingerprint
// of the ssh key and the comment that follows it in authorized_keys
// (often user@host).
type Pusher struct {
	Fingerprint string `json:"fingerprint"`
	Comment     string `json:"comment,omitempty"`
	// Apps, when set, are the only apps the key may push to and manage
	// (ssh-keys:add NAME --app APP); every other app is "not found" to it.
	Apps []string `json:"apps,omitempty"`
}

// May reports whether the key may push to and manage app.
func (p Pusher) May(app string) bool { return p.Apps == nil || slices.Contains(p.Apps, app) }

// Restricted reports whether the key is limited to some apps.
func (p Pusher) Restricted() bool { return p.Apps != nil }

// String returns "comment (fingerprint)", or the fingerprint alone.
func (p Pusher) String() string {
	if p.Comment == "" {
		return p.Fingerprint
	}
	return p.Comment + " (" + p.Fingerprint + ")"
}

// callerKey is the context key of who runs a use case.
type callerKey struct{}

// WithCaller returns ctx saying whose key runs the use case in it, for
// the history of what it changes and for what the key may do. Who did it
// travels this one way, from every transport.
func WithCaller(ctx context.Context, p Pusher) context.Context {
	return context.WithValue(ctx, callerKey{}, p)
}

// callerNameKey is the context key of who runs a use case without a key.
type callerNameKey struct{}

// WithCallerName returns ctx saying who runs the use case in it when no
// key does ("admin" for the admin page and its API).
func WithCallerName(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, callerNameKey{}, name)
}

// HostCaller is who runs a use case that neither a key nor a name claims:
// the operator, with slipway COMMAND on the host.
const HostCaller = "slipway on the host"

// CallerName returns who runs the use case in ctx: the key's "comment
// (fingerprint)", the name WithCallerName gave, or def.
func CallerName(ctx context.Context, def string) string {
	if p, ok := ctx.Value(callerKey{}).(Pusher); ok {
		return p.String()
	}
	if name, ok := ctx.Value(callerNameKey{}).(string); ok {
		return name
	}
	return def
}

// CallerKey returns the key that runs the use case in ctx; false on the
// host, where the operator may do everything.
func CallerKey(ctx context.Context) (Pusher, bool) {
	p, ok := ctx.Value(callerKey{}).(Pusher)
	return p, ok
}

// WindowSize is a terminal's size in characters.
type WindowSize struct{ Cols, Rows int }

// Terminal is what a one-off process is attached to: its caller's
// standard streams and, when the caller asked for one (ssh -t), a pseudo
// terminal of the given size that follows the caller's resizes.
type Terminal struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Pty            bool
	Term           string // the caller's TERM, with a pty
	Size           WindowSize
	Resize         <-chan WindowSize // nil: the size never changes
}

// terminalKey is the context key of a command's terminal.
type terminalKey struct{}

// WithTerminal returns ctx carrying the terminal of the session a command
// runs in (for run).
func WithTerminal(ctx context.Context, t Terminal) context.Context {
	return context.WithValue(ctx, terminalKey{}, t)
}

// TerminalOf returns the terminal of ctx's command, if it has one.
func TerminalOf(ctx context.Context) (Terminal, bool) {
	t, ok := ctx.Value(terminalKey{}).(Terminal)
	return t, ok
}

// ExitStatus is a command's error that is only its exit status: the
// client gets the status, and no message (run passes a process's status
// through).
type ExitStatus int

func (e ExitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// CommandFunc runs one management command with its arguments, reading in
// (certs:add) and writing to out; the transports (ssh, the local CLI)
// look commands up by name.
type CommandFunc func(ctx context.Context, args []string, in io.Reader, out io.Writer) error
