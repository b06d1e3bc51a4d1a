package web

import (
	"encoding/json"
	"io"
	"net/http"

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
		Args []string `json:"args"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		h.apiError(w, r, slipway.Errorf(slipway.EINVALID, "want a JSON body such as {\"args\": [\"NAME\"]}"))
		return
	}
	err := stream.Serve(w, func(out io.Writer) error {
		return h.cfg.Commands(r.Context(), r.PathValue("name"), body.Args, out)
	}, slipway.ErrorMessage)
	if err != nil && slipway.ErrorCode(err) == slipway.EINTERNAL {
		h.cfg.Logger.Error("command", "command", r.PathValue("name"), "err", err)
	}
}
