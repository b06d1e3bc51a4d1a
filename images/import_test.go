package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ociLayoutTar writes img as an OCI image layout with the ref name ref,
// as a tar.
func ociLayoutTar(t *testing.T, img v1.Image, ref string) []byte {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
		t.Fatal(err)
	}
	return tarDir(t, dir)
}

// dockerSaveTar writes img with the given tags in docker save's format.
func dockerSaveTar(t *testing.T, img v1.Image, tags ...string) []byte {
	t.Helper()
	refs := map[name.Reference]v1.Image{}
	for _, tag := range tags {
		ref, err := name.NewTag(tag)
		if err != nil {
			t.Fatal(err)
		}
		refs[ref] = img
	}
	var buf bytes.Buffer
	if err := tarball.MultiRefWrite(refs, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sameFilesystem fails the test unless got has want's layers and config.
func sameFilesystem(t *testing.T, got, want v1.Image) {
	t.Helper()
	g, err := got.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	w, _ := want.ConfigFile()
	if !slices.Equal(g.RootFS.DiffIDs, w.RootFS.DiffIDs) || !slices.Equal(g.Config.Cmd, w.Config.Cmd) {
		t.Errorf("imported layers %v cmd %q, want %v %q", g.RootFS.DiffIDs, g.Config.Cmd, w.RootFS.DiffIDs, w.Config.Cmd)
	}
}

func TestImport_OCILayout(t *testing.T) {
	img := busybox(t)
	got, err := Import(bytes.NewReader(ociLayoutTar(t, img, "busybox:test")), t.TempDir(), DefaultMaxSize)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Tag != "busybox:test" {
		t.Fatalf("imported %+v, want busybox:test", got)
	}
	if digestOf(t, got[0].Image) != digestOf(t, img) {
		t.Error("the imported image is not the one written")
	}
}

func TestImport_DockerSave(t *testing.T) {
	img := busybox(t)
	for name, data := range map[string][]byte{
		"plain":   dockerSaveTar(t, img, "busybox:test", "base:1"),
		"gzipped": gzipped(t, dockerSaveTar(t, img, "busybox:test", "base:1")),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Import(bytes.NewReader(data), t.TempDir(), DefaultMaxSize)
			if err != nil {
				t.Fatal(err)
			}
			var tags []string
			for _, im := range got {
				tags = append(tags, im.Tag)
				sameFilesystem(t, im.Image, img)
			}
			slices.Sort(tags)
			if !slices.Equal(tags, []string{"base:1", "busybox:test"}) {
				t.Errorf("tags %q, want base:1 and busybox:test", tags)
			}
		})
	}
}

// An imported image unpacks into the same files as the original.
func TestImport_ThenUnpack(t *testing.T) {
	img := busybox(t)
	got, err := Import(bytes.NewReader(dockerSaveTar(t, img, "busybox:test")), t.TempDir(), DefaultMaxSize)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "rootfs")
	if err := Unpack(t.Context(), got[0].Image, dir); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "bin/sh")); err != nil || fi.Mode() != 0o755 {
		t.Errorf("bin/sh: %v %v, want busybox", fi, err)
	}
}

func TestImport_RefusesBadInput(t *testing.T) {
	img := busybox(t)
	oci := ociLayoutTar(t, img, "busybox:test")
	layers, _ := img.Layers()
	layerDigest, _ := layers[0].Digest()
	// A header that declares a terabyte and holds a few bytes.
	var huge bytes.Buffer
	tw := tar.NewWriter(&huge)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "manifest.json", Mode: 0o644, Size: 1 << 40})
	tw.Write([]byte("[]"))
	tw.Flush()
	cases := map[string]struct {
		data []byte
		max  int64
		want string
	}{
		"empty":            {nil, DefaultMaxSize, "empty"},
		"not a tar":        {[]byte(strings.Repeat("hello, world\n", 100)), DefaultMaxSize, "not a tar archive"},
		"neither format":   {makeTar(t, tarEntry{name: "README", data: "hi"}), DefaultMaxSize, "neither a docker save tarball"},
		"too big":          {oci, int64(len(oci)) - 1, "bigger than"},
		"dot-dot":          {makeTar(t, tarEntry{name: "../../etc/cron.d/x", data: "* * * * * root sh"}), DefaultMaxSize, "leaves the archive"},
		"absolute":         {makeTar(t, tarEntry{name: "/etc/x", data: "x"}), DefaultMaxSize, "leaves the archive"},
		"symlink out":      {makeTar(t, tarEntry{name: "layer.tar", typ: tar.TypeSymlink, link: "../../etc/shadow"}), DefaultMaxSize, "leaves the archive"},
		"huge entry":       {append(huge.Bytes(), make([]byte, 1024)...), DefaultMaxSize, "truncated tar"},
		"truncated":        {oci[:len(oci)/2], DefaultMaxSize, "truncated tar"},
		"bad OCI layer":    {rewriteTar(t, oci, "blobs/sha256/"+layerDigest.Hex, flipLastByte), DefaultMaxSize, "does not match its digest"},
		"bad docker layer": {dockerWithAlteredLayer(t, img), DefaultMaxSize, "does not match its digest"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			_, err := Import(bytes.NewReader(c.data), tmp, c.max)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Import: %v, want an error saying %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("the error has more than one line: %q", err)
			}
			if _, err := os.Lstat("/etc/x"); !errors.Is(err, os.ErrNotExist) {
				t.Error("/etc/x exists")
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("a failed import left %d files in its temporary dir", len(left))
			}
			t.Log(err)
		})
	}
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func flipLastByte(data []byte) []byte {
	out := bytes.Clone(data)
	out[len(out)-1] ^= 0xff
	return out
}

// rewriteTar returns data with the content of the entry named name passed
// through change.
func rewriteTar(t *testing.T, data []byte, name string, change func([]byte) []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tr := tar.NewReader(bytes.NewReader(data))
	tw := tar.NewWriter(&buf)
	found := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == name {
			body, found = change(body), true
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("no entry %s in the tar", name)
	}
	return buf.Bytes()
}

// dockerWithAlteredLayer returns img saved by docker save's format with a
// file in its layer changed after its diff ID was written.
func dockerWithAlteredLayer(t *testing.T, img v1.Image) []byte {
	t.Helper()
	data := dockerSaveTar(t, img, "busybox:test")
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return rewriteTar(t, data, m[0].Layers[0], func(layer []byte) []byte {
		// go-containerregistry's tarball writes layers gzipped, docker
		// save plain.
		zr, err := gzip.NewReader(bytes.NewReader(layer))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return gzipped(t, rewriteTar(t, plain, "etc/passwd", func(b []byte) []byte {
			return append(bytes.Clone(b), "evil::0:0::/:/bin/sh\n"...)
		}))
	})
}
