package router

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/slipway/slipway/internal/h1"
	"github.com/slipway/slipway/internal/httphead"
)

// forwarded is a request on its way to an instance, in one of the two
// forms a client's request reaches the router in: an h1.Exchange (a plain
// GET that slipway's HTTP/1.1 server parsed in place, with no
// http.Request made for it) or an http.Request. It is what the transport
// writes (it implements outbound) and where the response goes.
type forwarded struct {
	x      *h1.Exchange  // the exchange, or nil
	req    *http.Request // the request; for an exchange, made with w when needed
	w      http.ResponseWriter
	target string // the request's RequestURI, for a request (an exchange has its own)
	// body is the request body, read whole, or nil; long is a body too
	// long to hold, sent as it comes, or nil.
	body    []byte
	long    *streamBody
	cookie  *issuedCookie // the affinity cookie to set, or nil
	trusted bool          // the client is a trusted proxy: its forwarding headers are kept
	upgrade string        // the protocol an upgrade asks for (websocket), or ""
	// room for the response: forwarded lives as long as the response it
	// relays, and a retry reads a response only after the last one failed.
	room exchangeSlots
	acc  proxyAccess // what its access line says, filled in as it goes
}

// method returns the request's method.
func (f *forwarded) method() string {
	if f.x != nil {
		return http.MethodGet
	}
	return f.req.Method
}

// writer returns the client's ResponseWriter and request, making them
// for an exchange (with the affinity cookie in the header) when first
// asked: for an interim response, an error page or a response
// respondRaw does not take.
func (f *forwarded) writer() (http.ResponseWriter, *http.Request) {
	if f.w == nil {
		f.w, f.req = f.x.Writer()
		if f.cookie != nil {
			f.cookie.set(f.w.Header())
		}
	}
	return f.w, f.req
}

// write writes the request's head to the instance, and its body if it is
// held whole: the request line with the target as it came (an exchange's,
// which h1 checked RequestURI gives back, or the request's RequestURI),
// Host, the client's header fields less the hop-by-hop ones, those the
// router sets as the edge and names with an underscore, with canonical
// names and trimmed values as http.Request.Write writes them, the first
// User-Agent only, the framing of the body, and the forwarding headers.
func (f *forwarded) write(bw *bufio.Writer) error {
	if f.x != nil {
		return f.writeExchange(bw)
	}
	in := f.req
	bw.WriteString(in.Method)
	bw.WriteByte(' ')
	bw.WriteString(f.target)
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
	case f.long != nil && f.long.length >= 0:
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.FormatInt(f.long.length, 10))
		bw.WriteString("\r\nConnection: close\r\n")
	case f.long != nil:
		bw.WriteString("Transfer-Encoding: chunked\r\nConnection: close\r\n")
		if len(in.Trailer) > 0 {
			bw.WriteString("Trailer: ")
			bw.WriteString(strings.Join(trailerNames(in.Trailer), ", "))
			bw.WriteString("\r\n")
		}
	case f.upgrade != "":
		bw.WriteString("Connection: Upgrade\r\n")
		writeField(bw, "Upgrade", f.upgrade)
	case in.Method == http.MethodPost || in.Method == http.MethodPut || in.Method == http.MethodPatch:
		bw.WriteString("Content-Length: 0\r\n")
	}
	dropped := connectionTokens(in.Header["Connection"])
	for k, vv := range in.Header {
		if outboundDropped(k) && !(f.trusted && clientAddressHeader(k)) || (dropped != nil && listed(dropped, k)) {
			continue
		}
		for _, v := range vv {
			writeField(bw, k, v)
		}
	}
	if headerHasToken(in.Header["Te"], "trailers") {
		bw.WriteString("Te: trailers\r\n")
	}
	var err error
	if f.trusted {
		err = endTrustedHead(bw, in)
	} else {
		err = endHead(bw, in.RemoteAddr, in.Host, in.TLS != nil)
	}
	if err != nil {
		return err
	}
	_, err = bw.Write(f.body)
	return err
}

// writeExchange is write for an exchange: a plain GET, whose fields name
// no body, upgrade or other connection option (see h1.Exchange.Fields).
func (f *forwarded) writeExchange(bw *bufio.Writer) error {
	x := f.x
	bw.WriteString("GET ")
	bw.WriteString(x.Target())
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(x.Host())
	bw.WriteString("\r\n")
	agent := false
	for rest := x.Fields(); rest != ""; {
		var name, value string
		name, value, rest = httphead.Next(rest)
		k := httphead.Canonical(name)
		if k == "User-Agent" {
			if !agent && value != "" {
				writeField(bw, k, value)
			}
			agent = true
			continue
		}
		if outboundDropped(k) || (k == "Close" && x.Close()) {
			continue // (a Connection header lists close and keep-alive at most)
		}
		writeField(bw, k, value)
	}
	return endHead(bw, x.RemoteAddr(), x.Host(), x.TLS())
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

// endTrustedHead is endHead for a request from a trusted proxy: what it
// said is kept, its X-Forwarded-For with its own address appended, its
// X-Forwarded-Proto and -Host in place of the router's.
func endTrustedHead(bw *bufio.Writer, in *http.Request) error {
	addr, _, err := net.SplitHostPort(in.RemoteAddr)
	if prior := in.Header["X-Forwarded-For"]; len(prior) > 0 {
		if err == nil {
			writeField(bw, "X-Forwarded-For", strings.Join(prior, ", ")+", "+addr)
		} else {
			writeField(bw, "X-Forwarded-For", strings.Join(prior, ", "))
		}
	} else if err == nil {
		writeField(bw, "X-Forwarded-For", addr)
	}
	if v := in.Header.Get("X-Forwarded-Host"); v != "" {
		writeField(bw, "X-Forwarded-Host", v)
	} else {
		writeField(bw, "X-Forwarded-Host", in.Host)
	}
	switch v := in.Header.Get("X-Forwarded-Proto"); {
	case v != "":
		writeField(bw, "X-Forwarded-Proto", v)
	case in.TLS != nil:
		bw.WriteString("X-Forwarded-Proto: https\r\n")
	default:
		bw.WriteString("X-Forwarded-Proto: http\r\n")
	}
	_, werr := bw.WriteString("\r\n")
	return werr
}

// stream returns the body too long to hold, or nil.
func (f *forwarded) stream() *streamBody { return f.long }

// closes reports whether the request has a body or asks for an upgrade:
// its connection is then not reused, since the app may not have read the
// body and would take it for the next request (see Transport), and an
// upgraded connection is the client's. Otherwise the router keeps its
// connections to instances open; the client's Connection header is
// hop-by-hop.
func (f *forwarded) closes() bool { return f.body != nil || f.long != nil || f.upgrade != "" }

func (f *forwarded) slots() *exchangeSlots { return &f.room }

// bufferBody reads the body of req whole, as nginx buffers request bodies,
// when it is at most limit bytes: a chunked body too, which then goes to
// the instance with a Content-Length (never a chunked body the client may
// have framed wrongly). A longer body is returned as a stream, which
// gives back what was read first, then the rest. err is the client's: a
// body cut short or badly chunked.
func bufferBody(req *http.Request, limit int64) (body []byte, long *streamBody, err error) {
	switch {
	case req.Body == nil || req.Body == http.NoBody || req.ContentLength == 0:
		return nil, nil, nil
	case req.ContentLength > limit || (req.ContentLength > 0 && len(req.Trailer) > 0):
		return nil, &streamBody{r: req.Body, length: req.ContentLength, trailer: req.Trailer}, nil
	case req.ContentLength > 0:
		b, err := readBody(req)
		return b, nil, err
	}
	b, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(b)) > limit || len(req.Trailer) > 0 {
		return nil, &streamBody{r: io.MultiReader(bytes.NewReader(b), req.Body), length: -1, trailer: req.Trailer}, nil
	}
	req.Body.Close()
	if len(b) == 0 {
		return nil, nil, nil // no body after all (an HTTP/2 request may not say its length)
	}
	return b, nil, nil
}

// readBody reads and closes the body of req, whose length is known.
func readBody(req *http.Request) ([]byte, error) {
	defer req.Body.Close()
	buf := make([]byte, req.ContentLength)
	if _, err := io.ReadFull(req.Body, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// streamBody is a request body sent as it comes: length bytes, or chunked
// (length -1) with trailer after the last chunk.
type streamBody struct {
	r       io.Reader
	length  int64
	trailer http.Header // filled in once r is read to its end
	expect  bool        // the client sent Expect: 100-continue
}

// pump writes the body to nc, the connection its request's head went out
// on. It runs in a goroutine of its own while the response is read, and
// ends when the body does or the connection is closed (which a failure to
// read the body also does, so that the instance does not take a cut body
// for a whole one).
func (s *streamBody) pump(nc net.Conn) {
	bw := bufio.NewWriterSize(nc, connBufferSize)
	var err error
	if s.length >= 0 {
		var n int64
		n, err = io.Copy(bw, io.LimitReader(s.r, s.length))
		if err == nil && n < s.length {
			err = io.ErrUnexpectedEOF
		}
	} else {
		cw := newChunkedWriter(bw)
		if _, err = io.Copy(cw, s.r); err == nil {
			err = cw.end(s.trailer)
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		nc.Close()
	}
}

// chunkedWriter writes what it is given as HTTP/1.1 chunks.
type chunkedWriter struct{ bw *bufio.Writer }

func newChunkedWriter(bw *bufio.Writer) *chunkedWriter { return &chunkedWriter{bw} }

func (c *chunkedWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.bw.WriteString(strconv.FormatInt(int64(len(p)), 16))
	c.bw.WriteString("\r\n")
	c.bw.Write(p)
	_, err := c.bw.WriteString("\r\n")
	if err == nil {
		// A stream's pieces go out as they come.
		err = c.bw.Flush()
	}
	return len(p), err
}

// end writes the last chunk and the trailer.
func (c *chunkedWriter) end(trailer http.Header) error {
	c.bw.WriteString("0\r\n")
	for k, vv := range trailer {
		for _, v := range vv {
			writeField(c.bw, k, v)
		}
	}
	_, err := c.bw.WriteString("\r\n")
	return err
}

// trailerNames returns the names of a request's announced trailers.
func trailerNames(t http.Header) []string {
	names := make([]string, 0, len(t))
	for k := range t {
		names = append(names, k)
	}
	return names
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

// clientAddressHeader reports whether k is one of the headers other than
// X-Forwarded-For apps read a client's address from: from anyone but a
// trusted proxy they are the client's lie, and dropped.
func clientAddressHeader(k string) bool {
	switch k {
	case "X-Client-Ip", "True-Client-Ip", "X-Cluster-Client-Ip", "X-Real-Ip":
		return true
	}
	return false
}

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
