package gitserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/gliderlabs/ssh"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/termsafe"
)

// gitProtocolRE is what a GIT_PROTOCOL value sent by a client may look like
// ("version=2"); anything else is dropped rather than passed to git.
var gitProtocolRE = regexp.MustCompile(`^[a-zA-Z0-9=:.,_-]{1,64}$`)

// handleSession authorizes the session's key and runs its command. Every
// failure ends in one line on stderr and a non-zero exit status.
func (s *Server) handleSession(sess ssh.Session) {
	s.gate.authenticated(sess.Context())
	pusher, ok := s.keys.lookup(sess.PublicKey())
	if !ok {
		s.fail(sess, 255, "permission denied: your ssh key is not in slipway's authorized_keys")
		return
	}
	log := s.logger.With("pusher", pusher.String(), "remote", sess.RemoteAddr().String())
	cmd, err := ParseCommand(sess.RawCommand())
	if err != nil {
		log.Info("refused ssh command", "err", err)
		s.fail(sess, 2, userMessage(err))
		return
	}
	switch cmd.Name {
	case "git-receive-pack", "git-upload-pack":
		code, err := s.serveGit(sess, cmd, pusher)
		if err != nil {
			log.Info("git command failed", "command", cmd.Name, "err", err)
			s.fail(sess, 1, userMessage(err))
			return
		}
		sess.Exit(code)
	default:
		run, ok := s.cfg.Commands[cmd.Name]
		if !ok {
			msg := fmt.Sprintf("unknown command %q: %s", cmd.Name, s.commandList())
			if s.cfg.Unknown != nil {
				msg = s.cfg.Unknown(cmd.Name)
			}
			s.fail(sess, 2, termsafe.Clean(msg))
			return
		}
		log.Info("ssh command", "command", cmd.Name, "args", len(cmd.Args))
		ctx := slipway.WithTerminal(slipway.WithCaller(sess.Context(), pusher), terminal(sess))
		if err := run(ctx, cmd.Args, sess, sess); err != nil {
			var status slipway.ExitStatus
			if errors.As(err, &status) {
				sess.Exit(int(status))
				return
			}
			log.Info("ssh command failed", "command", cmd.Name, "err", err)
			s.fail(sess, 1, userMessage(err))
			return
		}
		sess.Exit(0)
	}
}

// terminal is the session's terminal: its streams and, when the client
// asked for one, its pty's type and size, following its resizes.
func terminal(sess ssh.Session) slipway.Terminal {
	t := slipway.Terminal{Stdin: sess, Stdout: sess, Stderr: sess.Stderr()}
	p, windows, ok := sess.Pty()
	if !ok {
		return t
	}
	t.Pty, t.Term = true, p.Term
	t.Size = slipway.WindowSize{Cols: p.Window.Width, Rows: p.Window.Height}
	resize := make(chan slipway.WindowSize, 1)
	go func() { // ends when the session does: gliderlabs closes windows
		defer close(resize)
		for w := range windows {
			select {
			case resize <- slipway.WindowSize{Cols: w.Width, Rows: w.Height}:
			default: // a resize is pending; this one is newer, but the next wins
			}
		}
	}()
	t.Resize = resize
	return t
}

// fail writes msg as one line to the client's stderr and exits with code.
func (s *Server) fail(sess ssh.Session, code int, msg string) {
	fmt.Fprintf(sess.Stderr(), "slipway: %s\n", msg)
	sess.Exit(code)
}

// serveGit runs the real git binary for the wire protocol and returns its
// exit status.
func (s *Server) serveGit(sess ssh.Session, cmd Command, pusher Pusher) (int, error) {
	if len(cmd.Args) != 1 {
		return 0, fmt.Errorf("%w: %s takes one repository path", ErrBadCommand, cmd.Name)
	}
	app, err := RepoName(cmd.Args[0])
	if err != nil {
		return 0, err
	}
	if !pusher.May(app) { // as if it did not exist
		return 0, fmt.Errorf("%w: %s: push to it first", slipway.ErrAppNotFound, app)
	}
	repo := s.RepoDir(app)
	env := os.Environ()
	for _, kv := range sess.Environ() {
		if v, ok := strings.CutPrefix(kv, "GIT_PROTOCOL="); ok && gitProtocolRE.MatchString(v) {
			env = append(env, kv)
		}
	}
	var args []string
	if cmd.Name == "git-receive-pack" {
		created, err := ensureRepo(repo)
		if err != nil {
			return 0, fmt.Errorf("create repository for %s: %w", app, err)
		}
		if created {
			s.logger.Info("app created", "app", app, "pusher", pusher.String())
		}
		id := s.hooks.register(pushInfo{App: app, RepoDir: repo, Pusher: pusher})
		defer s.hooks.unregister(id)
		env = append(env, hookEnv(s.hooks.socket, id)...)
		max := s.cfg.MaxPushSize
		if max <= 0 {
			max = DefaultMaxPushSize
		}
		// git refuses a bigger pack while it arrives, keeping nothing.
		args = []string{"-c", "core.hooksPath=" + s.hooks.dir, "-c", "receive.maxInputSize=" + strconv.FormatInt(max, 10), "receive-pack", repo}
		code, err := s.runGit(sess, args, env, func(pid int) { s.hooks.started(id, pid) })
		if d, ok := s.cfg.Deployer.(Discarder); ok && created && !s.hooks.deployed(id) {
			// The push that made the app went nowhere: no app is left.
			if derr := d.DiscardNewApp(context.WithoutCancel(sess.Context()), app); derr != nil {
				s.logger.Error("remove the app a failed first push made", "app", app, "err", derr)
			} else {
				s.logger.Info("app not created: its first push did not go live", "app", app)
			}
		}
		return code, err
	} else {
		if !repoExists(repo) {
			return 0, fmt.Errorf("%w: %s: push to it first", slipway.ErrAppNotFound, app)
		}
		args = []string{"upload-pack", "--strict", repo}
	}
	return s.runGit(sess, args, env, nil)
}

// gitNice is the scheduling priority (nice value) of git receive-pack and
// upload-pack.
const gitNice = 10

// runGit runs git with the session as its standard streams; started, when
// set, hears git's pid. Standard input
// is copied by a goroutine rather than handed to exec, so that git sees EOF
// when the client closes its side and the session's reader is not shared.
func (s *Server) runGit(sess ssh.Session, args, env []string, started func(pid int)) (int, error) {
	ctx, cancel := context.WithCancel(sess.Context())
	defer cancel()
	git := exec.CommandContext(ctx, "git", args...)
	git.Env = env
	git.Stdout = sess
	git.Stderr = sess.Stderr()
	stdin, err := git.StdinPipe()
	if err != nil {
		return 0, err
	}
	if err := git.Start(); err != nil {
		return 0, err
	}
	// Receiving and sending packs yields the CPU to the apps serving
	// requests meanwhile.
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, git.Process.Pid, gitNice)
	if started != nil {
		started(git.Process.Pid)
	}
	go func() {
		io.Copy(stdin, sess)
		stdin.Close()
	}()
	err = git.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if code := exit.ExitCode(); code > 0 {
			return code, nil
		}
		return 1, nil
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
}

// commandList names what a user may run, for an unknown command's error.
func (s *Server) commandList() string {
	names := make([]string, 0, len(s.cfg.Commands))
	for name := range s.cfg.Commands {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "slipway accepts git push and git fetch"
	}
	return "slipway accepts git push, git fetch and " + strings.Join(names, ", ")
}
