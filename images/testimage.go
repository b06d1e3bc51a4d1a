package images

import (
	"archive/tar"
	"fmt"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BusyboxPath is the static busybox that BusyboxImage puts in its image:
// Debian's busybox-static.
const BusyboxPath = "/bin/busybox"

// busyboxApplets are the links BusyboxImage makes to busybox: enough for
// shell-form commands, a web server (httpd) and the checks tests make.
var busyboxApplets = []string{
	"[", "ash", "cat", "chmod", "cp", "date", "echo", "env", "false", "grep",
	"head", "hostname", "httpd", "id", "kill", "ln", "ls", "mkdir", "mv",
	"nc", "printf", "ps", "pwd", "rm", "sed", "sh", "sleep", "sort", "tail",
	"test", "touch", "true", "uname", "wc", "wget", "whoami",
}

// BusyboxImage returns a small image for tests: one layer holding the
// host's static busybox (BusyboxPath) as /bin/busybox with links to it
// for sh and the common applets, /etc/passwd and /etc/group with root and
// nobody, and an empty /tmp. Its config runs /bin/sh with PATH set. The
// image is made in memory in a few milliseconds and is the same for the
// same busybox binary. It fails if busybox-static is not installed.
func BusyboxImage() (v1.Image, error) {
	bin, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return nil, fmt.Errorf("busybox image: %w (apt-get install busybox-static)", err)
	}
	type entry struct {
		typ        byte
		name, link string
		mode       int64
		data       []byte
	}
	entries := []entry{
		{typ: tar.TypeDir, name: "bin/", mode: 0o755},
		{typ: tar.TypeReg, name: "bin/busybox", mode: 0o755, data: bin},
	}
	for _, a := range busyboxApplets {
		entries = append(entries, entry{typ: tar.TypeSymlink, name: "bin/" + a, link: "busybox", mode: 0o777})
	}
	entries = append(entries,
		entry{typ: tar.TypeDir, name: "etc/", mode: 0o755},
		entry{typ: tar.TypeReg, name: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnogroup:x:65534:\n")},
		entry{typ: tar.TypeReg, name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")},
		entry{typ: tar.TypeDir, name: "tmp/", mode: 0o1777},
	)
	epoch := time.Unix(0, 0)
	w := newLayerWriter()
	for _, e := range entries {
		h := &tar.Header{Typeflag: e.typ, Name: e.name, Linkname: e.link, Mode: e.mode, Size: int64(len(e.data)), ModTime: epoch}
		if err := w.tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("busybox image: %w", err)
		}
		if _, err := w.tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("busybox image: %w", err)
		}
	}
	layer, err := w.layer(types.OCILayer)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(emptyOCI(), layer)
	if err != nil {
		return nil, err
	}
	return withConfig(img, epoch, func(c *v1.Config) error {
		c.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
		c.Cmd = []string{"/bin/sh"}
		return nil
	})
}
