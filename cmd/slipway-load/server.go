package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Time limits of the slipway process.
const (
	startTimeout = 60 * time.Second // until it logs "slipway ready"
	stopTimeout  = 30 * time.Second // from SIGTERM until it is killed
)

// server is a running `slipway serve` on 127.0.0.1 port 0.
type server struct {
	cmd     *exec.Cmd
	logPath string
	waited  chan struct{} // closed when the process has exited
	waitErr error

	mu    sync.Mutex
	addrs map[string]string // service → bound address
}

// serverConfig is how to start one server.
type serverConfig struct {
	Bin          string
	DataDir      string
	Home         string // HOME of the process
	LogPath      string
	Domain       string
	SessionTTL   time.Duration
	DrainTimeout time.Duration
	Strategy     string
	Started      func(*os.Process) // may be nil
}

var listenRE = regexp.MustCompile(`msg=listening service=(\w+) addr=(\S+)`)

// startServer starts slipway and waits until it is ready. On error the
// process, if any, has been stopped.
func startServer(ctx context.Context, c serverConfig) (*server, error) {
	logf, err := os.Create(c.LogPath)
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--data", c.DataDir,
		"--ssh-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--domain", c.Domain, "--session-ttl", c.SessionTTL.String(),
		"--drain-timeout", c.DrainTimeout.String(), "--deploy-strategy", c.Strategy}
	s := &server{logPath: c.LogPath, waited: make(chan struct{}), addrs: map[string]string{}}
	ready := make(chan struct{})
	cmd := exec.Command(c.Bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+c.Home)
	cmd.Stdout = logf
	cmd.Stderr = &logWriter{file: logf, line: s.noteLine(ready)}
	// Its own process group: a Ctrl-C in the terminal reaches only this
	// tool, which then stops slipway itself, once, by pid.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A process slipway started could keep its stderr open after it
	// exits; do not wait for that forever.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start slipway: %w", err)
	}
	s.cmd = cmd
	if c.Started != nil {
		c.Started(cmd.Process)
	}
	go func() {
		s.waitErr = cmd.Wait()
		logf.Close()
		close(s.waited)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-ready:
		if s.addr("ssh") != "" && s.addr("http") != "" && s.addr("admin") != "" {
			return s, nil
		}
		err = errors.New("slipway is ready but did not log all of its addresses")
	case <-s.waited:
		err = fmt.Errorf("slipway exited before it was ready: %v", s.waitErr)
	case <-timer.C:
		err = fmt.Errorf("slipway not ready after %s", startTimeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.stop()
	return nil, fmt.Errorf("%w (log: %s)", err, c.LogPath)
}

// noteLine returns the function that looks at each line of slipway's
// log: it notes the bound addresses and closes ready at "slipway ready".
func (s *server) noteLine(ready chan<- struct{}) func(string) {
	isReady := false
	return func(line string) {
		if m := listenRE.FindStringSubmatch(line); m != nil {
			s.mu.Lock()
			s.addrs[m[1]] = m[2]
			s.mu.Unlock()
		}
		if !isReady && strings.Contains(line, "slipway ready") {
			isReady = true
			close(ready)
		}
	}
}

// logWriter writes slipway's stderr to a file and hands each complete line
// to line. exec.Cmd calls Write from one goroutine.
type logWriter struct {
	file    io.Writer
	line    func(string)
	partial []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.file.Write(p)
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.line(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > 1<<20 { // not a log line; do not grow without bound
		w.partial = w.partial[:0]
	}
	return len(p), nil
}

// addr returns the bound address of service ssh, http or admin.
func (s *server) addr(service string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs[service]
}

// stop sends SIGTERM to slipway, by its pid, and waits for it to exit; it
// kills it if it has not exited after stopTimeout.
func (s *server) stop() error {
	select {
	case <-s.waited:
		return s.waitErr
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-s.waited:
		return s.waitErr
	case <-t.C:
		s.cmd.Process.Kill()
		<-s.waited
		return fmt.Errorf("slipway did not stop within %s of SIGTERM and was killed (log: %s)", stopTimeout, s.logPath)
	}
}

// logLines returns the lines of slipway's log that contain any of words.
func (s *server) logLines(words ...string) []string {
	data, err := os.ReadFile(s.logPath)
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		for _, w := range words {
			if strings.Contains(line, w) {
				out = append(out, line)
				break
			}
		}
	}
	return out
}

// releaseLiveTimes reads from slipway's log when each release of app went
// live ("release live" lines), keyed by release ("v3").
func (s *server) releaseLiveTimes(app string) map[string]time.Time {
	times := map[string]time.Time{}
	for _, line := range s.logLines(`msg="release live"`) {
		if logField(line, "app") != app {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, logField(line, "time"))
		if err == nil {
			times[logField(line, "release")] = t
		}
	}
	return times
}

// maxDraining returns the most draining pools app had at once, from the
// router's "pool live" and "pool retired" lines.
func (s *server) maxDraining(app string) int {
	most := 0
	for _, line := range s.logLines(`msg="router: pool live"`, `msg="router: pool retired"`) {
		if logField(line, "app") != app {
			continue
		}
		if n, err := strconv.Atoi(logField(line, "draining")); err == nil {
			most = max(most, n)
		}
	}
	return most
}

// logField returns the unquoted value of key=value in a slog text line.
func logField(line, key string) string {
	i := strings.Index(" "+line, " "+key+"=")
	if i < 0 {
		return ""
	}
	v := line[i+len(key)+1:]
	if strings.HasPrefix(v, `"`) {
		if j := strings.Index(v[1:], `"`); j >= 0 {
			return v[1 : j+1]
		}
	}
	v, _, _ = strings.Cut(v, " ")
	return v
}

// newKey generates an ed25519 key pair in dir and returns the private key path.
func newKey(ctx context.Context, dir string) (string, error) {
	path := filepath.Join(dir, "id_ed25519")
	out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "slipway-load", "-f", path).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ssh-keygen: %v\n%s", err, out)
	}
	return path, nil
}
