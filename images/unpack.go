package images

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"golang.org/x/sys/unix"
)

// DefaultMaxSize is the most an image may hold, imported or unpacked,
// unless the caller says otherwise: the default of --max-image-size.
const DefaultMaxSize int64 = 4 << 30

// Unpack writes img's filesystem, its layers flattened with their
// whiteouts applied, into the new directory dir (its parent must exist),
// holding it to DefaultMaxSize. See UnpackWithin.
func Unpack(ctx context.Context, img v1.Image, dir string) error {
	return UnpackWithin(ctx, img, dir, DefaultMaxSize)
}

// UnpackWithin writes img's filesystem into the new directory dir,
// refusing an image that holds more than limit bytes (each entry counts its
// size and a 512-byte header, which also bounds the number of files).
//
// It unpacks into a temporary directory beside dir, syncs it and renames
// it to dir, so dir is complete or absent. Every path is opened through
// an os.Root on that directory: no entry, symlink or hard link can make
// it write outside, whatever the image holds (a symlink to / followed by
// a file written through it fails). Symlinks are created as they are,
// absolute ones too: they are resolved later, inside the container. Modes
// (setuid included: the runtime must run the app with no_new_privileges),
// owners and modification times are kept; device nodes, fifos and
// extended attributes (file capabilities among them) are not.
func UnpackWithin(ctx context.Context, img v1.Image, dir string, limit int64) error {
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("unpack image: %s already exists: unpack into a new directory", dir)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".unpack-")
	if err != nil {
		return fmt.Errorf("unpack image: %w", err)
	}
	if err := unpackInto(ctx, img, tmp, limit); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("unpack image into %s: %w", dir, err)
	}
	if err := syncFS(tmp); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("unpack image: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("unpack image: %w", err)
	}
	return nil
}

// syncFS flushes the filesystem holding dir: one syncfs(2) rather than
// an fsync per file, and unlike sync(2) it waits for no other disk.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// meta is what is set on a directory once everything in it is written:
// a read-only directory would refuse its own entries.
type meta struct {
	name     string
	mode     fs.FileMode
	uid, gid int
	mtime    time.Time
}

// unpacker writes one image's entries under root.
type unpacker struct {
	root         *os.Root
	total, limit int64
	dirs         []meta        // set last, deepest first
	links        []*tar.Header // made last: a target may come later
}

func unpackInto(ctx context.Context, img v1.Image, dir string, limit int64) error {
	rc := mutate.Extract(img)
	defer rc.Close()
	return unpackTar(ctx, rc, dir, limit)
}

// unpackTar writes the flattened tar rc into dir. It trusts nothing of
// what Extract already checked.
func unpackTar(ctx context.Context, rc io.Reader, dir string, limit int64) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	u := &unpacker{root: root, limit: limit, dirs: []meta{{name: ".", mode: 0o755}}}
	tr := tar.NewReader(rc)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			// Extract writes the tar's end before it reports an error (a
			// layer that failed its digest, an unsafe path): read on to
			// see it, or a damaged image would unpack in part, silently.
			if _, err := io.Copy(io.Discard, rc); err != nil {
				return err
			}
			break
		}
		if err != nil {
			return err
		}
		if err := u.entry(tr, h); err != nil {
			return fmt.Errorf("entry %q: %w", h.Name, err)
		}
	}
	for _, h := range u.links {
		target, _ := entryName(h.Linkname)
		name, _ := entryName(h.Name)
		if err := root.Link(target, name); err != nil {
			return fmt.Errorf("hard link %q: %w", h.Name, err)
		}
	}
	// Deepest first: a directory's time changes when something is made in it.
	for i := len(u.dirs) - 1; i >= 0; i-- {
		m := u.dirs[i]
		if err := errors.Join(chown(root, m), root.Chmod(m.name, m.mode), root.Chtimes(m.name, m.mtime, m.mtime)); err != nil {
			return err
		}
	}
	return nil
}

// entry writes the entry h, whose content tr reads.
func (u *unpacker) entry(tr *tar.Reader, h *tar.Header) error {
	name, err := entryName(h.Name)
	if err != nil {
		return err
	}
	if u.total += 512 + max(h.Size, 0); u.total > u.limit {
		return fmt.Errorf("the image holds more than %d bytes, the most allowed (--max-image-size)", u.limit)
	}
	m := meta{name: name, mode: modeOf(h), uid: h.Uid, gid: h.Gid, mtime: h.ModTime}
	if parent := path.Dir(name); name != "." && parent != "." {
		if err := u.root.MkdirAll(parent, 0o755); err != nil {
			return err
		}
	}
	switch h.Typeflag {
	case tar.TypeDir:
		if name == "." {
			u.dirs[0] = m
			return nil
		}
		if err := u.root.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		u.dirs = append(u.dirs, m)
	case tar.TypeReg:
		return writeFile(u.root, tr, m)
	case tar.TypeSymlink:
		if err := u.root.Symlink(h.Linkname, name); err != nil {
			return err
		}
		return chown(u.root, m)
	case tar.TypeLink:
		if _, err := entryName(h.Linkname); err != nil {
			return err
		}
		u.links = append(u.links, h)
	}
	// Devices and fifos are left out: the runtime makes /dev.
	return nil
}

func writeFile(root *os.Root, r io.Reader, m meta) error {
	f, err := root.OpenFile(m.name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if err == nil && os.Geteuid() == 0 {
		err = f.Chown(m.uid, m.gid)
	}
	if err == nil {
		err = f.Chmod(m.mode) // after chown, which drops setuid
	}
	if err = errors.Join(err, f.Close()); err != nil {
		return err
	}
	return root.Chtimes(m.name, m.mtime, m.mtime)
}

// chown gives name to the entry's owner when we are root; as another user
// everything stays ours.
func chown(root *os.Root, m meta) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return root.Lchown(m.name, m.uid, m.gid)
}

// entryName returns the tar name n as a path relative to the root
// directory, refusing one that would leave it.
func entryName(n string) (string, error) {
	// "./" first: an absolute name is relative to the root, as in docker.
	clean := path.Clean("./" + n)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("the image has an entry outside its root, %q: refusing it", n)
	}
	return clean, nil
}

// modeOf returns a tar entry's permission bits with setuid, setgid and
// sticky.
func modeOf(h *tar.Header) fs.FileMode {
	return h.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}
