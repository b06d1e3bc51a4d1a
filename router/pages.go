package router

import (
	"html"
	"net/http"
	"strconv"
)

// RetryAfter is the Retry-After value, in seconds, sent with 503 pages: about
// the time an instance takes to come back or a release to go live.
const RetryAfter = 5

// writeNotFound answers a request for an app that does not exist. name is
// the app the host named, or "" when the host names no app at all.
func writeNotFound(w http.ResponseWriter, name, host string) int {
	msg := "No app is served at " + bold(host) + "."
	if name != "" {
		msg = "No app named " + bold(name) + " here."
	}
	return writePage(w, http.StatusNotFound, msg)
}

// writeUnavailable answers a request for an app that has no instance able
// to take it right now.
func writeUnavailable(w http.ResponseWriter, name string) int {
	w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
	return writePage(w, http.StatusServiceUnavailable,
		bold(name)+" has no running instance right now. Try again in a few seconds.")
}

// writeBadGateway answers a request that no instance of the app answered.
func writeBadGateway(w http.ResponseWriter, name string) int {
	return writePage(w, http.StatusBadGateway,
		bold(name)+" did not answer. Try again in a moment.")
}

// writeMethodNotAllowed answers TRACE and CONNECT, which the router does
// not pass on, and closes the connection (a CONNECT's next bytes may be a
// tunnel's).
func writeMethodNotAllowed(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	writePage(w, http.StatusMethodNotAllowed, "TRACE and CONNECT are not passed on to apps.")
}

// writeBadBody answers a request whose body ended early or was badly
// chunked, and closes the connection: what follows cannot be framed.
func writeBadBody(w http.ResponseWriter) int {
	w.Header().Set("Connection", "close")
	return writePage(w, http.StatusBadRequest, "The request's body ended early or was badly chunked.")
}

// writeBadTarget answers a request whose target is not a path (an
// authority or asterisk form the router does not pass on).
func writeBadTarget(w http.ResponseWriter) int {
	w.Header().Set("Connection", "close")
	return writePage(w, http.StatusBadRequest, "The request's target is not a path.")
}

// unavailableHandler answers every request with the 503 page for app name.
func unavailableHandler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeUnavailable(w, name) })
}

// bold returns s HTML-escaped and in bold.
func bold(s string) string { return "<b>" + html.EscapeString(s) + "</b>" }

// writePage writes a short HTML page whose title is the status and whose body
// is msg, which must already be HTML, and returns the body's length (as
// do the write functions that call it).
func writePage(w http.ResponseWriter, code int, msg string) int {
	title := strconv.Itoa(code) + " " + http.StatusText(code)
	body := "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" + title +
		"</title></head>\n<body><h1>" + title + "</h1>\n<p>" + msg + "</p></body></html>\n"
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
	return len(body)
}

// writeMaintenance answers a request for an app in maintenance: 503 with
// Retry-After, and the app's own page when it has one.
func writeMaintenance(w http.ResponseWriter, name string, page []byte) int {
	w.Header().Set("Retry-After", strconv.Itoa(maintenanceRetry))
	if len(page) == 0 {
		return writePage(w, http.StatusServiceUnavailable, bold(name)+" is down for maintenance. Try again in a few minutes.")
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(page)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write(page)
	return len(page)
}

// maintenanceRetry is the Retry-After of the maintenance page, in seconds.
const maintenanceRetry = 120

// writeUndeployed answers a request for an app that has no release yet.
func writeUndeployed(w http.ResponseWriter, name string) int {
	return writePage(w, http.StatusNotFound, bold(name)+" has no release yet: a git push to it deploys it here.")
}

// writeStopped answers a request for an app stopped with ps:stop.
func writeStopped(w http.ResponseWriter, name string) int {
	w.Header().Set("Retry-After", strconv.Itoa(maintenanceRetry))
	return writePage(w, http.StatusServiceUnavailable, bold(name)+" is stopped.")
}
