package gitserver

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"

	gossh "golang.org/x/crypto/ssh"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/atomicfile"
)

// appsOption is how authorized_keys says which apps a key may reach: an
// environment option, valid OpenSSH syntax that slipway alone reads,
// environment="SLIPWAY_APPS=shop,blog".
const appsOption = "SLIPWAY_APPS="

// keyApps returns the apps an authorized_keys line's options limit its key
// to, nil for none.
func keyApps(options []string) []string {
	for _, o := range options {
		v, ok := strings.CutPrefix(o, "environment=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"`)
		if list, ok := strings.CutPrefix(v, appsOption); ok {
			apps := []string{}
			for _, a := range strings.Split(list, ",") {
				if a = strings.TrimSpace(a); a != "" {
					apps = append(apps, a)
				}
			}
			return apps
		}
	}
	return nil
}

// KeyInfo is one authorized key (slipway.KeyInfo).
type KeyInfo = slipway.KeyInfo

// KeyFile manages the authorized_keys file slipway reads (ssh-keys:add,
// ssh-keys:list, ssh-keys:remove). Names are the keys' comments.
type KeyFile struct {
	// Path is the file; while it does not exist the keys come from the
	// running user's own (Fallback), which the first change copies in.
	Path     string
	Fallback []string // nil: the running user's ~/.ssh keys as they are now
	mu       sync.Mutex
}

// NewKeyFile returns the KeyFile of path, with the running user's own
// keys as the fallback the server reads too.
func NewKeyFile(path string) *KeyFile {
	return &KeyFile{Path: path}
}

// line is one key line of the file.
type keyLine struct {
	raw  string
	pub  gossh.PublicKey
	name string
	apps []string
}

// fallback returns the files of keys in force while Path does not exist.
func (f *KeyFile) fallback() []string {
	if f.Fallback != nil {
		return f.Fallback
	}
	home, _ := os.UserHomeDir()
	return userKeyFiles(home)
}

// read returns the key lines in force: the file's, or the fallback's.
func (f *KeyFile) read() ([]keyLine, error) {
	files := []string{f.Path}
	if _, err := os.Stat(f.Path); errors.Is(err, fs.ErrNotExist) {
		files = f.fallback()
	}
	var out []keyLine
	for _, file := range files {
		data, err := os.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, l := range strings.Split(string(data), "\n") {
			t := strings.TrimSpace(l)
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			pub, comment, options, _, err := gossh.ParseAuthorizedKey([]byte(t))
			if err != nil {
				continue
			}
			out = append(out, keyLine{raw: t, pub: pub, name: comment, apps: keyApps(options)})
		}
	}
	return out, nil
}

// write replaces the file with lines.
func (f *KeyFile) write(lines []keyLine) error {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l.raw + "\n")
	}
	return atomicfile.Write(f.Path, b.Bytes(), 0o600)
}

// List returns the keys, in file order.
func (f *KeyFile) List() ([]KeyInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	lines, err := f.read()
	if err != nil {
		return nil, err
	}
	out := make([]KeyInfo, 0, len(lines))
	for _, l := range lines {
		out = append(out, KeyInfo{Name: l.name, Type: l.pub.Type(), Fingerprint: gossh.FingerprintSHA256(l.pub), Apps: l.apps})
	}
	return out, nil
}

// Add adds the public key in data under name, limited to apps when it
// names any. A malformed key, a name or key already there, or a bad app
// name is refused.
func (f *KeyFile) Add(name string, data []byte, apps []string) (KeyInfo, error) {
	if err := validKeyName(name); err != nil {
		return KeyInfo{}, err
	}
	for _, a := range apps {
		if err := slipway.ValidateAppName(a); err != nil {
			return KeyInfo{}, err
		}
	}
	pub, _, _, _, err := gossh.ParseAuthorizedKey(bytes.TrimSpace(data))
	if err != nil {
		return KeyInfo{}, slipway.Errorf(slipway.EINVALID, "no public key on standard input: send one line such as \"ssh-ed25519 AAAA… you@laptop\" (ssh-keys:add NAME < key.pub)")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	lines, err := f.read()
	if err != nil {
		return KeyInfo{}, err
	}
	for _, l := range lines {
		switch {
		case l.name == name:
			return KeyInfo{}, slipway.Errorf(slipway.ECONFLICT, "a key named %s is there already: remove it first (ssh-keys:remove %s)", name, name)
		case bytes.Equal(l.pub.Marshal(), pub.Marshal()):
			return KeyInfo{}, slipway.Errorf(slipway.ECONFLICT, "this key is there already, named %s", slipway.OneLine(l.name, 60))
		}
	}
	line := string(bytes.TrimSpace(gossh.MarshalAuthorizedKey(pub))) + " " + name
	if len(apps) > 0 {
		line = fmt.Sprintf("environment=\"%s%s\" %s", appsOption, strings.Join(apps, ","), line)
	}
	lines = append(lines, keyLine{raw: line, pub: pub, name: name, apps: apps})
	if err := f.write(lines); err != nil {
		return KeyInfo{}, err
	}
	return KeyInfo{Name: name, Type: pub.Type(), Fingerprint: gossh.FingerprintSHA256(pub), Apps: apps}, nil
}

// Remove removes the key named name; removing the last key that may reach
// every app is refused, so that someone can still manage slipway.
func (f *KeyFile) Remove(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	lines, err := f.read()
	if err != nil {
		return err
	}
	i := slices.IndexFunc(lines, func(l keyLine) bool { return l.name == name })
	if i < 0 {
		return slipway.Errorf(slipway.ENOTFOUND, "no key named %s (ssh-keys:list shows them)", slipway.OneLine(name, 60))
	}
	rest := slices.Delete(slices.Clone(lines), i, i+1)
	if lines[i].apps == nil && !slices.ContainsFunc(rest, func(l keyLine) bool { return l.apps == nil }) {
		return slipway.Errorf(slipway.ECONFLICT, "%s is the last key that may reach every app: add another first, or no one could manage slipway", name)
	}
	return f.write(rest)
}

// RenameApp makes every key limited to app old reach app new instead
// (apps:rename).
func (f *KeyFile) RenameApp(old, new string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := os.Stat(f.Path); errors.Is(err, fs.ErrNotExist) {
		return nil // the fallback keys are the user's own, never limited by slipway
	}
	lines, err := f.read()
	if err != nil {
		return err
	}
	changed := false
	for i, l := range lines {
		if !slices.Contains(l.apps, old) {
			continue
		}
		start := strings.Index(l.raw, appsOption)
		if start < 0 {
			continue
		}
		end := strings.IndexByte(l.raw[start:], '"')
		if end < 0 {
			continue
		}
		apps := slices.Clone(l.apps)
		for j, a := range apps {
			if a == old {
				apps[j] = new
			}
		}
		lines[i].raw = l.raw[:start] + appsOption + strings.Join(apps, ",") + l.raw[start+end:]
		lines[i].apps = apps
		changed = true
	}
	if !changed {
		return nil
	}
	return f.write(lines)
}

// validKeyName checks a key's name: one word of letters, digits and
// . _ @ - (it is the key's comment in authorized_keys).
func validKeyName(name string) error {
	if name == "" || len(name) > 64 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-") != "" {
		return slipway.Errorf(slipway.EINVALID, "key name %q: use letters, digits and . _ @ - (at most 64)", slipway.OneLine(name, 64))
	}
	return nil
}
