package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// appSource is the test app: it answers every request with 200, the
// release in an X-Release header and in the body, and on SIGTERM stops
// accepting connections and finishes the requests in flight.
const appSource = `package main

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	release := os.Getenv("SLIPWAY_RELEASE")
	body := []byte("release " + release + "\n")
	srv := &http.Server{
		Addr: "127.0.0.1:" + os.Getenv("PORT"),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Release", release)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Write(body)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		log.Fatal(err)
	case <-ctx.Done():
	}
	log.Printf("release %s: SIGTERM, shutting down", release)
	sctx, cancel := context.WithTimeout(context.Background(), 9*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Printf("shutdown: %v", err)
	}
	log.Printf("release %s: stopped", release)
}
`

// buildApp compiles appSource into dir/app, a static binary with no
// dependencies, and returns its path.
func buildApp(ctx context.Context, dir string) (string, error) {
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	files := map[string]string{
		"go.mod":  "module loadapp\n\ngo 1.22\n",
		"main.go": appSource,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(text), 0o644); err != nil {
			return "", err
		}
	}
	bin := filepath.Join(dir, "app")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "CGO_ENABLED=0", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the test app: %v\n%s", err, out)
	}
	return bin, nil
}

// goAppFiles are the work tree of the Go test app: the prebuilt binary
// appBin, a Procfile, and an app.json asking for instances web processes.
func goAppFiles(appBin string, instances int) ([]repoFile, error) {
	bin, err := os.ReadFile(appBin)
	if err != nil {
		return nil, err
	}
	return []repoFile{
		{"app", bin, 0o755},
		{"Procfile", []byte("web: ./app\n"), 0o644},
		appJSON(instances),
	}, nil
}

// pythonAppFiles are the work tree of the sleep run's app: Python's
// http.server serving the work tree, with instances web processes. GET
// /VERSION answers the release's commit number, which tells which release
// answered.
func pythonAppFiles(instances int) []repoFile {
	return []repoFile{
		{"Procfile", []byte("web: python3 -m http.server --bind 127.0.0.1 $PORT\n"), 0o644},
		appJSON(instances),
	}
}

// appJSON asks for instances web processes.
func appJSON(instances int) repoFile {
	return repoFile{"app.json", []byte(fmt.Sprintf(`{"formation":{"web":{"quantity":%d}}}`+"\n", instances)), 0o644}
}

// buildSlipway compiles this module's slipway command into dir.
func buildSlipway(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "slipway")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/slipway/slipway/cmd/slipway")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build slipway: %v\n%s", err, out)
	}
	return bin, nil
}
