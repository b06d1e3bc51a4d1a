package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/slipway/slipway"
)

// Command trailers: the exit status and, on failure, the one-line error.
const (
	TrailerExit  = "Slipway-Exit"
	TrailerError = "Slipway-Error"
)

// apiCommand serves POST /api/commands/{name} with body {"args": [...]}:
// the same management commands as over ssh, for `slipway COMMAND` on the
// host. The output streams as text; the verdict comes in the trailers.
func (h *Handler) apiCommand(w http.ResponseWriter, r *http.Request, _ auth) {
	if h.cfg.Commands == nil {
		h.apiError(w, r, slipway.Errorf(slipway.ENOTFOUND, "no commands here"))
		return
	}
	var body struct {
		Args []string `json:"args"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		h.apiError(w, r, slipway.Errorf(slipway.EINVALID, "want a JSON body such as {\"args\": [\"NAME\"]}"))
		return
	}
	w.Header().Set("Trailer", TrailerExit+", "+TrailerError)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	out := &flushWriter{w: w, rc: http.NewResponseController(w)}
	err := h.cfg.Commands(r.Context(), r.PathValue("name"), body.Args, out)
	if err != nil {
		if slipway.ErrorCode(err) == slipway.EINTERNAL {
			h.cfg.Logger.Error("command", "command", r.PathValue("name"), "err", err)
		}
		w.Header().Set(TrailerExit, "1")
		w.Header().Set(TrailerError, slipway.ErrorMessage(err))
		return
	}
	w.Header().Set(TrailerExit, "0")
}

// flushWriter sends command output as it is written (logs -t follows).
type flushWriter struct {
	mu sync.Mutex
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (f *flushWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.w.Write(p)
	if err == nil {
		err = f.rc.Flush()
	}
	if err != nil {
		return n, fmt.Errorf("client gone: %w", err)
	}
	return n, nil
}
