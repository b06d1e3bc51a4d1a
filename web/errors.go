package web

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/slipway/slipway"
)

// Errors of the admin address itself; statusOf maps them with the rest.
var (
	errNoAuth   = errors.New("sign in first: send Authorization: Bearer TOKEN")
	errBadToken = errors.New("wrong admin token")
	errCSRF     = errors.New("missing or wrong CSRF token: reload the page and try again")
)

// statusOf is the one place that turns an error into an HTTP status and
// the message a client may see. Internal errors are logged here and shown
// only as a generic line.
func (h *Handler) statusOf(r *http.Request, err error) (int, string) {
	switch {
	case errors.Is(err, errNoAuth), errors.Is(err, errBadToken):
		return http.StatusUnauthorized, err.Error()
	case errors.Is(err, errCSRF):
		return http.StatusForbidden, err.Error()
	case errors.As(err, new(errThrottled)):
		return http.StatusTooManyRequests, err.Error()
	}
	switch slipway.ErrorCode(err) {
	case slipway.ENOTFOUND:
		return http.StatusNotFound, slipway.ErrorMessage(err)
	case slipway.EINVALID:
		return http.StatusBadRequest, slipway.ErrorMessage(err)
	case slipway.ECONFLICT:
		return http.StatusConflict, slipway.ErrorMessage(err)
	}
	h.log.Error("admin request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return http.StatusInternalServerError, slipway.ErrorMessage(err)
}

// apiError writes err as {"error": "..."} with its status.
func (h *Handler) apiError(w http.ResponseWriter, r *http.Request, err error) {
	retryAfter(w, err)
	code, msg := h.statusOf(r, err)
	writeJSON(w, code, map[string]string{"error": msg})
}

// pageError renders err as an HTML page with its status.
func (h *Handler) pageError(w http.ResponseWriter, r *http.Request, a auth, err error) {
	retryAfter(w, err)
	code, msg := h.statusOf(r, err)
	h.render(w, r, code, "error.html", &errorPage{
		basePage: h.base(a, http.StatusText(code)),
		Status:   code,
		Message:  msg,
	})
}

// writeJSON writes v as JSON with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
