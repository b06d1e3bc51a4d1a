package images

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Imported is an image read from a tarball, with the tag it carries
// there: a reference as docker save wrote it ("busybox:1.36") or an OCI
// layout's ref name, which may be a tag alone ("1.36"); empty if it
// carries none. The caller may name it otherwise.
type Imported struct {
	Tag   string
	Image v1.Image
}

// Import reads the images of a docker save tarball (manifest.json with
// RepoTags) or of an OCI image layout in a tar (oci-layout and index.json,
// tags in org.opencontainers.image.ref.name annotations), either of them
// gzip-compressed or not, as from `images:import NAME:TAG < image.tar`.
//
// It copies r into a file under tmpDir, refusing input of more than limit
// bytes, checks that no entry leaves the archive, and checks every
// layer against its digests before it returns, so a damaged or altered
// tarball is refused here rather than half pushed. The images read their
// blobs from files under tmpDir: remove it once they are pushed.
func Import(r io.Reader, tmpDir string, limit int64) ([]Imported, error) {
	work, err := os.MkdirTemp(tmpDir, "import-")
	if err != nil {
		return nil, fmt.Errorf("image tarball: %w", err)
	}
	imported, err := importTar(r, work, limit)
	if err != nil {
		os.RemoveAll(work)
		return nil, fmt.Errorf("image tarball: %w", err)
	}
	return imported, nil
}

func importTar(r io.Reader, work string, limit int64) ([]Imported, error) {
	spool, err := spoolTar(r, work, limit)
	if err != nil {
		return nil, err
	}
	names, err := scanTar(spool)
	if err != nil {
		return nil, err
	}
	var imported []Imported
	var compressed bool
	switch {
	case names["manifest.json"]:
		imported, err = importDocker(spool)
	case names["oci-layout"] && names["index.json"]:
		imported, err = importOCI(spool, work)
		compressed = true
	default:
		err = errors.New("neither a docker save tarball (manifest.json) nor an OCI image layout (oci-layout, index.json)")
	}
	if err == nil && len(imported) == 0 {
		err = errors.New("it holds no image")
	}
	for _, im := range imported {
		if err == nil {
			err = verifyImage(im.Image, compressed)
		}
	}
	return imported, err
}

// spoolTar copies r, gunzipped if it is gzip, into a file in work
// and returns the file's path.
func spoolTar(r io.Reader, work string, limit int64) (string, error) {
	br := bufio.NewReader(r)
	var src io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return "", err
		}
		src = gz
	}
	f, err := os.Create(filepath.Join(work, "image.tar"))
	if err != nil {
		return "", err
	}
	n, err := io.Copy(f, io.LimitReader(src, limit+1))
	if err = errors.Join(err, f.Close()); err != nil {
		return "", fmt.Errorf("reading it: %w", err)
	}
	switch {
	case n > limit:
		return "", fmt.Errorf("it is bigger than %d bytes, the most an image may be (--max-image-size)", limit)
	case n == 0:
		return "", errors.New("the input is empty: send the tarball on standard input (docker save NAME:TAG | ...)")
	}
	return f.Name(), nil
}

// scanTar checks that spool is a tar whose every entry and link stays
// inside it, and returns the names of its files.
func scanTar(spool string) (map[string]bool, error) {
	f, err := os.Open(spool)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names := map[string]bool{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if len(names) == 0 {
				return nil, errors.New("not a tar archive: want the output of docker save or an OCI image layout as a tar")
			}
			return nil, fmt.Errorf("a damaged or truncated tar: %v", err)
		}
		if !inside(h.Name) {
			return nil, fmt.Errorf("entry %q leaves the archive: refusing it", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeSymlink:
			// docker save links layers that two images share.
			if path.IsAbs(h.Linkname) || !inside(path.Join(path.Dir(h.Name), h.Linkname)) {
				return nil, fmt.Errorf("link %q → %q leaves the archive: refusing it", h.Name, h.Linkname)
			}
		case tar.TypeLink:
			if !inside(h.Linkname) {
				return nil, fmt.Errorf("link %q → %q leaves the archive: refusing it", h.Name, h.Linkname)
			}
		}
		names[path.Clean(h.Name)] = true
	}
	if len(names) == 0 {
		return nil, errors.New("an empty tar archive")
	}
	return names, nil
}

func inside(name string) bool {
	c := path.Clean(name)
	return !path.IsAbs(c) && c != ".." && !strings.HasPrefix(c, "../")
}

func importDocker(spool string) ([]Imported, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(spool) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("manifest.json: %v", err)
	}
	var out []Imported
	for i, d := range m {
		if len(d.RepoTags) == 0 {
			if len(m) > 1 {
				return nil, fmt.Errorf("image %d of %d has no tag: save images by name (docker save NAME:TAG)", i+1, len(m))
			}
			img, err := tarball.Image(opener, nil)
			if err != nil {
				return nil, err
			}
			out = append(out, Imported{Image: img})
		}
		for _, t := range d.RepoTags {
			tag, err := name.NewTag(t)
			if err != nil {
				return nil, fmt.Errorf("tag %q: %v", t, err)
			}
			img, err := tarball.Image(opener, &tag)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", t, err)
			}
			out = append(out, Imported{Tag: t, Image: img})
		}
	}
	return out, nil
}

// importOCI unpacks the layout's files beside the spool, then reads it.
func importOCI(spool, work string) ([]Imported, error) {
	dir := filepath.Join(work, "oci")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	if err := untarFiles(spool, dir); err != nil {
		return nil, err
	}
	os.Remove(spool)
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("OCI layout: %v", err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("OCI layout: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("OCI layout: index.json: %v", err)
	}
	var out []Imported
	for _, d := range im.Manifests {
		tag := d.Annotations["io.containerd.image.name"]
		if tag == "" {
			tag = d.Annotations["org.opencontainers.image.ref.name"]
		}
		var img v1.Image
		switch {
		case d.MediaType.IsImage():
			img, err = idx.Image(d.Digest)
		case d.MediaType.IsIndex():
			img, err = platformImage(idx, d.Digest)
		default:
			continue // an attestation or other artifact
		}
		if err == nil {
			err = checkDigest(img, d.Digest)
		}
		if err != nil {
			return nil, fmt.Errorf("image %s: %v", d.Digest, err)
		}
		out = append(out, Imported{Tag: tag, Image: img})
	}
	return out, nil
}

// platformImage returns the image for this machine in the index h.
func platformImage(parent v1.ImageIndex, h v1.Hash) (v1.Image, error) {
	idx, err := parent.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == runtime.GOARCH && d.MediaType.IsImage() {
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, err
			}
			return img, checkDigest(img, d.Digest)
		}
	}
	return nil, fmt.Errorf("it has no image for linux/%s", runtime.GOARCH)
}

// untarFiles writes the regular files of the tar spool into dir, through
// an os.Root so that none lands outside it.
func untarFiles(spool, dir string) error {
	f, err := os.Open(spool)
	if err != nil {
		return err
	}
	defer f.Close()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := path.Clean(h.Name)
		if err := root.MkdirAll(path.Dir(name), 0o700); err != nil {
			return err
		}
		out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, tr)
		if err = errors.Join(err, out.Close()); err != nil {
			return err
		}
	}
}
