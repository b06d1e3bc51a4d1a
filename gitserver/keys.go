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
	path   string // the configured authorized_keys file
	home   string // the running user's HOME, whose ~/.ssh is the fallback
	logger *slog.Logger

	mu      sync.Mutex
	stamp   string // paths, sizes and mtimes of what keys was read from
	keys    map[string]Pusher
	warned  bool
	refused map[string]bool // fingerprints of refused keys, logged once each
	tooMany bool            // more refused keys than are logged, said once
}

// maxRefusedLogged bounds the refused keys logged one by one: a client
// can offer any number of keys.
const maxRefusedLogged = 256

func newAuthorizedKeys(path string, logger *slog.Logger) *authorizedKeys {
	a := &authorizedKeys{path: path, logger: logger, refused: map[string]bool{}}
	if home, err := os.UserHomeDir(); err == nil {
		a.home = home
	}
	return a
}

// fallbackFiles are the running user's key files as they are now.
func (a *authorizedKeys) fallbackFiles() []string { return userKeyFiles(a.home) }

// userKeyFiles are home's ~/.ssh/authorized_keys and ~/.ssh/id_*.pub as
// they are now: a key made after slipway started counts.
func userKeyFiles(home string) []string {
	if home == "" {
		return nil
	}
	pubs, _ := filepath.Glob(filepath.Join(home, ".ssh", "id_*.pub"))
	return append([]string{filepath.Join(home, ".ssh", "authorized_keys")}, pubs...)
}

// noteRefused logs a key that may not push, once per key, with what to
// run to let it.
func (a *authorizedKeys) noteRefused(key gossh.PublicKey) {
	fp := gossh.FingerprintSHA256(key)
	switch {
	case a.refused[fp]:
	case len(a.refused) < maxRefusedLogged:
		a.refused[fp] = true
		a.logger.Warn("ssh key refused: it may not push or run commands; to let it, run on this host  slipway ssh-keys:add NAME < KEY.pub  (KEY.pub holding this key)",
			"fingerprint", fp, "type", key.Type())
	case !a.tooMany:
		a.tooMany = true
		a.logger.Warn("ssh keys refused: more keys than are logged one by one were refused", "logged", maxRefusedLogged)
	}
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
	if !ok {
		a.noteRefused(key)
	}
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
	return a.fallbackFiles()
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
	switch fallback := len(files) == 0 || files[0] != a.path; {
	case len(keys) == 0:
		a.logger.Warn("no ssh key may push yet: make one where you push from (ssh-keygen -t ed25519) and, on this host, run  slipway ssh-keys:add NAME < ~/.ssh/id_ed25519.pub  (or put the key in "+a.path+")", "file", files)
	case fallback && !a.warned:
		a.warned = true
		a.logger.Warn("no authorized_keys file in the data dir: using the running user's own ssh keys, re-read when they change",
			"missing", a.path, "file", files, "keys", len(keys))
	default:
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
