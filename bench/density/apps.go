package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// pushTimeout bounds one git push or ssh command: a deploy without a
// build takes seconds, or tens of them when others deploy meanwhile.
const pushTimeout = 3 * time.Minute

// serverPy is the default app: Python's http.server with HTTP/1.1
// keep-alive and no request log, answering every GET with index.html.
// Without TCP_NODELAY its two writes (head, body) would wait for the
// router's delayed ACK: 40 ms a request.
const serverPy = `import http.server, os

body = open("index.html", "rb").read()

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
`

// procfiles are the apps -app chooses from.
var procfiles = map[string]string{
	"keepalive":   "web: python3 server.py\n",
	"http.server": "web: python3 -m http.server --bind 127.0.0.1 $PORT\n",
}

// repo is the apps' git work tree (every app is the same code) and how to
// push it.
type repo struct {
	dir string
	env []string
}

// newRepo makes the work tree in dir and commits it on main. home is HOME
// for git and ssh, key the private key to push with.
func newRepo(ctx context.Context, dir, home, key, app string) (*repo, error) {
	r := &repo{
		dir: dir,
		env: []string{
			"HOME=" + home, "PATH=" + os.Getenv("PATH"), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
			"GIT_SSH_COMMAND=ssh -i " + key + " -o IdentitiesOnly=yes -o StrictHostKeyChecking=no" +
				" -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=20",
			"GIT_AUTHOR_NAME=density", "GIT_AUTHOR_EMAIL=density@slipway.invalid",
			"GIT_COMMITTER_NAME=density", "GIT_COMMITTER_EMAIL=density@slipway.invalid",
		},
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	files := map[string]string{
		"Procfile":   procfiles[app],
		"server.py":  serverPy,
		"index.html": "<!doctype html><title>density</title><p>hello from a small app\n",
		"app.json":   `{"formation":{"web":{"quantity":1}}}` + "\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return nil, err
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "a small app"}} {
		if _, err := r.git(ctx, args...); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// push pushes main to app on the slipway at sshAddr, which deploys it
// before the push returns.
func (r *repo) push(ctx context.Context, sshAddr, app string) error {
	ctx, cancel := context.WithTimeout(ctx, pushTimeout)
	defer cancel()
	_, err := r.git(ctx, "push", "ssh://git@"+sshAddr+"/"+app, "main")
	return err
}

// git runs git in the work tree and returns its combined output.
func (r *repo) git(ctx context.Context, args ...string) (string, error) {
	return r.run(ctx, "git", args...)
}

// ssh runs a slipway command over ssh with the repo's key.
func (r *repo) ssh(ctx context.Context, sshAddr string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, pushTimeout)
	defer cancel()
	var sshCmd string
	for _, kv := range r.env {
		if v, ok := strings.CutPrefix(kv, "GIT_SSH_COMMAND="); ok {
			sshCmd = v
		}
	}
	host, port, _ := strings.Cut(sshAddr, ":")
	f := strings.Fields(sshCmd)
	return r.run(ctx, f[0], append(append(f[1:], "-p", port, "git@"+host), args...)...)
}

// run runs name in the work tree with the repo's environment.
func (r *repo) run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = r.dir
	cmd.Env = r.env
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, lastLines(string(out), 6))
	}
	return string(out), nil
}

// lastLines returns the last n non-empty lines of s, joined by " | ".
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// appNames returns app001 … appN.
func appNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("app%03d", i+1)
	}
	return names
}

// pushAll pushes every app, at most conc at once, and returns the first
// error.
func pushAll(ctx context.Context, r *repo, sshAddr string, apps []string, conc int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan string)
	errc := make(chan error, len(apps))
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for app := range work {
				if err := r.push(ctx, sshAddr, app); err != nil {
					errc <- fmt.Errorf("push %s: %w", app, err)
					cancel()
				}
			}
		}()
	}
	for _, app := range apps {
		select {
		case work <- app:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	close(errc)
	return <-errc
}

// prober asks the router for apps, each request on a new connection, so
// that the answer comes from whichever slipway accepts now.
var prober = &http.Client{
	Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
	Timeout:   2 * time.Second,
}

// answers reports whether app answers 200 through the router at httpAddr.
func answers(ctx context.Context, httpAddr, app string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+httpAddr+"/", nil)
	if err != nil {
		return false
	}
	req.Host = app + "." + domain
	resp, err := prober.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// allAnswer polls every app through the router, a few at once, until each
// has answered 200 once, and returns when the last one did.
func allAnswer(ctx context.Context, httpAddr string, apps []string, limit time.Duration) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	work := make(chan string, len(apps))
	for _, a := range apps {
		work <- a
	}
	close(work)
	var mu sync.Mutex
	var last time.Time
	var missing []string
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for app := range work {
				for !answers(ctx, httpAddr, app) {
					if ctx.Err() != nil {
						mu.Lock()
						missing = append(missing, app)
						mu.Unlock()
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				mu.Lock()
				last = time.Now()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(missing) > 0 {
		return last, fmt.Errorf("%d apps did not answer through the router within %s: %s", len(missing), limit, strings.Join(missing[:min(len(missing), 5)], " "))
	}
	return last, nil
}
