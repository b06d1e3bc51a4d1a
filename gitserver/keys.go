package gitserver

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/atomicfile"
)

// Pusher identifies who pushed (slipway.Pusher).
type Pusher = slipway.Pusher

// authorizedKeys holds the keys allowed to push, re-read whenever the file
// they come from changes. When the configured file does not exist it falls
// back to the running user's own keys, so a laptop quick start works with no
// extra step.
type authorizedKeys struct {
	path     string   // the configured authorized_keys file
	fallback []string // ~/.ssh/authorized_keys and ~/.ssh/id_*.pub
	logger   *slog.Logger

	mu     sync.Mutex
	stamp  string // paths, sizes and mtimes of what keys was read from
	keys   map[string]Pusher
	warned bool
}

func newAuthorizedKeys(path string, logger *slog.Logger) *authorizedKeys {
	a := &authorizedKeys{path: path, logger: logger}
	if home, err := os.UserHomeDir(); err == nil {
		a.fallback = append(a.fallback, filepath.Join(home, ".ssh", "authorized_keys"))
		pubs, _ := filepath.Glob(filepath.Join(home, ".ssh", "id_*.pub"))
		a.fallback = append(a.fallback, pubs...)
	}
	return a
}

// lookup reports whether key may push and, if so, who it belongs to.
func (a *authorizedKeys) lookup(key gossh.PublicKey) (Pusher, bool) {
	if key == nil {
		return Pusher{}, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reloadLocked()
	p, ok := a.keys[string(key.Marshal())]
	return p, ok
}

// load reads the keys now, so that the log says at start where they come from.
func (a *authorizedKeys) load() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reloadLocked()
}

// sources returns the files keys are read from right now.
func (a *authorizedKeys) sources() []string {
	if _, err := os.Stat(a.path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return []string{a.path}
	}
	return a.fallback
}

func (a *authorizedKeys) reloadLocked() {
	files := a.sources()
	var stamp bytes.Buffer
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			fmt.Fprintf(&stamp, "%s:%d:%d;", f, st.Size(), st.ModTime().UnixNano())
		}
	}
	if stamp.String() == a.stamp && a.keys != nil {
		return
	}
	keys := map[string]Pusher{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for len(bytes.TrimSpace(data)) > 0 {
			pub, comment, options, rest, err := gossh.ParseAuthorizedKey(data)
			if err != nil {
				// ParseAuthorizedKey skips bad lines itself and only fails
				// when no valid key is left.
				break
			}
			keys[string(pub.Marshal())] = Pusher{Fingerprint: gossh.FingerprintSHA256(pub), Comment: comment, Apps: keyApps(options)}
			data = rest
		}
	}
	a.keys, a.stamp = keys, stamp.String()
	if len(files) > 0 && files[0] != a.path && !a.warned {
		a.warned = true
		a.logger.Warn("no authorized_keys file in the data dir: using the running user's own ssh keys",
			"missing", a.path, "keys", len(keys))
	} else if len(keys) == 0 {
		a.logger.Warn("no ssh key may push yet: on this host, run  slipway ssh-keys:add NAME < ~/.ssh/id_ed25519.pub  (or put the key in "+a.path+")", "file", files)
	} else {
		a.logger.Info("authorized keys loaded", "file", files, "keys", len(keys))
	}
}

// hostKey loads the server's ed25519 host key from path, generating and
// saving one on first start.
func hostKey(path string) (gossh.Signer, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		block, err := gossh.MarshalPrivateKey(priv, "slipway host key "+time.Now().UTC().Format(time.DateOnly))
		if err != nil {
			return nil, err
		}
		if err := atomicfile.Write(path, pem.EncodeToMemory(block), 0o600); err != nil {
			return nil, fmt.Errorf("save host key: %w", err)
		}
		return gossh.NewSignerFromKey(priv)
	}
	if err != nil {
		return nil, fmt.Errorf("read host key: %w", err)
	}
	signer, err := gossh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("host key %s: %w", path, err)
	}
	return signer, nil
}
