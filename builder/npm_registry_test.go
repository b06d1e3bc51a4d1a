package builder

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/testutil"
)

// npmRegistry is a registry of one package on 127.0.0.1, speaking enough
// of the npm registry API for npm install: GET /NAME returns the
// packument, GET /NAME/-/NAME-1.0.0.tgz the tarball. It counts the
// requests to each path.
type npmRegistry struct {
	*httptest.Server
	mu       sync.Mutex
	requests map[string]int
}

const (
	npmTestPackage = "slipway-test-dep"
	npmTestTarball = "/" + npmTestPackage + "/-/" + npmTestPackage + "-1.0.0.tgz"
)

func newNPMRegistry(t *testing.T) *npmRegistry {
	t.Helper()
	tgz := npmTarball(t, files{
		"package/package.json": `{"name": "` + npmTestPackage + `", "version": "1.0.0", "main": "index.js"}`,
		"package/index.js":     "module.exports = 'hello from " + npmTestPackage + "'\n",
	})
	sha1sum, sha512sum := sha1.Sum(tgz), sha512.Sum512(tgz)
	r := &npmRegistry{requests: map[string]int{}}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.requests[req.URL.Path]++
		r.mu.Unlock()
		switch req.URL.Path {
		case "/" + npmTestPackage:
			version := map[string]any{
				"name": npmTestPackage, "version": "1.0.0",
				"dist": map[string]string{
					"tarball":   r.URL + npmTestTarball,
					"shasum":    hex.EncodeToString(sha1sum[:]),
					"integrity": "sha512-" + base64.StdEncoding.EncodeToString(sha512sum[:]),
				},
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{
				"name":      npmTestPackage,
				"dist-tags": map[string]string{"latest": "1.0.0"},
				"versions":  map[string]any{"1.0.0": version},
			})
		case npmTestTarball:
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write(tgz)
		default:
			http.NotFound(w, req)
		}
	}))
	// httptest listens on 127.0.0.1 unless told otherwise; say it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.Listener = l
	r.Start()
	t.Cleanup(r.Close)
	return r
}

// take returns the requests counted since the last take, path → count.
func (r *npmRegistry) take() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := maps.Clone(r.requests)
	clear(r.requests)
	return got
}

// npmTarball returns a gzip'd tar of fs, as npm pack makes them.
func npmTarball(t *testing.T, fs files) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range fs {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Unix(499162500, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// silentListener listens on 127.0.0.1 and holds every connection it
// accepts, never reading or answering, until the test ends. It returns its
// address and a count of the connections accepted so far.
func silentListener(t *testing.T) (addr string, accepted func() int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String(), func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}
}

// skipWithoutNPM skips the test (fails it under CI) without npm and node.
func skipWithoutNPM(t *testing.T) {
	t.Helper()
	testutil.NeedTool(t, "npm", "npm")
	testutil.NeedTool(t, "node", "nodejs")
}

// A second push of an app without a lock file installs its dependencies
// from the app's npm cache: npm asks the registry for nothing it fetched
// the first time, neither the tarball nor (prefer-offline) the packument.
func TestBuild_NodeSecondPushFetchesNothing(t *testing.T) {
	skipWithoutNPM(t)
	reg := newNPMRegistry(t)
	repo, sha := newRepo(t, files{
		"package.json": `{"name": "hello", "version": "1.0.0", "private": true,
			"dependencies": {"` + npmTestPackage + `": "^1.0.0"},
			"scripts": {"start": "node server.js"}}`,
		"server.js": "console.log(require('" + npmTestPackage + "'))\n",
	})
	b := newBuilder(t, 0)
	env := map[string]string{"NPM_CONFIG_REGISTRY": reg.URL + "/"}

	var rels [3]*Release
	for v := slipway.Version(1); v <= 2; v++ {
		var out syncBuffer
		start := time.Now()
		rel, err := b.Build(t.Context(), Request{App: "hello", Version: v, Commit: sha, RepoDir: repo, Env: env}, &out)
		took := time.Since(start)
		if err != nil {
			t.Fatalf("build v%d: %v\n%s", v, err, out.String())
		}
		got := reg.take()
		t.Logf("build v%d took %v; registry requests: %v", v, took, got)
		rels[v] = rel
		switch v {
		case 1:
			if got["/"+npmTestPackage] == 0 || got[npmTestTarball] != 1 {
				t.Errorf("first build: requests %v, want the packument and the tarball once", got)
			}
		case 2:
			if len(got) != 0 {
				t.Errorf("second build: requests %v, want none: the app's npm cache has it all\n%s", got, out.String())
			}
		}
	}

	for _, rel := range rels[1:] {
		if lock := filepath.Join(rel.Dir, "package-lock.json"); !isFile(lock) {
			t.Errorf("%s: npm install wrote no lock file", rel.Dir)
		}
		cmd := testutil.Command(t, time.Minute, "node", "server.js")
		cmd.Dir = rel.Dir
		out, err := cmd.CombinedOutput()
		if want := "hello from " + npmTestPackage + "\n"; err != nil || string(out) != want {
			t.Errorf("%s: node server.js = %q, %v, want %q", rel.Dir, out, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(b.cacheDir("hello"), "npm")); err != nil {
		t.Errorf("no npm cache in the app's cache dir: %v", err)
	}
}

// A registry that takes the connection and never answers fails the build
// within 10 s, with one line naming the config var that points builds at
// another. The test's own deadline is far longer, so that a hang fails it
// instead of blocking it.
func TestBuild_NodeSilentRegistryFailsFast(t *testing.T) {
	skipWithoutNPM(t)
	addr, accepted := silentListener(t)
	repo, sha := newRepo(t, files{
		"package.json": `{"name": "hello", "version": "1.0.0", "private": true,
			"dependencies": {"` + npmTestPackage + `": "^1.0.0"}, "scripts": {"start": "node server.js"}}`,
	})
	b := newBuilder(t, 0)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var out syncBuffer
	start := time.Now()
	_, err := b.Build(ctx, Request{App: "hello", Version: 1, Commit: sha, RepoDir: repo,
		Env: map[string]string{"NPM_CONFIG_REGISTRY": "http://" + addr + "/"}}, &out)
	took := time.Since(start)
	n := accepted()
	t.Logf("build failed after %v, %d connections accepted: %v\n%s", took, n, err, out.String())
	if ctx.Err() != nil {
		t.Fatalf("the build did not return within the test's deadline: %v", err)
	}
	assertBuildFailed(t, err, "npm install: ")
	if want := "config:set hello NPM_CONFIG_REGISTRY=URL"; err != nil && !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name the var: want %q", err, want)
	}
	// One try and one retry, each cut short by fetch-timeout: the budget
	// TestNPMDefaults_FailWithin10s checks.
	if n == 0 || n > 2 {
		t.Errorf("npm connected %d times, want once and at most one retry", n)
	}
	assertNoLeftovers(t, b, "hello")
}

// slipway's npm defaults give up on a registry that never answers within
// 10 s, npm's start included: every try's fetch-timeout and the pause
// before each retry add up to at most 8 s.
func TestNPMDefaults_FailWithin10s(t *testing.T) {
	ms := map[string]int{}
	for _, kv := range npmDefaults {
		k, v, _ := strings.Cut(kv, "=")
		if n, err := strconv.Atoi(v); err == nil {
			ms[strings.TrimPrefix(k, "npm_config_")] = n
		}
	}
	retries, timeout, pause := ms["fetch_retries"], ms["fetch_timeout"], ms["fetch_retry_maxtimeout"]
	if timeout == 0 || pause == 0 || ms["fetch_retry_mintimeout"] > pause {
		t.Fatalf("npmDefaults %q lack a fetch timeout or a bounded retry pause", npmDefaults)
	}
	if worst := (retries+1)*timeout + retries*pause; worst > 8000 {
		t.Errorf("npmDefaults %q: a silent registry takes up to %d ms, want at most 8000", npmDefaults, worst)
	}

	// The app's config wins over them, in either case.
	s := &session{b: New(Config{DataDir: t.TempDir()}), req: Request{App: "shop",
		Env: map[string]string{"NPM_CONFIG_FETCH_TIMEOUT": "60000"}}}
	for _, kv := range s.unlessSet(npmDefaults...) {
		if strings.HasPrefix(kv, "npm_config_fetch_timeout=") {
			t.Errorf("%s overrides the app's NPM_CONFIG_FETCH_TIMEOUT", kv)
		}
	}
}
