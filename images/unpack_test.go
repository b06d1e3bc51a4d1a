package images

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
)

// A release goes to a registry over HTTP and comes back as a root
// filesystem with the app under /app, as the runtime will get it.
func TestUnpack_ReleaseThroughARegistry(t *testing.T) {
	ctx := context.Background()
	img, err := FromRelease(ctx, ReleaseImage{Base: busybox(t), Dir: releaseDir(t), App: "web", Version: "v1", Commit: "abc", Processes: map[string]string{"web": "bin/run"}})
	if err != nil {
		t.Fatal(err)
	}
	ref := startRegistry(t, nil) + "/web:v1"
	if err := Push(ctx, img, ref, nil, nil); err != nil {
		t.Fatal(err)
	}
	pulled, err := Pull(ctx, ref, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := digestOf(t, pulled), digestOf(t, img); got != want {
		t.Fatalf("pulled %s, pushed %s", got, want)
	}
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	if err := Unpack(ctx, pulled, rootfs); err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]fs.FileMode{
		"app":                  fs.ModeDir | 0o755,
		"app/app.py":           0o444,
		"app/bin/run":          0o555,
		"app/bin/suid":         0o755,
		"app/passwd":           fs.ModeSymlink | 0o777,
		"app/static/style.css": 0o444,
		"bin/busybox":          0o755,
		"bin/sh":               fs.ModeSymlink | 0o777,
		"tmp":                  fs.ModeDir | fs.ModeSticky | 0o777,
	} {
		fi, err := os.Lstat(filepath.Join(rootfs, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if fi.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode(), mode)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 || st.Gid != 0 {
			t.Errorf("%s: owner %d:%d, want 0:0", name, st.Uid, st.Gid)
		}
	}
	if data, err := os.ReadFile(filepath.Join(rootfs, "app/app.py")); err != nil || string(data) != "print('hi')\n" {
		t.Errorf("app/app.py: %q, %v", data, err)
	}
	if target, _ := os.Readlink(filepath.Join(rootfs, "app/passwd")); target != "/etc/passwd" {
		t.Errorf("app/passwd links to %q, want /etc/passwd kept as it was", target)
	}
	// The busybox base is complete: a shell in the rootfs runs.
	cmd := testutil.Command(t, 10*time.Second, "/bin/sh", "-c", "cd /app && echo $(cat app.py)")
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: rootfs}
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "print('hi')\n" {
		t.Errorf("sh in the rootfs: %q, %v", out, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(rootfs))
	if len(entries) != 1 {
		t.Errorf("beside the rootfs: %d entries, want the rootfs alone (no temporary dir left)", len(entries))
	}
}

func TestUnpack_KeepsOwnersModesLinksAndWhiteouts(t *testing.T) {
	lower := makeTar(t,
		tarEntry{name: "etc/", typ: tar.TypeDir, mode: 0o755},
		tarEntry{name: "etc/gone", data: "x"},
		tarEntry{name: "etc/old/", typ: tar.TypeDir, mode: 0o755},
		tarEntry{name: "etc/old/f", data: "x"},
		tarEntry{name: "usr/bin/su", data: "su", mode: 0o4755},
		tarEntry{name: "home/app/", typ: tar.TypeDir, mode: 0o700, uid: 1234},
		tarEntry{name: "home/app/data", data: "d", mode: 0o600, uid: 1234},
		tarEntry{name: "dev/null", typ: tar.TypeChar},
	)
	upper := makeTar(t,
		tarEntry{name: "etc/.wh.gone"},
		tarEntry{name: "etc/old/.wh..wh..opq"},
		tarEntry{name: "etc/new", data: "new"},
		tarEntry{name: "etc/same", typ: tar.TypeLink, link: "etc/new"},
		tarEntry{name: "ro/", typ: tar.TypeDir, mode: 0o555},
		tarEntry{name: "ro/f", data: "in a read-only dir", mode: 0o444},
	)
	dir := filepath.Join(t.TempDir(), "rootfs")
	if err := Unpack(context.Background(), imageOfTars(t, lower, upper), dir); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"etc/gone", "etc/old/f", "dev/null"} {
		if _, err := os.Lstat(filepath.Join(dir, gone)); !os.IsNotExist(err) {
			t.Errorf("%s: %v, want it absent", gone, err)
		}
	}
	for name, want := range map[string]struct {
		mode fs.FileMode
		uid  uint32
	}{
		"usr/bin/su":    {fs.ModeSetuid | 0o755, 0},
		"home/app":      {fs.ModeDir | 0o700, 1234},
		"home/app/data": {0o600, 1234},
		"ro":            {fs.ModeDir | 0o555, 0},
	} {
		fi, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if st := fi.Sys().(*syscall.Stat_t); fi.Mode() != want.mode || st.Uid != want.uid {
			t.Errorf("%s: %v owned by %d, want %v owned by %d", name, fi.Mode(), st.Uid, want.mode, want.uid)
		}
	}
	a, errA := os.Stat(filepath.Join(dir, "etc/new"))
	b, errB := os.Stat(filepath.Join(dir, "etc/same"))
	if errA != nil || errB != nil || !os.SameFile(a, b) {
		t.Errorf("etc/same is not a hard link of etc/new: %v %v", errA, errB)
	}
}

// An image cannot make Unpack write outside its directory, whatever its
// names and links say.
func TestUnpack_HostileLayersStayInside(t *testing.T) {
	outside := t.TempDir()
	cases := map[string][][]byte{
		"dot-dot name": {makeTar(t, tarEntry{name: "../../" + filepath.Base(outside) + "/x", data: "escaped"})},
		"absolute symlink then a file through it": {makeTar(t,
			tarEntry{name: "evil", typ: tar.TypeSymlink, link: outside},
			tarEntry{name: "evil/x", data: "escaped"})},
		"relative symlink then a file through it": {makeTar(t,
			tarEntry{name: "evil", typ: tar.TypeSymlink, link: "../../../../../../../../" + outside},
			tarEntry{name: "evil/x", data: "escaped"})},
		"symlink below, file through it above": {
			makeTar(t, tarEntry{name: "evil", typ: tar.TypeSymlink, link: outside}),
			makeTar(t, tarEntry{name: "evil/x", data: "escaped"})},
		"file through a symlinked parent": {makeTar(t,
			tarEntry{name: "a/", typ: tar.TypeDir},
			tarEntry{name: "a/b", typ: tar.TypeSymlink, link: outside},
			tarEntry{name: "a/b/x", data: "escaped"})},
		"hard link to a host file": {makeTar(t,
			tarEntry{name: "x", typ: tar.TypeLink, link: filepath.Join(outside, "secret")})},
		"hard link through a symlink": {makeTar(t,
			tarEntry{name: "evil", typ: tar.TypeSymlink, link: outside},
			tarEntry{name: "x", typ: tar.TypeLink, link: "evil/secret"})},
	}
	for name, tars := range cases {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "rootfs")
			err := Unpack(context.Background(), imageOfTars(t, tars...), dir)
			entries, _ := os.ReadDir(outside)
			if len(entries) != 1 {
				t.Fatalf("the image wrote outside its dir: %d entries there (Unpack: %v)", len(entries), err)
			}
			if data, _ := os.ReadFile(filepath.Join(dir, "x")); len(data) > 0 {
				t.Fatalf("x in the rootfs reads %q: linked to a host file", data)
			}
			t.Logf("Unpack: %v", err)
		})
	}
}

func TestUnpack_RefusesTooMuchOrATruncatedLayer(t *testing.T) {
	// A header that declares a terabyte and holds a few bytes.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "big", Mode: 0o644, Size: 1 << 40}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte("only this"))
	tw.Flush() // an error: the entry is short, as the test wants
	huge := imageOfTars(t, append(buf.Bytes(), make([]byte, 1024)...))
	dir := filepath.Join(t.TempDir(), "rootfs")
	if err := Unpack(context.Background(), huge, dir); err == nil || !strings.Contains(err.Error(), "--max-image-size") {
		t.Errorf("Unpack of a 1 TB entry: %v, want the size refused", err)
	}
	if err := UnpackWithin(context.Background(), huge, dir, 1<<41); err == nil {
		t.Error("Unpack of a truncated entry succeeded")
	}
	small := imageOfTars(t, makeTar(t, tarEntry{name: "a", data: strings.Repeat("a", 4096)}))
	if err := UnpackWithin(context.Background(), small, dir, 4096); err == nil || !strings.Contains(err.Error(), "more than 4096 bytes") {
		t.Errorf("Unpack over the limit: %v, want it refused", err)
	}
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Errorf("a failed unpack left %s: %v", dir, err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 0 {
		t.Errorf("a failed unpack left %d entries beside its dir", len(entries))
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Unpack(context.Background(), small, dir); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("Unpack into an existing dir: %v, want it refused", err)
	}
}

// Below Extract, which drops some hostile entries itself, the unpacker
// alone keeps every write inside.
func TestUnpackTar_NeverWritesThroughALinkOut(t *testing.T) {
	outside := t.TempDir()
	for name, data := range map[string][]byte{
		"dot-dot": makeTar(t, tarEntry{name: "a/../../x", data: "escaped"}),
		"absolute symlink": makeTar(t,
			tarEntry{name: "evil", typ: tar.TypeSymlink, link: outside},
			tarEntry{name: "evil/x", data: "escaped"}),
		"relative symlink": makeTar(t,
			tarEntry{name: "d/evil", typ: tar.TypeSymlink, link: "../../../../../../../../" + outside},
			tarEntry{name: "d/evil/x", data: "escaped"}),
		"symlink as the file itself": makeTar(t,
			tarEntry{name: "x", typ: tar.TypeSymlink, link: filepath.Join(outside, "x")},
			tarEntry{name: "x", data: "escaped"}),
		"hard link out": makeTar(t, tarEntry{name: "x", typ: tar.TypeLink, link: "../" + filepath.Base(outside) + "/x"}),
	} {
		t.Run(name, func(t *testing.T) {
			err := unpackTar(context.Background(), bytes.NewReader(data), t.TempDir(), DefaultMaxSize)
			if err == nil {
				t.Fatal("unpacked, want an error")
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 0 {
				t.Fatalf("wrote outside: %v", entries)
			}
			t.Log(err)
		})
	}
}

// A layer that does not match its digest fails the unpack: the rootfs is
// never made in part.
func TestUnpack_RefusesALayerThatFailsItsDigest(t *testing.T) {
	ctx := context.Background()
	img := imageOfTars(t, makeTar(t, tarEntry{name: "a", data: "good"}), makeTar(t, tarEntry{name: "b", data: "good"}))
	layers, _ := img.Layers()
	bad, _ := layers[0].Digest()
	forged, _ := imageOfTars(t, makeTar(t, tarEntry{name: "a", data: "evil"})).Layers()
	host := startRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+bad.String()) {
				rc, _ := forged[0].Compressed()
				defer rc.Close()
				io.Copy(w, rc)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	if err := Push(ctx, img, host+"/forged:1", nil, nil); err != nil {
		t.Fatal(err)
	}
	pulled, err := Pull(ctx, host+"/forged:1", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "rootfs")
	if err := Unpack(ctx, pulled, dir); err == nil {
		t.Fatal("unpacked an image whose layer fails its digest")
	} else {
		t.Log(err)
	}
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Errorf("%s: %v, want no rootfs", dir, err)
	}
}
