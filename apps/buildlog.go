package apps

import (
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/slipway/slipway"
)

// openLog opens the build-and-deploy log of release v of app, which every
// kind of release has: what the pusher or operator sees, streamed to the
// log file as it happens, so the history page can show it. The client
// hanging up does not cut the log short.
func (s *Service) openLog(app string, v slipway.Version, out io.Writer) (*teeWriter, string, func()) {
	path := s.layout.ReleaseLog(app, v)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		s.logger.Error("build log", "app", app, "err", err)
		return &teeWriter{client: out, log: io.Discard}, "", func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		s.logger.Error("build log", "app", app, "err", err)
		return &teeWriter{client: out, log: io.Discard}, "", func() {}
	}
	return &teeWriter{client: out, log: f}, path, func() { f.Close() }
}

// teeWriter writes to the log always and to the client while it listens.
type teeWriter struct {
	mu     sync.Mutex
	client io.Writer
	log    io.Writer
	gone   bool
}

func (t *teeWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.log.Write(p)
	if !t.gone {
		if _, err := t.client.Write(p); err != nil {
			t.gone = true
		}
	}
	return len(p), nil
}
