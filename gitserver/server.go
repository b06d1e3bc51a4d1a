package gitserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/gliderlabs/ssh"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/pausable"
)

// DefaultAddr is where the SSH endpoint listens unless told otherwise.
const DefaultAddr = ":2222"

// DefaultMaxPushSize is the largest pack a push may send: 1 GiB.
const DefaultMaxPushSize = 1 << 30

// Push is one ref update of a git push that should be deployed.
type Push struct {
	App     string
	Ref     string // e.g. refs/heads/main
	OldSHA  string
	NewSHA  string
	RepoDir string
	// GitEnv holds the hook's quarantine environment: the pushed objects
	// are only readable through it until git updates the ref.
	GitEnv []string
	Pusher Pusher
}

// Deployer turns a push into a live release. Deploy writes progress for the
// pusher to out as it happens; a non-nil error rejects the push, and its
// message is shown to the pusher.
type Deployer interface {
	Deploy(ctx context.Context, p Push, out io.Writer) error
}

// ErrNoLiveRelease marks a Deployer's error for an app that has no live
// release yet: the push's rejection then says so instead of "the live
// release keeps serving".
var ErrNoLiveRelease = errors.New("the app has no live release yet")

// NoLiveRelease marks err as the failed deploy of an app without a live
// release.
func NoLiveRelease(err error) error { return noLive{err} }

type noLive struct{ error }

func (e noLive) Unwrap() error        { return e.error }
func (e noLive) Is(target error) bool { return target == ErrNoLiveRelease }

// Discarder is a Deployer that also removes an app whose first push ended
// without a release going live, so a rejected first push leaves no app,
// repository or history behind.
type Discarder interface {
	DiscardNewApp(ctx context.Context, app string) error
}

// CommandFunc runs one management command with its arguments, writing its
// output to out. A returned error is shown to the user as one line (see
// userMessage) and the command exits non-zero.
type CommandFunc = slipway.CommandFunc

// Config configures a Server.
type Config struct {
	Addr           string // DefaultAddr when empty
	DataDir        string // repos live in DataDir/repos, the host key in DataDir
	AuthorizedKeys string // DataDir/authorized_keys when empty
	// Executable is the slipway binary the pre-receive hook runs. When
	// empty, os.Executable is used.
	Executable string
	Deployer   Deployer
	// Listener, when set, is served instead of listening on Addr (a
	// socket passed by the service manager).
	Listener net.Listener
	// Commands are the management commands users run over ssh
	// ("ssh -p 2222 git@HOST releases NAME"), by name.
	Commands map[string]CommandFunc
	// Unknown, when set, is the error text for a command name that is
	// none (a suggestion of the nearest one, say).
	Unknown func(name string) string
	// Limits bound the connections that have not authenticated yet.
	Limits Limits
	// MaxPushSize bounds the pack a push sends, in bytes (git's
	// receive.maxInputSize); 0 means DefaultMaxPushSize.
	MaxPushSize int64
	Logger      *slog.Logger // slog.Default when nil
}

// Server is the SSH git endpoint.
type Server struct {
	cfg    Config
	logger *slog.Logger
	keys   *authorizedKeys
	ssh    *ssh.Server
	hooks  *hookServer
	gate   *gate
	ln     *pausable.Listener
	done   chan error
}

// New returns a Server for cfg. Nothing listens until Start.
func New(cfg Config) *Server {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.AuthorizedKeys == "" {
		cfg.AuthorizedKeys = slipway.Layout{Root: cfg.DataDir}.AuthorizedKeys()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	logger := cfg.Logger.With("component", "gitserver")
	return &Server{
		cfg:    cfg,
		logger: logger,
		keys:   newAuthorizedKeys(cfg.AuthorizedKeys, logger),
		gate:   newGate(cfg.Limits),
	}
}

// Dropped returns how many connections not logged in the limits have
// closed to make room for others.
func (s *Server) Dropped() int64 { return s.gate.pending.Evicted() }

// ReposDir is where the bare repositories live.
func (s *Server) ReposDir() string { return s.layout().ReposDir() }

// RepoDir returns the bare repository path of app.
func (s *Server) RepoDir(app string) string { return s.layout().Repo(app) }

func (s *Server) layout() slipway.Layout { return slipway.Layout{Root: s.cfg.DataDir} }

// Start prepares the data dir (host key, hook, hook socket), listens and
// serves in the background.
func (s *Server) Start() error {
	exe := s.cfg.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("find slipway binary for the git hook: %w", err)
		}
	}
	if err := os.MkdirAll(s.ReposDir(), 0o755); err != nil {
		return err
	}
	signer, err := hostKey(s.layout().HostKey())
	if err != nil {
		return err
	}
	s.hooks = newHookServer(s.layout(), exe, s.cfg.Deployer, s.logger)
	if err := s.hooks.start(); err != nil {
		return err
	}
	s.ssh = &ssh.Server{
		Handler:     s.handleSession,
		HostSigners: []ssh.Signer{signer},
		// The decision to let a key in is made again from the session's
		// key in handleSession (the CVE-2024-45337 lesson); this only
		// stops unknown keys early.
		PublicKeyHandler: func(ctx ssh.Context, key ssh.PublicKey) bool {
			_, ok := s.keys.lookup(key)
			return ok
		},
		// Connections not logged in are capped, in all and by network,
		// and get LoginGrace to log in (OpenSSH's MaxStartups and
		// LoginGraceTime); a flood displaces its own oldest, so it
		// cannot starve the others (limits.go).
		ConnCallback: s.gate.admit,
		IdleTimeout:  10 * time.Minute,
		Version:      "slipway",
	}
	ln, err := s.cfg.Listener, error(nil)
	if ln == nil {
		ln, err = net.Listen("tcp", s.cfg.Addr)
	}
	if err != nil {
		s.hooks.shutdown(context.Background())
		return fmt.Errorf("ssh listen: %w", err)
	}
	s.ln = pausable.New(ln) // on the listener itself: Pause sets its deadline
	s.done = make(chan error, 1)
	go func() { s.done <- s.ssh.Serve(quickAckListener{s.ln}) }()
	s.keys.load()
	return nil
}

// Pause stops accepting ssh connections: new ones wait in the kernel's
// queue (for the slipway process that takes over, during an upgrade).
// Resume accepts again.
func (s *Server) Pause() { s.ln.Pause() }

// Resume undoes Pause.
func (s *Server) Resume() { s.ln.Resume() }

// Pushes returns how many pushes are under way: from the start of git
// receive-pack to its end.
func (s *Server) Pushes() int { return s.hooks.active() }

// Addr returns the address the SSH endpoint listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Shutdown stops accepting connections and waits for sessions (and the
// deploys they run) to finish until ctx is done, then closes them.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.ssh == nil {
		return nil
	}
	err := s.ssh.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		s.ssh.Close()
	}
	<-s.done
	if herr := s.hooks.shutdown(ctx); err == nil {
		err = herr
	}
	if errors.Is(err, ssh.ErrServerClosed) {
		err = nil
	}
	return err
}
