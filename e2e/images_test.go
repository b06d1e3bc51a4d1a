package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/slipway/slipway/images"
)

// registryAddr is where the server's registry listens, from its log.
func (s *server) registryAddr() string {
	s.t.Helper()
	re := regexp.MustCompile(`msg=listening service=registry addr=(\S+)`)
	var addr string
	waitFor(s.t, "the registry to listen", func() bool {
		m := re.FindStringSubmatch(s.logText())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	return addr
}

// Every release is an image NAME:vN in slipway's registry, which a client
// pulls with the admin token or a pull token and not without; a pull
// token cannot push.
func TestImages_ReleaseImagePulledWithATokenOnly(t *testing.T) {
	s := startServer(t, "--registry-addr", "127.0.0.1:0")
	addr := s.registryAddr()
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("shop"))
	s.mustGit(dir, "push", "deploy", "main")
	waitFor(t, "shop:v1 in images:list", func() bool { return strings.Contains(s.mustSSH("images:list"), "shop:v1") })

	ref, err := name.ParseReference(addr+"/shop:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	_, err = remote.Image(ref)
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("pulled without credentials: %v", err)
	}
	token, err := os.ReadFile(filepath.Join(s.dataDir, "admin_token"))
	if err != nil {
		t.Fatal(err)
	}
	admin := remote.WithAuth(&authn.Basic{Username: "slipway", Password: strings.TrimSpace(string(token))})
	if _, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: "slipway", Password: "wrong"})); err == nil {
		t.Fatal("pulled with a wrong token")
	}
	img, err := remote.Image(ref, admin)
	if err != nil {
		t.Fatalf("pull with the admin token: %v", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.Labels["slipway.app"] != "shop" || cfg.Config.Labels["slipway.version"] != "v1" {
		t.Errorf("labels = %v", cfg.Config.Labels)
	}
	var procs map[string]string
	if err := json.Unmarshal([]byte(cfg.Config.Labels["slipway.processes"]), &procs); err != nil || !strings.Contains(procs["web"], "http.server") {
		t.Errorf("processes label = %q", cfg.Config.Labels["slipway.processes"])
	}
	// The release's files, and no config var, are in it.
	s.mustSSH("config:set", "shop", "SECRET_KEY=do-not-ship-me")
	waitFor(t, "shop:v2 in images:list", func() bool { return strings.Contains(s.mustSSH("images:list"), "shop:v2") })
	ref2, _ := name.ParseReference(addr+"/shop:v2", name.Insecure)
	img2, err := remote.Image(ref2, admin)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	rc := mutate.Extract(img2)
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		files = append(files, h.Name)
	}
	rc.Close()
	if !slices.Contains(files, "app/index.html") {
		t.Errorf("the image lacks the release's files: %q", files)
	}
	raw, _ := img2.RawConfigFile()
	if bytes.Contains(raw, []byte("do-not-ship-me")) {
		t.Error("a config var is in the release's image")
	}

	out := s.mustSSH("registry:tokens:add", "node-1")
	pull := strings.TrimSpace(out)
	if _, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: "node-1", Password: pull})); err != nil {
		t.Fatalf("pull with a pull token: %v", err)
	}
	mine, _ := name.ParseReference(addr+"/shop:mine", name.Insecure)
	if err := remote.Write(mine, img, remote.WithAuth(&authn.Basic{Username: "node-1", Password: pull})); err == nil {
		t.Fatal("a pull token pushed an image")
	}
	if !strings.Contains(s.mustSSH("registry:tokens"), "node-1") {
		t.Error("registry:tokens does not list the token")
	}
	s.mustSSH("registry:tokens:revoke", "node-1")
	if _, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: "node-1", Password: pull})); err == nil {
		t.Fatal("a revoked pull token still pulls")
	}
	if strings.Contains(s.logText(), pull) {
		t.Error("the pull token is in slipway's log")
	}
}

// images:import takes a `docker save` tarball; its image is listed, and
// bad input gets one line.
func TestImages_ImportAndList(t *testing.T) {
	s := startServer(t)
	base, err := images.BusyboxImage()
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("busybox:1.36")
	var tar bytes.Buffer
	if err := tarball.Write(tag, base, &tar); err != nil {
		t.Fatal(err)
	}
	out, err := s.sshInput(tar.Bytes(), "images:import")
	if err != nil || !strings.Contains(out, "imported busybox:1.36") {
		t.Fatalf("images:import: %v\n%s", err, out)
	}
	out, err = s.sshInput(tar.Bytes(), "images:import", "base:latest")
	if err != nil || !strings.Contains(out, "imported base:latest") {
		t.Fatalf("images:import base:latest: %v\n%s", err, out)
	}
	list := s.mustSSH("images:list")
	for _, want := range []string{"busybox:1.36", "base:latest"} {
		if !strings.Contains(list, want) {
			t.Errorf("images:list lacks %s:\n%s", want, list)
		}
	}
	out, err = s.sshInput([]byte("this is not a tarball"), "images:import", "junk:1")
	if err == nil || strings.Count(strings.TrimSpace(out), "\n") > 0 || strings.Contains(out, "internal error") {
		t.Errorf("garbage: %v\n%q: want one clear line", err, out)
	}
	out, err = s.sshInput(tar.Bytes(), "images:import", "Bad Name")
	if err == nil || !strings.Contains(out, "NAME:TAG") {
		t.Errorf("a bad name: %v\n%s", err, out)
	}
}

// With --stack, every release's image is its release layer on the stack
// image: what another host or a cluster can run.
func TestImages_StackUnderEveryRelease(t *testing.T) {
	s := startServer(t, "--registry-addr", "127.0.0.1:0", "--stack", "base:1")
	addr := s.registryAddr()
	base, err := images.BusyboxImage()
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("base:1")
	var tar bytes.Buffer
	if err := tarball.Write(tag, base, &tar); err != nil {
		t.Fatal(err)
	}
	if out, err := s.sshInput(tar.Bytes(), "images:import"); err != nil {
		t.Fatalf("images:import: %v\n%s", err, out)
	}
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("stacked"))
	s.mustGit(dir, "push", "deploy", "main")
	waitFor(t, "stacked:v1 in images:list", func() bool { return strings.Contains(s.mustSSH("images:list"), "stacked:v1") })
	token, _ := os.ReadFile(filepath.Join(s.dataDir, "admin_token"))
	ref, _ := name.ParseReference(addr+"/stacked:v1", name.Insecure)
	img, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: "slipway", Password: strings.TrimSpace(string(token))}))
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	baseLayers, _ := base.Layers()
	if len(layers) != len(baseLayers)+1 {
		t.Fatalf("the release's image has %d layers, want the stack's %d and its own", len(layers), len(baseLayers))
	}
	for i, l := range baseLayers {
		want, _ := l.DiffID()
		if got, _ := layers[i].DiffID(); got != want {
			t.Errorf("layer %d is %s, want the stack's %s", i, got, want)
		}
	}
	cfg, _ := img.ConfigFile()
	if cfg.Config.WorkingDir != "/app" || len(cfg.Config.Cmd) == 0 || !strings.Contains(strings.Join(cfg.Config.Cmd, " "), "http.server") {
		t.Errorf("config = %+v: want WORKDIR /app and the web process as its command", cfg.Config)
	}
}
