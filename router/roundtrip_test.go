package router

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
)

// The transport's tests send http.Requests through it, as an
// http.RoundTripper: RoundTrip writes each with http.Request.Write, its
// body read whole first, which is all the router's forwarded does but for
// the edge's header rules.

// RoundTrip implements http.RoundTripper for the tests.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	out := &requestOut{req: req}
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		out.body = b
	}
	replay := out.body == nil && idempotent(req.Method, req.Header)
	return t.send(req.Context(), req.URL.Host, req, replay, out)
}

// requestOut is an *http.Request sent by RoundTrip, with its body read
// whole if it has one.
type requestOut struct {
	req  *http.Request
	body []byte
}

func (o *requestOut) write(bw *bufio.Writer) error {
	out := o.req
	if o.body != nil {
		out = out.WithContext(out.Context()) // a shallow copy: RoundTrip must not modify req
		out.Body = io.NopCloser(bytes.NewReader(o.body))
		out.ContentLength = int64(len(o.body))
		out.TransferEncoding = nil
		out.GetBody = nil
		out.Close = true // see closes
	}
	return out.Write(bw)
}

func (o *requestOut) stream() *streamBody { return nil }

func (o *requestOut) closes() bool { return o.req.Close || o.body != nil }

func (o *requestOut) slots() *exchangeSlots { return nil }

func (o *requestOut) upgrading() bool { return false }

// interim passes the response on to the request's client trace, as
// http.Transport does.
func (o *requestOut) interim(code int, h http.Header) (bool, error) {
	trace := httptrace.ContextClientTrace(o.req.Context())
	if trace == nil || trace.Got1xxResponse == nil {
		return false, nil
	}
	return true, trace.Got1xxResponse(code, textproto.MIMEHeader(h))
}
