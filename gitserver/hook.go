package gitserver

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/atomicfile"
	"github.com/slipway/slipway/internal/procfs"
	"github.com/slipway/slipway/internal/stream"
	"github.com/slipway/slipway/internal/termsafe"
)

// The pre-receive hook is a two-line script that runs `slipway hook
// pre-receive`, which sends the ref updates and git's quarantine
// environment to the running daemon over a unix socket in the data dir and
// relays the streamed answer: from C before the Go runtime starts, on the
// raw socket (hookfast.c, hookraw.go), or, for a daemon of before that
// has none, from Go over HTTP (RunHook). The deploy runs inside the daemon; the hook's
// exit status (the verdict in the answer's trailers, package stream)
// accepts or rejects the push.

// Environment variables the daemon sets for git receive-pack and its hook.
const (
	envHookSocket = "SLIPWAY_HOOK_SOCKET"
	envPushID     = "SLIPWAY_PUSH_ID"
)

// quarantineEnv are the variables through which a pre-receive hook sees the
// objects of the push before git moves them into the repository.
var quarantineEnv = []string{"GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH"}

// RefUpdate is one line of pre-receive input.
type RefUpdate struct {
	Old  string `json:"old"`
	New  string `json:"new"`
	Name string `json:"name"`
}

const zeroSHA = "0000000000000000000000000000000000000000"

type hookRequest struct {
	PushID string      `json:"push_id"`
	Refs   []RefUpdate `json:"refs"`
	Env    []string    `json:"env"`
}

type pushInfo struct {
	App     string
	RepoDir string
	Pusher  Pusher
	// gitPID is the receive-pack that runs the push's hook: the only
	// process whose children may speak for the push.
	gitPID int
	// deployed is set when the push's deploy went live.
	deployed bool
}

// hookServer answers the pre-receive hook of every push in progress.
type hookServer struct {
	dir      string // core.hooksPath for receive-pack
	socket   string
	exe      string
	deployer Deployer
	logger   *slog.Logger

	mu     sync.Mutex
	pushes map[string]pushInfo

	srv  *http.Server
	done chan struct{}
	raw  *rawHooks // the fast hook's socket (hookraw.go)
}

func newHookServer(l slipway.Layout, exe string, d Deployer, logger *slog.Logger) *hookServer {
	return &hookServer{
		dir:      l.HooksDir(),
		socket:   l.HookSocket(os.Getpid()),
		exe:      exe,
		deployer: d,
		logger:   logger,
		pushes:   map[string]pushInfo{},
	}
}

func (h *hookServer) start() error {
	script := "#!/bin/sh\n# Written by slipway at each start: deploys run in the daemon.\nexec " +
		shellQuote(h.exe) + " hook pre-receive\n"
	if err := atomicfile.Write(filepath.Join(h.dir, "pre-receive"), []byte(script), 0o755); err != nil {
		return fmt.Errorf("write pre-receive hook: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(h.socket), 0o700); err != nil {
		return err
	}
	removeStaleSockets(filepath.Dir(h.socket))
	os.Remove(h.socket) // left by a process that did not shut down
	ln, err := net.Listen("unix", h.socket)
	if err != nil {
		return fmt.Errorf("hook socket: %w", err)
	}
	if err := os.Chmod(h.socket, 0o600); err != nil {
		ln.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /pre-receive", h.preReceive)
	h.srv = &http.Server{Handler: mux, ConnContext: withPeer}
	h.done = make(chan struct{})
	go func() {
		defer close(h.done)
		h.srv.Serve(ln)
	}()
	if err := h.startRaw(); err != nil {
		h.shutdown(context.Background())
		return err
	}
	return nil
}

func (h *hookServer) shutdown(ctx context.Context) error {
	if h.srv == nil {
		return nil
	}
	var wg sync.WaitGroup
	var rawErr error
	wg.Go(func() { rawErr = h.shutdownRaw(ctx) })
	err := h.srv.Shutdown(ctx)
	if err != nil {
		h.srv.Close()
	}
	<-h.done
	wg.Wait()
	os.Remove(h.socket)
	return errors.Join(err, rawErr)
}

// removeStaleSockets removes the hook sockets in dir of slipway processes
// that are gone (a crash).
func removeStaleSockets(dir string) {
	socks, _ := filepath.Glob(filepath.Join(dir, "hook.*.sock"))
	raws, _ := filepath.Glob(filepath.Join(dir, "hook.*.raw"))
	for _, sock := range append(socks, raws...) {
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(sock), ".sock"), ".raw")
		pid, err := strconv.Atoi(strings.TrimPrefix(name, "hook."))
		if err == nil && procfs.ParentPID(pid) < 0 {
			os.Remove(sock)
		}
	}
}

// active returns how many pushes are under way.
func (h *hookServer) active() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.pushes)
}

func (h *hookServer) register(p pushInfo) string {
	b := make([]byte, 16)
	rand.Read(b)
	id := hex.EncodeToString(b)
	h.mu.Lock()
	h.pushes[id] = p
	h.mu.Unlock()
	return id
}

// started records the pid of the git receive-pack of push id.
func (h *hookServer) started(id string, pid int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p, ok := h.pushes[id]; ok {
		p.gitPID = pid
		h.pushes[id] = p
	}
}

// setDeployed records that push id deployed.
func (h *hookServer) setDeployed(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p, ok := h.pushes[id]; ok {
		p.deployed = true
		h.pushes[id] = p
	}
}

// deployed reports whether push id deployed.
func (h *hookServer) deployed(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pushes[id].deployed
}

func (h *hookServer) unregister(id string) {
	h.mu.Lock()
	delete(h.pushes, id)
	h.mu.Unlock()
}

func hookEnv(socket, id string) []string {
	return []string{envHookSocket + "=" + socket, envHookRawSocket + "=" + rawSocketPath(socket), envPushID + "=" + id}
}

// preReceive deploys the pushed deploy branch, streaming progress, and
// reports the verdict in the trailer.
func (h *hookServer) preReceive(w http.ResponseWriter, r *http.Request) {
	var req hookRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, "bad hook request", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	push, ok := h.pushes[req.PushID]
	h.mu.Unlock()
	// Only the hook git started for this push speaks for it: anyone else
	// who can reach the socket (an app sharing slipway's user) is refused,
	// even with the right id.
	if !ok || push.gitPID == 0 || procfs.ParentPID(peerPID(r.Context())) != push.gitPID {
		http.Error(w, "unknown push", http.StatusForbidden)
		return
	}
	stream.Serve(w, func(raw io.Writer) error {
		// Build output reaches the pusher's terminal: it must not drive it.
		out := termsafe.NewWriter(raw)
		defer out.Flush()
		return h.answer(r.Context(), req, push, out)
	}, userMessage)
}

// answer deploys what push req brings, with its output, and the verdict
// in a line when it is refused: for both hook sockets.
func (h *hookServer) answer(ctx context.Context, req hookRequest, push pushInfo, out io.Writer) error {
	err := h.handlePush(ctx, push, req, out)
	if err == nil {
		h.setDeployed(req.PushID)
		return nil
	}
	h.logger.Info("push rejected", "app", push.App, "pusher", push.Pusher.String(), "err", err)
	after := "the live release keeps serving"
	if errors.Is(err, ErrNoLiveRelease) {
		after = "the app has no live release yet"
	}
	fmt.Fprintf(out, "\n !     %s\n !     Push rejected: %s.\n\n", userMessage(err), after)
	return err
}

// errRefRefused rejects a ref update slipway will not take.
var errRefRefused = errors.New("push refused")

// handlePush picks the ref to deploy and hands it to the Deployer; other
// branches and tags are stored without a deploy.
func (h *hookServer) handlePush(ctx context.Context, p pushInfo, req hookRequest, out io.Writer) error {
	deploy := deployRef(req.Refs, branchExists(p.RepoDir, "master"), branchExists(p.RepoDir, "main"))
	for i, ref := range req.Refs {
		if i == deploy {
			continue
		}
		fmt.Fprintf(out, "-----> %s stored, not deployed (slipway deploys main)\n", ref.Name)
	}
	if deploy < 0 {
		return nil
	}
	ref := req.Refs[deploy]
	if ref.New == zeroSHA {
		return fmt.Errorf("%w: %s is the deployed branch and cannot be deleted", errRefRefused, ref.Name)
	}
	return h.deployer.Deploy(ctx, Push{
		App:     p.App,
		Ref:     ref.Name,
		OldSHA:  ref.Old,
		NewSHA:  ref.New,
		RepoDir: p.RepoDir,
		GitEnv:  req.Env,
		Pusher:  p.Pusher,
	}, out)
}

// deployRef returns the index of the ref update to deploy, or -1: main, or
// master when the app has no main branch and the push does not create one.
func deployRef(refs []RefUpdate, hasMaster, hasMain bool) int {
	master := -1
	for i, r := range refs {
		switch r.Name {
		case "refs/heads/main":
			return i
		case "refs/heads/master":
			master = i
		}
	}
	if hasMain {
		return -1
	}
	return master
}

func branchExists(repoDir, branch string) bool {
	if _, err := os.Stat(filepath.Join(repoDir, "refs", "heads", branch)); err == nil {
		return true
	}
	packed, err := os.ReadFile(filepath.Join(repoDir, "packed-refs"))
	return err == nil && strings.Contains(string(packed), " refs/heads/"+branch+"\n")
}

// RunHook is the body of `slipway hook pre-receive`: it reads git's ref
// updates from stdin, asks the daemon to deploy, copies the daemon's output
// to out and returns the exit status git should see.
func RunHook(stdin io.Reader, out io.Writer, environ []string) int {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	socket, id := env[envHookSocket], env[envPushID]
	if socket == "" || id == "" {
		fmt.Fprintln(out, "slipway hook: not started by slipway's git server")
		return 1
	}
	req := hookRequest{PushID: id}
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 {
			req.Refs = append(req.Refs, RefUpdate{Old: f[0], New: f[1], Name: f[2]})
		}
	}
	for _, k := range quarantineEnv {
		v, ok := env[k]
		if !ok {
			continue
		}
		// git runs the hook inside the repository and may pass relative
		// paths; the daemon runs elsewhere.
		var parts []string
		for _, p := range filepath.SplitList(v) {
			if abs, err := filepath.Abs(p); err == nil {
				p = abs
			}
			parts = append(parts, p)
		}
		req.Env = append(req.Env, k+"="+strings.Join(parts, string(filepath.ListSeparator)))
	}
	body, _ := json.Marshal(req)
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		},
	}}
	resp, err := client.Post("http://slipway/pre-receive", "application/json", strings.NewReader(string(body)))
	if err != nil {
		fmt.Fprintln(out, "slipway hook: cannot reach the slipway daemon; is `slipway serve` running?")
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(out, "slipway hook: the daemon refused the hook (%s)\n", resp.Status)
		return 1
	}
	if err := stream.Read(resp, out); err != nil {
		return 1 // the daemon has said why in the output
	}
	return 0
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// peerKey is the context key of a hook connection's peer pid.
type peerKey struct{}

// withPeer is the hook server's ConnContext: it records the pid of the
// process on the other end of the unix socket (SO_PEERCRED).
func withPeer(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, peerKey{}, peerPIDOf(c))
}

// peerPIDOf returns the pid of the process on the other end of unix
// socket c (SO_PEERCRED), 0 if it cannot be told.
func peerPIDOf(c net.Conn) int {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return 0
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0
	}
	pid := 0
	raw.Control(func(fd uintptr) {
		if cred, err := syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED); err == nil {
			pid = int(cred.Pid)
		}
	})
	return pid
}

func peerPID(ctx context.Context) int {
	pid, _ := ctx.Value(peerKey{}).(int)
	return pid
}
