package apps

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/atomicfile"
)

// pullTokens are the registry's read-only credentials, kept as their
// SHA-256 with a label in one file of slipway's alone (Layout.PullTokens),
// as the admin token is: a token is high-entropy, so a plain hash is
// enough, and the file never holds a token itself.
type pullTokens struct {
	path string
	mu   sync.Mutex
}

type pullTokenEntry struct {
	Label   string    `json:"label"`
	Hash    string    `json:"sha256"`
	Created time.Time `json:"created"`
}

// pullTokenLabel is the shape of a label: it names a host or a cluster.
var pullTokenLabel = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

func (t *pullTokens) load() ([]pullTokenEntry, error) {
	data, err := os.ReadFile(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var list []pullTokenEntry
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, slipway.Errorf(slipway.EINTERNAL, "the pull tokens' file %s is damaged: %v", t.path, err)
	}
	return list, nil
}

func (t *pullTokens) save(list []pullTokenEntry) error {
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(t.path, append(data, '\n'), 0o600)
}

// create makes a token labelled label and returns it.
func (t *pullTokens) create(label string, now time.Time) (string, error) {
	if !pullTokenLabel.MatchString(label) {
		return "", slipway.Errorf(slipway.EINVALID, "pull token label %q: use lower-case letters, digits, dots and dashes, such as node-1", slipway.OneLine(label, 40))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	list, err := t.load()
	if err != nil {
		return "", err
	}
	if slices.ContainsFunc(list, func(e pullTokenEntry) bool { return e.Label == label }) {
		return "", slipway.Errorf(slipway.ECONFLICT, "a pull token labelled %s exists: revoke it first (registry:tokens:revoke %s)", label, label)
	}
	b := make([]byte, 32)
	rand.Read(b)
	token := "slipway-pull-" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	list = append(list, pullTokenEntry{Label: label, Hash: hex.EncodeToString(sum[:]), Created: now.UTC()})
	if err := t.save(list); err != nil {
		return "", err
	}
	return token, nil
}

// list returns the tokens' labels, oldest first.
func (t *pullTokens) list() ([]slipway.PullToken, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	list, err := t.load()
	if err != nil {
		return nil, err
	}
	out := make([]slipway.PullToken, 0, len(list))
	for _, e := range list {
		out = append(out, slipway.PullToken{Label: e.Label, Created: e.Created})
	}
	return out, nil
}

// revoke removes the token labelled label.
func (t *pullTokens) revoke(label string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	list, err := t.load()
	if err != nil {
		return err
	}
	i := slices.IndexFunc(list, func(e pullTokenEntry) bool { return e.Label == label })
	if i < 0 {
		return slipway.Errorf(slipway.ENOTFOUND, "no pull token labelled %q: registry:tokens lists them", slipway.OneLine(label, 40))
	}
	return t.save(slices.Delete(list, i, i+1))
}

// check reports whether token is one of the pull tokens. Every entry is
// compared, in constant time, whatever matches.
func (t *pullTokens) check(token string) bool {
	t.mu.Lock()
	list, err := t.load()
	t.mu.Unlock()
	if err != nil || token == "" {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	got := hex.EncodeToString(sum[:])
	ok := 0
	for _, e := range list {
		ok |= subtle.ConstantTimeCompare([]byte(got), []byte(e.Hash))
	}
	return ok == 1
}
