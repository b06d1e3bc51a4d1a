package router

import (
	"context"
	"io"
	"maps"
	"net/http"
	"strings"

	"github.com/slipway/slipway/internal/httphead"
)

// The response side of the one proxy path: what the app answered goes to
// the client as ReverseProxy sends it (the hop-by-hop headers dropped, a
// stream flushed as it comes, trailers after the body), but for one fix:
// after a 103 Early Hints the affinity cookie still goes out with the
// final response (see interim). An exchange's simple response is written
// straight from the app's header lines (respondRaw).

// interim passes a 103 Early Hints (or other 1xx) response on to the
// client with the app's headers for it. The headers the router has set for
// the final response (the affinity cookie) are kept for it: ReverseProxy
// sent them with the interim response, which browsers read only Link
// headers from, and cleared them, so the session would not be pinned.
func (f *forwarded) interim(code int, h http.Header) (bool, error) {
	w, _ := f.writer()
	dst := w.Header()
	final := maps.Clone(dst)
	clear(dst)
	copyHeader(dst, h)
	w.WriteHeader(code)
	clear(dst)
	maps.Copy(dst, final)
	return true, nil
}

// respondRaw sends res to the client as forwarded.respond would, if it is a
// simple response (its lines in f's slots) with a Content-Type other than
// text/event-stream and no ResponseWriter was made: its status line, the
// affinity cookie, its header lines less the hop-by-hop ones (canonical
// names, values trimmed as h1 writes them), a Date if it has none, and its
// body, in one buffer. It reports false, having written nothing, for any
// other response.
func (f *forwarded) respondRaw(res *http.Response, r *Router) bool {
	if f.x == nil || f.w != nil {
		return false
	}
	lines, _, ok := f.room.rawHeader(res)
	if !ok {
		return false
	}
	typed, dated := false, false
	for rest := lines; rest != ""; {
		var name, value string
		name, value, rest = httphead.Next(rest)
		switch {
		case httphead.Is(name, "Content-Type"):
			if isEventStreamType(value) {
				return false // flushed as it comes
			}
			typed = true
		case httphead.Is(name, "Date"):
			dated = true
		}
	}
	if !typed {
		return false // h1 would sniff one from the body
	}
	bw := f.x.Begin(res.StatusCode)
	if f.cookie != nil {
		bw.WriteString("Set-Cookie: ")
		bw.WriteString(f.cookie.line[0])
		bw.WriteString("\r\n")
	}
	for rest := lines; rest != ""; {
		var name, value string
		name, value, rest = httphead.Next(rest)
		if k := httphead.Canonical(name); !hopByHop(k) {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(strings.TrimSpace(value))
			bw.WriteString("\r\n")
		}
	}
	f.x.EndHead(dated)
	f.acc.status = res.StatusCode
	n, err := r.copyBody(bw, res.Body, nil)
	f.acc.sent = n
	if err != nil {
		f.x.Abort()
	}
	res.Body.Close()
	return true
}

// respond sends res to the client as ReverseProxy does: its headers less
// the hop-by-hop ones, its body flushed at once when it is a stream, its
// trailers. A body cut short aborts the response (panic with
// http.ErrAbortHandler), so the client sees it was.
func (f *forwarded) respond(res *http.Response, r *Router) {
	w, _ := f.writer()
	dst := w.Header()
	ctype := res.Header["Content-Type"]
	if lines, n, ok := f.room.rawHeader(res); ok {
		// A simple response has no Connection header to name others.
		httphead.Add(dst, lines, n, hopByHop)
		ctype = dst["Content-Type"] // (the router sets none of its own)
	}
	dropped := connectionTokens(res.Header["Connection"])
	for k, vv := range res.Header {
		if hopByHop(k) || (dropped != nil && listed(dropped, k)) {
			continue
		}
		if prior, ok := dst[k]; ok {
			dst[k] = append(prior, vv...)
		} else {
			dst[k] = vv // the response's own slice: res is not used again
		}
	}
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		dst["Trailer"] = append(dst["Trailer"], strings.Join(keys, ", "))
	}
	w.WriteHeader(res.StatusCode)
	f.acc.status = res.StatusCode

	var flush func() error
	if res.ContentLength == -1 || isEventStream(ctype) {
		// Streams and long polls: the headers now, each write as it comes.
		flush = http.NewResponseController(w).Flush
		flush()
	}
	n, err := r.copyBody(w, res.Body, flush)
	f.acc.sent = n
	if err != nil {
		res.Body.Close()
		panic(http.ErrAbortHandler)
	}
	res.Body.Close() // fills in res.Trailer
	if len(res.Trailer) > 0 {
		// Chunked, so that the trailers can follow a short body.
		http.NewResponseController(w).Flush()
	}
	if len(res.Trailer) == announced {
		copyHeader(dst, res.Trailer)
		return
	}
	for k, vv := range res.Trailer {
		k = http.TrailerPrefix + k
		for _, v := range vv {
			dst.Add(k, v)
		}
	}
}

// copyBody copies a response body to w with a pooled buffer, flushing after
// every write if flush is set, as ReverseProxy's copyBuffer does; it logs a
// read error. It returns how many bytes w took (for the access line).
func (r *Router) copyBody(w io.Writer, body io.Reader, flush func() error) (int64, error) {
	buf := r.buffers.Get()
	defer r.buffers.Put(buf)
	var sent int64
	for {
		n, rerr := body.Read(buf)
		if rerr != nil && rerr != io.EOF && rerr != context.Canceled {
			r.errorLog.Printf("router: read error during body copy: %v", rerr)
		}
		if n > 0 {
			m, werr := w.Write(buf[:n])
			sent += int64(m)
			if werr != nil {
				return sent, werr
			}
			if m != n {
				return sent, io.ErrShortWrite
			}
			if flush != nil {
				flush()
			}
		}
		if rerr == io.EOF {
			return sent, nil
		}
		if rerr != nil {
			return sent, rerr
		}
	}
}

// copyHeader adds the values of src to dst, as ReverseProxy's copyHeader.
func copyHeader(dst, src http.Header) {
	for k, vv := range src {
		for _, v := range vv {
			dst.Add(k, v)
		}
	}
}
