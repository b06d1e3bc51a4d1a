package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// Transport serves requests straight through the registry's handler,
// without a network or credentials, with push rights: for slipway's own
// pushes and pulls (go-containerregistry's remote.WithTransport), whatever
// host the URL names (say slipway.internal). Response bodies stream: a
// layer is never held whole in memory.
func (r *Registry) Transport() http.RoundTripper { return inProcess{r} }

type inProcess struct{ r *Registry }

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	sreq := req.Clone(context.WithValue(ctx, grantKey{}, grant{user: "slipway", access: Push}))
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	if sreq.Host == "" {
		sreq.Host = req.URL.Host
	}
	sreq.RequestURI = req.URL.RequestURI()
	sreq.RemoteAddr = "in-process"
	sreq.Proto, sreq.ProtoMajor, sreq.ProtoMinor = "HTTP/1.1", 1, 1

	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, pw: pw, req: req, ready: make(chan *http.Response, 1)}
	go func() {
		defer func() {
			if p := recover(); p != nil {
				w.WriteHeader(http.StatusInternalServerError)
				pw.CloseWithError(fmt.Errorf("registry: handler panicked: %v", p))
			}
			w.finish()
			sreq.Body.Close()
		}()
		t.r.serve(w, sreq)
	}()
	select {
	case resp := <-w.ready:
		resp.Body = &pipeBody{PipeReader: pr, cancel: cancel}
		return resp, nil
	case <-req.Context().Done():
		pr.Close()
		cancel()
		return nil, req.Context().Err()
	}
}

// pipeWriter hands the response over as soon as its header is written,
// and its body through a pipe as the handler writes it.
type pipeWriter struct {
	header http.Header
	pw     *io.PipeWriter
	req    *http.Request
	ready  chan *http.Response
	once   sync.Once
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	if code < 200 {
		return // no informational responses in process
	}
	w.once.Do(func() {
		h := w.header.Clone()
		length := int64(-1)
		if n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil {
			length = n
		}
		w.ready <- &http.Response{
			Status:        fmt.Sprintf("%d %s", code, http.StatusText(code)),
			StatusCode:    code,
			Proto:         "HTTP/1.1",
			ProtoMajor:    1,
			ProtoMinor:    1,
			Header:        h,
			ContentLength: length,
			Request:       w.req,
		}
	})
}

func (w *pipeWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.req.Method == http.MethodHead {
		return len(p), nil // as net/http's server does
	}
	return w.pw.Write(p)
}

// Flush is a no-op: the pipe holds nothing back.
func (w *pipeWriter) Flush() {}

func (w *pipeWriter) finish() {
	w.WriteHeader(http.StatusOK)
	w.pw.Close()
}

// pipeBody ends the handler's request when the client closes the body.
type pipeBody struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (b *pipeBody) Close() error {
	err := b.PipeReader.Close()
	b.cancel()
	return err
}
