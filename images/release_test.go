package images

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// releaseDir makes a small built app with the kinds of files a build
// leaves: modes the seal gives (no write bits, group-only read), a setuid
// bit, symlinks in and out of the tree, a socket and a fifo.
func releaseDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]fileSpec{
		"app.py":           {"print('hi')\n", 0o440},
		"bin/run":          {"#!/bin/sh\nexec python3 app.py\n", 0o550},
		"bin/suid":         {"x", 0o4755},
		"Procfile":         {"web: bin/run\n", 0o644},
		"static/style.css": {"body{}", 0o400},
	})
	for link, target := range map[string]string{"passwd": "/etc/passwd", "up": "../..", "run": "bin/run"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(dir, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return dir
}

// layerEntries returns the headers of img's last layer, in order.
func layerEntries(t *testing.T, img v1.Image) []*tar.Header {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layers[len(layers)-1].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var hs []*tar.Header
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return hs
		}
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
}

func TestFromRelease_LayerHoldsTheDirAtApp(t *testing.T) {
	img, err := FromRelease(context.Background(), ReleaseImage{Dir: releaseDir(t), App: "web", Version: "v3", Commit: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		typ  byte
		mode int64
		link string
	}{
		"app/":                 {tar.TypeDir, 0o755, ""},
		"app/Procfile":         {tar.TypeReg, 0o644, ""},
		"app/app.py":           {tar.TypeReg, 0o444, ""},
		"app/bin/":             {tar.TypeDir, 0o755, ""},
		"app/bin/run":          {tar.TypeReg, 0o555, ""},
		"app/bin/suid":         {tar.TypeReg, 0o755, ""}, // setuid dropped
		"app/passwd":           {tar.TypeSymlink, 0o777, "/etc/passwd"},
		"app/run":              {tar.TypeSymlink, 0o777, "bin/run"},
		"app/static/":          {tar.TypeDir, 0o755, ""},
		"app/static/style.css": {tar.TypeReg, 0o444, ""},
		"app/up":               {tar.TypeSymlink, 0o777, "../.."},
	}
	var names []string
	for _, h := range layerEntries(t, img) {
		names = append(names, h.Name)
		w, ok := want[h.Name]
		if !ok {
			t.Errorf("unexpected entry %s", h.Name)
			continue
		}
		if h.Typeflag != w.typ || h.Mode != w.mode || h.Linkname != w.link {
			t.Errorf("%s: type %c mode %o link %q, want %c %o %q", h.Name, h.Typeflag, h.Mode, h.Linkname, w.typ, w.mode, w.link)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: owner %d:%d (%s:%s), want 0:0", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
	}
	if len(names) != len(want) || !slices.IsSorted(names) {
		t.Errorf("entries %q, want the %d expected ones in order", names, len(want))
	}
}

func TestFromRelease_SameDirMakesTheSameImage(t *testing.T) {
	dir := releaseDir(t)
	r := ReleaseImage{Dir: dir, App: "web", Version: "v3", Commit: "abc", Processes: map[string]string{"web": "bin/run", "worker": "python3 w.py"}}
	digest := func() v1.Hash {
		img, err := FromRelease(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	first := digest()
	if again := digest(); again != first {
		t.Fatalf("the same release made %s, then %s", first, again)
	}
	writeFiles(t, dir, map[string]fileSpec{"app.py": {"print('changed')\n", 0o440}})
	if changed := digest(); changed == first {
		t.Fatalf("a changed file made the same image %s", changed)
	}
}

func TestFromRelease_Config(t *testing.T) {
	base := busybox(t)
	cf, err := base.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.Entrypoint = []string{"/docker-entrypoint.sh"}
	cf.Config.ExposedPorts = map[string]struct{}{"80/tcp": {}}
	cf.Config.Env = append(cf.Config.Env, "LANG=C.UTF-8")
	cf.Config.Labels = map[string]string{"maintainer": "stack"}
	if base, err = mutate.ConfigFile(base, cf); err != nil {
		t.Fatal(err)
	}
	procs := map[string]string{"web": "gunicorn app:app --bind 0.0.0.0:$PORT", "worker": "python3 worker.py"}
	img, err := FromRelease(context.Background(), ReleaseImage{
		Dir: releaseDir(t), Base: base, App: "shop", Version: "v7", Commit: "0123abc",
		Processes: procs, Env: []string{"PATH=/app/.venv/bin:/bin", "PYTHONUNBUFFERED=1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ic, err := Config(img)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ic.Cmd, []string{"/bin/sh", "-c", procs["web"]}; !slices.Equal(got, want) {
		t.Errorf("Cmd %q, want %q", got, want)
	}
	if ic.Entrypoint != nil || ic.ExposedPorts != nil {
		t.Errorf("Entrypoint %q, ExposedPorts %q: want none, the base's dropped", ic.Entrypoint, ic.ExposedPorts)
	}
	if got, want := ic.Env, []string{"PATH=/app/.venv/bin:/bin", "LANG=C.UTF-8", "PYTHONUNBUFFERED=1"}; !slices.Equal(got, want) {
		t.Errorf("Env %q, want %q", got, want)
	}
	if ic.WorkingDir != "/app" {
		t.Errorf("WorkingDir %q, want /app", ic.WorkingDir)
	}
	for k, v := range map[string]string{LabelApp: "shop", LabelVersion: "v7", LabelRevision: "0123abc", "maintainer": "stack"} {
		if ic.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, ic.Labels[k], v)
		}
	}
	if len(ic.Processes) != 2 || ic.Processes["worker"] != procs["worker"] {
		t.Errorf("Processes %q, want %q", ic.Processes, procs)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 2 {
		t.Fatalf("%d layers (%v), want the base's and the release's", len(layers), err)
	}
	if mt, _ := layers[1].MediaType(); mt != types.OCILayer {
		t.Errorf("release layer media type %s, want %s", mt, types.OCILayer)
	}
}

func TestFromRelease_NoBaseNoWeb(t *testing.T) {
	img, err := FromRelease(context.Background(), ReleaseImage{Dir: releaseDir(t), App: "jobs", Version: "v1", WorkDir: "/srv/jobs", Processes: map[string]string{"worker": "sleep 1"}})
	if err != nil {
		t.Fatal(err)
	}
	ic, err := Config(img)
	if err != nil {
		t.Fatal(err)
	}
	if ic.Cmd != nil || ic.WorkingDir != "/srv/jobs" {
		t.Errorf("Cmd %q WorkingDir %q, want no Cmd without a web process, in /srv/jobs", ic.Cmd, ic.WorkingDir)
	}
	if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s, want OCI's", mt)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture == "" || len(cf.RootFS.DiffIDs) != 1 {
		t.Errorf("platform %s/%s with %d layers, want linux and one layer", cf.OS, cf.Architecture, len(cf.RootFS.DiffIDs))
	}
	if hs := layerEntries(t, img); hs[0].Name != "srv/jobs/" {
		t.Errorf("first entry %s, want srv/jobs/", hs[0].Name)
	}
}

func TestFromRelease_RefusesABadWorkDirOrAMissingDir(t *testing.T) {
	for _, r := range []ReleaseImage{
		{Dir: t.TempDir(), WorkDir: "app"},
		{Dir: t.TempDir(), WorkDir: "/"},
		{Dir: filepath.Join(t.TempDir(), "missing")},
	} {
		if _, err := FromRelease(context.Background(), r); err == nil {
			t.Errorf("FromRelease(%+v) succeeded, want an error", r)
		}
	}
	if _, err := FromRelease(context.Background(), ReleaseImage{Dir: filepath.Join(t.TempDir(), "missing")}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: %v, want ErrNotExist", err)
	}
}

func TestFromRelease_OnADockerBaseTheLayerIsDockers(t *testing.T) {
	base := mutate.MediaType(busybox(t), types.DockerManifestSchema2)
	img, err := FromRelease(context.Background(), ReleaseImage{Dir: releaseDir(t), Base: base})
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	if mt, _ := layers[1].MediaType(); mt != types.DockerLayer {
		t.Errorf("release layer media type %s on a Docker base, want %s", mt, types.DockerLayer)
	}
	ic, err := Config(img)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ic.Labels[LabelRevision]; ok || len(ic.Processes) != 0 {
		t.Errorf("labels %q: want no revision without a commit, and no process types", ic.Labels)
	}
}

func TestBusyboxImage_IsTheSameEachTime(t *testing.T) {
	a, b := busybox(t), busybox(t)
	if digestOf(t, a) != digestOf(t, b) {
		t.Error("two BusyboxImage calls made two images")
	}
	ic, err := Config(a)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ic.Cmd, []string{"/bin/sh"}) || len(ic.Env) != 1 {
		t.Errorf("config %+v, want /bin/sh with PATH", ic)
	}
}
