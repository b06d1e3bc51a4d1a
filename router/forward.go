package router

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/slipway/slipway/internal/httphead"
)

// The router's own proxy path. A request that the transport's direct path
// takes (no body or a small one of known length, no upgrade, no
// Transfer-Encoding or trailers) and that ReverseProxy would send as it
// came is proxied here, without ReverseProxy: its head is written to the
// instance straight from the request the server parsed, and the response's
// headers go to the client without a copy. ReverseProxy clones each
// request's headers, deletes the hop-by-hop ones one by one, sorts them to
// write them and parses every response's Content-Type to decide on
// flushing; in the real `slipway serve` that was a fifth of the router's
// CPU per request. Everything else (websockets and other upgrades, large
// or chunked request bodies, requests from a trusted proxy, request
// targets ReverseProxy rewrites) still goes through ReverseProxy. The
// headers sent and answered are ReverseProxy's with the router's Rewrite
// (see newProxy), forward_test.go compares the two, but for one fix: after
// a 103 Early Hints the affinity cookie still goes out with the final
// response (see interim).

// forwardable reports whether req may take the router's own proxy path,
// if its body fits (see bufferBody).
func (r *Router) forwardable(req *http.Request) bool {
	if r.direct == nil || req.ContentLength > r.direct.maxBody ||
		req.Method == http.MethodConnect || len(req.Trailer) > 0 || isUpgrade(req.Header) {
		return false
	}
	u := req.URL
	if u == nil || u.Opaque != "" || (u.Path != "" && u.Path[0] != '/') || !httphead.CleanQuery(u.RawQuery) {
		return false // ReverseProxy would rewrite the target or the query
	}
	return len(r.trusted) == 0 || !r.trustedPeer(req.RemoteAddr)
}

// bufferBody reads the body of req whole, as nginx buffers request bodies,
// when it is at most the direct path's limit: a chunked body too, which
// then goes to the instance with a Content-Length (never a chunked body
// the client may have framed wrongly). fits is false, and nothing read,
// for a longer Content-Length; for a longer chunked body, req.Body gives
// back what was read, then the rest. err is the client's: a body cut short
// or badly chunked.
func (r *Router) bufferBody(req *http.Request) (body []byte, fits bool, err error) {
	switch {
	case req.Body == nil || req.Body == http.NoBody || req.ContentLength == 0:
		return nil, true, nil
	case req.ContentLength > 0:
		b, err := readBody(req)
		return b, err == nil, err
	}
	limit := r.direct.maxBody
	b, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(b)) > limit {
		req.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b), req.Body), req.Body}
		return nil, false, nil
	}
	req.Body.Close()
	return b, true, nil
}

// forward proxies req, which forwardable took, with its body read whole,
// to instance i of p, with one retry on another instance as retryTransport
// makes.
func (r *Router) forward(w http.ResponseWriter, req *http.Request, body []byte, p *Pool, i int) {
	f := &forwarded{req: req, w: w, body: body}
	start := r.started()
	res, err := r.send(f, p, i)
	r.observed(req.Context(), p, start, res, err)
	if err != nil {
		r.errorHandler(p, p.Instances[i])(w, req, err)
		return
	}
	f.respond(res, r)
}

// started returns when a request to an instance starts, if Config.Observe
// wants to know.
func (r *Router) started() time.Time {
	if r.observe == nil {
		return time.Time{}
	}
	return time.Now()
}

// observed tells Config.Observe how a request to an instance of p that
// started at start went: res, or err (a 502 unless the client, whose
// request's context is ctx, went away).
func (r *Router) observed(ctx context.Context, p *Pool, start time.Time, res *http.Response, err error) {
	switch {
	case r.observe == nil:
	case err == nil:
		r.observe(p.App, res.StatusCode, time.Since(start))
	case ctx.Err() == nil:
		r.observe(p.App, http.StatusBadGateway, 0)
	}
}

// send sends f to instance i of p or, as retryTransport does, once to
// another instance when that one cannot be reached.
func (r *Router) send(f *forwarded, p *Pool, i int) (*http.Response, error) {
	req := f.req
	replay := idempotent(req)
	res, err := r.direct.send(req.Context(), p.Instances[i].Addr, req, replay, f)
	if err == nil {
		return res, nil
	}
	// As replayable decides for ReverseProxy's outbound requests: only
	// those without a body are sent again.
	return retryElsewhere(r.log, p, i, err, f.body == nil && retryableErr(req, err), func(other *Instance) (*http.Response, error) {
		return r.direct.send(req.Context(), other.Addr, req, replay, f)
	})
}

// forwarded is a request on the router's own proxy path: the outbound
// request the transport writes, and the response writer its interim
// responses go to.
type forwarded struct {
	req  *http.Request
	body []byte // the request body, read whole, or nil
	w    http.ResponseWriter
	// room for the response: forwarded lives as long as the response it
	// relays, and a retry reads a response only after the last one failed.
	room exchangeSlots
}

// write writes the request to the instance: ReverseProxy's outbound
// request with the router's Rewrite, as http.Request.Write would write it.
func (f *forwarded) write(bw *bufio.Writer) error {
	in := f.req
	bw.WriteString(in.Method)
	bw.WriteByte(' ')
	bw.WriteString(in.URL.RequestURI())
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(in.Host)
	bw.WriteString("\r\n")
	if ua := in.Header["User-Agent"]; len(ua) > 0 && ua[0] != "" {
		writeField(bw, "User-Agent", ua[0]) // http.Request.Write sends the first
	}
	switch {
	case f.body != nil:
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.Itoa(len(f.body)))
		bw.WriteString("\r\nConnection: close\r\n") // see closes
	case in.Method == http.MethodPost || in.Method == http.MethodPut || in.Method == http.MethodPatch:
		bw.WriteString("Content-Length: 0\r\n")
	}
	dropped := connectionTokens(in.Header["Connection"])
	for k, vv := range in.Header {
		if outboundDropped(k) || (dropped != nil && listed(dropped, k)) {
			continue
		}
		for _, v := range vv {
			writeField(bw, k, v)
		}
	}
	if headerHasToken(in.Header["Te"], "trailers") {
		bw.WriteString("Te: trailers\r\n")
	}
	if err := endHead(bw, in.RemoteAddr, in.Host, in.TLS != nil); err != nil {
		return err
	}
	_, err := bw.Write(f.body)
	return err
}

// endHead ends the head of a request to an instance with the forwarding
// headers the router sets as the edge, from the client's address
// (host:port), the request's Host and whether it came over TLS, and the
// blank line; it returns bw's error.
func endHead(bw *bufio.Writer, remote, host string, tls bool) error {
	addr, _, err := net.SplitHostPort(remote)
	if err == nil {
		writeField(bw, "X-Forwarded-For", addr)
	}
	writeField(bw, "X-Forwarded-Host", host)
	if tls {
		bw.WriteString("X-Forwarded-Proto: https\r\n")
	} else {
		bw.WriteString("X-Forwarded-Proto: http\r\n")
	}
	if err == nil {
		writeField(bw, "X-Real-Ip", addr)
	}
	_, werr := bw.WriteString("\r\n")
	return werr
}

// closes reports whether the request has a body: its connection is then
// not reused, since the app may not have read the body and would take it
// for the next request (see Transport). Otherwise the router keeps its
// connections to instances open; the client's Connection header is
// hop-by-hop.
func (f *forwarded) closes() bool { return f.body != nil }

func (f *forwarded) slots() *exchangeSlots { return &f.room }

// interim passes a 103 Early Hints (or other 1xx) response on to the
// client with the app's headers for it. The headers the router has set for
// the final response (the affinity cookie) are kept for it: ReverseProxy
// sends them with the interim response, which browsers read only Link
// headers from, and clears them, so the session would not be pinned.
func (f *forwarded) interim(code int, h http.Header) (bool, error) {
	dst := f.w.Header()
	final := maps.Clone(dst)
	clear(dst)
	copyHeader(dst, h)
	f.w.WriteHeader(code)
	clear(dst)
	maps.Copy(dst, final)
	return true, nil
}

// respond sends res to the client as ReverseProxy does: its headers less
// the hop-by-hop ones, its body flushed at once when it is a stream, its
// trailers. A body cut short aborts the response (panic with
// http.ErrAbortHandler), so the client sees it was.
func (f *forwarded) respond(res *http.Response, r *Router) {
	w := f.w
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

	var flush func() error
	if res.ContentLength == -1 || isEventStream(ctype) {
		// Streams and long polls: the headers now, each write as it comes.
		flush = http.NewResponseController(w).Flush
		flush()
	}
	if err := r.copyBody(w, res.Body, flush); err != nil {
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
// read error the way ReverseProxy does.
func (r *Router) copyBody(w io.Writer, body io.Reader, flush func() error) error {
	buf := r.buffers.Get()
	defer r.buffers.Put(buf)
	for {
		n, rerr := body.Read(buf)
		if rerr != nil && rerr != io.EOF && rerr != context.Canceled {
			r.errorLog.Printf("httputil: ReverseProxy read error during body copy: %v", rerr)
		}
		if n > 0 {
			m, werr := w.Write(buf[:n])
			if werr != nil {
				return werr
			}
			if m != n {
				return io.ErrShortWrite
			}
			if flush != nil {
				flush()
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
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

var newlineToSpace = strings.NewReplacer("\n", " ", "\r", " ")

// writeField writes one header field, with what http.Request.Write does
// to a value: line breaks become spaces, surrounding blanks go.
func writeField(bw *bufio.Writer, k, v string) {
	if strings.ContainsAny(v, "\r\n") {
		v = newlineToSpace.Replace(v)
	}
	v = strings.Trim(v, " \t")
	bw.WriteString(k)
	bw.WriteString(": ")
	bw.WriteString(v)
	bw.WriteString("\r\n")
}

// outboundDropped reports whether request header k is not passed on as
// it came: hop-by-hop headers (ReverseProxy's list), the forwarding and
// client-address headers the router sets or drops as the edge, those
// http.Request.Write writes itself, and names with an underscore (see
// underscored).
func outboundDropped(k string) bool {
	switch k {
	case "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
		"X-Client-Ip", "True-Client-Ip", "X-Cluster-Client-Ip", "X-Real-Ip",
		"Host", "User-Agent", "Content-Length":
		return true
	}
	return hopByHop(k) || underscored(k)
}

// underscored reports whether header name k has an underscore. Such
// headers are dropped, as nginx drops them (underscores_in_headers off):
// CGI, WSGI, Rack and PHP turn both "-" and "_" into "_", so a client's
// X_Forwarded_For or True_Client_IP would reach the app as the header the
// router set or dropped as the edge.
func underscored(k string) bool { return strings.IndexByte(k, '_') >= 0 }

// hopByHop reports whether k is one of the hop-by-hop headers ReverseProxy
// removes from requests and responses.
func hopByHop(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// connectionTokens returns the header names a Connection header lists
// (canonical), which are hop-by-hop too, or nil if it lists none.
func connectionTokens(values []string) []string {
	var names []string
	for _, v := range values {
		for tok := range strings.SplitSeq(v, ",") {
			if tok = strings.Trim(tok, " \t"); tok != "" {
				names = append(names, http.CanonicalHeaderKey(tok))
			}
		}
	}
	return names
}

func listed(names []string, k string) bool {
	for _, n := range names {
		if n == k {
			return true
		}
	}
	return false
}

// headerHasToken reports whether one of the comma-separated lists values
// holds token, compared case-insensitively.
func headerHasToken(values []string, token string) bool {
	for _, v := range values {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.Trim(tok, " \t"), token) {
				return true
			}
		}
	}
	return false
}

// isEventStream reports whether a Content-Type is text/event-stream, whose
// events ReverseProxy flushes as they come.
func isEventStream(ct []string) bool {
	return len(ct) > 0 && isEventStreamType(ct[0])
}

// isEventStreamType is isEventStream for one Content-Type value.
func isEventStreamType(v string) bool {
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.EqualFold(strings.TrimSpace(v), "text/event-stream")
}
