package web

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/stream"
)

// apiCommand serves POST /api/commands/{name} with body {"args": [...]}:
// the same management commands as over ssh, for `slipway COMMAND` on the
// host. The output streams as text; the verdict comes in the trailers
// (package stream).
func (h *Handler) apiCommand(w http.ResponseWriter, r *http.Request, _ auth) {
	if h.cfg.Commands == nil {
		h.apiError(w, r, slipway.Errorf(slipway.ENOTFOUND, "no commands here"))
		return
	}
	var body struct {
		Args  []string `json:"args"`
		Stdin string   `json:"stdin"` // what the command reads, for one that does
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		h.apiError(w, r, slipway.Errorf(slipway.EINVALID, "want a JSON body such as {\"args\": [\"NAME\"]}"))
		return
	}
	err := stream.Serve(w, func(out io.Writer) error {
		return h.cfg.Commands(r.Context(), r.PathValue("name"), body.Args, strings.NewReader(body.Stdin), out)
	}, slipway.ErrorMessage)
	if err != nil && slipway.ErrorCode(err) == slipway.EINTERNAL {
		h.cfg.Logger.Error("command", "command", r.PathValue("name"), "err", err)
	}
}

// apiUpgrade serves POST /api/upgrade: slipway hands over to a new
// process of its executable, which may be a new version. The answer, once
// the new process serves, is {"pid": N}; a new process that fails to
// start or to become ready leaves this one serving and is a 409 that says
// why.
func (h *Handler) apiUpgrade(w http.ResponseWriter, r *http.Request, _ auth) {
	if h.cfg.Upgrade == nil {
		h.apiError(w, r, slipway.Errorf(slipway.ENOTFOUND, "this slipway cannot be upgraded in place"))
		return
	}
	pid, err := h.cfg.Upgrade(r.Context())
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]int{"pid": pid})
}
